"""Compiled kernels of the fast engine: many SGD steps in one call, with no Python in between.

This module imports Numba; :mod:`nudgenet.training.fast` imports it only when the fast engine
runs, so ``import nudgenet`` stays quick and works without Numba. The SIMD operations the
kernels are written with (explicit vectors, a vectorisable e^x) are Numba extensions of their
own, in :mod:`nudgenet.training.simd`.

The mathematics is :mod:`nudgenet.backprop`'s, step for step (notation as there: rows are
examples, W has shape (n_out, n_in), θ = [W¹, b¹, …, Wᴸ, bᴸ]):

    aˡ = σ(aˡ⁻¹ Wˡᵀ + bˡ)                 forward, a⁰ = the batch's rows of X
    C                                     from aᴸ (quadratic) or zᴸ (cross-entropy, ``_logit_cost``)
    δᴸ = ∂C/∂zᴸ                           the output error (see ``_output_error``)
    ∂C/∂Wˡ = δˡᵀ aˡ⁻¹   ∂C/∂bˡ = Σ δˡ      summed over the batch (1/m is inside δᴸ)
    δˡ⁻¹ = (δˡ Wˡ) ⊙ σ′(aˡ⁻¹)
    θ ← θ − η∇C   (or v ← μv − η∇C, θ ← θ + v)

What makes it fast is only where the numbers live and how often Python is visited:

* a whole epoch runs in one call; the batch's rows are read from X through the shuffled index
  array (the data set is never gathered or copied);
* a batch is processed in chunks of ``CHUNK`` rows, forward and backward, so the rows just read
  are still in cache when the backward pass needs them again, and the buffers stay small;
  meanwhile the kernels ask the caches for the rows that come next (prefetch), so that the
  arithmetic does not wait for the memory;
* the first layer's two products (784 × n₁ per example, nearly all the arithmetic) are
  written as register tiles of explicit SIMD vectors (:mod:`~nudgenet.training.simd`): 4 units
  × 4 examples of dot products for the forward pass (× 5 where a chunk is a multiple of
  five: batch 10 in two tiles, not three with two examples wasted), and a block of 8
  units × 2 vectors of ∂C/∂W¹ that stays in registers while a whole chunk goes by, so that
  each load serves several multiply-adds. Those sizes fill AVX-512's 32 registers; with 16
  (AVX2), the tiles take half the units (``AFFINE_UNITS``, ``GRADIENT_UNITS``), the same
  sums in the same order, as the larger tiles' sums would go to the stack and back. On
  Zen 5, with the rows in cache, the weight gradient runs at about 90% of the core's two
  vector multiply-adds per cycle and the forward pass at about 60% (each dot product ends
  in a sum across the lanes). A vector load that straddles two
  cache lines costs about two, so the inputs nudgenet makes, θ's copy that the steps run
  on and every buffer start on a 64-byte boundary (``fast.py``), and so do their rows;
* the other layers' activations and errors are stored one row per unit, (n, r) rather than
  (r, n), so that their loops run along the chunk's examples, long enough to vectorise
  (a layer of 16 units would leave loops of 16). A chunk's r is padded to a whole number of
  vectors (10 examples to 16 in float32), the padding's z¹ and errors δ kept at zero, and the
  products of these layers, forward and back, are register tiles too (4 units × 1 vector of
  examples): as plain loops along 10 examples they never reached a vector, and restarted
  for every pair of units. Where a chunk is one vector of examples, their weight gradients
  go by rows of ∂C/∂W, from the activations transposed first
  (``_hidden_weight_gradient_short``), rather than as dot products that each end in a sum
  across the lanes;
* a slice's first chunk writes ∂C/∂θ rather than adding into it, so that no pass zeroes it,
  and ‖∇C‖² is summed in blocks in θ's precision (then in float64), twice as many numbers
  to a vector as float64's;
* in plain SGD on batches of one chunk (batch 10, the seed's), ∂C/∂W¹ is never written at
  all: once the cost, the other layers' gradients and a bound on ∂C/∂W¹'s entries show
  that the step will be taken, each tile of it goes from the registers into W¹ −= η∂C/∂W¹,
  its squares summed on the way (``_fused_step``). θ is the same bit for bit;
  writing ∂C/∂W¹, reading it back for ‖∇C‖ and again for the update took about a tenth of
  such a step;
* every thread that runs steps flushes subnormal numbers (below 1.2·10⁻³⁸ in float32) to
  zero meanwhile, and puts its mode back after: saturated sigmoids make errors δ that
  small, and each operation on one takes the processor a slow path (the seed network at
  η = 3 went from 18 to 30 µs a step over six epochs of batch 10 without it);
* a step takes its matrices as views of θ and the buffers without calling into Numba's
  runtime: ``_matrix`` (a slice seen as a matrix) and ``simd._flat`` rather than
  ``reshape``, which calls a C function each time (about 24 ns), and the entry points hand
  their arguments on as arrays that are not reference-counted (``simd._unowned``), so that
  the views taken of them skip NRT's atomic counting. Both cost about a fifth of a
  batch-10 step of the seed network (12.0 against 9.9 µs), more at batch 1 (6.7 against
  4.5);
* e^x in the sigmoid and softmax is plain arithmetic (``_exp_nonpositive``), which LLVM turns
  into vector instructions, rather than a library call per number;
* a large batch is cut into slices, each summed into its own gradient by whichever thread
  takes it, and the slices' gradients are added in a fixed order (so the result does not
  depend on how many threads ran or which finished first);
* a wide first layer in a batch of middling size (``fast.cuts``) is cut by units instead:
  each thread computes its units' products, ∂C/∂W¹ and update, on rows of W¹, ∂C/∂W¹ and v
  that stay in its own core's cache from step to step, and every unit's sums are those of
  the uncut layer (``_input_affine_parts`` and the functions after it).

Sums are accumulated in a different order than BLAS does, and subnormal numbers become
zero, so results equal the reference engine's to rounding error, not bit for bit.

Numba caches the compiled kernels on disk (``cache=True``) and compiles them again when this
file's contents change, but not when only ``simd.py`` changes (see there).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .simd import (
    VECTOR_REGISTERS,
    _exp_nonpositive,
    _flat,
    _flush_subnormals,
    _fma,
    _grid,
    _lanes,
    _load,
    _prefetch,
    _restore_subnormals,
    _splat,
    _store,
    _sum_lanes,
    _unowned,
)

# Codes for the activations and costs; ``fast.py`` maps the names onto them.
SIGMOID, TANH, RELU, SOFTMAX = 0, 1, 2, 3
QUADRATIC, CROSS_ENTROPY = 0, 1
# How an epoch call ended.
DONE, DIVERGED, FLAT = 0, 1, 2

# Rows per chunk: 64 rows of 784 float32 inputs are 200 kB, which stay in a core's L2 between
# the forward and the backward pass, beside the next chunk's rows being fetched meanwhile
# (measured on Zen 5 with 1 MB of L2: 5% faster at full batch than 128 rows).
CHUNK = 64
# Tiles of examples ahead of the one in use whose rows the forward pass asks the caches for.
# It matters where the weight gradient's prefetch of the rows ahead cannot help: the first
# chunk of a slice, and sliced mini-batches (batch 128 was 10% slower without it).
PREFETCH_TILES = 2
# How far ahead the weight gradient's tiles ask the caches for rows (see _rows_ahead): with
# the next chunk's, a batch of ten found their lines still on their way (the seed network's
# batch-10 step took 9.0–9.4 µs, against 8.5–8.65 with 20 rows on; 30 was slower, and so
# was 2r for chunks of 64 at batch 1000, by about 5%).
AHEAD_ROWS = 20
# Units per tile of the first layer's forward pass: 4 × 5 examples are 20 sums in registers,
# which 32 registers hold and 16 do not.
AFFINE_UNITS = 4 if VECTOR_REGISTERS >= 32 else 2
# Units per tile of its weight gradient: 8 × 2 vectors are 16 sums, beside 3 more registers.
GRADIENT_UNITS = 8 if VECTOR_REGISTERS >= 32 else 4

# ``reassoc`` lets LLVM vectorise sums (it may add in another order); ``contract`` allows fused
# multiply-add. Neither assumes finite values, so NaN and inf still reach the divergence check.
_OPTIONS = {
    "cache": True,
    "no_cpython_wrapper": True,
    "nogil": True,
    "error_model": "numpy",
    "fastmath": {"reassoc", "contract"},
}

_ENTRY = {**_OPTIONS, "no_cpython_wrapper": False}  # the functions Python calls


@njit(inline="always", **_OPTIONS)
def _matrix(v, at, rows, cols):
    """v[at : at + rows · cols] seen as a (rows, cols) matrix: that slice's ``reshape``, without
    the call into Numba's runtime that each reshape makes (about 24 ns, where a batch-10
    step of the seed network made about thirty)."""
    if at < 0 or rows < 0 or cols < 0 or at + rows * cols > v.shape[0]:
        raise ValueError("a matrix reaching past the end of its array")
    return _grid(v[at:], rows, cols)


@njit(**_OPTIONS)
def _activate(Z, code, scratch):
    """Z ← σ(Z) in place, as in ``activations.py``; Z is (n, r), one row per unit.

    ``scratch`` holds at least 2r numbers, for softmax's per-example max and sum.
    """
    n, r = Z.shape
    one = Z.dtype.type(1)
    zero = Z.dtype.type(0)
    if code == SOFTMAX:  # over each column (example), shifted by its max so nothing overflows
        top = scratch[:r]
        total = scratch[r : 2 * r]
        for i in range(r):
            top[i] = Z[0, i]
            total[i] = zero
        for j in range(1, n):
            z = Z[j]
            for i in range(r):
                top[i] = max(top[i], z[i])
        for j in range(n):
            z = Z[j]
            for i in range(r):
                z[i] = _exp_nonpositive(z[i] - top[i])
                total[i] += z[i]
        for j in range(n):
            z = Z[j]
            for i in range(r):
                z[i] = z[i] / total[i]
        return
    z = _flat(Z)  # elementwise: one flat loop
    if code == SIGMOID:
        for p in range(n * r):
            e = _exp_nonpositive(-abs(z[p]))  # e^(−|z|) never overflows
            z[p] = (one if z[p] >= zero else e) / (one + e)
    elif code == TANH:
        for p in range(n * r):
            z[p] = math.tanh(z[p])
    else:  # RELU
        for p in range(n * r):
            z[p] = max(z[p], zero)


@njit(**_OPTIONS)
def _times_derivative(D, A, code):
    """D ← D ⊙ σ′, with σ′ written from the activations A = σ(z); both (n, r)."""
    n, r = D.shape
    d = _flat(D)
    a = _flat(A)
    one = D.dtype.type(1)
    zero = D.dtype.type(0)
    if code == SIGMOID:
        for p in range(n * r):
            d[p] *= a[p] * (one - a[p])
    elif code == TANH:
        for p in range(n * r):
            d[p] *= one - a[p] * a[p]
    else:  # RELU: 1 where the unit is active
        for p in range(n * r):
            d[p] *= one if a[p] > zero else zero


@njit(**_OPTIONS)
def _add_dots(X, rows, i0, i1, W, j0, j1, k0, k1, Z):
    """Z[j, i] += W[j, k0:k1] · X[rows[i], k0:k1] for i0 ≤ i < i1, j0 ≤ j < j1: the edges
    that the first layer's tiles leave, one dot product at a time."""
    zero = Z.dtype.type(0)
    for i in range(i0, i1):
        row = rows[i]
        for j in range(j0, j1):
            s = zero
            for k in range(k0, k1):
                s += W[j, k] * X[row, k]
            Z[j, i] += s


