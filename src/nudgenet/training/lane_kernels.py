"""Compiled kernels of the lanes engine: a stack of networks, one network per lane of a vector.

A sweep trains many networks of one architecture, and the members that share a seed see the
same mini-batches in the same order. Here a group of such members (16 in float32 with
AVX-512) is stored *across* the lanes of the CPU's vectors: row p of a group's matrix
Θ (n_params, lanes) holds parameter p of every member. Each multiply-add of the single
network's equations (:mod:`nudgenet.backprop`'s) becomes one vector multiply-add for the
whole group, so

* the small layers (16 × 16, 16 × 10) and the elementwise work (σ, σ′, the costs, the
  update), which leave a single network's vectors mostly empty, run with every lane full;
* each input pixel x is read once per group and broadcast to every lane; the first layer's
  products are register tiles of 2 units × 10 examples (4 × 5 for a last five), no sums
  across the lanes. A group's W¹ (16 members wide: 800 kB in float32) lives in L2, so
  each row of it read or written for ten examples at once halves that traffic against
  tiles of five (a stacked sweep 8–13 % faster, the same bits). Those tiles hold 20
  vectors of sums in registers, as AVX-512's 32 allow. With AVX2's 16 the first layer
  goes in tiles of 2 units × 5 examples only (``PAIR_UNITS`` 0, ``TILE_UNITS`` 2): their
  10 sums keep two rows of W¹ per broadcast input, where tiles of 1 unit × 10 read ten
  inputs per row and chain ten multiply-adds on one sum. The same sums in the same order.

The rows a layer holds are laid out one row per (unit, example): unit j of a layer and
example e of the chunk is row ``at + j·R + e``, R the chunk's rows, so that ``_activate``
and ``_times_derivative`` of :mod:`~nudgenet.training.kernels` apply unchanged to the
(n_units, R·lanes) view. A chunk's examples are gathered into a buffer padded with zero
rows up to a whole tile; the padded examples get δ = 0, so they add nothing.

A step's checks (cost, divergence, a zero gradient) come before the first layer's weight
gradient, which is most of the work: they read the cost, the other layers' gradients and a
bound ‖∂C/∂W¹‖ ≤ Σ ‖δ¹‖‖x‖ that proves it finite. Without momentum or L2, a batch of one
chunk then never stores that gradient: the first layer's rows of Θ take −η δ¹ xᵀ directly.
Each thread flushes subnormal numbers to zero while it runs a group (saturated sigmoids
would otherwise make every step a few times slower).

Each member takes the steps :mod:`~nudgenet.training.kernels` takes for it alone (the same
batches, cost, gradient, L2, momentum, divergence and zero-gradient checks), with the sums in
another order: results equal the fast and reference engines' to rounding, not bit for bit.

Numba caches these kernels on disk against this file's contents only (see
:mod:`~nudgenet.training.simd` for what to do after editing that module).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .kernels import (
    _ENTRY,
    _OPTIONS,
    CROSS_ENTROPY,
    DIVERGED,
    DONE,
    FLAT,
    QUADRATIC,
    SIGMOID,
    _activate,
    _times_derivative,
)
from .simd import (
    VECTOR_REGISTERS,
    _flush_subnormals,
    _fma,
    _load,
    _restore_subnormals,
    _select,
    _splat,
    _store,
)

TILE = 5  # examples per small register tile: 4 units × 5 examples are 20 vector accumulators
CHUNK = 40  # most rows worked at once (a multiple of TILE): 40 rows of 784 inputs are 125 kB
# Units per tile of ten examples (0: no such tiles) and per tile of five. With 32 registers,
# 2 × 10 and 4 × 5, 20 vectors of sums (or of errors) each; with 16, tiles of 2 × 5 only, 10
# vectors (on an AVX2 Zen 3, a stacked epoch's training 11 % faster than 1 × 10 and 1 × 5).
PAIR_UNITS = 2 if VECTOR_REGISTERS >= 32 else 0
TILE_UNITS = 4 if VECTOR_REGISTERS >= 32 else 2

__all__ = ["CHUNK", "DIVERGED", "DONE", "FLAT", "TILE", "measure_groups", "run_groups"]


# --------------------------------------------------------------------------- first layer


@njit(inline="always", **_OPTIONS)
def _affine_tile(xb, e, T, w, n_in, A, a, R, units):
    """A[a + (j)·R + e + t] = T[bias row] + Σ_p T[w + j·n_in + p] xb[e + t, p] for the
    ``units`` (4, 2 or 1) units whose weight rows start at w and bias row at ``a``'s unit."""
    zero = _splat(T.dtype.type(0))
    s00 = s01 = s02 = s03 = s04 = zero
    s10 = s11 = s12 = s13 = s14 = zero
    s20 = s21 = s22 = s23 = s24 = zero
    s30 = s31 = s32 = s33 = s34 = zero
    for p in range(n_in):
        x0, x1, x2 = _splat(xb[e, p]), _splat(xb[e + 1, p]), _splat(xb[e + 2, p])
        x3, x4 = _splat(xb[e + 3, p]), _splat(xb[e + 4, p])
        u = _load(T, w + p, 0)
        s00, s01, s02 = _fma(u, x0, s00), _fma(u, x1, s01), _fma(u, x2, s02)
        s03, s04 = _fma(u, x3, s03), _fma(u, x4, s04)
        if units >= 2:
            u = _load(T, w + n_in + p, 0)
            s10, s11, s12 = _fma(u, x0, s10), _fma(u, x1, s11), _fma(u, x2, s12)
            s13, s14 = _fma(u, x3, s13), _fma(u, x4, s14)
        if units == 4:
            u = _load(T, w + 2 * n_in + p, 0)
            s20, s21, s22 = _fma(u, x0, s20), _fma(u, x1, s21), _fma(u, x2, s22)
            s23, s24 = _fma(u, x3, s23), _fma(u, x4, s24)
            u = _load(T, w + 3 * n_in + p, 0)
            s30, s31, s32 = _fma(u, x0, s30), _fma(u, x1, s31), _fma(u, x2, s32)
            s33, s34 = _fma(u, x3, s33), _fma(u, x4, s34)
    for t, s in enumerate((s00, s01, s02, s03, s04)):
        _store(A, a + e + t, 0, s)
    if units >= 2:
        for t, s in enumerate((s10, s11, s12, s13, s14)):
            _store(A, a + R + e + t, 0, s)
    if units == 4:
        for t, s in enumerate((s20, s21, s22, s23, s24)):
            _store(A, a + 2 * R + e + t, 0, s)
        for t, s in enumerate((s30, s31, s32, s33, s34)):
            _store(A, a + 3 * R + e + t, 0, s)


