"""Gradient descent on a cost you can write down: the seed's C(w) = (w − 3)² and friends.

The lecture note first shows descent on one parameter: C(w) = (w − 3)², whose slope
dC/dw = 2w − 6 (the power rule) says which way is downhill; from w = 0 with η = 0.1 each
step w ← w − η·dC/dw moves w towards 3, where the curve is flat. This module lets a learner
type such a cost, in w alone or in x and y (a "landscape of hills and valleys"), and watch
the *same* :func:`~nudgenet.descent.descend` that trains the 13,002-parameter network roll
down it.

The formula is read, safely, and differentiated by :mod:`nudgenet.lessons.formula`, whose
:func:`parse_cost` is importable from here too. Notation: θ = (w,) or (x, y); the slope of
one variable is the gradient ∇C of two.

Every run ends with a verdict from :func:`nudgenet.lessons.verdict.judge`, measured against
what SymPy can say of the cost before a single step (:func:`landmarks`: its critical points
and whether it is bounded below), so the command line, the web page and the learning-rate
comparisons all name the same run the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from .._types import Vector
from ..descent import Step, descend, divergence_threshold
from ..errors import ConfigError, DivergenceError
from ..schedules import Schedule, check_learning_rate
from .formula import SMALL_DEGREE, CostFunction, parse_cost, small_polynomial
from .verdict import History, Verdict, Yardsticks, judge

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The lecture note's Example 1.
PARABOLA = "(w-3)**2"
#: A cost with two valleys: where the ball starts decides where it ends.
TWO_VALLEYS = "w**4 - 3*w**2 + w"
#: A cost that descend stops as exploded once it exceeds this factor times max(|C(θ₀)|, 1).
DIVERGENCE_FACTOR = 1e3
#: The highest total degree of a two-variable polynomial whose critical points SymPy solves for.
SOLVE_DEGREE = 4
MAX_STEPS = 100_000
"""Most steps :func:`run_descent` takes: it keeps every step as a row of the table (about
500 bytes and 50 µs each), so 10⁹ steps would need 500 GB; 100,000 take 50 MB and seconds."""


# --------------------------------------------------------------------------- the descent


@dataclass(frozen=True)
class ToyStep:
    """One row of the descent table: θ_k, C(θ_k), the slope, the update −η∇C and θ_{k+1}."""

    step: int  # k
    learning_rate: float  # η_k
    point: tuple[float, ...]  # θ_k
    cost: float  # C(θ_k)
    slope: tuple[float, ...]  # ∇C(θ_k); dC/dw for one variable
    update: tuple[float, ...]  # −η_k ∇C(θ_k)
    new_point: tuple[float, ...]  # θ_{k+1} = θ_k − η_k ∇C(θ_k)

    def as_dict(self, variables: Sequence[str]) -> dict[str, Any]:
        """JSON-ready: ``w, cost, slope, update, new_w`` (with ``_x``/``_y`` for two)."""
        row: dict[str, Any] = {"step": self.step, "learning_rate": self.learning_rate}
        one = len(variables) == 1
        for v, value in zip(variables, self.point, strict=True):
            row[v] = value
        row["cost"] = self.cost
        for key, values in (("slope", self.slope), ("update", self.update)):
            for v, value in zip(variables, values, strict=True):
                row[key if one else f"{key}_{v}"] = value
        for v, value in zip(variables, self.new_point, strict=True):
            row[f"new_{v}"] = value
        return row


@dataclass(frozen=True)
class DerivativeCheck:
    """The symbolic slope at θ against the central difference (C(θ+h) − C(θ−h)) / 2h."""

    point: tuple[float, ...]
    h: float
    symbolic: tuple[float, ...]
    numerical: tuple[float, ...]
    relative_error: float  # max over coordinates of |s − n| / max(|s|, |n|, 1e-12)


@dataclass(frozen=True)
class Descent:
    """A whole run of gradient descent on a :class:`CostFunction`, for tables and plots."""

    function: CostFunction
    start: tuple[float, ...]
    learning_rate: float | None  # None when a schedule set the rate
    tol: float
    max_steps: int  # the budget of updates
    steps: tuple[ToyStep, ...]
    final_point: tuple[float, ...]
    final_cost: float
    final_slope: tuple[float, ...]
    converged: bool  # stopped because the slope was flat: ‖∇C‖ ≤ tol
    diverged: str | None  # what blew up, when descend stopped it; else None
    verdict: Verdict  # what the run did (nudgenet.lessons.verdict)
    yardsticks: Yardsticks  # what the verdict measured it against

    @property
    def regime(self) -> str:
        """The verdict's name: slow, converges, oscillates, diverges, stalls or unbounded."""
        return self.verdict.regime

    @property
    def costs(self) -> list[float]:
        """C(θ_0), C(θ_1), …, C(θ_final): the cost history."""
        return [s.cost for s in self.steps] + [self.final_cost]

    @property
    def points(self) -> list[tuple[float, ...]]:
        """θ_0, θ_1, …, θ_final: the path."""
        return [s.point for s in self.steps] + [self.final_point]

    @property
    def slopes(self) -> list[tuple[float, ...]]:
        """∇C(θ_0), …, ∇C(θ_final)."""
        return [s.slope for s in self.steps] + [self.final_slope]


