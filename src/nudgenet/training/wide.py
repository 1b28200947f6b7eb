"""The BLAS engine: the reference engine's steps for wide networks, with no temporary arrays.

On a wide network (784-800-800-10: 1.3 million parameters) a step is nearly all matrix
products, which BLAS does at close to the processor's peak; what the reference engine loses
is around them: every NumPy expression allocates a new array and reads and writes it once
more, and the update alone (``v *= μ; v -= η∇C; θ += v``, each over 1.3 million numbers) took
a fifth of the step. This engine computes the same steps (same batches, cost, gradient,
schedule, momentum, L2 and divergence rule) with:

* every product written by BLAS into a buffer allocated once (``np.matmul(..., out=)``),
  with the activations and errors feature-major, (n, r), one column per example, so that
  every product has the weights on the left (Wa, Wᵀδ, δaᵀ), the layout OpenBLAS runs
  fastest at batches of 64;
* the rest of a step as the fast engine's compiled passes
  (:mod:`nudgenet.training.wide_kernels`): the bias and activation, the output layer with
  its cost and δᴸ, σ′, and the end of the step: ‖∇C‖ (with the L2 term) and the checks in
  one pass over ∇C, then, only if they pass, the update of θ and v in place in a second.
  A step that diverges is thus not taken, and θ stays as it was.

Batches of more than ``CHUNK_ROWS`` examples go through in chunks of that many rows, their
gradients added up, so the buffers stay a few MB (and one gradient's size) whatever the
batch size. Notation as in :mod:`nudgenet.backprop`, but for the layout: W has shape
(n_out, n_in).

Differences a user can see: parameters equal the reference engine's to rounding (sums are
added in another order), not bit for bit; an epoch's Step records arrive together at its
end, as with the fast engine. It needs Numba; ``auto`` picks it above ``engines.FAST_MAX_PARAMS``
parameters where Numba is installed.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Generator
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import ThreadpoolController

from .._types import Matrix, Vector
from ..descent import DIVERGENCE_FACTOR, Step, _check_divergence, divergence_threshold
from ..errors import ConfigError, DivergenceError
from ..network import Network
from ..schedules import Schedule, check_learning_rate
from .fast import _codes, layer_table

# Rows per chunk of a large batch: 1,024 rows of 800 float32 numbers are 3.2 MB per buffer.
CHUNK_ROWS = 1024
HIDDEN = ("sigmoid", "tanh", "relu")


@functools.cache
def _load() -> ModuleType | str:
    """The compiled passes' module, or why it cannot be loaded."""
    try:
        from . import wide_kernels
    except ImportError:
        return "it needs Numba, which is not installed (pip install numba)"
    except Exception as exc:  # e.g. Numba finds no place to cache the compiled passes
        return f"Numba could not load its passes ({type(exc).__name__}: {exc})"
    return wide_kernels


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def unsupported(network: Network, dtype: Any) -> str | None:
    """Why the BLAS engine cannot train this network in this dtype, or None when it can."""
    if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        return f"it computes in float32 or float64, not {np.dtype(dtype)}"
    if network.activation not in HIDDEN:
        return f"its hidden layers are {', '.join(HIDDEN)}, not {network.activation}"
    if os.environ.get("NUDGENET_DISABLE_NUMBA"):
        return "NUDGENET_DISABLE_NUMBA is set"
    loaded = _load()
    return loaded if isinstance(loaded, str) else None


