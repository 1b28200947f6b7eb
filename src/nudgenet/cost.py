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

Its value is computed from the output layer's pre-activations z, not from a = σ(z): a
confidently wrong output has a = 1 (or 0) exactly once rounded, where ln(1 − a) is −∞, and
the a-formulas can only clip it (to −ln(tiny): 87.3 in float32, 708 in float64) although
the true cost is about |z|. Written in z the logarithms cancel the exponentials:

    sigmoid:  −[y ln σ(z) + (1 − y) ln(1 − σ(z))] = softplus(z) − y z      ∂/∂z = σ(z) − y
    softmax:  −Σ_j y_j ln softmax_j(z) = Σ_j y_j (LSE(z) − z_j)            ∂/∂z_j = a_j − y_j

with softplus(z) = ln(1 + eᶻ) and LSE(z) = ln Σ_k e^(z_k), both evaluated without
overflow (:func:`cross_entropy_terms`). The softmax form's derivative assumes that each
target row sums to 1 (in general it is a_j Σ_k y_k − y_j); :func:`check_cross_entropy_targets`
refuses other targets.

Shapes: ``a``, ``z`` and ``y`` are (m, n_out); values are floats; derivatives have a's
shape. :func:`one_hot` turns class labels into such targets ``y``.
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


def softplus(z: Array) -> Array:
    """softplus(z) = ln(1 + eᶻ) = max(z, 0) + ln(1 + e^(−|z|)), never overflowing; its
    derivative is σ(z).

    >>> softplus(np.array([-1000.0, 0.0, 1000.0])).tolist()
    [0.0, 0.6931471805599453, 1000.0]
    """
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def cross_entropy_terms(z: Array, y: Array, output: str) -> Array:
    """Each output's share of the cross-entropy of one example, from its pre-activations z.

    Any leading axes (examples, stacked networks); the last axis holds the outputs.

    * sigmoid: softplus(z_j) − y_j z_j = −[y_j ln σ(z_j) + (1 − y_j) ln(1 − σ(z_j))],
      derivative σ(z_j) − y_j;
    * softmax: y_j (LSE(z) − z_j) = −y_j ln softmax_j(z), derivative a_j Σ_k y_k − y_j.
      LSE(z) = z_max + ln(1 + Σ_{k ≠ max} e^(z_k − z_max)): no exponential exceeds 1, and
      log1p keeps the small cost of a confident right answer.

    Examples
    --------
    A confidently wrong output costs about z, not a clipped −ln(tiny):

    >>> cross_entropy_terms(np.array([[200.0]]), np.array([[0.0]]), "sigmoid").tolist()
    [[200.0]]
    >>> cross_entropy_terms(np.array([[0.0, 200.0]]), np.array([[1.0, 0.0]]), "softmax").tolist()
    [[200.0, 0.0]]
    """
    if output == "sigmoid":
        return softplus(z) - y * z
    top_at = np.argmax(z, axis=-1)[..., None]
    top = np.take_along_axis(z, top_at, axis=-1)
    e = np.exp(z - top)
    np.put_along_axis(e, top_at, 0, axis=-1)  # the largest term, e⁰ = 1, is log1p's 1
    return y * ((top - z) + np.log1p(np.sum(e, axis=-1, keepdims=True)))


def categorical_cross_entropy_logits(z: Array, y: Array) -> float:
    """C = (1/m) Σ_x Σ_j y_j (LSE(z) − z_j), the categorical cross-entropy of a = softmax(z)
    from z; ∂C/∂z_j = (a_j − y_j)/m for target rows that sum to 1."""
    return float(np.sum(cross_entropy_terms(z, y, "softmax")) / len(z))


def binary_cross_entropy_logits(z: Array, y: Array) -> float:
    """C = (1/m) Σ_x Σ_j [softplus(z_j) − y_j z_j], the binary cross-entropy of a = σ(z)
    from z; ∂C/∂z_j = (σ(z_j) − y_j)/m."""
    return float(np.sum(cross_entropy_terms(z, y, "sigmoid")) / len(z))


