"""Why a learning rate is too large, on the real network: the curvature and η = 2/λ_max.

On the note's C(w) = (w − 3)², one step maps w − 3 to (1 − ηC″)(w − 3), so descent
diverges exactly when η > 2/C″ = 1. Near any point θ the cost of the 784-16-16-10 network is,
to second order, C(θ + d) ≈ C(θ) + ∇C·d + ½ dᵀHd, and along each eigenvector u of the
Hessian H (eigenvalue λ) a full-batch step multiplies the offset from the bottom by 1 − ηλ.
All 13,002 directions are stable exactly when η < 2/λ_max: the **critical learning rate**.

This module reads the curvature at θ (:func:`read_curvature`: the top eigenvalues by Lanczos,
optionally the full spectrum, the cost along the top eigenvector against its quadratic
model) and tests the prediction twice (:func:`learning_rate_link`):

* **the threshold**: from a trained point (the recipe's ``train --seed s``), full-batch
  descent on the same N examples at η, for M steps. A run **diverges** when its cost after
  the M steps is above the start's, C(θ_M) > C(θ_0), or turns NaN/inf; bisection on η (in
  log scale, between a rate that does not and one that does) finds the measured threshold,
  set beside the predicted 2/λ_max(θ_0);
* **the edge of stability** (Cohen et al., ICLR 2021): full-batch descent with a fixed η
  from the recipe's initial θ, with λ_max measured every few steps. They found that the
  sharpness rises until it reaches 2/η and then hovers there, while the cost still falls
  (non-monotonically). :class:`Sharpening` records what the run does: the ratio ηλ_max/2
  (1: at the edge) at each measurement, its peak, and the steps spent near the edge
  (:data:`EDGE_BAND`).

The Hessian is of the data cost C alone (no L2 term), on the first N training examples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._json import finite
from .._types import Matrix, Vector
from ..backprop import _cost_and_gradient, check_targets, evaluate_cost
from ..constraints import Range
from ..data import Dataset, load_mini, one_hot, to_inputs
from ..descent import descend
from ..errors import ConfigError, DivergenceError
from ..hessian import full_hessian as build_full_hessian
from ..hessian import spectrum, top_eigenpairs, zero_tolerance
from ..init import init_params
from ..network import Network
from ..training.loop import TrainSettings
from ..training.recipe import Recipe, fit, seed_streams

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TOP = Range(
    "top",
    1,
    50,
    "how many of the largest eigenvalues to find",
    integer=True,
    hint="the top 5 or 10 show what the learning rate meets; at most 50",
)
LINE_POINTS = 41
#: How far the line through θ along the top eigenvector reaches, in units of the distance
#: at which the quadratic model's curvature term ½λt² equals 0.1·C(θ).
LINE_REACH = 3.0

# The link's defaults: N images, a trained point by the recipe, M steps per trial.
LINK_EXAMPLES = 1000
LINK_SEEDS = (0, 1, 2)
LINK_TRAIN_EPOCHS = 100  # of batch 10 at η = 1: the recipe's SGD, to a trained point
LINK_STEPS = 100  # M: full-batch steps per trial of the bisection
LINK_BISECTIONS = 8  # halvings of the bracket (in log η): its width ends near 2^(−8) of it
EDGE_RATES = (5.0, 10.0)  # η of the edge-of-stability runs: 2/η = 0.4 and 0.2
EDGE_STEPS = 1000
EDGE_EVERY = 20
EDGE_BAND = (
    0.75,
    1.33,
)  # "near the edge": λ_max within this factor of 2/η  # λ_max measured every this many steps
EDGE_TOL = 1e-4  # Lanczos's relative tolerance while tracking (warm-started each time)
MAX_EDGE_MEASUREMENTS = 2000  # λ_max measurements one run may ask for


# --------------------------------------------------------------------------- one reading


@dataclass(frozen=True)
class LineCheck:
    """The cost along the top eigenvector u through θ, against its quadratic model.

    model(t) = C(θ) + t ∇C·u + ½ λ_max t²: the second-order Taylor expansion along u.
    """

    ts: Vector  # (n,) the offsets t along u (parameter units; u has length 1)
    costs: Vector  # (n,) C(θ + t·u)
    model: Vector  # (n,) its quadratic model
    slope: float  # ∇C·u

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "t": self.ts.tolist(),
            "cost": self.costs.tolist(),
            "quadratic": self.model.tolist(),
            "slope": self.slope,
        }


@dataclass(frozen=True)
class Curvature:
    """The curvature of C at θ: the top eigenpairs, the full spectrum if asked, one line."""

    examples: int  # N, the training examples C averages over
    cost_function: str
    cost: float  # C(θ)
    gradient_norm: float  # ‖∇C(θ)‖
    top_eigenvalues: tuple[float, ...]  # descending
    vectors: Matrix = field(repr=False)  # (k, n_params), unit eigenvectors
    line: LineCheck = field(repr=False)
    eigenvalues: Vector | None = field(default=None, repr=False)  # every one, ascending

    @property
    def lambda_max(self) -> float:
        """λ_max, the largest eigenvalue: the sharpest bend of C at θ."""
        return self.top_eigenvalues[0]

    @property
    def critical_lr(self) -> float:
        """2/λ_max: full-batch descent near θ is unstable along u for any larger η."""
        return 2.0 / self.lambda_max if self.lambda_max > 0 else math.inf

    @property
    def tolerance(self) -> float | None:
        """Below this size an eigenvalue of the full spectrum is rounding, not curvature."""
        return None if self.eigenvalues is None else zero_tolerance(self.eigenvalues)

    def counts(self) -> dict[str, int] | None:
        """How many eigenvalues are negative, zero (within :attr:`tolerance`) and positive."""
        if self.eigenvalues is None or self.tolerance is None:
            return None
        e, tol = self.eigenvalues, self.tolerance
        return {
            "negative": int(np.sum(e < -tol)),
            "zero": int(np.sum(np.abs(e) <= tol)),
            "positive": int(np.sum(e > tol)),
        }

    @property
    def negative_count(self) -> int | None:
        """How many directions curve down (with the full spectrum): a saddle if any."""
        counts = self.counts()
        return None if counts is None else counts["negative"]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values: ``lambda_max``, ``top_eigenvalues``, ``critical_lr``, …"""
        out: dict[str, Any] = {
            "examples": self.examples,
            "cost_function": self.cost_function,
            "cost": self.cost,
            "gradient_norm": self.gradient_norm,
            "lambda_max": self.lambda_max,
            "top_eigenvalues": list(self.top_eigenvalues),
            "critical_lr": finite(self.critical_lr),
            "line": self.line.as_dict(),
        }
        if self.eigenvalues is not None:
            counts = self.counts() or {}
            out |= {
                "negative_count": counts["negative"],
                "zero_count": counts["zero"],
                "positive_count": counts["positive"],
                "zero_tolerance": self.tolerance,
                "lambda_min": float(self.eigenvalues[0]),
                "saddle": counts["negative"] > 0,
            }
        return out


