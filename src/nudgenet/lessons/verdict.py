"""One verdict for every run of gradient descent, read from how the run behaved.

Every descent on a written-down cost (:func:`nudgenet.lessons.toy.run_descent`, so
``nudgenet descend``, the web page's Descend panel and the toy runs of ``nudgenet
learning-rate``) and every training run of the network (``nudgenet learning-rate --on
network``, the web page's Learn panel) is named by :func:`judge`, a pure function of the
run's :class:`History` and of absolute :class:`Yardsticks`. It never looks at the other runs
of a comparison: a run that learned nothing is not called converged because its neighbours
learned nothing either.

The history is c_0 … c_K (the cost after every step k, or after every epoch), and, for a
cost you can write down, the points θ_0 … θ_K, the slopes ∇C(θ_k), the steps
s_k = θ_{k+1} − θ_k and the flat-slope tolerance the run stopped at. "The last half" is
k = ⌊K/2⌋ … K (at least the last two steps).

The yardsticks are what "far" is measured against:

* a written-down cost: the valley floor C* = C(θ*) of the minimum whose valley the run ends
  in (SymPy's critical points; else estimated from the curvature where the run ended),
  whether C is bounded below at all (a polynomial's leading terms; SymPy's sign
  assumptions), the lowest valley floor anywhere, the hilltops between valleys, and the
  curvature C'' (λ, the largest eigenvalue of ∇²C, for two variables) at the floor;
* the network: its cost is ≥ 0, but 0 (and 100 % accuracy) is out of reach, so the
  yardsticks are the starting cost, the *constant-output cost* C_const (the best a network
  can do that gives every image the same outputs: the digits' frequencies; 0.9 for the
  quadratic cost, about ln 10 for softmax with cross-entropy) and the *chance accuracy*
  (always answering the commonest digit: 10 %).

The target c* is the cost at which a run has arrived: C* + 10⁻⁴·|c_0 − C*| for a written-down
cost (on a parabola: |w − w*| within 1 % of where it started), and C_const / 5 for the
network (which must also beat chance by 5 points of accuracy).

The verdicts, first rule that holds:

1. **unbounded**: C has no floor where the run goes. C is not known to be bounded below,
   and either the cost ran off to −∞ (a cost of −∞, or the run was stopped while its cost
   fell), or over the last half it fell at every step while the slope did not shrink
   (falling linearly or faster, no sign of levelling), to below every valley floor known.
2. **diverges** (blew up): a cost became NaN or +∞, or the run was stopped as exploded.
3. **converges**: it reached the target, c_K ≤ c*, or its slope went flat
   (‖∇C‖ ≤ tol) at a minimum, whether or not its steps flipped sign on the way (η = 0.9 on
   (w − 3)² overshoots every step, |1 − ηC''| = 0.8, and converges).
4. **diverges** (grew): it ended higher than it began, c_K > c_0: each step moved it farther
   from the floor (|1 − ηC''| > 1 on a parabola). A network whose cost rose, then stopped
   moving (flat to 0.1 % over the last half: dead ReLUs after one large step) stalls instead.
5. **stalls**: the slope vanished before a minimum. For a written-down cost, ‖∇C(θ_K)‖ is
   at most the tolerance (or 10⁻³ of the steepest slope on the way) at a hilltop, a saddle or
   a flat spot that is not a valley floor; for the network (no slopes recorded), the cost is
   flat to 0.1 % over the last half, above the target: saturated sigmoids (every output 0,
   C = 1), dead ReLUs, a cost stuck at C_const with the accuracy at chance.
6. **oscillates**: it did not reach the target and it bounces: consecutive steps point
   opposite ways (s_k·s_{k+1} < 0) on at least half of the last half's steps, or, from the
   costs alone, the cost rose by more than 1 % on at least a quarter of the last half's
   steps or epochs, or those rises undid at least a quarter of its falls. On a parabola,
   |1 − ηC''| = 1 (η = 1 on (w − 3)²: w = 0, 6, 0, 6, …) bounces forever, and |1 − ηC''|
   just below 1 shrinks too slowly to arrive.
7. **slow**: otherwise. It moves steadily downhill, but the budget of steps (or epochs)
   ended before the target.

Each verdict comes with the numbers that decided it (``reason``) and the advice that
follows from it (``advice``), so that the command line and the web page say the same.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError

VERDICTS = ("slow", "converges", "oscillates", "diverges", "stalls", "unbounded")

REACH = 1e-4
"""Converges: C − C* at most this fraction of |C(θ₀) − C*| (1 % of the distance on a parabola)."""
LEARNED = 0.2
"""The network converges once its cost is at most this fraction of the constant-output cost."""
CHANCE_MARGIN = 0.05
"""…and its accuracy beats chance by at least this much."""
VANISH = 1e-3
"""A slope has vanished at this fraction of the steepest slope on the way (or the tolerance)."""
FLIP_FRACTION = 0.5
"""Oscillates: the steps flipped direction on at least this share of the last half."""
RISE_TOL = 0.01
"""A rise of the cost counts when it is more than this fraction of the cost before it."""
RISE_FRACTION = 0.25
"""Oscillates: the cost rose on at least this share of the last half's steps or epochs…"""
UNDO = 0.25
"""…or its rises there added up to at least this share of its falls."""
FLAT_TOL = 1e-3
"""Stalls (costs only): the last half spans at most this fraction of its mean."""
GROW_TOL = 1e-9
"""Diverges: c_K > c_0 by more than this relative margin (rounding is not growth)."""

