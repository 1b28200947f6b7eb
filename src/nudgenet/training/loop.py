"""Training the digit network: mini-batch stochastic gradient descent, epoch by epoch.

Each epoch shuffles the training examples (indices only; the data set is never copied),
cuts them into mini-batches of ``batch_size`` (the last may be smaller; 0 means the whole
set, i.e. full-batch gradient descent) and takes one step θ ← θ − η∇C per batch through
the same :func:`~nudgenet.descent.descend` used for the one-parameter example. After each
epoch it measures the seed's cost C on the whole training set and, given test data, the
test cost and accuracy.

The updates inside an epoch are an engine's job (:mod:`nudgenet.training.engines`): the
**reference** engine is the loop above, written to be read, one Python step per batch
through ``descend``; the **fast** engine (:mod:`nudgenet.training.fast`) runs each epoch in
one compiled call, many times faster on the seed's tiny network. ``engine="auto"`` (the
default) picks the fast one whenever it can run (Numba installed) and wins; both give the
same Epoch records and parameters equal to rounding error.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import options
from .._types import Matrix, Vector, aligned_copy
from ..backprop import check_targets, l2_term
from ..cost import get_cost, one_hot, output_cost
from ..data.augment import SIDE, distort
from ..descent import Step
from ..errors import ConfigError
from ..network import Network, _forward
from ..schedules import LEARNING_RATE, build_schedule
from .engines import RUNNERS, blas_threads, choose_engine, epoch_runner


@dataclass(frozen=True)
class TrainSettings:
    """How to train: each field is a ``nudgenet train`` option of the same name."""

    epochs: int = 10
    batch_size: int = 10  # 0: full batch (plain gradient descent)
    lr: float = 1.0  # η, for the seed's cost (no ½; see nudgenet.cost)
    schedule: str = "constant"  # constant | step | exponential | inverse-time | cosine
    momentum: float = 0.0  # classical momentum μ; 0 is off
    l2: float = 0.0  # weight decay λ on the weights; 0 is off
    cost: str = "quadratic"  # quadratic (the seed's) | cross-entropy
    augment: str = "none"  # none | affine | elastic | both: distort the digits every epoch

    def __post_init__(self) -> None:
        options.EPOCHS.check(self.epochs)
        options.BATCH_SIZE.check(self.batch_size)
        LEARNING_RATE.check(self.lr)
        options.SCHEDULE.check(self.schedule)
        options.MOMENTUM.check(self.momentum)
        options.L2.check(self.l2)
        options.COST.check(self.cost)
        options.AUGMENT.check(self.augment)

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-ready values."""
        return asdict(self)


@dataclass(frozen=True)
class Epoch:
    """The network after one pass over the training set."""

    epoch: int  # 0 is the untrained network
    steps: int  # updates so far
    learning_rate: float  # η of the last step
    train_cost: float  # the seed's C over the whole training set
    train_accuracy: float
    test_cost: float | None
    test_accuracy: float | None
    seconds: float  # wall time of the epoch's updates

    def as_dict(self) -> dict[str, Any]:
        """The record as plain JSON-ready values."""
        return asdict(self)


