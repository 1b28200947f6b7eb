""" "Draw me a 5": gradient descent on the 784 pixels, with θ held fixed.

Training moves θ so that the outputs match the labels; here the labels stay, θ stays, and
the *image* moves. The cost is the seed's, for one image x and the target "output DIGIT
should be 1, the others 0":

    C(x) = Σ_j (a_j(x) − y_j)²  [+ λ Σ_neighbours (x_p − x_q)²]  [+ μ Σ_p out(x_p)²]

where out(x_p) is how far pixel p lies outside [0, 1]. The pixels descend through the same
:func:`~nudgenet.descent.descend` that trains the network, x ← x − η ∂C/∂x, with ∂C/∂x by
backpropagation carried one layer further (:mod:`nudgenet.lessons.pixels`). λ (smoothness)
and μ (range) are off by default: with both off the network's "ideal" digit is whatever
pattern pushes its output up, and the lesson is how little it looks like a digit.

How much a dream resembles real digits is read against the mean image of each class: the
Pearson correlation over the 784 pixels of the dream with each of the ten means. A real
test 5 correlates with the mean 5 at about 0.6; a dream that does not stand out from the
other means has not drawn a 5, whatever the network says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .. import plots
from .._types import Matrix, Vector
from ..cost import one_hot
from ..descent import descend
from ..errors import ConfigError, DivergenceError
from ..network import Network, feedforward
from .pixels import cost_and_pixel_gradient

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "MAX_STEPS",
    "Dream",
    "class_means",
    "dream",
    "dream_figure",
    "resemblance",
]

SIDE = 28
MAX_STEPS = 100_000
"""Most pixel updates one dream may take (each is one forward and backward pass)."""
STARTS = ("noise", "blank", "test-image")
LEARNING_RATE = 0.3
"""η of the pixel steps: at 1 or more a noise start can stall where another output is
saturated (σ′ ≈ 0 there), as for seed 1 of the seed network; 0.3 reaches every seed's 5."""
STEPS = 2000


def class_means(inputs: Matrix, labels: NDArray[Any]) -> Matrix:
    """The mean image of each digit, shape (10, 784), from inputs with pixels in [0, 1]."""
    labels = np.asarray(labels)
    return np.stack([inputs[labels == d].mean(axis=0) for d in range(10)])


def resemblance(image: Vector, means: Matrix, target: int) -> dict[str, Any]:
    """How much ``image`` looks like the mean ``target`` against the other means.

    Returns the ten correlations, the one with the target's mean, the largest with another
    digit's mean, and the digit whose mean it correlates with most.

    >>> means = np.eye(10, 784)
    >>> r = resemblance(np.eye(1, 784, 5)[0], means, 5)
    >>> r["closest_digit"], round(r["target_correlation"], 3)
    (5, 1.0)
    """
    x = np.asarray(image, dtype=np.float64).ravel()
    corr = [float(np.corrcoef(x, m)[0, 1]) if x.std() > 0 else 0.0 for m in means]
    others = [c for d, c in enumerate(corr) if d != target]
    return {
        "correlations": corr,
        "target_correlation": corr[target],
        "best_other_correlation": max(others),
        "closest_digit": int(np.argmax(corr)),
    }


