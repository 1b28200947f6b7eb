"""The SIMD layer under the kernels: its lane width, its e^x, its vector operations and its
views.

The kernels' own tests compare whole training runs; these check the building blocks one by
one, compiled afresh (not from Numba's cache, which does not notice edits to ``simd.py``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

numba = pytest.importorskip("numba")
simd = pytest.importorskip("nudgenet.training.simd")

FLOATS = [np.float32, np.float64]


@pytest.mark.parametrize(
    ("features", "expected"),
    [
        ("+sse2,+avx,+avx2,+fma,+avx512f,+avx512bw", 64),
        ("+sse2,+avx,+avx2,-avx512f", 32),
        ("+sse2,+sse4.2,-avx,-avx512f", 16),
        ("", 16),
    ],
)
def test_vector_bytes_follow_the_cpu_features(monkeypatch, features: str, expected: int) -> None:
    monkeypatch.setattr(simd.config, "CPU_FEATURES", features)
    assert simd._vector_bytes() == expected


@pytest.mark.parametrize(
    ("features", "x86", "expected"),
    [
        ("+sse2,+avx,+avx2,+fma,+avx512f,+avx512bw", True, 32),
        ("+sse2,+avx,+avx2,+fma,-avx512f", True, 16),
        ("+sse2,-avx,-avx512f", True, 16),
        ("+neon", False, 32),
    ],
)
def test_vector_registers_follow_the_cpu(monkeypatch, features: str, x86: bool,
                                         expected: int) -> None:  # fmt: skip
    monkeypatch.setattr(simd.config, "CPU_FEATURES", features)
    monkeypatch.setattr(simd, "X86", x86)
    assert simd._vector_registers() == expected


def test_vector_bytes_default_to_the_host_features(monkeypatch) -> None:
    monkeypatch.setattr(simd.config, "CPU_FEATURES", None)
    monkeypatch.setattr(simd, "get_host_cpu_features", lambda: "+sse2,+avx,-avx512f")
    assert simd._vector_bytes() == 32


@pytest.mark.parametrize("dtype", FLOATS)
def test_a_vector_fills_one_register(dtype: type) -> None:
    vector = simd._Vector(numba.from_dtype(np.dtype(dtype)))
    assert vector.lanes * np.dtype(dtype).itemsize == simd.VECTOR_BYTES


@numba.njit
def _exp_all(x):
    out = np.empty_like(x)
    for p in range(x.shape[0]):
        out[p] = simd._exp_nonpositive(x[p])
    return out


@pytest.mark.parametrize("dtype", FLOATS)
def test_exp_nonpositive_is_accurate_to_an_ulp(dtype: type) -> None:
    # From just above where e^x leaves the normal numbers up to 0, then two more next to 0.
    start = np.log(np.finfo(dtype).tiny) + 1e-3
    x = np.concatenate([np.linspace(start, 0.0, 20_001), [-1e-30, -0.0]]).astype(dtype)
    got = _exp_all(x)
    assert got.dtype == dtype
    exact = np.exp(x.astype(np.longdouble))
    ulps = np.abs(got - exact) / np.spacing(exact.astype(dtype))
    assert float(ulps.max()) <= 1.5
    assert got[-1] == 1.0  # e^0, exactly


@pytest.mark.parametrize("dtype", FLOATS)
def test_exp_nonpositive_is_zero_below_the_normal_numbers(dtype: type) -> None:
    below = np.array([np.log(np.finfo(dtype).tiny) * 1.01, -1e4, -np.inf], dtype=dtype)
    assert _exp_all(below).tolist() == [0.0, 0.0, 0.0]


@numba.njit
def _vector_ops(A, B, out, dots):
    """out[i, k:k+L] = A[i, k:k+L] · 2 + B[i, k:k+L]; dots[i] = A[i, :K] · B[i, :K]."""
    L = simd._lanes(A)
    K = A.shape[1] - A.shape[1] % L
    for i in range(A.shape[0]):
        s = simd._splat(A.dtype.type(0))
        for k in range(0, K, L):
            simd._prefetch(A, i, k)
            u, v = simd._load(A, i, k), simd._load(B, i, k)
            simd._store(out, i, k, simd._fma(u, simd._splat(A.dtype.type(2)), v))
            s = simd._fma(u, v, s)
        dots[i] = simd._sum_lanes(s)
    return L


@pytest.mark.parametrize("dtype", FLOATS)
def test_vector_operations_compute_what_they_say(dtype: type) -> None:
    lanes = simd.VECTOR_BYTES // np.dtype(dtype).itemsize
    rng = np.random.default_rng(0)
    # Three full vectors per row and a few columns past them, which the operations leave alone.
    A, B = (rng.standard_normal((5, 3 * lanes + 3)).astype(dtype) for _ in range(2))
    out = np.full_like(A, np.nan)
    dots = np.empty(5, dtype=dtype)
    assert _vector_ops(A, B, out, dots) == lanes
    K = 3 * lanes
    np.testing.assert_array_equal(out[:, :K], A[:, :K] * dtype(2) + B[:, :K])  # exact: ×2
    assert np.isnan(out[:, K:]).all()
    np.testing.assert_allclose(dots, np.sum(A[:, :K] * B[:, :K], axis=1), rtol=1e-5)


@numba.njit
def _views(v, at, rows, cols):
    """A (rows, cols) view of v[at:] and its flat view, both written through, through the
    same array with no reference count; returns what the views saw."""
    u = simd._unowned(v)
    M = simd._grid(u[at:], rows, cols)
    seen = M.copy()
    M[rows - 1, cols - 1] = -1.0
    flat = simd._flat(M)
    flat[0] = -2.0
    return seen, flat.copy(), M.shape, M.strides, flat.shape, flat.strides


@pytest.mark.parametrize("dtype", FLOATS)
def test_views_see_and_write_the_numbers_of_their_array(dtype: type) -> None:
    v = np.arange(40, dtype=dtype)
    seen, flat, shape, strides, flat_shape, flat_strides = _views(v, 3, 4, 5)
    np.testing.assert_array_equal(seen, np.arange(3, 23, dtype=dtype).reshape(4, 5))
    size = np.dtype(dtype).itemsize
    assert (shape, strides) == ((4, 5), (5 * size, size))
    assert (flat_shape, flat_strides) == ((20,), (size,))
    # Both writes reached v itself, and nothing else changed.
    expected = np.arange(40, dtype=dtype)
    expected[3], expected[22] = -2.0, -1.0
    np.testing.assert_array_equal(v, expected)
    np.testing.assert_array_equal(flat, expected[3:23])


kernels = pytest.importorskip("nudgenet.training.kernels")


@numba.njit
def _matrix_of(v, at, rows, cols):
    return kernels._matrix(v, at, rows, cols).copy()


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(0, 30), at=st.integers(-3, 33), rows=st.integers(-2, 8),
    cols=st.integers(-2, 8),
)  # fmt: skip
def test_a_matrix_is_its_slice_reshaped_or_refused(n: int, at: int, rows: int, cols: int) -> None:
    v = np.arange(n, dtype=np.float32)
    if at < 0 or rows < 0 or cols < 0 or at + rows * cols > n:
        with pytest.raises(ValueError, match="past the end"):
            _matrix_of(v, at, rows, cols)
    else:
        expected = v[at : at + rows * cols].reshape(rows, cols)
        np.testing.assert_array_equal(_matrix_of(v, at, rows, cols), expected)
