"""Cost functions: one number that says how bad the network currently is.

The seed's quadratic cost, for one example with outputs a and one-hot target y, is
Σ_j (a_j − y_j)² summed over the 10 outputs, and the cost C is its **average over the m
examples**. There is no ½ factor, so

    C = (1/m) Σ_x Σ_j (a_j − y_j)²        ∂C/∂a_j = (2/m)(a_j − y_j)

How η compares with other conventions (same data, same update direction):

* with C½ = ½·C (the classic teaching code), ∇C½ = ½∇C, so η here equals η½ / 2;
* PyTorch's ``MSELoss()`` averages over the m·10 entries, C_mse = C / 10, so η here equals
  η_mse / 10.

Cross-entropy depends on the output layer: with softmax outputs it is the categorical
−(1/m) Σ_x Σ_j y_j ln a_j; with sigmoid outputs, each output is a separate yes/no, giving
−(1/m) Σ_x Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)]. With its matching output layer its
error term simplifies to δᴸ = (a − y)/m, which ``backprop`` uses for stability.

Shapes: ``a`` and ``y`` are (m, n_out); values are floats; derivatives have a's shape.
:func:`one_hot` turns class labels into such targets ``y``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ._types import Array
from .errors import ConfigError, DataError, ShapeError


def quadratic(a: Array, y: Array) -> float:
    """C = (1/m) Σ_x Σ_j (a_j − y_j)², the seed's cost (no ½).

    Examples
    --------
    >>> quadratic(np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]))
    0.5
    """
    diff = a - y
    return float(np.einsum("ij,ij->", diff, diff) / len(a))


def quadratic_derivative(a: Array, y: Array) -> Array:
    """∂C/∂a = (2/m)(a − y)."""
    return (2.0 / len(a)) * (a - y)


def _safe_log(p: Array) -> Array:
    """ln p with p clipped away from 0, so a saturated output costs a large, finite amount."""
    return np.log(np.maximum(p, np.finfo(p.dtype).tiny))


def categorical_cross_entropy(a: Array, y: Array) -> float:
    """C = −(1/m) Σ_x Σ_j y_j ln a_j, for softmax outputs."""
    return float(-np.sum(y * _safe_log(a)) / len(a))


def categorical_cross_entropy_derivative(a: Array, y: Array) -> Array:
    """∂C/∂a_j = −y_j / (m a_j)."""
    return -y / (len(a) * np.maximum(a, np.finfo(a.dtype).tiny))


def binary_cross_entropy(a: Array, y: Array) -> float:
    """C = −(1/m) Σ_x Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)], for sigmoid outputs."""
    return float(-np.sum(y * _safe_log(a) + (1.0 - y) * _safe_log(1.0 - a)) / len(a))


def binary_cross_entropy_derivative(a: Array, y: Array) -> Array:
    """∂C/∂a_j = (a_j − y_j) / (m a_j (1 − a_j))."""
    tiny = np.finfo(a.dtype).tiny
    return (a - y) / (len(a) * np.maximum(a * (1.0 - a), tiny))


class Cost(NamedTuple):
    """A cost's value C(a, y) and its derivative ∂C/∂a, side by side."""

    name: str
    value: Callable[[Array, Array], float]
    derivative: Callable[[Array, Array], Array]
    # The output activation for which δᴸ = ∂C/∂z simplifies to (a − y)/m, if any.
    matching_output: str | None = None


QUADRATIC = Cost("quadratic", quadratic, quadratic_derivative)
CATEGORICAL_CROSS_ENTROPY = Cost(
    "cross-entropy", categorical_cross_entropy, categorical_cross_entropy_derivative, "softmax"
)
BINARY_CROSS_ENTROPY = Cost(
    "cross-entropy", binary_cross_entropy, binary_cross_entropy_derivative, "sigmoid"
)
COSTS = ("quadratic", "cross-entropy")


def get_cost(name: str, output: str = "sigmoid") -> Cost:
    """The cost called ``name`` for an output layer ``output`` ("sigmoid" or "softmax")."""
    if name == "quadratic":
        return QUADRATIC
    if name == "cross-entropy":
        return CATEGORICAL_CROSS_ENTROPY if output == "softmax" else BINARY_CROSS_ENTROPY
    raise ConfigError(f"unknown cost {name!r}; choose one of {', '.join(COSTS)}")


def one_hot(
    labels: NDArray[Any], n_classes: int = 10, dtype: DTypeLike = np.float32
) -> NDArray[Any]:
    """Turn class labels into target rows with a 1 at the label and 0 elsewhere.

    The network has one output per class, so the target y that the cost compares its
    outputs a with is a vector, not a number.

    >>> one_hot(np.array([2, 0]), n_classes=3)
    array([[0., 0., 1.],
           [1., 0., 0.]], dtype=float32)
    """
    labels = np.asarray(labels)
    if n_classes < 1:
        raise ConfigError(
            f"one_hot: n_classes must be at least 1, got {n_classes}",
            help="MNIST has 10 classes",
        )
    if labels.ndim != 1:
        raise ShapeError(
            f"one_hot expected a 1-D array of labels, got shape {labels.shape}",
            help="pass one label per example, e.g. Dataset.train_labels",
        )
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise DataError(
            f"one_hot expected integer labels, got dtype {labels.dtype}",
            help="convert with labels.astype(int) if they are whole numbers",
        )
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
        raise DataError(
            f"one_hot expected labels 0..{n_classes - 1}, "
            f"got values from {int(labels.min())} to {int(labels.max())}",
            help="check n_classes, or that the labels belong to this data set",
        )
    out = np.zeros((len(labels), n_classes), dtype=dtype)
    out[np.arange(len(labels)), labels.astype(np.intp)] = 1
    return out