@njit(inline="always", **_OPTIONS)
def _affine_pair(xb, e, T, w, n_in, A, a, R, units):
    """:func:`_affine_tile` for ``units`` (2 or 1) units and 2 · TILE examples: each row of
    W¹'s lanes read serves ten examples (the 4 × 5 tile reads each row twice a batch of ten,
    and W¹ of a group, 16 members wide, does not stay in L1). Each sum runs over p in the
    same order as in that tile, so the numbers are the same."""
    zero = _splat(T.dtype.type(0))
    s00 = s01 = s02 = s03 = s04 = s05 = s06 = s07 = s08 = s09 = zero
    s10 = s11 = s12 = s13 = s14 = s15 = s16 = s17 = s18 = s19 = zero
    for p in range(n_in):
        x0, x1, x2 = _splat(xb[e, p]), _splat(xb[e + 1, p]), _splat(xb[e + 2, p])
        x3, x4, x5 = _splat(xb[e + 3, p]), _splat(xb[e + 4, p]), _splat(xb[e + 5, p])
        x6, x7, x8 = _splat(xb[e + 6, p]), _splat(xb[e + 7, p]), _splat(xb[e + 8, p])
        x9 = _splat(xb[e + 9, p])
        u = _load(T, w + p, 0)
        s00, s01, s02, s03 = _fma(u, x0, s00), _fma(u, x1, s01), _fma(u, x2, s02), _fma(u, x3, s03)
        s04, s05, s06, s07 = _fma(u, x4, s04), _fma(u, x5, s05), _fma(u, x6, s06), _fma(u, x7, s07)
        s08, s09 = _fma(u, x8, s08), _fma(u, x9, s09)
        if units == 2:
            u = _load(T, w + n_in + p, 0)
            s10, s11, s12 = _fma(u, x0, s10), _fma(u, x1, s11), _fma(u, x2, s12)
            s13, s14, s15 = _fma(u, x3, s13), _fma(u, x4, s14), _fma(u, x5, s15)
            s16, s17, s18 = _fma(u, x6, s16), _fma(u, x7, s17), _fma(u, x8, s18)
            s19 = _fma(u, x9, s19)
    for t, s in enumerate((s00, s01, s02, s03, s04, s05, s06, s07, s08, s09)):
        _store(A, a + e + t, 0, s)
    if units == 2:
        for t, s in enumerate((s10, s11, s12, s13, s14, s15, s16, s17, s18, s19)):
            _store(A, a + R + e + t, 0, s)


@njit(**_OPTIONS)
def _input_affine(xb, r, T, w_at, n_in, n_out, A, R):
    """zˡ of the first layer for the chunk's r (a multiple of TILE) gathered rows xb:
    A[j·R + e] = b_j + W_j · xb[e], every lane at once: ten examples at a time
    (:func:`_affine_pair`) where the registers hold such tiles, then five at a time
    (:func:`_affine_tile`)."""
    _input_affine_in(xb, r, T, w_at, n_in, n_out, A, R, PAIR_UNITS, TILE_UNITS)


