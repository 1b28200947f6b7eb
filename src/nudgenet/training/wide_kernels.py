"""The BLAS engine's epoch, compiled: the fast engine's steps with BLAS doing the products.

This module imports Numba; :mod:`nudgenet.training.wide` loads it only when the BLAS engine
runs. :func:`run_steps` runs an epoch's steps in one call, as the fast engine's kernels do
(:mod:`nudgenet.training.kernels`), and with their own passes for everything but the
products: the bias and activation, the output layer's cost and δᴸ, σ′, and the end of a
step (‖∇C‖ with the L2 term and the checks in one pass over ∇C, then, only if they pass,
the update of θ and v in place in a second; a step that diverges is thus not taken). The
products are BLAS calls (``np.dot`` into buffers made once, which Numba makes through
SciPy's BLAS) on activations and errors laid out as the fast engine's, (n, r) with one
column per example: every product then has the weights on the left (Wa, Wᵀδ, δaᵀ), the
layout OpenBLAS runs fastest at batches of 64. No Python runs between the products: called
one by one from Python, the same products took 15–40 % longer.

The update runs on one thread: BLAS's threads, which the products need, spin for a while
after each product, and a second pool of threads would fight them for the cores.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .kernels import (
    _ENTRY,
    _OPTIONS,
    CROSS_ENTROPY,
    DIVERGED,
    DONE,
    FLAT,
    QUADRATIC,
    RELU,
    SIGMOID,
    SOFTMAX,
    TANH,
    _activate,
    _finish_step,
    _logit_cost,
    _output_error,
    _times_derivative,
)

# The kernels' codes, for fast._codes and for what run_steps returns.
__all__ = ["CROSS_ENTROPY", "DIVERGED", "DONE", "FLAT", "QUADRATIC", "RELU", "SIGMOID", "SOFTMAX",
           "TANH"]  # fmt: skip


@njit(inline="always", **_OPTIONS)
def _add_bias(Z, b):
    """Z[j, :] += b[j]: Z is (n, r), b is (n,)."""
    n, r = Z.shape
    for j in range(n):
        z = Z[j]
        bj = b[j]
        for i in range(r):
            z[i] += bj


@njit(inline="always", **_OPTIONS)
def _add_row_sums(D, db, first):
    """db = Σ_i D[:, i] (``first``), else db += it: the bias gradient of a chunk."""
    n, r = D.shape
    for j in range(n):
        d = D[j]
        s = d.dtype.type(0)
        for i in range(r):
            s += d[i]
        db[j] = s if first else db[j] + s


@njit(**_OPTIONS)
def _chunk_gradient(theta, x, Y, rows, m, first, layers, hidden, output, cost, acts, D, D_prev,
                    grad, part, scratch):  # fmt: skip
    """Add the gradient of the examples Y[rows], inputs x (r, n_in), a chunk of a batch of m,
    into ``grad`` (set it, if ``first``); return their summed cost.

    As the fast engine's pass of the same name, with every product a BLAS call (np.dot,
    through SciPy's BLAS) on the (n, r) blocks; a chunk's ∂C/∂W is written into ``part`` and
    added in, but for the first.
    """
    L = layers.shape[0]
    r = x.shape[0]
    total = 0.0
    for l in range(L):  # forward: zˡ = Wˡ aˡ⁻¹, then aˡ = σ(zˡ + bˡ) in place
        n_in, n_out, w_at, a_at = layers[l, 0], layers[l, 1], layers[l, 2], layers[l, 3]
        W = theta[w_at : w_at + n_out * n_in].reshape((n_out, n_in))
        b = theta[w_at + n_out * n_in : w_at + n_out * n_in + n_out]
        Z = acts[a_at : a_at + n_out * r].reshape((n_out, r))
        if l == 0:
            np.dot(W, x.T, Z)  # (n_out, n_in) @ (n_in, r)
        else:
            p_at = layers[l - 1, 3]
            np.dot(W, acts[p_at : p_at + n_in * r].reshape((n_in, r)), Z)
        _add_bias(Z, b)
        if l == L - 1 and cost == CROSS_ENTROPY:
            total = _logit_cost(Z, Y, rows, output)  # from zᴸ, before σ overwrites it
        _activate(Z, output if l == L - 1 else hidden, scratch)
    n_out, a_at = layers[L - 1, 1], layers[L - 1, 3]
    delta = D[: n_out * r].reshape((n_out, r))
    total += _output_error(acts[a_at : a_at + n_out * r].reshape((n_out, r)), Y, rows, m, output,
                           cost, delta, scratch)  # fmt: skip
    for l in range(L - 1, -1, -1):  # backward: ∂C/∂Wˡ = δˡ aˡ⁻¹ᵀ, δˡ⁻¹ = (Wˡᵀ δˡ) ⊙ σ′
        n_in, n_out, w_at = layers[l, 0], layers[l, 1], layers[l, 2]
        dW = grad[w_at : w_at + n_out * n_in].reshape((n_out, n_in))
        out = dW if first else part[: n_out * n_in].reshape((n_out, n_in))
        if l == 0:
            np.dot(delta, x, out)  # (n_out, r) @ (r, n_in)
        else:
            p_at = layers[l - 1, 3]
            A_prev = acts[p_at : p_at + n_in * r].reshape((n_in, r))
            np.dot(delta, A_prev.T, out)
        if not first:
            flat, add = dW.reshape(n_out * n_in), out.reshape(n_out * n_in)
            for p in range(n_out * n_in):
                flat[p] += add[p]
        _add_row_sums(delta, grad[w_at + n_out * n_in : w_at + n_out * n_in + n_out], first)
        if l > 0:
            W = theta[w_at : w_at + n_out * n_in].reshape((n_out, n_in))
            prev = D_prev[: n_in * r].reshape((n_in, r))
            np.dot(W.T, delta, prev)  # (n_in, n_out) @ (n_out, r)
            _times_derivative(prev, A_prev, hidden)
            D, D_prev = D_prev, D
            delta = prev
    return total


@njit(**_ENTRY)
def run_steps(theta, velocity, grad, X, Y, order, batch_size, etas, momentum, l2, threshold,
              layers, hidden, output, cost, acts, D, D_prev, part, x, scratch, costs, norms,
              chunk_rows, whole):  # fmt: skip
    """Steps s = 0, 1, … on the batches ``order[s·batch_size:…]`` with learning rates
    ``etas[s]``, each in chunks of at most ``chunk_rows`` examples, the same as the fast
    engine's ``run_steps``: returns (steps done, DONE, DIVERGED or FLAT), with each step's C
    and ‖∇C‖ in ``costs`` and ``norms``. ``whole``: the batch is all of X, read in place and
    in order (``order`` is then 0, 1, …, n − 1).
    """
    n = order.shape[0]
    for s in range(etas.shape[0]):
        lo = s * batch_size
        hi = min(lo + batch_size, n)
        total = 0.0
        for c0 in range(lo, hi, chunk_rows):
            c1 = min(c0 + chunk_rows, hi)
            rows = order[c0:c1]
            xs = x[: c1 - c0]
            if whole:
                xs = X[c0:c1]
            else:
                for i in range(c1 - c0):
                    xs[i] = X[rows[i]]
            total += _chunk_gradient(
                theta,
                xs,
                Y,
                rows,
                hi - lo,
                c0 == lo,
                layers,
                hidden,
                output,
                cost,
                acts,
                D,
                D_prev,
                grad,
                part,
                scratch,
            )
        C, norm, status = _finish_step(theta, velocity, grad, total, hi - lo, etas[s], momentum,
                                       l2, threshold, layers, 1)  # fmt: skip
        costs[s] = C
        norms[s] = norm
        if status != DONE:
            return s, status
    return etas.shape[0], DONE