@njit(inline="always", **_OPTIONS)
def _affine_tile(X, rows, i, W, j, K, Z, ahead, five, units):
    """Z[j:j+u, i:i+e] += W[j:j+u, :K] X[rows[i:i+e], :K]ᵀ, K a multiple of the vector's
    lanes, u = ``units`` (4, or 2 where there are 16 registers), e = 4 examples (or 5, with
    ``five``); ``units`` and ``five`` are compile-time constants.

    Sixteen (twenty) dot products for four units, each a vector of partial sums in its own
    register; per vector of columns, four (five) loads of X and four of W serve sixteen
    (twenty) multiply-adds. Two units take half the registers: with 16, a tile of four
    spilled its sums to the stack in every step of its loop. With ahead ≥ 0 it also asks
    the caches for the rows X[rows[ahead:ahead+e]], a line of each per vector, so that they
    have arrived from memory when their turn comes. Each dot product adds up the same way
    in any width and any number of units.
    """
    L = _lanes(W)
    r0, r1, r2, r3 = rows[i], rows[i + 1], rows[i + 2], rows[i + 3]
    r4 = rows[i + 4] if five else r3
    fetch = ahead >= 0
    p0, p1, p2, p3, p4 = r0, r1, r2, r3, r4
    if fetch:
        p0, p1, p2, p3 = rows[ahead], rows[ahead + 1], rows[ahead + 2], rows[ahead + 3]
        p4 = rows[ahead + 4] if five else p3
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = _splat(Z.dtype.type(0))
    s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = s00
    s04 = s14 = s24 = s34 = s00
    for k in range(0, K, L):
        if fetch:
            _prefetch(X, p0, k)
            _prefetch(X, p1, k)
            _prefetch(X, p2, k)
            _prefetch(X, p3, k)
            if five:
                _prefetch(X, p4, k)
        v0, v1, v2, v3 = _load(X, r0, k), _load(X, r1, k), _load(X, r2, k), _load(X, r3, k)
        v4 = _load(X, r4, k) if five else v3
        u = _load(W, j, k)
        s00, s01, s02, s03 = _fma(u, v0, s00), _fma(u, v1, s01), _fma(u, v2, s02), _fma(u, v3, s03)
        if five:
            s04 = _fma(u, v4, s04)
        u = _load(W, j + 1, k)
        s10, s11, s12, s13 = _fma(u, v0, s10), _fma(u, v1, s11), _fma(u, v2, s12), _fma(u, v3, s13)
        if five:
            s14 = _fma(u, v4, s14)
        if units == 4:
            u = _load(W, j + 2, k)
            s20, s21 = _fma(u, v0, s20), _fma(u, v1, s21)
            s22, s23 = _fma(u, v2, s22), _fma(u, v3, s23)
            if five:
                s24 = _fma(u, v4, s24)
            u = _load(W, j + 3, k)
            s30, s31 = _fma(u, v0, s30), _fma(u, v1, s31)
            s32, s33 = _fma(u, v2, s32), _fma(u, v3, s33)
            if five:
                s34 = _fma(u, v4, s34)
    Z[j, i] += _sum_lanes(s00)
    Z[j, i + 1] += _sum_lanes(s01)
    Z[j, i + 2] += _sum_lanes(s02)
    Z[j, i + 3] += _sum_lanes(s03)
    Z[j + 1, i] += _sum_lanes(s10)
    Z[j + 1, i + 1] += _sum_lanes(s11)
    Z[j + 1, i + 2] += _sum_lanes(s12)
    Z[j + 1, i + 3] += _sum_lanes(s13)
    if units == 4:
        Z[j + 2, i] += _sum_lanes(s20)
        Z[j + 2, i + 1] += _sum_lanes(s21)
        Z[j + 2, i + 2] += _sum_lanes(s22)
        Z[j + 2, i + 3] += _sum_lanes(s23)
        Z[j + 3, i] += _sum_lanes(s30)
        Z[j + 3, i + 1] += _sum_lanes(s31)
        Z[j + 3, i + 2] += _sum_lanes(s32)
        Z[j + 3, i + 3] += _sum_lanes(s33)
    if five:
        Z[j, i + 4] += _sum_lanes(s04)
        Z[j + 1, i + 4] += _sum_lanes(s14)
        if units == 4:
            Z[j + 2, i + 4] += _sum_lanes(s24)
            Z[j + 3, i + 4] += _sum_lanes(s34)


