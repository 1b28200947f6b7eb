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
  out over four or eight examples at a time, so each row of W or ∂C/∂W that is loaded from
  memory serves several examples;
* a large batch is cut into slices, each summed into its own gradient by whichever thread
  takes it, and the slices' gradients are added in a fixed order (so the result does not
  depend on how many threads ran or which finished first).

Sums are accumulated in a different order than BLAS does, so results equal the reference
engine's to rounding error, not bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

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


@njit(**_OPTIONS)
def _activate(Z, r, code):
    """Z[:r] ← σ(Z[:r]) in place, as in ``activations.py``."""
    n = Z.shape[1]
    one = Z.dtype.type(1)
    zero = Z.dtype.type(0)
    for i in range(r):
        z = Z[i]
        if code == SIGMOID:
            for j in range(n):
                e = math.exp(-abs(z[j]))  # e^(−|z|) never overflows
                z[j] = (one if z[j] >= zero else e) / (one + e)
        elif code == TANH:
            for j in range(n):
                z[j] = math.tanh(z[j])
        elif code == RELU:
            for j in range(n):
                z[j] = max(z[j], zero)
        else:  # SOFTMAX, shifted by the row's max so no exponent overflows
            top = z[0]
            for j in range(1, n):
                top = max(top, z[j])
            total = zero
            for j in range(n):
                z[j] = math.exp(z[j] - top)
                total += z[j]
            for j in range(n):
                z[j] = z[j] / total


@njit(**_OPTIONS)
def _times_derivative(D, A, r, code):
    """D[:r] ← D[:r] ⊙ σ′, with σ′ written from the activations A = σ(z)."""
    n = D.shape[1]
    one = D.dtype.type(1)
    zero = D.dtype.type(0)
    for i in range(r):
        d = D[i]
        a = A[i]
        if code == SIGMOID:
            for j in range(n):
                d[j] *= a[j] * (one - a[j])
        elif code == TANH:
            for j in range(n):
                d[j] *= one - a[j] * a[j]
        else:  # RELU: 1 where the unit is active
            for j in range(n):
                d[j] *= one if a[j] > zero else zero


@njit(**_OPTIONS)
def _affine(A, rows, r, W, b, Z):
    """Z[i] = W A[rows[i]] + b for i < r:  (r, n_in) @ (n_in, n_out) -> (r, n_out).

    Four examples at a time, so each row of W is read once for four dot products.
    """
    n_out, n_in = W.shape
    zero = Z.dtype.type(0)
    i = 0
    while i + 4 <= r:
        x0 = A[rows[i]]
        x1 = A[rows[i + 1]]
        x2 = A[rows[i + 2]]
        x3 = A[rows[i + 3]]
        for j in range(n_out):
            w = W[j]
            s0 = zero
            s1 = zero
            s2 = zero
            s3 = zero
            for k in range(n_in):
                s0 += w[k] * x0[k]
                s1 += w[k] * x1[k]
                s2 += w[k] * x2[k]
                s3 += w[k] * x3[k]
            Z[i, j] = s0 + b[j]
            Z[i + 1, j] = s1 + b[j]
            Z[i + 2, j] = s2 + b[j]
            Z[i + 3, j] = s3 + b[j]
        i += 4
    while i < r:
        x = A[rows[i]]
        for j in range(n_out):
            w = W[j]
            s = zero
            for k in range(n_in):
                s += w[k] * x[k]
            Z[i, j] = s + b[j]
        i += 1


@njit(**_OPTIONS)
def _add_weight_gradient(D, A, rows, r, dW, db):
    """dW += Dᵀ A[rows] and db += Σ_i D[i]:  (n_out, r) @ (r, n_in) -> (n_out, n_in).

    Eight examples at a time (then four, then one), so each row of dW is loaded and stored
    once per eight examples instead of once per example.
    """
    n_out, n_in = dW.shape
    i = 0
    while i + 8 <= r:
        x0, x1, x2, x3 = A[rows[i]], A[rows[i + 1]], A[rows[i + 2]], A[rows[i + 3]]
        x4, x5, x6, x7 = A[rows[i + 4]], A[rows[i + 5]], A[rows[i + 6]], A[rows[i + 7]]
        for j in range(n_out):
            d0, d1, d2, d3 = D[i, j], D[i + 1, j], D[i + 2, j], D[i + 3, j]
            d4, d5, d6, d7 = D[i + 4, j], D[i + 5, j], D[i + 6, j], D[i + 7, j]
            g = dW[j]
            for k in range(n_in):
                g[k] += (d0 * x0[k] + d1 * x1[k] + d2 * x2[k] + d3 * x3[k]) + (
                    d4 * x4[k] + d5 * x5[k] + d6 * x6[k] + d7 * x7[k]
                )
            db[j] += (d0 + d1 + d2 + d3) + (d4 + d5 + d6 + d7)
        i += 8
    if i + 4 <= r:
        x0, x1, x2, x3 = A[rows[i]], A[rows[i + 1]], A[rows[i + 2]], A[rows[i + 3]]
        for j in range(n_out):
            d0, d1, d2, d3 = D[i, j], D[i + 1, j], D[i + 2, j], D[i + 3, j]
            g = dW[j]
            for k in range(n_in):
                g[k] += d0 * x0[k] + d1 * x1[k] + d2 * x2[k] + d3 * x3[k]
            db[j] += d0 + d1 + d2 + d3
        i += 4
    while i < r:
        x = A[rows[i]]
        for j in range(n_out):
            d = D[i, j]
            g = dW[j]
            for k in range(n_in):
                g[k] += d * x[k]
            db[j] += d
        i += 1