def check_derivative(function: CostFunction, point: Sequence[float],
                     h: float = 1e-6) -> DerivativeCheck:  # fmt: skip
    """Compare the symbolic slope with a central finite difference at ``point``.

    The two agree to about h² for smooth costs, which is how we know SymPy's derivative (and
    the power rule) is right.

    Examples
    --------
    >>> check = check_derivative(parse_cost("(w-3)**2"), [0.0])
    >>> check.symbolic, round(check.numerical[0], 6)
    ((-6.0,), -6.0)
    """
    theta = np.asarray(point, dtype=np.float64)
    numerical = []
    for i in range(function.n):
        bump = np.zeros_like(theta)
        bump[i] = h
        numerical.append((function.cost(theta + bump) - function.cost(theta - bump)) / (2 * h))
    symbolic = function.slope(theta)
    with np.errstate(invalid="ignore"):
        scale = np.maximum(np.maximum(np.abs(symbolic), np.abs(numerical)), 1e-12)
        error = float(np.max(np.abs(symbolic - np.array(numerical)) / scale))
    return DerivativeCheck(
        point=tuple(theta.tolist()),
        h=h,
        symbolic=tuple(symbolic.tolist()),
        numerical=tuple(numerical),
        relative_error=error,
    )


def run_descent(
    function: CostFunction | str,
    start: Sequence[float] | float = 0.0,
    learning_rate: float | Schedule = 0.1,
    *,
    steps: int = 100,
    tol: float = 1e-6,
    divergence_factor: float | None = DIVERGENCE_FACTOR,
) -> Descent:
    """Minimise a written-down cost with :func:`nudgenet.descent.descend`, keeping every step.

    This is the routine that trains the network, given θ = (w,) and a function returning
    (C(w), dC/dw) instead of 13,002 numbers and backpropagation.

    Parameters
    ----------
    function : CostFunction or str
        The cost, or its formula (parsed with :func:`parse_cost`).
    start : float or sequence of float
        θ₀: w₀ for one variable, (x₀, y₀) for two.
    learning_rate : float or callable k -> η_k
        η, or a schedule.
    steps : int
        The most updates to take, at most :data:`MAX_STEPS`.
    tol : float
        Stop once the slope is flat: ‖∇C(θ)‖ ≤ tol.
    divergence_factor : float or None
        Stop as diverged once C exceeds this factor times max(|C(θ₀)|, 1); None only stops
        on NaN/inf. A run stopped this way has ``diverged`` set instead of raising.

    Returns
    -------
    Descent

    Raises
    ------
    ConfigError
        For a bad formula, start or setting (more steps than :data:`MAX_STEPS`), or a start
        where C is undefined.

    Examples
    --------
    The lecture note's Example 1: slope −6 moves w to 0.6, slope −4.8 moves it to 1.08.

    >>> run = run_descent("(w-3)**2", 0.0, 0.1)
    >>> [(round(s.slope[0], 6), round(s.new_point[0], 6)) for s in run.steps[:2]]
    [(-6.0, 0.6), (-4.8, 1.08)]
    >>> run.converged, round(run.final_point[0], 6), run.verdict.regime
    (True, 3.0, 'converges')
    >>> run_descent("(w-3)**2", 0.0, 1.0).verdict.regime  # w = 0, 6, 0, 6, … forever
    'oscillates'
    """
    if isinstance(function, str):
        function = parse_cost(function)
    theta = _start_point(function, start)
    first_cost = _check_settings(function, theta, learning_rate, steps, tol)
    start_point = tuple(theta.tolist())
    rows, diverged = _follow(function, theta, learning_rate, steps, tol, divergence_factor,
                             first_cost)  # fmt: skip
    return _judged(function, start_point, theta, learning_rate, steps, tol, rows, diverged)


