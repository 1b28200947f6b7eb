"""Momentum, the next step after the |1 − ηC''| regions: the zig-zag of x² + 10y², and a cure.

On the one-parameter parabola each step multiplies the distance to the bottom by 1 − ηC''
(:mod:`nudgenet.lessons.regimes`): between 0 and 1 it creeps, between −1 and 0 it zig-zags
and still converges, beyond ±1 it diverges. A cost of two variables with two curvatures,
C = x² + 10y² (C'' = 2 along x, 20 along y), has one such factor per direction, and one η
must serve both: η < 2/20 = 0.1 keeps the steep y direction from diverging, and there the
shallow x direction creeps at |1 − 2η| ≥ 0.8. Plain descent zig-zags across the narrow
valley and crawls along it; the slowest factor sets its pace.

Classical momentum keeps a velocity, v ← μv − η∇C, θ ← θ + v (:func:`nudgenet.descent.descend`
with ``momentum=μ``). On a quadratic, each direction of curvature λ then follows
θ_{k+1} = (1 + μ − ηλ)θ_k − μθ_{k−1}, whose distance to the bottom shrinks by the spectral
radius ρ(μ, ηλ) of the matrix [[1 + μ − ηλ, −μ], [1, 0]] per step. A well-chosen μ makes both
directions shrink at about √μ, which can be much faster than the slowest |1 − ηλ|; too large
a μ makes it spiral for a long time. Gabriel Goh's "Why Momentum Really Works" (Distill, 2017,
https://distill.pub/2017/momentum/) derives these rates and draws them; this lesson computes
them for one cost, at one η, and checks them against the runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..descent import descend
from ..errors import ConfigError, DivergenceError
from ..schedules import check_learning_rate
from .formula import CostFunction, parse_cost

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The narrow valley: curvature 2 along x and 20 along y.
VALLEY = "x**2 + 10*y**2"
START = (-8.0, 1.0)
LEARNING_RATE = 0.09
"""Just under 2/20 = 0.1, where the steep direction would stop converging: plain descent's
best is 2/(2 + 20) ≈ 0.091, and here both its factors are about 0.8."""
TOL = 1e-6
"""A run has arrived once ‖∇C‖ ≤ this (the bottom of a quadratic is where the slope is 0)."""
MAX_STEPS = 10_000
MAX_RUNS = 10
"""Most momenta compared with plain descent in one comparison (each run keeps every step)."""
_GRID = np.linspace(0.0, 0.999, 1000)  # the μ searched for the best one


def contraction(learning_rate: float, curvature: float, momentum: float = 0.0) -> float:
    """How much one step shrinks the distance to the bottom along a direction of curvature λ.

    The spectral radius of [[1 + μ − ηλ, −μ], [1, 0]]; for μ = 0 it is |1 − ηλ|.

    Examples
    --------
    >>> round(contraction(0.09, 20.0), 12), round(contraction(0.09, 2.0), 12)  # zig-zag, creep
    (0.8, 0.82)
    >>> round(contraction(0.09, 20.0, momentum=0.64), 12)  # complex roots: √μ
    0.8
    """
    return float(_radius(learning_rate, curvature, np.asarray(momentum, dtype=np.float64)))


def _radius(eta: float, curvature: float, mu: np.ndarray) -> np.ndarray:
    """The spectral radius for each μ: the larger |root| of r² − (1 + μ − ηλ)r + μ = 0."""
    trace = 1.0 + mu - eta * curvature
    disc = trace**2 - 4.0 * mu
    real = (np.abs(trace) + np.sqrt(np.maximum(disc, 0.0))) / 2.0
    return np.where(disc < 0, np.sqrt(mu), real)  # complex roots: both of size √μ


def best_momentum(learning_rate: float, curvatures: Sequence[float]) -> tuple[float, float]:
    """The μ in [0, 0.999] whose slowest direction shrinks fastest at this η: (μ, its rate).

    Examples
    --------
    >>> mu, rate = best_momentum(0.09, [2.0, 20.0])
    >>> round(mu, 3), round(rate, 3)
    (0.332, 0.576)
    """
    rates = np.max([_radius(learning_rate, c, _GRID) for c in curvatures], axis=0)
    i = int(np.argmin(rates))
    return float(_GRID[i]), float(rates[i])


@dataclass(frozen=True)
class MomentumRun:
    """One descent on the valley, with or without momentum."""

    momentum: float  # μ; 0 is plain gradient descent
    path: np.ndarray  # (k + 1, n): θ_0 … θ_k
    costs: np.ndarray  # (k + 1,)
    arrived: bool  # ‖∇C‖ ≤ tol before the step budget ran out
    rate: float  # the slowest direction's factor per step, from the curvatures
    flips: int  # steps that crossed the valley's floor along its steepest direction
    start_slope: float  # ‖∇C(θ_0)‖
    diverged: bool = False  # the cost overflowed, and descend stopped the run

    @property
    def outcome(self) -> str:
        """'yes', 'no' (the budget ran out) or 'diverged'."""
        return "diverged" if self.diverged else "yes" if self.arrived else "no"

    @property
    def steps(self) -> int:
        """The updates taken (to arrival, or the whole budget)."""
        return len(self.path) - 1

    @property
    def label(self) -> str:
        """'plain descent' or 'momentum μ = …'."""
        return "plain descent" if self.momentum == 0 else f"momentum μ = {self.momentum:.3g}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "momentum": self.momentum,
            "steps": self.steps,
            "arrived": self.arrived,
            "diverged": self.diverged,
            "rate": self.rate,
            "predicted_steps": predicted_steps(self.rate, self.start_slope, TOL),
            "sign_flips": self.flips,
            "final_point": self.path[-1].tolist(),
            "final_cost": float(self.costs[-1]),
            "path": self.path.tolist(),
        }


@dataclass(frozen=True)
class Momentum:
    """Plain descent and momentum on one quadratic, at one η."""

    function: CostFunction
    curvatures: tuple[float, ...]  # the eigenvalues of ∇²C, ascending
    learning_rate: float
    bottom: tuple[float, ...]  # θ*, where ∇C = 0
    best: tuple[float, float]  # (μ*, its rate) at this η
    runs: tuple[MomentumRun, ...]  # plain first

    @property
    def factors(self) -> tuple[float, ...]:
        """1 − ηλ for each curvature λ: plain descent's factor along each direction."""
        return tuple(1.0 - self.learning_rate * c for c in self.curvatures)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "cost": self.function.text,
            "curvatures": list(self.curvatures),
            "bottom": list(self.bottom),
            "learning_rate": self.learning_rate,
            "factors": list(self.factors),
            "stable_below": 2.0 / max(self.curvatures),
            "best_momentum": self.best[0],
            "best_rate": self.best[1],
            "tol": TOL,
            "runs": [r.as_dict() for r in self.runs],
        }


