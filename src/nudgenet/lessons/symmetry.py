"""Why θ must start random: identical neurons stay identical.

A hidden neuron is its incoming weights and bias: row j of [Wˡ | bˡ]. If every weight and bias
starts at the same constant, every neuron of a layer computes the same activation, receives the
same error δ from the layer above, and so gets the same gradient row ∂C/∂Wˡ[j, :] = δⱼ aˡ⁻¹.
The update θ ← θ − η∇C keeps the rows equal, step after step: the layer of 16 acts as one
neuron, however long it trains. Random initialisation breaks this symmetry, and then different
neurons can learn different features.

This module trains the same network twice, from a constant and from a random θ, with the same
data, seed and settings, and counts the distinct neurons of each hidden layer after every epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .._types import Matrix, Vector
from ..errors import ConfigError, ShapeError
from ..init import INITS, init_params
from ..network import Network
from ..training.loop import Epoch, TrainSettings, train
from ..training.recipe import seed_streams

if TYPE_CHECKING:
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

DEFAULT_TOLERANCE = 1e-6


def neuron_groups(W: Matrix, tol: float = DEFAULT_TOLERANCE) -> NDArray[np.intp]:
    """Label each row of W with its group of identical rows (0, 1, … in order of appearance).

    Two rows are the same neuron when their largest absolute difference is at most
    ``tol · scale``, where scale is the largest |entry| of W: a tolerance relative to the
    weights' size, so that rounding noise never counts as a difference.

    Parameters
    ----------
    W : ndarray of shape (n_neurons, n_in)
        One neuron per row, e.g. a weight matrix or [W | b].
    tol : float
        Relative tolerance, ≥ 0.

    Returns
    -------
    ndarray of int, shape (n_neurons,)

    Examples
    --------
    >>> neuron_groups(np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0]])).tolist()
    [0, 1, 0]
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise ShapeError(
            f"W must be a 2-D array with one neuron per row, got shape {W.shape}",
            help="pass one layer's weight matrix, as Layout.views(theta) gives it",
        )
    if not tol >= 0:
        raise ConfigError(
            f"the tolerance must be ≥ 0, got {tol}",
            help="0 counts only identical neurons as one; a small tol such as 1e-9 merges "
            "those equal up to rounding",
        )
    limit = tol * (float(np.max(np.abs(W))) if W.size else 0.0)
    labels = np.empty(len(W), dtype=np.intp)
    representatives: list[int] = []  # first row of each group
    for j, row in enumerate(W):
        for label, r in enumerate(representatives):
            if np.max(np.abs(row - W[r]), initial=0.0) <= limit:
                labels[j] = label
                break
        else:
            labels[j] = len(representatives)
            representatives.append(j)
    return labels


def distinct_neurons(W: Matrix, tol: float = DEFAULT_TOLERANCE) -> int:
    """How many different neurons the rows of W hold (see :func:`neuron_groups`).

    Examples
    --------
    >>> distinct_neurons(np.full((16, 784), 0.5))  # a constant start: 16 copies of one neuron
    1
    >>> distinct_neurons(np.eye(16))
    16
    """
    labels = neuron_groups(W, tol)
    return int(labels.max()) + 1 if len(labels) else 0


def hidden_neurons(network: Network, theta: Vector) -> list[Matrix]:
    """Per hidden layer, [Wˡ | bˡ] of shape (n_out, n_in + 1): one row per neuron."""
    views = network.layout.views(theta)[:-1]  # the output layer's neurons are digits, not features
    return [np.column_stack([W, b]) for W, b in views]


def count_distinct(
    network: Network, theta: Vector, tol: float = DEFAULT_TOLERANCE
) -> tuple[int, ...]:
    """Distinct neurons in each hidden layer of θ.

    Examples
    --------
    >>> net = Network((784, 16, 16, 10))
    >>> count_distinct(net, np.full(net.n_params, 0.5))
    (1, 1)
    """
    return tuple(distinct_neurons(N, tol) for N in hidden_neurons(network, theta))


