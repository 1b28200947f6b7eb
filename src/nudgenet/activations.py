"""Activation functions σ and their derivatives, side by side.

Each derivative is written in terms of the activation's *output* a = σ(z), which is what
backpropagation already holds: σ′ = a(1 − a) for the sigmoid, 1 − a² for tanh, [a > 0] for
ReLU; the second derivatives σ″ that the Hessian needs are written the same way. The softmax
output layer couples its outputs, so it is handled in ``backprop``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ._types import Array
from .errors import ConfigError


def sigmoid(z: Array) -> Array:
    """σ(z) = 1 / (1 + e^(−z)), computed without overflow for any z.

    e^(−|z|) never overflows; for z ≥ 0 σ = 1/(1+e^(−z)) and for z < 0 σ = e^z/(1+e^z).

    Examples
    --------
    >>> sigmoid(np.array([-1000.0, 0.0, 1000.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def sigmoid_prime(a: Array) -> Array:
    """σ′(z) = σ(z)(1 − σ(z)), from a = σ(z)."""
    return a * (1.0 - a)


def sigmoid_second(a: Array) -> Array:
    """σ″(z) = σ′(z)(1 − 2σ(z)), from a = σ(z); the curvature (Hessian) needs it."""
    return a * (1.0 - a) * (1.0 - 2.0 * a)


def tanh(z: Array) -> Array:
    """tanh(z), bounded in (−1, 1)."""
    return np.tanh(z)


def tanh_prime(a: Array) -> Array:
    """tanh′(z) = 1 − tanh²(z), from a = tanh(z)."""
    return 1.0 - a * a


def tanh_second(a: Array) -> Array:
    """tanh″(z) = −2 tanh(z)(1 − tanh²(z)), from a = tanh(z)."""
    return -2.0 * a * (1.0 - a * a)


def relu(z: Array) -> Array:
    """max(0, z)."""
    return np.maximum(z, 0.0)


def relu_prime(a: Array) -> Array:
    """1 where the unit is active (z > 0, i.e. a > 0), else 0."""
    return (a > 0).astype(a.dtype)


def relu_second(a: Array) -> Array:
    """0 everywhere but the kink at z = 0, where no derivative exists: ReLU is piecewise
    linear, so it bends nothing."""
    return np.zeros_like(a)


def softmax(z: Array) -> Array:
    """Softmax over the last axis: e^(z_j) / Σ_k e^(z_k), shifted by the max to avoid overflow.

    Examples
    --------
    >>> softmax(np.array([[1000.0, 1000.0]])).tolist()
    [[0.5, 0.5]]
    """
    with np.errstate(over="ignore"):  # z_j − max = −inf only where e^(z_j − max) is 0 anyway
        e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class Activation(NamedTuple):
    """An activation function and its derivative (written in terms of the output a)."""

    name: str
    function: Callable[[Array], Array]
    derivative: Callable[[Array], Array] | None  # None: not elementwise (softmax)


ACTIVATIONS = {
    "sigmoid": Activation("sigmoid", sigmoid, sigmoid_prime),
    "tanh": Activation("tanh", tanh, tanh_prime),
    "relu": Activation("relu", relu, relu_prime),
}
#: σ″ of each elementwise activation, in terms of a = σ(z), beside σ′ for the Hessian.
SECOND_DERIVATIVES: dict[str, Callable[[Array], Array]] = {
    "sigmoid": sigmoid_second,
    "tanh": tanh_second,
    "relu": relu_second,
}
OUTPUTS = {
    "sigmoid": ACTIVATIONS["sigmoid"],
    "softmax": Activation("softmax", softmax, None),
}


def get_activation(name: str, *, output: bool = False) -> Activation:
    """Look up a hidden-layer (or, with ``output=True``, output-layer) activation by name."""
    table = OUTPUTS if output else ACTIVATIONS
    if name not in table:
        where = "output layer" if output else "hidden layers"
        raise ConfigError(
            f"unknown activation {name!r} for the {where}; choose one of {', '.join(table)}",
            help=f"--{'output' if output else 'activation'} takes one of: {', '.join(table)}",
        )
    return table[name]
