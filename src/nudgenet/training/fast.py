"""The fast training engine: the reference engine's mathematics, one compiled call per epoch.

The seed's network is tiny (13,002 parameters), so what decides its training speed is not
arithmetic but overhead: a mini-batch step of 10 examples is about 0.5 MFLOP, which a core
does in a few microseconds, while one trip through Python and NumPy per step costs tens of
microseconds. :func:`nudgenet.training.loop.train` with the reference engine is written to be read;
this engine computes the same thing (the same shuffled batches from the same random stream,
the same cost, gradient, schedule, momentum, L2 and divergence check) with a whole epoch of
steps inside one function compiled by Numba (see :mod:`nudgenet.training.kernels`).

Differences a user can see:

* the :class:`~nudgenet.descent.Step` records of an epoch (one per update, with the numbers
  the reference engine would report) arrive together after the epoch's compiled call, and
  carry no copies of θ;
* parameters equal the reference engine's to rounding error (sums are added in another
  order), not bit for bit;
* the first use on a machine compiles the kernels (a few seconds); they are cached on disk.

Batches of 48 examples or more are cut into slices that Numba's threads share (all of them,
or fewer while other programs keep cores busy, since a step waits for its slowest thread).
The slices fix the order of the sums, so the numbers depend on the batch size and on
Numba's thread count (``NUMBA_NUM_THREADS``), never on timing: the same seed gives the same
bits on the same machine. A wide first layer is instead cut by units among the threads, in
batches of a middling size (:func:`cuts` holds the rule); that changes no bit of θ where
the batch would not be sliced.

Numba is optional: without it (or with ``NUDGENET_DISABLE_NUMBA=1`` set), ``engine="auto"``
trains with the reference engine.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._types import Matrix, Vector, aligned_copy, aligned_empty, is_aligned
from ..descent import DIVERGENCE_FACTOR, Step, _check_divergence, divergence_threshold
from ..network import Network
from ..schedules import Schedule, check_learning_rate

# A batch is cut into slices that threads share only where each slice gets at least this
# many examples: smaller ones are not worth waking a second thread for (measured on 2 cores,
# two threads break even with one at a batch of about 40).
MIN_SLICE_ROWS = 24
# A first layer of at least two runs of this many units is cut among the threads by units
# instead (each thread keeps its share of W¹, ∂C/∂W¹ and v in its own cache, and no slices'
# gradients are added), in batches of MIN_PART_ROWS to MAX_PART_ROWS examples. Measured on
# 2 cores, 784-100-10: by units 15–30% faster at batch 32 and about 20% at 64 to 128 than
# one thread or slices; 8% slower at 1000 than slices; at batch 10 15% faster alone, but
# 10% slower with PyTorch and JAX loaded in the same process, so not cut.
MIN_PART_UNITS = 32
MIN_PART_ROWS = 16
MAX_PART_ROWS = 256


@functools.cache
def _load_kernels() -> ModuleType | str:
    """The compiled kernels' module, or why it cannot be loaded."""
    try:
        from . import kernels
    except ImportError:
        return "it needs Numba, which is not installed (pip install numba)"
    except Exception as exc:  # e.g. Numba finds no place to cache the compiled kernels
        return f"Numba could not load its kernels ({type(exc).__name__}: {exc})"
    return kernels


def unsupported(network: Network, dtype: Any) -> str | None:
    """Why the fast engine cannot train this network in this dtype, or None when it can."""
    if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        return f"it computes in float32 or float64, not {np.dtype(dtype)}"
    if os.environ.get("NUDGENET_DISABLE_NUMBA"):
        return "NUDGENET_DISABLE_NUMBA is set"
    kernels = _load_kernels()
    return kernels if isinstance(kernels, str) else None


