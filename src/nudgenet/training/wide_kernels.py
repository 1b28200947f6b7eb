"""The BLAS engine's epoch, compiled: the fast engine's steps with BLAS doing the products.

This module imports Numba; :mod:`nudgenet.training.wide` loads it only when the BLAS engine
runs. :func:`run_steps` runs an epoch's steps in one call, as the fast engine's kernels do
(:mod:`nudgenet.training.kernels`), with their own passes for everything but the products:
the bias and activation, the output layer's cost and δᴸ, σ′, ‖∇C‖ with the L2 term and the
checks (then, only if they pass, the update of θ and v in place: a step that diverges is
not taken). The products are BLAS calls (``np.dot`` into buffers made once, which Numba makes
through SciPy's BLAS) on activations and errors laid out as the fast engine's, (n, r) with
one column per example, so that every product has the weights on the left (Wa, Wᵀδ, δaᵀ).

The engine owns its threads, one per part, and each BLAS call is one thread's (BLAS's own
threads are held at one). A chunk's work is shared among them in one of two ways:

* by units (:func:`_forward`, :func:`_backward`): every layer's units are cut into one run
  per part, as the fast engine cuts its first layer but at any unit, since BLAS takes
  blocks of any size. Part p's thread computes its rows of zˡ = Wˡaˡ⁻¹ and of aˡ; its rows
  of ∂C/∂Wˡ = δˡaˡ⁻¹ᵀ, with their share of ‖∇C‖ while they are still in its cache; and its
  share Wˡ[run]ᵀδˡ[run] of the error moved back. The threads meet between layers.
* by examples (:func:`_gradient_by_examples`), for chunks of many examples next to the
  widest layer: each part's thread takes a run of the chunk's examples through the whole
  network on its own buffers, and ∇C is the parts' gradients added up
  (:func:`_gather_gradients`). Cut by units, every thread's products read all of the
  chunk's activations; cut by examples, only its own.

Either way, after the checks, each thread updates the rows of θ it computed (or added up).
Cut like this, the products ran as fast as BLAS's own threads ran them, and faster at
batches of up to a few hundred, and the rest of a step runs on every core. With BLAS
threading the products, the rest ran on one core while BLAS's threads spun, and a second
pool of threads for it fought them for the cores.
"""

from __future__ import annotations

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
    RELU,
    SIGMOID,
    SOFTMAX,
    TANH,
    _activate,
    _logit_cost,
    _output_error,
    _times_derivative,
    _update,
    _verdict,
    _weight_squares,
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


@njit(inline="always", **_OPTIONS)
def _run(n, p, parts):
    """Units [j0, j1) of part p of ``parts`` of a layer of n units, cut as evenly as can be."""
    return n * p // parts, n * (p + 1) // parts


@njit(inline="always", **_OPTIONS)
def _rows(n_in, n_out, w_at, j0, j1):
    """Where units [j0, j1) of a layer keep their weights and biases in θ: (w0, w1, b0, b1)."""
    b_at = w_at + n_out * n_in
    return w_at + j0 * n_in, w_at + j1 * n_in, b_at + j0, b_at + j1


@njit(inline="always", **_OPTIONS)
def _copy_examples(X, rows, x):
    """x[i] = X[rows[i]]."""
    for i in range(rows.shape[0]):
        x[i] = X[rows[i]]


@njit(inline="always", **_OPTIONS)
def _add_into(total, add):
    """total += add, both of one shape."""
    flat, more = total.reshape(total.size), add.reshape(add.size)
    for q in range(flat.shape[0]):
        flat[q] += more[q]


@njit(inline="always", **_OPTIONS)
def _add_parts(shares, lo, hi, out):
    """out = Σ_q shares[q, lo:hi], added in part order."""
    out[:] = shares[0, lo:hi]
    for q in range(1, shares.shape[0]):
        _add_into(out, shares[q, lo:hi])


@njit(parallel=True, **_OPTIONS)
def _gather(X, rows, x, parts):
    """x[i] = X[rows[i]], the examples cut among the parts."""
    for p in prange(parts):
        i0, i1 = _run(rows.shape[0], p, parts)
        _copy_examples(X, rows[i0:i1], x[i0:i1])


