"""Compiled kernels of the fast engine: many SGD steps in one call, with no Python in between.

This module imports Numba; :mod:`nudgenet.fast` imports it only when the fast engine runs, so
``import nudgenet`` stays quick and works without Numba.

The mathematics is :mod:`nudgenet.backprop`'s, step for step (notation as there: rows are
examples, W has shape (n_out, n_in), θ = [W¹, b¹, …, Wᴸ, bᴸ]):

    aˡ = σ(aˡ⁻¹ Wˡᵀ + bˡ)                 forward, a⁰ = the batch's rows of X
    δᴸ = ∂C/∂zᴸ                           the output error (see ``_output_error``)
    ∂C/∂Wˡ = δˡᵀ aˡ⁻¹   ∂C/∂bˡ = Σ δˡ      summed over the batch (1/m is inside δᴸ)
    δˡ⁻¹ = (δˡ Wˡ) ⊙ σ′(aˡ⁻¹)
    θ ← θ − η∇C   (or v ← μv − η∇C, θ ← θ + v)

What makes it fast is only where the numbers live and how often Python is visited:

* a whole epoch runs in one call; the batch's rows are read from X through the shuffled index
  array (the data set is never gathered or copied);
* a batch is processed in chunks of ``CHUNK`` rows, forward and backward, so the rows just read
  are still in cache when the backward pass needs them again, and the buffers stay small;
* the first layer's two products (784 × n₁ per example, nearly all the arithmetic) are written
  out over several units and examples at a time, so that each row of W, ∂C/∂W or X that is
  loaded from memory serves several of them;
* the other layers' activations and errors are stored one row per unit, (n, r) rather than
  (r, n), so that their loops run along the chunk's examples, long enough to vectorise
  (a layer of 16 units would leave loops of 16);
* e^x in the sigmoid and softmax is plain arithmetic (``_exp_nonpositive``), which LLVM turns
  into vector instructions, rather than a library call per number;
* a large batch is cut into slices, each summed into its own gradient by whichever thread
  takes it, and the slices' gradients are added in a fixed order (so the result does not
  depend on how many threads ran or which finished first).

Sums are accumulated in a different order than BLAS does, so results equal the reference
engine's to rounding error, not bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic, overload

# Codes for the activations and costs; ``fast.py`` maps the names onto them.
SIGMOID, TANH, RELU, SOFTMAX = 0, 1, 2, 3
QUADRATIC, CROSS_ENTROPY = 0, 1
# How an epoch call ended.
DONE, DIVERGED, FLAT = 0, 1, 2

# Rows per chunk: 128 rows of 784 float32 inputs are 400 kB, which stays in a core's L2 between
# the forward and the backward pass.
CHUNK = 128

# ``reassoc`` lets LLVM vectorise sums (it may add in another order); ``contract`` allows fused
# multiply-add. Neither assumes finite values, so NaN and inf still reach the divergence check.
_OPTIONS = {
    "cache": True,
    "no_cpython_wrapper": True,
    "nogil": True,
    "error_model": "numpy",
    "fastmath": {"reassoc", "contract"},
}

_ENTRY = {**_OPTIONS, "no_cpython_wrapper": False}  # the two functions Python calls


@intrinsic
def _float_from_bits(typingctx, bits):  # pragma: no cover - compiled
    """The float whose bit pattern is ``bits`` (int32 → float32, int64 → float64)."""
    if bits == types.int32:
        result, llvm_type = types.float32, ir.FloatType()
    elif bits == types.int64:
        result, llvm_type = types.float64, ir.DoubleType()
    else:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvm_type)

    return result(bits), codegen


def _exp_nonpositive(x):
    """e^x for x ≤ 0 in x's precision (0 below the smallest normal number); compiled only."""
    return math.exp(x)


