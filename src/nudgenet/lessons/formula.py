"""Cost formulas typed by a learner, read safely and differentiated by SymPy.

Both ``nudgenet descend`` and the web page's Descend playground take a cost as text, so the
one parser lives here. It never calls ``eval``: Python's own parser reads the text into a
syntax tree, a short whitelist walk turns the tree into a SymPy expression (numbers, the
variables, + − * / ** and a few named functions; nothing else), SymPy differentiates it, and
:func:`sympy.lambdify` compiles cost and slope to NumPy. Notation: θ = (w,) or (x, y); the
slope of one variable is the gradient ∇C of two.

The playground answers every keystroke of a page, so it adds limits of its own
(:func:`playground_cost`): one parameter, no power beyond :data:`MAX_POWER`, and
:func:`small_polynomial` to say when looking for valleys is quick.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._types import Vector
from ..errors import ConfigError

if TYPE_CHECKING:
    import sympy

MAX_LENGTH = 500
"""Longest formula :func:`parse_cost` reads, in characters."""
MAX_POWER = 100
"""Largest exponent in a playground formula: higher powers only overflow, and cost time."""
SMALL_DEGREE = 12
"""Highest degree of a polynomial whose valleys the playground looks for."""

_VARIABLES = ("w", "x", "y")
FUNCTIONS = ("exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "abs", "sigmoid")
CONSTANTS = ("pi", "e")


def _functions() -> dict[str, Callable[[Any], Any]]:
    """The named functions a cost may use, as SymPy builds them (imported only when needed)."""
    import sympy

    table = {name: getattr(sympy, name) for name in FUNCTIONS if hasattr(sympy, name)}
    table["abs"] = sympy.Abs
    table["sigmoid"] = lambda z: 1 / (1 + sympy.exp(-z))  # σ(z), the network's activation
    return table


_OPERATORS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
ALLOWED = (
    "numbers, the variable w (or x and y), + - * / ** (or ^), parentheses, "
    f"the functions {', '.join(FUNCTIONS)} and the constants {' and '.join(CONSTANTS)}"
)


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

    @property
    def n(self) -> int:
        """Number of variables (the length of θ)."""
        return len(self.variables)

    @property
    def derivative_text(self) -> str:
        """The symbolic slope: ``2*w - 6`` for one variable, ``(2*x, 6*y)`` for two."""
        parts = [str(g) for g in self.gradient]
        return parts[0] if self.n == 1 else f"({', '.join(parts)})"

    def cost(self, theta: Sequence[float]) -> float:
        """C(θ) as a float (NaN or ±inf where C is undefined or overflows)."""
        with np.errstate(all="ignore"):
            value = complex(self._cost(*np.asarray(theta, dtype=np.float64)))
        return value.real + 0.0 if value.imag == 0 else math.nan  # + 0.0: no "-0" in tables

    def slope(self, theta: Sequence[float]) -> Vector:
        """∇C(θ) as an array of shape (n,); dC/dw for one variable."""
        with np.errstate(all="ignore"):
            values = self._gradient(*np.asarray(theta, dtype=np.float64))
            grad = np.array(values, dtype=np.complex128).reshape(self.n)
        return np.where(grad.imag == 0, grad.real, np.nan)

    def objective(self, theta: Vector) -> tuple[float, Vector]:
        """(C(θ), ∇C(θ)): the interface :func:`~nudgenet.descent.descend` expects."""
        return self.cost(theta), self.slope(theta)

    def on_grid(self, *axes: np.ndarray) -> np.ndarray:
        """C evaluated on a grid (one array per variable, broadcast together), for plots."""
        with np.errstate(all="ignore"):
            values = np.asarray(self._cost(*axes), dtype=np.complex128)
        values = np.where(values.imag == 0, values.real, np.nan)
        return np.broadcast_to(values, np.broadcast_shapes(*(a.shape for a in axes)))

    def curvature(self, theta: Sequence[float]) -> np.ndarray:
        """The Hessian ∇²C(θ) of shape (n, n); for one variable, [[C''(w)]]."""
        import sympy

        hessian = sympy.hessian(self.expression, [sympy.Symbol(v) for v in self.variables])
        point = dict(zip(self.variables, (float(t) for t in theta), strict=True))
        with np.errstate(all="ignore"):
            symbols = [sympy.Symbol(v) for v in self.variables]
            values = sympy.lambdify(symbols, hessian, "numpy")(*point.values())
            return np.array(values, dtype=np.float64).reshape(self.n, self.n)

    def is_quadratic(self) -> bool:
        """Whether C is a polynomial of degree ≤ 2, so its curvature is the same everywhere."""
        import sympy

        symbols = [sympy.Symbol(v) for v in self.variables]
        return bool(
            self.expression.is_polynomial(*symbols)
            and sympy.Poly(self.expression, *symbols).total_degree() <= 2
        )


def parse_cost(text: str) -> CostFunction:
    """Read a cost formula in w (or in x and y) safely, and differentiate it symbolically.

    The text is parsed by :func:`ast.parse` and only whitelisted nodes are turned into SymPy
    objects, so nothing the user types is ever executed.

    Parameters
    ----------
    text : str
        E.g. ``"(w-3)**2"``, ``"w**4 - 3*w**2 + w"`` or ``"x**2 + 3*y**2"``.

    Returns
    -------
    CostFunction

    Raises
    ------
    ConfigError
        If the text is not a real-valued formula of the allowed variables.

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
    import sympy

    if not isinstance(text, str) or not text.strip():
        _reject(str(text), "it is empty")
    if len(text) > MAX_LENGTH:
        _reject(text[:40] + "…", f"it is longer than {MAX_LENGTH} characters")
    try:
        # w^2 means w**2, as on paper (swapped before parsing, so it binds like **).
        tree = ast.parse(text.strip().replace("^", "**"), mode="eval")
    except SyntaxError as exc:
        _reject(text, f"it is not a formula ({exc.msg})")
    expression = sympy.sympify(_to_sympy(tree.body, text, _functions()))
    if expression.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I):
        _reject(text, f"it is not a real-valued formula (it simplifies to {expression})")
    names = sorted(str(s) for s in expression.free_symbols)
    if not names:
        _reject(text, "it has no variable, so there is no slope to follow")
    if "w" in names and len(names) > 1:
        _reject(text, "it mixes w with x and y; use w alone, or x and y")
    variables = tuple(v for v in _VARIABLES if v in names)
    symbols = [sympy.Symbol(v) for v in variables]
    gradient = tuple(sympy.diff(expression, s) for s in symbols)
    return CostFunction(
        text=text,
        expression=expression,
        variables=variables,
        gradient=gradient,
        _cost=sympy.lambdify(symbols, expression, "numpy"),
        _gradient=sympy.lambdify(symbols, list(gradient), "numpy"),
    )


