"""The BLAS engine: the reference engine's steps for wide networks, with no temporary arrays.

On a wide network (784-800-800-10: 1.3 million parameters) a step is nearly all matrix
products, which BLAS does at close to the processor's peak; what the reference engine loses
is around them: every NumPy expression allocates a new array and reads and writes it once
more, and the update alone (``v *= μ; v -= η∇C; θ += v``, each over 1.3 million numbers) took
a fifth of the step. This engine computes the same steps (same batches, cost, gradient,
schedule, momentum, L2 and divergence rule) with:

* every product written by BLAS into a buffer allocated once (``np.matmul(..., out=)``);
* the activations and their derivatives each one compiled pass over the block in cache
  (:mod:`nudgenet.training.wide_kernels`);
* the update in one compiled pass, ∇C, θ and v read once, θ′ and v′ written once, with
  ‖∇C‖ and the next step's ‖W‖² summed on the way. It writes θ′ and v′ into a second pair of
  buffers, so that a step that turns out to diverge is simply not taken; θ and its twin
  take turns, and the caller's θ holds the result at the end of each epoch (or of a step
  that diverged).

Batches of more than ``CHUNK_ROWS`` examples go through in chunks of that many rows, their
gradients added up, so the buffers stay a few MB (and one gradient's size) whatever the
batch size. Notation as
in :mod:`nudgenet.backprop`: rows are examples, W has shape (n_out, n_in).

Differences a user can see: parameters equal the reference engine's to rounding (sums are
added in another order), not bit for bit; an epoch's Step records arrive together at its
end, as with the fast engine. It needs Numba; ``auto`` picks it above ``engines.FAST_MAX_PARAMS``
parameters where Numba is installed.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Generator
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import ThreadpoolController

from .._types import Matrix, Vector
from ..backprop import output_error
from ..cost import get_cost, output_cost
from ..descent import DIVERGENCE_FACTOR, Step, _check_divergence
from ..errors import ConfigError, DivergenceError
from ..network import Network
from ..schedules import Schedule, check_learning_rate

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
        self.cost, self.baseline = cost, baseline
        n = len(X)
        self.batch_size = n if batch_size == 0 or batch_size >= n else batch_size
        rows = min(self.batch_size, CHUNK_ROWS)
        layout = network.layout
        dt = theta.dtype
        # θ and its twin, and the velocity and its twin, take turns (see the module's notes).
        self.thetas = [theta, np.empty_like(theta)]
        # The first velocity is the caller's, when given, so that the caller sees every step's.
        first = np.zeros_like(theta) if velocity is None else velocity
        self.velocities = [first, np.zeros_like(theta)]
        self.current = 0
        self.views = [layout.views(t) for t in self.thetas]
        self.grad = np.empty_like(theta)
        self.grads = layout.views(self.grad)
        self.pieces = self.k.pieces(layout.offsets, layout.shapes)
        # A large batch's chunks add their ∂C/∂W here (NumPy's matmul cannot add into out).
        self.chunk_dW = (
            [np.empty_like(W) for W, _ in self.views[0]] if self.batch_size > rows else None
        )
        self.x = np.empty((rows, network.sizes[0]), dtype=dt)
        self.y = np.empty((rows, network.sizes[-1]), dtype=dt)
        self.z = [np.empty((rows, n_out), dtype=dt) for n_out in network.sizes[1:]]
        self.a = [np.empty((rows, n_out), dtype=dt) for n_out in network.sizes[1:-1]]
        self.d = [np.empty((rows, n_out), dtype=dt) for n_out in network.sizes[1:-1]]
        self.hidden_code = HIDDEN.index(network.activation)
        self.c = get_cost(cost, network.output)
        # ‖W‖² of θ as the update pass sums it (a step of η = 0 into the twins), so that a
        # run resumed from θ reports the same costs as one straight through.
        self.grad[:] = 0
        _, self.weight_squares = self.k.update(
            theta,
            self.velocities[0],
            self.grad,
            self.pieces,
            0.0,
            0.0,
            0.0,
            self.thetas[1],
            self.velocities[1],
        )
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
        finally:
            self._settle()
        yield from steps
        if error is not None:
            raise error
        return steps[-1] if steps else None

    def _settle(self) -> None:
        """Leave the result in the caller's θ (and the velocity in the first buffer)."""
        if self.current:
            self.thetas[0][:] = self.thetas[1]
            self.velocities[0][:] = self.velocities[1]
            self.current = 0

    def _step(self, k: int, rows: NDArray[np.intp]) -> Step | None:
        """Step k on the examples ``rows``: the gradient, the checks, the update."""
        eta = float(self.schedule(k))
        check_learning_rate(eta)
        m = len(rows)
        whole = m == len(self.X)  # the full batch: read X in place, in order
        total = 0.0
        for start in range(0, m, CHUNK_ROWS):
            chunk = slice(start, min(m, start + CHUNK_ROWS))
            if whole:
                x, y = self.X[chunk], self.Y[chunk]
            else:
                r = chunk.stop - start
                x = np.take(self.X, rows[chunk], axis=0, out=self.x[:r])  # (r, n_in)
                y = np.take(self.Y, rows[chunk], axis=0, out=self.y[:r])  # (r, n_out)
            total += self._add_chunk(x, y, m, first=start == 0)
        C = total / m
        if self.l2:
            C += 0.5 * self.l2 * self.weight_squares  # (λ/2)‖W‖², as l2_term
        now, then = self.current, 1 - self.current
        grad_squares, weight_squares = self.k.update(
            self.thetas[now], self.velocities[now], self.grad, self.pieces, eta, self.momentum,
            self.l2, self.thetas[then], self.velocities[then],
        )  # fmt: skip
        norm = math.sqrt(grad_squares)
        _check_divergence(k, eta, C, norm, self.baseline, DIVERGENCE_FACTOR)
        if norm <= 0.0:
            return None
        self.current, self.weight_squares = then, weight_squares
        return Step(k, eta, C, norm)

    def _add_chunk(self, x: Matrix, y: Matrix, m: int, *, first: bool) -> float:
        """Add the gradient of the rows (x, y), a chunk of a batch of m, into self.grad (set
        it, if ``first``); return their summed cost."""
        network, r = self.network, len(x)
        views = self.views[self.current]
        L = len(views)
        acts = [x]
        for l, (W, b) in enumerate(views):
            z = self.z[l][:r]
            np.matmul(acts[-1], W.T, out=z)  # (r, n_in) @ (n_in, n_out) -> (r, n_out)
            if l < L - 1:
                self.k.bias_activate(z, b, self.hidden_code, self.a[l][:r])  # aˡ = σ(z + b)
                acts.append(self.a[l][:r])
        z += b  # the output layer's zᴸ: (r, n_out), small
        a = network.out.function(z)
        total = output_cost(self.c, network.output, z, a, y) * r
        delta = output_error(network, self.cost, a, y)  # δᴸ, (r, n_out), over r rows
        if r != m:
            delta *= r / m  # … of a batch of m
        for l in range(L - 1, -1, -1):
            dW, db = self.grads[l]
            if first:  # ∂C/∂Wˡ = δᵀ aˡ⁻¹, written by BLAS straight into the gradient
                np.matmul(delta.T, acts[l], out=dW)  # (n_out, r) @ (r, n_in) -> (n_out, n_in)
                np.sum(delta, axis=0, out=db)
            else:
                assert self.chunk_dW is not None
                dW += np.matmul(delta.T, acts[l], out=self.chunk_dW[l])
                db += delta.sum(axis=0)
            if l > 0:
                prev = self.d[l - 1][:r]
                np.matmul(delta, views[l][0], out=prev)  # (r, n_out) @ (n_out, n_in)
                self.k.times_derivative(prev, acts[l], self.hidden_code)
                delta = prev
        return total