@overload(_exp_nonpositive)
def _exp_nonpositive_compiled(x):  # pragma: no cover - compiled
    """e^x = 2^m · e^r with m = round(x / ln 2) and |r| ≤ ln(2)/2: a polynomial for e^r and
    2^m written straight into the exponent bits, all plain arithmetic, so that a loop of
    them becomes vector instructions (math.exp would be one library call per number).
    Accurate to about an ulp; the sigmoid and softmax only ever need x ≤ 0."""
    if x == types.float32:
        f, i = np.float32, np.int32
        ln2_hi, ln2_lo, bias, shift = 0.693359375, -2.12194440e-4, 127, 23
        coefficients = [1.0 / math.factorial(k) for k in range(8)]  # error < 2e-9 for |r| < 0.35
    elif x == types.float64:
        f, i = np.float64, np.int64
        ln2_hi, ln2_lo, bias, shift = (
            6.93147180369123816490e-01,
            1.90821492927058770002e-10,
            1023,
            52,
        )
        coefficients = [1.0 / math.factorial(k) for k in range(14)]  # error < 5e-18
    else:
        return None
    floor = f(math.log(np.finfo(f).tiny))
    log2e, half, zero = f(1.0 / math.log(2.0)), f(0.5), f(0.0)
    hi, lo, bias_, shift_ = f(ln2_hi), f(ln2_lo), i(bias), i(shift)
    c = tuple(f(value) for value in coefficients)
    degree = len(c) - 1

    def implementation(x):
        if x < floor:
            return zero
        m = math.floor(x * log2e + half)
        r = (x - m * hi) - m * lo
        p = c[degree]
        for k in range(degree - 1, -1, -1):
            p = p * r + c[k]
        return p * _float_from_bits(i((i(m) + bias_) << shift_))  # 2^m

    return implementation


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
    z = Z.reshape(n * r)  # elementwise: one flat loop
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
    d = D.reshape(n * r)
    a = A.reshape(n * r)
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
def _input_affine(X, rows, r, W, b, Z):
    """Z[:, i] = W X[rows[i]] + b for i < r:  (n_out, n_in) @ (n_in, r) -> (n_out, r).

    Sixteen dot products at a time, four units by four examples, so that each row of W and
    each example loaded from memory serves four of them (16 sums stay in registers).
    """
    n_out, n_in = W.shape
    zero = Z.dtype.type(0)
    i = 0
    while i + 4 <= r:
        x0, x1, x2, x3 = X[rows[i]], X[rows[i + 1]], X[rows[i + 2]], X[rows[i + 3]]
        j = 0
        while j + 4 <= n_out:
            w0, w1, w2, w3 = W[j], W[j + 1], W[j + 2], W[j + 3]
            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = zero
            s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = zero
            for k in range(n_in):
                s00 += w0[k] * x0[k]
                s01 += w0[k] * x1[k]
                s02 += w0[k] * x2[k]
                s03 += w0[k] * x3[k]
                s10 += w1[k] * x0[k]
                s11 += w1[k] * x1[k]
                s12 += w1[k] * x2[k]
                s13 += w1[k] * x3[k]
                s20 += w2[k] * x0[k]
                s21 += w2[k] * x1[k]
                s22 += w2[k] * x2[k]
                s23 += w2[k] * x3[k]
                s30 += w3[k] * x0[k]
                s31 += w3[k] * x1[k]
                s32 += w3[k] * x2[k]
                s33 += w3[k] * x3[k]
            z0, z1, z2, z3 = Z[j], Z[j + 1], Z[j + 2], Z[j + 3]
            z0[i], z0[i + 1], z0[i + 2], z0[i + 3] = s00 + b[j], s01 + b[j], s02 + b[j], s03 + b[j]
            b1 = b[j + 1]
            z1[i], z1[i + 1], z1[i + 2], z1[i + 3] = s10 + b1, s11 + b1, s12 + b1, s13 + b1
            b2 = b[j + 2]
            z2[i], z2[i + 1], z2[i + 2], z2[i + 3] = s20 + b2, s21 + b2, s22 + b2, s23 + b2
            b3 = b[j + 3]
            z3[i], z3[i + 1], z3[i + 2], z3[i + 3] = s30 + b3, s31 + b3, s32 + b3, s33 + b3
            j += 4
        while j < n_out:  # the last units, one at a time
            w = W[j]
            s0 = s1 = s2 = s3 = zero
            for k in range(n_in):
                s0 += w[k] * x0[k]
                s1 += w[k] * x1[k]
                s2 += w[k] * x2[k]
                s3 += w[k] * x3[k]
            Z[j, i], Z[j, i + 1], Z[j, i + 2], Z[j, i + 3] = (
                s0 + b[j],
                s1 + b[j],
                s2 + b[j],
                s3 + b[j],
            )
            j += 1
        i += 4
    while i < r:  # the last examples, one at a time
        x = X[rows[i]]
        for j in range(n_out):
            w = W[j]
            s = zero
            for k in range(n_in):
                s += w[k] * x[k]
            Z[j, i] = s + b[j]
        i += 1