def read_curvature(
    network: Network,
    theta: Vector,
    X: Matrix,
    Y: Matrix,
    cost: str = "quadratic",
    *,
    top: int = 5,
    full: bool = False,
    rng: np.random.Generator,
) -> Curvature:
    """The top ``top`` eigenvalues of the Hessian of C at θ, and with ``full`` all of them.

    Parameters
    ----------
    network, theta, X, Y, cost
        As for :func:`~nudgenet.backprop.cost_and_gradient` (no L2 term).
    top : int
        How many of the largest eigenvalues Lanczos finds (:data:`TOP`).
    full : bool
        Also build the whole Hessian and find every eigenvalue (n_params² floats: 1.35 GB
        for the seed network; see :func:`nudgenet.hessian.check_full_hessian`).
    rng : numpy.random.Generator
        Draws Lanczos's start vector.
    """
    TOP.check(top)
    theta, X, Y = (np.asarray(a, dtype=np.float64) for a in (theta, X, Y))
    network.check_inputs(X)
    check_targets(network, X, Y, cost)
    C, gradient = _cost_and_gradient(network, theta, X, Y, cost)
    values, vectors = top_eigenpairs(network, theta, X, Y, top, cost, rng=rng)
    eigenvalues = spectrum(build_full_hessian(network, theta, X, Y, cost)) if full else None
    line = line_along(
        network, theta, X, Y, vectors[0], float(values[0]), cost, gradient=gradient, center=C
    )
    return Curvature(
        len(X),
        cost,
        C,
        float(np.linalg.norm(gradient)),
        tuple(float(v) for v in values),
        vectors,
        line,
        eigenvalues,
    )