@njit(parallel=True, **_OPTIONS)
def _forward(theta, x, layers, hidden, acts, parts):
    """zˡ = Wˡaˡ⁻¹ + bˡ for every layer, and aˡ = σ(zˡ) in place for the hidden ones, on a
    chunk of inputs x (r, n_in); each layer's units cut among the parts."""
    L = layers.shape[0]
    r = x.shape[0]
    for l in range(L):
        n_in, n_out, w_at, a_at = layers[l, 0], layers[l, 1], layers[l, 2], layers[l, 3]
        for p in prange(parts):
            j0, j1 = _run(n_out, p, parts)
            w0, w1, b0, b1 = _rows(n_in, n_out, w_at, j0, j1)
            if j1 > j0:
                W = theta[w0:w1].reshape((j1 - j0, n_in))
                Z = acts[a_at + j0 * r : a_at + j1 * r].reshape((j1 - j0, r))
                if l == 0:
                    np.dot(W, x.T, Z)  # (units, n_in) @ (n_in, r)
                else:
                    p_at = layers[l - 1, 3]
                    np.dot(W, acts[p_at : p_at + n_in * r].reshape((n_in, r)), Z)
                _add_bias(Z, theta[b0:b1])
                if l < L - 1:
                    _activate(Z, hidden, Z[0])  # no hidden σ uses its scratch


@njit(parallel=True, **_OPTIONS)
def _backward(theta, x, layers, hidden, acts, delta, moved, moving, grad, part, first, last, l2,
              sums, parts):  # fmt: skip
    """Add the chunk's ∂C/∂θ into ``grad`` (set it, if ``first``), from δᴸ in ``delta``;
    with ``last``, also add λW to the weights' gradient and each part's Σ (∂C/∂θ)² and ‖W‖²
    over its rows into ``sums[p]``.

    Layer by layer from the top, part p's thread: finishes its rows of δˡ = (Σ_q Wˡ⁺¹[q]ᵀ
    δˡ⁺¹[q]) ⊙ σ′ from the parts' shares in ``moved``, writes its rows of ∂C/∂Wˡ (through
    ``part``, then added in, but for the first chunk) and ∂C/∂bˡ, and its share of the
    error moved back, Wˡ[p]ᵀ δˡ[p], into ``moving[p]`` (zeros, if it has no units).
    """
    L = layers.shape[0]
    r = x.shape[0]
    for l in range(L - 1, -1, -1):
        n_in, n_out, w_at, a_at = layers[l, 0], layers[l, 1], layers[l, 2], layers[l, 3]
        for p in prange(parts):
            j0, j1 = _run(n_out, p, parts)
            w0, w1, b0, b1 = _rows(n_in, n_out, w_at, j0, j1)
            if j1 > j0:
                D = delta[j0 * r : j1 * r].reshape((j1 - j0, r))
                if l < L - 1:  # δˡ's rows: the shares of Wˡ⁺¹ᵀδˡ⁺¹, added in part order
                    _add_parts(moved, j0 * r, j1 * r, D.reshape((j1 - j0) * r))
                    _times_derivative(D, acts[a_at + j0 * r : a_at + j1 * r].reshape(D.shape),
                                      hidden)  # fmt: skip
                dW = grad[w0:w1].reshape((j1 - j0, n_in))
                out = dW if first else part[j0 * n_in : j1 * n_in].reshape(dW.shape)
                if l == 0:
                    np.dot(D, x, out)  # (units, r) @ (r, n_in)
                else:
                    p_at = layers[l - 1, 3]
                    np.dot(D, acts[p_at : p_at + n_in * r].reshape((n_in, r)).T, out)
                if not first:
                    _add_into(dW, out)
                db = grad[b0:b1]
                _add_row_sums(D, db, first)
                if last:
                    W = theta[w0:w1]
                    squares, weights = _weight_squares(W, dW.reshape(W.shape[0]), l2,
                                                       sums[p, 0], sums[p, 1])  # fmt: skip
                    for q in range(db.shape[0]):
                        squares += db[q] * db[q]
                    sums[p, 0], sums[p, 1] = squares, weights
                if l > 0:
                    W = theta[w0:w1].reshape((j1 - j0, n_in))
                    np.dot(W.T, D, moving[p, : n_in * r].reshape((n_in, r)))
            elif l > 0:
                moving[p, : n_in * r] = 0  # so that every part's share can be added
        # The shares just written are the next layer's to add up. δˡ⁻¹ will be written over
        # δˡ, whose every reader is done: the threads meet between layers.
        moved, moving = moving, moved