@njit(inline="always", **_OPTIONS)
def _input_affine_in(xb, r, T, w_at, n_in, n_out, A, R, pair, tile):
    """:func:`_input_affine` in tiles of ``pair`` units × ten examples (none, if 0) and
    ``tile`` × five (the same sums in the same order for any such units)."""
    b_at = w_at + n_out * n_in
    E = 0  # the examples in tiles of ten
    if pair:
        E = r - r % (2 * TILE)
        J2 = n_out - n_out % pair
        for j in range(0, J2, pair):
            for e in range(0, E, 2 * TILE):
                _affine_pair(xb, e, T, w_at + j * n_in, n_in, A, j * R, R, pair)
        for j in range(J2, n_out):
            for e in range(0, E, 2 * TILE):
                _affine_pair(xb, e, T, w_at + j * n_in, n_in, A, j * R, R, 1)
    J = n_out - n_out % tile
    for j in range(0, J, tile):
        for e in range(E, r, TILE):
            _affine_tile(xb, e, T, w_at + j * n_in, n_in, A, j * R, R, tile)
    for j in range(J, n_out):
        for e in range(E, r, TILE):
            _affine_tile(xb, e, T, w_at + j * n_in, n_in, A, j * R, R, 1)
    one = _splat(T.dtype.type(1))  # 1 · z + b: the sum, rounded once (vectors have no +)
    for j in range(n_out):
        bias = _load(T, b_at + j, 0)
        for e in range(r):
            _store(A, j * R + e, 0, _fma(one, _load(A, j * R + e, 0), bias))


@njit(inline="always", **_OPTIONS)
def _gradient_tile(D, d, e, xb, Gr, w, n_in, R, units, fresh):
    """Gr[w + j·n_in + p] (+)= Σ_t D[d + j·R + e + t] xb[e + t, p] for ``units`` (4, 2 or
    1) units; the 5 × units errors stay in registers while the row goes by. ``fresh``: the
    gradient starts here (no += onto what was there)."""
    d00, d01, d02 = _load(D, d + e, 0), _load(D, d + e + 1, 0), _load(D, d + e + 2, 0)
    d03, d04 = _load(D, d + e + 3, 0), _load(D, d + e + 4, 0)
    d10 = d11 = d12 = d13 = d14 = d00
    d20 = d21 = d22 = d23 = d24 = d00
    d30 = d31 = d32 = d33 = d34 = d00
    if units >= 2:
        q = d + R + e
        d10, d11, d12 = _load(D, q, 0), _load(D, q + 1, 0), _load(D, q + 2, 0)
        d13, d14 = _load(D, q + 3, 0), _load(D, q + 4, 0)
    if units == 4:
        q = d + 2 * R + e
        d20, d21, d22 = _load(D, q, 0), _load(D, q + 1, 0), _load(D, q + 2, 0)
        d23, d24 = _load(D, q + 3, 0), _load(D, q + 4, 0)
        q += R
        d30, d31, d32 = _load(D, q, 0), _load(D, q + 1, 0), _load(D, q + 2, 0)
        d33, d34 = _load(D, q + 3, 0), _load(D, q + 4, 0)
    zero = _splat(Gr.dtype.type(0))
    for p in range(n_in):
        x0, x1, x2 = _splat(xb[e, p]), _splat(xb[e + 1, p]), _splat(xb[e + 2, p])
        x3, x4 = _splat(xb[e + 3, p]), _splat(xb[e + 4, p])
        g = zero if fresh else _load(Gr, w + p, 0)
        g = _fma(d00, x0, _fma(d01, x1, _fma(d02, x2, _fma(d03, x3, _fma(d04, x4, g)))))
        _store(Gr, w + p, 0, g)
        if units >= 2:
            q = w + n_in + p
            g = zero if fresh else _load(Gr, q, 0)
            g = _fma(d10, x0, _fma(d11, x1, _fma(d12, x2, _fma(d13, x3, _fma(d14, x4, g)))))
            _store(Gr, q, 0, g)
        if units == 4:
            q = w + 2 * n_in + p
            g = zero if fresh else _load(Gr, q, 0)
            g = _fma(d20, x0, _fma(d21, x1, _fma(d22, x2, _fma(d23, x3, _fma(d24, x4, g)))))
            _store(Gr, q, 0, g)
            q += n_in
            g = zero if fresh else _load(Gr, q, 0)
            g = _fma(d30, x0, _fma(d31, x1, _fma(d32, x2, _fma(d33, x3, _fma(d34, x4, g)))))
            _store(Gr, q, 0, g)