RULES = (
    "each run gets one verdict, the first rule that holds (see nudgenet.lessons.verdict):\n"
    "  unbounded   C has no floor this way: the cost ran off to -inf, or fell at every step\n"
    "              of the last half without the slope shrinking, below every valley floor\n"
    "  diverges    a cost became NaN/inf or the run was stopped as exploded\n"
    "  converges   it reached the target: C - C* <= 1e-4 x |C_0 - C*| (C*: the valley\n"
    "              floor; network: C <= C_const/5 and accuracy 5 points above chance), or\n"
    "              the slope went flat at a minimum, overshooting or not\n"
    "  diverges    it ended higher than it began (c_K > c_0)\n"
    "  stalls      the slope vanished before a minimum (a hilltop, a saddle; network: the\n"
    "              cost flat to 0.1% over the last half, e.g. saturated sigmoids at C = 1)\n"
    "  oscillates  not arrived, and the steps flip direction on >= 1/2 of the last half\n"
    "              (or the cost rises by > 1% on >= 1/4 of it): it bounces across the floor\n"
    "  slow        otherwise: going steadily downhill, but the budget ended first\n"
    "network yardsticks: C_const, the cost of giving every image the same outputs (0.9 for\n"
    "the quadratic cost), and chance, the accuracy of always answering the commonest digit"
)


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class History:
    """How one run went: its costs and, for a cost you can write down, where it stepped.

    Parameters
    ----------
    costs : sequence of float
        c_0 … c_K: the cost at the start and after every step (or epoch).
    points, slopes : sequences of K + 1 vectors, optional
        θ_0 … θ_K and ∇C(θ_0) … ∇C(θ_K); empty for the network, whose path is not kept.
    tol : float
        The flat-slope tolerance the run stopped at (0: it ran its whole budget).
    stopped : str, optional
        What blew up, when the run was stopped as diverged.
    accuracy : float, optional
        The network's test accuracy at the end, a fraction (None where it did not finish).
    unit : str
        "step" or "epoch", for the wording.
    """

    costs: Sequence[float]
    points: Sequence[Sequence[float]] = ()
    slopes: Sequence[Sequence[float]] = ()
    tol: float = 0.0
    stopped: str | None = None
    accuracy: float | None = None
    unit: str = "step"