def categorical_cross_entropy(a: Array, y: Array) -> float:
    """C = −(1/m) Σ_x Σ_j y_j ln a_j, for softmax outputs, from the outputs a alone.

    A saturated output costs at most −ln(tiny); where z is at hand,
    :func:`categorical_cross_entropy_logits` gives the exact value.
    """
    return float(-np.sum(y * _safe_log(a)) / len(a))


def categorical_cross_entropy_derivative(a: Array, y: Array) -> Array:
    """∂C/∂a_j = −y_j / (m a_j)."""
    return -y / (len(a) * np.maximum(a, np.finfo(a.dtype).tiny))


def binary_cross_entropy(a: Array, y: Array) -> float:
    """C = −(1/m) Σ_x Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)], for sigmoid outputs, from a.

    A saturated output costs at most −ln(tiny); where z is at hand,
    :func:`binary_cross_entropy_logits` gives the exact value.
    """
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
    # C(z, y) from that output layer's pre-activations z: exact where a = σ(z) saturates.
    logit_value: Callable[[Array, Array], float] | None = None


QUADRATIC = Cost("quadratic", quadratic, quadratic_derivative)
CATEGORICAL_CROSS_ENTROPY = Cost(
    "cross-entropy", categorical_cross_entropy, categorical_cross_entropy_derivative, "softmax",
    categorical_cross_entropy_logits,
)  # fmt: skip
BINARY_CROSS_ENTROPY = Cost(
    "cross-entropy", binary_cross_entropy, binary_cross_entropy_derivative, "sigmoid",
    binary_cross_entropy_logits,
)  # fmt: skip
COSTS = ("quadratic", "cross-entropy")


def output_cost(cost: Cost, output: str, z: Array, a: Array, y: Array) -> float:
    """C of the outputs a = σ(z) of an ``output`` layer: from z where the cost has a form in z
    for that layer (cross-entropy), else from a (the quadratic cost, exactly as before)."""
    if cost.logit_value is not None and cost.matching_output == output:
        return cost.logit_value(z, y)
    return cost.value(a, y)


def check_cross_entropy_targets(y: Array, output: str) -> None:
    """Raise :class:`ShapeError` unless the targets are what cross-entropy compares with.

    Cross-entropy measures outputs against probabilities: each y_j must lie in [0, 1] (else
    the cost is unbounded below, with no minimum to descend to) and, for a softmax output,
    each row must sum to 1. Only then is δᴸ = (a − y)/m, which every engine uses, the
    gradient of the cost returned (for any row it is (a Σ_k y_k − y)/m). Rows are allowed a
    rounding error of 4·n_out·ε of y's dtype, as label-smoothed rows cast to float32 have.
    """
    if not y.size:
        return
    if float(np.min(y)) < 0 or float(np.max(y)) > 1:
        raise ShapeError(
            f"cross-entropy targets must lie in [0, 1], got values from {float(np.min(y)):g} "
            f"to {float(np.max(y)):g}",
            help="targets are probabilities: build them from labels with nudgenet.one_hot",
        )
    if output != "softmax":
        return
    sums = np.sum(y, axis=-1, dtype=np.float64)
    eps = float(np.finfo(y.dtype).eps) if np.issubdtype(y.dtype, np.floating) else 0.0
    bad = np.flatnonzero(np.abs(sums - 1.0) > 4 * y.shape[-1] * eps)
    if len(bad):
        raise ShapeError(
            f"softmax cross-entropy needs target rows that sum to 1, but {len(bad)} of "
            f"{len(sums)} do not (row {bad[0]} sums to {sums[bad[0]]:.6g})",
            help="targets are probability distributions: build them with nudgenet.one_hot, "
            "or divide each row by its sum",
        )


def get_cost(name: str, output: str = "sigmoid") -> Cost:
    """The cost called ``name`` for an output layer ``output`` ("sigmoid" or "softmax")."""
    if name == "quadratic":
        return QUADRATIC
    if name == "cross-entropy":
        return CATEGORICAL_CROSS_ENTROPY if output == "softmax" else BINARY_CROSS_ENTROPY
    raise ConfigError(
        f"unknown cost {name!r}; choose one of {', '.join(COSTS)}",
        help=f"--cost takes one of: {', '.join(COSTS)}",
    )


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