@njit(inline="always", **_OPTIONS)
def _gradient_pair(D, d, e, xb, Gr, w, n_in, R, units, fresh):
    """:func:`_gradient_tile` for ``units`` (2 or 1) units and 2 · TILE examples, each row
    of Gr read and written once for ten examples (see :func:`_affine_pair`). The products
    are added in the order of two 4 × 5 tiles one after the other (examples e + 4 down to
    e, then e + 9 down to e + 5), so the numbers are the same."""
    d00, d01, d02 = _load(D, d + e, 0), _load(D, d + e + 1, 0), _load(D, d + e + 2, 0)
    d03, d04, d05 = _load(D, d + e + 3, 0), _load(D, d + e + 4, 0), _load(D, d + e + 5, 0)
    d06, d07, d08 = _load(D, d + e + 6, 0), _load(D, d + e + 7, 0), _load(D, d + e + 8, 0)
    d09 = _load(D, d + e + 9, 0)
    d10 = d11 = d12 = d13 = d14 = d15 = d16 = d17 = d18 = d19 = d00
    if units == 2:
        q = d + R + e
        d10, d11, d12 = _load(D, q, 0), _load(D, q + 1, 0), _load(D, q + 2, 0)
        d13, d14, d15 = _load(D, q + 3, 0), _load(D, q + 4, 0), _load(D, q + 5, 0)
        d16, d17, d18 = _load(D, q + 6, 0), _load(D, q + 7, 0), _load(D, q + 8, 0)
        d19 = _load(D, q + 9, 0)
    zero = _splat(Gr.dtype.type(0))
    for p in range(n_in):
        x0, x1, x2 = _splat(xb[e, p]), _splat(xb[e + 1, p]), _splat(xb[e + 2, p])
        x3, x4, x5 = _splat(xb[e + 3, p]), _splat(xb[e + 4, p]), _splat(xb[e + 5, p])
        x6, x7, x8 = _splat(xb[e + 6, p]), _splat(xb[e + 7, p]), _splat(xb[e + 8, p])
        x9 = _splat(xb[e + 9, p])
        g = zero if fresh else _load(Gr, w + p, 0)
        g = _fma(d00, x0, _fma(d01, x1, _fma(d02, x2, _fma(d03, x3, _fma(d04, x4, g)))))
        g = _fma(d05, x5, _fma(d06, x6, _fma(d07, x7, _fma(d08, x8, _fma(d09, x9, g)))))
        _store(Gr, w + p, 0, g)
        if units == 2:
            q = w + n_in + p
            g = zero if fresh else _load(Gr, q, 0)
            g = _fma(d10, x0, _fma(d11, x1, _fma(d12, x2, _fma(d13, x3, _fma(d14, x4, g)))))
            g = _fma(d15, x5, _fma(d16, x6, _fma(d17, x7, _fma(d18, x8, _fma(d19, x9, g)))))
            _store(Gr, q, 0, g)


@njit(**_OPTIONS)
def _input_gradient(D, xb, r, Gr, w_at, n_in, n_out, R, fresh):
    """Gr[W¹ rows] (+)= D xbᵀ for the chunk (``fresh``: the rows start here). With Gr = Θ and
    D = −η δ¹ this is the first layer's update itself. Ten examples at a time
    (:func:`_gradient_pair`) where the registers hold such tiles, then five at a time
    (:func:`_gradient_tile`)."""
    _input_gradient_in(D, xb, r, Gr, w_at, n_in, n_out, R, fresh, PAIR_UNITS, TILE_UNITS)


@njit(inline="always", **_OPTIONS)
def _input_gradient_in(D, xb, r, Gr, w_at, n_in, n_out, R, fresh, pair, tile):
    """:func:`_input_gradient` in tiles of ``pair`` units × ten examples (none, if 0) and
    ``tile`` × five (the same sums in the same order for any such units)."""
    E = 0  # the examples in tiles of ten
    if pair:
        E = r - r % (2 * TILE)
        J2 = n_out - n_out % pair
        for j in range(0, J2, pair):
            for e in range(0, E, 2 * TILE):
                _gradient_pair(D, j * R, e, xb, Gr, w_at + j * n_in, n_in, R, pair,
                               fresh and e == 0)  # fmt: skip
        for j in range(J2, n_out):
            for e in range(0, E, 2 * TILE):
                _gradient_pair(D, j * R, e, xb, Gr, w_at + j * n_in, n_in, R, 1,
                               fresh and e == 0)  # fmt: skip
    J = n_out - n_out % tile
    for j in range(0, J, tile):
        for e in range(E, r, TILE):
            _gradient_tile(D, j * R, e, xb, Gr, w_at + j * n_in, n_in, R, tile, fresh and e == 0)
    for j in range(J, n_out):
        for e in range(E, r, TILE):
            _gradient_tile(D, j * R, e, xb, Gr, w_at + j * n_in, n_in, R, 1, fresh and e == 0)


@njit(**_OPTIONS)
def _bias_gradient(D, r, Gr, b_at, n_out, R):
    """Gr[b_at + j] += Σ_e D[j·R + e]: a layer's ∂C/∂b."""
    one = _splat(Gr.dtype.type(1))
    for j in range(n_out):
        s = _load(Gr, b_at + j, 0)
        for e in range(r):
            s = _fma(one, _load(D, j * R + e, 0), s)
        _store(Gr, b_at + j, 0, s)


# --------------------------------------------------------------------------- small layers


@njit(**_OPTIONS)
def _hidden_affine(T, w_at, n_in, n_out, A, p_at, a_at, R, r):
    """A[a_at + j·R + e] = b_j + Σ_k W_jk A[p_at + k·R + e], every lane at once."""
    b_at = w_at + n_out * n_in
    for j in range(n_out):
        bias = _load(T, b_at + j, 0)
        for e in range(r):
            s = bias
            for k in range(n_in):
                s = _fma(_load(T, w_at + j * n_in + k, 0), _load(A, p_at + k * R + e, 0), s)
            _store(A, a_at + j * R + e, 0, s)


@njit(**_OPTIONS)
def _hidden_gradient(D, A, p_at, Gr, w_at, n_in, n_out, R, r):
    """∂C/∂Wˡ += δˡ aˡ⁻¹ᵀ and ∂C/∂bˡ += Σ δˡ (each a sum along the chunk's examples)."""
    _bias_gradient(D, r, Gr, w_at + n_out * n_in, n_out, R)
    for j in range(n_out):
        for k in range(n_in):
            s = _load(Gr, w_at + j * n_in + k, 0)
            for e in range(r):
                s = _fma(_load(D, j * R + e, 0), _load(A, p_at + k * R + e, 0), s)
            _store(Gr, w_at + j * n_in + k, 0, s)