@njit(**_OPTIONS)
def _back_through(D, W, r, D_prev):
    """D_prev[:r] = D[:r] W:  (r, n_out) @ (n_out, n_in) -> (r, n_in)."""
    n_out, n_in = W.shape
    for i in range(r):
        p = D_prev[i]
        for k in range(n_in):
            p[k] = 0
        for j in range(n_out):
            d = D[i, j]
            w = W[j]
            for k in range(n_in):
                p[k] += d * w[k]


@njit(**_OPTIONS)
def _output_error(A, Y, rows, r, m, output, cost, tiny, D):
    """D[:r] = δᴸ = ∂C/∂zᴸ for the chunk; returns the chunk's Σ of per-example costs.

    As ``backprop.output_error``: (a − y)/m for cross-entropy with its own output layer;
    otherwise (2/m)(a − y) times σ′ (sigmoid) or the softmax Jacobian.
    """
    n = A.shape[1]
    one = A.dtype.type(1)
    two_over_m = A.dtype.type(2.0 / m)
    m_ = A.dtype.type(m)
    total = 0.0
    for i in range(r):
        a = A[i]
        y = Y[rows[i]]
        d = D[i]
        if cost == QUADRATIC:
            for j in range(n):
                diff = a[j] - y[j]
                total += diff * diff
                d[j] = two_over_m * diff
            if output == SIGMOID:
                for j in range(n):
                    d[j] *= a[j] * (one - a[j])
            else:  # softmax: ∂C/∂z_j = a_j (g_j − Σ_k g_k a_k)
                ga = A.dtype.type(0)
                for j in range(n):
                    ga += d[j] * a[j]
                for j in range(n):
                    d[j] = a[j] * (d[j] - ga)
        else:
            for j in range(n):
                d[j] = (a[j] - y[j]) / m_
            if output == SIGMOID:  # per-output yes/no cross-entropy
                for j in range(n):
                    total -= y[j] * math.log(max(a[j], tiny)) + (one - y[j]) * math.log(
                        max(one - a[j], tiny)
                    )
            else:  # categorical cross-entropy
                for j in range(n):
                    total -= y[j] * math.log(max(a[j], tiny))
    return total


@njit(**_OPTIONS)
def _chunk_gradient(
    theta, X, Y, rows, r, m, layers, hidden, output, cost, tiny, acts, D, D_prev, ident, grad
):  # fmt: skip
    """Add the gradient of the rows X[rows[:r]] (a chunk of a batch of m) into ``grad``.

    ``layers`` holds, per layer, (n_in, n_out, offset of W in θ, offset of its activations in
    ``acts``). Returns the chunk's sum of per-example costs (the caller divides by m).
    """
    L = layers.shape[0]
    # Forward: aˡ = σ(aˡ⁻¹ Wˡᵀ + bˡ), kept for every layer.
    for l in range(L):
        n_in, n_out, w_at, a_at = layers[l, 0], layers[l, 1], layers[l, 2], layers[l, 3]
        W = theta[w_at : w_at + n_out * n_in].reshape((n_out, n_in))
        b = theta[w_at + n_out * n_in : w_at + n_out * n_in + n_out]
        Z = acts[a_at : a_at + r * n_out].reshape((r, n_out))
        if l == 0:
            _affine(X, rows, r, W, b, Z)
        else:
            p_at = layers[l - 1, 3]
            _affine(acts[p_at : p_at + r * n_in].reshape((r, n_in)), ident, r, W, b, Z)
        _activate(Z, r, output if l == L - 1 else hidden)
    n_out, a_at = layers[L - 1, 1], layers[L - 1, 3]
    delta = D[: r * n_out].reshape((r, n_out))
    total = _output_error(
        acts[a_at : a_at + r * n_out].reshape((r, n_out)), Y, rows, r, m, output, cost, tiny, delta
    )
    # Backward: ∂C/∂Wˡ += δˡᵀ aˡ⁻¹, ∂C/∂bˡ += Σ δˡ, then δˡ⁻¹ = (δˡ Wˡ) ⊙ σ′(aˡ⁻¹).
    for l in range(L - 1, -1, -1):
        n_in, n_out, w_at = layers[l, 0], layers[l, 1], layers[l, 2]
        dW = grad[w_at : w_at + n_out * n_in].reshape((n_out, n_in))
        db = grad[w_at + n_out * n_in : w_at + n_out * n_in + n_out]
        if l == 0:
            _add_weight_gradient(delta, X, rows, r, dW, db)
        else:
            p_at = layers[l - 1, 3]
            A_prev = acts[p_at : p_at + r * n_in].reshape((r, n_in))
            _add_weight_gradient(delta, A_prev, ident, r, dW, db)
            W = theta[w_at : w_at + n_out * n_in].reshape((n_out, n_in))
            prev = D_prev[: r * n_in].reshape((r, n_in))
            _back_through(delta, W, r, prev)
            _times_derivative(prev, A_prev, r, hidden)
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
    ident, into,
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
            acts[w], D[w], D_prev[w], ident, into,
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
    hidden, output, cost, tiny, acts, D, D_prev, ident, partial, costs, norms,
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
                D_prev, ident, into,
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
    hidden, output, cost, tiny, acts, D, D_prev, ident, partial, costs, norms,
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
                D_prev, ident, partial[w],
            )  # fmt: skip
        total = _add_slices(partial, totals, grad)
        costs[s], norms[s], status = _finish_step(
            theta, velocity, grad, total, hi - lo, etas[s], momentum, l2, threshold, layers
        )
        if status != DONE:
            return s, status
    return etas.shape[0], DONE
