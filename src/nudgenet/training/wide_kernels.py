"""Compiled passes of the BLAS engine: what is left of a step once BLAS has done the products.

This module imports Numba; :mod:`nudgenet.training.wide` loads it only when the BLAS engine
runs. Its activations and errors are laid out as the fast engine's, (n, r) with one column
per example, so each pass here is the fast engine's own (:mod:`nudgenet.training.kernels`),
given an entry that Python can call:

* :func:`hidden`: aˡ = σ(zˡ + bˡ) in place, from the product zˡ = Wˡaˡ⁻¹;
* :func:`output`: the output layer's σ, the chunk's summed cost and δᴸ;
* :func:`times_derivative`: δ ← δ ⊙ σ′(a);
* :func:`finish_step`: the L2 term, ‖∇C‖ and the checks, then the update of θ (and of the
  velocity) in place, only when the checks pass. It runs on one thread: BLAS's threads,
  which the products need, spin for a while after each product, and a second pool of
  threads would fight them for the cores.
"""

from __future__ import annotations

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

# The kernels' codes, for fast._codes and for finish_step's result.
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


@njit(**_ENTRY)
def hidden(Z, b, code, scratch):
    """Z ← σ(Z + b) in place; Z is (n, r), b is (n,)."""
    _add_bias(Z, b)
    _activate(Z, code, scratch)


@njit(**_ENTRY)
def output(Z, b, Y, rows, m, code, cost, D, scratch):
    """Z ← aᴸ = σ(Z + b) in place and D = δᴸ for the examples Y[rows], of a batch of m;
    returns their summed cost. Z and D are (n_out, r)."""
    _add_bias(Z, b)
    total = _logit_cost(Z, Y, rows, code) if cost == CROSS_ENTROPY else 0.0
    _activate(Z, code, scratch)
    return total + _output_error(Z, Y, rows, m, code, cost, D, scratch)


@njit(**_ENTRY)
def times_derivative(D, A, code):
    """D ← D ⊙ σ′, σ′ written from the activations A = σ(z); both (n, r)."""
    _times_derivative(D, A, code)


@njit(**_ENTRY)
def finish_step(theta, velocity, grad, total, m, eta, momentum, l2, threshold, layers):
    """The fast engine's end of a step, on one thread: (C, ‖∇C‖, DONE, DIVERGED or FLAT)."""
    return _finish_step(theta, velocity, grad, total, m, eta, momentum, l2, threshold, layers, 1)