def line_along(
    network: Network,
    theta: Vector,
    X: Matrix,
    Y: Matrix,
    u: Vector,
    lam: float,
    cost: str = "quadratic",
    *,
    gradient: Vector,
    center: float,
) -> LineCheck:
    """C(θ + t·u) for t across the region the quadratic model describes, and that model."""
    scale = math.sqrt(0.2 * max(center, 1e-12) / lam) if lam > 0 else 1.0
    ts = np.linspace(-LINE_REACH * scale, LINE_REACH * scale, LINE_POINTS)
    costs = np.array([evaluate_cost(network, theta + t * u, X, Y, cost) for t in ts])
    slope = float(gradient @ u)
    return LineCheck(ts, costs, center + slope * ts + 0.5 * lam * ts**2, slope)


# --------------------------------------------------------------------------- the threshold


@dataclass(frozen=True)
class Trial:
    """One full-batch run of the bisection: η, the cost after M steps, and the verdict."""

    learning_rate: float
    final_cost: float
    diverged: bool  # C(θ_M) > C(θ_0), or NaN/inf

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "learning_rate": self.learning_rate,
            "final_cost": finite(self.final_cost),
            "diverged": self.diverged,
        }


@dataclass(frozen=True)
class Threshold:
    """Predicted against measured critical η from one trained point."""

    seed: int
    start_cost: float  # C(θ_0) on the N examples
    lambda_max: float  # at θ_0
    low: float  # the largest η seen not to diverge
    high: float  # the smallest η seen to diverge
    trials: tuple[Trial, ...]

    @property
    def predicted(self) -> float:
        """2/λ_max(θ_0)."""
        return 2.0 / self.lambda_max

    @property
    def measured(self) -> float:
        """The bracket's geometric middle, √(low·high)."""
        return math.sqrt(self.low * self.high)

    @property
    def ratio(self) -> float:
        """measured / predicted."""
        return self.measured / self.predicted

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "seed": self.seed,
            "start_cost": self.start_cost,
            "lambda_max": self.lambda_max,
            "predicted": self.predicted,
            "measured": self.measured,
            "low": self.low,
            "high": self.high,
            "ratio": self.ratio,
            "trials": [t.as_dict() for t in self.trials],
        }


def full_batch_run(
    network: Network,
    theta: Vector,
    X: Matrix,
    Y: Matrix,
    eta: float,
    steps: int,
    cost: str = "quadratic",
) -> Trial:
    """``steps`` full-batch steps of η from θ (left unchanged) by :func:`descend`, judged."""
    current = np.array(theta, dtype=np.float64)
    start = evaluate_cost(network, current, X, Y, cost)

    def objective(t: Vector) -> tuple[float, Vector]:
        return _cost_and_gradient(network, t, X, Y, cost)

    try:
        for _ in descend(objective, current, eta, steps=steps, divergence_factor=None):
            pass
    except DivergenceError:  # NaN or inf: diverged beyond doubt
        return Trial(eta, math.inf, True)
    final = evaluate_cost(network, current, X, Y, cost)
    return Trial(eta, final, not (math.isfinite(final) and final <= start))


def measure_threshold(
    network: Network,
    theta: Vector,
    X: Matrix,
    Y: Matrix,
    guess: float,
    *,
    steps: int = LINK_STEPS,
    bisections: int = LINK_BISECTIONS,
    cost: str = "quadratic",
) -> tuple[float, float, tuple[Trial, ...]]:
    """The η at which full-batch descent from θ starts to diverge, by bisection in log η.

    The bracket starts at [guess/2, 2·guess] and widens (by factors of 2, at most 8 times
    each way) until its low end does not diverge and its high end does; then ``bisections``
    halvings. Returns (low, high, every trial in the order run).
    """
    trials: list[Trial] = []

    def run(eta: float) -> bool:
        trials.append(full_batch_run(network, theta, X, Y, eta, steps, cost))
        return trials[-1].diverged

    low, high = guess / 2, guess * 2
    for _ in range(8):
        if not run(low):
            break
        low /= 2
    else:
        raise ConfigError(
            f"full-batch descent diverged even at η = {low:g}",
            help="θ may not be a trained point; train it first",
        )
    for _ in range(8):
        if run(high):
            break
        high *= 2
    else:
        raise ConfigError(
            f"full-batch descent did not diverge even at η = {high:g}",
            help="take more steps per trial",
        )
    for _ in range(bisections):
        middle = math.sqrt(low * high)
        if run(middle):
            high = middle
        else:
            low = middle
    return low, high, tuple(trials)