class BlasEpochs:
    """Runs epochs of mini-batch SGD on θ in place: BLAS products into buffers made once."""

    blas_threads = None

    def __init__(
        self, network: Network, theta: Vector, X: Matrix, Y: Matrix, *, batch_size: int,
        schedule: Schedule, momentum: float, l2: float, cost: str, baseline: float,
        velocity: Vector | None = None,
    ) -> None:  # fmt: skip
        loaded = _load()
        if isinstance(loaded, str):  # pragma: no cover - callers check unsupported() first
            raise ImportError(loaded)
        self.k = loaded
        self.network, self.theta, self.X, self.Y = network, theta, X, Y
        self.schedule, self.momentum, self.l2 = schedule, float(momentum), float(l2)
        self.baseline = baseline
        # The compiled end of a step compares its cost, L2 term included, with this.
        self.threshold = divergence_threshold(baseline, DIVERGENCE_FACTOR)
        n = len(X)
        self.batch_size = n if batch_size == 0 or batch_size >= n else batch_size
        rows = min(self.batch_size, CHUNK_ROWS)
        dt = theta.dtype
        # The velocity is the caller's, when given, so that the caller sees every step's.
        self.velocity = np.zeros_like(theta) if velocity is None else velocity
        self.views = network.layout.views(theta)
        self.grad = np.empty_like(theta)
        self.grads = network.layout.views(self.grad)
        self.layers = layer_table(network, rows)
        self.hidden, self.output, self.cost = _codes(self.k, network, cost)
        # A large batch's chunks add their ∂C/∂W here (NumPy's matmul cannot add into out).
        self.chunk_dW = (
            [np.empty_like(W) for W, _ in self.views] if self.batch_size > rows else None
        )
        self.x = np.empty((rows, network.sizes[0]), dtype=dt)
        self.every = np.arange(n)  # the full batch's rows, in order
        # Flat buffers of the activations aˡ and the errors δˡ, each seen as (n, r) by
        # _block; softmax's two numbers per example go in the scratch space.
        self.a = [np.empty(rows * n_out, dtype=dt) for n_out in network.sizes[1:]]
        self.d = [np.empty(rows * n_out, dtype=dt) for n_out in network.sizes[1:]]
        self.scratch = np.empty(2 * rows, dtype=dt)
        self.controller = ThreadpoolController()

    def run(self, first_step: int, order: NDArray[np.intp]) -> Generator[Step, None, Step | None]:
        """One epoch visiting the examples in ``order``; yields the record of every step.

        Raises :class:`DivergenceError` or :class:`ConfigError` where the reference engine
        would, with θ as the reference engine would have left it.
        """
        n, size = len(order), self.batch_size
        steps: list[Step] = []
        error: Exception | None = None
        # One BLAS thread per core this process may run on, whatever other programs are
        # doing: OpenBLAS's float32 products change in their last bits with the number of
        # threads, so a count that followed the load would give the same seed other numbers.
        # (On cores other programs keep busy this is slower: a product waits for its
        # slowest thread.)
        try:
            with self.controller.limit(limits=usable_cores(), user_api="blas"):
                for i, start in enumerate(range(0, n, size)):
                    step = self._step(first_step + i, order[start : start + size])
                    if step is None:  # ∇C is exactly zero: the epoch ends, as in descend
                        break
                    steps.append(step)
        except (DivergenceError, ConfigError) as exc:
            error = exc
        yield from steps
        if error is not None:
            raise error
        return steps[-1] if steps else None

    def _step(self, k: int, rows: NDArray[np.intp]) -> Step | None:
        """Step k on the examples ``rows``: the gradient, then (compiled) the checks and the
        update, which is taken only where the checks pass."""
        eta = float(self.schedule(k))
        check_learning_rate(eta)
        m = len(rows)
        whole = m == len(self.X)  # the full batch: read X in place, in order
        if whole:
            rows = self.every
        total = 0.0
        for start in range(0, m, CHUNK_ROWS):
            chunk = rows[start : start + CHUNK_ROWS]
            if whole:
                x = self.X[start : start + len(chunk)]
            else:
                x = np.take(self.X, chunk, axis=0, out=self.x[: len(chunk)])  # (r, n_in)
            total += self._add_chunk(x, chunk, m, first=start == 0)
        C, norm, status = self.k.finish_step(
            self.theta, self.velocity, self.grad, total, m, eta, self.momentum, self.l2,
            self.threshold, self.layers,
        )  # fmt: skip
        if status == self.k.DIVERGED:
            _check_divergence(k, eta, C, norm, self.baseline, DIVERGENCE_FACTOR)
            raise AssertionError("unreachable: _check_divergence raises")  # pragma: no cover
        if status == self.k.FLAT:
            return None
        return Step(k, eta, C, norm)

    def _add_chunk(self, x: Matrix, rows: NDArray[np.intp], m: int, *, first: bool) -> float:
        """Add the gradient of the examples ``rows`` (inputs x), a chunk of a batch of m,
        into self.grad (set it, if ``first``); return their summed cost.

        Inside, activations and errors are feature-major, (n, r): one column per example,
        as in the fast engine, whose compiled passes these are. Then every product has the
        weights on the left, Wa or Wᵀδ, which OpenBLAS runs faster at r = 64 than the same
        products example-major (aWᵀ ran at about 75 % of δW's rate).
        """
        r, k = len(x), self.k
        views = self.views
        L = len(views)
        acts = [x.T]  # (n_in, r), a view of the rows
        for l, (W, b) in enumerate(views):
            z = _block(self.a[l], len(W), r)
            np.matmul(W, acts[-1], out=z)  # (n_out, n_in) @ (n_in, r) -> (n_out, r)
            if l < L - 1:
                k.hidden(z, b, self.hidden, self.scratch)  # aˡ = σ(zˡ + bˡ)
            acts.append(z)
        delta = _block(self.d[L - 1], len(z), r)
        total = k.output(z, b, self.Y, rows, m, self.output, self.cost, delta, self.scratch)
        for l in range(L - 1, -1, -1):
            dW, db = self.grads[l]
            if first:  # ∂C/∂Wˡ = δ aˡ⁻¹ᵀ, written by BLAS straight into the gradient
                np.matmul(delta, acts[l].T, out=dW)  # (n_out, r) @ (r, n_in) -> (n_out, n_in)
                np.sum(delta, axis=1, out=db)
            else:
                assert self.chunk_dW is not None
                dW += np.matmul(delta, acts[l].T, out=self.chunk_dW[l])
                db += delta.sum(axis=1)
            if l > 0:
                W = views[l][0]
                back = _block(self.d[l - 1], W.shape[1], r)
                np.matmul(W.T, delta, out=back)  # (n_in, n_out) @ (n_out, r) -> (n_in, r)
                k.times_derivative(back, acts[l], self.hidden)
                delta = back
        return total


def _block(buffer: Vector, n: int, r: int) -> Matrix:
    """The first n·r numbers of a flat buffer as a C-contiguous (n, r) block, which BLAS can
    write into in place (a slice of columns of an (n, CHUNK_ROWS) array could not be)."""
    return buffer[: n * r].reshape(n, r)
