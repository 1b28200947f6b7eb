"""Data augmentation: every epoch sees each training digit slightly moved, turned and bent.

A writer never draws the same 7 twice: it is shifted, tilted, a little larger, slanted, and
its strokes wobble. Showing the network such variants of its training digits teaches it that
they are the same digit, and is the largest single gain for fully connected networks on
MNIST: Simard, Steinkraus and Platt (2003) took a 784-800-10 network from 1.6 % to 0.7 % test
error with elastic distortions; Cireşan et al. (2010) reached 0.35 % with large networks
trained on deformed digits.

Two kinds of distortion, combined into one map from each output pixel to a point of the
original image, read there by bilinear interpolation:

* **affine** — a random shift, rotation, scale and shear about the image centre;
* **elastic** (Simard's) — a field of random displacements, uniform in [−1, 1] at every pixel,
  smoothed by a Gaussian of width σ and scaled by α, so that neighbouring pixels move
  together, as a pen's wobble does.

All draws come from the generator the caller passes (the training run's own stream), so the
same seed gives the same distorted digits.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import ConfigError
from ..options import AUGMENT

SIDE = 28
"""Images are SIDE × SIDE, as in MNIST."""

CHUNK = 4096
"""Images distorted at a time: bounds the temporary fields to a few tens of MB."""


@dataclass(frozen=True)
class Distortion:
    """How strong each distortion is; the defaults are in the range the literature uses."""

    shift: float = 2.0  # largest shift, pixels, each axis
    rotation: float = 12.0  # largest rotation, degrees
    scale: float = 0.12  # largest relative change of size
    shear: float = 0.25  # largest shear, tan of the angle
    alpha: float = 34.0  # elastic: size of the displacements (Simard: 34)
    sigma: float = 4.0  # elastic: smoothness, pixels (Simard: 4)


def distort(
    images: NDArray[np.floating],
    kind: str,
    rng: np.random.Generator,
    *,
    out: NDArray[np.floating] | None = None,
    strength: Distortion | None = None,
) -> NDArray[np.floating]:
    """Distorted copies of ``images`` (shape (n, 784) or (n, 28, 28), values in [0, 1]).

    ``kind`` is one of ``options.AUGMENT``'s values ("none" copies); ``out`` (same shape
    and dtype) receives the result, so that a training loop can refill one buffer every epoch.
    Pixels mapped from outside the image are background (0).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> digit = np.zeros((1, 784), np.float32); digit[0, 14 * 28 + 10 : 14 * 28 + 18] = 1
    >>> moved = distort(digit, "both", rng)
    >>> moved.shape, moved.dtype.name, bool(0 <= moved.min() and moved.max() <= 1)
    ((1, 784), 'float32', True)
    >>> bool(np.array_equal(distort(digit, "none", rng), digit))
    True
    """
    AUGMENT.check(kind)
    images = np.asarray(images)
    if out is None:
        out = np.empty_like(images)
    flat_in = images.reshape(len(images), SIDE, SIDE)
    flat_out = out.reshape(len(out), SIDE, SIDE)
    if kind == "none":
        flat_out[:] = flat_in
        return out
    strength = strength or Distortion()
    for start in range(0, len(images), CHUNK):
        rows = slice(start, start + CHUNK)
        n = len(flat_in[rows])
        if kind in ("affine", "both"):
            A, shift = affine_maps(n, rng, strength)
        else:
            A, shift = (
                np.broadcast_to(np.eye(2, dtype=np.float32), (n, 2, 2)),
                np.zeros((n, 2), np.float32),
            )
        if kind in ("elastic", "both"):
            dy, dx = elastic_fields(n, rng, strength)
        else:
            dy = dx = np.zeros((n, SIDE, SIDE), np.float32)
        _compiled_warp()(flat_in[rows], np.ascontiguousarray(A), shift, dy, dx, flat_out[rows])
    return out


def affine_maps(
    n: int, rng: np.random.Generator, s: Distortion
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Random inverse affine maps (output → source) about the centre, and shifts (pixels).

    The map rotates by θ, scales by 1/k (a digit drawn k times larger reads a smaller area)
    and shears by t; each is uniform within its bound.
    """
    theta = np.deg2rad(rng.uniform(-s.rotation, s.rotation, n))
    k = rng.uniform(1 - s.scale, 1 + s.scale, n)
    t = rng.uniform(-s.shear, s.shear, n)
    shift = rng.uniform(-s.shift, s.shift, (n, 2))
    c, si = np.cos(theta) / k, np.sin(theta) / k
    # rotation @ shear: [[c, −s], [s, c]] @ [[1, t], [0, 1]], in (row, column) order
    A = np.stack([np.stack([c, c * t - si], -1), np.stack([si, si * t + c], -1)], -2)
    return A.astype(np.float32), shift.astype(np.float32)


def elastic_fields(
    n: int, rng: np.random.Generator, s: Distortion
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Simard's displacement fields (dy, dx), each (n, 28, 28), in pixels.

    Simard smooths uniform noise U in [−1, 1] with a Gaussian of width σ and scales it by
    α: α G U Gᵀ, with G the 28 × 28 smoothing matrix. That field is, to the central limit
    theorem's precision, Gaussian, with covariance (α²/3) S ⊗ S, where S = G Gᵀ. Its variance
    lives in a few directions: for σ = 4 the top :data:`RANK` eigenvectors of S hold 99.99 %
    of it. So each field is drawn there, as B Z Bᵀ with Z an 8 × 8 matrix of standard
    normals and B Bᵀ = (α/√3) S on those directions: the same distribution for 128 random
    numbers an image instead of 1,568.
    """
    B = _field_basis(s.sigma, s.alpha)  # (28, RANK)
    Z = rng.standard_normal((2, n, RANK, RANK), dtype=np.float32)
    fields = B @ Z @ B.T  # (2, n, 28, 28)
    return fields[0], fields[1]


RANK = 8
"""Directions of the smoothed displacement field kept per axis (see :func:`elastic_fields`)."""


@functools.lru_cache(maxsize=8)
def _field_basis(sigma: float, alpha: float) -> NDArray[np.float32]:
    """B with B Bᵀ = (α/√3) S on S's top RANK eigenvectors, S = G Gᵀ."""
    G = gaussian_matrix(sigma).astype(np.float64)
    w, V = np.linalg.eigh(G @ G.T)  # ascending
    w, V = np.clip(w[::-1][:RANK], 0, None), V[:, ::-1][:, :RANK]
    return (V * np.sqrt(w * alpha / np.sqrt(3))).astype(np.float32)


def gaussian_matrix(sigma: float) -> NDArray[np.float32]:
    """The 28 × 28 matrix that convolves a column with a unit-sum Gaussian of width σ (zero
    outside the image, as in Simard's filtering of the displacement fields)."""
    radius = math.ceil(4 * sigma)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    i = np.arange(SIDE)
    offset = i[None, :] - i[:, None]  # column − row
    G = np.where(np.abs(offset) <= radius, taps[np.clip(offset + radius, 0, 2 * radius)], 0.0)
    return G.astype(np.float32)


@functools.cache
def _compiled_warp() -> Any:
    """The distortion kernel, compiled by Numba; imported only here, so that nudgenet imports
    and trains without Numba (augmentation alone needs it)."""
    try:
        from .warp_kernel import warp
    except ImportError as exc:
        raise ConfigError(
            "augmentation needs Numba, which is not installed",
            help="pip install numba, or train without --augment",
        ) from exc
    return warp
