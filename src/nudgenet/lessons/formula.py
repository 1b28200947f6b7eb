"""Cost formulas typed by a learner, read safely and differentiated by SymPy.

Both ``nudgenet descend`` and the web page's Descend playground take a cost as text, so the
one parser lives here. It never calls ``eval``: Python's own parser reads the text into a
syntax tree, a short whitelist walk turns the tree into a SymPy expression (numbers, the
variables, + − * / ** and a few named functions; nothing else), SymPy differentiates it, and
:func:`sympy.lambdify` compiles cost, slope and curvature to NumPy. Notation: θ = (w,) or
(x, y); the slope of one variable is the gradient ∇C of two.

Nothing typed may hang, crash or exhaust the machine, so the work is bounded twice:

* before SymPy sees the formula, the syntax tree is measured (:func:`parse_cost`): its length
  (:data:`MAX_LENGTH`), its nesting (:data:`MAX_DEPTH`), its degree once multiplied out
  (:data:`MAX_DEGREE`) and the size of powers of plain numbers (:data:`MAX_DIGITS`), each
  refused with the limit it broke;
* SymPy itself then runs in a worker process, under a time and a memory budget
  (:data:`TIME_BUDGET`, :data:`MEMORY_BUDGET`), and the cost, slope and curvature it returns
  must be of printable size (:data:`MAX_NODES`). SymPy's own simplifications can take any
  time (deciding the sign inside ``abs(exp(exp(exp(exp(100)))) - 3)`` evaluates a number
  with more digits than atoms in the universe), so a formula that overruns is stopped and
  refused. The worker is a fork of this process while it has one thread (the command
  line), else one of a few long-lived helper processes (the web server); where neither
  exists (Windows) SymPy runs here, without the budget.

``abs`` has a kink where its argument is 0: there the slope is the subgradient 0
(``sign(0) = 0``, between the slopes on either side) and the curvature is undefined
(:meth:`CostFunction.at_kink`).

The playground answers every keystroke of a page, so it adds limits of its own
(:func:`playground_cost`): one parameter, no power or degree beyond :data:`MAX_POWER`, and
:func:`small_polynomial` to say when looking for valleys is quick.
"""

from __future__ import annotations

import ast
import atexit
import contextlib
import functools
import math
import os
import pickle
import struct
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .._types import Vector
from ..errors import ConfigError

if TYPE_CHECKING:
    import sympy

MAX_LENGTH = 500
"""Longest formula :func:`parse_cost` reads, in characters: a cost one types fits on a line."""
MAX_DEPTH = 16
"""Deepest nesting of functions and powers in a formula (a sum or product of many terms is one
level, and signs add none): each level of ``sin(sin(…))`` copies the inner formula into the
slope once more (the chain rule), so the curvature grows with the cube of the depth, and
SymPy's simplifications slow down with it (a chain of 12 functions can take it seconds).
Hand-written costs stay below 10."""
MAX_DEGREE = 1000
"""Highest degree of a cost multiplied out, counting a function of the variables as one more
variable: ``(((w+1)^9+1)^9+1)^9`` has degree 729 and ``w^(10^10)`` ten billion. Beyond 1000 a
polynomial overflows float64 wherever |w| > 2 (2^1000 ≈ 10^301), so nothing is left to
descend, and SymPy's exact powers, such as sqrt(2)^(10^9), would take it hours."""
MAX_DIGITS = 300
"""Most digits of a power of plain numbers, such as 9**9**9: float64 ends near 10^308, and
SymPy computes such powers exactly, digit by digit."""
MAX_NODES = 5_000
"""Most symbols and operations in the cost, its slope or its curvature written out (a shared
part counts each time it appears): SymPy compiles them to NumPy at about 50 µs a node, so
this many take a quarter of a second; ordinary costs have fewer than 200."""
TIME_BUDGET = 3.0
"""Seconds SymPy may take to build and differentiate one formula. Ordinary costs take
milliseconds, and the web page asks again at every change, so one that runs this long is
stopped and refused."""
MEMORY_BUDGET = 512 * 2**20
"""Bytes of memory SymPy may add while it builds and differentiates one formula (the address
space of its worker process, ``RLIMIT_AS``); ordinary costs need a few MB."""
MAX_POWER = 100
"""Largest exponent and degree in a playground formula: higher powers only overflow, and the
page asks again at every change."""
SMALL_DEGREE = 12
"""Highest degree of a polynomial cost whose valleys the playground and ``nudgenet descend``
look for: the roots of a degree-11 slope take under a second, of degree 30 seconds."""
POLYNOMIAL_TERMS = 231
"""Most terms a polynomial cost may have to be multiplied out (:attr:`CostFunction.polynomial`,
degree 230 in one variable and 20 in two): it is built part by part, and a product of two
such polynomials takes 231² operations on their coefficients, milliseconds, where
:func:`sympy.expand` of ``((w+1)^10+1)^10`` alone takes 17 s."""

