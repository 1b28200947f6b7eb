"""The power rule, d/dw wⁿ = n·wⁿ⁻¹, shown two ways: by rule and as a limit.

The lecture note names the power rule and uses it (C(w) = (w − 3)² has slope 2w − 6) without
saying why it holds. This lesson shows it on the note's costs:

* **by rule**: each term c·(a·w + b)ⁿ of the cost has slope c·n·(a·w + b)ⁿ⁻¹·a (the power rule,
  times the inner slope a), and the sum of these is what SymPy's own derivative gives
  (:mod:`nudgenet.lessons.formula` reads and differentiates the cost, within its limits);
* **as a limit**: the derivative is what the difference quotient (C(w + h) − C(w)) / h tends
  to as h → 0. For C(w) = w² the quotient is exactly 2w + h, so its error is h itself; in
  general it shrinks in proportion to h (about h·C''(w)/2), until rounding takes over near
  h ≈ 10⁻⁸, which is why the table stops at 10⁻⁶.

Notation: one variable w; n may be any real number (w⁻¹ = 1/w, w^½ = √w).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError
from .formula import MAX_POWER, CostFunction, parse_cost

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The note's costs, and pure powers: wⁿ for n = 2, 3, −1 and ½.
EXAMPLES = ("(w-3)**2", "w**2", "w**3", "w**-1", "sqrt(w)", "w**4 - 3*w**2 + w")
#: Where each slope is read (w = 0 is the note's start, but 1/w and √w need w > 0).
POINT = 2.0
#: The step sizes of the table: 1, 0.1, …, 10⁻⁶ (below that, rounding wins over the limit).
STEPS = tuple(10.0**-k for k in range(7))
MAX_TERMS = 20
"""Most terms c·(a·w + b)ⁿ a cost may have here: the lesson reads each one out. Each power is
at most :data:`~nudgenet.lessons.formula.MAX_POWER` (100) in size, so that multiplying the
rule out to compare it with SymPy takes a second at worst (a power of 1000 takes minutes)."""


@dataclass(frozen=True)
class Term:
    """One term c·(base)ⁿ of the cost, and its slope by the power rule."""

    text: str  # the term, as SymPy writes it
    exponent: float  # n
    slope_text: str  # c·n·(base)ⁿ⁻¹·(d base/dw), simplified


@dataclass(frozen=True)
class QuotientRow:
    """One row of the limit table: h, the difference quotient and how far it is off."""

    h: float
    quotient: float  # (C(w + h) − C(w)) / h
    error: float  # |quotient − dC/dw|


@dataclass(frozen=True)
class PowerRule:
    """The power rule on one cost, at one point: the rule, SymPy, and the limit."""

    text: str  # the cost as typed
    point: float  # w
    terms: tuple[Term, ...]
    rule_text: str  # the sum of the terms' slopes
    sympy_text: str  # SymPy's own derivative
    agree: bool  # rule − SymPy simplifies to 0
    slope: float  # dC/dw at w
    rows: tuple[QuotientRow, ...]

    @property
    def converges(self) -> bool:
        """Whether the quotient's error shrank at every smaller h in the table."""
        errors = [r.error for r in self.rows]
        return all(b < a for a, b in itertools.pairwise(errors))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "cost": self.text,
            "w": self.point,
            "terms": [{"term": t.text, "n": t.exponent, "slope": t.slope_text} for t in self.terms],
            "power_rule": self.rule_text,
            "sympy": self.sympy_text,
            "agree": self.agree,
            "slope": self.slope,
            "quotients": [{"h": r.h, "quotient": r.quotient, "error": r.error} for r in self.rows],
            "converges": self.converges,
        }


def power_rule(
    cost: str | CostFunction, point: float = POINT, steps: Sequence[float] = STEPS
) -> PowerRule:
    """Differentiate ``cost`` term by term with the power rule and check it two ways.

    Parameters
    ----------
    cost : str or CostFunction
        A sum of terms c·(a·w + b)ⁿ in w, e.g. ``"(w-3)**2"`` or ``"w**4 - 3*w**2 + w"``.
    point : float
        The w where the slope and the difference quotients are read.
    steps : sequence of float
        The h of the table, each positive.

    Raises
    ------
    ConfigError
        For a cost that is not such a sum, has another variable, or is undefined at ``point``.

    Examples
    --------
    >>> rule = power_rule("(w-3)**2", 0.0, steps=[1.0, 0.1])
    >>> rule.rule_text, rule.agree, rule.slope
    ('2*w - 6', True, -6.0)
    >>> [round(r.quotient, 9) for r in rule.rows]  # (C(h) − C(0))/h = h − 6 → −6
    [-5.0, -5.9]
    """
    import sympy

    function = parse_cost(cost) if isinstance(cost, str) else cost
    if function.n != 1:
        raise ConfigError(
            f"the power rule lesson takes a cost of w alone, got {function.text!r} in "
            f"{', '.join(function.variables)}",
            help="e.g. '(w-3)**2' or 'w**3'",
        )
    (w,) = function.symbols
    terms = _terms(function, w)
    rule = sympy.expand(sum(sympy.sympify(t.slope_text, locals={"w": w}) for t in terms))
    derivative = function.gradient[0]
    agree = sympy.simplify(rule - derivative) == 0
    slope = float(function.slope([point])[0])
    base = function.cost([point])
    if not (math.isfinite(slope) and math.isfinite(base)):
        raise ConfigError(
            f"{function.text!r} has no slope at w = {point:g}",
            help="read it where it is defined, e.g. --at 2",
        )
    rows = []
    for h in steps:
        if not (math.isfinite(h) and h > 0):
            raise ConfigError(f"every h must be a positive number, got {h!r}", help="e.g. 0.1")
        quotient = (function.cost([point + h]) - base) / h
        rows.append(QuotientRow(h=float(h), quotient=quotient, error=abs(quotient - slope)))
    return PowerRule(
        text=function.text,
        point=float(point),
        terms=terms,
        rule_text=str(rule),
        sympy_text=str(derivative),
        agree=bool(agree),
        slope=slope,
        rows=tuple(rows),
    )


