"""Array aliases used across nudgenet's signatures, and arrays laid out for the kernels.

Shapes are written in docstrings; these aliases only say "a floating NumPy array".
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating[Any]]
Vector = Array  # 1-D: the flat parameter vector θ or its gradient ∇C
Matrix = Array  # 2-D: a batch of examples (rows) or a weight matrix
DTYPES = {"float32": np.float32, "float64": np.float64}

ALIGNMENT = 64  # bytes: a cache line, and one AVX-512 vector


def aligned_empty(shape: int | tuple[int, ...], dtype: Any) -> NDArray[Any]:
    """An uninitialised C-ordered array that starts on a 64-byte boundary.

    NumPy's arrays start wherever ``malloc`` puts them (16 bytes apart); the compiled kernels
    load whole vectors, and one that straddles two cache lines costs about two loads. A row
    of 784 float32 or float64 pixels is a whole number of lines, so every row of an aligned
    data set is aligned.
    """
    dtype = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    raw = np.empty(count * dtype.itemsize + ALIGNMENT, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start : start + count * dtype.itemsize].view(dtype).reshape(shape)


def aligned_copy(a: NDArray[Any], dtype: Any = None) -> NDArray[Any]:
    """A copy of ``a`` (as ``dtype``, by default its own) in an :func:`aligned_empty` array."""
    out = aligned_empty(a.shape, a.dtype if dtype is None else dtype)
    out[...] = a
    return out


def is_aligned(a: NDArray[Any]) -> bool:
    """Whether ``a`` starts on a 64-byte boundary (see :func:`aligned_empty`)."""
    return a.ctypes.data % ALIGNMENT == 0