def _judged(
    function: CostFunction, start_point: tuple[float, ...], theta: Vector,
    learning_rate: float | Schedule, steps: int, tol: float, rows: list[Any],
    diverged: Any,
) -> Descent:  # fmt: skip
    """The finished run as a :class:`Descent`, with the verdict on how it behaved."""
    final_cost, final_slope = function.objective(theta)
    flat = math.hypot(*final_slope) <= tol
    points = [r.point for r in rows] + [tuple(theta.tolist())]
    costs = [r.cost for r in rows] + [final_cost]
    slopes = [r.slope for r in rows] + [tuple(final_slope.tolist())]
    last = rows[-1].point if rows else start_point
    sticks = yardsticks(function, points[-1], final_cost, slopes[-1], last)
    history = History(costs, points, slopes, tol=tol, stopped=diverged)
    return Descent(
        function=function,
        start=start_point,
        learning_rate=None if callable(learning_rate) else float(learning_rate),
        tol=tol,
        max_steps=steps,
        steps=tuple(rows),
        final_point=tuple(theta.tolist()),
        final_cost=final_cost,
        final_slope=tuple(final_slope.tolist()),
        converged=flat and diverged is None,
        diverged=diverged,
        verdict=judge(history, sticks),
        yardsticks=sticks,
    )


def _check_settings(function: CostFunction, theta: Vector, learning_rate: float | Schedule,
                    steps: int, tol: float) -> float:  # fmt: skip
    """C(θ₀), once the settings are usable and C and its slope are defined at θ₀.

    Checked before the first step, so a bad setting is a ConfigError and not a run that
    "diverged" at step 0.
    """
    if not callable(learning_rate):
        check_learning_rate(learning_rate)
    if not (isinstance(steps, int) and steps >= 0):
        raise ConfigError(
            f"steps must be a non-negative integer, got {steps!r}",
            help="e.g. --steps 100: the most steps descent may take",
        )
    if steps > MAX_STEPS:
        raise ConfigError(
            f"steps must be at most {MAX_STEPS:,}, got {steps:,}: every step is kept as a row "
            f"of the table, and {steps:,} rows would not fit in memory",
            help=f"take at most {MAX_STEPS:,} steps; a larger --lr or --tol stops sooner",
        )
    if not (math.isfinite(tol) and tol >= 0):
        raise ConfigError(
            f"the tolerance must be a finite number ≥ 0, got {tol!r}",
            help="descent stops once |dC/dw| ≤ tol, e.g. --tol 1e-6",
        )
    first_cost, first_slope = function.objective(theta)
    if not (math.isfinite(first_cost) and np.all(np.isfinite(first_slope))):
        raise ConfigError(
            f"C or its slope is not defined at the start {_point_text(function, theta)} "
            f"(C = {first_cost:g})",
            help="choose another starting point with --w0 or --start",
        )
    return first_cost


def _follow(function: CostFunction, theta: Vector, learning_rate: float | Schedule, steps: int,
            tol: float, divergence_factor: float | None,
            first_cost: float) -> tuple[list[ToyStep], str | None]:  # fmt: skip
    """Descend from θ (updated in place): one row per step, and what blew up, if anything."""
    rows: list[ToyStep] = []
    diverged = None
    records = descend(
        function.objective, theta, learning_rate, steps=steps, tol=tol,
        divergence_factor=divergence_factor, baseline=max(abs(first_cost), 1.0), record=True,
    )  # fmt: skip
    try:
        # A blow-up is a result here, not a warning: overflow becomes inf and descend stops.
        with np.errstate(over="ignore", invalid="ignore"):
            for record in records:
                rows.append(_row(record))
    except DivergenceError:
        diverged = _blow_up(function, theta, len(rows), first_cost, divergence_factor)
    return rows, diverged


def _blow_up(function: CostFunction, theta: Vector, k: int, first_cost: float,
             factor: float | None) -> str:  # fmt: skip
    """What descend saw at step k when it stopped the run as diverged."""
    cost, slope = function.objective(theta)
    base = max(abs(first_cost), 1.0)
    if not math.isfinite(cost):
        return f"at step {k} the cost became {cost:g}"
    # The threshold descend applied, to the baseline max(|C₀|, 1) that _follow gave it.
    if factor is not None and cost > (threshold := divergence_threshold(base, factor)):
        return (
            f"at step {k} the cost reached {cost:.4g}, over {factor:g} × max(|C₀|, 1) = "
            f"{factor:g} × {base:.4g} = {threshold:.4g}"
        )
    return f"at step {k} the slope reached {math.hypot(*slope):.4g}, too steep to follow"


def _row(record: Step) -> ToyStep:
    assert record.theta is not None
    assert record.gradient is not None
    update = -record.learning_rate * record.gradient
    new_point = record.theta - record.learning_rate * record.gradient  # as descend updates θ
    return ToyStep(
        step=record.step,
        learning_rate=record.learning_rate,
        point=tuple(record.theta.tolist()),
        cost=record.cost,
        slope=tuple(record.gradient.tolist()),
        update=tuple(update.tolist()),
        new_point=tuple(new_point.tolist()),
    )