@dataclass(frozen=True)
class SymmetryRun:
    """One training run and what became of its hidden neurons."""

    init: str  # "constant" or the random scheme
    value: float | None  # every weight's and bias's starting value, for the constant start
    theta: Vector  # θ after training
    distinct: tuple[int, ...]  # distinct neurons per hidden layer, after training
    distinct_by_epoch: tuple[tuple[int, ...], ...]  # the same after each epoch; 0 is the start
    hidden_sizes: tuple[int, ...]  # how many neurons each hidden layer has
    history: tuple[Epoch, ...]  # the per-epoch records of training

    @property
    def test_accuracy(self) -> float | None:
        """Accuracy on the test images after training (None without test data)."""
        return self.history[-1].test_accuracy

    @property
    def train_cost(self) -> float:
        """The seed's cost on the whole training set after training."""
        return self.history[-1].train_cost

    def as_dict(self) -> dict[str, Any]:
        """The numbers as JSON-ready values (θ left out)."""
        return {
            "init": self.init,
            "constant_value": self.value,
            "epochs": len(self.history) - 1,
            "distinct_neurons": list(self.distinct),
            "distinct_by_epoch": [list(d) for d in self.distinct_by_epoch],
            "hidden_sizes": list(self.hidden_sizes),
            "test_accuracy": self.test_accuracy,
            "train_accuracy": self.history[-1].train_accuracy,
            "train_cost": self.train_cost,
        }


def train_and_count(
    network: Network,
    init: str,
    X: Matrix,
    Y: Matrix,
    settings: TrainSettings,
    *,
    seed: int,
    test: tuple[Matrix, NDArray[Any]] | None = None,
    value: float = 0.0,
    tol: float = DEFAULT_TOLERANCE,
) -> SymmetryRun:
    """Train from the initialisation ``init`` and count distinct hidden neurons after each epoch.

    Training runs in float64, so "identical" means identical up to rounding, not up to float32.

    Parameters
    ----------
    network : Network
    init : one of nudgenet.init.INITS
    X : ndarray of shape (n, 784), the training inputs
    Y : ndarray of shape (n, 10), one-hot targets
    settings : TrainSettings
    seed : int
        Seeds two independent streams, as ``nudgenet train`` does: one for θ, one for the
        shuffling. Two runs with the same seed see the examples in the same order.
    test : (X_test, labels_test), optional
    value : float
        Every weight and bias for ``init="constant"``.
    tol : float
        Relative tolerance for two neurons to count as the same.
    """
    init_rng, shuffle_rng = seed_streams(seed)
    theta = init_params(network.layout, init, rng=init_rng, dtype="float64", value=value)
    history: list[Epoch] = []
    counts: list[tuple[int, ...]] = []
    for record in train(network, theta, X, Y, settings, rng=shuffle_rng, test=test):
        if isinstance(record, Epoch):
            history.append(record)
            counts.append(count_distinct(network, theta, tol))
    return SymmetryRun(
        init=init,
        value=value if init == "constant" else None,
        theta=theta,
        distinct=counts[-1],
        distinct_by_epoch=tuple(counts),
        hidden_sizes=network.sizes[1:-1],
        history=tuple(history),
    )


def compare_initialisations(
    network: Network,
    X: Matrix,
    Y: Matrix,
    settings: TrainSettings,
    *,
    seed: int,
    random_init: str = "xavier",
    value: float = 0.0,
    test: tuple[Matrix, NDArray[Any]] | None = None,
    tol: float = DEFAULT_TOLERANCE,
) -> tuple[SymmetryRun, SymmetryRun]:
    """Train twice, from a constant θ and from a random one, everything else equal.

    Returns
    -------
    (constant_run, random_run) : SymmetryRun, SymmetryRun
    """
    if random_init == "constant" or random_init not in INITS:
        choices = ", ".join(i for i in INITS if i != "constant")
        raise ConfigError(
            f"the random initialisation must be one of {choices}, got {random_init!r}",
            help="the constant start is always the other run; pick a random scheme to compare",
        )
    kwargs: dict[str, Any] = {"seed": seed, "test": test, "tol": tol, "value": value}
    constant = train_and_count(network, "constant", X, Y, settings, **kwargs)
    random = train_and_count(network, random_init, X, Y, settings, **kwargs)
    return constant, random


def _signed_sqrt(x: Any) -> Any:
    return np.sign(x) * np.sqrt(np.abs(x))


def _signed_square(x: Any) -> Any:
    return np.sign(x) * np.square(x)


