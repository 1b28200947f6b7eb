"""The BLAS engine: the reference engine's steps for wide networks, with no temporary arrays.

On a wide network (784-800-800-10: 1.3 million parameters) a step is nearly all matrix
products, which BLAS does at close to the processor's peak; what the reference engine loses
is around them: every NumPy expression allocates a new array and reads and writes it once
more, and the update alone (``v *= μ; v -= η∇C; θ += v``, each over 1.3 million numbers) took
a fifth of the step. This engine computes the same steps (same batches, cost, gradient,
schedule, momentum, L2 and divergence rule) with:

* the epoch's steps in one compiled call (:mod:`nudgenet.training.wide_kernels`), with no
  Python between the products;
* every product written by BLAS into a buffer allocated once, with the activations and
  errors feature-major, (n, r), one column per example, so that every product has the
  weights on the left (Wa, Wᵀδ, δaᵀ), the layout OpenBLAS runs fastest at batches of 64;
* the rest of a step as the fast engine's compiled passes: the bias and activation, the
  output layer with its cost and δᴸ, σ′, ‖∇C‖ (with the L2 term) and the checks, then, only
  if they pass, the update of θ and v in place. A step that diverges is thus not taken, and
  θ stays as it was;
* threads of its own, one per core, each of whose BLAS calls runs on that thread alone.
  Each chunk of a batch is shared among them by units (every layer's units cut into one run
  per thread, which computes its rows of every product, of the activations, of ‖∇C‖ and of
  the update) or, for chunks of many examples, by examples (:func:`by_examples`; the module
  notes of :mod:`~nudgenet.training.wide_kernels` say why).

Batches of more than ``CHUNK_ROWS`` examples (fewer on many cores: ``SHARES_BYTES``) go
through in chunks of that many rows, their gradients added up, so the buffers stay a few MB
(and a gradient's size per thread, cut by examples) whatever the batch size. Notation as
in :mod:`nudgenet.backprop`, but for the layout: W has shape (n_out, n_in).

Differences a user can see: parameters equal the reference engine's to rounding (sums are
added in another order), not bit for bit; an epoch's Step records arrive together at its
end, as with the fast engine. It needs Numba; ``auto`` picks it above ``engines.FAST_MAX_PARAMS``
parameters where Numba is installed.
"""

from __future__ import annotations

import functools
import os
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import ThreadpoolController

from .._types import Matrix, Vector
from ..descent import DIVERGENCE_FACTOR, divergence_threshold
from ..network import Network
from ..schedules import Schedule
from .fast import CompiledEpochs, layer_table

# Rows per chunk of a large batch: 1,024 rows of 800 float32 numbers are 3.2 MB per buffer.
CHUNK_ROWS = 1024
# At most this much for the shares of the errors moved back (see BlasEpochs).
SHARES_BYTES = 64 * 2**20
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


def by_examples(rows: int, parts: int, widest: int) -> bool:
    """Whether the threads share a chunk of ``rows`` examples by examples rather than by
    units: when each part's examples are at least half the widest layer's units.

    Cut by units, each thread's products read all of the chunk's activations, so each BLAS
    call packs all of them anew; cut by examples, each packs the weights anew and the
    parts' gradients must be added up. Measured on 784-256-256-10 and 784-800-800-10 (2
    cores), the two were level near that point and each faster on its side of it."""
    return rows >= parts * widest / 2