def _start_point(function: CostFunction, start: Sequence[float] | float) -> Vector:
    values = [start] if isinstance(start, int | float) else list(start)
    if len(values) != function.n:
        names = ", ".join(function.variables)
        raise ConfigError(
            f"the cost {function.text!r} has {function.n} variable(s) ({names}), but the "
            f"start has {len(values)} number(s): {', '.join(map(str, values))}",
            help="give one number per variable, e.g. --start 2,1 for x and y",
        )
    theta = np.array(values, dtype=np.float64)
    if not np.all(np.isfinite(theta)):
        raise ConfigError(
            f"the start must be finite numbers, got {values}",
            help="start from ordinary numbers, e.g. --w0 0 or --start 2,1",
        )
    return theta


def _point_text(function: CostFunction, theta: Sequence[float]) -> str:
    return ", ".join(f"{v} = {float(t):g}" for v, t in zip(function.variables, theta, strict=True))


# --------------------------------------------------------------------------- what happened


def flat_point_kind(function: CostFunction, point: Sequence[float]) -> str:
    """Where a flat slope (∇C = 0) is: a valley floor, a hilltop or a saddle, from ∇²C.

    A zero slope only says "flat"; the curvature tells the bottom of a valley (C'' > 0) from
    the top of a hill (C'' < 0).

    Examples
    --------
    >>> flat_point_kind(parse_cost("(w-3)**2"), [3.0])
    'a minimum (the bottom of a valley)'
    >>> flat_point_kind(parse_cost("x**2 - y**2"), [0.0, 0.0])
    'a saddle (downhill in some directions, uphill in others)'
    """
    if function.at_kink(point):
        return _kink_kind(function, point)
    return _FLAT_POINT_WORDS[_kind(function, point)]


_FLAT_POINT_WORDS = {
    "minimum": "a minimum (the bottom of a valley)",
    "maximum": "a maximum (the top of a hill)",
    "saddle": "a saddle (downhill in some directions, uphill in others)",
    "flat": "a flat spot where the curvature is zero too (it cannot tell which)",
    None: "a point where the curvature is undefined",
}
"""What :func:`flat_point_kind` says for each kind :func:`_kind` finds."""


def _kink_kind(function: CostFunction, point: Sequence[float]) -> str:
    """A point on a kink of abs(), where the curvature is undefined: compare C either side."""
    theta = np.asarray(point, dtype=np.float64)
    here = function.cost(theta)
    h = 1e-6 * max(1.0, float(np.max(np.abs(theta))))
    around = [function.cost(theta + s * h * e) for e in np.eye(function.n) for s in (-1, 1)]
    what = "the bottom of a V-shaped valley" if all(c > here for c in around) else "a kink"
    return (
        f"{what}, where abs() has no slope: descent used the subgradient 0 there "
        "(sign(0) = 0, between the slopes on either side)"
    )


def valleys(function: CostFunction) -> list[tuple[float, float]] | None:
    """Every local minimum (w, C(w)) of a one-variable polynomial cost, left to right.

    Found as the real roots of dC/dw where C'' > 0; None when C is not a polynomial in w of
    degree at most :data:`~nudgenet.lessons.formula.SMALL_DEGREE` (12), or has more than one
    variable: then no finite list is guaranteed, or not quickly (the roots of a degree-30
    slope take seconds).

    Examples
    --------
    >>> [(round(w, 4), round(c, 4)) for w, c in valleys(parse_cost("w**4 - 3*w**2 + w"))]
    [(-1.3008, -3.5139), (1.1309, -1.0702)]
    """
    import sympy
    from mpmath.libmp import NoConvergence

    if not small_polynomial(function):
        return None
    polynomial = function.polynomial
    slope = polynomial.diff(polynomial.gens[0])
    if slope.degree() < 1:
        return [] if slope.degree() == 0 else None  # a line has no valley
    try:
        roots = slope.nroots(n=15, maxsteps=200)
    except NoConvergence:
        return None
    found = []
    for root in roots:
        if abs(sympy.im(root)) > 1e-9:
            continue
        where = float(sympy.re(root))
        if function.curvature([where])[0, 0] > 0:
            found.append((where, function.cost([where])))
    return sorted(found)


def steepest_curvature(function: CostFunction, point: Sequence[float]) -> float:
    """λ: C''(w), or the largest eigenvalue of ∇²C(θ); η < 2/λ keeps steps from growing there.

    NaN where the curvature is undefined; ≤ 0 where C curves down (no valley floor here).

    Examples
    --------
    >>> steepest_curvature(parse_cost("x**2 + 3*y**2"), [2.0, 1.0])
    6.0
    """
    eigenvalues = np.linalg.eigvalsh(function.curvature(point))
    return float(np.max(eigenvalues)) if np.all(np.isfinite(eigenvalues)) else math.nan