@njit(**_OPTIONS)
def _back_through(D, T, w_at, n_in, n_out, D_prev, R, r):
    """D_prev[k·R + e] = Σ_j W_jk D[j·R + e]: δˡ⁻¹ before σ′."""
    for k in range(n_in):
        for e in range(r):
            s = _splat(T.dtype.type(0))
            for j in range(n_out):
                s = _fma(_load(T, w_at + j * n_in + k, 0), _load(D, j * R + e, 0), s)
            _store(D_prev, k * R + e, 0, s)


# --------------------------------------------------------------------------- costs


@njit(inline="always", **_OPTIONS)
def _arg_max(A, a_at, e, g, n, R):
    """The unit j < n with the largest A[a_at + j·R + e, g] (the first of equals)."""
    best = 0
    top = A[a_at + e, g]
    for j in range(1, n):
        if A[a_at + j * R + e, g] > top:
            best, top = j, A[a_at + j * R + e, g]
    return best


@njit(**_OPTIONS)
def _logit_costs(A, a_at, yb, r, n, R, output, costs):
    """costs[g] += Σ over the chunk's r examples of member g's cross-entropy, from zᴸ
    (as ``kernels._logit_cost``, exact where σ(z) rounds to 0 or 1)."""
    G = A.shape[1]
    zero = A.dtype.type(0)
    for e in range(r):
        if output == SIGMOID:
            for j in range(n):
                y = yb[e, j]
                for g in range(G):
                    v = A[a_at + j * R + e, g]
                    costs[g] += max(v, zero) - y * v + math.log1p(math.exp(-abs(v)))
            continue
        for g in range(G):
            top_at = _arg_max(A, a_at, e, g, n, R)
            top = A[a_at + top_at * R + e, g]
            others = zero
            for j in range(n):
                if j != top_at:
                    others += math.exp(A[a_at + j * R + e, g] - top)
            gap = math.log1p(others)
            for j in range(n):
                costs[g] += yb[e, j] * ((top - A[a_at + j * R + e, g]) + gap)


@njit(**_OPTIONS)
def _quadratic_costs(A, a_at, yb, r, n, R, costs):
    """costs[g] += Σ over the chunk's r examples of member g's Σ_j (a_j − y_j)²."""
    G = A.shape[1]
    for j in range(n):
        for e in range(r):
            y = yb[e, j]
            for g in range(G):
                diff = A[a_at + j * R + e, g] - y
                costs[g] += diff * diff


@njit(**_OPTIONS)
def _output_error(A, a_at, yb, r, n, R, m, output, cost, D, costs):
    """D[j·R + e] = δᴸ, as ``kernels._output_error``; the quadratic cost's Σ (a − y)² goes to
    costs[g]. Rows past the r real examples get δ = 0."""
    G = A.shape[1]
    one = A.dtype.type(1)
    two_over_m = A.dtype.type(2.0 / m)
    m_ = A.dtype.type(m)
    for j in range(n):
        for e in range(r, R):
            for g in range(G):
                D[j * R + e, g] = 0
    if cost == QUADRATIC:
        _quadratic_costs(A, a_at, yb, r, n, R, costs)
        for j in range(n):
            for e in range(r):
                y = yb[e, j]
                for g in range(G):
                    D[j * R + e, g] = two_over_m * (A[a_at + j * R + e, g] - y)
        if output == SIGMOID:
            for j in range(n):
                for e in range(r):
                    for g in range(G):
                        a = A[a_at + j * R + e, g]
                        D[j * R + e, g] *= a * (one - a)
        else:  # softmax: ∂C/∂z_j = a_j (g_j − Σ_k g_k a_k)
            for e in range(r):
                for g in range(G):
                    ga = A.dtype.type(0)
                    for j in range(n):
                        ga += D[j * R + e, g] * A[a_at + j * R + e, g]
                    for j in range(n):
                        D[j * R + e, g] = A[a_at + j * R + e, g] * (D[j * R + e, g] - ga)
    else:
        for j in range(n):
            for e in range(r):
                y = yb[e, j]
                for g in range(G):
                    D[j * R + e, g] = (A[a_at + j * R + e, g] - y) / m_


# --------------------------------------------------------------------------- a chunk