def predicted_steps(rate: float, start_slope: float, tol: float) -> int | None:
    """About how many steps a factor of ``rate`` per step takes to shrink ‖∇C‖ from
    ``start_slope`` to ``tol``: ⌈ln(tol / ‖∇C(θ₀)‖) / ln rate⌉ (None if it never does).

    Examples
    --------
    >>> predicted_steps(0.5, 1.0, 1e-3)  # 2⁻¹⁰ < 10⁻³
    10
    """
    if not 0 < rate < 1 or start_slope <= tol:
        return None if start_slope > tol else 0
    return math.ceil(math.log(tol / start_slope) / math.log(rate))


def compare_momentum(
    cost: str | CostFunction = VALLEY,
    start: Sequence[float] = START,
    learning_rate: float = LEARNING_RATE,
    momenta: Sequence[float] | None = None,
    *,
    steps: int = MAX_STEPS,
) -> Momentum:
    """Descend a quadratic bowl plainly and with each μ, all at the same η, with ``descend``.

    Parameters
    ----------
    cost : a quadratic with a minimum (every curvature positive), in x and y or in w
    start : θ₀
    learning_rate : η, the same for every run
    momenta : the μ to compare with plain descent; default the best μ at this η and 0.9
    steps : the most updates per run

    Examples
    --------
    >>> m = compare_momentum()
    >>> [(r.label, r.steps) for r in m.runs]
    [('plain descent', 84), ('momentum μ = 0.332', 35), ('momentum μ = 0.9', 307)]
    """
    function = parse_cost(cost) if isinstance(cost, str) else cost
    check_learning_rate(learning_rate)
    curvatures, steep, bottom = _bowl(function, start)
    best = best_momentum(learning_rate, curvatures)
    if momenta is None:
        momenta = (best[0], 0.9)
    if len(momenta) > MAX_RUNS:
        raise ConfigError(f"at most {MAX_RUNS} momenta at once, got {len(momenta)}",
                          help="e.g. --momentum 0.3,0.9")  # fmt: skip
    if not (isinstance(steps, int) and 1 <= steps <= MAX_STEPS):
        raise ConfigError(f"steps must be from 1 to {MAX_STEPS:,}, got {steps!r}",
                          help="e.g. --steps 1000")  # fmt: skip
    bowl = (curvatures, steep, bottom)
    runs = [_run(function, start, learning_rate, mu, steps, bowl) for mu in (0.0, *momenta)]
    return Momentum(function, curvatures, float(learning_rate), tuple(bottom.tolist()), best,
                    tuple(runs))  # fmt: skip