def divergence_reason(function: CostFunction, learning_rate: float,
                      point: Sequence[float]) -> str:  # fmt: skip
    """Why steps of size η blow up here: η times the curvature is too large.

    Near a minimum C looks like a parabola with curvature λ (C'' in one variable, the
    largest eigenvalue of ∇²C in several), and each step multiplies the distance to the
    bottom by (1 − ηλ). When |1 − ηλ| > 1 every step overshoots farther than the last:
    gradient descent needs η < 2/λ.

    Examples
    --------
    >>> reason = divergence_reason(parse_cost("(w-3)**2"), 1.1, [0.0])
    >>> reason[:70]
    "this parabola has curvature C'' = 2 everywhere, so each step multiplie"
    >>> reason[reason.index("1 − η"):]  # doctest: +NORMALIZE_WHITESPACE
    "1 − η·C'' = 1 − 1.1·2 = -1.2; since |-1.2| > 1 every step overshoots farther than the
    last (it would need η < 2/C'' = 1)"
    """
    curvature = steepest_curvature(function, point)
    name = "curvature C''" if function.n == 1 else "steepest curvature λ"
    if not math.isfinite(curvature) or curvature <= 0:
        return (
            "the cost kept falling without bound or left the region where it is defined; "
            "there is no valley floor for it to settle on"
        )
    factor = 1 - learning_rate * curvature
    where = "everywhere" if function.is_quadratic() else "where it blew up"
    shape = "this parabola has" if function.is_quadratic() and function.n == 1 else "C has"
    symbol = "C''" if function.n == 1 else "λ"
    return (
        f"{shape} {name} = {curvature:.4g} {where}, so each step multiplies the distance to the "
        f"bottom by 1 − η·{symbol} = 1 − {learning_rate:g}·{curvature:.4g} = {factor:.4g}; "
        f"since |{factor:.4g}| > 1 every step overshoots farther than the last "
        f"(it would need η < 2/{symbol} = {2 / curvature:.4g})"
    )


# --------------------------------------------------------------------------- the yardsticks


@dataclass(frozen=True)
class CriticalPoint:
    """A point where ∇C = 0, what it is, and C there."""

    point: tuple[float, ...]
    kind: str  # "minimum", "maximum", "saddle" or "flat" (the curvature cannot tell)
    cost: float


@dataclass(frozen=True)
class Landmarks:
    """What SymPy can say about a cost before any step: its flat points and its floor.

    ``critical`` is None where no finite list is guaranteed (not a polynomial, or one of too
    high a degree); ``bounded`` is None where neither the leading terms nor SymPy's sign
    rules can tell whether C has a lower bound.
    """

    critical: tuple[CriticalPoint, ...] | None
    bounded: bool | None
    unbounded_why: str = ""  # why C has no lower bound, in words

    @property
    def minima(self) -> list[CriticalPoint]:
        """The valley floors, left to right (by their first coordinate)."""
        return [p for p in self.critical or () if p.kind == "minimum"]

    @property
    def hills(self) -> tuple[float, ...]:
        """One variable: where the hilltops (maxima) are, left to right."""
        return tuple(p.point[0] for p in self.critical or () if p.kind == "maximum")


@lru_cache(maxsize=128)
def landmarks(function: CostFunction) -> Landmarks:
    """The critical points SymPy finds, and whether the cost is bounded below.

    A polynomial's leading terms decide its floor: w³ falls to −∞ as w → −∞, −w² both ways,
    x² − y² along y, while w⁴ − 3w² + w and x² + 10y² rise in every direction. Any other cost
    is bounded when SymPy can prove it ≥ 0 (squares, abs, exp, sigmoid), else not known. The
    critical points are the real roots of dC/dw for a polynomial of degree ≤ 12 in one
    variable (as :func:`valleys`), or SymPy's solutions of ∇C = 0 for one of total degree
    ≤ :data:`SOLVE_DEGREE` in two.

    Examples
    --------
    >>> marks = landmarks(parse_cost("w**4 - 3*w**2 + w"))
    >>> [(p.kind, round(p.point[0], 4)) for p in marks.critical]
    [('minimum', -1.3008), ('maximum', 0.1699), ('minimum', 1.1309)]
    >>> marks.bounded, landmarks(parse_cost("x**2 - y**2")).bounded
    (True, False)
    """
    poly = function.polynomial  # None beyond POLYNOMIAL_TERMS: multiplying out is slow
    if poly is not None:
        symbols = list(poly.gens)
        bounded, why = _polynomial_floor(poly, symbols, function.nonnegative)
        critical = _polynomial_critical_points(function, poly, symbols)
    else:
        bounded, why, critical = (True if function.nonnegative else None), "", None
    return Landmarks(critical, bounded, why)