@njit(**_OPTIONS)
def _gather(X, Y, order, start, r, xb, yb):
    """xb[:r], yb[:r] = the rows order[start : start + r] of X and Y; zeros up to a whole tile."""
    rp = -(-r // TILE) * TILE
    for e in range(r):
        xb[e, :] = X[order[start + e]]
        yb[e, :] = Y[order[start + e]]
    for e in range(r, rp):
        xb[e, :] = 0
        yb[e, :] = 0
    return rp


@njit(**_OPTIONS)
def _forward(T, xb, yb, r, rp, layers, hidden, output, cost, acts, scratch, R, costs):
    """Every layer's activations for the chunk; cross-entropy's costs from zᴸ go to costs."""
    L = layers.shape[0]
    G = T.shape[1]
    for l in range(L):
        n_in, n_out, w_at, a_at = layers[l, 0], layers[l, 1], layers[l, 2], layers[l, 3]
        if l == 0:
            _input_affine(xb, rp, T, w_at, n_in, n_out, acts, R)
        else:
            _hidden_affine(T, w_at, n_in, n_out, acts, layers[l - 1, 3], a_at, R, rp)
        if l == L - 1 and cost == CROSS_ENTROPY:
            _logit_costs(acts, a_at, yb, r, n_out, R, output, costs)
        Z = acts[a_at : a_at + n_out * R].reshape((n_out, R * G))
        _activate(Z, output if l == L - 1 else hidden, scratch)


@njit(**_OPTIONS)
def _chunk_errors(
    T, Gr, xb, yb, r, rp, m, layers, hidden, output, cost, acts, D, D_prev, scratch, R,
    costs, bound,
):  # fmt: skip
    """The chunk's pass up to δ¹: forward, the costs (into costs), every layer's gradient but
    the first layer's weights (into Gr), and δ¹, in D (returns True) or in D_prev (False).

    bound[g] += ‖δ¹‖ ‖xb‖, per lane: by Cauchy–Schwarz ‖∂C/∂W¹‖ ≤ Σ_chunks ‖δ¹‖ ‖xb‖, which
    proves the first layer's gradient finite before it is computed."""
    G = T.shape[1]
    L = layers.shape[0]
    _forward(T, xb, yb, r, rp, layers, hidden, output, cost, acts, scratch, R, costs)
    n_out, a_at = layers[L - 1, 1], layers[L - 1, 3]
    _output_error(acts, a_at, yb, r, n_out, R, m, output, cost, D, costs)
    in_D = True
    for l in range(L - 1, 0, -1):
        n_in, n_out, w_at = layers[l, 0], layers[l, 1], layers[l, 2]
        p_at = layers[l - 1, 3]
        _hidden_gradient(D, acts, p_at, Gr, w_at, n_in, n_out, R, rp)
        _back_through(D, T, w_at, n_in, n_out, D_prev, R, rp)
        prev = D_prev[: n_in * R].reshape((n_in, R * G))
        _times_derivative(prev, acts[p_at : p_at + n_in * R].reshape((n_in, R * G)), hidden)
        D, D_prev = D_prev, D
        in_D = not in_D
    n_in, n1 = layers[0, 0], layers[0, 1]
    _bias_gradient(D, rp, Gr, n_in * n1, n1, R)
    x2 = 0.0
    for e in range(rp):
        for p in range(n_in):
            x2 += xb[e, p] * xb[e, p]
    for g in range(G):
        d2 = 0.0
        for j in range(n1):
            for e in range(rp):
                d2 += D[j * R + e, g] * D[j * R + e, g]
        bound[g] += math.sqrt(d2) * math.sqrt(x2)
    return in_D


# --------------------------------------------------------------------------- a step


@njit(inline="always", **_OPTIONS)
def _square_rows(T, Gr, lo, hi, decay, l2):
    """(Σ g², Σ W²) lane by lane over the rows lo:hi, four rows at a time; with ``l2`` the
    gradient first takes its λW (g ← g + λW, written back)."""
    zero = _splat(T.dtype.type(0))
    one = _splat(T.dtype.type(1))
    a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = zero
    p = lo
    while p + 4 <= hi:
        g0, g1 = _load(Gr, p, 0), _load(Gr, p + 1, 0)
        g2, g3 = _load(Gr, p + 2, 0), _load(Gr, p + 3, 0)
        if l2:
            t0, t1 = _load(T, p, 0), _load(T, p + 1, 0)
            t2, t3 = _load(T, p + 2, 0), _load(T, p + 3, 0)
            g0, g1 = _fma(decay, t0, g0), _fma(decay, t1, g1)
            g2, g3 = _fma(decay, t2, g2), _fma(decay, t3, g3)
            _store(Gr, p, 0, g0)
            _store(Gr, p + 1, 0, g1)
            _store(Gr, p + 2, 0, g2)
            _store(Gr, p + 3, 0, g3)
            b0, b1, b2, b3 = _fma(t0, t0, b0), _fma(t1, t1, b1), _fma(t2, t2, b2), _fma(t3, t3, b3)
        a0, a1, a2, a3 = _fma(g0, g0, a0), _fma(g1, g1, a1), _fma(g2, g2, a2), _fma(g3, g3, a3)
        p += 4
    while p < hi:
        g0 = _load(Gr, p, 0)
        if l2:
            t0 = _load(T, p, 0)
            g0 = _fma(decay, t0, g0)
            _store(Gr, p, 0, g0)
            b0 = _fma(t0, t0, b0)
        a0 = _fma(g0, g0, a0)
        p += 1
    squares = _fma(one, _fma(one, a0, a1), _fma(one, a2, a3))
    return squares, _fma(one, _fma(one, b0, b1), _fma(one, b2, b3))


@njit(**_OPTIONS)
def _later_squares(T, Gr, layers, lanes, l2):
    """lanes[1] = Σ g², lanes[2] = Σ W² per lane over every row past W¹ (b¹ and the later
    layers); with ``l2`` those layers' weight gradients first take their λW (λ in lanes[0])."""
    one = _splat(T.dtype.type(1))
    decay = _load(lanes, 0, 0)
    squares = weights = _splat(T.dtype.type(0))
    for l in range(layers.shape[0]):
        w_at, n_w, n_b = layers[l, 2], layers[l, 0] * layers[l, 1], layers[l, 1]
        if l > 0:
            a, b = _square_rows(T, Gr, w_at, w_at + n_w, decay, l2)
            squares, weights = _fma(one, a, squares), _fma(one, b, weights)
        a, b = _square_rows(T, Gr, w_at + n_w, w_at + n_w + n_b, decay, False)
        squares = _fma(one, a, squares)
    _store(lanes, 1, 0, squares)
    _store(lanes, 2, 0, weights)


@njit(**_OPTIONS)
def _first_squares(T, Gr, layers, lanes, l2):
    """Add W¹'s rows to lanes[1] and lanes[2], as :func:`_later_squares` does for the rest."""
    one = _splat(T.dtype.type(1))
    a, b = _square_rows(T, Gr, 0, layers[0, 0] * layers[0, 1], _load(lanes, 0, 0), l2)
    _store(lanes, 1, 0, _fma(one, a, _load(lanes, 1, 0)))
    _store(lanes, 2, 0, _fma(one, b, _load(lanes, 2, 0)))


@njit(**_OPTIONS)
def _unproven(lanes, bound, big, active, paused):
    """Whether some moving lane's ‖∂C/∂W¹‖ is needed. It is not where the bound proves the
    squares finite, and either the rest of the gradient is not zero (so neither is ∇C) or
    the bound is 0 (so ∂C/∂W¹ is exactly 0 too)."""
    for g in range(lanes.shape[1]):
        unsure = not bound[g] <= big or (lanes[1, g] <= 0 and bound[g] > 0)
        if active[g] and not paused[g] and unsure:
            return True
    return False


@njit(**_OPTIONS)
def _decide(costs, m, eta, mu, lam, thr, lanes, active, paused, done, status, s):
    """Each lane's checks, as ``kernels._finish_step``'s, from its cost and lanes[1] = ‖∇C‖²
    (lanes[2] = ‖W‖² for the L2 term): a lane whose cost is NaN/inf or above its threshold,
    or whose ‖∇C‖ is NaN/inf, stops for good (DIVERGED, done = s, θ untouched); one whose
    gradient is exactly zero stops until the call ends (FLAT). lanes[3] gets 1 for the
    others, which move, lanes[4] their −η, lanes[5] every lane's μ."""
    dt = lanes.dtype.type
    for g in range(lanes.shape[1]):
        lanes[3, g] = 0
        lanes[4, g] = 0
        lanes[5, g] = dt(mu[g])
        if not active[g] or paused[g]:
            continue
        C = costs[g] / m
        if lam[g] > 0:
            C += 0.5 * lam[g] * lanes[2, g]
        norm = math.sqrt(lanes[1, g])
        if not (math.isfinite(C) and math.isfinite(norm)) or thr[g] < C:
            active[g] = False
            status[g] = DIVERGED
            done[g] = s
        elif norm <= 0.0:
            paused[g] = True
            status[g] = FLAT
            done[g] = s
        else:
            lanes[3, g] = 1
            lanes[4, g] = -dt(eta[g])


@njit(**_OPTIONS)
def _update_rows(T, V, Gr, lo, hi, lanes, momentum):
    """Rows lo:hi of the moving lanes: θ ← θ − η∇C, or v ← μv − η∇C, θ ← θ + v; the other
    lanes keep their θ and v bit for bit (their NaNs stay out)."""
    moving, step, mu = _load(lanes, 3, 0), _load(lanes, 4, 0), _load(lanes, 5, 0)
    zero = _splat(T.dtype.type(0))
    one = _splat(T.dtype.type(1))
    for p in range(lo, hi):
        t, g = _load(T, p, 0), _load(Gr, p, 0)
        if momentum:
            v = _load(V, p, 0)
            w = _fma(step, g, _fma(v, mu, zero))
            _store(V, p, 0, _select(moving, w, v))
            _store(T, p, 0, _select(moving, _fma(one, t, w), t))
        else:
            _store(T, p, 0, _select(moving, _fma(step, g, t), t))


@njit(**_OPTIONS)
def _scale_errors(D, n, R, lanes):
    """D[j·R + e] ← −η δ¹ on the moving lanes, 0 on the others: the first layer's update,
    θ += D xbᵀ, then moves only those."""
    moving, step = _load(lanes, 3, 0), _load(lanes, 4, 0)
    zero = _splat(D.dtype.type(0))
    for p in range(n * R):
        d = _load(D, p, 0)
        _store(D, p, 0, _select(moving, _fma(step, d, zero), zero))


@njit(**_OPTIONS)
def _group_steps(
    T, V, Gr, X, Y, order, batch_size, etas, mu, lam, thr, layers, hidden, output, cost,
    acts, D, D_prev, scratch, xb, yb, R, active, done, status, lanes, big,
):  # fmt: skip
    """One group's ``etas.shape[0]`` steps over consecutive batches of ``order``.

    The checks come before the first layer's weight gradient, which is most of the work:
    the cost, the other layers' gradients and a bound on ‖∂C/∂W¹‖ (:func:`_chunk_errors`)
    decide them. A batch of one chunk, without momentum or L2, then never stores that
    gradient: θ's first-layer rows take −η δ¹ xbᵀ straight away.
    """
    n = order.shape[0]
    G = T.shape[1]
    n_in, n1 = layers[0, 0], layers[0, 1]
    first = n_in * n1  # the rows of W¹; b¹ and the later layers follow
    costs = np.zeros(G)
    bound = np.zeros(G)
    paused = np.zeros(G, dtype=np.bool_)
    l2 = momentum = False
    for g in range(G):
        done[g] = etas.shape[0]
        status[g] = DONE
        lanes[0, g] = T.dtype.type(lam[g])
        l2 |= lam[g] > 0
        momentum |= mu[g] > 0
    for s in range(etas.shape[0]):
        going = False
        for g in range(G):
            going |= active[g] and not paused[g]
        if not going:
            break
        lo = s * batch_size
        hi = min(lo + batch_size, n)
        fused = hi - lo <= R and not (l2 or momentum)
        costs[:] = 0
        bound[:] = 0
        Gr[first:, :] = 0
        errors = D
        rp = 0
        for start in range(lo, hi, R):
            r = min(R, hi - start)
            rp = _gather(X, Y, order, start, r, xb, yb)
            in_D = _chunk_errors(T, Gr, xb, yb, r, rp, hi - lo, layers, hidden, output, cost,
                                 acts, D, D_prev, scratch, R, costs, bound)  # fmt: skip
            errors = D if in_D else D_prev
            if not fused:
                _input_gradient(errors, xb, rp, Gr, 0, n_in, n1, R, start == lo)
        _later_squares(T, Gr, layers, lanes, l2)
        if l2 or _unproven(lanes, bound, big, active, paused):
            if fused:  # rare: the bound proves nothing, so compute the gradient after all
                _input_gradient(errors, xb, rp, Gr, 0, n_in, n1, R, True)
                fused = False
            _first_squares(T, Gr, layers, lanes, l2)
        _decide(costs, hi - lo, etas[s], mu, lam, thr, lanes, active, paused, done, status, s)
        if fused:
            _scale_errors(errors, n1, R, lanes)
            _input_gradient(errors, xb, rp, T, 0, n_in, n1, R, False)
            _update_rows(T, V, Gr, first, T.shape[0], lanes, momentum)
        else:
            _update_rows(T, V, Gr, 0, T.shape[0], lanes, momentum)


@njit(parallel=True, **_ENTRY)
def run_groups(
    Theta, Velocity, Grad, X, Y, orders, which, batch_size, Etas, mu, lam, thr, layers,
    hidden, output, cost, Acts, D, D_prev, Scratch, XB, YB, Lanes, R, active, done, status,
    big,
):  # fmt: skip
    """:func:`_group_steps` for each group q (its lanes' Θ = Theta[q], (n_params, lanes)),
    the groups shared among the threads. Group q follows the order orders[which[q]], with
    the learning rates Etas[q] (steps, lanes); how each lane's call ended goes to done[q]
    and status[q], and active[q] loses the lanes that diverged."""
    for q in prange(Theta.shape[0]):
        mode = _flush_subnormals()
        _group_steps(
            Theta[q], Velocity[q], Grad[q], X, Y, orders[which[q]], batch_size, Etas[q], mu[q],
            lam[q], thr[q], layers, hidden, output, cost, Acts[q], D[q], D_prev[q],
            Scratch[q], XB[q], YB[q], R, active[q], done[q], status[q], Lanes[q], big,
        )  # fmt: skip
        _restore_subnormals(mode)


@njit(parallel=True, **_ENTRY)
def measure_groups(
    Theta, X, Y, labels, layers, hidden, output, cost, Acts, Scratch, XB, YB, R, totals,
    right,
):  # fmt: skip
    """Each lane's summed cost over all rows of (X, Y) into totals[q], and its number of
    right guesses into right[q]: the evaluation after an epoch, the groups among the threads."""
    n = X.shape[0]
    L = layers.shape[0]
    n_out, a_at = layers[L - 1, 1], layers[L - 1, 3]
    rows = np.arange(n)
    for q in prange(Theta.shape[0]):
        mode = _flush_subnormals()
        T, acts, xb, yb = Theta[q], Acts[q], XB[q], YB[q]
        G = T.shape[1]
        costs = totals[q]
        for start in range(0, n, R):
            r = min(R, n - start)
            rp = _gather(X, Y, rows, start, r, xb, yb)
            _forward(T, xb, yb, r, rp, layers, hidden, output, cost, acts, Scratch[q], R, costs)
            if cost == QUADRATIC:
                _quadratic_costs(acts, a_at, yb, r, n_out, R, costs)
            for e in range(r):
                label = labels[start + e]
                for g in range(G):
                    right[q, g] += _arg_max(acts, a_at, e, g, n_out, R) == label
        _restore_subnormals(mode)