def _bowl(function: CostFunction, start: Sequence[float]) -> tuple[tuple[float, ...], Any, Any]:
    """The curvatures (the eigenvalues of ∇²C, the same everywhere on a quadratic, ascending),
    the steepest direction (the eigenvector of the largest) and the bottom θ*.

    All curvatures must be positive: then ∇C(θ) = H(θ − θ*) gives θ* = θ − H⁻¹∇C(θ).
    """
    if len(start) != function.n:
        raise ConfigError(
            f"{function.text!r} has {function.n} variable(s), the start {len(start)} number(s)",
            help="give one number per variable, e.g. --start=-8,1",
        )
    if not function.is_quadratic():
        raise ConfigError(
            f"the momentum lesson needs a quadratic cost, got {function.text!r}",
            help=f"its rates hold where the curvature is the same everywhere, e.g. '{VALLEY}'",
        )
    theta = np.asarray(start, dtype=np.float64)
    hessian = function.curvature(theta)
    values, vectors = np.linalg.eigh(hessian)  # ascending
    if not np.all(values > 0):
        raise ConfigError(
            f"{function.text!r} has a direction of curvature {values.min():g} ≤ 0: no bottom",
            help=f"use a bowl, every curvature positive, e.g. '{VALLEY}'",
        )
    bottom = theta - np.linalg.solve(hessian, function.slope(theta))
    return tuple(float(v) for v in values), vectors[:, -1], bottom


def _run(function: CostFunction, start: Sequence[float], eta: float, mu: float, steps: int,
         bowl: tuple[tuple[float, ...], Any, Any]) -> MomentumRun:  # fmt: skip
    """One run of descend from ``start``, every θ_k kept; a blow-up ends it as diverged."""
    if not 0.0 <= mu < 1.0:
        raise ConfigError(f"momentum must be in [0, 1), got {mu}", help="e.g. --momentum 0.5")
    curvatures, steep, bottom = bowl
    theta = np.array(start, dtype=np.float64)
    path, costs = [], []
    diverged = False
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            for record in descend(function.objective, theta, eta, steps=steps, tol=TOL,
                                  momentum=mu, divergence_factor=None):  # fmt: skip
                path.append(theta.copy())  # θ_k, before this step
                costs.append(record.cost)
        path.append(theta.copy())
        costs.append(function.cost(theta))
    except DivergenceError:  # the cost overflowed: a result here, not an error
        diverged = True
    arrived = not diverged and bool(np.linalg.norm(function.slope(theta)) <= TOL)
    across = (np.array(path) - bottom) @ steep  # (k + 1,): the offset along the steep direction
    flips = int(np.count_nonzero(across[1:] * across[:-1] < 0))
    rate = max(contraction(eta, c, mu) for c in curvatures)
    start_slope = float(np.linalg.norm(function.slope(np.asarray(start, dtype=np.float64))))
    return MomentumRun(mu, np.array(path), np.array(costs), arrived, rate, flips, start_slope,
                       diverged)  # fmt: skip