def _polynomial_floor(poly: Any, symbols: list[Any], nonnegative: bool | None
                      ) -> tuple[bool | None, str]:  # fmt: skip
    """Whether a polynomial is bounded below, from its terms of the highest degree.

    When those are ≥ 0 but vanish along some direction, SymPy's sign rules may still see
    the formula as written (a sum of squares) is ≥ 0.
    """
    import sympy

    degree = poly.total_degree()
    top = sum((c * sympy.Mul(*(s**e for s, e in zip(symbols, m, strict=True)))
               for m, c in poly.terms() if sum(m) == degree), sympy.Integer(0))  # fmt: skip
    if len(symbols) == 1:
        w = symbols[0]
        lead = float(poly.LC())
        if degree % 2 == 1:
            way = "−∞" if lead > 0 else "+∞"
            return False, f"its leading term {top} falls to −∞ as {w} → {way}"
        if lead < 0:
            return False, f"its leading term {top} falls to −∞ as {w} → ±∞"
        return True, ""
    # Two variables: the sign of the leading part around the unit circle.
    t = np.linspace(0.0, 2 * math.pi, 721)
    f = sympy.lambdify(symbols, top, "numpy")
    values = np.broadcast_to(np.asarray(f(np.cos(t), np.sin(t)), dtype=np.float64), t.shape)
    scale = float(np.max(np.abs(values)))
    if float(np.min(values)) < -1e-9 * scale:
        k = int(np.argmin(values))
        direction = f"({math.cos(t[k]):.3g}, {math.sin(t[k]):.3g})"
        return False, f"its leading part {top} falls to −∞ along the direction {direction}"
    if float(np.min(values)) > 1e-9 * scale:
        return True, ""
    return (True, "") if nonnegative else (None, "")


def _polynomial_critical_points(function: CostFunction, poly: Any, symbols: list[Any]
                                ) -> tuple[CriticalPoint, ...] | None:  # fmt: skip
    """Every real critical point of a small polynomial, classified; None if too large."""
    import sympy
    from mpmath.libmp import NoConvergence

    if len(symbols) == 1:
        if poly.degree() > SMALL_DEGREE:
            return None
        slope = poly.diff(symbols[0])
        if slope.degree() < 1:
            return ()
        try:
            roots = slope.nroots(n=15, maxsteps=200)
        except NoConvergence:
            return None
        found = sorted({round(float(sympy.re(r)), 12) for r in roots if abs(sympy.im(r)) <= 1e-9})
        return tuple(CriticalPoint((w,), _kind_1d(poly, w), function.cost([w])) for w in found)
    if poly.total_degree() > SOLVE_DEGREE:
        return None
    points = []
    plain = [sympy.Symbol(str(s)) for s in symbols]  # complex roots too: real ones may need i
    swap = dict(zip(symbols, plain, strict=True))
    for solution in sympy.solve([g.xreplace(swap) for g in function.gradient], plain, dict=True):
        if any(s not in solution or solution[s].free_symbols for s in plain):
            return None  # a whole line of critical points: no finite list
        values = [complex(sympy.N(solution[s])) for s in plain]
        if any(abs(v.imag) > 1e-9 for v in values):
            continue
        point = tuple(float(v.real) for v in values)
        points.append(CriticalPoint(point, _kind(function, point), function.cost(point)))
    return tuple(sorted(points, key=lambda p: p.point))


def _kind_1d(poly: Any, w: float) -> str:
    """minimum, maximum or flat (an inflection): the first derivative that is not 0 there."""
    derivative = poly.diff()
    scale = max(1.0, *(abs(float(c)) for c in poly.coeffs()))
    for order in range(2, poly.degree() + 1):
        derivative = derivative.diff()
        value = float(derivative.eval(w))
        if abs(value) > 1e-7 * scale * math.factorial(order):
            if order % 2 == 1:
                return "flat"
            return "minimum" if value > 0 else "maximum"
    return "flat"


def _kind(function: CostFunction, point: Sequence[float]) -> str | None:
    """minimum, maximum, saddle or flat, from the eigenvalues of ∇²C; None if undefined."""
    with np.errstate(all="ignore"):
        hessian = function.curvature(point)
    if not np.all(np.isfinite(hessian)):
        return None
    eigenvalues = np.linalg.eigvalsh(hessian)
    scale = max(1.0, float(np.max(np.abs(eigenvalues))))
    if np.all(eigenvalues > 1e-9 * scale):
        return "minimum"
    if np.all(eigenvalues < -1e-9 * scale):
        return "maximum"
    if np.any(eigenvalues > 1e-9 * scale) and np.any(eigenvalues < -1e-9 * scale):
        return "saddle"
    return "flat"


