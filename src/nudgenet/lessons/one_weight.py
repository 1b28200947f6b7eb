"""The note's Example 2 on the real network: one weight, old → new.

The note's update rule for one parameter reads: new value = old value − η × ∂C/∂w. Its
Example 2 is conceptual ("suppose one weight has derivative …"); here it is one real weight
of the 784-16-16-10 network, with its real ∂C/∂w from backpropagation. The weight chosen by
default is the one whose derivative is largest in size, |∂C/∂w|: the weight the cost is most
sensitive to, so the one whose step changes the cost the most. Only that weight moves, all
13,002 − 1 others stay, so the change of the cost is this one weight's doing:

    w_new = w_old − η·∂C/∂w,    ΔC ≈ ∂C/∂w · (w_new − w_old) = −η·(∂C/∂w)²  (first order)

The sign rule follows: a positive derivative makes w smaller, a negative one larger, and
either way C falls (for a small enough η).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._types import Matrix, Vector
from ..backprop import cost_and_gradient, evaluate_cost
from ..errors import ConfigError
from ..network import Network
from .nudges import component_description, component_name

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CURVE_POINTS = 61
"""Values of the one weight at which the cost curve is drawn (one forward pass each)."""


@dataclass(frozen=True)
class WeightStep:
    """One weight's step w ← w − η·∂C/∂w, with the cost before and after."""

    index: int  # position in θ
    name: str  # e.g. "W3[4, 11]"
    description: str  # what it connects
    chosen: str  # why this weight, in words
    learning_rate: float  # η
    old: float  # w_old
    slope: float  # ∂C/∂w at θ
    new: float  # w_old − η·∂C/∂w
    cost_before: float  # C(θ)
    cost_after: float  # C(θ with only this weight moved)
    predicted_change: float  # −η·(∂C/∂w)²
    curve: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())  # (w values, C at each)

    @property
    def change(self) -> float:
        """C after − C before, the real change."""
        return self.cost_after - self.cost_before

    @property
    def direction(self) -> str:
        """Which way the sign rule moved it."""
        if self.slope > 0:
            return "smaller (∂C/∂w > 0: raising w would raise C)"
        if self.slope < 0:
            return "larger (∂C/∂w < 0: raising w lowers C)"
        return "nowhere (∂C/∂w = 0)"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "index": self.index,
            "weight": self.name,
            "description": self.description,
            "chosen": self.chosen,
            "learning_rate": self.learning_rate,
            "old": self.old,
            "slope": self.slope,
            "new": self.new,
            "moved": self.direction.split(" ")[0],
            "cost_before": self.cost_before,
            "cost_after": self.cost_after,
            "change": self.change,
            "predicted_change": self.predicted_change,
            "curve": {"w": list(self.curve[0]), "cost": list(self.curve[1])},
        }


def steepest_weight(network: Network, gradient: Vector) -> int:
    """The index of the weight (not bias) with the largest |∂C/∂w|.

    Examples
    --------
    >>> steepest_weight(Network((1, 2)), np.array([0.1, -0.3, 5.0, 0.0]))  # θ = [W, b]
    1
    """
    mask = np.zeros(network.layout.n_params, dtype=bool)
    for (W, _), start in zip(network.layout.shapes, network.layout.offsets[:-1], strict=True):
        mask[start : start + W[0] * W[1]] = True
    return int(np.argmax(np.where(mask, np.abs(gradient), -1.0)))


def step_one_weight(
    network: Network,
    theta: Vector,
    X: Matrix,
    Y: Matrix,
    learning_rate: float = 1.0,
    *,
    index: int | None = None,
) -> WeightStep:
    """Move one weight by −η·∂C/∂w and measure the cost before and after.

    Parameters
    ----------
    network, theta : the network and its θ (float64 is used)
    X, Y : the examples the cost averages over
    learning_rate : η
    index : int, optional
        Which entry of θ; default :func:`steepest_weight`.

    Examples
    --------
    >>> net = Network((1, 1))
    >>> s = step_one_weight(net, np.zeros(2), np.array([[1.0]]), np.array([[1.0]]), 0.5)
    >>> s.name, s.old, s.slope, s.new  # C = (σ(w) − 1)², dC/dw = 2(½ − 1)·¼ = −0.25
    ('W1[0, 0]', 0.0, -0.25, 0.125)
    >>> s.cost_after < s.cost_before
    True
    """
    theta = np.asarray(theta, dtype=np.float64)
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    cost, gradient = cost_and_gradient(network, theta, X, Y)
    if index is None:
        index = steepest_weight(network, gradient)
        chosen = "the weight with the largest |∂C/∂w|: the cost is most sensitive to it"
    else:
        if not (isinstance(index, int) and 0 <= index < theta.size):
            raise ConfigError(
                f"the parameter index must be in 0..{theta.size - 1}, got {index!r}",
                help="θ's entries are numbered layer by layer: W1, b1, W2, b2, W3, b3",
            )
        chosen = "the parameter asked for"
    old, slope = float(theta[index]), float(gradient[index])
    new = old - learning_rate * slope  # the note's rule, for one parameter
    moved = theta.copy()
    moved[index] = new
    # The cost as a function of this weight alone: the note's "curve for a single weight".
    reach = max(3.0 * abs(new - old), 0.5)
    ws = np.linspace(old - reach, old + reach, CURVE_POINTS)
    along = theta.copy()
    costs = []
    for value in ws:
        along[index] = value
        costs.append(evaluate_cost(network, along, X, Y))
    return WeightStep(
        index=index,
        name=component_name(network.layout, index),
        description=component_description(network.layout, index),
        chosen=chosen,
        learning_rate=float(learning_rate),
        old=old,
        slope=slope,
        new=new,
        cost_before=float(cost),
        cost_after=evaluate_cost(network, moved, X, Y),
        predicted_change=-learning_rate * slope**2,
        curve=(tuple(ws.tolist()), tuple(costs)),
    )


def draw_one_weight(step: WeightStep) -> Figure:
    """The cost as a function of the one weight, its tangent at w_old, and the step to w_new."""
    from ..plots import figure

    fig, ax = figure(size=(7.4, 4.6))
    ws, costs = (np.array(v) for v in step.curve)
    ax.plot(ws, costs, color="black", lw=2, label=f"C as a function of {step.name} alone")
    near = np.linspace(min(step.old, step.new), max(step.old, step.new), 2)
    span = abs(step.new - step.old) or 0.1
    near = np.array([near[0] - 0.5 * span, near[1] + 0.5 * span])
    ax.plot(near, step.cost_before + step.slope * (near - step.old), "--", color="tab:orange",
            label=f"tangent: slope ∂C/∂w = {step.slope:+.4g}")  # fmt: skip
    ax.plot([step.old], [step.cost_before], "o", color="tab:blue", ms=8,
            label=f"old w = {step.old:+.4f}: C = {step.cost_before:.5f}")  # fmt: skip
    ax.plot([step.new], [step.cost_after], "o", color="tab:green", ms=8,
            label=f"new w = old − {step.learning_rate:g}·slope = {step.new:+.4f}: "
            f"C = {step.cost_after:.5f}")  # fmt: skip
    ax.annotate("", xy=(step.new, step.cost_after), xytext=(step.old, step.cost_before),
                arrowprops={"arrowstyle": "->", "color": "tab:green", "lw": 1.5})  # fmt: skip
    ax.set_xlabel(f"{step.name}: {step.description}")
    ax.set_ylabel("cost C")
    ax.set_title("One real weight, old → new (the note's Example 2)", fontsize=11)
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return fig