@njit(**_OPTIONS)
def _chunk_gradient(theta, x, Y, rows, m, first, layers, hidden, output, cost, acts, D, D_prev,
                    grad, part, scratch):  # fmt: skip
    """Add the gradient of the examples Y[rows], inputs x (r, n_in), a chunk of a batch of m,
    into ``grad`` (set it, if ``first``); return their summed cost. All on one thread.

    As the fast engine's pass of the same name, with every product a BLAS call on the (n, r)
    blocks; a chunk's ∂C/∂W is written into ``part`` and added in, but for the first.
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
            total = _logit_cost(Z, Y, rows, r, output)  # from zᴸ, before σ overwrites it
        _activate(Z, output if l == L - 1 else hidden, scratch)
    n_out, a_at = layers[L - 1, 1], layers[L - 1, 3]
    delta = D[: n_out * r].reshape((n_out, r))
    total += _output_error(acts[a_at : a_at + n_out * r].reshape((n_out, r)), Y, rows, r, m,
                           output, cost, delta, scratch)  # fmt: skip
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
            _add_into(dW, out)
        _add_row_sums(delta, grad[w_at + n_out * n_in : w_at + n_out * n_in + n_out], first)
        if l > 0:
            W = theta[w_at : w_at + n_out * n_in].reshape((n_out, n_in))
            prev = D_prev[: n_in * r].reshape((n_in, r))
            np.dot(W.T, delta, prev)  # (n_in, n_out) @ (n_out, r)
            _times_derivative(prev, A_prev, hidden)
            D, D_prev = D_prev, D
            delta = prev
    return total


@njit(parallel=True, **_OPTIONS)
def _gradient_by_examples(theta, X, Y, rows, whole, m, first, layers, hidden, output, cost, x,
                          acts, D, D_prev, grads, parts_grad, scratch, totals, parts):  # fmt: skip
    """Part p's thread gathers its run of the chunk's examples X[rows] into ``x[p]`` (reads
    them in place, if ``whole``), adds their gradient into ``grads[p]`` (sets it, if
    ``first``) and their summed cost into ``totals[p]``: each part with buffers of its own."""
    r = rows.shape[0]
    for p in prange(parts):
        i0, i1 = _run(r, p, parts)
        if i1 > i0:
            xs = x[p, : i1 - i0]
            if whole:
                xs = X[rows[i0] : rows[i0] + i1 - i0]
            else:
                _copy_examples(X, rows[i0:i1], xs)
            totals[p] += _chunk_gradient(theta, xs, Y, rows[i0:i1], m, first, layers, hidden,
                                         output, cost, acts[p], D[p], D_prev[p], grads[p],
                                         parts_grad[p], scratch[p])  # fmt: skip
        elif first:
            grads[p, :] = 0


@njit(parallel=True, **_OPTIONS)
def _gather_gradients(theta, grad, grads, layers, l2, sums, parts):
    """∇C = Σ_q grads[q] (added in part order), with λW added to the weights' gradient; part
    p's thread over its runs of units (those it updates), with its Σ (∂C/∂θ)² and ‖W‖²
    into ``sums[p]``."""
    for p in prange(parts):
        squares = weights = 0.0
        for l in range(layers.shape[0]):
            n_in, n_out, w_at = layers[l, 0], layers[l, 1], layers[l, 2]
            j0, j1 = _run(n_out, p, parts)
            w0, w1, b0, b1 = _rows(n_in, n_out, w_at, j0, j1)
            _add_parts(grads, w0, w1, grad[w0:w1])
            _add_parts(grads, b0, b1, grad[b0:b1])
            squares, weights = _weight_squares(theta[w0:w1], grad[w0:w1], l2, squares, weights)
            db = grad[b0:b1]
            for q in range(db.shape[0]):
                squares += db[q] * db[q]
        sums[p, 0], sums[p, 1] = squares, weights


@njit(parallel=True, **_OPTIONS)
def _update_parts(theta, velocity, grad, layers, eta, momentum, parts):
    """θ ← θ − η∇C (or with momentum), each part over its rows of every layer: the rows whose
    gradient its thread wrote."""
    for p in prange(parts):
        for l in range(layers.shape[0]):
            n_in, n_out, w_at = layers[l, 0], layers[l, 1], layers[l, 2]
            j0, j1 = _run(n_out, p, parts)
            w0, w1, b0, b1 = _rows(n_in, n_out, w_at, j0, j1)
            _update(theta[w0:w1], velocity[w0:w1], grad[w0:w1], eta, momentum)
            _update(theta[b0:b1], velocity[b0:b1], grad[b0:b1], eta, momentum)


@njit(**_ENTRY)
def run_steps(theta, velocity, grad, X, Y, order, batch_size, etas, momentum, l2, threshold,
              layers, hidden, output, cost, acts, delta, moved, moving, part, x, scratch, sums,
              costs, norms, chunk_rows, whole, parts, by_examples, e_layers, e_x, e_acts,
              e_D, e_D_prev, e_grads, e_part, e_scratch, totals):  # fmt: skip
    """Steps s = 0, 1, … on the batches ``order[s·batch_size:…]`` with learning rates
    ``etas[s]``, each in chunks of at most ``chunk_rows`` examples, the same as the fast
    engine's ``run_steps``: returns (steps done, DONE, DIVERGED or FLAT), with each step's C
    and ‖∇C‖ in ``costs`` and ``norms``. ``whole``: the batch is all of X, read in place and
    in order (``order`` is then 0, 1, …, n − 1).

    ``parts`` threads share each chunk's work: each layer's units cut among them, or, with
    ``by_examples``, the chunk's examples, each part then with buffers of its own (``e_…``,
    one row per part, and a map of them, ``e_layers``) and ∇C the sum of the parts' gradients.
    """
    n = order.shape[0]
    L = layers.shape[0]
    n_out, a_at = layers[L - 1, 1], layers[L - 1, 3]
    for s in range(etas.shape[0]):
        lo = s * batch_size
        hi = min(lo + batch_size, n)
        total = 0.0
        sums[:] = 0.0
        totals[:] = 0.0
        for c0 in range(lo, hi, chunk_rows):
            c1 = min(c0 + chunk_rows, hi)
            r = c1 - c0
            rows = order[c0:c1]
            if by_examples:
                _gradient_by_examples(theta, X, Y, rows, whole, hi - lo, c0 == lo, e_layers,
                                      hidden, output, cost, e_x, e_acts, e_D, e_D_prev, e_grads,
                                      e_part, e_scratch, totals, parts)  # fmt: skip
                continue
            xs = X[c0:c1] if whole else x[:r]
            if not whole:
                _gather(X, rows, xs, parts)
            _forward(theta, xs, layers, hidden, acts, parts)
            Z = acts[a_at : a_at + n_out * r].reshape((n_out, r))
            if cost == CROSS_ENTROPY:
                total += _logit_cost(Z, Y, rows, r, output)  # from zᴸ, before σ overwrites it
            _activate(Z, output, scratch)
            total += _output_error(Z, Y, rows, r, hi - lo, output, cost,
                                   delta[: n_out * r].reshape((n_out, r)), scratch)  # fmt: skip
            _backward(theta, xs, layers, hidden, acts, delta, moved, moving, grad, part,
                      c0 == lo, c1 == hi, l2, sums, parts)  # fmt: skip
        if by_examples:
            for p in range(parts):
                total += totals[p]
            _gather_gradients(theta, grad, e_grads, layers, l2, sums, parts)
        squares = weights = 0.0
        for p in range(parts):
            squares += sums[p, 0]
            weights += sums[p, 1]
        C, norm, status = _verdict(total / (hi - lo), squares, weights, l2, threshold)
        costs[s] = C
        norms[s] = norm
        if status != DONE:
            return s, status
        _update_parts(theta, velocity, grad, layers, etas[s], momentum, parts)
    return etas.shape[0], DONE