def yardsticks(function: CostFunction, end: Sequence[float], cost: float,
               slope: Sequence[float], last: Sequence[float] | None = None
               ) -> Yardsticks:  # fmt: skip
    """What a run that ended at θ_K = ``end`` is judged against (see :mod:`.verdict`).

    The floor is the valley floor of the minimum whose valley θ_K lies in (one variable:
    between the hilltops around it; two: the nearest minimum). Where SymPy gives no list,
    it is estimated from the curvature at θ_K, C* ≈ C − ½∇Cᵀ(∇²C)⁻¹∇C, if C curves up there.
    The curvature for the advice is the floor's, else that where the run last stepped from.
    """
    marks = landmarks(function)
    end = tuple(float(x) for x in end)
    finite = all(math.isfinite(x) for x in end) and math.isfinite(cost)
    kind = _kind(function, end) if finite else None
    floor = minimum = None
    estimated = False
    if marks.critical is not None and finite:
        valley = _valley(marks, end)
        if valley is not None:
            floor, minimum = valley.cost, valley.point
    elif finite and kind == "minimum" and all(map(math.isfinite, slope)):
        with np.errstate(all="ignore"):
            hessian = function.curvature(end)
            delta = np.linalg.solve(hessian, np.asarray(slope, dtype=np.float64))
        floor = cost - 0.5 * float(np.dot(slope, delta))
        minimum = tuple((np.asarray(end) - delta).tolist())
        estimated = True
    where = minimum if minimum is not None else last
    curvature = steepest_curvature(function, where) if where is not None else math.nan
    lowest = min((p.cost for p in marks.minima), default=None)
    return Yardsticks(
        floor=floor,
        minimum=minimum,
        estimated=estimated,
        lowest=lowest,
        bounded=marks.bounded,
        unbounded_why=marks.unbounded_why,
        end=kind,
        hills=marks.hills if function.n == 1 else (),
        curvature=curvature if math.isfinite(curvature) else None,
        variables=function.variables,
    )


def _valley(marks: Landmarks, end: tuple[float, ...]) -> CriticalPoint | None:
    """The minimum whose valley ``end`` lies in; None if it sits on a hill or has none."""
    minima = marks.minima
    if not minima:
        return None
    if len(end) != 1:
        return min(minima, key=lambda p: math.dist(p.point, end))
    w = end[0]
    tiny = 1e-9 * max(1.0, abs(w))
    walls = [p.point[0] for p in marks.critical or () if p.kind != "minimum"]
    if any(abs(x - w) <= tiny for x in walls):
        return None
    left = max((x for x in walls if x < w), default=-math.inf)
    right = min((x for x in walls if x > w), default=math.inf)
    inside = [p for p in minima if left < p.point[0] < right]
    return inside[0] if inside else None


# --------------------------------------------------------------------------- the picture


def plot_descent(run: Descent, *, max_arrows: int = 25) -> Figure:
    """The cost with the path of descent drawn on it, beside the slope's size per step.

    Left: C(w) with each w_k as a ball and arrows to w_{k+1} (for two variables, contour
    lines of C(x, y) with the path). Right: |∇C(θ_k)| on a log scale, falling towards the
    flat-slope tolerance when descent converges, growing when it diverges.
    """
    from matplotlib.ticker import MaxNLocator

    from .. import plots

    fig, (ax, ax_slope) = plots.figure(1, 2, size=(11.0, 4.4), width_ratios=(3, 2))
    path = np.array(run.points, dtype=np.float64)  # (steps + 1, n)
    path = path[np.all(np.isfinite(path), axis=1)]
    f = run.function
    eta = f"η = {run.learning_rate:g}" if run.learning_rate is not None else "scheduled η"
    if f.n == 1:
        _draw_curve(ax, run, path[:, 0], max_arrows)
    else:
        _draw_landscape(ax, run, path, max_arrows)
    ax.set_title(f"Gradient descent on C = {f.text}, {eta}", fontsize=11)

    norms = [math.hypot(*s) for s in run.slopes]  # hypot: no overflow warning on a blow-up
    steps = np.arange(len(norms))
    shown = np.array([n if n > 0 and math.isfinite(n) else np.nan for n in norms])
    ax_slope.plot(steps, shown, "o-", color="tab:blue", markersize=3)
    if run.tol > 0 and not run.diverged:
        ax_slope.axhline(run.tol, color="tab:green", linestyle="--", linewidth=1,
                         label=f"flat enough: tolerance {run.tol:g}")  # fmt: skip
        ax_slope.legend(loc="best", fontsize=8)
    if np.any(np.isfinite(shown)):
        ax_slope.set_yscale("log")
    slope_name = "|dC/dw|" if f.n == 1 else "‖∇C‖"
    ax_slope.set_xlabel("step k")
    ax_slope.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_slope.set_ylabel(f"size of the slope {slope_name} (log scale)")
    verdict = f"{run.verdict.regime} after {len(run.steps)} steps"
    ax_slope.set_title(f"How steep, step by step: {verdict}", fontsize=11)
    ax_slope.grid(True, which="both", alpha=0.3)
    return fig


def _span(values: np.ndarray, extra: Sequence[float] = ()) -> tuple[float, float]:
    both = np.concatenate([values, np.asarray(extra, dtype=np.float64)])
    lo, hi = float(np.min(both)), float(np.max(both))
    margin = max(0.25 * (hi - lo), 1.0)
    return lo - margin, hi + margin