class BlasEpochs(CompiledEpochs):
    """Runs epochs of mini-batch SGD on θ in place, one compiled call each, BLAS doing the
    products into buffers made once."""

    blas_threads = None

    def __init__(
        self, network: Network, theta: Vector, X: Matrix, Y: Matrix, *, batch_size: int,
        schedule: Schedule, momentum: float, l2: float, cost: str, baseline: float,
        velocity: Vector | None = None,
    ) -> None:  # fmt: skip
        super().__init__(network, X, Y, theta.dtype, batch_size, cost)
        loaded = _load()
        if isinstance(loaded, str):  # pragma: no cover - callers check unsupported() first
            raise ImportError(loaded)
        self.k = loaded
        self.theta, self.schedule, self.baseline = theta, schedule, baseline
        self.momentum, self.l2 = float(momentum), float(l2)
        # The compiled steps compare each step's cost, L2 term included, with this.
        self.threshold = divergence_threshold(baseline, DIVERGENCE_FACTOR)
        dt = self.dtype
        sizes, widest = network.sizes, max(network.sizes[1:])
        largest = max(n_out * n_in for (n_out, n_in), _ in network.layout.shapes)
        self.parts = parts = usable_cores()
        # Cut by units, every part writes its share of each error moved back, twice over:
        # on many cores, smaller chunks keep those shares within SHARES_BYTES.
        per_row = 2 * parts * widest * dt.itemsize
        self.rows = rows = min(self.batch_size, CHUNK_ROWS, max(1, SHARES_BYTES // per_row))
        self.layers = layer_table(network, rows)
        # The velocity is the caller's, when given, so that the caller sees every step's.
        self.velocity = np.zeros_like(theta) if velocity is None else velocity
        self.grad = np.empty_like(theta)
        self.sums = np.empty((parts, 2))  # each part's Σ (∂C/∂θ)² and ‖W‖²
        self.totals = np.zeros(parts)  # each part's Σ of costs, cut by examples
        self.by_examples = by_examples(rows, parts, widest)
        # Cut by units: a chunk's rows of X, softmax's two numbers per example, the
        # activations, δ (seen as (n, r) blocks) and each part's share of the error moved
        # back (and the shares of the layer before); a large batch's chunks write their
        # ∂C/∂W in ``part`` before adding it in.
        unit_rows = 0 if self.by_examples else rows
        self.x = np.empty((unit_rows, sizes[0]), dtype=dt)
        self.scratch = np.empty(2 * unit_rows, dtype=dt)
        self.acts = np.empty(unit_rows * sum(sizes[1:]), dtype=dt)
        self.delta = np.empty(unit_rows * widest, dtype=dt)
        self.moved = np.empty((parts, unit_rows * widest), dtype=dt)
        self.moving = np.empty_like(self.moved)
        chunked = self.batch_size > rows
        self.part = np.empty(largest if chunked and not self.by_examples else 0, dtype=dt)
        # Cut by examples: the same for each part's run of a chunk, and its gradient.
        per = -(-rows // parts) if self.by_examples else 0
        self.e_layers = layer_table(network, per)
        self.e_x = np.empty((parts, per, sizes[0]), dtype=dt)
        self.e_acts = np.empty((parts, per * sum(sizes[1:])), dtype=dt)
        self.e_D = np.empty((parts, per * widest), dtype=dt)
        self.e_D_prev = np.empty_like(self.e_D)
        self.e_grads = np.empty((parts, network.n_params if self.by_examples else 0), dtype=dt)
        self.e_part = np.empty((parts, largest if chunked and self.by_examples else 0), dtype=dt)
        self.e_scratch = np.empty((parts, 2 * per), dtype=dt)
        self.costs = np.empty(self.steps)
        self.norms = np.empty(self.steps)
        self.controller = ThreadpoolController()
        self._epoch(np.arange(self.n), np.empty(0))  # compile (or load) now, with no steps

    def _epoch(self, order: NDArray[np.intp], etas: NDArray[np.float64]) -> tuple[int, int]:
        """Each chunk shared among one thread per core this process may run on, whatever
        other programs are doing, so that the same seed gives the same numbers under any load
        (sums are added up part by part); BLAS's own threads are held at one meanwhile. The
        full batch reads X in place, in order."""
        whole = self.batch_size == self.n
        with self.controller.limit(limits=1, user_api="blas"):
            return self.k.run_steps(  # type: ignore[no-any-return]
                self.theta, self.velocity, self.grad, self.X, self.Y,
                np.arange(self.n) if whole else order, self.batch_size, etas, self.momentum,
                self.l2, self.threshold, self.layers, self.hidden, self.output, self.cost,
                self.acts, self.delta, self.moved, self.moving, self.part, self.x, self.scratch,
                self.sums, self.costs, self.norms, self.rows, whole, self.parts,
                self.by_examples, self.e_layers, self.e_x, self.e_acts, self.e_D, self.e_D_prev,
                self.e_grads, self.e_part, self.e_scratch, self.totals,
            )  # fmt: skip