@njit(**_OPTIONS)
def _hidden_affine(A, W, b, Z):
    """Z = W A + b:  (n_out, n_in) @ (n_in, r) -> (n_out, r), along rows of r examples."""
    n_out, n_in = W.shape
    r = A.shape[1]
    for j in range(n_out):
        z = Z[j]
        for i in range(r):
            z[i] = b[j]
        k = 0
        while k + 4 <= n_in:
            w0, w1, w2, w3 = W[j, k], W[j, k + 1], W[j, k + 2], W[j, k + 3]
            a0, a1, a2, a3 = A[k], A[k + 1], A[k + 2], A[k + 3]
            for i in range(r):
                z[i] += (w0 * a0[i] + w1 * a1[i]) + (w2 * a2[i] + w3 * a3[i])
            k += 4
        while k < n_in:
            w = W[j, k]
            a = A[k]
            for i in range(r):
                z[i] += w * a[i]
            k += 1


@njit(**_OPTIONS)
def _input_weight_gradient(D, X, rows, r, dW, db):
    """dW += D X[rows] and db += Σ_i D[:, i]:  (n_out, r) @ (r, n_in) -> (n_out, n_in).

    Eight examples at a time (then four, then one), so each row of dW is loaded and stored
    once per eight examples instead of once per example.
    """
    n_out, n_in = dW.shape
    i = 0
    while i + 8 <= r:
        x0, x1, x2, x3 = X[rows[i]], X[rows[i + 1]], X[rows[i + 2]], X[rows[i + 3]]
        x4, x5, x6, x7 = X[rows[i + 4]], X[rows[i + 5]], X[rows[i + 6]], X[rows[i + 7]]
        for j in range(n_out):
            d0, d1, d2, d3 = D[j, i], D[j, i + 1], D[j, i + 2], D[j, i + 3]
            d4, d5, d6, d7 = D[j, i + 4], D[j, i + 5], D[j, i + 6], D[j, i + 7]
            g = dW[j]
            for k in range(n_in):
                g[k] += (d0 * x0[k] + d1 * x1[k] + d2 * x2[k] + d3 * x3[k]) + (
                    d4 * x4[k] + d5 * x5[k] + d6 * x6[k] + d7 * x7[k]
                )
            db[j] += (d0 + d1 + d2 + d3) + (d4 + d5 + d6 + d7)
        i += 8
    if i + 4 <= r:
        x0, x1, x2, x3 = X[rows[i]], X[rows[i + 1]], X[rows[i + 2]], X[rows[i + 3]]
        for j in range(n_out):
            d0, d1, d2, d3 = D[j, i], D[j, i + 1], D[j, i + 2], D[j, i + 3]
            g = dW[j]
            for k in range(n_in):
                g[k] += d0 * x0[k] + d1 * x1[k] + d2 * x2[k] + d3 * x3[k]
            db[j] += d0 + d1 + d2 + d3
        i += 4
    while i < r:
        x = X[rows[i]]
        for j in range(n_out):
            d = D[j, i]
            g = dW[j]
            for k in range(n_in):
                g[k] += d * x[k]
            db[j] += d
        i += 1


@njit(**_OPTIONS)
def _hidden_weight_gradient(D, A, dW, db):
    """dW += D Aᵀ and db += Σ_i D[:, i]:  (n_out, r) @ (r, n_in) -> (n_out, n_in).

    Each entry is a dot product along the r examples; four of them at a time.
    """
    n_out, n_in = dW.shape
    r = D.shape[1]
    zero = dW.dtype.type(0)
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
def _back_through(D, W, D_prev):
    """D_prev = Wᵀ D:  (n_in, n_out) @ (n_out, r) -> (n_in, r), along rows of r examples."""
    n_out, n_in = W.shape
    r = D.shape[1]
    for k in range(n_in):
        p = D_prev[k]
        for i in range(r):
            p[i] = 0
        j = 0
        while j + 4 <= n_out:
            w0, w1, w2, w3 = W[j, k], W[j + 1, k], W[j + 2, k], W[j + 3, k]
            d0, d1, d2, d3 = D[j], D[j + 1], D[j + 2], D[j + 3]
            for i in range(r):
                p[i] += (w0 * d0[i] + w1 * d1[i]) + (w2 * d2[i] + w3 * d3[i])
            j += 4
        while j < n_out:
            w = W[j, k]
            d = D[j]
            for i in range(r):
                p[i] += w * d[i]
            j += 1


@njit(**_OPTIONS)
def _output_error(A, Y, rows, m, output, cost, tiny, D, scratch):
    """D = δᴸ = ∂C/∂zᴸ for the chunk, (n_out, r); returns the chunk's Σ of per-example costs.

    As ``backprop.output_error``: (a − y)/m for cross-entropy with its own output layer;
    otherwise (2/m)(a − y) times σ′ (sigmoid) or the softmax Jacobian.
    """
    n, r = A.shape
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
                y = Y[rows[i], j]
                d[i] = (a[i] - y) / m_
                if output == SIGMOID:  # per-output yes/no cross-entropy
                    total -= y * math.log(max(a[i], tiny)) + (one - y) * math.log(
                        max(one - a[i], tiny)
                    )
                else:  # categorical cross-entropy
                    total -= y * math.log(max(a[i], tiny))
    return total