def minibatches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[NDArray[np.intp]]:
    """Shuffled index batches covering 0..n−1 once; the last batch may be smaller.

    Examples
    --------
    >>> [b.tolist() for b in minibatches(5, 2, np.random.default_rng(0))]
    [[2, 4], [3, 0], [1]]
    """
    order = epoch_order(n, batch_size, rng)
    if batch_size == 0 or batch_size >= n:
        yield order
        return
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def epoch_order(n: int, batch_size: int, rng: np.random.Generator) -> NDArray[np.intp]:
    """The order in which one epoch visits examples 0..n−1: shuffled, unless one batch holds all.

    Both engines draw it from ``rng`` the same way, so the same seed gives the same batches.
    """
    if batch_size == 0 or batch_size >= n:
        return np.arange(n)
    return rng.permutation(n)


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Number of updates in one epoch of n examples."""
    return 1 if batch_size == 0 else -(-n // batch_size)


def train(
    network: Network,
    theta: Vector,
    X: Matrix,
    Y: Matrix,
    settings: TrainSettings,
    *,
    rng: np.random.Generator,
    test: tuple[Matrix, NDArray[Any]] | None = None,
    labels: NDArray[Any] | None = None,
    engine: str = "auto",
    augment_rng: np.random.Generator | None = None,
    velocity: Vector | None = None,
    done: int = 0,
    baseline: float | None = None,
) -> Iterator[Step | Epoch]:
    """Train θ in place by mini-batch SGD, yielding Step and Epoch records.

    The first record is epoch 0: the untrained network's cost and accuracy. The reference
    engine yields a Step per update as it takes it; the fast engine yields them in a burst after
    each compiled epoch.

    A run stopped after ``done`` epochs goes on from epoch ``done + 1`` when given what it
    had then: θ, ``rng`` in the state it was in, the ``velocity`` and the ``baseline``; the
    schedule continues from step ``done × steps_per_epoch``, and the steps are those the run
    would have taken had it never stopped.

    Parameters
    ----------
    network : Network
    theta : ndarray of shape (n_params,), updated in place
    X : ndarray of shape (n, sizes[0]), the training inputs (cast to θ's dtype once)
    Y : ndarray of shape (n, sizes[-1]), the training targets (one-hot)
    settings : TrainSettings
    rng : numpy.random.Generator, used only to shuffle
    test : (X_test, labels_test), optional, measured after each epoch
    labels : ndarray of shape (n,), optional; the training labels, for train accuracy
    engine : "auto", "reference" or "fast"
        Which engine takes the steps; "auto" picks :func:`choose_engine`'s choice.
    augment_rng : numpy.random.Generator, optional
        Draws the distortions when ``settings.augment`` asks for them (the inputs must then be
        28 × 28 images). Each epoch trains on freshly distorted copies of X; the costs and
        accuracies are measured on X itself.
    velocity : ndarray of θ's shape and dtype, optional
        The momentum state, updated in place (zeros: a fresh start); the caller keeps it,
        to resume later. Without it the engine keeps its own.
    done : int
        Epochs already done (0: a fresh run, which first reports epoch 0).
    baseline : float, optional
        With ``done`` > 0: the epoch-0 cost, L2 term included (:func:`divergence_baseline`),
        that divergence is measured against.
    """
    network.check_inputs(X)
    check_targets(network, X, Y, settings.cost)
    if settings.augment != "none":
        check_augmentable(network, augment_rng)
    X = X.astype(theta.dtype, copy=False)
    Y = Y.astype(theta.dtype, copy=False)
    if labels is None:
        labels = np.argmax(Y, axis=1)
    Y_test = None
    if test is not None:
        network.check_inputs(test[0], "the test inputs")
        test = (test[0].astype(theta.dtype, copy=False), test[1])
        Y_test = one_hot(np.asarray(test[1]), network.sizes[-1], theta.dtype)
    engine = choose_engine(engine, network, theta.dtype)
    s = settings
    n = len(X)
    per_epoch = steps_per_epoch(n, s.batch_size)
    schedule = build_schedule(
        s.schedule, s.lr, total_steps=per_epoch * s.epochs, steps_per_epoch=per_epoch
    )
    threads = RUNNERS[engine].blas_threads

    def measure(epoch: int, steps: int, learning_rate: float, seconds: float) -> Epoch:
        with blas_threads(threads):
            train_cost, train_accuracy = _cost_and_accuracy(network, theta, X, Y, labels, s.cost)
            test_cost = test_accuracy = None
            if test is not None:
                test_cost, test_accuracy = _cost_and_accuracy(
                    network, theta, test[0], Y_test, test[1], s.cost
                )
        return Epoch(epoch, steps, learning_rate, train_cost, train_accuracy, test_cost,
                     test_accuracy, seconds)  # fmt: skip

    if done == 0:
        # Epoch 0: the untrained network, the baseline against which learning (and a
        # blow-up) is measured.
        start_record = measure(0, 0, float(schedule(0)), 0.0)
        yield start_record
        baseline = divergence_baseline(network, theta, start_record.train_cost, s.l2)
    elif baseline is None or not 0 < done <= s.epochs:
        raise ConfigError(
            f"cannot go on after epoch {done} of {s.epochs} without the run's baseline cost",
            help="resume from a checkpoint (Model.checkpoint), which holds both",
        )
    # The runner reads its inputs afresh each epoch, so augmentation rewrites them in place.
    inputs = X if s.augment == "none" else aligned_copy(X)
    runner = epoch_runner(
        engine, network, theta, inputs, Y, batch_size=s.batch_size, schedule=schedule,
        momentum=s.momentum, l2=s.l2, cost=s.cost, baseline=baseline, velocity=velocity,
    )  # fmt: skip
    k = done * per_epoch
    for epoch in range(done + 1, s.epochs + 1):
        start = time.perf_counter()
        if s.augment != "none":
            distort(X, s.augment, augment_rng, out=inputs)
        step = yield from runner.run(k, epoch_order(n, s.batch_size, rng))
        k += per_epoch
        seconds = time.perf_counter() - start
        yield measure(epoch, k, step.learning_rate if step else float(schedule(k - 1)), seconds)


def check_augmentable(network: Network, rng: np.random.Generator | None) -> None:
    """Raise :class:`ConfigError` unless augmentation can run: 28 × 28 inputs and a generator."""
    if network.sizes[0] != SIDE * SIDE:
        raise ConfigError(
            f"augmentation distorts 28 × 28 images, but the network takes {network.sizes[0]} "
            "inputs",
            help="train without --augment, or on 28 × 28 images (784 inputs)",
        )
    if rng is None:
        raise ConfigError(
            "augmentation needs a random generator to draw its distortions",
            help="pass augment_rng (training.recipe.Run gives each run its own stream)",
        )


def divergence_baseline(network: Network, theta: Vector, train_cost: float, l2: float) -> float:
    """The cost at θ₀ that a step's cost is compared with: C₀, plus (λ/2)‖W‖² with L2 on,
    since a step's cost carries that term too."""
    return train_cost + (l2_term(network, theta, l2) if l2 else 0.0)


def _cost_and_accuracy(
    network: Network, theta: Vector, X: Matrix, Y: Matrix, labels: Any, cost: str
) -> tuple[float, float]:
    """The cost C(θ) on (X, Y) and the fraction of correct guesses, from one forward pass
    (cross-entropy from the output layer's pre-activations z, as in training)."""
    activations, z = _forward(network, theta, X)
    a = activations[-1]  # (n, n_out)
    C = output_cost(get_cost(cost, network.output), network.output, z, a,
                    Y.astype(a.dtype, copy=False))  # fmt: skip
    return C, float(np.mean(np.argmax(a, axis=1) == np.asarray(labels)))