# --------------------------------------------------------------------------- edge of stability


@dataclass(frozen=True)
class Sharpening:
    """λ_max along a full-batch run with a fixed η: the edge of stability, or not."""

    seed: int
    learning_rate: float
    steps: tuple[int, ...]  # where λ_max was measured
    sharpness: tuple[float, ...]  # λ_max there
    costs: tuple[float, ...]  # C there

    @property
    def edge(self) -> float:
        """2/η: the sharpness at which this η stops being stable."""
        return 2.0 / self.learning_rate

    @property
    def ratios(self) -> Vector:
        """λ_max/(2/η) = ηλ_max/2 at each measurement: above 1, the step is unstable."""
        return np.asarray(self.sharpness) / self.edge

    def peak(self) -> tuple[float, int]:
        """The highest ηλ_max/2 after the start (step 0 is the initial θ's), and its step."""
        later = self.ratios[1:] if len(self.ratios) > 1 else self.ratios
        i = int(np.argmax(later)) + (len(self.ratios) > 1)
        return float(self.ratios[i]), self.steps[i]

    def near_edge(self) -> tuple[int, ...]:
        """The steps (after the start) where λ_max is within EDGE_BAND of 2/η."""
        low, high = EDGE_BAND
        return tuple(
            k for k, r in zip(self.steps[1:], self.ratios[1:], strict=True) if low <= r <= high
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        peak, at = self.peak()
        return {
            "seed": self.seed,
            "learning_rate": self.learning_rate,
            "edge": self.edge,
            "steps": list(self.steps),
            "sharpness": list(self.sharpness),
            "costs": [finite(c) for c in self.costs],
            "peak_ratio": peak,
            "peak_step": at,
            "near_edge_steps": list(self.near_edge()),
            "final_ratio": float(self.ratios[-1]),
        }


def check_tracking(steps: int, every: int) -> None:
    """Refuse a fixed-η run whose λ_max would be measured too rarely or too often."""
    if not (1 <= every <= steps and steps // every <= MAX_EDGE_MEASUREMENTS):
        raise ConfigError(
            f"measure λ_max every 1 to {steps} steps, at most {MAX_EDGE_MEASUREMENTS} times "
            f"in all; got every {every} of {steps}",
            help="e.g. every 20 of 1000 steps",
        )


def track_sharpness(
    network: Network,
    theta: Vector,
    X: Matrix,
    Y: Matrix,
    eta: float,
    *,
    steps: int = EDGE_STEPS,
    every: int = EDGE_EVERY,
    seed: int = 0,
    cost: str = "quadratic",
) -> Sharpening:
    """Full-batch descent of ``steps`` steps of η from θ (left unchanged), with λ_max measured
    every ``every`` steps (Lanczos warm-started from the last eigenvector)."""
    check_tracking(steps, every)
    current = np.array(theta, dtype=np.float64)
    rng = np.random.default_rng(seed)
    at, sharp, costs = [], [], []
    v0 = None

    def objective(t: Vector) -> tuple[float, Vector]:
        return _cost_and_gradient(network, t, X, Y, cost)

    for k in range(0, steps + 1, every):
        values, vectors = top_eigenpairs(
            network, current, X, Y, 1, cost, rng=rng, v0=v0, tol=EDGE_TOL
        )
        v0 = vectors[0]
        at.append(k)
        sharp.append(float(values[0]))
        costs.append(evaluate_cost(network, current, X, Y, cost))
        if k + every <= steps:
            for _ in descend(objective, current, eta, steps=every, divergence_factor=None):
                pass
    return Sharpening(seed, eta, tuple(at), tuple(sharp), tuple(costs))


# --------------------------------------------------------------------------- the link


@dataclass(frozen=True)
class Link:
    """The curvature's prediction against full-batch descent, over seeds."""

    examples: int
    data: str
    train: str  # how the trained points were made, in words
    steps: int  # M
    thresholds: tuple[Threshold, ...]
    sharpenings: tuple[Sharpening, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "examples": self.examples,
            "data": self.data,
            "train": self.train,
            "steps": self.steps,
            "thresholds": [t.as_dict() for t in self.thresholds],
            "sharpenings": [s.as_dict() for s in self.sharpenings],
        }


def _examples(data: Dataset, n: int) -> tuple[Matrix, Matrix]:
    if not (isinstance(n, int) and 1 <= n <= len(data.train_labels)):
        raise ConfigError(
            f"examples must be a whole number from 1 to {len(data.train_labels):,}, got {n!r}",
            help="e.g. 1000: the Hessian averages over the first N training images",
        )
    X = to_inputs(data.train_images[:n], np.float64)
    return X, one_hot(data.train_labels[:n], dtype=np.float64)


def learning_rate_link(
    seeds: Sequence[int] = LINK_SEEDS,
    *,
    examples: int = LINK_EXAMPLES,
    train_epochs: int = LINK_TRAIN_EPOCHS,
    steps: int = LINK_STEPS,
    bisections: int = LINK_BISECTIONS,
    edge_rates: Sequence[float] = EDGE_RATES,
    edge_steps: int = EDGE_STEPS,
    every: int = EDGE_EVERY,
    data: Dataset | None = None,
) -> Link:
    """Predicted 2/λ_max against the measured threshold, and λ_max along fixed-η runs.

    For each seed: the recipe trains the seed network (sigmoid, quadratic cost) on the first
    ``examples`` images for ``train_epochs`` epochs of batch 10 at η = 1; bisection then
    measures where full-batch descent from there diverges (:func:`measure_threshold`). And
    from the recipe's initial θ of the same seed, :func:`track_sharpness` runs each of
    ``edge_rates``.
    """
    check_tracking(edge_steps, every)  # before any training, not after it
    data = data or load_mini()
    X, Y = _examples(data, examples)
    network = Network()
    settings = TrainSettings(epochs=train_epochs, batch_size=10, lr=1.0)
    thresholds, sharpenings = [], []
    for seed in seeds:
        model = fit(
            Recipe(network, settings, seed=seed, dtype="float64"), data, train_size=examples
        )
        theta = model.theta.astype(np.float64)
        values, _ = top_eigenpairs(network, theta, X, Y, 1, rng=np.random.default_rng(seed))
        lam = float(values[0])
        low, high, trials = measure_threshold(
            network, theta, X, Y, 2.0 / lam, steps=steps, bisections=bisections
        )
        start = evaluate_cost(network, theta, X, Y)
        thresholds.append(Threshold(seed, start, lam, low, high, trials))
        init_rng, _ = seed_streams(seed)
        theta0 = init_params(network.layout, "xavier", rng=init_rng, dtype="float64")
        for eta in edge_rates:
            sharpenings.append(
                track_sharpness(
                    network, theta0, X, Y, eta, steps=edge_steps, every=every, seed=seed
                )
            )
    train = (
        f"the recipe: {train_epochs} epochs of batch 10 at η = 1 on the same "
        f"{examples:,} images, xavier init"
    )
    return Link(examples, data.name, train, steps, tuple(thresholds), tuple(sharpenings))


# --------------------------------------------------------------------------- figures


def first_layer_images(network: Network, vector: Vector) -> tuple[Matrix, Matrix, float]:
    """An eigenvector's first-layer part as pictures: per pixel, the length of its 16 weights'
    entries √Σ_j u_jp² (where the bend lives), and the signed weights of the hidden neuron
    whose row carries most of it; with that layer's share ‖u_W¹‖² of ‖u‖² = 1.
    """
    W = network.layout.views(np.asarray(vector, dtype=np.float64))[0][0]  # (n_hidden, 784)
    side = math.isqrt(W.shape[1])
    if side * side != W.shape[1]:
        raise ConfigError(
            f"the first layer has {W.shape[1]} inputs, not a square image's pixels",
            help="the eigenvector pictures need a network whose inputs are square images",
        )
    strongest = int(np.argmax(np.sum(W * W, axis=1)))
    energy = np.sqrt(np.sum(W * W, axis=0)).reshape(side, side)
    return energy, W[strongest].reshape(side, side), float(np.sum(W * W))


def draw_eigenvectors(curvature: Curvature, network: Network, limit: int = 6) -> Figure:
    """The first-layer parts of the top eigenvectors as 28×28 images, two per eigenvector."""
    from .. import plots

    shown = min(limit, len(curvature.top_eigenvalues))
    fig, axes = plots.figure(2, shown, size=(1.9 * shown + 1.2, 4.6), squeeze=False)
    for i in range(shown):
        energy, neuron, share = first_layer_images(network, curvature.vectors[i])
        top, bottom = axes[0, i], axes[1, i]
        top.imshow(energy, cmap="magma", interpolation="nearest")
        top.set_title(
            f"u{i + 1}: λ = {curvature.top_eigenvalues[i]:.3g}\nlayer 1 holds {100 * share:.0f}%",
            fontsize="small",
        )
        limit_ = float(np.abs(neuron).max()) or 1.0
        bottom.imshow(
            neuron, cmap=plots.DIVERGING, vmin=-limit_, vmax=limit_, interpolation="nearest"
        )
        bottom.set_title("its strongest neuron", fontsize="small")
        for ax in (top, bottom):
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(
        "The sharpest directions of the cost, first layer: top row, how much each "
        "pixel's weights move\n(√Σ over the hidden neurons); bottom row, the signed "
        "weights of the neuron that moves most (blue < 0 < red)",
        fontsize="medium",
    )
    return fig


def draw_line(curvature: Curvature) -> Figure:
    """The cost along the top eigenvector against its quadratic model."""
    from .. import plots

    line = curvature.line
    fig, ax = plots.figure(size=(7.0, 4.4))
    ax.plot(line.ts, line.costs, color="black", lw=2, label="C(θ + t·u₁), the real cost")
    ax.plot(
        line.ts,
        line.model,
        color="tab:orange",
        lw=1.5,
        ls="--",
        label=f"C(θ) + t ∇C·u₁ + ½λ_max t², λ_max = {curvature.lambda_max:.4g}",
    )
    ax.plot([0], [curvature.cost], "o", color="tab:blue", label=f"θ: C = {curvature.cost:.4g}")
    ax.set_xlabel("t: distance along the top eigenvector u₁ (‖u₁‖ = 1)")
    ax.set_ylabel("cost C")
    ax.set_title(
        f"The sharpest direction: critical learning rate 2/λ_max = {curvature.critical_lr:.4g}",
        fontsize=11,
    )
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return fig


def draw_link(link: Link) -> Figure:
    """Left: predicted 2/λ_max against the measured threshold, per seed. Right: λ_max along
    fixed-η runs against each 2/η."""
    from .. import plots

    fig, (left, right) = plots.figure(1, 2, size=(12.0, 4.8))
    seeds = np.arange(len(link.thresholds))
    predicted = [t.predicted for t in link.thresholds]
    left.bar(seeds - 0.2, predicted, 0.4, color="tab:blue", label="predicted 2/λ_max(θ₀)")
    measured = [t.measured for t in link.thresholds]
    errors = np.array([[t.measured - t.low, t.high - t.measured] for t in link.thresholds]).T
    left.bar(
        seeds + 0.2,
        measured,
        0.4,
        color="tab:red",
        yerr=errors,
        capsize=3,
        label=f"measured: C after {link.steps} steps > C(θ₀)",
    )
    left.set_xticks(seeds, [f"seed {t.seed}" for t in link.thresholds])
    left.set_ylabel("critical learning rate η")
    left.set_title("Where full-batch descent from a trained point diverges", fontsize=11)
    left.legend(fontsize=8)
    rates = sorted({s.learning_rate for s in link.sharpenings})
    for i, eta in enumerate(rates):
        colour = f"C{i}"
        for s in (s for s in link.sharpenings if s.learning_rate == eta):
            right.plot(
                s.steps,
                s.sharpness,
                color=colour,
                lw=1.2,
                alpha=0.8,
                label=f"η = {eta:g}, seed {s.seed}",
            )
        right.axhline(2 / eta, color=colour, ls="--", lw=1.2, label=f"2/η = {2 / eta:.3g}")
    right.set_xlabel("full-batch step")
    right.set_ylabel("sharpness λ_max")
    right.set_title("λ_max while descending with a fixed η, against 2/η", fontsize=11)
    right.legend(fontsize=7, ncol=2)
    right.grid(True, alpha=0.3)
    fig.suptitle(
        f"The curvature and the learning rate: {link.examples:,} images of "
        f"{link.data}; trained points by {link.train}",
        fontsize=9,
    )
    return fig
