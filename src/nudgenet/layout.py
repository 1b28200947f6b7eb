"""Where each weight and bias lives inside the flat parameter vector θ.

The seed treats all 13,002 weights and biases as the coordinates of one point in a
high-dimensional space, and writes learning as θ ← θ − η∇C. nudgenet stores them exactly
so: one contiguous 1-D array ``theta``, laid out layer by layer as [W¹, b¹, W², b², W³, b³].
``Layout.views(theta)`` returns per-layer ``(W, b)`` that are *views* into θ (no copies), so
updating θ moves every weight and bias at once, and a gradient is a vector of θ's shape.

Notation: layer l maps n_in = sizes[l] activations to n_out = sizes[l+1];
W has shape (n_out, n_in) and b has shape (n_out,).

A layout is refused when it could not be held in memory (:data:`LAYER_SIZE`,
:data:`MAX_PARAMS`), with a message that says so, rather than failing later in an
allocation with a MemoryError.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from ._types import Array, Matrix, Vector
from .constraints import Range
from .errors import ConfigError, ShapeError

SEED_SIZES = (784, 16, 16, 10)

LAYER_SIZE = Range("layer size", 1, 10_000, "neurons in one layer", integer=True)
"""Neurons in one layer: 1 to 10,000 (the seed's hidden layers have 16).

Activations hold one number per neuron per example, and the whole test set goes through
the network at once: 10,000 images through a 10,000-wide layer is 800 MB in float64, and
backpropagation keeps every layer's activations of a batch. :mod:`nudgenet.options`, the
table of every option's range, offers it as ``options.LAYER_SIZE``.
"""

MAX_PARAMS = 50_000_000
"""Most weights and biases a network may have (the seed has 13,002).

θ, its gradient ∇C and the momentum velocity each hold one float per parameter: at this
size 400 MB apiece in float64, over 1 GB while training, and a saved model or θ snapshot
as much again. Also offered as ``options.MAX_PARAMS``.
"""


@dataclass(frozen=True)
class Layout:
    """The shapes of a fully connected network and their places in θ.

    Examples
    --------
    >>> Layout((784, 16, 16, 10)).n_params
    13002
    """

    sizes: tuple[int, ...] = SEED_SIZES
    offsets: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        sizes = tuple(self.sizes)
        if len(sizes) < 2:
            raise ConfigError(
                f"a network needs at least an input and an output layer, got sizes {sizes}",
                help="give the layer sizes from input to output, e.g. 784,16,16,10",
            )
        if not all(_is_size(n) for n in sizes):
            raise ConfigError(
                f"every layer size must be a positive integer, got {sizes}",
                help="e.g. 784,16,16,10",
            )
        sizes = tuple(int(n) for n in sizes)
        _check_fits(sizes)
        object.__setattr__(self, "sizes", sizes)
        # Each layer contributes n_out*n_in weights then n_out biases.
        offsets = [0]
        for n_in, n_out in pairwise(sizes):
            offsets.append(offsets[-1] + n_out * n_in + n_out)
        object.__setattr__(self, "offsets", tuple(offsets))

    @property
    def n_params(self) -> int:
        """Number of weights and biases: the length of θ."""
        return self.offsets[-1]

    @property
    def n_layers(self) -> int:
        """Number of weight layers (one fewer than the number of layer sizes)."""
        return len(self.sizes) - 1

    @property
    def shapes(self) -> list[tuple[tuple[int, int], tuple[int]]]:
        """Per layer, the shapes of W and b."""
        return [((n_out, n_in), (n_out,)) for n_in, n_out in pairwise(self.sizes)]

    def check(self, theta: Vector) -> None:
        """Raise :class:`ShapeError` unless θ is a 1-D float vector of length ``n_params``."""
        if not isinstance(theta, np.ndarray) or theta.ndim != 1 or len(theta) != self.n_params:
            got = getattr(theta, "shape", type(theta).__name__)
            raise ShapeError(
                f"θ must be a 1-D array of {self.n_params} parameters for sizes "
                f"{','.join(map(str, self.sizes))}, got shape {got}",
                help="create it with nudgenet.init_params(layout, ...) or load a model saved "
                "for these layer sizes",
            )
        if not np.issubdtype(theta.dtype, np.floating):
            raise ShapeError(
                f"θ must hold floats, got dtype {theta.dtype}",
                help="convert it first, e.g. theta.astype(np.float64)",
            )

    def views(self, theta: Vector) -> list[tuple[Matrix, Vector]]:
        """Per-layer ``(W, b)`` views into θ; writing to them writes θ.

        Examples
        --------
        >>> layout = Layout((2, 3, 1))
        >>> theta = np.zeros(layout.n_params)
        >>> (W1, b1), (W2, b2) = layout.views(theta)
        >>> W1.shape, b1.shape, W2.shape, b2.shape
        ((3, 2), (3,), (1, 3), (1,))
        >>> theta[:] = 1.0
        >>> float(W2.sum())
        3.0
        """
        self.check(theta)
        out = []
        for (w_shape, _), start in zip(self.shapes, self.offsets[:-1], strict=True):
            n_w = w_shape[0] * w_shape[1]
            W = theta[start : start + n_w].reshape(w_shape)
            b = theta[start + n_w : start + n_w + w_shape[0]]
            out.append((W, b))
        return out

    def weight_mask(self) -> Array:
        """Boolean vector of θ's shape: True for weights, False for biases (for L2 decay)."""
        mask = np.zeros(self.n_params, dtype=bool)
        for (w_shape, _), start in zip(self.shapes, self.offsets[:-1], strict=True):
            mask[start : start + w_shape[0] * w_shape[1]] = True
        return mask

    def locate(self, index: int) -> tuple[int, str, tuple[int, ...]]:
        """Which layer (1-based), kind ("weight" or "bias") and position θ[index] is.

        Examples
        --------
        >>> Layout((784, 16, 16, 10)).locate(784 * 16)
        (1, 'bias', (0,))
        """
        if not 0 <= index < self.n_params:
            raise ShapeError(
                f"index {index} is outside θ, which has {self.n_params} entries",
                help=f"θ's entries are numbered 0 to {self.n_params - 1}",
            )
        for layer, ((w_shape, _), start) in enumerate(
            zip(self.shapes, self.offsets[:-1], strict=True), 1
        ):
            n_w = w_shape[0] * w_shape[1]
            if index < start + n_w:
                row, col = divmod(index - start, w_shape[1])
                return layer, "weight", (row, col)
            if index < start + n_w + w_shape[0]:
                return layer, "bias", (index - start - n_w,)
        raise AssertionError("unreachable")  # pragma: no cover


def _check_fits(sizes: tuple[int, ...]) -> None:
    """Refuse sizes whose activations or parameters would not fit in memory (see
    :data:`LAYER_SIZE` and :data:`MAX_PARAMS`), before anything is allocated for them."""
    shown = ",".join(map(str, sizes))
    for layer, n in enumerate(sizes):
        if not LAYER_SIZE.contains(n):
            limit = int(LAYER_SIZE.high or 0)
            raise ConfigError(
                f"layer {layer} of sizes {shown} has {n:,} neurons, more than the limit of "
                f"{limit:,} per layer: activations hold one number per neuron per example, "
                f"so the 10,000 test images alone would need {_bytes(n * 10_000 * 8)} "
                "in float64 at that width",
                help=f"use layers of at most {limit:,} neurons (the seed's hidden layers "
                "have 16), e.g. --sizes 784,100,10",
            )
    n_params = sum(n_in * n_out + n_out for n_in, n_out in pairwise(sizes))
    if n_params > MAX_PARAMS:
        raise ConfigError(
            f"sizes {shown} have {n_params:,} weights and biases, more than the limit of "
            f"{MAX_PARAMS:,}: θ, its gradient and the momentum velocity each hold one float "
            f"per parameter, {_bytes(n_params * 8)} apiece in float64 at that size",
            help="use fewer or narrower layers (the seed's 784,16,16,10 has 13,002 parameters)",
        )


def _bytes(n: int) -> str:
    """A byte count for people: ``800 MB``, ``64 GB``."""
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size:
            return f"{n / size:,.0f} {unit}"
    return f"{n} bytes"


def _is_size(n: object) -> bool:
    """Whether n is a whole number ≥ 1 (an int, or a float such as 784.0)."""
    return (
        isinstance(n, numbers.Real)
        and not isinstance(n, bool)
        and math.isfinite(n)
        and n == int(n)
        and n >= 1
    )
