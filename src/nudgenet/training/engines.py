"""The engines that take a training run's steps, behind one small interface.

:func:`~nudgenet.training.loop.train` is one loop over epochs. What happens inside an epoch,
the updates, is an engine's job: an :class:`EpochRunner` takes the index of the epoch's first
step and the order in which to visit the examples, updates θ in place, and yields one
:class:`~nudgenet.descent.Step` per update. Two engines compute the same numbers:

* **reference** (:class:`ReferenceEpochs`): one Python step per mini-batch through the same
  :func:`~nudgenet.descent.descend` that walks C(w) = (w − 3)², written to be read;
* **fast** (:class:`~nudgenet.training.fast.FastEpochs`): the epoch's steps in one function
  compiled by Numba, many times faster on small networks;
* **blas** (:class:`~nudgenet.training.wide.BlasEpochs`): for wide networks, whose steps are
  nearly all matrix products: the fast engine's compiled epoch with BLAS doing the products,
  into buffers allocated once, each step shared among threads of its own, one per core.

:func:`choose_engine` picks one before the loop starts; :func:`epoch_runner` builds it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import ThreadpoolController

from .._types import Matrix, Vector
from ..backprop import _cost_and_gradient
from ..descent import Step, descend
from ..errors import ConfigError
from ..network import Network
from ..options import ENGINE
from ..schedules import Schedule
from . import fast, wide

# Above this size the matrix products dominate and BLAS beats the compiled loops: one epoch
# of 10,000 images at batch 64 took 0.70 s (reference) against 1.48 s (fast) for
# 784-800-800-10, and about the same on both for 784-100-10 (79,510 parameters). Above it,
# auto picks the BLAS engine.
FAST_MAX_PARAMS = 100_000


class EpochRunner(Protocol):
    """Takes one epoch's updates of θ, in place."""

    blas_threads: int | None
    """How many BLAS threads measuring the network may use between epochs (None: any)."""

    velocity: Vector | None
    """The momentum state v, updated in place by every step (None: momentum off)."""

    def run(self, first_step: int, order: NDArray[np.intp]) -> Generator[Step, None, Step | None]:
        """Visit the examples in ``order``; yield every Step, and return the last (or None)."""
        ...


class ReferenceEpochs:
    """The readable engine: each mini-batch is one step of :func:`~nudgenet.descent.descend`."""

    blas_threads = None

    def __init__(
        self, network: Network, theta: Vector, X: Matrix, Y: Matrix, *, batch_size: int,
        schedule: Schedule, momentum: float, l2: float, cost: str, baseline: float,
        velocity: Vector | None = None,
    ) -> None:  # fmt: skip
        self.network, self.theta, self.X, self.Y = network, theta, X, Y
        self.batch_size, self.schedule, self.momentum = batch_size, schedule, momentum
        self.l2, self.cost, self.baseline = l2, cost, baseline
        self.gradient = np.empty_like(theta)
        self.velocity = start_velocity(theta, velocity) if momentum else None

    def objective(self, theta: Vector, idx: NDArray[np.intp]) -> tuple[float, Vector]:
        """C and ∇C on the mini-batch ``idx`` (with the L2 term)."""
        # A batch of all n rows is 0..n−1 in order: use X itself rather than a copy of it.
        rows = slice(None) if len(idx) == len(self.X) else idx
        return _cost_and_gradient(
            self.network, theta, self.X[rows], self.Y[rows], self.cost, l2=self.l2,
            out=self.gradient,
        )  # fmt: skip

    def run(self, first_step: int, order: NDArray[np.intp]) -> Generator[Step, None, Step | None]:
        """One epoch: the batches are consecutive slices of ``order``."""
        n, size = len(order), self.batch_size
        batches = [(order,)] if size == 0 or size >= n else [
            (order[start : start + size],) for start in range(0, n, size)
        ]  # fmt: skip
        step = None
        for step in descend(
            self.objective, self.theta, self.schedule, batches=batches, start=first_step,
            momentum=self.momentum, velocity=self.velocity, baseline=self.baseline,
        ):  # fmt: skip
            yield step
        return step


