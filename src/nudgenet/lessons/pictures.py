"""Pictures of a training run: how the cost fell, and what the network learned.

Seven figures, each from a saved :class:`~nudgenet.model.Model` (the last three also need
test images):

=================  =====================================================================
``cost``           the cost C per epoch (training and test sets) and per mini-batch step
``accuracy``       the share of images classified right, per epoch, in %
``learning-rate``  the schedule η(k) over every step k, rebuilt from the model's settings
``weights``        each first-layer neuron's 784 weights drawn as a 28×28 image
``confusion``      the confusion matrix on test images: rows true label, columns guess
``misclassified``  a gallery of test images the network gets wrong
``outputs``        one test image and the 10 output activations it produces
=================  =====================================================================

The numbers behind them come from small pure functions (:func:`moving_average`,
:func:`confusion_matrix`, :func:`misclassified`, :func:`learning_rate_curve`) that can be
used and tested on their own; the ``*_figure`` functions return matplotlib Figures and
:func:`draw_all` writes every figure to a folder. Step k counts parameter updates from 0;
the cost of step k is measured on its mini-batch *before* its update, i.e. at θ after k
updates, which is why it is drawn at epoch k / steps_per_epoch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import plots
from ..backprop import evaluate_cost
from ..data import Dataset, to_inputs
from ..errors import ConfigError, ShapeError
from ..model import Model
from ..network import feedforward
from ..schedules import make_schedule
from ..training.loop import steps_per_epoch
from ..training.recipe import check_fits

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "FIGURES",
    "LearningRateCurve",
    "Mistake",
    "accuracy_figure",
    "confusion_figure",
    "confusion_matrix",
    "cost_figure",
    "draw_all",
    "learning_rate_curve",
    "learning_rate_figure",
    "misclassified",
    "misclassified_figure",
    "moving_average",
    "outputs_figure",
    "weights_figure",
]

#: The figures :func:`draw_all` writes, in order; each is saved as ``<name>.png``.
FIGURES = ("cost", "accuracy", "learning-rate", "weights", "confusion", "misclassified", "outputs")

_TRAIN_COLOUR = "C0"  # blue: the training set, in every figure
_TEST_COLOUR = "C1"  # orange: the test set
_STEP_COLOUR = "0.55"  # grey: single mini-batch steps


# --------------------------------------------------------------------------- the numbers


def moving_average(x: ArrayLike, window: int) -> NDArray[np.float64]:
    """Trailing mean of the last ``window`` values of x, as long as x.

    Mini-batch costs jump from step to step because each batch holds other images; the
    average over a window shows the trend. The first ``window − 1`` entries average the
    values seen so far, so the curve starts at step 0 like the data.

    Parameters
    ----------
    x : array_like of shape (n,)
    window : int, at least 1

    Returns
    -------
    ndarray of shape (n,)
        Entry i is the mean of x[max(0, i − window + 1) : i + 1].

    Examples
    --------
    >>> moving_average([1.0, 2.0, 3.0, 4.0], 2)
    array([1. , 1.5, 2.5, 3.5])
    """
    values = np.asarray(x, dtype=np.float64)
    if values.ndim != 1:
        raise ShapeError(
            f"moving_average expects a 1-D array, got shape {values.shape}",
            help="pass one series of values, such as a model's step costs",
        )
    if not (isinstance(window, (int, np.integer)) and window >= 1):
        raise ConfigError(
            f"the moving-average window must be an integer ≥ 1, got {window!r}",
            help="a window of 1 keeps the series as it is; larger ones smooth it",
        )
    sums = np.concatenate(([0.0], np.cumsum(values)))  # sums[i] = x[0] + … + x[i−1]
    end = np.arange(1, len(values) + 1)
    start = np.maximum(end - window, 0)
    return (sums[end] - sums[start]) / (end - start)


def confusion_matrix(labels: ArrayLike, guesses: ArrayLike, n: int = 10) -> NDArray[np.int64]:
    """Count how often each true class was guessed as each class.

    Row i, column j counts the images labelled i that the network called j: the diagonal
    holds the right answers, everything off it a mistake, and which cell shows which
    digits the network mixes up.

    Parameters
    ----------
    labels, guesses : array_like of ints in 0..n−1, shape (m,)
    n : int
        Number of classes.

    Returns
    -------
    ndarray of int64, shape (n, n)

    Examples
    --------
    >>> confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2], n=3)
    array([[1, 0, 0],
           [0, 1, 1],
           [0, 0, 1]])
    """
    true = _class_indices(labels, n, "labels")
    guess = _class_indices(guesses, n, "guesses")
    if true.shape != guess.shape:
        raise ShapeError(
            f"confusion_matrix needs one guess per label, got {len(true)} labels and "
            f"{len(guess)} guesses",
            help="pass the labels and the guesses of the same images",
        )
    counts = np.zeros((n, n), dtype=np.int64)
    np.add.at(counts, (true, guess), 1)
    return counts


MAX_CURVE_POINTS = 20_000
"""Most steps at which the learning-rate curve is evaluated (evenly spaced when it has more)."""


@dataclass(frozen=True)
class Mistake:
    """One misclassified image: where it is, what it is, and what the network said."""

    index: int  # position in the test set
    label: int  # the true class
    guess: int  # the network's answer
    probability: float  # the guess's share of the outputs (network.probabilities)


def misclassified(
    labels: ArrayLike, guesses: ArrayLike, probs: ArrayLike, limit: int | None = None
) -> list[Mistake]:
    """The examples whose guess differs from their label, in data-set order.

    Data-set order, not most-confident-first, so that the gallery is a fair sample of the
    network's typical mistakes.

    Parameters
    ----------
    labels, guesses : array_like of ints, shape (m,)
    probs : array_like of shape (m, n_classes)
        Each row's output probabilities (``Model.probabilities``).
    limit : int, optional
        Return at most this many.

    Examples
    --------
    >>> probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]])
    >>> misclassified([0, 0, 1], [0, 1, 0], probs)
    [Mistake(index=1, label=0, guess=1, probability=0.7), Mistake(index=2, label=1, guess=0, probability=0.6)]
    """  # noqa: E501
    true = np.asarray(labels).astype(np.intp)
    guess = np.asarray(guesses).astype(np.intp)
    p = np.asarray(probs)
    if true.ndim != 1 or guess.shape != true.shape or p.ndim != 2 or len(p) != len(true):
        raise ShapeError(
            f"misclassified needs labels (m,), guesses (m,) and probs (m, n_classes), got "
            f"shapes {true.shape}, {guess.shape} and {p.shape}",
            help="pass the labels, guesses and output probabilities of the same images",
        )
    if limit is not None and limit < 0:
        raise ConfigError(f"limit must be ≥ 0, got {limit}", help="limit=None lists every mistake")
    wrong = np.flatnonzero(true != guess)[:limit]
    return [Mistake(int(i), int(true[i]), int(guess[i]), float(p[i, guess[i]])) for i in wrong]


@dataclass(frozen=True)
class LearningRateCurve:
    """The learning rate η_k of every step k of a training run."""

    steps: NDArray[np.intp]  # (n_steps,): k = 0, 1, …
    learning_rate: NDArray[np.float64]  # (n_steps,): η_k
    steps_per_epoch: int

    @property
    def epochs(self) -> NDArray[np.float64]:
        """Each step's position in epochs, k / steps_per_epoch."""
        return self.steps / self.steps_per_epoch