@dataclass(frozen=True)
class Dream:
    """One dream: where it started, the image it reached, and what the network says of it."""

    target: int
    start: Vector  # (784,)
    image: Vector  # (784,), the pixels after the last step
    costs: list[float]  # C(x_k) before each step k
    probabilities: Vector  # (10,) output shares of the final image (network.probabilities)
    activations: Vector  # (10,) raw outputs a_j of the final image
    learning_rate: float
    smooth: float
    range_weight: float

    @property
    def final_probability(self) -> float:
        """The target's share of the outputs for the final image."""
        return float(self.probabilities[self.target])

    @property
    def steps(self) -> int:
        """Pixel updates taken."""
        return len(self.costs)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready; ``image`` as 28 rows of 28 values."""
        return {
            "target": self.target,
            "final_probability": self.final_probability,
            "final_activation": float(self.activations[self.target]),
            "probabilities": self.probabilities.tolist(),
            "guess": int(np.argmax(self.activations)),
            "steps": self.steps,
            "learning_rate": self.learning_rate,
            "smooth": self.smooth,
            "range": self.range_weight,
            "first_cost": self.costs[0] if self.costs else None,
            "final_cost": self.costs[-1] if self.costs else None,
            "pixel_range": [float(self.image.min()), float(self.image.max())],
            "image": self.image.reshape(SIDE, SIDE).tolist(),
        }


def dream(
    network: Network,
    theta: Vector,
    target: int,
    start: Vector,
    *,
    learning_rate: float = LEARNING_RATE,
    steps: int = STEPS,
    smooth: float = 0.0,
    range_weight: float = 0.0,
) -> Dream:
    """Descend on the pixels of ``start`` until the network reads ``target``; θ is not changed.

    Parameters
    ----------
    network : Network, with 784 inputs and 10 outputs
    theta : ndarray of shape (n_params,), held fixed
    target : int, the digit to dream, 0–9
    start : ndarray of shape (784,), pixels in [0, 1] (noise, a blank page, a real digit)
    learning_rate : float, η of every pixel step (default :data:`LEARNING_RATE`)
    steps : int, 1..MAX_STEPS (default :data:`STEPS`)
    smooth : float ≥ 0, λ of the smoothness term
    range_weight : float ≥ 0, μ of the range term

    Examples
    --------
    >>> from nudgenet.init import init_params
    >>> net = Network()
    >>> theta = init_params(net.layout, "xavier", rng=np.random.default_rng(0))
    >>> d = dream(net, theta, 5, np.zeros(784), steps=3)
    >>> d.steps, len(d.as_dict()["image"])
    (3, 28)
    """
    _check(network, target, start, learning_rate, steps, smooth, range_weight)
    theta64 = theta.astype(np.float64)
    Y = one_hot(np.array([target]), network.sizes[-1], np.float64)  # (1, 10)

    def objective(x: Vector) -> tuple[float, Vector]:
        C, g = cost_and_pixel_gradient(network, theta64, x[None], Y)
        g = g[0]
        if smooth:
            s, gs = _roughness(x)
            C, g = C + smooth * s, g + smooth * gs
        if range_weight:
            r, gr = _outside(x)
            C, g = C + range_weight * r, g + range_weight * gr
        return C, g

    x = np.array(start, dtype=np.float64).ravel()
    try:
        # A step too large for the terms overflows: the descent's NaN/inf check names it.
        with np.errstate(over="ignore", invalid="ignore"):
            steps_taken = descend(objective, x, learning_rate, steps=steps, divergence_factor=None)
            costs = [s.cost for s in steps_taken]
    except DivergenceError as exc:
        raise DivergenceError(
            exc.message,
            help="use a smaller learning rate, or smaller smooth and range terms: the pixel "
            "steps stay stable while η·(16λ + 2μ) < 2",
        ) from None
    a = feedforward(network, theta, x[None].astype(theta.dtype))[-1][0].astype(np.float64)
    shares = a / max(float(a.sum()), np.finfo(np.float64).tiny)
    return Dream(
        target,
        np.array(start, dtype=np.float64).ravel(),
        x,
        costs,
        shares,
        a,
        learning_rate,
        smooth,
        range_weight,
    )


def _roughness(x: Vector) -> tuple[float, Vector]:
    """Σ (x_p − x_q)² over horizontal and vertical neighbours p, q, and its gradient."""
    img = x.reshape(SIDE, SIDE)
    dx, dy = np.diff(img, axis=1), np.diff(img, axis=0)  # (28, 27), (27, 28)
    g = np.zeros_like(img)
    g[:, 1:] += 2 * dx
    g[:, :-1] -= 2 * dx
    g[1:, :] += 2 * dy
    g[:-1, :] -= 2 * dy
    return float((dx**2).sum() + (dy**2).sum()), g.ravel()


def _outside(x: Vector) -> tuple[float, Vector]:
    """Σ_p out(x_p)², out = how far x_p is below 0 or above 1, and its gradient."""
    out = np.minimum(x, 0.0) + np.maximum(x - 1.0, 0.0)
    return float((out**2).sum()), 2 * out


def _check(
    network: Network,
    target: int,
    start: Vector,
    learning_rate: float,
    steps: int,
    smooth: float,
    range_weight: float,
) -> None:
    if network.sizes[0] != SIDE * SIDE or network.sizes[-1] != 10:
        raise ConfigError(
            f"dreaming needs a network with 784 inputs and 10 outputs, got "
            f"{'-'.join(map(str, network.sizes))}",
            help="dream with a digit network, e.g. one saved by `nudgenet train`",
        )
    if not (isinstance(target, int | np.integer) and 0 <= target <= 9):
        raise ConfigError(
            f"the digit to dream must be 0 to 9, got {target!r}",
            help="e.g. nudgenet dream model.npz 5",
        )
    if np.shape(start) not in ((SIDE * SIDE,), (SIDE, SIDE)) or not np.all(np.isfinite(start)):
        raise ConfigError(
            f"the start image must be 784 finite pixels, got shape {np.shape(start)}",
            help="start from noise, a blank page or a test image (pixels in [0, 1])",
        )
    if not (isinstance(steps, int | np.integer) and 1 <= steps <= MAX_STEPS):
        raise ConfigError(
            f"steps must be a whole number from 1 to {MAX_STEPS:,}, got {steps!r}",
            help="a few hundred steps are enough to fool the network",
        )
    for name, value in (
        ("learning rate", learning_rate),
        ("smooth", smooth),
        ("range", range_weight),
    ):
        if not (np.isfinite(value) and 0 <= value <= 1e4) or (name[0] == "l" and value == 0):
            raise ConfigError(
                f"the {name} must be a finite number in {'(0' if name[0] == 'l' else '[0'}, "
                f"1e4], got {value!r}",
                help="η = 1 and λ = μ = 0 to 1 are the lesson's values",
            )


def dream_figure(
    dreams: list[Dream],
    means: Matrix,
    title: str = "",
    *,
    labels: list[str] | None = None,
    real: float | None = None,
) -> Figure:
    """Each dream's start and final image beside the mean of its target digit, with the
    network's share for the target and the image's correlation with each digit's mean;
    ``labels`` name the rows, ``real`` marks a real digit's correlation with its mean."""
    rows = len(dreams)
    fig, axes = plots.figure(
        rows, 4, size=(10.0, 2.5 * rows + 0.8), squeeze=False, width_ratios=(1, 1, 1, 1.8)
    )
    for i, (row, d) in enumerate(zip(axes, dreams, strict=True)):
        r = resemblance(d.image, means, d.target)
        r0 = resemblance(d.start, means, d.target)
        p0 = "" if not d.costs else f"C = {d.costs[0]:.3f}"
        for ax, img, text in (
            (
                row[0],
                d.start,
                f"start  {p0}\ncorr. with mean {d.target}: {r0['target_correlation']:.2f}",
            ),
            (
                row[1],
                d.image,
                f"after {d.steps} steps: {100 * d.final_probability:.0f}% '{d.target}'"
                f"\ncorr. with mean {d.target}: {r['target_correlation']:.2f}",
            ),
            (row[2], means[d.target], f"mean of the real {d.target}s"),
        ):
            lo, hi = (
                (0.0, 1.0) if img is means[d.target] else (min(0.0, img.min()), max(1.0, img.max()))
            )
            ax.imshow(img.reshape(SIDE, SIDE), cmap="gray_r", vmin=lo, vmax=hi)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(text, fontsize="x-small")
        digits = np.arange(10)
        row[3].bar(digits - 0.2, r0["correlations"], width=0.4, color="0.7", label="start")
        row[3].bar(
            digits + 0.2,
            r["correlations"],
            width=0.4,
            color=["C3" if k == d.target else "C0" for k in digits],
            label="dream",
        )
        row[3].set_xticks(digits)
        row[3].axhline(0, color="0.3", linewidth=0.6)
        row[3].set_ylim(-0.3, 1.0)
        if real is not None:
            row[3].axhline(
                real,
                color="C3",
                linestyle="--",
                linewidth=1,
                label=f"a real {d.target}, on average",
            )
        if labels:
            row[0].set_ylabel(labels[i], fontsize="small")
        row[3].set_ylabel("correlation with\neach digit's mean", fontsize="small")
        row[3].legend(fontsize="x-small", loc="upper left", ncols=3)
    fig.suptitle(
        title or "The network's 'ideal' digit: descent on the pixels, θ fixed", fontsize="medium"
    )
    return fig