class _FastEpochs(fast.FastEpochs):
    """The compiled engine, measured on one BLAS thread: after a product, BLAS's helper
    threads spin for a while, taking the cores that the compiled steps' own threads need."""

    blas_threads = 1


RUNNERS: dict[str, type[ReferenceEpochs] | type[_FastEpochs] | type[wide.BlasEpochs]] = {
    "reference": ReferenceEpochs,
    "fast": _FastEpochs,
    "blas": wide.BlasEpochs,
}
"""The runner class of each engine that :func:`choose_engine` can return."""


def epoch_runner(
    engine: str, network: Network, theta: Vector, X: Matrix, Y: Matrix, *, batch_size: int,
    schedule: Schedule, momentum: float, l2: float, cost: str, baseline: float,
    velocity: Vector | None = None,
) -> EpochRunner:  # fmt: skip
    """The runner of ``engine`` ("reference", "fast" or "blas", as :func:`choose_engine` returns).

    ``baseline`` is the cost at θ₀ of what the steps measure: the training set's C plus the
    L2 term (λ/2)‖W‖², so that a step counts as diverged only against its own kind of cost
    (:func:`~nudgenet.descent.divergence_threshold`). ``velocity``, when given, is the
    momentum state to start from and to update in place (see :func:`start_velocity`).
    """
    if velocity is not None:
        velocity = start_velocity(theta, velocity)  # checked before either engine keeps it
    return RUNNERS[engine](
        network, theta, X, Y, batch_size=batch_size, schedule=schedule, momentum=momentum,
        l2=l2, cost=cost, baseline=baseline, velocity=velocity,
    )  # fmt: skip


def start_velocity(theta: Vector, velocity: Vector | None) -> Vector:
    """The momentum state a runner updates: the caller's ``velocity`` itself (so that the
    caller sees every step's), or zeros, the state of a fresh start."""
    if velocity is None:
        return np.zeros_like(theta)
    if velocity.shape != theta.shape or velocity.dtype != theta.dtype:
        raise ConfigError(
            f"the momentum velocity has shape {velocity.shape} and dtype {velocity.dtype}, "
            f"but θ has {theta.shape} and {theta.dtype}",
            help="pass one velocity per parameter, in θ's dtype (zeros for a fresh start)",
        )
    return velocity


def choose_engine(engine: str, network: Network, dtype: Any) -> str:
    """The engine that will train: the one asked for, or for "auto" the one that wins here
    and can run (fast up to ``FAST_MAX_PARAMS`` parameters, blas above, else reference).

    Raises :class:`ConfigError` for an unknown name, or for "fast" or "blas" where it cannot
    run.

    Examples
    --------
    >>> choose_engine("reference", Network(), np.float32)
    'reference'
    >>> choose_engine("auto", Network((784, 800, 800, 10)), np.float16)
    'reference'
    """
    ENGINE.check(engine)
    if engine == "reference":
        return engine
    wanted = engine
    if engine == "auto":
        wanted = "blas" if network.n_params > FAST_MAX_PARAMS else "fast"
    module = wide if wanted == "blas" else fast
    reason = module.unsupported(network, dtype)
    if reason is None:
        return wanted
    if engine != "auto":
        raise ConfigError(
            f"the {engine} engine cannot train here: {reason}",
            help="use the reference engine (--engine reference), or auto to pick for you",
        )
    return "reference"


def blas_threads(limit: int | None) -> contextlib.AbstractContextManager[Any]:
    """Limit NumPy's BLAS to ``limit`` threads inside the block (None: leave it alone)."""
    if limit is None:
        return contextlib.nullcontext()
    return ThreadpoolController().limit(limits=limit, user_api="blas")