def learning_rate_curve(model: Model, n_train: int | None = None) -> LearningRateCurve:
    """Rebuild the schedule η(k) a model was trained with, from its saved settings.

    Uses :func:`~nudgenet.schedules.make_schedule`, the same call training makes, so the
    curve is the one descent followed: at the end of epoch e ≥ 1 it equals the
    ``learning_rate`` recorded in the model's history (η of that epoch's last step).

    Parameters
    ----------
    model : Model
        Its ``settings`` need ``schedule``, ``lr`` and ``epochs``.
    n_train : int, optional
        The training-set size, giving ⌈n_train / batch_size⌉ steps per epoch. By default
        the steps per epoch are read from the model's records (its history, or the number
        of step costs), which stay right even if the data set is not at hand.

    Returns
    -------
    LearningRateCurve
    """
    settings = model.settings
    absent = [key for key in ("schedule", "lr", "epochs") if key not in settings]
    if absent:
        raise ConfigError(
            f"the model's settings lack {', '.join(absent)}, so its learning-rate schedule "
            "cannot be rebuilt",
            help="models saved by `nudgenet train` record them",
        )
    if n_train is not None:
        if "batch_size" not in settings:
            raise ConfigError(
                "the model's settings lack batch_size",
                help="draw a model saved by `nudgenet train`, which records its batch size",
            )
        per_epoch = steps_per_epoch(int(n_train), int(settings["batch_size"]))
    else:
        per_epoch = _recorded_steps_per_epoch(model)
    total = per_epoch * int(settings["epochs"])
    schedule = make_schedule(
        settings["schedule"], settings["lr"], total_steps=total, steps_per_epoch=per_epoch
    )
    # A curve needs no more points than a figure has pixels; a model file may claim any
    # number of epochs, so the steps drawn are a bounded sample of them.
    steps = np.unique(
        np.linspace(0, max(total - 1, 0), min(total, MAX_CURVE_POINTS)).astype(np.int64)
    )
    rates = np.array([schedule(int(k)) for k in steps], dtype=np.float64)
    return LearningRateCurve(steps, rates, per_epoch)