def draw_momentum(m: Momentum) -> Figure:
    """Left: the paths on the contours of C (the zig-zag, and what momentum does to it); for
    one variable, on the curve C(w). Right: C(θ_k) against k, log scale, with each run's
    factor per step. A run that diverged leaves the frame, which is set by the others."""
    from ..plots import figure

    fig, (left, right) = figure(1, 2, size=(12.0, 4.6))
    bottom = np.array(m.bottom)
    kept = [r.path for r in m.runs if not r.diverged] or [m.runs[0].path[:1]]
    offsets = np.abs(np.concatenate(kept) - bottom)
    reach = offsets[np.all(np.isfinite(offsets), axis=1)].max(axis=0) * 1.1 + 1e-9
    low, high = bottom - reach, bottom + reach
    if m.function.n == 2:
        xs, ys = np.linspace(low[0], high[0], 200), np.linspace(low[1], high[1], 200)
        grid = m.function.on_grid(xs[None, :], ys[:, None])
        left.contour(xs, ys, grid, levels=np.geomspace(max(grid.min(), 1e-3), grid.max(), 14),
                     colors="0.7", linewidths=0.6)  # fmt: skip
    else:
        ws = np.linspace(low[0], high[0], 200)
        left.plot(ws, m.function.on_grid(ws), color="0.6", lw=1.5)
    for i, r in enumerate(m.runs):
        xy = r.path if m.function.n == 2 else np.column_stack([r.path[:, 0], r.costs])
        ending = "diverged" if r.diverged else f"{r.steps} steps"
        left.plot(xy[:, 0], xy[:, 1], "-o", ms=2.5, lw=1.2 if i else 1.6, color=f"C{i}",
                  label=f"{r.label}: {ending}")  # fmt: skip
        shown = np.where(np.isfinite(r.costs), np.maximum(r.costs, 1e-300), np.nan)
        right.semilogy(np.arange(len(r.costs)), shown, color=f"C{i}",
                       label=f"{r.label}: factor {r.rate:.3f} per step")  # fmt: skip
    first = m.runs[0].path[0]
    left.plot(first[0], first[1] if m.function.n == 2 else m.runs[0].costs[0], "k*", ms=10,
              label="start")  # fmt: skip
    left.set_xlim(low[0], high[0])
    if m.function.n == 2:
        left.set_ylim(low[1], high[1])
    left.set_title(f"{m.function.text} at η = {m.learning_rate:g}: curvatures "
                   f"{' and '.join(f'{c:g}' for c in m.curvatures)}", fontsize=11)  # fmt: skip
    left.set_xlabel(m.function.variables[0])
    left.set_ylabel(m.function.variables[1] if m.function.n == 2 else "C")
    left.legend(fontsize=8, loc="upper right")
    right.set_xlabel("step k")
    right.set_ylabel("C(θ_k) (log scale)")
    right.set_title(f"The same η, {len(m.runs)} runs (arrived: ‖∇C‖ ≤ {TOL:g})", fontsize=11)
    right.legend(fontsize=8)
    right.grid(True, which="both", alpha=0.3)
    return fig


def draw_factors(m: Momentum) -> Figure:
    """|1 − ηC''| against η for each curvature: where descent creeps, zig-zags or diverges,
    the slowest direction's factor, and the best factor momentum reaches at each η."""
    from ..plots import figure

    fig, ax = figure(size=(8.0, 4.8))
    top = 2.4 / min(m.curvatures)
    etas = np.linspace(0.0, min(top, 4.0 / max(m.curvatures)), 400)
    worst = np.zeros_like(etas)
    for i, c in enumerate(m.curvatures):
        factor = np.abs(1.0 - etas * c)
        worst = np.maximum(worst, factor)
        ax.plot(etas, factor, color=f"C{i}", lw=1.5,
                label=f"|1 − η·{c:g}|: C'' = {c:g}; zig-zags past η = {1 / c:.3g}, "
                f"diverges past {2 / c:.3g}")  # fmt: skip
    ax.plot(etas, worst, color="black", lw=2.5, alpha=0.5,
            label="plain descent: the slowest direction sets the pace")  # fmt: skip
    best = [best_momentum(float(e), m.curvatures)[1] if e > 0 else 1.0 for e in etas]
    ax.plot(etas, best, "--", color="tab:purple", lw=1.8,
            label="momentum with the best μ at each η")  # fmt: skip
    ax.axhline(1.0, color="tab:red", ls=":", lw=1)
    ax.fill_between(etas, 1.0, 2.0, color="tab:red", alpha=0.07)
    ax.text(etas[-1], 1.03, "above 1: diverges", ha="right", fontsize=8, color="tab:red")
    ax.axvline(m.learning_rate, color="0.3", ls="--", lw=1)
    ax.annotate(f"η = {m.learning_rate:g}: plain {max(abs(f) for f in m.factors):.2f}, "
                f"μ = {m.best[0]:.3g} gives {m.best[1]:.2f}", (m.learning_rate, 1.45),
                xytext=(6, 0), textcoords="offset points", fontsize=8)  # fmt: skip
    ax.set_ylim(0.0, 1.6)
    ax.set_xlabel("learning rate η")
    ax.set_ylabel("factor per step on the distance to the bottom")
    ax.set_title(f"|1 − ηC''| for {m.function.text}: one η for every curvature", fontsize=11)
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(True, alpha=0.3)
    return fig
