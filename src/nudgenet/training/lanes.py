"""The lanes engine: a stack's members that share a seed, trained in the lanes of one vector.

Members with the same seed visit the examples in the same order, so a group of them can
take every step together: :mod:`~nudgenet.training.lane_kernels` keeps the group's θs side
by side, parameter p of every member in one vector, and each multiply-add of one network
becomes one vector multiply-add for the whole group (16 members in float32 with AVX-512,
8 in float64). Groups are shared among the cores. Used by
:func:`nudgenet.training.stacked.train_stacked` (``engine="quick"``, as the sweeps train,
picks it for stacks of small networks with several members a seed): a single network's
fast engine leaves most lanes of its vectors empty in the small layers, the activations
and the update, and here every lane is a member.

A group is filled with members of one seed; the lanes left over hold a copy of a member,
never updated. Each member equals training it alone to rounding (the sums are added in
another order), not bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._types import Matrix, Vector
from ..descent import DIVERGENCE_FACTOR, divergence_threshold
from ..network import Network
from . import fast


def lanes(dtype: Any) -> int:
    """Members per group: the numbers of ``dtype`` one vector register holds."""
    from .simd import VECTOR_BYTES

    return VECTOR_BYTES // np.dtype(dtype).itemsize


def _kernels() -> Any:
    from . import lane_kernels

    return lane_kernels


def fill(which: NDArray[Any], dtype: Any) -> float:
    """The share of the groups' lanes that members fill, for members following the orders
    ``which`` (one seed, one order).

    Examples
    --------
    >>> G = lanes("float32")  # 16 with AVX-512, 8 with AVX2
    >>> fill(np.zeros(2 * G + G // 2), "float32")  # two groups full, a third half full
    0.8333333333333334
    """
    G = lanes(dtype)
    counts = np.unique(np.asarray(which), return_counts=True)[1]
    return float(counts.sum() / (G * np.sum(-(-counts // G)))) if len(counts) else 1.0


def _groups(which: NDArray[np.intp], size: int) -> list[NDArray[np.intp]]:
    """The members in groups of at most ``size``, each group following one order."""
    out = []
    for order in np.unique(which):
        members = np.flatnonzero(which == order)
        out.extend(members[i : i + size] for i in range(0, len(members), size))
    return out


def _rows(batch_rows: int, chunk: int) -> int:
    """Rows of a chunk: the batch's, up to ``chunk``, rounded up to whole tiles."""
    tile = _kernels().TILE
    return min(chunk, -(-batch_rows // tile) * tile)


class _Buffers:
    """A group's scratch space for chunks of R rows: activations, errors, gathered rows."""

    def __init__(self, network: Network, groups: int, R: int, G: int, dtype: Any) -> None:
        sizes = network.sizes
        self.R = R
        self.layers = fast.layer_table(network, R)
        self.acts = np.empty((groups, R * sum(sizes[1:]), G), dtype=dtype)
        self.D = np.empty((groups, R * max(sizes[1:]), G), dtype=dtype)
        self.D_prev = np.empty_like(self.D)
        self.scratch = np.empty((groups, 2 * R * G), dtype=dtype)  # softmax's max and sum
        self.xb = np.empty((groups, R, sizes[0]), dtype=dtype)
        self.yb = np.empty((groups, R, sizes[-1]), dtype=dtype)
        self.lanes = np.empty((groups, 8, G), dtype=dtype)  # per-lane numbers as vectors


class LaneStack:
    """Epochs of K networks of one architecture, the members of a seed in the lanes of a
    group, all in one compiled call; the counterpart of :class:`fast.FastStack`."""

    def __init__(
        self,
        network: Network,
        Theta: Matrix,
        X: Matrix,
        Y: Matrix,
        *,
        which: NDArray[np.intp],
        batch_size: int,
        cost: str,
        momentum: NDArray[np.float64],
        l2: NDArray[np.float64],
        baselines: NDArray[np.float64],
    ) -> None:
        k = _kernels()
        self.k = k
        self.Theta = Theta
        self.dtype = Theta.dtype
        self.X = np.ascontiguousarray(X, dtype=self.dtype)
        self.Y = np.ascontiguousarray(Y, dtype=self.dtype)
        n = len(X)
        self.batch_size = n if batch_size == 0 or batch_size >= n else batch_size
        self.steps = -(-n // self.batch_size)
        self.hidden, self.output, self.cost = fast._codes(fast._load_kernels(), network, cost)
        G = self.G = lanes(self.dtype)
        self.groups = _groups(np.asarray(which), G)
        Q = len(self.groups)
        # Lane g of group q is member slots[q, g]; left-over lanes repeat the group's first.
        self.slots = np.array([np.resize(g, G) if len(g) < G else g for g in self.groups])
        self.real = np.zeros((Q, G), dtype=bool)
        for q, g in enumerate(self.groups):
            self.real[q, : len(g)] = True
        self.which = np.array([int(which[g[0]]) for g in self.groups], dtype=np.intp)
        self.ThetaL = np.ascontiguousarray(Theta[self.slots].transpose(0, 2, 1))
        self.VelocityL = np.zeros_like(self.ThetaL)
        self.GradL = np.empty_like(self.ThetaL)
        self.mu = np.asarray(momentum, dtype=np.float64)[self.slots]
        self.lam = np.asarray(l2, dtype=np.float64)[self.slots]
        thresholds = np.array([divergence_threshold(b, DIVERGENCE_FACTOR) for b in baselines])
        self.thr = thresholds[self.slots]
        self.buffers = _Buffers(network, Q, _rows(self.batch_size, k.CHUNK), G, self.dtype)
        # A bound on ‖∂C/∂W¹‖ below this proves that its squares sum without overflow.
        self.big = float(np.sqrt(np.finfo(self.dtype).max)) / 4
        self.done = np.empty((Q, G), dtype=np.int64)
        self.status = np.empty((Q, G), dtype=np.int64)

    def run(
        self,
        orders: NDArray[np.intp],
        which: NDArray[np.intp],
        etas: NDArray[np.float64],
        active: NDArray[np.bool_],
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """As :meth:`fast.FastStack.run`: each active member takes ``etas.shape[1]`` steps;
        returns per member the updates applied and whether it diverged. ``which`` must be
        the one the stack was built with; Θ is written back afterwards."""
        lanes_active = active[self.slots] & self.real
        b = self.buffers
        args = (
            self.ThetaL, self.VelocityL, self.GradL, self.X, self.Y, orders, self.which,
            self.batch_size, np.ascontiguousarray(etas[self.slots].transpose(0, 2, 1)),
            self.mu, self.lam, self.thr, b.layers, self.hidden, self.output, self.cost,
            b.acts, b.D, b.D_prev, b.scratch, b.xb, b.yb, b.lanes, b.R, lanes_active, self.done,
            self.status, self.big,
        )  # fmt: skip
        with fast._numba_threads(fast.threads_to_use(len(self.groups))):
            self.k.run_groups(*args)
        done = np.zeros(len(self.Theta), dtype=np.int64)
        diverged = np.zeros(len(self.Theta), dtype=bool)
        for q, members in enumerate(self.groups):
            m = len(members)
            self.Theta[members] = self.ThetaL[q, :, :m].T
            done[members] = self.done[q, :m]
            diverged[members] = self.status[q, :m] == self.k.DIVERGED
        return done, active & diverged


def measure(
    network: Network, Theta: Matrix, X: Matrix, Y: Matrix, labels: Any, cost: str
) -> tuple[Vector, Vector]:
    """Each network's cost on all of (X, Y) and its fraction of right guesses, (K,) each:
    :func:`~nudgenet.training.stacked.stacked_evaluate`'s numbers (to rounding), the networks
    in the lanes of groups, the groups among the cores."""
    k = _kernels()
    K, n = len(Theta), len(X)
    if K == 0:
        return np.zeros(0), np.zeros(0)
    G = lanes(Theta.dtype)
    groups = _groups(np.zeros(K, dtype=np.intp), G)
    slots = np.array([np.resize(g, G) for g in groups])
    ThetaL = np.ascontiguousarray(Theta[slots].transpose(0, 2, 1))
    b = _Buffers(network, len(groups), k.CHUNK, G, Theta.dtype)
    hidden, output, code = fast._codes(fast._load_kernels(), network, cost)
    totals = np.zeros((len(groups), G))
    right = np.zeros((len(groups), G), dtype=np.int64)
    X = np.ascontiguousarray(X, dtype=Theta.dtype)
    Y = np.ascontiguousarray(Y, dtype=Theta.dtype)
    with fast._numba_threads(fast.threads_to_use(len(groups))):
        k.measure_groups(ThetaL, X, Y, np.asarray(labels, dtype=np.int64), b.layers, hidden,
                         output, code, b.acts, b.scratch, b.xb, b.yb, b.R, totals,
                         right)  # fmt: skip
    cost_of, right_of = np.empty(K), np.empty(K)
    for q, members in enumerate(groups):
        cost_of[members] = totals[q, : len(members)]
        right_of[members] = right[q, : len(members)]
    return cost_of / n, right_of / n