@njit(**_OPTIONS)
def _chunk_gradient(
    theta, X, Y, rows, r, m, layers, hidden, output, cost, tiny, acts, D, D_prev, grad
):  # fmt: skip
    """Add the gradient of the rows X[rows[:r]] (a chunk of a batch of m) into ``grad``.

    ``layers`` holds, per layer, (n_in, n_out, offset of W in θ, offset of its activations in
    ``acts``). Activations and errors are kept one row per unit, (n, r), so that the small
    layers' loops run along the chunk's examples. Returns the chunk's sum of per-example
    costs (the caller divides by m).
    """
    L = layers.shape[0]
    # Forward: aˡ = σ(Wˡ aˡ⁻¹ + bˡ), kept for every layer.
    for l in range(L):
        n_in, n_out, w_at, a_at = layers[l, 0], layers[l, 1], layers[l, 2], layers[l, 3]
        W = theta[w_at : w_at + n_out * n_in].reshape((n_out, n_in))
        b = theta[w_at + n_out * n_in : w_at + n_out * n_in + n_out]
        Z = acts[a_at : a_at + n_out * r].reshape((n_out, r))
        if l == 0:
            _input_affine(X, rows, r, W, b, Z)
        else:
            p_at = layers[l - 1, 3]
            _hidden_affine(acts[p_at : p_at + n_in * r].reshape((n_in, r)), W, b, Z)
        _activate(Z, output if l == L - 1 else hidden, D_prev)  # D_prev: free as scratch
    n_out, a_at = layers[L - 1, 1], layers[L - 1, 3]
    delta = D[: n_out * r].reshape((n_out, r))
    A = acts[a_at : a_at + n_out * r].reshape((n_out, r))
    total = _output_error(A, Y, rows, m, output, cost, tiny, delta, D_prev)
    # Backward: ∂C/∂Wˡ += δˡ aˡ⁻¹ᵀ, ∂C/∂bˡ += Σ δˡ, then δˡ⁻¹ = (Wˡᵀ δˡ) ⊙ σ′(aˡ⁻¹).
    for l in range(L - 1, -1, -1):
        n_in, n_out, w_at = layers[l, 0], layers[l, 1], layers[l, 2]
        dW = grad[w_at : w_at + n_out * n_in].reshape((n_out, n_in))
        db = grad[w_at + n_out * n_in : w_at + n_out * n_in + n_out]
        if l == 0:
            _input_weight_gradient(delta, X, rows, r, dW, db)
        else:
            p_at = layers[l - 1, 3]
            A_prev = acts[p_at : p_at + n_in * r].reshape((n_in, r))
            _hidden_weight_gradient(delta, A_prev, dW, db)
            W = theta[w_at : w_at + n_out * n_in].reshape((n_out, n_in))
            prev = D_prev[: n_in * r].reshape((n_in, r))
            _back_through(delta, W, prev)
            _times_derivative(prev, A_prev, hidden)
            D, D_prev = D_prev, D
            delta = prev
    return total


@njit(**_OPTIONS)
def _finish_step(
    theta, velocity, grad, total, m, eta, momentum, l2, threshold, layers
):  # fmt: skip
    """Complete one step from the batch's summed cost: L2, ‖∇C‖, the checks, the update.

    Returns (C, ‖∇C‖, status): DIVERGED (θ untouched) when C is NaN/inf or above
    ``threshold`` or the norm is NaN/inf, FLAT (θ untouched) when ∇C is exactly zero, else
    DONE after θ ← θ − η∇C (or v ← μv − η∇C, θ ← θ + v with momentum μ > 0).
    """
    C = total / m
    if l2 > 0:
        # (λ/2)‖W‖² over the weights (not the biases), and λW in the gradient.
        decay = theta.dtype.type(l2)
        squares = 0.0
        for l in range(layers.shape[0]):
            w_at, n_w = layers[l, 2], layers[l, 0] * layers[l, 1]
            for p in range(w_at, w_at + n_w):
                squares += theta[p] * theta[p]
                grad[p] += decay * theta[p]
        C += 0.5 * l2 * squares
    squares = 0.0
    for p in range(grad.shape[0]):
        squares += grad[p] * grad[p]
    norm = math.sqrt(squares)
    if not (math.isfinite(C) and math.isfinite(norm)) or threshold < C:
        return C, norm, DIVERGED
    if norm <= 0.0:
        return C, norm, FLAT
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
            theta[p] -= eta_ * grad[p]  # θ ← θ − η∇C
    return C, norm, DONE


