"""Random labels: does the network learn digits, or memorise its training set?

Two runs of ``nudgenet train``'s recipe per seed, on the same images: once with the true
labels, once with the training labels shuffled (a random permutation, so each digit keeps
its count but no longer goes with its image). The test set keeps its true labels. If the
shuffled run's training cost falls while its test accuracy stays at chance (10%), the
network is memorising; with the true labels both improve, because what it learns on one
image of a 3 holds for the others.

Zhang et al. (2017), "Understanding deep learning requires rethinking generalization"
(ICLR 2017), measured this on CIFAR-10 and ImageNet with networks of more than a million
parameters: their Figure 1a shows the training loss reaching zero on random labels as on
true ones, only later (their Figure 1b: the time to fit grows by a small constant factor).
The seed's network has 13,002 parameters, fewer than the 10,000 labels × log₂10 ≈ 33,000
bits a full memorisation of the embedded set would have to store; on a small enough subset
(``train_size``) it has room to memorise.

**Time to fit** is the first epoch at which the training accuracy reaches ``fit_accuracy``
(None if it never does in the epochs run), and the wall time of the training runs (after
one untimed warm-up run, which loads the compiled engine).

The shuffling permutation of seed s is drawn from
:func:`~nudgenet.training.recipe.lesson_stream` (the third child stream of seed s); the
recipe's :func:`~nudgenet.training.recipe.seed_streams` use the first two for θ₀ and the batch
order, so the labels' shuffle is independent of both, and the true
and shuffled runs of one seed start from the same θ₀ and visit the images in the same order.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .. import plots
from ..constraints import Range
from ..data import Dataset
from ..training.loop import TrainSettings
from ..training.recipe import Recipe, fit, lesson_stream
from .seeds import SEEDS, check_seeds, mean_std, sample_std

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "FIT_ACCURACY",
    "LABELS",
    "MEMORIZE_EPOCHS",
    "MemorizeResult",
    "memorize",
    "memorize_figure",
    "shuffled_labels",
]

LABELS = ("true", "shuffled")
MEMORIZE_EPOCHS = Range(
    "epochs",
    1,
    1000,
    "passes over the training set, for each kind of labels",
    integer=True,
    must="a whole number from 1 to 1000",
    hint="30 epochs show the difference; a small --limit with 200 shows memorisation",
)
FIT_ACCURACY = 0.9
"""The training accuracy at which a run counts as fitted."""
KEYS = ("train_cost", "train_accuracy", "test_accuracy")


def shuffled_labels(labels: NDArray[Any], seed: int) -> NDArray[Any]:
    """``labels`` in a random order, drawn from the third child stream of ``seed``.

    >>> shuffled_labels(np.arange(5), 0).tolist() == shuffled_labels(np.arange(5), 0).tolist()
    True
    """
    rng = lesson_stream(seed)
    return np.asarray(labels)[rng.permutation(len(labels))]


@dataclass
class MemorizeResult:
    """Each seed's per-epoch records for the true and the shuffled labels."""

    data: str
    train_size: int
    epochs: int
    seeds: list[int]
    fit_accuracy: float
    histories: dict[str, list[list[dict[str, Any]]]] = field(default_factory=dict)
    seconds: dict[str, list[float]] = field(default_factory=dict)  # wall time of each run

    def curve(self, labels: str, key: str) -> NDArray[np.float64]:
        """``key`` per epoch for every seed, shape (seeds, epochs + 1), epoch 0 first."""
        return np.array([[h[key] for h in run] for run in self.histories[labels]], dtype=float)

    def epochs_to_fit(self, labels: str) -> list[int | None]:
        """Each seed's first epoch with training accuracy ≥ :attr:`fit_accuracy`."""
        out: list[int | None] = []
        for row in self.curve(labels, "train_accuracy"):
            reached = np.flatnonzero(row >= self.fit_accuracy)
            out.append(int(reached[0]) if reached.size else None)
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: per kind of labels the mean curves (epoch 0 first), their std, the fit."""
        out: dict[str, Any] = {
            "data": self.data,
            "train_size": self.train_size,
            "epochs": self.epochs,
            "seeds": self.seeds,
            "fit_accuracy": self.fit_accuracy,
        }
        for labels in LABELS:
            entry: dict[str, Any] = {}
            for key in KEYS:
                c = self.curve(labels, key)
                entry[key] = c.mean(axis=0).tolist()
                entry[f"{key}_std"] = sample_std(c, axis=0).tolist()
            fits = self.epochs_to_fit(labels)
            done = [e for e in fits if e is not None]
            entry["epochs_to_fit"] = fits
            entry["fitted_seeds"] = len(done)
            entry["mean_epochs_to_fit"] = float(np.mean(done)) if done else None
            entry["seconds"] = mean_std(self.seconds[labels])
            out[labels] = entry
        return out


def memorize(
    data: Dataset,
    seeds: Sequence[int] = SEEDS,
    *,
    epochs: int = 30,
    train_size: int | None = None,
    settings: TrainSettings | None = None,
    fit_accuracy: float = FIT_ACCURACY,
) -> MemorizeResult:
    """Train the recipe per seed on the true and on shuffled labels, for ``epochs`` each.

    ``settings`` are the recipe's (``nudgenet train``'s defaults), with ``epochs`` replaced;
    ``train_size`` keeps the first that many training images.

    Examples
    --------
    >>> from nudgenet.data import load_mini
    >>> r = memorize(load_mini(), (0,), epochs=1, train_size=100)
    >>> len(r.as_dict()["shuffled"]["train_cost"])  # epoch 0 and epoch 1
    2
    """
    MEMORIZE_EPOCHS.check(epochs)
    seeds = check_seeds(seeds)
    n = len(data.train_labels) if train_size is None else min(train_size, len(data.train_labels))
    base = replace(settings or TrainSettings(), epochs=epochs)
    result = MemorizeResult(data.name, n, epochs, list(seeds), fit_accuracy)
    for labels in LABELS:
        result.histories[labels], result.seconds[labels] = [], []
    # The first run in a process loads the compiled engine: done here, outside the timings.
    fit(Recipe(settings=replace(base, epochs=1)), data, train_size=min(n, 100))
    for seed in seeds:
        shuffled = Dataset(
            data.name,
            data.train_images[:n],
            shuffled_labels(data.train_labels[:n], seed),
            data.test_images,
            data.test_labels,
        )
        for labels, d in (("true", data), ("shuffled", shuffled)):
            start = time.perf_counter()
            model = fit(Recipe(settings=base, seed=seed), d, train_size=n)
            result.seconds[labels].append(time.perf_counter() - start)
            result.histories[labels].append(model.history)
    return result


_COLOURS = {"true": "C0", "shuffled": "C3"}


def memorize_figure(result: MemorizeResult) -> Figure:
    """Training cost, and training and test accuracy, per epoch, for true and shuffled
    labels: the mean over seeds with a band of ± one sample standard deviation."""
    fig, (left, right) = plots.figure(1, 2, size=(11.0, 4.4))
    epochs = np.arange(result.epochs + 1)
    for labels in LABELS:
        colour = _COLOURS[labels]
        c = result.curve(labels, "train_cost")
        m, s = c.mean(axis=0), sample_std(c, axis=0)
        left.plot(epochs, m, color=colour, label=f"{labels} labels")
        left.fill_between(epochs, m - s, m + s, color=colour, alpha=0.25, linewidth=0)
        for key, style in (("train_accuracy", "-"), ("test_accuracy", "--")):
            a = 100 * result.curve(labels, key)
            m, s = a.mean(axis=0), sample_std(a, axis=0)
            right.plot(
                epochs, m, style, color=colour, label=f"{labels}: {key.split('_')[0]} {m[-1]:.1f}%"
            )
            right.fill_between(epochs, m - s, m + s, color=colour, alpha=0.2, linewidth=0)
    right.axhline(10, color="0.5", linestyle=":", linewidth=1, label="chance (10%)")
    right.axhline(100 * result.fit_accuracy, color="0.7", linewidth=0.8)
    left.set_xlabel("epoch")
    left.set_ylabel("training cost C (the seed's quadratic cost)")
    left.set_ylim(0, None)
    left.legend(fontsize="small")
    right.set_xlabel("epoch")
    right.set_ylabel("accuracy (%)")
    right.set_ylim(0, 100)
    right.legend(fontsize="x-small", ncols=2, loc="center right")
    fig.suptitle(
        f"True against shuffled labels: {result.train_size:,} training images of "
        f"{result.data}, mean ± std over seeds {', '.join(map(str, result.seeds))}",
        fontsize="medium",
    )
    return fig