@njit(inline="always", **_OPTIONS)
def _affine_tiles(X, rows, R, W, J, K, Z, five, units):
    """The tiles of :func:`_input_affine` over its first R examples and J units (a multiple
    of ``units``), of five examples or four (``five``); each group's first tile asks the
    caches for the rows PREFETCH_TILES tiles on."""
    e = 5 if five else 4
    for i in range(0, R, e):
        ahead = i + PREFETCH_TILES * e
        if ahead + e > rows.shape[0]:
            ahead = -1
        for j in range(0, J, units):
            _affine_tile(X, rows, i, W, j, K, Z, ahead if j == 0 else -1, five, units)


@njit(**_OPTIONS)
def _input_affine(X, rows, r, W, b, Z):
    """Z[:, i] = W X[rows[i]] + b for i < r:  (n_out, n_in) @ (n_in, r) -> (n_out, r).

    In tiles of four units by four examples (``_affine_tile``, as two tiles of two units
    where AFFINE_UNITS is 2); the units, examples and columns left over at the edges, one
    dot product at a time. Entries of ``rows`` past r, if any, are the rows that come next:
    the first tiles of each group of examples prefetch them from memory, and where Z has the
    columns, the last examples go through one more tile with the first of them, faster than
    one dot product at a time; Z's columns past r then hold numbers the caller discards.
    Where r is a multiple of five (batch 10), that case takes tiles of five examples
    instead: the same sums, none for the next rows (batch 10 in three tiles of four took
    examples 8 and 9 beside 10 and 11).
    """
    n_out, n_in = W.shape
    L = _lanes(W)
    J, R, K = n_out - n_out % 4, r - r % 4, n_in - n_in % L
    five = False
    if r > R and min(rows.shape[0], Z.shape[1]) >= R + 4:
        R += 4  # the last examples' tile
        if r % 5 == 0:  # (batch 10) tiles of five examples do the same sums, none wasted
            R, five = r, True
    for j in range(n_out):
        Z[j, : max(r, R)] = b[j]
    if five:  # (a literal for each call, so that the tiles are compiled for it)
        _affine_tiles(X, rows, R, W, J, K, Z, True, AFFINE_UNITS)
    else:
        _affine_tiles(X, rows, R, W, J, K, Z, False, AFFINE_UNITS)
    _add_dots(X, rows, 0, R, W, 0, J, K, n_in, Z)  # the columns past the last full vector
    _add_dots(X, rows, 0, R, W, J, n_out, 0, n_in, Z)  # the last units
    _add_dots(X, rows, R, r, W, 0, n_out, 0, n_in, Z)  # the last examples (none if R ≥ r)


@njit(**_OPTIONS)
def _add_product(M, A, Z):
    """Z += M A:  (n_out, n_in) @ (n_in, r) -> (n_out, r), along rows of r examples.

    The small layers' products, forward (M = W) and backward (M = Wᵀ, a transposed view:
    only single numbers are read from it). In tiles of four rows of Z by one vector of
    examples, summed over k in registers: each load of A's row serves four multiply-adds,
    and the four sums are independent, so the adds need not wait for one another. A loop
    along the examples, as plain code, would start afresh for every (j, k) and, at batch
    10, never reach a vector. Columns past the last full vector (the chunk's callers pad r
    to a whole number of vectors), one number at a time.
    """
    n_out, n_in = M.shape
    r = A.shape[1]
    L = _lanes(Z)
    R, J = r - r % L, n_out - n_out % 4
    for c in range(0, R, L):
        for j in range(0, J, 4):
            s0, s1 = _load(Z, j, c), _load(Z, j + 1, c)
            s2, s3 = _load(Z, j + 2, c), _load(Z, j + 3, c)
            for k in range(n_in):
                a = _load(A, k, c)
                s0, s1 = _fma(_splat(M[j, k]), a, s0), _fma(_splat(M[j + 1, k]), a, s1)
                s2, s3 = _fma(_splat(M[j + 2, k]), a, s2), _fma(_splat(M[j + 3, k]), a, s3)
            _store(Z, j, c, s0)
            _store(Z, j + 1, c, s1)
            _store(Z, j + 2, c, s2)
            _store(Z, j + 3, c, s3)
        for j in range(J, n_out):
            s = _load(Z, j, c)
            for k in range(n_in):
                s = _fma(_splat(M[j, k]), _load(A, k, c), s)
            _store(Z, j, c, s)
    if r > R:  # columns past the last full vector
        for j in range(n_out):
            z = Z[j]
            for k in range(n_in):
                m = M[j, k]
                a = A[k]
                for i in range(R, r):
                    z[i] += m * a[i]


@njit(**_OPTIONS)
def _hidden_affine(A, W, b, Z):
    """Z = W A + b:  (n_out, n_in) @ (n_in, r) -> (n_out, r)."""
    for j in range(Z.shape[0]):
        Z[j, :] = b[j]
    _add_product(W, A, Z)


@njit(**_OPTIONS)
def _add_products(D, X, rows, r, dW, j0, j1, k0, k1):
    """dW[j, k0:k1] += Σ_i D[j, i] X[rows[i], k0:k1] for j0 ≤ j < j1: the edges that the
    weight gradient's tiles leave, one example at a time."""
    for j in range(j0, j1):
        for i in range(r):
            d = D[j, i]
            row = rows[i]
            for k in range(k0, k1):
                dW[j, k] += d * X[row, k]


@njit(inline="always", **_OPTIONS)
def _rows_ahead(r):
    """Where the rows that a chunk of r asks the caches for start, counted from its first:
    r on (the next chunk), but at least AHEAD_ROWS."""
    return max(r, AHEAD_ROWS)


@njit(inline="always", **_OPTIONS)
def _step_row(W, j, k, g, neg_eta, squares):
    """W[j, k:k+L] += −η g, one vector of the weights; returns squares + g² (lane by lane)."""
    _store(W, j, k, _fma(neg_eta, g, _load(W, j, k)))
    return _fma(g, g, squares)


