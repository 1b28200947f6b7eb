"""The distortion kernel of :mod:`nudgenet.data.augment`, compiled by Numba.

In a module of its own so that importing nudgenet never needs Numba: augment imports it
only when a distortion is asked for.
"""

from __future__ import annotations

import math

from numba import njit, prange


@njit(parallel=True, cache=True, nogil=True)
def warp(images, A, shift, dy, dx, out):  # pragma: no cover - compiled
    """out[i] = images[i] read at A[i] @ (p − c) + shift[i] + (dy, dx)[i] + c, bilinearly,
    for every pixel p; c is the centre. Points outside the image read 0."""
    n, side = images.shape[0], images.shape[1]
    c = (side - 1) / 2.0
    for i in prange(n):
        for r in range(side):
            for q in range(side):
                py, px = r - c, q - c
                y = A[i, 0, 0] * py + A[i, 0, 1] * px + shift[i, 0] + dy[i, r, q] + c
                x = A[i, 1, 0] * py + A[i, 1, 1] * px + shift[i, 1] + dx[i, r, q] + c
                y0, x0 = math.floor(y), math.floor(x)
                fy, fx = y - y0, x - x0
                value = 0.0
                for oy in range(2):
                    yy = int(y0) + oy
                    if yy < 0 or yy >= side:
                        continue
                    wy = fy if oy else 1.0 - fy
                    for ox in range(2):
                        xx = int(x0) + ox
                        if xx < 0 or xx >= side:
                            continue
                        wx = fx if ox else 1.0 - fx
                        value += wy * wx * images[i, yy, xx]
                out[i, r, q] = value