def _draw_curve(ax: Any, run: Descent, w: np.ndarray, max_arrows: int) -> None:
    f = run.function
    minima = valleys(f) or []
    lo, hi = _span(w, [m for m, _ in minima])
    grid = np.linspace(lo, hi, 400)
    ax.plot(grid, f.on_grid(grid), color="0.3", linewidth=1.5, label=f"C({f.variables[0]})")
    costs = np.array([f.cost([v]) for v in w])
    name = f.variables[0]
    ax.scatter(w, costs, color="tab:blue", s=22, zorder=3, label=f"{name}_k, the value at step k")
    for k in _steps_to_label(ax, w, costs):  # name a few, as the lecture note does
        ax.annotate(f"{name}_{k} = {w[k]:.4g}", (w[k], costs[k]), textcoords="offset points",
                    xytext=(8, 4), fontsize=8, color="tab:blue")  # fmt: skip
    for k in range(min(len(w) - 1, max_arrows)):
        ax.annotate("", xy=(w[k + 1], costs[k + 1]), xytext=(w[k], costs[k]),
                    arrowprops={"arrowstyle": "->", "color": "tab:red", "lw": 1.0})  # fmt: skip
    ax.plot([w[0]], [costs[0]], "s", color="tab:orange", markersize=8, label="start", zorder=4)
    for m, c in minima:
        ax.plot([m], [c], "v", color="tab:green", markersize=8, zorder=4)
    if minima:
        ax.plot([], [], "v", color="tab:green", label="valley floors (C' = 0, C'' > 0)")
    ax.set_xlabel(f"{f.variables[0]} (the one parameter)")
    ax.set_ylabel(f"cost C({f.variables[0]})")
    ax.legend(loc="best", fontsize=8)
    ax.grid(True, alpha=0.3)


#: How far apart two labelled points must be, as shares of the axes' width and height: a
#: label such as "w_12 = 2.999" at fontsize 8 spans about 0.14 of the curve's panel and 0.04
#: of its height, so points closer than this in both directions would print over each other.
LABEL_GAP = (0.17, 0.06)


def _steps_to_label(ax: Any, w: np.ndarray, costs: np.ndarray, most: int = 3) -> list[int]:
    """The steps whose w_k gets a label: the earliest ones far enough from every label before.

    Small steps put w_0, w_1, w_2 almost on one spot, and labelling each would print them
    over one another; a step is labelled only when its point is at least :data:`LABEL_GAP`
    away (across or up) from each labelled one, so the labels name spread-out steps instead.
    """
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    with np.errstate(invalid="ignore", over="ignore"):
        u = (np.asarray(w, dtype=np.float64) - x0) / ((x1 - x0) or 1.0)
        v = (np.asarray(costs, dtype=np.float64) - y0) / ((y1 - y0) or 1.0)
    chosen: list[int] = []
    for k in range(len(u)):
        if len(chosen) == most:
            break
        if not (np.isfinite(u[k]) and np.isfinite(v[k]) and 0 <= u[k] <= 1 and 0 <= v[k] <= 1):
            continue
        if all(abs(u[k] - u[j]) >= LABEL_GAP[0] or abs(v[k] - v[j]) >= LABEL_GAP[1]
               for j in chosen):  # fmt: skip
            chosen.append(k)
    return chosen


def _draw_landscape(ax: Any, run: Descent, path: np.ndarray, max_arrows: int) -> None:
    f = run.function
    (x_lo, x_hi), (y_lo, y_hi) = _span(path[:, 0]), _span(path[:, 1])
    X, Y = np.meshgrid(np.linspace(x_lo, x_hi, 200), np.linspace(y_lo, y_hi, 200))
    Z = np.asarray(f.on_grid(X, Y), dtype=np.float64)
    filled = ax.contourf(X, Y, Z, levels=20, cmap="viridis")
    ax.contour(X, Y, Z, levels=20, colors="white", linewidths=0.4, alpha=0.6)
    ax.figure.colorbar(filled, ax=ax, label="cost C(x, y)")
    ax.plot(path[:, 0], path[:, 1], "o-", color="tab:red", markersize=3, linewidth=1,
            label="θ_k, step by step")  # fmt: skip
    for k in range(min(len(path) - 1, max_arrows)):
        ax.annotate("", xy=tuple(path[k + 1]), xytext=tuple(path[k]),
                    arrowprops={"arrowstyle": "->", "color": "tab:red", "lw": 1.0})  # fmt: skip
    ax.plot(*path[0], "s", color="tab:orange", markersize=8, label="start")
    ax.plot(*path[-1], "*", color="white", markeredgecolor="black", markersize=12, label="end")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_aspect("equal", adjustable="box")
    ax.legend(loc="best", fontsize=8)