@njit(inline="always", **_OPTIONS)
def _gradient_tile(D, X, rows, r, dW, j, k, two, fetch, fresh, eta, units):
    """dW[j:j+u, k:k+2L] += D[j:j+u, :r] X[rows[:r], k:k+2L], u = ``units`` (8, or 4 where
    there are 16 registers) and L the vector's lanes (with
    ``two`` false, one vector: k:k+L); with ``fresh``, dW[…] = D X[…], its old values unread.
    With η > 0, dW is W itself, and the tile of ∂C/∂W goes from the registers straight into
    the step, W[…] −= η ∂C/∂W[…]: returns Σ (∂C/∂W[…])² (0 without η), never stored.

    The tile, eight units by two vectors of columns, stays in sixteen registers while the
    chunk's r examples go by; per example, two loads of X and eight numbers of D serve
    sixteen multiply-adds, and dW is read and written once per chunk. Four units take eight
    registers, for CPUs with 16 in all. (Without ``two`` the
    second vector's work is dead code, which the compiler drops.) Meanwhile it asks the
    caches for the same columns of ``fetch`` rows to come, rows[a : a + fetch] with
    a = _rows_ahead(r).
    """
    L = _lanes(dW)
    m = L if two else 0  # where the second vector starts: on the first if it is not used
    ahead = _rows_ahead(r)
    if fresh:
        a0 = b0 = a1 = b1 = a2 = b2 = a3 = b3 = _splat(dW.dtype.type(0))
        a4 = b4 = a5 = b5 = a6 = b6 = a7 = b7 = a0
    else:
        a0, b0 = _load(dW, j, k), _load(dW, j, k + m)
        a1, b1 = _load(dW, j + 1, k), _load(dW, j + 1, k + m)
        a2, b2 = _load(dW, j + 2, k), _load(dW, j + 2, k + m)
        a3, b3 = _load(dW, j + 3, k), _load(dW, j + 3, k + m)
        a4 = b4 = a5 = b5 = a6 = b6 = a7 = b7 = a0
        if units == 8:
            a4, b4 = _load(dW, j + 4, k), _load(dW, j + 4, k + m)
            a5, b5 = _load(dW, j + 5, k), _load(dW, j + 5, k + m)
            a6, b6 = _load(dW, j + 6, k), _load(dW, j + 6, k + m)
            a7, b7 = _load(dW, j + 7, k), _load(dW, j + 7, k + m)
    for i in range(r):
        if i < fetch:
            _prefetch(X, rows[ahead + i], k)
            _prefetch(X, rows[ahead + i], k + m)
        u, v = _load(X, rows[i], k), _load(X, rows[i], k + m)
        d = _splat(D[j, i])
        a0, b0 = _fma(d, u, a0), _fma(d, v, b0)
        d = _splat(D[j + 1, i])
        a1, b1 = _fma(d, u, a1), _fma(d, v, b1)
        d = _splat(D[j + 2, i])
        a2, b2 = _fma(d, u, a2), _fma(d, v, b2)
        d = _splat(D[j + 3, i])
        a3, b3 = _fma(d, u, a3), _fma(d, v, b3)
        if units == 8:
            d = _splat(D[j + 4, i])
            a4, b4 = _fma(d, u, a4), _fma(d, v, b4)
            d = _splat(D[j + 5, i])
            a5, b5 = _fma(d, u, a5), _fma(d, v, b5)
            d = _splat(D[j + 6, i])
            a6, b6 = _fma(d, u, a6), _fma(d, v, b6)
            d = _splat(D[j + 7, i])
            a7, b7 = _fma(d, u, a7), _fma(d, v, b7)
    if eta > 0:
        neg = _splat(dW.dtype.type(-eta))
        p = q = _splat(dW.dtype.type(0))
        p = _step_row(dW, j, k, a0, neg, p)
        q = _step_row(dW, j + 1, k, a1, neg, q)
        p = _step_row(dW, j + 2, k, a2, neg, p)
        q = _step_row(dW, j + 3, k, a3, neg, q)
        if units == 8:
            p = _step_row(dW, j + 4, k, a4, neg, p)
            q = _step_row(dW, j + 5, k, a5, neg, q)
            p = _step_row(dW, j + 6, k, a6, neg, p)
            q = _step_row(dW, j + 7, k, a7, neg, q)
        if two:
            p = _step_row(dW, j, k + L, b0, neg, p)
            q = _step_row(dW, j + 1, k + L, b1, neg, q)
            p = _step_row(dW, j + 2, k + L, b2, neg, p)
            q = _step_row(dW, j + 3, k + L, b3, neg, q)
            if units == 8:
                p = _step_row(dW, j + 4, k + L, b4, neg, p)
                q = _step_row(dW, j + 5, k + L, b5, neg, q)
                p = _step_row(dW, j + 6, k + L, b6, neg, p)
                q = _step_row(dW, j + 7, k + L, b7, neg, q)
        return float(_sum_lanes(p)) + float(_sum_lanes(q))
    _store(dW, j, k, a0)
    _store(dW, j + 1, k, a1)
    _store(dW, j + 2, k, a2)
    _store(dW, j + 3, k, a3)
    if units == 8:
        _store(dW, j + 4, k, a4)
        _store(dW, j + 5, k, a5)
        _store(dW, j + 6, k, a6)
        _store(dW, j + 7, k, a7)
    if two:
        _store(dW, j, k + L, b0)
        _store(dW, j + 1, k + L, b1)
        _store(dW, j + 2, k + L, b2)
        _store(dW, j + 3, k + L, b3)
        if units == 8:
            _store(dW, j + 4, k + L, b4)
            _store(dW, j + 5, k + L, b5)
            _store(dW, j + 6, k + L, b6)
            _store(dW, j + 7, k + L, b7)
    return 0.0


@njit(inline="always", **_OPTIONS)
def _bias_gradient(D, r, db, fresh):
    """db += Σ_i D[:, i] over the chunk's r examples; with ``fresh``, db = …"""
    zero = db.dtype.type(0)
    for j in range(D.shape[0]):
        s = zero
        for i in range(r):
            s += D[j, i]
        db[j] = s if fresh else db[j] + s


@njit(**_OPTIONS)
def _input_weight_gradient(D, X, rows, r, dW, db, fresh):
    """dW += D X[rows] and db += Σ_i D[:, i]:  (n_out, r) @ (r, n_in) -> (n_out, n_in); with
    ``fresh`` (a slice's first chunk), dW = … and db = …, so that ∂C/∂W¹ needs no pass of
    its own to be zeroed first.

    In tiles of eight units by two vectors of columns (``_gradient_tile``, as two tiles of
    four where GRADIENT_UNITS is 4), each summed over the whole chunk in registers; the
    units and columns left over at the edges, one example at a time. Entries of ``rows``
    past r, if any, are the rows that come next: the first tile of each column block asks
    the caches for r of them, from ``_rows_ahead(r)`` on, so that their forward pass finds
    them there, all arrived (this pass reads only rows already in cache, leaving the
    memory's bandwidth free).
    """
    _input_weight_pass(D, X, rows, r, dW, dW, db, fresh, 0.0, GRADIENT_UNITS)


@njit(**_OPTIONS)
def _input_weight_step(D, X, rows, r, W, dW, db, eta):
    """W −= η D X[rows] and db = Σ_i D[:, i], a whole batch's ∂C/∂W¹ going straight from the
    tiles' registers into the step (the edges' through dW); returns Σ (∂C/∂W¹)².

    Used only once the step is known to be taken (see :func:`_fused_step`): ∂C/∂W¹ is then
    never written, read back for ‖∇C‖ and read again for the update: three passes over
    W¹'s numbers, about 1.2 µs of the seed network's 13.7 µs step at batch 10."""
    return _input_weight_pass(D, X, rows, r, W, dW, db, True, eta, GRADIENT_UNITS)


@njit(inline="always", **_OPTIONS)
def _input_weight_pass(D, X, rows, r, W, dW, db, fresh, eta, units):
    """:func:`_input_weight_gradient` (η = 0; W is dW) or :func:`_input_weight_step`, in
    tiles of ``units`` units (8, or 4: the same bits of ∂C/∂W¹ and W¹, since each entry is
    the same sum, and ‖∂C/∂W¹‖² to rounding, its squares grouped otherwise)."""
    n_out, n_in = dW.shape
    L = _lanes(dW)
    U = units
    J, K = n_out - n_out % 8, n_in - n_in % L
    fetch = max(0, min(r, rows.shape[0] - _rows_ahead(r)))
    squares = 0.0
    for k in range(0, K - L, 2 * L):
        for j in range(0, J, U):
            squares += _gradient_tile(D, X, rows, r, W, j, k, True, fetch if j == 0 else 0,
                                      fresh, eta, U)  # fmt: skip
    if K % (2 * L):  # an odd vector of columns
        for j in range(0, J, U):
            squares += _gradient_tile(D, X, rows, r, W, j, K - L, False,
                                      fetch if j == 0 else 0, fresh, eta, U)  # fmt: skip
    if fresh:  # the edges are added into
        for j in range(J):
            dW[j, K:] = 0
        dW[J:, :] = 0
    _add_products(D, X, rows, r, dW, 0, J, K, n_in)  # the columns past the last full vector
    _add_products(D, X, rows, r, dW, J, n_out, 0, n_in)  # the last units
    if eta > 0:  # the edges' step, row by row
        for j in range(n_out):
            w, g = W[j, (K if j < J else 0) :], dW[j, (K if j < J else 0) :]
            squares = _weight_squares(w, g, 0.0, squares, 0.0)[0]
            _update(w, w, g, eta, 0.0)  # (no momentum: the velocity is not read)
    _bias_gradient(D, r, db, fresh)
    return squares


@njit(**_OPTIONS)
def _hidden_weight_gradient(D, A, dW, db, fresh):
    """dW += D Aᵀ and db += Σ_i D[:, i]:  (n_out, r) @ (r, n_in) -> (n_out, n_in); zeroed
    first, if ``fresh``.

    Each entry is a dot product along the r examples; four of them at a time.
    """
    n_out, n_in = dW.shape
    r = D.shape[1]
    zero = dW.dtype.type(0)
    if fresh:
        dW[:, :] = 0
        db[:] = 0
    for j in range(n_out):
        d = D[j]
        k = 0
        while k + 4 <= n_in:
            a0, a1, a2, a3 = A[k], A[k + 1], A[k + 2], A[k + 3]
            s0 = zero
            s1 = zero
            s2 = zero
            s3 = zero
            for i in range(r):
                s0 += d[i] * a0[i]
                s1 += d[i] * a1[i]
                s2 += d[i] * a2[i]
                s3 += d[i] * a3[i]
            dW[j, k] += s0
            dW[j, k + 1] += s1
            dW[j, k + 2] += s2
            dW[j, k + 3] += s3
            k += 4
        while k < n_in:
            a = A[k]
            s = zero
            for i in range(r):
                s += d[i] * a[i]
            dW[j, k] += s
            k += 1
        s = zero
        for i in range(r):
            s += d[i]
        db[j] += s