def weight_norm(weights: list[Matrix], ratio: float = 10.0) -> Normalize:
    """One colour scale for every weight matrix, symmetric about 0, from −m to m.

    m is the largest |weight| of all. The scale is linear, unless some matrix's largest
    |weight| is under m / ``ratio``: then it is a signed square root, sign(w)·√|w|, under
    which a weight 100× smaller than m still gets a tenth of the colour, so the smaller
    matrix keeps a visible pattern on the shared scale (the colour bar says how small).

    Examples
    --------
    >>> norm = weight_norm([np.array([[0.5, -1.0]]), np.array([[0.2]])])
    >>> type(norm).__name__, norm.vmin, norm.vmax
    ('Normalize', -1.0, 1.0)
    >>> norm = weight_norm([np.array([[1.0]]), np.array([[-0.01]])])
    >>> type(norm).__name__, round(float(norm(0.01)) - 0.5, 3), float(norm(-1.0))
    ('FuncNorm', 0.05, 0.0)
    """
    from matplotlib.colors import FuncNorm, Normalize

    largest = [float(np.max(np.abs(W))) if np.size(W) else 0.0 for W in weights]
    limit = max(largest, default=0.0) or 1.0
    smallest = min((m for m in largest if m > 0), default=limit)
    if smallest * ratio >= limit:
        return Normalize(-limit, limit)
    return FuncNorm((_signed_sqrt, _signed_square), vmin=-limit, vmax=limit)


def draw_first_layer(runs: tuple[SymmetryRun, ...], network: Network) -> Figure:
    """Each run's first-layer weights as one 28×28 image per hidden neuron, side by side.

    Red is a positive weight, blue a negative one, white zero, on one colour scale for both
    runs, symmetric about 0, with one colour bar: the same colour is the same weight in either
    panel. A constant start can end with weights dozens of times smaller than a random one's;
    a linear scale would then paint the constant run white, so when the runs' largest weights
    differ by more than 10× the scale is symmetric-log (:func:`weight_norm`).
    """
    from ..plots import DIVERGING, figure

    side = round(np.sqrt(network.sizes[0]))
    if side * side != network.sizes[0]:
        raise ConfigError(
            f"the first layer's weights can only be drawn as images for square inputs, "
            f"got {network.sizes[0]} inputs",
            help="the figure needs a network whose inputs are square images, such as 784 = 28²",
        )
    n_hidden = network.sizes[1]
    cols = int(np.ceil(np.sqrt(n_hidden)))
    rows = int(np.ceil(n_hidden / cols))
    fig, _ = figure(size=(5.2 * len(runs) + 1.4, 5.2))
    fig.clear()
    # One panel per run and a narrow one for the colour bar that they all share.
    *subfigs, bar = fig.subfigures(1, len(runs) + 1, wspace=0.04,
                                   width_ratios=[5.2] * len(runs) + [1.4])  # fmt: skip
    weights = [network.layout.views(run.theta)[0][0] for run in runs]  # each (n_hidden, 784)
    norm = weight_norm(weights)
    image = None
    for subfig, run, W in zip(subfigs, runs, weights, strict=True):
        axes = subfig.subplots(rows, cols)
        for j, ax in enumerate(np.ravel(axes)):
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= n_hidden:
                ax.set_axis_off()
                continue
            image = ax.imshow(W[j].reshape(side, side), cmap=DIVERGING, norm=norm)
            ax.set_title(f"neuron {j}", fontsize=7, pad=2)
        distinct = run.distinct[0]
        accuracy = run.test_accuracy
        name = f"constant ({run.value:g})" if run.init == "constant" else f"random ({run.init})"
        subfig.suptitle(
            f"{name} start: {distinct} distinct neuron{'s' * (distinct != 1)}"
            + (f", test accuracy {100 * accuracy:.1f}%" if accuracy is not None else ""),
            fontsize=11,
        )
    if image is not None:
        from matplotlib.colors import FuncNorm

        label = "weight, one scale for every run (red +, blue −)"
        ticks = None
        if isinstance(norm, FuncNorm):
            label += "\ncolour by sign(w)·√|w|: small ones show"
            m = norm.vmax
            small = min(float(np.max(np.abs(W))) for W in weights)  # the faintest run's reach
            ticks = sorted({-m, -m / 4, -small, 0.0, small, m / 4, m})
        cax = bar.add_axes((0.05, 0.2, 0.14, 0.6))
        colorbar = bar.colorbar(image, cax=cax, label=label, format="%.2g")
        if ticks is not None:
            colorbar.set_ticks(ticks)
    epochs = len(runs[0].history) - 1
    fig.suptitle(
        f"First-layer weights after {epochs} epoch{'s' * (epochs != 1)} of training: each tile "
        "is one hidden neuron's 784 incoming weights drawn as a 28×28 image",
        fontsize=11,
    )
    return fig