def _terms(function: CostFunction, w: Any) -> tuple[Term, ...]:
    """The cost as terms c·(a·w + b)ⁿ, each with its slope c·n·(a·w + b)ⁿ⁻¹·a."""
    import sympy

    parts = sympy.Add.make_args(function.expression)
    if len(parts) > MAX_TERMS:
        raise ConfigError(
            f"{function.text!r} has {len(parts)} terms, more than the {MAX_TERMS} this lesson "
            "reads out",
            help="try a shorter sum of powers, e.g. 'w**4 - 3*w**2 + w'",
        )
    terms = []
    for part in parts:
        c, rest = part.as_coeff_Mul()
        base, n = rest.as_base_exp()
        inner = sympy.Poly(base, w) if base.is_polynomial(w) else None
        if not n.is_number or inner is None or inner.degree() > 1:
            raise ConfigError(
                f"{part} in {function.text!r} is not a power of w (or of a·w + b)",
                help="the power rule lesson takes sums of terms like 3*w**2 or (w-3)**2",
            )
        if abs(float(n)) > MAX_POWER:
            raise ConfigError(
                f"{part} in {function.text!r} has the power {n}, beyond the {MAX_POWER} this "
                "lesson multiplies out",
                help="higher powers only overflow; try e.g. 'w**3' or '(w-3)**2'",
            )
        slope = sympy.expand(c * n * base ** (n - 1) * sympy.diff(base, w))
        exponent = float(n) if base.has(w) else 0.0
        terms.append(Term(text=str(part), exponent=exponent, slope_text=str(slope)))
    return tuple(terms)


def power_rules(
    costs: Sequence[str] = EXAMPLES, point: float = POINT, steps: Sequence[float] = STEPS
) -> list[PowerRule]:
    """:func:`power_rule` for each cost, at one point."""
    return [power_rule(c, point, steps) for c in costs]


def draw_power_rule(rules: Sequence[PowerRule]) -> Figure:
    """The secants of the first cost closing in on its tangent, and every cost's error vs h.

    Left: C(w) near the point with the secant lines through (w, C(w)) and (w + h, C(w + h))
    for the three largest h, and the tangent of slope dC/dw. Right: |quotient − dC/dw|
    against h on log-log axes, one line per cost: straight lines of slope 1 (error ∝ h).
    """
    from ..plots import figure

    fig, (left, right) = figure(1, 2, size=(11.0, 4.4))
    first = rules[0]
    function = parse_cost(first.text)
    w0, c0 = first.point, function.cost([first.point])
    reach = max(r.h for r in first.rows)
    ws = np.linspace(w0 - 0.6 * reach, w0 + 1.3 * reach, 200)
    left.plot(ws, function.on_grid(ws), color="black", lw=2, label=f"C(w) = {first.text}")
    for i, row in enumerate(sorted(first.rows, key=lambda r: -r.h)[:3]):
        left.plot(ws, c0 + row.quotient * (ws - w0), lw=1, ls="--", color=f"C{i}",
                  label=f"secant, h = {row.h:g}: slope {row.quotient:.4g}")  # fmt: skip
        left.plot([w0 + row.h], [c0 + row.quotient * row.h], "o", color=f"C{i}", ms=5)
    left.plot(ws, c0 + first.slope * (ws - w0), color="tab:red", lw=1.5,
              label=f"tangent: dC/dw = {first.rule_text} = {first.slope:g}")  # fmt: skip
    left.plot([w0], [c0], "o", color="black", ms=6)
    left.set_xlabel("w")
    left.set_ylabel("C(w)")
    left.set_title(f"Secants close in on the tangent at w = {w0:g}", fontsize=11)
    left.legend(fontsize=8)
    for i, rule in enumerate(rules):
        hs = [r.h for r in rule.rows]
        errors = [max(r.error, 1e-300) for r in rule.rows]
        right.loglog(hs, errors, "o-", ms=4, color=f"C{i}",
                     label=f"{rule.text}: slope {rule.slope:.4g}")  # fmt: skip
    right.set_xlabel("h")
    right.set_ylabel("|(C(w + h) − C(w))/h − dC/dw|")
    right.set_title(f"The difference quotient tends to the slope (w = {w0:g})", fontsize=11)
    right.legend(fontsize=8)
    right.grid(True, which="both", alpha=0.3)
    return fig