def _reject(text: str, why: str) -> Any:
    raise ConfigError(
        f"cannot use the cost {text!r}: {why}",
        help=f"write a formula in w, e.g. '(w-3)**2', or in x and y, e.g. 'x**2 + 3*y**2', "
        f"using {ALLOWED}",
    )


def _to_sympy(node: ast.AST, text: str, functions: dict[str, Callable[[Any], Any]]) -> Any:
    """Turn one whitelisted syntax-tree node into SymPy; reject everything else."""
    import sympy

    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _reject(text, f"{value!r} is not a real number")
        return sympy.Integer(value) if isinstance(value, int) else sympy.Float(value)
    if isinstance(node, ast.Name):
        if node.id in _VARIABLES:
            return sympy.Symbol(node.id)
        if node.id in CONSTANTS:
            return sympy.pi if node.id == "pi" else sympy.E
        hint = " (a function needs parentheses)" if node.id in functions else ""
        return _reject(text, f"unknown name {node.id!r}{hint}; the variables are w, or x and y")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _to_sympy(node.operand, text, functions)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left = _to_sympy(node.left, text, functions)
        right = _to_sympy(node.right, text, functions)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right, text)
        return _OPERATORS[type(node.op)](left, right)
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in functions:
            what = ast.unparse(node.func)
            return _reject(text, f"{what!r} is not an allowed function")
        if node.keywords or len(node.args) != 1:
            return _reject(text, f"{name}() takes exactly one argument")
        return functions[name](_to_sympy(node.args[0], text, functions))
    if isinstance(node, ast.Attribute):
        return _reject(text, "attribute access (a dot after a name) is not allowed")
    return _reject(text, f"{ast.unparse(node)!r} is not allowed there")


def _check_power(base: Any, exponent: Any, text: str) -> None:
    """Refuse powers of plain numbers whose exact value would have thousands of digits."""
    import sympy

    if not (isinstance(base, sympy.Number) and isinstance(exponent, sympy.Number)):
        return
    size = abs(float(exponent)) * math.log10(max(abs(float(base)), 2.0))
    if size > 300:
        _reject(text, f"{base}**{exponent} is too large a number")


# --------------------------------------------------------------------------- the playground


def playground_cost(text: str) -> CostFunction:
    """:func:`parse_cost`, within the web playground's limits: one parameter, small powers.

    The page draws C(w) on one axis and asks again at every change, so two variables have
    nowhere to go and a huge power would hold the server for minutes.

    Raises
    ------
    ConfigError
        As :func:`parse_cost` does, and for a cost of x and y or a power beyond
        :data:`MAX_POWER`.

    Examples
    --------
    >>> playground_cost("(w-3)^2").derivative_text
    '2*w - 6'
    """
    function = parse_cost(text)
    if function.n != 1:
        raise ConfigError(
            f"the playground follows one parameter w, but {text!r} is a "
            f"cost of {' and '.join(function.variables)}",
            help="write a cost in w, e.g. (w-3)^2; for x and y use `nudgenet descend --start`",
        )
    check_powers(function)
    return function


def check_powers(function: CostFunction, limit: int = MAX_POWER) -> None:
    """Refuse exponents beyond ``limit``: (w+1)^100000 would take minutes to expand."""
    import sympy

    for power in function.expression.atoms(sympy.Pow):
        if power.exp.is_Number and abs(float(power.exp)) > limit:
            raise ConfigError(
                f"cannot use the cost {function.text!r}: the power {power.exp} is beyond the "
                f"playground's limit of {limit}",
                help="use smaller powers; large ones only make the curve overflow",
            )


def small_polynomial(function: CostFunction, degree: int = SMALL_DEGREE) -> bool:
    """Whether C is a polynomial of low degree in its one variable.

    Only then are its valleys quick to find: the roots of a degree-100 slope are not.
    """
    import sympy

    w = sympy.Symbol(function.variables[0])
    expression = function.expression
    return bool(expression.is_polynomial(w)) and sympy.Poly(expression, w).degree() <= degree
