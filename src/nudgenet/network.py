"""The network as a function: 784 pixels in, 10 numbers out, shaped by θ.

Rows of X are examples. Layer l computes

    zˡ = aˡ⁻¹ Wˡᵀ + bˡ        aˡ = σ(zˡ)

with the hidden activation σ on every layer but the last, which uses the output activation
(sigmoid, as in the seed, or softmax). ``feedforward`` returns every layer's activations,
which is what backpropagation needs; ``predict`` returns the guessed digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from ._types import Array, Matrix, Vector
from .activations import ACTIVATIONS, OUTPUTS, Activation, get_activation
from .errors import ShapeError
from .layout import SEED_SIZES, Layout


@dataclass(frozen=True)
class Network:
    """The architecture: layer sizes and activations; the numbers themselves live in θ.

    Examples
    --------
    >>> Network().n_params  # the seed's 784-16-16-10 network
    13002
    """

    sizes: tuple[int, ...] = SEED_SIZES
    activation: str = "sigmoid"  # hidden layers: sigmoid | tanh | relu
    output: str = "sigmoid"  # output layer: sigmoid | softmax

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", Layout(tuple(self.sizes)).sizes)
        get_activation(self.activation)
        get_activation(self.output, output=True)

    @cached_property
    def layout(self) -> Layout:
        """Where each layer's W and b sit in θ."""
        return Layout(self.sizes)

    @property
    def n_params(self) -> int:
        """Length of θ: all weights and biases."""
        return self.layout.n_params

    @property
    def hidden(self) -> Activation:
        """The activation of the hidden layers."""
        return ACTIVATIONS[self.activation]

    @property
    def out(self) -> Activation:
        """The activation of the output layer."""
        return OUTPUTS[self.output]

    def check_inputs(self, X: Matrix, what: str = "X") -> None:
        """Raise :class:`ShapeError` unless X is (m, n_inputs) with finite values."""
        n_in = self.sizes[0]
        if not isinstance(X, np.ndarray) or X.ndim != 2 or X.shape[1] != n_in:
            got = getattr(X, "shape", type(X).__name__)
            hint = " (28×28 pixels)" if n_in == 784 else ""
            raise ShapeError(
                f"{what} must have shape (m, {n_in}): one row of {n_in} inputs{hint} per "
                f"example, got shape {got}",
                help="flatten each image to one row, e.g. images.reshape(len(images), -1) / 255",
            )
        # NaN propagates through min and max, and ±inf would be one of them: all values are
        # finite exactly when both are. Unlike np.isfinite(X) this allocates nothing (a
        # boolean copy of full MNIST is 47 MB).
        if X.size and not (np.isfinite(X.min()) and np.isfinite(X.max())):
            raise ShapeError(
                f"{what} contains NaN or infinite values",
                help="check how the inputs were made; pixels should be scaled to [0, 1]",
            )


def feedforward(network: Network, theta: Vector, X: Matrix) -> list[Matrix]:
    """Activations of every layer, input first: [X, a¹, …, aᴸ].

    Parameters
    ----------
    network : Network
    theta : ndarray of shape (n_params,)
    X : ndarray of shape (m, sizes[0])

    Returns
    -------
    list of ndarrays of shapes (m, sizes[l]) for l = 0..L
    """
    network.check_inputs(X)
    return _feedforward(network, theta, X)


def _feedforward(network: Network, theta: Vector, X: Matrix) -> list[Matrix]:
    """:func:`feedforward` without input checks, for loops that checked X once up front."""
    return _forward(network, theta, X)[0]


def _forward(network: Network, theta: Vector, X: Matrix) -> tuple[list[Matrix], Matrix]:
    """[X, a¹, …, aᴸ] as :func:`_feedforward`, and the output layer's pre-activations zᴸ.

    The cross-entropy is computed from zᴸ (see :mod:`nudgenet.cost`); keeping it costs
    nothing, since σ(z) is a new array.
    """
    views = network.layout.views(theta)
    activations = [X.astype(theta.dtype, copy=False)]
    z = activations[0]
    for l, (W, b) in enumerate(views, 1):
        z = activations[-1] @ W.T  # (m, n_in) @ (n_in, n_out) -> (m, n_out)
        z += b
        sigma = network.out if l == len(views) else network.hidden
        activations.append(sigma.function(z))
    return activations, z


def output(network: Network, theta: Vector, X: Matrix) -> Matrix:
    """The output layer's activations aᴸ, shape (m, sizes[-1])."""
    return feedforward(network, theta, X)[-1]


def predict(network: Network, theta: Vector, X: Matrix) -> NDArray[np.intp]:
    """The guessed class of each example: the index of the brightest output neuron."""
    return np.argmax(output(network, theta, X), axis=1)


def probabilities(network: Network, theta: Vector, X: Matrix) -> Matrix:
    """Output activations scaled to sum to 1 per example.

    For a softmax output these are the network's probabilities; for sigmoid outputs, which
    need not sum to 1, they are the activations normalised, a reading of the network's
    relative confidence.
    """
    a = output(network, theta, X)
    return a / np.maximum(a.sum(axis=1, keepdims=True), np.finfo(a.dtype).tiny)


def accuracy(network: Network, theta: Vector, X: Matrix, labels: Array) -> float:
    """Fraction of examples whose guess equals the label."""
    return float(np.mean(predict(network, theta, X) == np.asarray(labels)))