@dataclass(frozen=True)
class Yardsticks:
    """The absolute measures a run is judged against (see the module docstring).

    A written-down cost fills the first group, the network the last two fields.
    """

    floor: float | None = None  # C* of the valley the run ends in
    minimum: tuple[float, ...] | None = None  # θ*, where that floor is
    estimated: bool = False  # C* estimated from the curvature, not found by SymPy
    lowest: float | None = None  # the lowest valley floor known anywhere
    bounded: bool | None = None  # whether C is bounded below (None: not known)
    unbounded_why: str = ""  # e.g. "its leading term w**3 falls to −∞ as w → −∞"
    end: str | None = None  # what θ_K is: "minimum", "maximum", "saddle", "flat" or None
    hills: tuple[float, ...] = ()  # one variable: the hilltops between valleys
    curvature: float | None = None  # C'' (or λ) at the floor, for the advice's 2/C''
    variables: tuple[str, ...] = ("w",)
    constant_cost: float | None = None  # network: C_const
    chance: float | None = None  # network: the accuracy of the commonest digit

    @property
    def symbol(self) -> str:
        """How the advice names the curvature: C'' for one variable, λ for two."""
        return "C''" if len(self.variables) == 1 else "λ"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values (None where not known)."""
        return {
            "floor": _number(self.floor),
            "minimum": None if self.minimum is None else list(self.minimum),
            "floor_estimated": self.estimated,
            "lowest_floor": _number(self.lowest),
            "bounded_below": self.bounded,
            "curvature": _number(self.curvature),
            "constant_cost": _number(self.constant_cost),
            "chance": _number(self.chance),
        }


@dataclass(frozen=True)
class Crossing:
    """A step that jumped over a hilltop between two valleys."""

    step: int  # k: the step from θ_k to θ_{k+1}
    hill: float  # where the hilltop is
    length: float  # |θ_{k+1} − θ_k|


@dataclass(frozen=True)
class Verdict:
    """What a run did: one of :data:`VERDICTS`, why, and what to change."""

    regime: str
    reason: str
    advice: str | None = None  # None for converges: nothing to change
    crossing: Crossing | None = None  # one variable: the first step that jumped over a hill

    @property
    def name(self) -> str:
        """The verdict's name (the same as :attr:`regime`)."""
        return self.regime

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``verdict``, ``reason``, ``advice`` and ``crossing``."""
        crossing = None
        if self.crossing is not None:
            c = self.crossing
            crossing = {"step": c.step, "hill": c.hill, "length": c.length}
        return {"verdict": self.regime, "reason": self.reason, "advice": self.advice,
                "crossing": crossing}  # fmt: skip


# --------------------------------------------------------------------------- the facts


def sign_flips(points: Sequence[Sequence[float]]) -> tuple[int, int]:
    """(flips, pairs): how often consecutive steps of the last half point opposite ways.

    A step s_k = θ_{k+1} − θ_k flips against the one before when s_{k−1}·s_k < 0: the run
    jumped across the valley floor (in one variable, across a point where the slope is 0).

    Examples
    --------
    >>> sign_flips([[0.0], [6.0], [0.0], [6.0], [0.0], [6.0], [0.0]])  # η = 1 on (w − 3)²
    (2, 2)
    >>> sign_flips([[0.0], [0.6], [1.08], [1.46], [1.77], [2.02], [2.21]])  # η = 0.1
    (0, 2)
    """
    p = _matrix(points)
    if len(p) < 3:
        return 0, 0
    s = np.diff(p, axis=0)
    start = min((len(p) - 1) // 2, len(s) - 2)
    with np.errstate(all="ignore"):
        products = np.sum(s[start:-1] * s[start + 1 :], axis=1)
    return int(np.sum(products < 0)), len(products)


def cost_rises(costs: Sequence[float]) -> tuple[int, int, float]:
    """(rises, steps, undone) over the last half: rises by > :data:`RISE_TOL`, and their sum
    as a share of the falls'.

    Examples
    --------
    >>> cost_rises([2.5, 0.9, 0.7, 0.5, 0.6, 0.4, 0.55])  # +0.1, −0.2, +0.15
    (2, 3, 1.25)
    """
    c = np.asarray(costs, dtype=np.float64)
    tail = c[(len(c) - 1) // 2 :]
    d = np.diff(tail)
    rises = int(np.sum(d > RISE_TOL * np.abs(tail[:-1])))
    falls = float(-np.sum(d[d < 0]))
    undone = float(np.sum(d[d > 0])) / falls if falls > 0 else (math.inf if rises else 0.0)
    return rises, len(d), round(undone, 12)


def falls_without_limit(costs: Sequence[float], slopes: Sequence[Sequence[float]] = ()) -> bool:
    """Whether the last half fell at every step with no sign of levelling off.

    With slopes: ‖∇C‖ did not shrink over it (a cost that levels towards a floor has a
    slope that shrinks towards 0). From costs alone: the last drop is at least the first.

    Examples
    --------
    >>> falls_without_limit([0.0, -0.1, -0.2, -0.3, -0.4], [[1.0]] * 5)  # C = w, η = 0.1
    True
    >>> falls_without_limit([9.0, 5.76, 3.69, 2.36, 1.51], [[-6], [-4.8], [-3.84], [-3.07], [-2.5]])
    False
    """
    c = np.asarray(costs, dtype=np.float64)
    if len(c) < 3 or not np.all(np.isfinite(c)):
        return False
    tail = c[(len(c) - 1) // 2 :]
    d = np.diff(tail)
    if not np.all(d < 0):
        return False
    if len(slopes):
        norms = _norms(slopes)
        mid = (len(c) - 1) // 2
        return bool(norms[-1] >= norms[mid] * (1 - GROW_TOL))
    return bool(-d[-1] >= -d[0] * (1 - GROW_TOL))


def hill_crossing(points: Sequence[Sequence[float]], hills: Sequence[float]) -> Crossing | None:
    """The first step that jumped over a hilltop, in one variable; None if none did.

    Examples
    --------
    >>> hill_crossing([[2.0], [-0.1], [-0.9]], [0.169])  # w**4 − 3w² + w, η = 0.1, w₀ = 2
    Crossing(step=0, hill=0.169, length=2.1)
    """
    p = _matrix(points)
    if not len(hills) or p.shape[1] != 1:
        return None
    w = p[:, 0]
    for k in range(len(w) - 1):
        for h in hills:
            if (w[k] - h) * (w[k + 1] - h) < 0:
                return Crossing(k, float(h), round(abs(float(w[k + 1] - w[k])), 12))
    return None


def target_cost(costs: Sequence[float], y: Yardsticks) -> float | None:
    """c*, the cost at which the run has arrived (see the module docstring); None if unknown.

    Examples
    --------
    >>> round(target_cost([9.0, 0.36], Yardsticks(floor=0.0)), 9)  # 10⁻⁴ of the way to 0
    0.0009
    >>> round(target_cost([2.47, 0.09], Yardsticks(constant_cost=0.9)), 6)
    0.18
    """
    if y.constant_cost is not None:
        return LEARNED * y.constant_cost
    if y.floor is None or not math.isfinite(costs[0]):
        return None
    return y.floor + REACH * abs(costs[0] - y.floor)


def constant_output_cost(targets: np.ndarray, cost: Any) -> float:
    """C_const: the cost of giving every example the mean target, the digits' frequencies.

    For the quadratic and both cross-entropies the mean target is the best constant output,
    so a network that has not learned to tell images apart costs at least this.

    Examples
    --------
    >>> from nudgenet.cost import quadratic
    >>> Y = np.eye(10)  # one image of each digit
    >>> round(constant_output_cost(Y, quadratic), 6)  # 1 − Σ 0.1²
    0.9
    """
    Y = np.asarray(targets, dtype=np.float64)
    mean = np.broadcast_to(Y.mean(axis=0), Y.shape)
    return float(cost(np.ascontiguousarray(mean), Y))


def chance_accuracy(labels: np.ndarray) -> float:
    """The accuracy of always answering the commonest label.

    Examples
    --------
    >>> chance_accuracy(np.array([0, 1, 1, 2]))
    0.5
    """
    counts = np.bincount(np.asarray(labels, dtype=np.intp))
    return float(counts.max() / counts.sum())


# --------------------------------------------------------------------------- the verdict


def judge(history: History, yardsticks: Yardsticks | None = None) -> Verdict:
    """Name what a run did: one of :data:`VERDICTS`, by the module's rules, in their order.

    Parameters
    ----------
    history : History
    yardsticks : Yardsticks, optional
        Without them nothing can be far from a floor: the run is judged on its shape alone.

    Returns
    -------
    Verdict

    Examples
    --------
    η = 1 on (w − 3)² from 0: w bounces 0, 6, 0, 6, … at C = 9 forever.

    >>> bounce = History([9.0] * 5, [[0.0], [6.0], [0.0], [6.0], [0.0]], [[-6.0], [6.0]] * 2
    ...                  + [[-6.0]])
    >>> judge(bounce, Yardsticks(floor=0.0, curvature=2.0)).regime
    'oscillates'
    >>> judge(History([9.0, 0.36, 0.0144, 0.0]), Yardsticks(floor=0.0)).regime
    'converges'
    >>> judge(History([2.47, 1.0, 1.0, 1.0, 1.0], unit="epoch", accuracy=0.1),
    ...       Yardsticks(bounded=True, constant_cost=0.9, chance=0.1)).regime
    'stalls'
    """
    y = yardsticks or Yardsticks()
    c = np.asarray(history.costs, dtype=np.float64)
    if c.ndim != 1 or len(c) == 0:
        raise ConfigError(
            f"a cost history must be a non-empty list of numbers, got {history.costs!r}",
            help="pass the cost before the first step and after each step (or epoch)",
        )
    crossing = hill_crossing(history.points, y.hills) if len(history.points) else None
    regime, reason = _rules(history, y, c, crossing)
    return Verdict(regime, reason, advice(regime, y, history.unit), crossing)


def _rules(h: History, y: Yardsticks, c: np.ndarray, crossing: Crossing | None
           ) -> tuple[str, str]:  # fmt: skip
    """The first rule that holds, and the numbers that decided it."""
    for rule in (_unbounded, _blew_up, _converges, _grew, _stalls, _oscillates):
        found = rule(h, y, c, crossing)
        if found is not None:
            return found
    return _slow(h, y, c)


Found = tuple[str, str] | None


def _unbounded(h: History, y: Yardsticks, c: np.ndarray, crossing: Crossing | None) -> Found:
    if y.bounded is True:
        return None
    why = f"C has no minimum ({y.unbounded_why})" if y.unbounded_why else "C has no floor here"
    finite = c[np.isfinite(c)]
    if np.any(c == -np.inf):
        k = int(np.argmax(c == -np.inf))
        return "unbounded", f"{why}: the cost fell to −∞ at {h.unit} {k}"
    upward = np.any(np.isnan(c) | (c == np.inf))  # a blow-up upwards is no missing floor
    falling = len(finite) >= 2 and finite[-1] < finite[0] and finite[-1] < finite[-2]
    if h.stopped and not upward and falling:
        return "unbounded", f"{why}: the cost fell to {finite[-1]:.4g} and kept falling until " \
            f"the run was stopped ({h.stopped})"  # fmt: skip
    below = y.lowest is None or c[-1] < y.lowest
    if below and falls_without_limit(c, h.slopes):
        last = float(c[-2] - c[-1])
        slope = ""
        if len(h.slopes):
            norms = _norms(h.slopes)
            slope = f", and the slope did not shrink ({_size(y)} = {norms[-1]:.3g})"
        return "unbounded", (
            f"{why}: the cost fell at every {h.unit} of the last half, from {c[0]:.4g} to "
            f"{c[-1]:.4g}, by {last:.3g} in the last {h.unit}{slope}: no sign of levelling off"
        )
    return None


def _blew_up(h: History, y: Yardsticks, c: np.ndarray, crossing: Crossing | None) -> Found:
    if h.stopped:
        return "diverges", f"it blew up: {h.stopped}"
    if not np.all(np.isfinite(c)):
        k = int(np.argmax(~np.isfinite(c)))
        return "diverges", f"the cost became {c[k]:g} at {h.unit} {k}"
    return None


def _converges(h: History, y: Yardsticks, c: np.ndarray, crossing: Crossing | None) -> Found:
    target = target_cost(c, y)
    last = float(c[-1])
    K = len(c) - 1
    flat = _flat(h)
    if y.constant_cost is not None:
        assert target is not None
        chance = y.chance if y.chance is not None else 0.0
        learned = h.accuracy is None or h.accuracy >= chance + CHANCE_MARGIN
        if last <= target and learned:
            accuracy = "" if h.accuracy is None else (
                f", test accuracy {100 * h.accuracy:.1f}% (chance {100 * chance:.1f}%)"
            )  # fmt: skip
            return "converges", (
                f"it learned: C fell from {c[0]:.3g} to {last:.3g}, at most C_const/5 = "
                f"{target:.3g} (C_const = {y.constant_cost:.3g}: the same outputs for every "
                f"image){accuracy}"
            )
        return None
    at_minimum = flat and y.end == "minimum"
    if not (target is not None and last <= target) and not at_minimum:
        return None
    if K == 0:
        return "converges", "no step was needed: the slope is flat at the start, at a minimum"
    flips, pairs = sign_flips(h.points)
    how = ""
    if flips:
        how = f"; its steps flipped direction {_times(flips)} in the last {pairs + 1}, but " \
            "each bounce was smaller"  # fmt: skip
    where = _where(y)
    if target is not None and y.floor is not None and last <= target:
        floor = "estimated from the curvature" if y.estimated else "the valley floor"
        text = (
            f"it reached the bottom: C − C* fell from {c[0] - y.floor:.3g} to "
            f"{max(last - y.floor, 0.0):.3g}, under 10⁻⁴ of the way (C* = {y.floor:.6g}, "
            f"{floor}{where}) after {_plural(K, h.unit)}{how}"
        )
    else:
        text = (
            f"its slope went flat at a minimum after {_plural(K, h.unit)}: {_size(y)} = "
            f"{_norms(h.slopes)[-1]:.3g} ≤ {h.tol:g}{how}"
        )
    if crossing is not None:
        text += f"; {_crossing_text(crossing, y)}, so the step size decided which valley"
    return "converges", text


def _grew(h: History, y: Yardsticks, c: np.ndarray, crossing: Crossing | None) -> Found:
    first, last = float(c[0]), float(c[-1])
    if not len(h.slopes) and len(c) >= 4 and _flat_tail(c) is not None:
        return None  # it rose, then stopped moving at all: that is a stall (next rule)
    if last - first > GROW_TOL * max(abs(first), 1e-12):
        farther = ""
        if y.floor:
            farther = f": C − C* grew from {first - y.floor:.4g} to {last - y.floor:.4g}"
        return "diverges", (
            f"it ended higher than it began, C = {first:.4g} → {last:.4g}{farther}; each "
            f"{h.unit} took it farther from the bottom"
        )
    return None


def _stalls(h: History, y: Yardsticks, c: np.ndarray, crossing: Crossing | None) -> Found:
    no_floor = "; C has no minimum at all" if y.bounded is False else ""
    if len(h.slopes) and len(h.points):
        norms = _norms(h.slopes)
        vanished = norms[-1] <= max(h.tol, VANISH * float(np.max(norms)))
        if not vanished or y.end not in ("maximum", "saddle", "flat"):
            return None
        kind = {"maximum": "a hilltop (a maximum)", "saddle": "a saddle (downhill in some "
                "directions, uphill in others)", "flat": "a flat spot that is not a valley "
                "floor"}[y.end]  # fmt: skip
        point = ", ".join(f"{v} = {x:.6g}" for v, x in zip(y.variables, h.points[-1],
                                                            strict=True))  # fmt: skip
        return "stalls", (
            f"the slope vanished ({_size(y)} = {norms[-1]:.3g}) at {point}, {kind}, not at a "
            f"minimum{no_floor}"
        )
    spread = _flat_tail(c)
    if spread is None:
        return None
    target = target_cost(c, y)
    above = ""
    if target is not None:
        name = "C_const/5" if y.constant_cost is not None else "the target"
        above = f", far above {name} = {target:.3g}"
    constant = ""
    if y.constant_cost is not None and c[-1] >= (1 - 0.02) * y.constant_cost:
        constant = (
            f"; no better than the same outputs for every image (C_const = {y.constant_cost:.3g})"
        )
    accuracy = ""
    if h.accuracy is not None:
        chance = f" (chance {100 * y.chance:.1f}%)" if y.chance is not None else ""
        accuracy = f", test accuracy {100 * h.accuracy:.1f}%{chance}"
    rose = ""
    if c[-1] > c[0] * (1 + GROW_TOL):
        rose = f", after rising from {c[0]:.4g} (dead or saturated neurons pass no slope back)"
    return "stalls", (
        f"stuck at C = {c[-1]:.4g}, moving by only {spread:.2g} over the last half{rose}: the "
        f"slope vanished{above}{constant}{accuracy}"
    )


def _flat_tail(c: np.ndarray) -> float | None:
    """How far the last half's costs spread, when they are flat to :data:`FLAT_TOL`; else None."""
    tail = c[(len(c) - 1) // 2 :]
    if not np.all(np.isfinite(tail)):
        return None
    spread = float(np.max(tail) - np.min(tail))
    if spread > FLAT_TOL * max(float(np.mean(np.abs(tail))), 1e-300):
        return None
    return spread


def _oscillates(h: History, y: Yardsticks, c: np.ndarray, crossing: Crossing | None) -> Found:
    flips, pairs = sign_flips(h.points) if len(h.points) else (0, 0)
    rises, n, undone = cost_rises(c)
    late = hill_crossing(h.points[(len(c) - 1) // 2 :], y.hills) if len(h.points) else None
    across = "across the valley floor"
    if late is not None:  # still jumping from valley to valley in the last half
        across = f"between the valleys, over the hill at {y.variables[0]} ≈ {late.hill:.4g},"
    if pairs and flips >= FLIP_FRACTION * pairs:
        return "oscillates", (
            f"its steps flipped direction {_times(flips)} in the last {pairs + 1}: it bounces "
            f"{across} {_shrink(h, y, c)}"
        )
    if n and rises and (rises >= RISE_FRACTION * n or undone >= UNDO):
        undid = 100 * min(undone, 1.0)
        return "oscillates", (
            f"the cost rose on {rises} of the last {n} {h.unit}s, undoing {undid:.0f}% of its "
            f"falls there: it bounces instead of settling {_shrink(h, y, c)}"
        )
    return None


def _slow(h: History, y: Yardsticks, c: np.ndarray) -> tuple[str, str]:
    K = len(c) - 1
    target = target_cost(c, y)
    last = float(c[-1])
    if K == 0:
        return "slow", "no step was taken: the budget ended before the first"
    if y.constant_cost is not None and target is not None:
        accuracy = "" if h.accuracy is None else f", test accuracy {100 * h.accuracy:.1f}%"
        return "slow", (
            f"C fell from {c[0]:.3g} to {last:.3g} in {_plural(K, h.unit)}, steadily, but is "
            f"still above C_const/5 = {target:.3g}{accuracy}: the budget ended first"
        )
    if y.floor is not None:
        left = (last - y.floor) / abs(c[0] - y.floor) if c[0] != y.floor else 0.0
        floor = "estimated from the curvature" if y.estimated else "the valley floor"
        return "slow", (
            f"after {_plural(K, h.unit)} C − C* is still {last - y.floor:.3g}, {100 * left:.2g}% "
            f"of its {c[0] - y.floor:.3g} at the start (C* = {y.floor:.6g}, {floor}{_where(y)}): "
            f"it moves steadily downhill, but the budget ended first"
        )
    norms = _norms(h.slopes) if len(h.slopes) else None
    slope = f", the slope still {_size(y)} = {norms[-1]:.3g}" if norms is not None else ""
    return "slow", (
        f"C fell from {c[0]:.4g} to {last:.4g} in {_plural(K, h.unit)}{slope}: it moves "
        f"steadily downhill, but the budget ended before it arrived"
    )


# --------------------------------------------------------------------------- the advice


def advice(regime: str, yardsticks: Yardsticks | None = None, unit: str = "step") -> str | None:
    """What to change, as follows from the verdict (None for converges: nothing).

    Examples
    --------
    >>> advice("diverges", Yardsticks(curvature=2.0))
    "use a smaller η (below 2/C'' = 1, where each step shrinks the distance to the bottom)"
    >>> advice("unbounded", Yardsticks(bounded=False))
    'this cost has no minimum: descent can only go down forever'
    """
    y = yardsticks or Yardsticks()
    network = y.constant_cost is not None
    lam = y.curvature if y.curvature is not None and y.curvature > 0 else None
    s = y.symbol
    if regime == "converges":
        return None
    if regime == "slow":
        more = "train more epochs" if unit == "epoch" else "take more steps"
        known = bool(lam) and y.minimum is not None and not y.estimated  # the floor's own λ
        stable = f" (below 2/{s} = {2 / lam:.4g} it stays stable)" if known else ""
        return f"{more} or use a larger η{stable}"
    if regime == "oscillates":
        if lam:
            return (
                f"use a smaller η: below 2/{s} = {2 / lam:.4g} the bounces shrink, and below "
                f"1/{s} = {1 / lam:.4g} the steps stop jumping across the bottom"
            )
        extra = " or a decaying schedule" if network else ""
        return f"use a smaller η{extra}: the steps jump across the valley floor instead of settling"
    if regime == "diverges":
        if lam:
            return (
                f"use a smaller η (below 2/{s} = {2 / lam:.4g}, where each step shrinks the "
                "distance to the bottom)"
            )
        extra = " or a decaying schedule" if network else ""
        return f"use a smaller η{extra}: each step overshoots farther than the last"
    if regime == "unbounded":
        if y.bounded is False:
            return "this cost has no minimum: descent can only go down forever"
        return (
            "this cost seems to have no minimum this way: descent can only go down forever; "
            "write a cost with a valley floor"
        )
    if regime == "stalls":
        if network:
            return (
                "the slope vanished before the minimum: use a smaller η, so the neurons do not "
                "saturate (or another initialisation or activation)"
            )
        nowhere = " (but this cost has no minimum: from elsewhere it goes down forever)"
        return (
            "the slope vanished before the minimum: descent cannot leave a flat point by "
            f"itself, so start elsewhere{nowhere if y.bounded is False else ''}"
        )
    raise ConfigError(
        f"unknown verdict {regime!r}; the verdicts are {', '.join(VERDICTS)}",
        help=f"name one of: {', '.join(VERDICTS)}",
    )


# --------------------------------------------------------------------------- helpers


def judge_training(epochs: Sequence[Mapping[str, Any]], yardsticks: Yardsticks,
                   stopped: str | None = None) -> Verdict:  # fmt: skip
    """The verdict of a network's training from its epoch records (epoch 0: untrained).

    The history is the training cost after every epoch, ending at +∞ when ``stopped`` says
    the run blew up; the accuracy is the last epoch's test accuracy (else its training one).
    """
    costs = [float(e["train_cost"]) for e in epochs]
    if stopped is not None:
        costs.append(math.inf)
    last = epochs[-1] if epochs else {}
    accuracy = last.get("test_accuracy")
    if accuracy is None:
        accuracy = last.get("train_accuracy")
    return judge(
        History(costs, stopped=stopped, accuracy=None if stopped else accuracy, unit="epoch"),
        yardsticks,
    )


def network_yardsticks(targets: np.ndarray, cost: Any, labels: np.ndarray) -> Yardsticks:
    """The network's yardsticks: C_const on the training targets, chance on ``labels``."""
    return Yardsticks(
        floor=None,
        bounded=True,
        constant_cost=constant_output_cost(targets, cost),
        chance=chance_accuracy(labels),
    )


def _matrix(rows: Sequence[Sequence[float]]) -> np.ndarray:
    a = np.asarray(rows, dtype=np.float64)
    return a.reshape(len(a), -1) if a.size else np.zeros((len(a), 1))


def _norms(slopes: Sequence[Sequence[float]]) -> np.ndarray:
    g = _matrix(slopes)
    with np.errstate(all="ignore"):
        return np.sqrt(np.sum(g * g, axis=1))


def _flat(h: History) -> bool:
    return bool(len(h.slopes)) and h.tol > 0 and _norms(h.slopes)[-1] <= h.tol


def _size(y: Yardsticks) -> str:
    return "|dC/dw|".replace("w", y.variables[0]) if len(y.variables) == 1 else "‖∇C‖"


def _where(y: Yardsticks) -> str:
    if y.minimum is None:
        return ""
    point = ", ".join(f"{v} = {x:.5g}" for v, x in zip(y.variables, y.minimum, strict=True))
    return f" at {point}"


def _shrink(h: History, y: Yardsticks, c: np.ndarray) -> str:
    """How the bounce's height above the floor changed over the last half, per step."""
    if y.floor is None:
        return f"(C = {c[-1]:.4g} at the end)"
    mid = (len(c) - 1) // 2
    before, after = float(c[mid] - y.floor), float(c[-1] - y.floor)
    n = len(c) - 1 - mid
    if before <= 0 or after <= 0 or n == 0:
        return f"(C − C* = {after:.3g} at the end)"
    rate = (after / before) ** (1 / (2 * n))  # the distance's factor per step on a parabola
    if abs(rate - 1) < 1e-9:
        return f"and never comes closer: C − C* stays {after:.4g}"
    return (
        f"and comes closer too slowly: C − C* went from {before:.3g} to {after:.3g} over the "
        f"last {_plural(n, h.unit)}, the distance shrinking by only ×{rate:.4g} per {h.unit}"
    )


def _crossing_text(crossing: Crossing, y: Yardsticks) -> str:
    return (
        f"step {crossing.step}, {crossing.length:.3g} long, jumped over the hill at "
        f"{y.variables[0]} ≈ {crossing.hill:.4g}"
    )


def crossing_text(crossing: Crossing, variable: str = "w") -> str:
    """The sentence for a step that jumped over a hill: "step 0, 2.1 long, jumped over …"."""
    return _crossing_text(crossing, Yardsticks(variables=(variable,)))


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _number(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)