def _recorded_steps_per_epoch(model: Model) -> int:
    """Steps per epoch as the training run recorded them."""
    for record in model.history:
        if record.get("epoch") == 1 and record.get("steps"):
            return int(record["steps"])
    epochs = int(model.settings.get("epochs", 0))
    if model.step_costs is not None and epochs and len(model.step_costs) % epochs == 0:
        return len(model.step_costs) // epochs
    raise ConfigError(
        "the model records neither its steps per epoch nor one cost per step",
        help="pass n_train, the number of training images it was trained on",
    )


def _class_indices(values: ArrayLike, n: int, what: str) -> NDArray[np.intp]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ShapeError(
            f"{what} must be 1-D, got shape {array.shape}",
            help="pass one class index per image",
        )
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ConfigError(
            f"{what} must be integer classes, got dtype {array.dtype}",
            help="pass class indices (0, 1, …), not probabilities or one-hot rows",
        )
    if array.size and (array.min() < 0 or array.max() >= n):
        raise ConfigError(
            f"{what} must lie in 0..{n - 1}, got values from {array.min()} to {array.max()}",
            help=f"there are {n} classes, numbered 0 to {n - 1}",
        )
    return array.astype(np.intp)


# --------------------------------------------------------------------------- figures: the run


def cost_figure(model: Model) -> Figure:
    """The cost C per epoch on the training and test sets, and per mini-batch step.

    Each step's cost is on one mini-batch only, so it jumps around; the moving average
    shows its trend, and the per-epoch costs on whole data sets sit on the same axis.
    """
    from matplotlib.ticker import MaxNLocator

    history = _history(model)
    fig, ax = plots.figure(size=(7.2, 4.6))
    epochs = np.array([h["epoch"] for h in history])
    costs = model.step_costs
    # What the y-axis is fitted to: the epoch costs and the average, not every noisy step.
    trend = [np.array([h["train_cost"] for h in history], dtype=float)]
    per_epoch = _recorded_steps_per_epoch(model) if costs is not None and len(costs) else 1
    # With one step per epoch (full-batch descent) the step costs are the epoch costs.
    if costs is not None and per_epoch > 1:
        x = np.arange(len(costs)) / per_epoch
        window = int(np.clip(len(costs) // 50, 2, per_epoch))
        average = moving_average(costs, window)
        trend.append(average)
        batch = model.settings.get("batch_size")
        size = f"{batch} images" if batch else "all images"
        ax.plot(x, costs, color=_STEP_COLOUR, alpha=0.3, linewidth=0.5, rasterized=True,
                label=f"one mini-batch ({size}), each step")  # fmt: skip
        ax.plot(x, average, color="0.2", linewidth=1.2,
                label=f"mini-batch cost, mean of the last {window} steps")  # fmt: skip
    ax.plot(epochs, trend[0], "o-", color=_TRAIN_COLOUR, label="whole training set, each epoch")
    test = [h.get("test_cost") for h in history]
    if all(t is not None for t in test):
        trend.append(np.array(test, dtype=float))
        ax.plot(epochs, test, "s--", color=_TEST_COLOUR, label="test set, each epoch")
    low, high = float(min(t.min() for t in trend)), float(max(t.max() for t in trend))
    if low > 0 and high > 10 * low:
        ax.set_yscale("log")
        ax.set_ylim(low / 1.6, high * 1.6)
        ax.set_ylabel(f"cost C ({model.cost}), log scale")
    else:
        ax.set_ylim(0, high * 1.1 if high > 0 else 1.0)  # costs are ≥ 0
        ax.set_ylabel(f"cost C ({model.cost})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch (passes over the training set; 0 = untrained)")
    ax.set_title(f"The cost C(θ) falls as gradient descent nudges θ ({_run_label(model)})")
    ax.set_xlim(0, max(epochs.max(), 1))
    ax.grid(True, which="major", alpha=0.3)
    legend = ax.legend(loc="best", fontsize="small")
    for handle in legend.legend_handles[:1] if per_epoch > 1 else []:
        handle.set_alpha(0.8)  # the faint step line, made visible in the legend
        handle.set_linewidth(2)
    return fig


def accuracy_figure(model: Model) -> Figure:
    """The share of training and test images classified right after each epoch, in %."""
    from matplotlib.ticker import MaxNLocator

    history = _history(model)
    fig, ax = plots.figure(size=(7.2, 4.6))
    epochs = np.array([h["epoch"] for h in history])
    n_classes = model.network.sizes[-1]
    ax.axhline(100 / n_classes, color="0.5", linestyle=":", linewidth=1,
               label=f"guessing at random ({100 / n_classes:.0f}%)")  # fmt: skip
    for key, colour, style, name in (
        ("train_accuracy", _TRAIN_COLOUR, "o-", "training set"),
        ("test_accuracy", _TEST_COLOUR, "s--", "test set"),
    ):
        values = [h.get(key) for h in history]
        if any(v is None for v in values):
            continue
        percent = 100 * np.array(values, dtype=float)
        ax.plot(
            epochs, percent, style, color=colour, label=f"{name}: {percent[-1]:.1f}% at the end"
        )
    ax.set_ylim(0, 100)
    ax.set_xlim(0, max(epochs.max(), 1))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch (passes over the training set; 0 = untrained)")
    ax.set_ylabel("accuracy (% of images classified right)")
    ax.set_title(f"Accuracy after each epoch ({_run_label(model)})")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return fig


def learning_rate_figure(model: Model, n_train: int | None = None) -> Figure:
    """The learning rate η_k of every step, with the values the history recorded."""
    curve = learning_rate_curve(model, n_train)
    per_epoch = curve.steps_per_epoch
    fig, ax = plots.figure(size=(7.2, 4.6))
    # η is constant during each step, hence stairs (invisible when there are many steps).
    ax.plot(curve.steps, curve.learning_rate, color=_TRAIN_COLOUR, linewidth=1.5,
            drawstyle="steps-post", label=r"$\eta_k$, rebuilt from the saved settings")  # fmt: skip
    recorded = [(h["epoch"], h["learning_rate"]) for h in model.history if "learning_rate" in h]
    if recorded:
        k = [max(epoch * per_epoch - 1, 0) for epoch, _ in recorded]
        ax.plot(k, [rate for _, rate in recorded], "o", color=_TEST_COLOUR, markersize=5,
                label=r"$\eta$ of each epoch's last step, as recorded while training")  # fmt: skip
    ax.set_xlabel(
        rf"step $k$ (one update $\theta \leftarrow \theta - \eta_k \nabla C$ per mini-batch; "
        f"{per_epoch:,} per epoch)"
    )
    ax.set_ylabel(r"learning rate $\eta$")
    ax.set_ylim(0, curve.learning_rate.max() * 1.1)
    ax.set_xlim(0, max(len(curve.steps), 1))
    top = ax.secondary_xaxis("top", functions=(lambda k: k / per_epoch, lambda e: e * per_epoch))
    top.set_xlabel("epoch")
    s = model.settings
    ax.set_title(f"Learning-rate schedule: {s['schedule']}, starting at $\\eta$ = {s['lr']:g}")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left", fontsize="small")
    return fig


def weights_figure(model: Model, limit: int = 64) -> Figure:
    """The first layer's weights: each hidden neuron's 784 weights as a 28×28 image.

    Neuron i's weighted sum is Σ_p w_ip x_p + b_i, so a red pixel (w > 0) with ink raises it
    and a blue pixel (w < 0) with ink lowers it: the image is the pattern the neuron looks
    for. One colour scale, centred at 0, is shared by all neurons so they can be compared.
    """
    if limit < 1:
        raise ConfigError(
            f"limit must be at least 1, got {limit}",
            help="limit is how many neurons' weights to draw, e.g. 16",
        )
    W, b = model.network.layout.views(model.theta)[0]  # W: (n_hidden, 784), b: (n_hidden,)
    n_in = W.shape[1]
    side = math.isqrt(n_in)
    if side * side != n_in:
        raise ShapeError(
            f"the first layer has {n_in} inputs, not a square image's pixels, so its "
            "weights cannot be drawn as images",
            help="the weights figure needs a network whose inputs are square images",
        )
    shown = min(len(W), limit)
    cols = math.ceil(math.sqrt(shown))
    rows = math.ceil(shown / cols)
    fig, axes = plots.figure(rows, cols, size=(1.55 * cols + 1.3, 1.75 * rows + 0.9),
                             squeeze=False)  # fmt: skip
    vmax = float(np.abs(W[:shown]).max()) or 1.0
    image = None
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= shown:
            ax.set_axis_off()
            continue
        image = ax.imshow(W[i].reshape(side, side), cmap=plots.DIVERGING, vmin=-vmax,
                          vmax=vmax, interpolation="nearest")  # fmt: skip
        bias = round(float(b[i]), 2) + 0.0  # + 0.0: no "-0.00"
        ax.set_title(f"neuron {i}\nb = {bias:+.2f}", fontsize="small")
    fig.colorbar(image, ax=axes, shrink=0.8, label="weight w (blue < 0 < red)")
    which = f"all {len(W)}" if shown == len(W) else f"the first {shown} of {len(W)}"
    fig.suptitle(
        f"First-layer weights of {which} hidden neurons: the pixel pattern each one looks for"
        "\n(ink on red pixels raises its weighted sum, ink on blue lowers it; b is its bias)",
        fontsize="medium",
    )
    return fig


# --------------------------------------------------------------------------- figures: test data


def confusion_figure(model: Model, images: NDArray[np.uint8], labels: ArrayLike) -> Figure:
    """The confusion matrix on test images: how often each digit was taken for each other."""
    n_classes = model.network.sizes[-1]
    guesses = model.predict(_inputs(model, images))
    counts = confusion_matrix(np.asarray(labels), guesses, n_classes)
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    from matplotlib.colors import PowerNorm

    fig, ax = plots.figure(size=(6.6, 5.8))
    # A square-root colour scale: the few mistakes stay visible beside the many right answers.
    norm = PowerNorm(gamma=0.5, vmin=0, vmax=max(int(counts.max()), 1))
    image = ax.imshow(counts, cmap="Blues", norm=norm)
    for i in range(n_classes):
        for j in range(n_classes):
            value = counts[i, j]
            colour = "white" if norm(value) > 0.6 else ("0.7" if value == 0 else "black")
            ax.text(j, i, str(value), ha="center", va="center", fontsize="small", color=colour)
    ax.set_xticks(range(n_classes))
    ax.set_yticks(range(n_classes))
    ax.set_xlabel("the network's guess")
    ax.set_ylabel("true label")
    ax.set_title(
        f"Confusion matrix on {len(guesses):,} test images: {100 * accuracy:.1f}% right\n"
        "(right answers on the diagonal; each other cell counts one kind of mistake)",
        fontsize="medium",
    )
    fig.colorbar(image, ax=ax, shrink=0.8, label="number of images (square-root scale)")
    return fig


def misclassified_figure(
    model: Model, images: NDArray[np.uint8], labels: ArrayLike, limit: int = 24
) -> Figure:
    """A gallery of test images the network gets wrong, titled "true → guess (probability)"."""
    probs = model.probabilities(_inputs(model, images))
    guesses = np.argmax(probs, axis=1)
    labels = np.asarray(labels)
    mistakes = misclassified(labels, guesses, probs)
    shown = mistakes[:limit]
    cols = min(max(len(shown), 1), 6)
    rows = max(math.ceil(len(shown) / cols), 1)
    fig, axes = plots.figure(rows, cols, size=(1.6 * cols + 0.4, 1.75 * rows + 0.9),
                             squeeze=False)  # fmt: skip
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, m in zip(axes.flat, shown, strict=False):
        ax.imshow(images[m.index], cmap="gray_r", vmin=0, vmax=255)
        ax.set_title(f"{m.label} → {m.guess} ({100 * m.probability:.0f}%)\n#{m.index}",
                     fontsize="small")  # fmt: skip
    if not mistakes:
        axes.flat[0].text(0.5, 0.5, "no test image\nmisclassified", ha="center", va="center")
    share = f"{len(mistakes):,} of {len(labels):,} test images misclassified"
    first = f"; the first {len(shown)}" if len(shown) < len(mistakes) else ""
    fig.suptitle(
        f"{share}{first}\ntrue label → guess (the guess's share of the outputs), #test index",
        fontsize="medium",
    )
    return fig


def outputs_figure(
    model: Model, images: NDArray[np.uint8], labels: ArrayLike, index: int = 0
) -> Figure:
    """One test image beside the 10 output activations it produces.

    The guess is the brightest output neuron. The target y (1 at the label, 0 elsewhere) is
    outlined, so the gaps between bars and outlines are the errors a_j − y_j that the cost
    squares and sums.
    """
    labels = np.asarray(labels)
    _check_index(index, len(labels))
    x = _inputs(model, images[index : index + 1])
    a = feedforward(model.network, model.theta, x)[-1]
    n_classes = a.shape[1]
    label = int(labels[index])
    guess = int(np.argmax(a[0]))
    y = np.zeros_like(a)
    y[0, label] = 1.0
    cost = evaluate_cost(model.network, model.theta, x, y, model.cost)  # cross-entropy from z
    fig, (left, right) = plots.figure(1, 2, size=(8.4, 3.9), width_ratios=(1, 1.9))
    left.imshow(images[index], cmap="gray_r", vmin=0, vmax=255)
    left.set_xticks([])
    left.set_yticks([])
    left.set_title(f"test image #{index}\nlabel: {label}")
    digits = np.arange(n_classes)
    colours = ["0.6"] * n_classes
    colours[guess] = "tab:green" if guess == label else "tab:red"
    right.bar(digits, a[0], color=colours, label=r"output activation $a_j$ (guess in colour)")
    right.bar(digits, y[0], fill=False, edgecolor="black", linestyle="--", linewidth=1,
              label=f"target $y_j$ (1 at the label, {label})")  # fmt: skip
    for j, value in enumerate(a[0]):
        right.text(
            j,
            max(value, y[0, j]) + 0.02,
            f"{value:.2f}",
            ha="center",
            va="bottom",
            fontsize="x-small",
        )
    right.set_xticks(digits)
    right.set_ylim(0, 1.32)
    right.set_yticks(np.linspace(0, 1, 6))
    right.set_xlabel(r"output neuron $j$ (one per digit)")
    right.set_ylabel(r"activation $a_j$")
    verdict = "right" if guess == label else f"wrong (label {label})"
    formula = r"$\sum_j (a_j - y_j)^2$" if model.cost == "quadratic" else f"({model.cost}) C"
    right.set_title(
        f"guess {guess}, the brightest output: {verdict}\n"
        f"cost of this image {formula} = {cost:.3g}",  # 3 digits: 0.00023 is not 0.000
        fontsize="medium",
    )
    right.legend(loc="upper center", ncols=2, fontsize="small", frameon=False)
    return fig


# --------------------------------------------------------------------------- all of them


def draw_all(
    model: Model,
    data: Dataset,
    out_dir: str | os.PathLike[str],
    formats: Iterable[str] = ("png",),
    image_index: int = 0,
) -> list[Path]:
    """Draw every figure of :data:`FIGURES` and write each to ``out_dir/<name>.<format>``.

    Parameters
    ----------
    model : Model
        A model saved by ``nudgenet train`` (it needs its history and settings).
    data : Dataset
        Its test images and labels feed the confusion matrix, the gallery and the outputs.
    out_dir : path
        The folder, created if missing.
    formats : iterable of {"png", "svg"}
    image_index : int
        The test image whose outputs are drawn.

    Returns
    -------
    list of Path
        The files written, in the order of :data:`FIGURES`.
    """
    formats = tuple(formats)
    _check_index(image_index, len(data.test_labels), where=f"{data.name}'s test set")
    check_fits(model.network, data, help="draw it with the data it was trained on (--data)")
    images, labels = data.test_images, data.test_labels
    # Every figure is drawn before anything is written, so a model that cannot be drawn
    # leaves no half-filled folder behind.
    figures = {
        "cost": cost_figure(model),
        "accuracy": accuracy_figure(model),
        "learning-rate": learning_rate_figure(model),
        "weights": weights_figure(model),
        "confusion": confusion_figure(model, images, labels),
        "misclassified": misclassified_figure(model, images, labels),
        "outputs": outputs_figure(model, images, labels, image_index),
    }
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the folder {folder} for the figures: {exc.strerror or exc}",
            help="choose another folder with --out",
        ) from exc
    written: list[Path] = []
    for name in FIGURES:
        written += plots.save(figures[name], folder / f"{name}.png", formats)
    return written


def _history(model: Model) -> Sequence[dict[str, Any]]:
    if not model.history:
        raise ConfigError(
            "the model has no training history to draw",
            help="train it with `nudgenet train`, which records the cost after every epoch",
        )
    return model.history


def _run_label(model: Model) -> str:
    sizes = "-".join(map(str, model.network.sizes))
    data = model.settings.get("data")
    return f"{sizes} on {Path(str(data)).name}" if data else sizes


def _inputs(model: Model, images: NDArray[np.uint8]) -> NDArray[Any]:
    return to_inputs(images, model.theta.dtype)


def _check_index(index: int, n: int, where: str = "the test set") -> None:
    if not (isinstance(index, (int, np.integer)) and 0 <= index < n):
        raise ConfigError(
            f"image index {index} is out of range: {where} has {n:,} images, numbered 0 to {n - 1}",
            help=f"choose an image from 0 to {n - 1} (--image on the command line)",
        )