_VARIABLES = ("w", "x", "y")
FUNCTIONS = ("exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "abs", "sigmoid")
CONSTANTS = ("pi", "e")
ALLOWED = (
    "numbers, the variable w (or x and y), + - * / ** (or ^), parentheses, "
    f"the functions {', '.join(FUNCTIONS)} and the constants {' and '.join(CONSTANTS)}"
)
_EXAMPLES = "write a formula in w, e.g. '(w-3)**2', or in x and y, e.g. 'x**2 + 3*y**2'"
_STARTUP_TIMEOUT = 60.0  # seconds a helper process may take to import SymPy (once)
_IDLE_WORKERS = 2  # helper processes kept for the next formula


# --------------------------------------------------------------------------- the cost


@dataclass(frozen=True)
class CostFunction:
    """A cost C(θ) given as a formula, with its symbolic gradient compiled to NumPy.

    Build one with :func:`parse_cost`. ``objective`` is what :func:`descend` needs.
    """

    text: str  # the formula as the user typed it
    expression: sympy.Expr  # C
    variables: tuple[str, ...]  # ("w",) or ("x", "y"), the coordinates of θ
    gradient: tuple[sympy.Expr, ...]  # (∂C/∂v for v in variables)
    _cost: Callable[..., Any] = field(repr=False, compare=False)
    _gradient: Callable[..., Any] = field(repr=False, compare=False)
    hessian: tuple[tuple[sympy.Expr, ...], ...] | None = None  # ∂²C/∂u∂v
    polynomial: sympy.Poly | None = None  # C multiplied out (see POLYNOMIAL_TERMS)
    degree: int | None = None  # at most C's degree multiplied out (see MAX_DEGREE)
    kinks: tuple[sympy.Expr, ...] = ()  # the arguments of abs(): C has a kink where one is 0
    nonnegative: bool | None = None  # whether SymPy's sign rules prove C ≥ 0 (None: unknown)
    _hessian: Callable[..., Any] | None = field(default=None, repr=False, compare=False)
    _kinks: Callable[..., Any] | None = field(default=None, repr=False, compare=False)

    @property
    def n(self) -> int:
        """Number of variables (the length of θ)."""
        return len(self.variables)

    @property
    def symbols(self) -> list[sympy.Symbol]:
        """The SymPy symbols of the variables, as in ``expression`` (they are real)."""
        return _symbols_of(self.expression, self.variables)

    @property
    def derivative_text(self) -> str:
        """The symbolic slope: ``2*w - 6`` for one variable, ``(2*x, 6*y)`` for two."""
        parts = [str(g) for g in self.gradient]
        return parts[0] if self.n == 1 else f"({', '.join(parts)})"

    def cost(self, theta: Sequence[float]) -> float:
        """C(θ) as a float (NaN or ±inf where C is undefined or overflows)."""
        value = complex(_evaluate(self._cost, theta))
        return value.real + 0.0 if value.imag == 0 else math.nan  # + 0.0: no "-0" in tables

    def slope(self, theta: Sequence[float]) -> Vector:
        """∇C(θ) as an array of shape (n,); dC/dw for one variable (0 at a kink of abs)."""
        grad = _evaluate(self._gradient, theta, shape=(self.n,))
        return np.where(grad.imag == 0, grad.real, np.nan)

    def objective(self, theta: Vector) -> tuple[float, Vector]:
        """(C(θ), ∇C(θ)): the interface :func:`~nudgenet.descent.descend` expects."""
        return self.cost(theta), self.slope(theta)

    def on_grid(self, *axes: np.ndarray) -> np.ndarray:
        """C evaluated on a grid (one array per variable, broadcast together), for plots."""
        shape = np.broadcast_shapes(*(a.shape for a in axes))
        try:
            with np.errstate(all="ignore"):
                values = np.asarray(self._cost(*axes), dtype=np.complex128)
        except (ArithmeticError, TypeError, ValueError):
            values = np.full(shape, np.nan, dtype=np.complex128)
        values = np.where(values.imag == 0, values.real, np.nan)
        return np.broadcast_to(values, shape)

    def curvature(self, theta: Sequence[float]) -> np.ndarray:
        """The Hessian ∇²C(θ) of shape (n, n); for one variable, [[C''(w)]] (NaN at a kink)."""
        hessian = self._hessian
        if hessian is None:  # a CostFunction built by hand, not by parse_cost
            symbols = _symbols_of(self.expression, self.variables)
            hessian = _compile(symbols, _hessian_of(self.expression, symbols))
        values = _evaluate(hessian, theta, shape=(self.n, self.n))
        if self.at_kink(theta, tol=0.0):  # abs() has a corner there: no curvature
            return np.full((self.n, self.n), np.nan)
        return np.where(values.imag == 0, values.real, np.nan)

    def at_kink(self, theta: Sequence[float], tol: float = 1e-9) -> bool:
        """Whether θ is on a kink of ``abs``, where C has no slope (the slope used is 0)."""
        if self._kinks is None:
            return False
        values = _evaluate(self._kinks, theta, shape=(len(self.kinks),))
        return bool(np.any(np.abs(values) <= tol))

    def is_quadratic(self) -> bool:
        """Whether C is a polynomial of degree ≤ 2, so its curvature is the same everywhere."""
        return self.polynomial is not None and self.polynomial.total_degree() <= 2


def _evaluate(compiled: Callable[..., Any], theta: Sequence[float],
              shape: tuple[int, ...] = ()) -> np.ndarray:  # fmt: skip
    """A compiled formula at θ as complex numbers; NaN where NumPy cannot evaluate it."""
    try:
        with np.errstate(all="ignore"):
            values = compiled(*np.asarray(theta, dtype=np.float64))
            return np.array(values, dtype=np.complex128).reshape(shape)
    except (ArithmeticError, TypeError, ValueError):
        return np.full(shape, np.nan, dtype=np.complex128)


def parse_cost(text: str, *, max_degree: int = MAX_DEGREE) -> CostFunction:
    """Read a cost formula in w (or in x and y) safely, and differentiate it symbolically.

    The text is parsed by :func:`ast.parse` and only whitelisted nodes are turned into SymPy
    objects, so nothing the user types is ever executed. The tree is measured before SymPy
    sees it, and SymPy runs under a time and memory budget (see the module's limits).

    Parameters
    ----------
    text : str
        E.g. ``"(w-3)**2"``, ``"w**4 - 3*w**2 + w"`` or ``"x**2 + 3*y**2"``.
    max_degree : int
        The highest degree the cost may have multiplied out (at most :data:`MAX_DEGREE`).

    Returns
    -------
    CostFunction

    Raises
    ------
    ConfigError
        If the text is not a real-valued formula of the allowed variables, or is beyond a
        limit (the message names it).

    Examples
    --------
    >>> c = parse_cost("(w-3)**2")
    >>> c.derivative_text  # the power rule: d/dw (w-3)² = 2(w-3)
    '2*w - 6'
    >>> c.objective(np.array([0.0]))
    (9.0, array([-6.]))
    >>> parse_cost("x**2 + 3*y**2").derivative_text
    '(2*x, 6*y)'
    """
    import sympy  # noqa: F401 - imported here, so that a forked worker has it already

    max_degree = min(max_degree, MAX_DEGREE)
    degree = _measure(_read(text), text, max_degree)
    found = _budgeted(text, max_degree)
    symbols = _symbols_of(found.expression, found.variables)
    try:
        compiled = _compile_all(symbols, found)
    except Exception as exc:  # rare: the worker compiled the same
        _refuse(text, f"SymPy could not compile it to NumPy ({type(exc).__name__})")
    return CostFunction(
        text=text,
        expression=found.expression,
        variables=found.variables,
        gradient=found.gradient,
        _cost=compiled[0],
        _gradient=compiled[1],
        hessian=found.hessian,
        polynomial=found.polynomial,
        degree=degree,
        kinks=found.kinks,
        nonnegative=found.nonnegative,
        _hessian=compiled[2],
        _kinks=compiled[3],
    )


def _refuse(text: str, why: str, help: str | None = None) -> Any:
    shown = text if len(text) <= 80 else text[:40] + "…"
    help = f"{help}; {_EXAMPLES}" if help else f"{_EXAMPLES}, using {ALLOWED}"
    raise ConfigError(f"cannot use the cost {shown!r}: {why}", help=help)


# --------------------------------------------------------------------------- the tree, measured


def _read(text: str) -> ast.AST:
    """The syntax tree of the formula, or a refusal for text that is not one."""
    if not isinstance(text, str):
        _refuse(repr(text), "it is not text")
    if not text.strip():
        _refuse(text, "it is empty")
    if len(text) > MAX_LENGTH:
        _refuse(text, f"it is longer than {MAX_LENGTH} characters",
                "a cost fits on one line")  # fmt: skip
    try:
        # w^2 means w**2, as on paper (swapped before parsing, so it binds like **).
        return ast.parse(text.strip().replace("^", "**"), mode="eval").body
    except SyntaxError as exc:
        return _refuse(text, f"it is not a formula ({exc.msg})")
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, deep nesting
        return _refuse(text, f"it is not a formula ({type(exc).__name__})")


class _Shape(NamedTuple):
    """What :func:`_measure` knows of a subtree before SymPy builds it."""

    depth: int  # levels of functions and powers (a sum or product of many terms is one)
    degree: int  # at most the degree multiplied out; a function of the variables counts 1
    value: float | None  # its value, when it is a constant (NaN if undefined)


def _measure(root: ast.AST, text: str, max_degree: int) -> int:
    """Check every node against the whitelist and the limits; return the degree bound.

    Iterative, so that no input can exhaust Python's recursion before the depth is known.
    """
    shapes: dict[int, _Shape] = {}
    stack: list[tuple[ast.AST, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        children = _operands(node, text)
        if not ready and children:
            stack.append((node, True))
            stack.extend((child, False) for child in children)
            continue
        shape = _shape(node, [shapes.pop(id(c)) for c in children], text, max_degree)
        if shape.depth > MAX_DEPTH:
            _refuse(text, f"it nests functions and powers {shape.depth} deep, beyond the "
                    f"limit of {MAX_DEPTH}",
                    "write the cost with less nesting")  # fmt: skip
        shapes[id(node)] = shape
    return shapes[id(root)].degree


def _operands(node: ast.AST, text: str) -> list[ast.AST]:
    """The children of a whitelisted node; a refusal for any other node."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            _refuse(text, f"{value!r} is not a real number")
        return []
    if isinstance(node, ast.Name):
        if node.id in _VARIABLES or node.id in CONSTANTS:
            return []
        hint = " (a function needs parentheses)" if node.id in FUNCTIONS else ""
        return _refuse(text, f"unknown name {node.id!r}{hint}; the variables are w, or x and y")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        return [node.operand]
    if isinstance(node, ast.BinOp) and isinstance(node.op, _ARITHMETIC):
        return [node.left, node.right]
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS:
            return _refuse(text, f"{_source(node.func, text)!r} is not an allowed function")
        if node.keywords or len(node.args) != 1:
            return _refuse(text, f"{name}() takes exactly one argument")
        return [node.args[0]]
    if isinstance(node, ast.Attribute):
        return _refuse(text, "attribute access (a dot after a name) is not allowed")
    return _refuse(text, f"{_source(node, text)!r} is not allowed there")


_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)


def _shape(node: ast.AST, parts: list[_Shape], text: str, max_degree: int) -> _Shape:
    """A node's depth, degree bound and constant value, from its operands'."""
    if isinstance(node, ast.Constant):
        return _Shape(1, 0, _float(node.value))
    if isinstance(node, ast.Name):
        if node.id in _VARIABLES:
            return _Shape(1, 1, None)
        return _Shape(1, 0, math.pi if node.id == "pi" else math.e)
    if isinstance(node, ast.UnaryOp):
        (a,) = parts
        return a._replace(value=None if a.value is None else -a.value)
    if isinstance(node, ast.Call):
        (a,) = parts
        name = node.func.id  # type: ignore[attr-defined]
        value = None if a.value is None else _apply(name, a.value)
        return _Shape(a.depth + 1, 0 if a.value is not None else 1, value)
    assert isinstance(node, ast.BinOp)
    a, b = parts
    values = None if a.value is None or b.value is None else (a.value, b.value)
    # A chain such as a + b - c or a * b / c is one level, as SymPy flattens it.
    same = {ast.Add: (ast.Add, ast.Sub), ast.Sub: (ast.Add, ast.Sub),
            ast.Mult: (ast.Mult, ast.Div), ast.Div: (ast.Mult, ast.Div)}  # fmt: skip
    if isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
        flat = same[type(node.op)]
        depth = max(
            a.depth - (isinstance(node.left, ast.BinOp) and isinstance(node.left.op, flat)),
            b.depth - (isinstance(node.right, ast.BinOp) and isinstance(node.right.op, flat)),
        ) + 1  # fmt: skip
        if isinstance(node.op, ast.Add | ast.Sub):
            value = None if values is None else _arithmetic(node.op, *values)
            return _Shape(depth, max(a.degree, b.degree), value)
        degree = a.degree + b.degree  # a/b: the numerator's and denominator's degrees add up
        _check_degree(node, degree, text, max_degree)
        return _Shape(depth, degree, None if values is None else _arithmetic(node.op, *values))
    depth = max(a.depth, b.depth) + 1
    if b.value is None:  # a**w: a function of the variables, one more "variable"
        return _Shape(depth, 1, None)
    if not math.isfinite(b.value):
        what = "beyond float64 (about 1e308)" if math.isinf(b.value) else "not a real number"
        _refuse(text, f"the exponent in {_source(node, text)} is {what}")
    if a.value is not None:
        digits = abs(b.value) * math.log10(max(abs(a.value), 2.0))
        if digits > MAX_DIGITS:
            size = f"about {digits:.3g}" if math.isfinite(digits) else "more than 308"
            _refuse(text, f"{_source(node, text)} is too large a number: {size} digits, beyond "
                    f"the limit of {MAX_DIGITS}",
                    "float64 ends near 1e308; use smaller numbers")  # fmt: skip
        return _Shape(depth, 0, _arithmetic(node.op, a.value, b.value))
    degree = a.degree * max(1, math.ceil(abs(b.value)))
    _check_degree(node, degree, text, max_degree)
    return _Shape(depth, degree, None)


def _check_degree(node: ast.AST, degree: int, text: str, limit: int) -> None:
    if degree > limit:
        _refuse(text, f"{_source(node, text)} has degree {degree:,} when multiplied out, "
                f"beyond the limit of {limit}",
                "use smaller powers: the degree of a product is the sum of its factors' "
                "degrees, and (a^m)^n has m·n times a's")  # fmt: skip


def _source(node: ast.AST, text: str) -> str:
    """A node as typed (with ^ as **), shortened for a message."""
    typed = ast.get_source_segment(text.strip().replace("^", "**"), node) or ast.unparse(node)
    return _short(typed, 60)


def _float(value: float) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer beyond float64
        return math.inf


def _arithmetic(op: ast.operator, a: float, b: float) -> float:
    """a op b in float64 arithmetic; ±inf on overflow, NaN where undefined or complex."""
    try:
        if isinstance(op, ast.Add):
            return a + b
        if isinstance(op, ast.Sub):
            return a - b
        if isinstance(op, ast.Mult):
            return a * b
        if isinstance(op, ast.Div):
            return a / b
        result = a**b
    except OverflowError:
        return math.inf
    except (ZeroDivisionError, ValueError):
        return math.nan
    return result if isinstance(result, float) else math.nan  # a complex power


def _apply(name: str, x: float) -> float:
    """One allowed function of a float; ±inf on overflow, NaN where undefined."""
    table: dict[str, Callable[[float], float]] = {
        "exp": math.exp, "log": math.log, "sqrt": math.sqrt, "sin": math.sin,
        "cos": math.cos, "tan": math.tan, "tanh": math.tanh, "abs": abs,
        "sigmoid": lambda z: 1 / (1 + math.exp(-z)),
    }  # fmt: skip
    try:
        return float(table[name](x))
    except OverflowError:
        return math.inf
    except (ValueError, ZeroDivisionError):
        return math.nan


# --------------------------------------------------------------------------- SymPy


class _Found(NamedTuple):
    """What SymPy made of a formula: sent back from the worker, compiled by the caller."""

    expression: Any
    variables: tuple[str, ...]
    gradient: tuple[Any, ...]
    hessian: tuple[tuple[Any, ...], ...]
    polynomial: Any  # sympy.Poly or None
    kinks: tuple[Any, ...]
    nonnegative: bool | None


def _analyse(text: str, max_degree: int) -> _Found:
    """Build C with SymPy, check it, and differentiate it twice: the work under the budget."""
    import sympy

    tree = _read(text)
    degree = _measure(tree, text, max_degree)
    expression = sympy.sympify(_to_sympy(tree, _functions()))
    if expression.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I):
        _refuse(text, f"it is not a real-valued formula (it simplifies to {_short(expression)})")
    names = sorted(str(s) for s in expression.free_symbols)
    if not names:
        _refuse(text, "it has no variable, so there is no slope to follow")
    if "w" in names and len(names) > 1:
        _refuse(text, "it mixes w with x and y; use w alone, or x and y")
    variables = tuple(v for v in _VARIABLES if v in names)
    symbols = _symbols_of(expression, variables)
    _check_size(text, "the cost", [expression])
    real_abs, real_sign = _real_kinks()
    real = expression.replace(sympy.Abs, real_abs)
    gradient = tuple(sympy.diff(real, s) for s in symbols)
    _check_size(text, "its slope", gradient)
    hessian = _hessian_of(real, symbols, gradient)
    _check_size(text, "its curvature (the second derivative)", [h for r in hessian for h in r])

    def native(part: Any) -> Any:
        return part.replace(real_abs, sympy.Abs).replace(real_sign, sympy.sign)

    gradient = tuple(native(g) for g in gradient)
    hessian = tuple(tuple(native(h) for h in row) for row in hessian)
    kinks = tuple(a.args[0] for a in sympy.ordered(expression.atoms(sympy.Abs)))
    polynomial = _polynomial(expression, symbols, degree)
    nonnegative = expression.is_nonnegative  # asked here: SymPy's sign rules can take long
    found = _Found(expression, variables, gradient, hessian, polynomial, kinks, nonnegative)
    _compile_all(symbols, found)
    for part in (expression, *gradient):  # the texts shown, so that printing cannot fail later
        str(part)
    return found


def _functions() -> dict[str, Callable[[Any], Any]]:
    """The named functions a cost may use, as SymPy builds them (imported only when needed)."""
    import sympy

    table = {name: getattr(sympy, name) for name in FUNCTIONS if hasattr(sympy, name)}
    table["abs"] = sympy.Abs
    table["sigmoid"] = lambda z: 1 / (1 + sympy.exp(-z))  # σ(z), the network's activation
    return table


def _to_sympy(node: ast.AST, functions: dict[str, Callable[[Any], Any]]) -> Any:
    """Turn a syntax tree that :func:`_measure` passed into SymPy.

    Chains of + − or × ÷ and runs of signs are built in a loop, so Python recurses only as
    deep as the formula nests (at most :data:`MAX_DEPTH`).
    """
    import sympy

    if isinstance(node, ast.Constant):
        value = node.value
        return sympy.Integer(value) if isinstance(value, int) else sympy.Float(value)
    if isinstance(node, ast.Name):
        if node.id in _VARIABLES:
            return sympy.Symbol(node.id, real=True)  # real: |w|' = sign(w), as on paper
        return sympy.pi if node.id == "pi" else sympy.E
    if isinstance(node, ast.UnaryOp):
        negative = False
        while isinstance(node, ast.UnaryOp):
            negative ^= isinstance(node.op, ast.USub)
            node = node.operand
        inner = _to_sympy(node, functions)
        return -inner if negative else inner
    if isinstance(node, ast.Call):
        return functions[node.func.id](_to_sympy(node.args[0], functions))  # type: ignore[attr-defined]
    assert isinstance(node, ast.BinOp)
    if isinstance(node.op, ast.Pow):
        return _to_sympy(node.left, functions) ** _to_sympy(node.right, functions)
    chain = (ast.Add, ast.Sub) if isinstance(node.op, ast.Add | ast.Sub) else (ast.Mult, ast.Div)
    parts = []
    while isinstance(node, ast.BinOp) and isinstance(node.op, chain):
        part = _to_sympy(node.right, functions)
        parts.append(-part if isinstance(node.op, ast.Sub) else
                     part**-1 if isinstance(node.op, ast.Div) else part)  # fmt: skip
        node = node.left
    parts.append(_to_sympy(node, functions))
    return (sympy.Add if chain[0] is ast.Add else sympy.Mul)(*reversed(parts))


@functools.cache
def _real_kinks() -> tuple[Any, Any]:
    """|z| and sign(z) for a z known to be real where C is defined, to differentiate with.

    SymPy's own Abs differentiates |log(w)| through the real and imaginary parts of log(w),
    which it cannot print for NumPy and takes seconds to build for a few nested functions;
    C is real wherever it is defined, so d|z| = sign(z) dz, and d sign(z) = 0 off the kink
    (SymPy's 2δ(z) dz costs it as much again, deciding whether z can be 0).
    """
    import sympy

    class RealSign(sympy.Function):
        def fdiff(self, argindex: int = 1) -> Any:
            return sympy.S.Zero  # away from the kink; on it, curvature() says NaN

    class RealAbs(sympy.Function):
        def fdiff(self, argindex: int = 1) -> Any:
            return RealSign(self.args[0])

    return RealAbs, RealSign


def _symbols_of(expression: Any, variables: Sequence[str]) -> list[Any]:
    """The SymPy symbols of ``variables`` as they appear in ``expression``."""
    import sympy

    named = {str(s): s for s in expression.free_symbols}
    return [named.get(v, sympy.Symbol(v, real=True)) for v in variables]


def _hessian_of(expression: Any, symbols: Sequence[Any],
                gradient: Sequence[Any] | None = None) -> tuple[tuple[Any, ...], ...]:  # fmt: skip
    """∂²C/∂u∂v from C (or from its gradient, when given)."""
    import sympy

    if gradient is None:
        real_abs, real_sign = _real_kinks()
        real = expression.replace(sympy.Abs, real_abs)
        hessian = _hessian_of(real, symbols, [sympy.diff(real, s) for s in symbols])
        return tuple(
            tuple(h.replace(real_abs, sympy.Abs).replace(real_sign, sympy.sign) for h in row)
            for row in hessian
        )
    return tuple(tuple(sympy.diff(g, s) for s in symbols) for g in gradient)


def _check_size(text: str, what: str, parts: Iterable[Any]) -> None:
    """Refuse a cost, slope or curvature of more than MAX_NODES nodes written out."""
    count, stack = 0, list(parts)
    while stack and count <= MAX_NODES:
        count += 1
        stack.extend(stack.pop().args)
    if count > MAX_NODES:
        _refuse(text, f"written out, {what} has more than {MAX_NODES:,} symbols and "
                "operations, the most a formula may have",
                "write the cost with less nesting")  # fmt: skip


class _NotPolynomial(Exception):
    """Raised inside :func:`_polynomial` for a part that is not a polynomial."""


def _polynomial(expression: Any, symbols: Sequence[Any], degree: int) -> Any:
    """C multiplied out as a :class:`sympy.Poly`, when it is a polynomial of few terms.

    Built part by part (sums, products and powers of polynomials), never by
    :func:`sympy.expand`: expanding ``((w+1)^9+1)^9`` term by term first makes C(18, 9)
    products, and SymPy takes minutes at degree 100. Constants such as π become floats,
    so that they do not become more variables of the product.
    """
    import sympy

    terms = math.comb(degree + len(symbols), len(symbols))  # of a dense polynomial
    if terms > POLYNOMIAL_TERMS or not expression.is_polynomial(*symbols):
        return None

    def build(part: Any) -> Any:
        if part in symbols:
            return sympy.Poly(part, *symbols)
        if not part.free_symbols:
            value = part if part.is_Rational else part.evalf(17)
            if not value.is_Number:
                raise _NotPolynomial
            return sympy.Poly(value, *symbols)
        if part.is_Add or part.is_Mul:
            built = [build(arg) for arg in part.args]
            total = built[0]
            for other in built[1:]:
                total = total + other if part.is_Add else total * other
            return total
        if part.is_Pow and part.exp.is_Integer and part.exp >= 0:
            return build(part.base) ** int(part.exp)
        raise _NotPolynomial

    try:
        return build(expression)
    except _NotPolynomial:
        return None


def _compile(symbols: Sequence[Any], parts: Any) -> Callable[..., Any]:
    """``parts`` (an expression, or nested lists of them) compiled to a NumPy function.

    Integers and fractions beyond float64's 2^53 become floats first: NumPy holds such a
    Python integer only as an object, on which ``sin`` and friends fail.
    """
    import sympy

    def numeric(part: Any) -> Any:
        if isinstance(part, list | tuple):
            return [numeric(p) for p in part]
        big = {r: sympy.Float(r) for r in part.atoms(sympy.Rational)
               if abs(r.p) > 2**53 or r.q > 2**53}  # fmt: skip
        return part.xreplace(big) if big else part

    return sympy.lambdify(symbols, numeric(parts), "numpy")


def _compile_all(symbols: Sequence[Any], found: _Found) -> tuple[Any, Any, Any, Any]:
    """Cost, slope, curvature and kinks compiled to NumPy (no kinks: None)."""
    return (
        _compile(symbols, found.expression),
        _compile(symbols, list(found.gradient)),
        _compile(symbols, [list(row) for row in found.hessian]),
        _compile(symbols, list(found.kinks)) if found.kinks else None,
    )


def _short(thing: Any, limit: int = 80) -> str:
    text = str(thing)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- the budget


def _budgeted(text: str, max_degree: int) -> _Found:
    """:func:`_analyse` in a worker within TIME_BUDGET and MEMORY_BUDGET, or its refusal.

    A process with one thread (the command line) forks: the child has SymPy imported
    already and starts in milliseconds. A fork of a threaded process (the web server) may
    inherit a lock another thread held, so there a long-lived helper process answers.
    Without ``fork`` (Windows) SymPy runs here, unbudgeted.
    """
    request = (text, max_degree)
    if os.name != "posix":
        answer = _answer(request)
    elif threading.active_count() == 1:
        answer = _in_fork(request)
    else:
        answer = _in_helper(request)
    kind = answer[0]
    if kind == "ok":
        return _Found(*answer[1])
    if kind == "refused":
        raise ConfigError(answer[1], help=answer[2])
    simpler = "write a simpler cost: fewer nested functions, smaller powers and numbers"
    if kind == "time":
        _refuse(text, f"SymPy did not finish building and differentiating it within "
                f"{TIME_BUDGET:g} s, the time one formula may take", simpler)  # fmt: skip
    memory = f"{MEMORY_BUDGET // 2**20} MiB"
    if kind == "memory":
        _refuse(text, f"building and differentiating it needs more than {memory}, the "
                "memory one formula may use", simpler)  # fmt: skip
    if kind == "died":
        _refuse(text, f"the process differentiating it ended without an answer (most likely "
                f"beyond the {memory} one formula may use)", simpler)  # fmt: skip
    return _refuse(text, f"SymPy could not build or differentiate it ({answer[1]})")


def _answer(request: tuple[str, int]) -> tuple[Any, ...]:
    """:func:`_analyse`'s result or refusal as a picklable tuple, whatever SymPy raised."""
    try:
        return ("ok", tuple(_analyse(*request)))  # a plain tuple: any copy of this module reads it
    except ConfigError as exc:
        return ("refused", exc.message, exc.help)
    except MemoryError:
        return ("memory",)
    except RecursionError:
        return ("failed", "it nests too deeply for SymPy")
    except Exception as exc:  # SymPy's own failures become a refusal
        return ("failed", _short(f"{type(exc).__name__}: {exc}"))


def _dump(answer: tuple[Any, ...]) -> bytes:
    try:
        return pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # e.g. RecursionError on a deep result
        return pickle.dumps(("failed", f"its result could not be sent ({type(exc).__name__})"))


def _load(data: bytes) -> tuple[Any, ...]:
    try:
        return pickle.loads(data)  # written by our own worker
    except Exception as exc:  # rebuilding SymPy objects can fail too
        return ("failed", f"its result could not be read ({type(exc).__name__})")


def _limit_memory() -> None:
    """Cap this process's address space at its present size plus MEMORY_BUDGET.

    Only where ``/proc`` tells the size (Linux); elsewhere the time budget alone holds.
    """
    try:
        import resource

        with open("/proc/self/statm") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = size + MEMORY_BUDGET
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError):
        pass


def _in_fork(request: tuple[str, int]) -> tuple[Any, ...]:
    """Answer in a forked child, killed when TIME_BUDGET runs out."""
    _prepare()
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12 warns of any thread, BLAS's included; this process has one of its own.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: answer, and leave without running the parent's cleanup
        code = 1
        try:
            os.close(read_end)
            _limit_memory()
            _write_frame(write_end, _dump(_answer(request)))
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    data = None
    try:
        data = _read_frame(read_end, time.monotonic() + TIME_BUDGET)
    except EOFError:
        return ("died",)
    finally:
        os.close(read_end)
        if data is None:
            _kill(pid)
        os.waitpid(pid, 0)
    return ("time",) if data is None else _load(data)


@functools.cache
def _prepare() -> None:
    """Import what compiling a formula needs, once: this process needs it after the child,
    and a child that inherits it need not spend its budget importing it."""
    import sympy

    w = sympy.Symbol("w", real=True)
    _compile([w], [sympy.Poly(w, w).as_expr()])


def _kill(pid: int) -> None:
    import signal

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


class _Helper:
    """A long-lived Python process that answers formulas, one at a time, for a threaded one."""

    def __init__(self) -> None:
        code = (f"import sys; sys.path[:] = {sys.path!r}; "
                "from nudgenet.lessons.formula import _serve; _serve()")  # fmt: skip
        trouble = ConfigError(
            "the helper process that differentiates cost formulas did not start",
            help=f"check that `{sys.executable} -c 'import nudgenet, sympy'` works",
        )
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code], bufsize=0, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        except OSError as exc:
            raise trouble from exc
        try:
            ready = _read_frame(self._out, time.monotonic() + _STARTUP_TIMEOUT)
        except EOFError:
            ready = None
        if ready != b"ready":
            self.close()
            raise trouble

    @property
    def _out(self) -> int:
        return self.process.stdout.fileno()  # type: ignore[union-attr]

    def ask(self, request: tuple[str, int]) -> tuple[Any, ...]:
        """The answer, ("time",) or ("died",); after those two the helper is closed."""
        try:
            _write_frame(self.process.stdin.fileno(), pickle.dumps(request))  # type: ignore[union-attr]
            data = _read_frame(self._out, time.monotonic() + TIME_BUDGET)
        except (EOFError, OSError):
            self.close()
            return ("died",)
        except BaseException:  # e.g. Ctrl-C: stop the helper with its caller
            self.close()
            raise
        if data is None:
            self.close()
            return ("time",)
        return _load(data)

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


_idle: list[_Helper] = []
_idle_lock = threading.Lock()


def _in_helper(request: tuple[str, int]) -> tuple[Any, ...]:
    """Answer in an idle helper process (or a new one), which goes back to the pool after."""
    with _idle_lock:
        helper = _idle.pop() if _idle else None
    helper = helper or _Helper()
    answer = helper.ask(request)
    if helper.alive and answer[0] not in ("memory", "died", "time"):
        with _idle_lock:
            if len(_idle) < _IDLE_WORKERS:
                _idle.append(helper)
                return answer
    if helper.alive:
        helper.close()
    return answer


@atexit.register
def _close_helpers() -> None:
    with _idle_lock:
        while _idle:
            _idle.pop().close()


def _serve() -> None:
    """The helper process: answer the formulas read on stdin, on stdout, until stdin closes.

    After running out of memory it exits, so that the next formula starts afresh.
    """
    import sympy  # noqa: F401 - once, before the first formula's budget starts

    warnings.simplefilter("ignore")
    reader, writer = os.dup(0), os.dup(1)
    quiet = os.open(os.devnull, os.O_RDWR)
    os.dup2(quiet, 0)  # nothing else may read the requests or write into the answers
    os.dup2(quiet, 1)
    _write_frame(writer, b"ready")
    while True:
        try:
            data = _read_frame(reader, None)
        except EOFError:
            return
        assert data is not None
        _limit_memory()
        answer = _answer(pickle.loads(data))  # sent by the process that started us
        _write_frame(writer, _dump(answer))
        if answer[0] == "memory":
            return


def _write_frame(fd: int, payload: bytes) -> None:
    """Write one length-prefixed message."""
    view = memoryview(struct.pack("!Q", len(payload)) + payload)
    while view:
        view = view[os.write(fd, view) :]


def _read_frame(fd: int, deadline: float | None) -> bytes | None:
    """Read one length-prefixed message; None if the deadline passes first.

    Raises
    ------
    EOFError
        If the writer closed its end (it died) before the message was complete.
    """
    header = _read_exactly(fd, 8, deadline)
    if header is None:
        return None
    return _read_exactly(fd, struct.unpack("!Q", header)[0], deadline)


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes | None:
    import select

    chunks, left = [], size
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                return None
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# --------------------------------------------------------------------------- the playground


def playground_cost(text: str) -> CostFunction:
    """:func:`parse_cost`, within the web playground's limits: one parameter, small powers.

    The page draws C(w) on one axis and asks again at every change, so two variables have
    nowhere to go and a huge power would hold the server for minutes.

    Raises
    ------
    ConfigError
        As :func:`parse_cost` does, and for a cost of x and y or a power or degree beyond
        :data:`MAX_POWER`.

    Examples
    --------
    >>> playground_cost("(w-3)^2").derivative_text
    '2*w - 6'
    """
    function = parse_cost(text, max_degree=MAX_POWER)
    if function.n != 1:
        raise ConfigError(
            f"the playground follows one parameter w, but {text!r} is a "
            f"cost of {' and '.join(function.variables)}",
            help="write a cost in w, e.g. (w-3)^2; for x and y use `nudgenet descend --start`",
        )
    check_powers(function)
    return function


def check_powers(function: CostFunction, limit: int = MAX_POWER) -> None:
    """Refuse exponents or degrees beyond ``limit``: (w+1)^100000 only overflows.

    Raises
    ------
    ConfigError
        For an exponent beyond ``limit``, or a degree beyond it once multiplied out.
    """
    import sympy

    for power in function.expression.atoms(sympy.Pow):
        if power.exp.is_Number and abs(float(power.exp)) > limit:
            raise ConfigError(
                f"cannot use the cost {function.text!r}: the power {power.exp} is beyond the "
                f"playground's limit of {limit}",
                help="use smaller powers; large ones only make the curve overflow",
            )
    if function.degree is not None and function.degree > limit:
        raise ConfigError(
            f"cannot use the cost {function.text!r}: multiplied out, it has degree "
            f"{function.degree}, beyond the playground's limit of {limit}",
            help="use smaller powers; the degree of (a^m)^n is m·n times a's",
        )


def small_polynomial(function: CostFunction, degree: int = SMALL_DEGREE) -> bool:
    """Whether C is a polynomial in one variable of degree at most ``degree``.

    Only then are its valleys quick to find: the roots of a degree-100 slope are not.
    """
    polynomial = function.polynomial
    return function.n == 1 and polynomial is not None and polynomial.total_degree() <= degree
