"""The fast engine's first-layer tiles in either size: four units (eight for the weight
gradient) where the CPU has 32 vector registers, two (four) where it has 16. Each entry is
the same sum in the same order either way, so the two sizes must give the same bits; both
are checked here on whatever CPU runs the tests, whichever of them it trains with."""

from __future__ import annotations

import numpy as np
import pytest

numba = pytest.importorskip("numba")
kernels = pytest.importorskip("nudgenet.training.kernels")
simd = pytest.importorskip("nudgenet.training.simd")
_TEST_OPTIONS = {**kernels._OPTIONS, "cache": False, "no_cpython_wrapper": False}
DTYPES = [np.float32, np.float64]


@numba.njit(**_TEST_OPTIONS)
def _forward(X, rows, R, W, J, K, Z, five, units):
    kernels._affine_tiles(X, rows, R, W, J, K, Z, five, units)


@numba.njit(**_TEST_OPTIONS)
def _weight_pass(D, X, rows, r, W, dW, db, fresh, eta, units):
    return kernels._input_weight_pass(D, X, rows, r, W, dW, db, fresh, eta, units)


def _close(dtype: type) -> dict[str, float]:
    """How near a float32 or float64 sum of ~800 products of normal numbers is to NumPy's."""
    return {"rtol": 1e-4, "atol": 1e-3} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-11}


def _data(dtype: type, n_out: int, n_in: int, r: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((3 * r + 30, n_in)).astype(dtype)
    rows = rng.permutation(len(X))  # past r: the rows the tiles ask the caches for
    W = rng.standard_normal((n_out, n_in)).astype(dtype)
    D = rng.standard_normal((n_out, r)).astype(dtype)
    return X, rows, W, D


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("n_out", "r", "five"), [(16, 10, True), (12, 20, False), (20, 8, False)])
def test_forward_tiles_of_two_units_give_the_bits_of_four(
    dtype: type, n_out: int, r: int, five: bool
) -> None:
    n_in = 784
    X, rows, W, _ = _data(dtype, n_out, n_in, r, n_out + r)
    lanes = simd.VECTOR_BYTES // np.dtype(dtype).itemsize
    K = n_in - n_in % lanes
    out = {}
    for units in (4, 2):
        Z = np.zeros((n_out, r), dtype=dtype)
        _forward(X, rows, r, W, n_out, K, Z, five, units)
        out[units] = Z
    np.testing.assert_array_equal(out[2], out[4])
    want = W[:, :K] @ X[rows[:r], :K].T  # and they are the product
    np.testing.assert_allclose(out[4], want, **_close(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_out", [16, 19])
@pytest.mark.parametrize("r", [1, 10, 64])
@pytest.mark.parametrize("fresh", [True, False])
def test_weight_gradient_tiles_of_four_units_give_the_bits_of_eight(
    dtype: type, n_out: int, r: int, fresh: bool
) -> None:
    n_in = 90  # columns past the last whole vector too
    X, rows, _, D = _data(dtype, n_out, n_in, r, n_out * r)
    start = np.random.default_rng(1).standard_normal((n_out, n_in)).astype(dtype)
    grads = {}
    for units in (8, 4):
        dW, db = start.copy(), np.zeros(n_out, dtype=dtype)
        _weight_pass(D, X, rows, r, dW, dW, db, fresh, 0.0, units)
        grads[units] = dW
    np.testing.assert_array_equal(grads[4], grads[8])
    want = (0 if fresh else start) + D @ X[rows[:r]]
    np.testing.assert_allclose(grads[8], want, **_close(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_fused_step_in_tiles_of_four_units_takes_the_same_step(dtype: type) -> None:
    """With η > 0 the tiles step W¹ straight from the registers: the same W¹ bit for bit;
    ‖∂C/∂W¹‖² is summed in other groups, so it agrees to rounding."""
    n_out, n_in, r, eta = 16, 784, 10, 0.3
    X, rows, W0, D = _data(dtype, n_out, n_in, r, 5)
    out = {}
    for units in (8, 4):
        W, dW, db = W0.copy(), np.empty_like(W0), np.zeros(n_out, dtype=dtype)
        squares = _weight_pass(D, X, rows, r, W, dW, db, True, eta, units)
        out[units] = (W, squares)
    np.testing.assert_array_equal(out[4][0], out[8][0])
    grad = D.astype(np.float64) @ X[rows[:r]].astype(np.float64)
    for units in (8, 4):
        np.testing.assert_allclose(out[units][1], np.sum(grad**2), rtol=1e-5)


def test_this_cpu_takes_the_tiles_its_registers_hold() -> None:
    wide = simd.VECTOR_REGISTERS >= 32
    assert ((4, 8) if wide else (2, 4)) == (kernels.AFFINE_UNITS, kernels.GRADIENT_UNITS)
