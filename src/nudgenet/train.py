"""Training the digit network: mini-batch stochastic gradient descent, epoch by epoch.

Each epoch shuffles the training examples (indices only; the data set is never copied),
cuts them into mini-batches of ``batch_size`` (the last may be smaller; 0 means the whole
set, i.e. full-batch gradient descent) and takes one step θ ← θ − η∇C per batch through
the same :func:`~nudgenet.descent.descend` used for the one-parameter example. After each
epoch it measures the seed's cost C on the whole training set and, given test data, the
test cost and accuracy.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._types import Matrix, Vector
from .backprop import _cost_and_gradient, check_targets, evaluate_cost
from .cost import COSTS
from .descent import Step, descend
from .errors import ConfigError
from .network import Network, accuracy
from .schedules import check_learning_rate, make_schedule


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

    def __post_init__(self) -> None:
        check_learning_rate(self.lr)
        if not (isinstance(self.epochs, int) and self.epochs >= 1):
            raise ConfigError(f"epochs must be a positive integer, got {self.epochs!r}")
        if not (isinstance(self.batch_size, int) and self.batch_size >= 0):
            raise ConfigError(
                f"batch size must be a non-negative integer, got {self.batch_size!r}",
                help="0 means the whole training set in every step (full-batch descent)",
            )
        if not 0.0 <= self.momentum < 1.0:
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum}")
        if not self.l2 >= 0.0:
            raise ConfigError(f"l2 must be ≥ 0, got {self.l2}")
        if self.cost not in COSTS:
            raise ConfigError(f"unknown cost {self.cost!r}; choose one of {', '.join(COSTS)}")

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
    if batch_size == 0 or batch_size >= n:
        yield np.arange(n)
        return
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


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
) -> Iterator[Step | Epoch]:
    """Train θ in place by mini-batch SGD, yielding a Step per update and an Epoch per epoch.

    The first record is epoch 0: the untrained network's cost and accuracy.

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
    """
    network.check_inputs(X)
    check_targets(network, X, Y)
    X = X.astype(theta.dtype, copy=False)
    Y = Y.astype(theta.dtype, copy=False)
    if labels is None:
        labels = np.argmax(Y, axis=1)
    if test is not None:
        network.check_inputs(test[0], "the test inputs")
        test = (test[0].astype(theta.dtype, copy=False), test[1])
    s = settings
    n = len(X)
    per_epoch = steps_per_epoch(n, s.batch_size)
    schedule = make_schedule(
        s.schedule, s.lr, total_steps=per_epoch * s.epochs, steps_per_epoch=per_epoch
    )
    gradient = np.empty_like(theta)
    velocity = np.zeros_like(theta) if s.momentum else None

    def objective(theta: Vector, idx: NDArray[np.intp]) -> tuple[float, Vector]:
        # A full batch is the whole set, in any order: use it as is rather than copy it.
        Xb, Yb = (X, Y) if len(idx) == n else (X[idx], Y[idx])
        return _cost_and_gradient(network, theta, Xb, Yb, s.cost, l2=s.l2, out=gradient)

    def measure(epoch: int, steps: int, learning_rate: float, seconds: float) -> Epoch:
        return Epoch(
            epoch=epoch,
            steps=steps,
            learning_rate=learning_rate,
            train_cost=evaluate_cost(network, theta, X, Y, s.cost),
            train_accuracy=accuracy(network, theta, X, labels),
            test_cost=None if test is None else _test_cost(network, theta, test, s.cost),
            test_accuracy=None if test is None else accuracy(network, theta, *test),
            seconds=seconds,
        )

    # Epoch 0: the untrained network, the baseline against which learning (and a blow-up)
    # is measured.
    start_record = measure(0, 0, float(schedule(0)), 0.0)
    yield start_record
    k = 0
    for epoch in range(1, s.epochs + 1):
        start = time.perf_counter()
        batches = ((idx,) for idx in minibatches(n, s.batch_size, rng))
        step = None
        for step in descend(
            objective, theta, schedule, batches=batches, start=k,
            momentum=s.momentum, velocity=velocity, baseline=start_record.train_cost,
        ):  # fmt: skip
            yield step
        k += per_epoch
        seconds = time.perf_counter() - start
        yield measure(epoch, k, step.learning_rate if step else float(schedule(k - 1)), seconds)


def _test_cost(network: Network, theta: Vector, test: tuple[Matrix, Any], cost: str) -> float:
    X, labels = test
    Y = np.eye(network.sizes[-1], dtype=theta.dtype)[np.asarray(labels)]
    return evaluate_cost(network, theta, X, Y, cost)
