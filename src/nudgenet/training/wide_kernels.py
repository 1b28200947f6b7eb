"""Compiled passes of the BLAS engine: what is left of a step once BLAS has done the products.

This module imports Numba; :mod:`nudgenet.training.wide` loads it only when the BLAS engine
runs. Each function is one pass over its arrays, fusing what NumPy would do in several
(each of which would read and write the whole array again):

* :func:`bias_activate`: aˡ = σ(zˡ + bˡ) from the product zˡ = aˡ⁻¹Wˡᵀ, and
  :func:`times_derivative`: δ ← δ ⊙ σ′(a), both on (m, n) blocks that stay in cache;
* :func:`update`: the whole step's update of θ and of the velocity in one pass over the 1.3
  million parameters of a wide network, reading ∇C, θ and v once and writing θ′ and v′
  once; it also adds the L2 term's gradient, sums ‖∇C‖² and ‖W′‖² (the next step's L2
  cost). It runs on one thread: BLAS's threads, which the products need, spin for a while
  after each product, and a second pool of threads would fight them for the cores.

Sums go over fixed blocks of ``BLOCK`` numbers, the blocks' sums added in order.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Activation codes, as the compiled engine's (see kernels.py).
SIGMOID, TANH, RELU = 0, 1, 2
# Numbers per block of the update's sums.
BLOCK = 16384

# ``reassoc`` lets LLVM vectorise the sums (‖∇C‖², ‖W′‖²: added in another, fixed, order);
# ``contract`` allows fused multiply-add. Neither assumes finite values, so NaN and inf
# still reach the divergence check.
_OPTIONS = {
    "cache": True,
    "nogil": True,
    "error_model": "numpy",
    "fastmath": {"reassoc", "contract"},
}


@njit(**_OPTIONS)
def bias_activate(Z, b, code, A):
    """A = σ(Z + b) for Z, A of shape (m, n) and b of shape (n,), as ``activations.py``."""
    m, n = Z.shape
    one = Z.dtype.type(1)
    zero = Z.dtype.type(0)
    for i in range(m):
        z = Z[i]
        a = A[i]
        if code == RELU:
            for j in range(n):
                a[j] = max(z[j] + b[j], zero)
        elif code == TANH:
            for j in range(n):
                a[j] = math.tanh(z[j] + b[j])
        else:  # sigmoid, without overflow: e^(−|z|)
            for j in range(n):
                v = z[j] + b[j]
                e = math.exp(-abs(v))
                a[j] = (one if v >= zero else e) / (one + e)


@njit(**_OPTIONS)
def times_derivative(D, A, code):
    """D ← D ⊙ σ′, σ′ written from the activations A = σ(z); both (m, n)."""
    d = D.reshape(D.size)
    a = A.reshape(A.size)
    one = D.dtype.type(1)
    zero = D.dtype.type(0)
    if code == RELU:
        for p in range(d.shape[0]):
            d[p] = d[p] if a[p] > zero else zero
    elif code == TANH:
        for p in range(d.shape[0]):
            d[p] *= one - a[p] * a[p]
    else:
        for p in range(d.shape[0]):
            d[p] *= a[p] * (one - a[p])


@njit(**_OPTIONS)
def _update_piece(theta, velocity, grad, weights, eta, momentum, l2, theta_new, velocity_new):
    """:func:`update` on one piece of θ (equal-length slices); returns its (‖∇C‖², ‖W′‖²).

    The piece comes as slices, so that every index runs from 0 up the slice's length: Numba
    then knows no index is negative, leaves out the wrap-around checks, and vectorises the
    loop (indexing θ[lo:hi] through ``range(lo, hi)`` ran three times slower).
    """
    eta_ = theta.dtype.type(eta)
    mu = theta.dtype.type(momentum)
    decay = theta.dtype.type(l2 if weights else 0.0)
    g2 = 0.0
    w2 = 0.0
    if momentum > 0:
        for p in range(theta.shape[0]):
            g = grad[p] + decay * theta[p]
            g2 += g * g
            v = velocity[p] * mu
            v -= eta_ * g
            velocity_new[p] = v
            t = theta[p] + v
            theta_new[p] = t
            w2 += t * t
    else:
        for p in range(theta.shape[0]):
            g = grad[p] + decay * theta[p]
            g2 += g * g
            t = theta[p] - eta_ * g
            theta_new[p] = t
            w2 += t * t
    return g2, (w2 if weights else 0.0)


@njit(**_OPTIONS)
def update(theta, velocity, grad, pieces, eta, momentum, l2, theta_new, velocity_new):
    """One step's update, from (θ, v) into (θ′, v′), in one pass; returns (‖∇C‖², ‖W′‖²).

    ``pieces`` cuts θ into runs of at most ``BLOCK`` numbers: rows (start, end, 1 for weights
    or 0 for biases). ∇C = grad + λW (λ only on the weights); v′ = μv − η∇C and θ′ = θ + v′
    with momentum μ > 0, else θ′ = θ − η∇C. The inputs are left as they were, so that a step
    whose ‖∇C‖ turns out NaN, infinite or 0 is simply not taken.
    """
    g2 = 0.0
    w2 = 0.0
    for q in range(pieces.shape[0]):
        lo, hi = pieces[q, 0], pieces[q, 1]
        a, b = _update_piece(theta[lo:hi], velocity[lo:hi], grad[lo:hi], pieces[q, 2], eta,
                             momentum, l2, theta_new[lo:hi], velocity_new[lo:hi])  # fmt: skip
        g2 += a
        w2 += b
    return g2, w2


def pieces(offsets, shapes) -> np.ndarray:
    """The rows (start, end, is_weight) of :func:`update`: each layer's W and b in runs of at
    most ``BLOCK`` numbers. ``offsets``/``shapes`` as :class:`~nudgenet.layout.Layout`'s."""
    rows = []
    for start, ((n_out, n_in), _) in zip(offsets[:-1], shapes, strict=True):
        for lo, hi, weights in (
            (start, start + n_out * n_in, 1),
            (start + n_out * n_in, start + n_out * n_in + n_out, 0),
        ):
            rows += [(p, min(p + BLOCK, hi), weights) for p in range(lo, hi, BLOCK)]
    return np.array(rows, dtype=np.int64).reshape(-1, 3)