@njit(**_OPTIONS)
def _hidden_weight_gradient_short(D, A, r, dW, db, fresh, scratch):
    """:func:`_hidden_weight_gradient` for a chunk of one vector of examples (rp = lanes) and
    a whole number of vectors of inputs: A's r columns are first copied into ``scratch`` as
    rows, Aᵀ (r, n_in), and then dW += D[:, :r] Aᵀ is :func:`_add_product`'s tiles, vectors
    along the inputs: no dot product ends in a sum across the lanes, which at batch 10 took
    most of the time (16 × 16 weights: 575 ns a call against 239)."""
    n_in = dW.shape[1]
    AT = _matrix(scratch, 0, r, n_in)
    for k in range(n_in):
        a = A[k]
        for i in range(r):
            AT[i, k] = a[i]
    if fresh:
        dW[:, :] = 0
    _add_product(D[:, :r], AT, dW)
    _bias_gradient(D, r, db, fresh)


@njit(**_OPTIONS)
def _back_through(D, W, D_prev):
    """D_prev = Wᵀ D:  (n_in, n_out) @ (n_out, r) -> (n_in, r)."""
    D_prev[:, :] = 0
    _add_product(W.T, D, D_prev)


@njit(**_OPTIONS)
def _logit_cost(Z, Y, rows, r, output):
    """The chunk's Σ of per-example cross-entropies, from the output layer's z: Z's first r
    columns, Z (n, ≥ r).

    As ``cost.cross_entropy_terms``, exact where a = σ(z) rounds to 0 or 1:
    sigmoid: softplus(z) − y z = max(z, 0) − y z + ln(1 + e^(−|z|))      (∂/∂z = σ(z) − y);
    softmax: Σ_j y_j (LSE(z) − z_j), LSE(z) = z_max + ln(1 + Σ_{k≠max} e^(z_k − z_max))
    (∂/∂z_j = a_j − y_j for rows of y that sum to 1).
    """
    n = Z.shape[0]
    zero = Z.dtype.type(0)
    total = 0.0
    if output == SIGMOID:
        for j in range(n):
            z = Z[j]
            for i in range(r):
                v = z[i]
                total += max(v, zero) - Y[rows[i], j] * v + math.log1p(math.exp(-abs(v)))
        return total
    for i in range(r):
        top_at = 0
        top = Z[0, i]
        for j in range(1, n):
            if Z[j, i] > top:
                top_at, top = j, Z[j, i]
        others = zero
        for j in range(n):
            if j != top_at:
                others += math.exp(Z[j, i] - top)
        gap = math.log1p(others)
        for j in range(n):
            total += Y[rows[i], j] * ((top - Z[j, i]) + gap)
    return total


@njit(**_OPTIONS)
def _output_error(A, Y, rows, r, m, output, cost, D, scratch):
    """D = δᴸ = ∂C/∂zᴸ for the chunk's r examples, A's and D's first r columns, and 0 in D's
    columns past r (the padding, which then adds nothing to any gradient); for the quadratic
    cost, returns the chunk's Σ of per-example costs (cross-entropy's comes from z, by
    :func:`_logit_cost`).

    As ``backprop.output_error``: (a − y)/m for cross-entropy with its own output layer;
    otherwise (2/m)(a − y) times σ′ (sigmoid) or the softmax Jacobian.
    """
    n = A.shape[0]
    for j in range(n):
        D[j, r:] = 0
    one = A.dtype.type(1)
    two_over_m = A.dtype.type(2.0 / m)
    m_ = A.dtype.type(m)
    total = 0.0
    if cost == QUADRATIC:
        for j in range(n):
            a = A[j]
            d = D[j]
            for i in range(r):
                diff = a[i] - Y[rows[i], j]
                total += diff * diff
                d[i] = two_over_m * diff
        if output == SIGMOID:
            for j in range(n):
                a = A[j]
                d = D[j]
                for i in range(r):
                    d[i] *= a[i] * (one - a[i])
        else:  # softmax: ∂C/∂z_j = a_j (g_j − Σ_k g_k a_k)
            ga = scratch[:r]
            for i in range(r):
                ga[i] = 0
            for j in range(n):
                a = A[j]
                d = D[j]
                for i in range(r):
                    ga[i] += d[i] * a[i]
            for j in range(n):
                a = A[j]
                d = D[j]
                for i in range(r):
                    d[i] = a[i] * (d[i] - ga[i])
    else:
        for j in range(n):
            a = A[j]
            d = D[j]
            for i in range(r):
                d[i] = (a[i] - Y[rows[i], j]) / m_
    return total