@njit(**_OPTIONS)
def _slice_gradient(
    w, S, theta, X, Y, order, lo, hi, layers, hidden, output, cost, tiny, acts, D, D_prev,
    into,
):  # fmt: skip
    """Sum the gradient of slice w of S of the batch X[order[lo:hi]] into ``into`` (zeroed
    first), chunk by chunk; return the slice's sum of per-example costs.

    Slice w is the w-th of S equal runs of the batch's rows (S = 1: the whole batch).
    """
    for p in range(into.shape[0]):
        into[p] = 0
    m = hi - lo
    first = lo + (w * m) // S
    last = lo + ((w + 1) * m) // S
    total = 0.0
    for start in range(first, last, CHUNK):
        r = min(CHUNK, last - start)
        total += _chunk_gradient(
            theta, X, Y, order[start : start + r], r, m, layers, hidden, output, cost, tiny,
            acts[w], D[w], D_prev[w], into,
        )  # fmt: skip
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


@njit(**_ENTRY)
def run_steps(
    theta, velocity, grad, X, Y, order, batch_size, etas, momentum, l2, threshold, layers,
    hidden, output, cost, tiny, acts, D, D_prev, partial, costs, norms,
):  # fmt: skip
    """Take ``len(etas)`` SGD steps over consecutive batches of ``order``; stop early if needed.

    Step s uses the rows X[order[s·B : (s+1)·B]] (the last batch may be smaller) and the
    learning rate etas[s]; its cost and gradient norm go to costs[s] and norms[s]. As in
    ``descend``, a step that diverges or finds a zero gradient ends the call before its
    update (see :func:`_finish_step`). With S = len(partial) > 1 each batch is summed in S
    slices, one after the other, exactly as :func:`run_steps_parallel` sums them.

    Returns (number of steps whose update was applied, DONE | DIVERGED | FLAT).
    """
    n = order.shape[0]
    S = partial.shape[0]
    totals = np.empty(S)
    for s in range(etas.shape[0]):
        lo = s * batch_size
        hi = min(lo + batch_size, n)
        for w in range(S):
            into = grad if S == 1 else partial[w]  # one slice: straight into the gradient
            totals[w] = _slice_gradient(
                w, S, theta, X, Y, order, lo, hi, layers, hidden, output, cost, tiny, acts, D,
                D_prev, into,
            )  # fmt: skip
        total = totals[0] if S == 1 else _add_slices(partial, totals, grad)
        costs[s], norms[s], status = _finish_step(
            theta, velocity, grad, total, hi - lo, etas[s], momentum, l2, threshold, layers
        )
        if status != DONE:
            return s, status
    return etas.shape[0], DONE


@njit(parallel=True, **_ENTRY)
def run_steps_parallel(
    theta, velocity, grad, X, Y, order, batch_size, etas, momentum, l2, threshold, layers,
    hidden, output, cost, tiny, acts, D, D_prev, partial, costs, norms,
):  # fmt: skip
    """:func:`run_steps` with the S = len(partial) slices of each batch run in parallel.

    Each slice is summed into its own ``partial[w]`` by whichever thread takes it, and the
    slices are added in the order w = 0, 1, …, so the numbers are those of :func:`run_steps`
    whatever the number of threads or the timing.
    """
    n = order.shape[0]
    S = partial.shape[0]
    totals = np.empty(S)
    for s in range(etas.shape[0]):
        lo = s * batch_size
        hi = min(lo + batch_size, n)
        for w in prange(S):
            totals[w] = _slice_gradient(
                w, S, theta, X, Y, order, lo, hi, layers, hidden, output, cost, tiny, acts, D,
                D_prev, partial[w],
            )  # fmt: skip
        total = _add_slices(partial, totals, grad)
        costs[s], norms[s], status = _finish_step(
            theta, velocity, grad, total, hi - lo, etas[s], momentum, l2, threshold, layers
        )
        if status != DONE:
            return s, status
    return etas.shape[0], DONE


@njit(parallel=True, **_ENTRY)
def run_members(
    Theta, Velocity, Grad, X, Y, orders, which, batch_size, Etas, counts, momentum, l2,
    thresholds, layers, hidden, output, cost, tiny, Acts, D, D_prev, Partial, Costs, Norms,
    done, status,
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
            cost, tiny, Acts[k], D[k], D_prev[k], Partial[k], Costs[k], Norms[k],
        )  # fmt: skip
