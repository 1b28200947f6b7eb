"""Confident on noise? What the network answers to images that are no digit at all.

The video says the trained network answers random noise with confidence. Three kinds of
non-digit are drawn, each as 28×28 pixels in [0, 1] like :func:`~nudgenet.data.to_inputs`
makes of real digits:

=============  ===========================================================================
``noise``      every pixel independently uniform in [0, 1]
``blank``      one grey level for the whole image, uniform in [0, 1] (0 is an empty page)
``scribble``   1 to 3 random pen strokes, each a wandering line 2 pixels wide
=============  ===========================================================================

For each image the *confidence* is the largest output. Two readings are kept: the largest
share of the outputs, max_j a_j / Σ_k a_k (what ``network.probabilities`` gives and the web
page shows as "probability"), and the largest raw activation max_j a_j (a sigmoid in (0, 1),
the seed's output, which need not sum to 1 over the ten). The same readings of the test
digits are the yardstick.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .. import plots
from .._types import Matrix
from ..errors import ConfigError
from ..network import feedforward
from .seeds import SeedNetwork, mean_std

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "CONFIDENT",
    "KINDS",
    "MAX_IMAGES",
    "Confidence",
    "NoiseResult",
    "confidence",
    "confidence_on_noise",
    "noise_figure",
    "non_digits",
]

KINDS = ("noise", "blank", "scribble")
MAX_IMAGES = 100_000
"""Most images of one kind per network (784 float64 each: 630 MB at most)."""
CONFIDENT = 0.5
"""A share of the outputs at or above this counts as a confident answer: more than all the
other nine outputs together."""
SIDE = 28


def non_digits(kind: str, n: int, rng: np.random.Generator) -> Matrix:
    """``n`` images of ``kind`` (see the module's table), shape (n, 784), pixels in [0, 1].

    Examples
    --------
    >>> X = non_digits("blank", 3, np.random.default_rng(0))
    >>> X.shape, bool(np.all(X == X[:, :1]))
    ((3, 784), True)
    """
    if kind not in KINDS:
        raise ConfigError(
            f"unknown kind of image {kind!r}; choose one of {', '.join(KINDS)}",
            help="noise: random pixels; blank: one grey level; scribble: random strokes",
        )
    if not (isinstance(n, int | np.integer) and 1 <= n <= MAX_IMAGES):
        raise ConfigError(
            f"the number of images must be a whole number from 1 to {MAX_IMAGES:,}, got {n!r}",
            help="1,000 images give the distribution to about 3%",
        )
    if kind == "noise":
        return rng.random((n, SIDE * SIDE))
    if kind == "blank":
        return np.repeat(rng.random((n, 1)), SIDE * SIDE, axis=1)
    return np.stack([_scribble(rng) for _ in range(n)])


def _scribble(rng: np.random.Generator) -> NDArray[np.float64]:
    """One image of 1–3 strokes: each a walk of 4–10 segments, 2–5 pixels long, that turns
    by up to 60° at each joint, drawn as a line about 2 pixels wide (pixel = ink in [0, 1])."""
    points = []
    for _ in range(rng.integers(1, 4)):
        here = rng.uniform(6, 22, size=2)
        heading = rng.uniform(0, 2 * np.pi)
        for _ in range(rng.integers(4, 11)):
            heading += rng.uniform(-np.pi / 3, np.pi / 3)
            step = rng.uniform(2, 5) * np.array([np.cos(heading), np.sin(heading)])
            there = np.clip(here + step, 2, SIDE - 3)
            t = np.linspace(0, 1, 9)[:, None]
            points.append(here + t * (there - here))  # (9, 2) along the segment
            here = there
    pen = np.concatenate(points)  # (P, 2) in (row, column)
    # Ink falls off with the distance d to the pen as 1.5 − d: only pixels within 2 of a
    # point of the pen are touched, so each point inks its 5×5 neighbourhood.
    near = np.floor(pen)[:, None, :] + _NEIGHBOURS[None]  # (P, 25, 2)
    d = np.sqrt(((near - pen[:, None, :]) ** 2).sum(axis=2))  # (P, 25)
    inside = np.all((near >= 0) & (near < SIDE), axis=2)
    r, c = near[inside].astype(np.intp).T
    image = np.zeros(SIDE * SIDE)
    np.maximum.at(image, r * SIDE + c, np.clip(1.5 - d[inside], 0.0, 1.0))
    return image


_NEIGHBOURS = np.stack(np.mgrid[-2:3, -2:3], axis=-1).reshape(25, 2).astype(float)


@dataclass(frozen=True)
class Confidence:
    """The confidence of one network on a set of images: one value per image."""

    max_probability: NDArray[np.float64]  # (n,): max_j a_j / Σ_k a_k
    max_activation: NDArray[np.float64]  # (n,): max_j a_j
    guesses: NDArray[np.intp]  # (n,): argmax_j a_j

    def summary(self) -> dict[str, Any]:
        """The distribution in a few numbers: mean, std and quantiles, confident share, guesses."""
        p = self.max_probability
        return {
            "mean_max_probability": float(p.mean()),
            "std_max_probability": float(p.std()),
            "quantiles_max_probability": dict(
                zip(("q10", "q50", "q90"), np.quantile(p, [0.1, 0.5, 0.9]).tolist(), strict=True)
            ),
            "mean_max_activation": float(self.max_activation.mean()),
            "share_confident": float(np.mean(p >= CONFIDENT)),
            "guess_counts": np.bincount(self.guesses, minlength=10).tolist(),
        }


def confidence(network: Any, theta: Any, X: Matrix) -> Confidence:
    """Each image's largest output share and largest raw output, and its guess."""
    a = feedforward(network, theta, X.astype(theta.dtype, copy=False))[-1].astype(np.float64)
    share = a / np.maximum(a.sum(axis=1, keepdims=True), np.finfo(np.float64).tiny)
    return Confidence(share.max(axis=1), a.max(axis=1), np.argmax(a, axis=1))


@dataclass
class NoiseResult:
    """The confidence of every network on every kind of image, and on the test digits."""

    seeds: list[int]
    images: int  # per kind and network
    readings: dict[str, list[Confidence]] = field(default_factory=dict)  # kind -> per seed
    examples: dict[str, Matrix] = field(default_factory=dict)  # kind -> a few images

    def over_seeds(self, kind: str, key: str = "mean_max_probability") -> dict[str, Any]:
        """``{mean, std, n}`` over the networks of each network's ``key`` on ``kind``."""
        return mean_std([r.summary()[key] for r in self.readings[kind]])

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: per kind, the mean ± std over seeds and each seed's distribution."""
        kinds = {
            kind: {
                "max_probability": self.over_seeds(kind),
                "max_activation": self.over_seeds(kind, "mean_max_activation"),
                "share_confident": self.over_seeds(kind, "share_confident"),
                "per_seed": [r.summary() for r in self.readings[kind]],
            }
            for kind in self.readings
        }
        return {
            "seeds": self.seeds,
            "images": self.images,
            "confident_at": CONFIDENT,
            "aggregation": "the mean over each network's images, then the mean and sample "
            "standard deviation over the seeds",
            "noise_max_probability": kinds["noise"]["max_probability"],
            "test_max_probability": kinds["test"]["max_probability"],
            "kinds": kinds,
        }


def confidence_on_noise(
    networks: Sequence[SeedNetwork],
    test_inputs: Matrix,
    *,
    images: int = 1000,
    kinds: Sequence[str] = KINDS,
    examples: int = 6,
) -> NoiseResult:
    """How confident each trained network is on ``images`` non-digits of each kind.

    Network k's images are drawn from ``np.random.default_rng(seed_k)``, so the same seeds
    give the same numbers; the test inputs (pixels in [0, 1]) are the yardstick.
    """
    result = NoiseResult([n.seed for n in networks], images)
    for kind in kinds:
        result.readings[kind] = []
    result.readings["test"] = []
    for net in networks:
        rng = np.random.default_rng(net.seed)
        model = net.trained
        for kind in kinds:
            X = non_digits(kind, images, rng)
            result.readings[kind].append(confidence(model.network, model.theta, X))
            result.examples.setdefault(kind, X[:examples])
        result.readings["test"].append(confidence(model.network, model.theta, test_inputs))
    result.examples["test"] = test_inputs[:examples]
    return result


_COLOURS = {"test": "C0", "noise": "C3", "blank": "C7", "scribble": "C2"}


def noise_figure(result: NoiseResult) -> Figure:
    """Histograms of the largest output share on each kind against the test digits, with
    an example image of each kind along the top."""
    kinds = list(result.readings)
    fig = plots.figure(size=(8.4, 5.6))[0]
    fig.clear()
    grid = fig.add_gridspec(2, len(kinds), height_ratios=(1, 2.6))
    for i, kind in enumerate(kinds):
        ax = fig.add_subplot(grid[0, i])
        ax.imshow(result.examples[kind][0].reshape(SIDE, SIDE), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(kind if kind != "test" else "test digit", fontsize="small")
    ax = fig.add_subplot(grid[1, :])
    bins = np.linspace(0, 1, 41)
    for kind in kinds:
        p = np.concatenate([r.max_probability for r in result.readings[kind]])
        m = result.over_seeds(kind)
        ax.hist(
            p,
            bins=bins,
            density=True,
            histtype="step",
            linewidth=1.8,
            color=_COLOURS.get(kind, "C4"),
            label=f"{kind}: mean {m['mean']:.2f} ± {m['std']:.2f} over seeds",
        )
    ax.axvline(CONFIDENT, color="0.4", linestyle=":", linewidth=1)
    ax.set_xlabel("largest output share  max_j a_j / Σ_k a_k  (the page's 'probability')")
    ax.set_ylabel("density of images")
    ax.set_xlim(0, 1)
    ax.legend(fontsize="small", loc="upper left")
    fig.suptitle(
        f"How sure is the network? {result.images:,} images of each kind, seeds "
        f"{', '.join(map(str, result.seeds))}",
        fontsize="medium",
    )
    return fig