@njit(inline="always", **_OPTIONS)
def _unit_run(n, p, parts):
    """Units [j0, j1) of part p of ``parts`` of a first layer of n units: cut at multiples of
    8, the weight gradient's tile (and two of the forward pass's), so that every unit goes
    through the same register tile, or the same edge loop, as in the uncut layer."""
    j0 = (n * p // parts) // 8 * 8
    j1 = n if p == parts - 1 else (n * (p + 1) // parts) // 8 * 8
    return j0, j1


@njit(parallel=True, **_OPTIONS)
def _input_affine_parts(X, rows, r, wb, z, n_out, n_in, parts):
    """:func:`_input_affine` with the first layer's units cut into ``parts`` runs, one per
    thread: W¹ and b¹ from ``wb`` (their stretch of θ), Z¹ into ``z`` (its stretch of the
    activations, rp ≥ r columns a unit). Each unit's sums are the uncut layer's, so the
    numbers are the same bit for bit; only a layer wide enough to keep two cores busy within
    one step is cut."""
    rp = z.shape[0] // n_out
    for p in prange(parts):
        mode = _flush_subnormals()
        j0, j1 = _unit_run(n_out, p, parts)
        W = wb[j0 * n_in : j1 * n_in].reshape((j1 - j0, n_in))
        b = wb[n_out * n_in + j0 : n_out * n_in + j1]
        _input_affine(X, rows, r, W, b, z[j0 * rp : j1 * rp].reshape((j1 - j0, rp)))
        _restore_subnormals(mode)


@njit(parallel=True, **_OPTIONS)
def _input_weight_gradient_parts(d, X, rows, r, g, n_out, n_in, parts, fresh):
    """:func:`_input_weight_gradient` with the units cut as in :func:`_input_affine_parts`:
    δ¹ from ``d`` (rp ≥ r columns a unit), ∂C/∂W¹ and ∂C/∂b¹ into ``g`` (their stretch of
    the gradient)."""
    rp = d.shape[0] // n_out
    for p in prange(parts):
        mode = _flush_subnormals()
        j0, j1 = _unit_run(n_out, p, parts)
        dW = g[j0 * n_in : j1 * n_in].reshape((j1 - j0, n_in))
        db = g[n_out * n_in + j0 : n_out * n_in + j1]
        D = d[j0 * rp : j1 * rp].reshape((j1 - j0, rp))
        _input_weight_gradient(D, X, rows, r, dW, db, fresh)
        _restore_subnormals(mode)


@njit(**_OPTIONS)
def _chunk_gradient(
    theta, X, Y, rows, r, m, layers, hidden, output, cost, acts, D, D_prev, grad, parts, fresh
):  # fmt: skip
    """Add the gradient of the rows X[rows[:r]] (a chunk of a batch of m) into ``grad``; with
    ``fresh``, write it there instead. With ``parts`` = 0, ∂C/∂W¹ and ∂C/∂b¹ are left to
    the caller (see :func:`_fused_step`).

    ``layers`` holds, per layer, (n_in, n_out, offset of W in θ, offset of its activations in
    ``acts``). Activations and errors are kept one row per unit, (n, rp), so that the small
    layers' loops run along the chunk's examples: rp is r padded to a whole number of
    vectors (at most ``CHUNK``), the padding's z¹ zero (so that every number there is
    finite) and its errors δ zero, so that it adds nothing to the gradient. Returns the
    chunk's sum of per-example costs (the caller divides by m) and δ¹, (n₁, rp).
    """
    L = layers.shape[0]
    lanes = _lanes(X)
    rp = -(-r // lanes) * lanes
    logit_total = 0.0
    n1, w1 = layers[0, 1], layers[0, 1] * (layers[0, 0] + 1)  # W¹ and b¹: θ[:w1]
    # Forward: aˡ = σ(Wˡ aˡ⁻¹ + bˡ), kept for every layer.
    for l in range(L):
        n_in, n_out, w_at, a_at = layers[l, 0], layers[l, 1], layers[l, 2], layers[l, 3]
        W = _matrix(theta, w_at, n_out, n_in)
        b = theta[w_at + n_out * n_in : w_at + n_out * n_in + n_out]
        Z = _matrix(acts, a_at, n_out, rp)
        if l == 0:
            if parts > 1:
                _input_affine_parts(X, rows, r, theta[:w1], acts[: n1 * rp], n1, n_in, parts)
            else:
                _input_affine(X, rows, r, W, b, Z)
            for j in range(n1):
                Z[j, r:] = 0
        else:
            p_at = layers[l - 1, 3]
            _hidden_affine(_matrix(acts, p_at, n_in, rp), W, b, Z)
        if l == L - 1 and cost == CROSS_ENTROPY:
            logit_total = _logit_cost(Z, Y, rows, r, output)  # from zᴸ, before σ overwrites it
        _activate(Z, output if l == L - 1 else hidden, D_prev)  # D_prev: free as scratch
    n_out, a_at = layers[L - 1, 1], layers[L - 1, 3]
    delta = _matrix(D, 0, n_out, rp)
    A = _matrix(acts, a_at, n_out, rp)
    total = _output_error(A, Y, rows, r, m, output, cost, delta, D_prev)  # quadratic: Σ costs
    total += logit_total  # cross-entropy: Σ costs from zᴸ (0 for the quadratic cost)
    # Backward: ∂C/∂Wˡ += δˡ aˡ⁻¹ᵀ, ∂C/∂bˡ += Σ δˡ, then δˡ⁻¹ = (Wˡᵀ δˡ) ⊙ σ′(aˡ⁻¹).
    for l in range(L - 1, -1, -1):
        n_in, n_out, w_at = layers[l, 0], layers[l, 1], layers[l, 2]
        dW = _matrix(grad, w_at, n_out, n_in)
        db = grad[w_at + n_out * n_in : w_at + n_out * n_in + n_out]
        if l == 0 and parts == 0:
            break
        if l == 0 and parts > 1:
            _input_weight_gradient_parts(D[: n1 * rp], X, rows, r, grad[:w1], n1, n_in, parts,
                                         fresh)  # fmt: skip
        elif l == 0:
            _input_weight_gradient(delta, X, rows, r, dW, db, fresh)
        else:
            p_at = layers[l - 1, 3]
            A_prev = _matrix(acts, p_at, n_in, rp)
            if rp == lanes and n_in % lanes == 0:  # D_prev: free until δˡ⁻¹ is written
                _hidden_weight_gradient_short(delta, A_prev, r, dW, db, fresh, D_prev)
            else:
                _hidden_weight_gradient(delta, A_prev, dW, db, fresh)
            W = _matrix(theta, w_at, n_out, n_in)
            prev = _matrix(D_prev, 0, n_in, rp)
            _back_through(delta, W, prev)
            _times_derivative(prev, A_prev, hidden)
            D, D_prev = D_prev, D
            delta = prev
    return total, delta


# Numbers per block of _weight_squares' sums, each block summed in the arrays' precision and
# the blocks in float64: float32 vectors hold twice the numbers that float64 ones do.
SQUARES_BLOCK = 1024


@njit(inline="always", **_OPTIONS)
def _weight_squares(W, dW, l2, squares, weights):
    """(squares + Σ dW², weights + Σ W²) over a stretch of weights; with L2, dW += λW first.

    Slices indexed from 0 let Numba vectorise the loops."""
    decay = W.dtype.type(l2)
    zero = W.dtype.type(0)
    n = W.shape[0]
    for start in range(0, n, SQUARES_BLOCK):
        stop = min(start + SQUARES_BLOCK, n)
        w, g = W[start:stop], dW[start:stop]
        block = zero
        if l2 > 0:
            block_w = zero
            for p in range(w.shape[0]):
                gp = g[p] + decay * w[p]
                g[p] = gp
                block += gp * gp
                block_w += w[p] * w[p]
            weights += block_w
        else:
            for p in range(w.shape[0]):
                block += g[p] * g[p]
        squares += block
    return squares, weights


@njit(inline="always", **_OPTIONS)
def _layer_squares(theta, grad, layers, l, with_weights, l2, squares, weights):
    """(squares, weights) plus layer l's Σ (∂C/∂b)², and with ``with_weights`` its
    :func:`_weight_squares` (which adds λW to the weights' gradient with L2)."""
    w_at, n_w, n_b = layers[l, 2], layers[l, 0] * layers[l, 1], layers[l, 1]
    if with_weights:
        squares, weights = _weight_squares(
            theta[w_at : w_at + n_w], grad[w_at : w_at + n_w], l2, squares, weights
        )
    db = grad[w_at + n_w : w_at + n_w + n_b]
    for p in range(n_b):
        squares += db[p] * db[p]
    return squares, weights


@njit(inline="always", **_OPTIONS)
def _update(theta, velocity, grad, eta, momentum):
    """θ ← θ − η∇C, or v ← μv − η∇C, θ ← θ + v with momentum μ > 0, over a stretch of θ."""
    eta_ = theta.dtype.type(eta)
    if momentum > 0:
        mu = theta.dtype.type(momentum)
        for p in range(theta.shape[0]):
            v = velocity[p] * mu
            v -= eta_ * grad[p]
            velocity[p] = v
            theta[p] += v
    else:
        for p in range(theta.shape[0]):
            theta[p] -= eta_ * grad[p]


@njit(parallel=True, **_OPTIONS)
def _first_layer_squares_parts(theta, grad, n_out, n_in, l2, parts, sums):
    """sums[p] = (Σ (∂C/∂W¹)², Σ (W¹)²) over part p of the first layer's units (the parts
    of :func:`_input_affine_parts`, each on the thread whose cache holds it)."""
    for p in prange(parts):
        mode = _flush_subnormals()
        lo, hi = _unit_run(n_out, p, parts)
        sums[p, 0], sums[p, 1] = _weight_squares(
            theta[lo * n_in : hi * n_in], grad[lo * n_in : hi * n_in], l2, 0.0, 0.0
        )
        _restore_subnormals(mode)


@njit(parallel=True, **_OPTIONS)
def _first_layer_update_parts(theta, velocity, grad, n_out, n_in, eta, momentum, parts):
    """:func:`_update` of W¹, part by part as in :func:`_first_layer_squares_parts`."""
    for p in prange(parts):
        mode = _flush_subnormals()
        lo, hi = _unit_run(n_out, p, parts)
        lo, hi = lo * n_in, hi * n_in
        _update(theta[lo:hi], velocity[lo:hi], grad[lo:hi], eta, momentum)
        _restore_subnormals(mode)


@njit(inline="always", **_OPTIONS)
def _verdict(C, squares, weights, l2, threshold):
    """(C with its L2 term (λ/2)‖W‖², ‖∇C‖, status) from the batch's mean cost C, Σ (∂C/∂θ)²
    and ‖W‖²: DIVERGED when C is NaN/inf or above ``threshold`` or the norm is NaN/inf, FLAT
    when ∇C is exactly zero, else DONE (the step may be taken)."""
    if l2 > 0:
        C += 0.5 * l2 * weights
    norm = math.sqrt(squares)
    if not (math.isfinite(C) and math.isfinite(norm)) or threshold < C:
        return C, norm, DIVERGED
    if norm <= 0.0:
        return C, norm, FLAT
    return C, norm, DONE


@njit(**_OPTIONS)
def _finish_step(
    theta, velocity, grad, total, m, eta, momentum, l2, threshold, layers, parts
):  # fmt: skip
    """Complete one step from the batch's summed cost: L2, ‖∇C‖, the checks, the update.

    Returns (C, ‖∇C‖, status): DIVERGED (θ untouched) when C is NaN/inf or above
    ``threshold`` or the norm is NaN/inf, FLAT (θ untouched) when ∇C is exactly zero, else
    DONE after θ ← θ − η∇C (or v ← μv − η∇C, θ ← θ + v with momentum μ > 0). With ``parts``
    > 1, W¹'s share of both passes is cut among threads by units, as its products were, so
    that each thread works on what its cache already holds (‖∇C‖ then adds in another
    order; θ is the same bit for bit).
    """
    C = total / m
    # ‖∇C‖² in one pass, layer by layer; with L2 the same pass adds λW to the weights'
    # gradient and sums ‖W‖² for the cost's (λ/2)‖W‖² (over the weights, not the biases).
    squares = 0.0
    weights = 0.0
    n_out1, n_in1 = layers[0, 1], layers[0, 0]
    if parts > 1:
        sums = np.empty((parts, 2))
        _first_layer_squares_parts(theta, grad, n_out1, n_in1, l2, parts, sums)
        for p in range(parts):
            squares += sums[p, 0]
            weights += sums[p, 1]
    for l in range(layers.shape[0]):
        squares, weights = _layer_squares(
            theta, grad, layers, l, l > 0 or parts == 1, l2, squares, weights
        )
    C, norm, status = _verdict(C, squares, weights, l2, threshold)
    if status != DONE:
        return C, norm, status
    rest = 0
    if parts > 1:
        _first_layer_update_parts(theta, velocity, grad, n_out1, n_in1, eta, momentum, parts)
        rest = n_out1 * n_in1
    _update(theta[rest:], velocity[rest:], grad[rest:], eta, momentum)
    return C, norm, DONE


# A batch's ∂C/∂W¹ goes straight into the step only where its entries are certain to be
# finite, and their squares' sums too: |∂C/∂W¹[j, k]| ≤ max |x| · Σ |δ¹| must stay below this.
FUSED_BOUND = 1e17


@njit(**_OPTIONS)
def _fused_step(theta, velocity, grad, X, rows, r, delta, total, m, eta, momentum, l2,
                threshold, layers, parts, xmax):  # fmt: skip
    """Finish a step of plain SGD (``momentum`` and ``l2`` are 0, passed on to
    :func:`_finish_step` as they came) on a batch of one chunk, X[rows[:r]]:
    ``grad`` holds every layer's gradient but the first's, ``delta`` is δ¹. Returns (C,
    ‖∇C‖, status) as :func:`_finish_step` does, and leaves θ as it does.

    All that the checks need but ∂C/∂W¹'s squares is known first: C, the other gradients'
    squares, and a bound on ∂C/∂W¹'s entries from δ¹ and ``xmax`` (max |x| over X). Where
    C passes, the other squares are finite and not all zero and the bound holds, the step
    is certain to be taken whatever ∂C/∂W¹ turns out to be, so ∂C/∂W¹ goes from the
    registers straight into W¹ (:func:`_input_weight_step`). Otherwise it is computed,
    checked and applied as in any other step.
    """
    n1, n_in = layers[0, 1], layers[0, 0]
    nw = n1 * n_in
    W = _matrix(theta, 0, n1, n_in)
    dW = _matrix(grad, 0, n1, n_in)
    db = grad[nw : nw + n1]
    _bias_gradient(delta, r, db, True)
    squares = 0.0
    for l in range(layers.shape[0]):  # all but ∂C/∂W¹'s
        squares = _layer_squares(theta, grad, layers, l, l > 0, 0.0, squares, 0.0)[0]
    size = 0.0
    for j in range(n1):
        for i in range(r):
            size += abs(delta[j, i])
    C = total / m
    taken = math.isfinite(C) and not threshold < C and 0.0 < squares < math.inf
    if taken and size * xmax <= FUSED_BOUND:
        squares += _input_weight_step(delta, X, rows, r, W, dW, db, eta)
        C, norm, status = _verdict(C, squares, 0.0, 0.0, threshold)  # DONE, by the above
        _update(theta[nw:], velocity[nw:], grad[nw:], eta, 0.0)
        return C, norm, status
    # (m > 0, not True: a value of the type the other callers pass, so that Numba compiles
    # the tiles once, not once more for the literal.)
    _input_weight_gradient(delta, X, rows, r, dW, db, m > 0)
    return _finish_step(
        theta, velocity, grad, total, m, eta, momentum, l2, threshold, layers, parts
    )


@njit(**_OPTIONS)
def _slice_gradient(
    w, S, theta, X, Y, order, lo, hi, layers, hidden, output, cost, acts, D, D_prev,
    into, parts,
):  # fmt: skip
    """Sum the gradient of slice w of S of the batch X[order[lo:hi]] into ``into`` (written by
    the first chunk, then added into; zeros, for a slice with no rows), chunk by chunk;
    return the slice's sum of per-example costs. With ``parts`` > 1 the first layer's units
    are cut among that many threads (see _input_affine_parts).

    Slice w is the w-th of S equal runs of the batch's rows (S = 1: the whole batch). Each
    chunk also gets the rows that this thread reads next (the rest of its slice; unsliced,
    the rest of the epoch), for the kernels to prefetch.
    """
    m = hi - lo
    first = lo + (w * m) // S
    last = lo + ((w + 1) * m) // S
    if first == last:  # a last batch with fewer rows than slices
        into[:] = 0
    total = 0.0
    end = last if S > 1 else order.shape[0]
    for start in range(first, last, CHUNK):
        r = min(CHUNK, last - start)
        total += _chunk_gradient(
            theta, X, Y, order[start:end], r, m, layers, hidden, output, cost,
            acts[w], D[w], D_prev[w], into, parts, start == first,
        )[0]  # fmt: skip
    return total


@njit(**_OPTIONS)
def _add_slices(partial, totals, grad):
    """grad = partial[0] + partial[1] + … (in that order); returns Σ totals likewise."""
    S = partial.shape[0]
    for p in range(grad.shape[0]):
        g = partial[0, p]
        for w in range(1, S):
            g += partial[w, p]
        grad[p] = g
    total = 0.0
    for w in range(S):
        total += totals[w]
    return total


@njit(parallel=True, **_ENTRY)
def start_threads(n):
    """A parallel loop of n that does nothing, run before steps on n threads: a thread that
    Numba's pool starts while the steps flush subnormal numbers would inherit that mode and
    keep it after them, so the pool must exist first."""
    ran = np.zeros(n, dtype=np.int64)
    for p in prange(n):
        ran[p] = 1
    return ran.sum()


@njit(**_OPTIONS)
def _steps(
    theta, velocity, grad, X, Y, order, batch_size, etas, momentum, l2, threshold, layers,
    hidden, output, cost, acts, D, D_prev, partial, costs, norms, parts, xmax,
):  # fmt: skip
    """Take ``len(etas)`` SGD steps over consecutive batches of ``order``; stop early if needed.

    Step s uses the rows X[order[s·B : (s+1)·B]] (the last batch may be smaller) and the
    learning rate etas[s]; its cost and gradient norm go to costs[s] and norms[s]. As in
    ``descend``, a step that diverges or finds a zero gradient ends the call before its
    update (see :func:`_finish_step`). With S = len(partial) > 1 each batch is summed in S
    slices, one after the other, exactly as :func:`run_steps_parallel` sums them. With
    ``parts`` > 1 (and one slice) the first layer's units are cut among that many threads,
    which changes no bit of θ (see :func:`_finish_step` for ‖∇C‖). Plain SGD on batches of
    one chunk, uncut, takes its steps by :func:`_fused_step`, given ``xmax`` = max |x| over
    X (or −1: not known, and not fused).

    Returns (number of steps whose update was applied, DONE | DIVERGED | FLAT).
    """
    n = order.shape[0]
    S = partial.shape[0]
    totals = np.empty(S)
    fused = S == 1 and parts == 1 and momentum == 0 and l2 == 0 and xmax >= 0
    for s in range(etas.shape[0]):
        lo = s * batch_size
        hi = min(lo + batch_size, n)
        if fused and hi - lo <= CHUNK:
            # parts − 1 = 0: W¹'s gradient left to _fused_step (values, not literals, so that
            # Numba compiles _chunk_gradient once for both calls)
            total, delta = _chunk_gradient(
                theta, X, Y, order[lo:], hi - lo, hi - lo, layers, hidden, output, cost,
                acts[0], D[0], D_prev[0], grad, parts - 1, fused,
            )  # fmt: skip
            costs[s], norms[s], status = _fused_step(
                theta, velocity, grad, X, order[lo:], hi - lo, delta, total, hi - lo, etas[s],
                momentum, l2, threshold, layers, parts, xmax,
            )  # fmt: skip
            if status != DONE:
                return s, status
            continue
        for w in range(S):
            into = grad if S == 1 else partial[w]  # one slice: straight into the gradient
            totals[w] = _slice_gradient(
                w, S, theta, X, Y, order, lo, hi, layers, hidden, output, cost, acts, D,
                D_prev, into, parts,
            )  # fmt: skip
        total = totals[0] if S == 1 else _add_slices(partial, totals, grad)
        costs[s], norms[s], status = _finish_step(
            theta, velocity, grad, total, hi - lo, etas[s], momentum, l2, threshold, layers,
            parts,
        )  # fmt: skip
        if status != DONE:
            return s, status
    return etas.shape[0], DONE


@njit(**_ENTRY)
def run_steps(
    theta, velocity, grad, X, Y, order, batch_size, etas, momentum, l2, threshold, layers,
    hidden, output, cost, acts, D, D_prev, partial, costs, norms, parts, xmax,
):  # fmt: skip
    """:func:`_steps` with subnormal numbers flushed to zero on this thread meanwhile (see
    the module's notes): the mode the caller had is put back before returning."""
    mode = _flush_subnormals()
    # Views of the arguments not counted by reference (see simd._unowned): NRT's atomic
    # counting of every view taken inside was about a fifth of a batch-10 step.
    u = _unowned
    result = _steps(
        u(theta), u(velocity), u(grad), u(X), u(Y), u(order), batch_size, u(etas), momentum,
        l2, threshold, u(layers), hidden, output, cost, u(acts), u(D), u(D_prev), u(partial),
        u(costs), u(norms), parts, xmax,
    )  # fmt: skip
    _restore_subnormals(mode)
    return result


@njit(parallel=True, **_ENTRY)
def run_steps_parallel(
    theta, velocity, grad, X, Y, order, batch_size, etas, momentum, l2, threshold, layers,
    hidden, output, cost, acts, D, D_prev, partial, costs, norms,
):  # fmt: skip
    """:func:`run_steps` with the S = len(partial) slices of each batch run in parallel.

    Each slice is summed into its own ``partial[w]`` by whichever thread takes it, and the
    slices are added in the order w = 0, 1, …, so the numbers are those of :func:`run_steps`
    whatever the number of threads or the timing.
    """
    n = order.shape[0]
    S = partial.shape[0]
    totals = np.empty(S)
    mode = _flush_subnormals()
    u = _unowned  # (as in run_steps)
    theta, velocity, grad, X, Y, order = u(theta), u(velocity), u(grad), u(X), u(Y), u(order)
    layers, acts, D, D_prev, partial = u(layers), u(acts), u(D), u(D_prev), u(partial)
    for s in range(etas.shape[0]):
        lo = s * batch_size
        hi = min(lo + batch_size, n)
        for w in prange(S):
            slice_mode = _flush_subnormals()  # on whichever thread runs the slice
            totals[w] = _slice_gradient(
                w, S, theta, X, Y, order, lo, hi, layers, hidden, output, cost, acts, D,
                D_prev, partial[w], 1,
            )  # fmt: skip
            _restore_subnormals(slice_mode)
        total = _add_slices(partial, totals, grad)
        costs[s], norms[s], status = _finish_step(
            theta, velocity, grad, total, hi - lo, etas[s], momentum, l2, threshold, layers, 1
        )
        if status != DONE:
            _restore_subnormals(mode)
            return s, status
    _restore_subnormals(mode)
    return etas.shape[0], DONE


@njit(parallel=True, **_ENTRY)
def run_members(
    Theta, Velocity, Grad, X, Y, orders, which, batch_size, Etas, counts, momentum, l2,
    thresholds, layers, hidden, output, cost, Acts, D, D_prev, Partial, Costs, Norms,
    done, status, xmax,
):  # fmt: skip
    """:func:`run_steps` for each network k of a stack, the networks shared among the threads.

    Network k (θ = Theta[k], its own velocity, buffers and records) takes counts[k] steps
    with the learning rates Etas[k] over the order orders[which[k]]; how its call ended goes
    to done[k] and status[k]. One network's steps never touch another's arrays, so each
    gets exactly the numbers :func:`run_steps` gives it alone, whichever thread runs it.
    """
    for k in prange(Theta.shape[0]):
        done[k], status[k] = run_steps(
            Theta[k], Velocity[k], Grad[k], X, Y, orders[which[k]], batch_size,
            Etas[k, : counts[k]], momentum[k], l2[k], thresholds[k], layers, hidden, output,
            cost, Acts[k], D[k], D_prev[k], Partial[k], Costs[k], Norms[k], 1, xmax,
        )  # fmt: skip


@njit(parallel=True, **_ENTRY)
def measure_members(
    Z1, Theta, Y, labels, layers, hidden, output, cost, Acts, D, D_prev, totals, right
):  # fmt: skip
    """Add each network k's summed cost over a block of rows to totals[k], and its number of
    right guesses to right[k]: the evaluation after an epoch, the networks among the threads.

    Z1 (r, K·n₁) holds the block's first-layer products for every network, X (W¹₁; …; W¹_K)ᵀ,
    one wide BLAS product shared by all; the rest (b¹ and σ, the other layers, the cost,
    the arg max) runs here, chunk by chunk, in the layout of :func:`_chunk_gradient`'s
    forward pass, with network k's own scratch space Acts[k], D[k], D_prev[k].
    """
    R = Z1.shape[0]
    L = layers.shape[0]
    n1, n_in1 = layers[0, 1], layers[0, 0]
    rows = np.arange(R)
    for k in prange(Theta.shape[0]):
        mode = _flush_subnormals()
        theta = Theta[k]
        b1 = theta[n1 * n_in1 : n1 * n_in1 + n1]
        acts = Acts[k]
        for start in range(0, R, CHUNK):
            r = min(CHUNK, R - start)
            chunk_rows = rows[start : start + r]
            Z = acts[: n1 * r].reshape((n1, r))
            for j in range(n1):
                for i in range(r):
                    Z[j, i] = Z1[start + i, k * n1 + j] + b1[j]
            logit_total = 0.0
            n_out = n1
            for l in range(L):
                n_in, n_out, w_at, a_at = layers[l, 0], layers[l, 1], layers[l, 2], layers[l, 3]
                Z = acts[a_at : a_at + n_out * r].reshape((n_out, r))
                if l > 0:
                    W = theta[w_at : w_at + n_out * n_in].reshape((n_out, n_in))
                    b = theta[w_at + n_out * n_in : w_at + n_out * n_in + n_out]
                    p_at = layers[l - 1, 3]
                    _hidden_affine(acts[p_at : p_at + n_in * r].reshape((n_in, r)), W, b, Z)
                if l == L - 1 and cost == CROSS_ENTROPY:
                    logit_total = _logit_cost(Z, Y, chunk_rows, r, output)
                _activate(Z, output if l == L - 1 else hidden, D_prev[k])
            delta = D[k][: n_out * r].reshape((n_out, r))
            total = _output_error(Z, Y, chunk_rows, r, 1, output, cost, delta, D_prev[k])
            totals[k] += total + logit_total
            for i in range(r):
                best = 0
                top = Z[0, i]
                for j in range(1, n_out):
                    if Z[j, i] > top:
                        best, top = j, Z[j, i]
                if best == labels[start + i]:
                    right[k] += 1
        _restore_subnormals(mode)