def slice_count(batch_rows: int) -> int:
    """Into how many slices a batch is cut, each summed on its own, then added in order.

    As many as Numba has threads, but with at least ``MIN_SLICE_ROWS`` examples each (1: no
    slicing). The slicing fixes the order of the sums, so the numbers depend only on the
    batch size and Numba's thread count, not on how many threads then share the slices (see
    :func:`threads_to_use`) or on which finishes first.
    """
    import numba

    return max(1, min(int(numba.config.NUMBA_NUM_THREADS), batch_rows // MIN_SLICE_ROWS))


def cuts(network: Network, batch_rows: int) -> tuple[int, int]:
    """(slices, parts): into how many slices of examples a batch is cut, each summed on its
    own (see :func:`slice_count`), and among how many threads its first layer's units are
    cut (1: not cut). Never both.

    Cutting by units leaves each unit's sums as they are, so θ does not depend on the parts;
    the slices fix the order of the sums. Alone and in a stack, a network is cut the same
    way, so that its members take the same steps as it does alone.
    """
    import numba

    units = network.sizes[1] // MIN_PART_UNITS
    if units >= 2 and MIN_PART_ROWS <= batch_rows <= MAX_PART_ROWS:
        return 1, max(1, min(int(numba.config.NUMBA_NUM_THREADS), units))
    return slice_count(batch_rows), 1


def threads_to_use(slices: int) -> int:
    """How many threads to run the slices on now: one per slice, but no more than there are
    cores not kept busy by other programs (a step waits for its slowest thread, and a thread
    waiting for a busy core stalls every step)."""
    cores = os.cpu_count() or 1
    try:
        busy = min(_runnable_elsewhere() for _ in range(3))
    except (OSError, IndexError, ValueError):  # not Linux: assume the cores are free
        busy = 0
    return max(1, min(slices, cores - busy))


def _runnable_elsewhere() -> int:
    """Threads of other processes running or waiting for a core right now (Linux /proc)."""
    # /proc/loadavg's 4th field is "runnable/total" over the whole machine; our own threads
    # (this one, BLAS helpers still spinning after a matrix product, ...) are in it too.
    runnable = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
    ours = 0
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):  # the thread may have ended meanwhile
            ours += (task / "stat").read_text().rsplit(")", 1)[1].split()[0] == "R"
    return max(0, runnable - ours)


def layer_table(network: Network, chunk: int) -> NDArray[np.int64]:
    """Per layer: n_in, n_out, where W starts in θ, where its activations start in a buffer
    of ``chunk`` examples (the kernels' map of θ and of their scratch space)."""
    sizes = network.sizes
    act_at = np.cumsum([0, *(chunk * n for n in sizes[1:])])
    return np.array(
        [(sizes[l], sizes[l + 1], network.layout.offsets[l], act_at[l])
         for l in range(network.layout.n_layers)],
        dtype=np.int64,
    )  # fmt: skip


def work_buffers(
    network: Network, chunk: int, slices: int, dtype: Any, *lead: int
) -> tuple[NDArray[Any], ...]:
    """Scratch space for a batch cut into ``slices`` slices, worked ``chunk`` examples at a
    time: each slice's activations, its errors δ of one layer and of the next (the second
    also holds the softmax's two numbers per example) and its gradient. ``lead`` prepends
    axes: one set of buffers per network of a stack. Each starts on a 64-byte boundary, so
    that the rows of the activations and errors, a whole number of vectors long, are
    aligned too."""
    sizes = network.sizes
    acts = aligned_empty((*lead, slices, chunk * sum(sizes[1:])), dtype)
    D, D_prev = (aligned_empty((*lead, slices, chunk * max(*sizes[1:], 2)), dtype) for _ in "DD")
    partial = aligned_empty((*lead, slices, network.n_params), dtype)
    return acts, D, D_prev, partial


def _codes(kernels: ModuleType, network: Network, cost: str) -> tuple[int, int, int]:
    """The kernels' codes for the hidden activation, the output layer and the cost."""
    codes = {"sigmoid": kernels.SIGMOID, "tanh": kernels.TANH, "relu": kernels.RELU,
             "softmax": kernels.SOFTMAX}  # fmt: skip
    costs = {"quadratic": kernels.QUADRATIC, "cross-entropy": kernels.CROSS_ENTROPY}
    return codes[network.activation], codes[network.output], costs[cost]


@contextlib.contextmanager
def _numba_threads(threads: int) -> Iterator[None]:
    """Run Numba's parallel loops on ``threads`` threads inside the block, those threads
    started first (see ``kernels.start_threads``)."""
    import numba

    from . import kernels

    before = numba.get_num_threads()
    threads = max(1, min(threads, numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(threads)
    if threads > 1:
        kernels.start_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def largest_input(X: Matrix) -> float:
    """max |x| over X, which bounds ∂C/∂W¹ for the kernels' fused steps (``_fused_step``);
    −1 where it is not finite (they then never fuse). Two passes over X, no copy of it."""
    largest = max(float(X.max(initial=0)), -float(X.min(initial=0)))
    return largest if np.isfinite(largest) else -1.0


class _Compiled:
    """What every compiled run needs: the kernels, the data as they read it, the batch size,
    the codes of the activations and cost, and the map of θ and of the scratch space."""

    def __init__(
        self, network: Network, X: Matrix, Y: Matrix, dtype: Any, batch_size: int, cost: str
    ) -> None:
        kernels = _load_kernels()
        if isinstance(kernels, str):  # pragma: no cover - callers check unsupported() first
            raise ImportError(kernels)
        self.k = kernels
        self.dtype = np.dtype(dtype)
        # The kernels read rows in place: only data not already C-ordered in θ's dtype are
        # copied, once, onto a 64-byte boundary (never only to align them).
        self.X, self.Y = (
            A if A.dtype == self.dtype and A.flags.c_contiguous else aligned_copy(A, self.dtype)
            for A in (np.asarray(X), np.asarray(Y))
        )
        self.n = n = len(X)
        self.batch_size = n if batch_size == 0 or batch_size >= n else batch_size
        self.steps = -(-n // self.batch_size)
        self.hidden, self.output, self.cost = _codes(kernels, network, cost)
        self.layers = layer_table(network, kernels.CHUNK)


class CompiledEpochs(_Compiled):
    """An engine whose epoch is one compiled call, :meth:`_epoch`; this turns its results
    into the Step records (and errors) the reference engine gives."""

    schedule: Schedule
    baseline: float
    costs: NDArray[np.float64]
    norms: NDArray[np.float64]

    def _epoch(self, order: NDArray[np.intp], etas: NDArray[np.float64]) -> tuple[int, int]:
        """Run the steps with learning rates ``etas``: (steps done, the kernels' status)."""
        raise NotImplementedError

    def run(self, first_step: int, order: NDArray[np.intp]) -> Iterator[Step]:
        """One epoch visiting the examples in ``order``; yields the record of every step.

        Returns (as the generator's value) that Step, or None when no step was taken. Raises
        :class:`DivergenceError` or :class:`ConfigError` where the reference engine would,
        with θ as the reference engine would have left it.
        """
        etas = np.array([self.schedule(first_step + s) for s in range(self.steps)], dtype=float)
        bad = np.flatnonzero(~(np.isfinite(etas) & (etas > 0)))
        runnable = etas[: bad[0]] if len(bad) else etas
        done, status = self._epoch(order, runnable)
        # One record per update, as the reference engine gives: the costs feed progress bars,
        # per-step cost plots and the web page's live curve. ``map`` makes them in C's loop.
        records = (range(first_step, first_step + done), etas[:done].tolist(),
                   self.costs[:done].tolist(), self.norms[:done].tolist())  # fmt: skip
        yield from map(Step, *records)
        if status == self.k.DIVERGED:
            _check_divergence(
                first_step + done, float(etas[done]), float(self.costs[done]),
                float(self.norms[done]), self.baseline, DIVERGENCE_FACTOR,
            )  # fmt: skip
            raise AssertionError("unreachable: _check_divergence raises")  # pragma: no cover
        if status == self.k.DONE and len(bad):
            check_learning_rate(float(etas[bad[0]]))
        return Step(*(r[-1] for r in records)) if done else None


class FastEpochs(CompiledEpochs):
    """Runs epochs of mini-batch SGD on θ in place, one compiled call each.

    Holds the buffers (allocated once, a few kB to a few MB) and the settings, so that
    :meth:`run` only shuffles, computes the epoch's learning rates and calls the kernel.
    """

    def __init__(
        self,
        network: Network,
        theta: Vector,
        X: Matrix,
        Y: Matrix,
        *,
        batch_size: int,
        schedule: Schedule,
        momentum: float,
        l2: float,
        cost: str,
        baseline: float,
        velocity: Vector | None = None,
    ) -> None:
        super().__init__(network, X, Y, theta.dtype, batch_size, cost)
        n = self.n
        self.theta = theta
        self.schedule = schedule
        self.momentum = float(momentum)
        self.l2 = float(l2)
        # The kernels compare each step's cost, L2 term included, with the rule of descend.
        self.threshold = divergence_threshold(baseline, DIVERGENCE_FACTOR)
        self.baseline = baseline
        slices, self.parts = cuts(network, self.batch_size)
        self.acts, self.D, self.D_prev, self.partial = work_buffers(
            network, self.k.CHUNK, slices, self.dtype
        )
        # The steps run on θ itself when it starts on a 64-byte boundary, else on an aligned
        # copy, copied in and back around every call: the first layer's register tiles load
        # whole vectors of W¹ and ∂C/∂W¹, and at batch 10 a step of the seed network took
        # about 15% longer when they straddled cache lines.
        self.work = theta if is_aligned(theta) else aligned_empty(theta.shape, theta.dtype)
        self.gradient = aligned_empty(theta.shape, theta.dtype)
        # The kernels read it only with momentum on, and then update it in place.
        if velocity is None:
            velocity = aligned_empty(theta.shape, theta.dtype)
            velocity[:] = 0
        self.velocity = velocity
        self.costs = np.empty(self.steps)
        self.norms = np.empty(self.steps)
        self.xmax = largest_input(self.X)
        # Load (or, the first time on this machine, compile) the kernels now, with no steps,
        # so that the first epoch's time is the epoch's.
        no_steps = np.empty(0)
        self._call(np.arange(n), no_steps, 1)
        if slices > 1 or self.parts > 1:
            self._call(np.arange(n), no_steps, 2)

    def _epoch(self, order: NDArray[np.intp], etas: NDArray[np.float64]) -> tuple[int, int]:
        """On as many threads as the cores allow for the slices or the parts."""
        return self._call(order, etas, threads_to_use(max(len(self.partial), self.parts)))

    def _call(
        self, order: NDArray[np.intp], etas: NDArray[np.float64], threads: int
    ) -> tuple[int, int]:
        """Run the steps with learning rates ``etas`` on ``threads`` threads (see run_steps)."""
        args = (
            self.work, self.velocity, self.gradient, self.X, self.Y, order, self.batch_size,
            etas, self.momentum, self.l2, self.threshold, self.layers, self.hidden,
            self.output, self.cost, self.acts, self.D, self.D_prev, self.partial,
            self.costs, self.norms,
        )  # fmt: skip
        copied = self.work is not self.theta
        if copied:
            self.work[:] = self.theta
        try:
            with _numba_threads(threads):  # the parts' threads, or the slices'
                if len(self.partial) == 1 or threads == 1:
                    return self.k.run_steps(*args, self.parts, self.xmax)  # type: ignore[no-any-return]
                return self.k.run_steps_parallel(*args)  # type: ignore[no-any-return]
        finally:
            if copied:
                self.theta[:] = self.work


class FastStack(_Compiled):
    """Epochs of K networks of one architecture (a stack), all in one compiled call.

    Each network k trains exactly as :class:`FastEpochs` would train it alone (the same
    slices, so the same θ bit for bit; where alone its first layer is cut by units, its
    ‖∇C‖ and L2 term add up in another order), with its own θ = ``Theta[k]``, momentum, L2
    and divergence threshold; the networks are shared out among the cores, which one
    network's small steps could not keep busy. Used by :mod:`nudgenet.training.stacked`.
    """

    def __init__(
        self,
        network: Network,
        Theta: Matrix,
        X: Matrix,
        Y: Matrix,
        *,
        batch_size: int,
        cost: str,
        momentum: NDArray[np.float64],
        l2: NDArray[np.float64],
        baselines: NDArray[np.float64],
    ) -> None:
        super().__init__(network, X, Y, Theta.dtype, batch_size, cost)
        n, K = self.n, len(Theta)
        self.Theta = Theta
        self.momentum = np.asarray(momentum, dtype=np.float64)
        self.l2 = np.asarray(l2, dtype=np.float64)
        self.thresholds = np.array([divergence_threshold(b, DIVERGENCE_FACTOR) for b in baselines])
        self.acts, self.D, self.D_prev, self.partial = work_buffers(
            network, self.k.CHUNK, cuts(network, self.batch_size)[0], self.dtype, K
        )
        self.gradient = np.empty_like(Theta)
        self.velocity = np.zeros_like(Theta)
        self.costs = np.empty((K, self.steps))
        self.norms = np.empty((K, self.steps))
        self.done = np.empty(K, dtype=np.int64)
        self.status = np.empty(K, dtype=np.int64)
        self.xmax = largest_input(self.X)
        # Load (or compile, the first time on this machine) before the first epoch's clock.
        self.run(
            np.arange(n)[None],
            np.zeros(K, dtype=np.intp),
            np.empty((K, 0)),
            np.zeros(K, dtype=bool),
        )

    def run(
        self,
        orders: NDArray[np.intp],
        which: NDArray[np.intp],
        etas: NDArray[np.float64],
        active: NDArray[np.bool_],
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """Each active network k takes ``etas.shape[1]`` steps over ``orders[which[k]]`` at
        the rates ``etas[k]`` (the others take none); returns, per network, how many updates
        were applied and whether it diverged (at the step after those, leaving θ as it was
        before that step, as ``train`` does). A network whose gradient is exactly zero ends
        its epoch there, as in ``train``. ``self.costs[k, s]`` and ``self.norms[k, s]`` hold
        step s's cost and ‖∇C‖."""
        counts = np.where(active, etas.shape[1], 0).astype(np.int64)
        threads = threads_to_use(self.partial.shape[1] * len(self.Theta))
        if np.count_nonzero(active) < threads and self.partial.shape[1] > 1:
            # Fewer networks than cores, and batches cut into slices: the cores share each
            # network's slices instead, one network after the other (the same numbers).
            self.done[:], self.status[:] = 0, self.k.DONE
            for k in np.flatnonzero(active):
                self.done[k], self.status[k] = self._one(k, orders[which[k]], etas[k], threads)
        else:
            args = (
                self.Theta, self.velocity, self.gradient, self.X, self.Y, orders, which,
                self.batch_size, etas, counts, self.momentum, self.l2, self.thresholds,
                self.layers, self.hidden, self.output, self.cost, self.acts,
                self.D, self.D_prev, self.partial, self.costs, self.norms, self.done,
                self.status, self.xmax,
            )  # fmt: skip
            with _numba_threads(min(threads, len(self.Theta))):
                self.k.run_members(*args)
        return self.done, active & (self.status == self.k.DIVERGED)

    def _one(
        self, k: int, order: NDArray[np.intp], etas: NDArray[np.float64], threads: int
    ) -> tuple[int, int]:
        """Network k's steps by :func:`run_steps_parallel`, its slices on ``threads`` threads."""
        args = (
            self.Theta[k], self.velocity[k], self.gradient[k], self.X, self.Y, order,
            self.batch_size, etas, self.momentum[k], self.l2[k], self.thresholds[k],
            self.layers, self.hidden, self.output, self.cost, self.acts[k],
            self.D[k], self.D_prev[k], self.partial[k], self.costs[k], self.norms[k],
        )  # fmt: skip
        with _numba_threads(threads):
            return self.k.run_steps_parallel(*args)  # type: ignore[no-any-return]


def measure_stack(
    network: Network, Theta: Matrix, X: Matrix, Y: Matrix, labels: Any, cost: str
) -> tuple[Vector, Vector]:
    """Each network's cost on all of (X, Y) and its fraction of right guesses, (K,) each:
    :func:`~nudgenet.training.stacked.stacked_evaluate`'s numbers (to rounding), compiled.

    Per block of rows, the first layer of every network is one wide BLAS product (the rows
    are read once for all K networks); the other layers, the costs and the guesses are
    one compiled pass, the networks shared among the cores (``kernels.measure_members``).
    """
    kernels = _load_kernels()
    assert not isinstance(kernels, str)  # callers check unsupported() first
    K, n = len(Theta), len(X)
    if K == 0:
        return np.zeros(0), np.zeros(0)
    hidden, output, code = _codes(kernels, network, cost)
    layers = layer_table(network, kernels.CHUNK)
    n_in, n1 = network.sizes[0], network.sizes[1]
    W1 = Theta[:, : n1 * n_in].reshape(K * n1, n_in)  # every network's W¹, one under another
    acts, D, D_prev, _ = work_buffers(network, kernels.CHUNK, 1, Theta.dtype, K)
    acts, D, D_prev = acts[:, 0], D[:, 0], D_prev[:, 0]
    totals, right = np.zeros(K), np.zeros(K, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    X = X.astype(Theta.dtype, copy=False)
    Y = np.ascontiguousarray(Y, dtype=Theta.dtype)
    rows = max(256, (1 << 21) // (K * n1))  # a block's products: a few MB
    with _numba_threads(threads_to_use(K)):
        for start in range(0, n, rows):
            block = slice(start, start + rows)
            Z1 = X[block] @ W1.T  # (r, n_in) @ (n_in, K·n₁) -> (r, K·n₁)
            kernels.measure_members(Z1, Theta, Y[block], labels[block], layers, hidden, output,
                                    code, acts, D, D_prev, totals, right)  # fmt: skip
    return totals / n, right / n
