"""What the hidden neurons look for: edges and loops, or neither?

The video hopes that the first hidden layer learns edges and the second loops, then shows
that the trained network's neurons do not. This lesson draws what each layer responds to,
and measures it against the same network at its random initialisation.

**Layer 1** responds to its weights W¹ (one 28×28 image per neuron, as ``nudgenet plot``
draws them). **Layer 2** is two sigmoids away from the pixels, so three pictures of each
neuron j are made:

* its *effective pattern*, the weights composed back to the pixels, linearised at the mean
  test image x̄: ∂z²_j/∂x = Σ_i W²_ji σ′(z¹_i(x̄)) W¹_i, the first-order Taylor term of z²_j
  around x̄ (a plain W²W¹ would pretend the sigmoids were the identity);
* its *preferred input*, the x that maximises z²_j (equivalently a²_j) over the ball
  ‖x‖ ≤ R, R the mean norm of a test image, by projected gradient ascent from x̄;
* its *top test images*, the k test digits that activate it most.

**The measures**, each of a 28×28 pattern P (signed), each documented by what it gives on
reference patterns (:func:`reference_measures`):

* *smoothness*, the lag-1 spatial autocorrelation: the correlation of P with P shifted by
  one pixel, averaged over the horizontal and vertical shifts. About 0 for independent
  random weights, near 1 for patterns that vary slowly (strokes, blobs, edges, rings).
* *edge-ness*, the mean local orientation coherence: from the structure tensor of the
  image gradient, smoothed over a Gaussian window of σ = 2 pixels,
  (λ₁ − λ₂)/(λ₁ + λ₂) at each pixel, averaged with the gradient energy as weight. 1 where
  the pattern is locally one straight edge or stroke, lower where it is isotropic (noise).
* *loop-ness*, the radiality of the gradient: the share of the gradient energy that points
  along the line to the pattern's centre (the |P|-weighted centroid),
  Σ (∇P · r̂)² / Σ ‖∇P‖². 1 for a ring around its centre, about ½ for isotropic noise (0.55–0.57
  on 28×28 pixels), lower for a straight edge or stroke.

A trained layer is "edge-like" if its edge-ness is near the reference edge's and far above
its random start's, and "loop-like" likewise for loop-ness.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .. import plots
from .._types import Matrix
from ..errors import ConfigError
from ..model import Model
from ..network import _forward
from .pixels import pixel_gradient
from .seeds import SeedNetwork, mean_std

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "FAMILIES",
    "MEASURES",
    "FeaturesResult",
    "Layer2",
    "edgeness",
    "features",
    "layer_two",
    "layer_two_figure",
    "loopness",
    "measures",
    "measures_figure",
    "reference_measures",
    "smoothness",
    "top_images_figure",
]

SIDE = 28
MEASURES = ("smoothness", "edgeness", "loopness")
FAMILIES = ("layer1_weights", "layer2_effective", "layer2_preferred")
ASCENT_STEPS = 200
ASCENT_STEP = 0.05  # each ascent step moves x by this fraction of R, along the gradient
TOP = 9


# --------------------------------------------------------------------------- the measures


def _grid(P: NDArray[Any]) -> NDArray[np.float64]:
    P = np.asarray(P, dtype=np.float64)
    if P.size != SIDE * SIDE or not np.all(np.isfinite(P)):
        raise ConfigError(
            f"a pattern must be 784 finite values (28×28), got shape {P.shape}",
            help="pass one neuron's weights or one image, flattened or 28×28",
        )
    return P.reshape(SIDE, SIDE)


def smoothness(P: NDArray[Any]) -> float:
    """Lag-1 spatial autocorrelation of P, the mean of its horizontal and vertical ones.

    >>> stripes = np.tile(np.arange(28) // 7 % 2, (28, 1)).astype(float)
    >>> round(smoothness(stripes), 2)  # an edge every 7 pixels, across only
    0.89
    """
    g = _grid(P)
    g = g - g.mean()
    var = float((g * g).mean())
    if var == 0.0:
        return 0.0
    across = float((g[:, 1:] * g[:, :-1]).mean())
    down = float((g[1:, :] * g[:-1, :]).mean())
    return (across + down) / (2 * var)


def _blur_matrix(sigma: float) -> NDArray[np.float64]:
    """B with (B P Bᵀ) = P blurred by a Gaussian of ``sigma`` pixels (rows normalised)."""
    i = np.arange(SIDE)
    B = np.exp(-((i[:, None] - i[None, :]) ** 2) / (2 * sigma**2))
    return B / B.sum(axis=1, keepdims=True)


_BLUR = _blur_matrix(2.0)


def edgeness(P: NDArray[Any]) -> float:
    """Energy-weighted mean local orientation coherence of P's gradient, in [0, 1].

    >>> edge = np.tile((np.arange(28) >= 14).astype(float), (28, 1))
    >>> round(edgeness(edge), 2)  # one straight edge: one orientation everywhere
    1.0
    """
    gy, gx = np.gradient(_grid(P))
    Jxx, Jyy, Jxy = (_BLUR @ t @ _BLUR.T for t in (gx * gx, gy * gy, gx * gy))
    trace = Jxx + Jyy
    if float(trace.sum()) == 0.0:
        return 0.0
    spread = np.sqrt((Jxx - Jyy) ** 2 + 4 * Jxy**2)  # λ₁ − λ₂
    coherence = np.divide(spread, trace, out=np.zeros_like(trace), where=trace > 0)
    return float((coherence * trace).sum() / trace.sum())


def loopness(P: NDArray[Any]) -> float:
    """Share of P's gradient energy pointing to or from its |P|-weighted centre, in [0, 1].

    >>> r = np.hypot(*np.mgrid[-13.5:14, -13.5:14])
    >>> round(loopness(np.exp(-((r - 7) ** 2) / 4)), 2)  # a ring about its centre
    1.0
    """
    g = _grid(P)
    gy, gx = np.gradient(g)
    w = np.abs(g)
    rows, cols = np.mgrid[0:SIDE, 0:SIDE].astype(float)
    total = float(w.sum())
    if total == 0.0:
        return 0.0
    cy, cx = float((w * rows).sum() / total), float((w * cols).sum() / total)
    dy, dx = rows - cy, cols - cx
    r = np.hypot(dy, dx)
    r[r == 0] = 1.0
    radial = (gx * dx + gy * dy) / r
    energy = float((gx * gx + gy * gy).sum())
    return float((radial * radial).sum() / energy) if energy > 0 else 0.0


def measures(patterns: Matrix) -> dict[str, NDArray[np.float64]]:
    """Each measure of each row of ``patterns`` (n, 784): ``{name: (n,) values}``."""
    funcs = {"smoothness": smoothness, "edgeness": edgeness, "loopness": loopness}
    return {name: np.array([funcs[name](p) for p in patterns]) for name in MEASURES}


def reference_patterns(rng: np.random.Generator | None = None) -> dict[str, Matrix]:
    """Patterns that fix the measures' scale: an edge, a stroke, a ring, random noise."""
    rows, cols = np.mgrid[0:SIDE, 0:SIDE] - 13.5
    angle = np.deg2rad(30)
    across = rows * np.cos(angle) - cols * np.sin(angle)
    along = rows * np.sin(angle) + cols * np.cos(angle)
    edge = 1 / (1 + np.exp(-across))  # a soft step across a tilted line
    stroke = np.exp(-(across**2) / 2) * (np.abs(along) < 7)
    ring = np.exp(-((np.hypot(rows, cols) - 7) ** 2) / 2)
    noise = (rng or np.random.default_rng(0)).standard_normal((SIDE, SIDE))
    return {
        n: p.ravel()
        for n, p in (("edge", edge), ("stroke", stroke), ("ring", ring), ("noise", noise))
    }


def reference_measures() -> dict[str, dict[str, float]]:
    """``{pattern: {measure: value}}`` for :func:`reference_patterns`."""
    out = {}
    for name, p in reference_patterns().items():
        out[name] = {m: float(v[0]) for m, v in measures(p[None]).items()}
    return out


# --------------------------------------------------------------------------- layer 2


@dataclass(frozen=True)
class Layer2:
    """The three pictures of each second-layer neuron of one network."""

    effective: Matrix  # (n2, 784): ∂z²_j/∂x at x̄
    preferred: Matrix  # (n2, 784): argmax of z²_j over ‖x‖ ≤ R
    preferred_activation: NDArray[np.float64]  # (n2,): a²_j at the preferred input
    top: NDArray[np.intp]  # (n2, TOP): test images activating it most, most first
    top_activation: NDArray[np.float64]  # (n2, TOP)
    radius: float  # R


def layer_two(model: Model, test_inputs: Matrix, *, steps: int = ASCENT_STEPS) -> Layer2:
    """Effective patterns, preferred inputs and top test images of the second hidden layer."""
    network, theta = model.network, model.theta.astype(np.float64)
    if len(network.sizes) < 4:
        raise ConfigError(
            f"the network {'-'.join(map(str, network.sizes))} has no second hidden layer",
            help="draw the features of a network with two hidden layers, e.g. 784-16-16-10",
        )
    X = np.asarray(test_inputs, dtype=np.float64)
    n2 = network.sizes[2]
    mean = X.mean(axis=0, keepdims=True)  # x̄, (1, 784)
    acts, _ = _forward(network, theta, mean)
    eye = np.eye(n2)  # row j asks about neuron j
    effective = pixel_gradient(network, theta, acts, 2, eye)  # (n2, 784)
    radius = float(np.linalg.norm(X, axis=1).mean())
    x = np.repeat(_into_ball(mean, radius), n2, axis=0)  # (n2, 784)
    for _ in range(steps):  # projected gradient ascent on z²_j, one row per neuron
        acts, _ = _forward(network, theta, x)
        g = pixel_gradient(network, theta, acts, 2, eye)  # ∂z²_j/∂x_j, (n2, 784)
        norm = np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
        x = _into_ball(x + ASCENT_STEP * radius * g / norm, radius)
    a2 = _forward(network, theta, x)[0][2]
    a2_test = _forward(network, theta, X)[0][2]  # (m, n2)
    top = np.argsort(-a2_test, axis=0, kind="stable")[:TOP].T  # (n2, TOP)
    return Layer2(
        effective,
        x,
        a2[np.arange(n2), np.arange(n2)],
        top,
        np.take_along_axis(a2_test.T, top, axis=1),
        radius,
    )


def _into_ball(x: Matrix, radius: float) -> Matrix:
    """Each row of x scaled back onto ‖x‖ ≤ radius if it lies outside."""
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x * np.minimum(1.0, radius / np.maximum(norm, 1e-12))


# --------------------------------------------------------------------------- over seeds


@dataclass
class FeaturesResult:
    """The measures of each family of patterns, per seed, trained and at initialisation."""

    seeds: list[int]
    # family -> "trained"/"initial" -> measure -> per-seed mean over neurons
    per_seed: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    pictures: dict[str, Any] = field(default_factory=dict)  # the first seed's, for figures

    def summary(self) -> dict[str, Any]:
        """family -> state -> measure -> ``{mean, std, n}`` over seeds."""
        return {
            family: {state: {m: mean_std(v) for m, v in by.items()} for state, by in s.items()}
            for family, s in self.per_seed.items()
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the summary, the per-seed values, the references, the linearisation."""
        return {
            "seeds": self.seeds,
            "measures": self.summary(),
            "per_seed": self.per_seed,
            "reference": reference_measures(),
            "linearisation": "dz2/dx at the mean test image: W2 diag(sigma'(z1(mean))) W1",
            "preferred_input": {
                "norm_bound": "mean norm of a test image",
                "steps": ASCENT_STEPS,
                "step": ASCENT_STEP,
            },
            "top_images": self.pictures.get("top", np.zeros((0, 0))).tolist(),
        }


def features(networks: Sequence[SeedNetwork], test_inputs: Matrix) -> FeaturesResult:
    """The measures of every family for every network, trained and at its random start."""
    result = FeaturesResult([n.seed for n in networks])
    for family in FAMILIES:
        result.per_seed[family] = {s: {m: [] for m in MEASURES} for s in ("trained", "initial")}
    for k, net in enumerate(networks):
        for state, model in (("trained", net.trained), ("initial", net.initial)):
            l2 = layer_two(model, test_inputs)
            W1 = model.network.layout.views(model.theta)[0][0]
            for family, patterns in zip(FAMILIES, (W1, l2.effective, l2.preferred), strict=True):
                for m, values in measures(patterns).items():
                    result.per_seed[family][state][m].append(float(values.mean()))
            if k == 0:
                result.pictures[state] = l2
                result.pictures[f"{state}_model"] = model
        if k == 0:
            result.pictures["top"] = result.pictures["trained"].top
    return result


# --------------------------------------------------------------------------- figures


def layer_two_figure(result: FeaturesResult, test_inputs: Matrix, seed_index: int = 0) -> Figure:
    """The first seed's second-layer neurons, one column each: the effective pattern
    (trained, and at the random start), the preferred input, and the top test image."""
    trained, initial = result.pictures["trained"], result.pictures["initial"]
    n2 = len(trained.effective)
    rows = (
        ("effective pattern\n(trained)", trained.effective, True),
        ("effective pattern\n(random start)", initial.effective, True),
        ("preferred input\n(trained)", trained.preferred, True),
        ("top test image\n(trained)", np.asarray(test_inputs)[trained.top[:, 0]], False),
    )
    fig, axes = plots.figure(
        len(rows), n2, size=(1.0 * n2 + 1.6, 1.25 * len(rows) + 1.0), squeeze=False
    )
    for r, (label, pictures, signed) in enumerate(rows):
        for j in range(n2):
            ax = axes[r, j]
            ax.set_xticks([])
            ax.set_yticks([])
            p = pictures[j].reshape(SIDE, SIDE)
            if signed:
                v = float(np.abs(p).max()) or 1.0
                ax.imshow(p, cmap=plots.DIVERGING, vmin=-v, vmax=v, interpolation="nearest")
            else:
                ax.imshow(p, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
            if r == 0:
                ax.set_title(f"{j}", fontsize="small")
        axes[r, 0].set_ylabel(label, fontsize="x-small", rotation=0, ha="right", va="center")
    fig.suptitle(
        f"What the second hidden layer looks for (seed {result.seeds[seed_index]}): one "
        "column per neuron\nred raises its input z², blue lowers it; the preferred input "
        f"has the norm of a mean test image (R = {trained.radius:.1f})",
        fontsize="medium",
    )
    return fig


_REFERENCE_NAMES = {
    "edge": "an edge",
    "stroke": "a stroke",
    "ring": "a ring",
    "noise": "random noise",
}
_LABELS = {
    "layer1_weights": "layer 1\nweights",
    "layer2_effective": "layer 2\neffective",
    "layer2_preferred": "layer 2\npreferred input",
}


def measures_figure(result: FeaturesResult) -> Figure:
    """Each measure, trained against random start, mean ± std over seeds, with the
    reference patterns' values as lines."""
    summary, refs = result.summary(), reference_measures()
    fig, axes = plots.figure(1, len(MEASURES), size=(11.0, 3.9))
    x = np.arange(len(FAMILIES))
    for ax, m in zip(axes, MEASURES, strict=True):
        for dx, state, colour in ((-0.18, "trained", "C0"), (0.18, "initial", "0.6")):
            means = [summary[f][state][m]["mean"] for f in FAMILIES]
            stds = [summary[f][state][m]["std"] for f in FAMILIES]
            ax.bar(
                x + dx,
                means,
                0.36,
                yerr=stds,
                capsize=3,
                color=colour,
                label="trained" if state == "trained" else "random start",
            )
        for (name, values), colour in zip(refs.items(), ("C3", "C1", "C2", "C4"), strict=True):
            ax.axhline(
                values[m],
                color=colour,
                linestyle="--",
                linewidth=1,
                label=_REFERENCE_NAMES[name],
            )
        ax.set_xticks(x, [_LABELS[f] for f in FAMILIES], fontsize="small")
        ax.set_title(m, fontsize="medium")
        ax.set_ylim(min(0.0, ax.get_ylim()[0]), 1.05)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=6, fontsize="small")
    fig.suptitle(
        f"Edge-like or loop-like? Measures of each neuron's pattern, mean over neurons, "
        f"mean ± std over seeds {', '.join(map(str, result.seeds))}",
        fontsize="medium",
    )
    return fig


def top_images_figure(result: FeaturesResult, test_inputs: Matrix, shown: int = 6) -> Figure:
    """For each second-layer neuron of the first seed, the test images that excite it most."""
    l2 = result.pictures["trained"]
    n2 = len(l2.top)
    fig, axes = plots.figure(
        n2 // 4 if n2 % 4 == 0 else math.ceil(n2 / 4),
        4,
        size=(11.0, 0.9 * math.ceil(n2 / 4) + 1.0),
        squeeze=False,
    )
    X = np.asarray(test_inputs)
    for j, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if j >= n2:
            continue
        strip = np.concatenate([X[i].reshape(SIDE, SIDE) for i in l2.top[j, :shown]], axis=1)
        ax.imshow(strip, cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(
            f"neuron {j}: a² from {l2.top_activation[j, 0]:.2f} to "
            f"{l2.top_activation[j, shown - 1]:.2f}",
            fontsize="x-small",
        )
    fig.suptitle(
        f"The test images that activate each second-layer neuron most (seed {result.seeds[0]})",
        fontsize="medium",
    )
    return fig
