"""The network as a function of its pixels: θ held fixed, the 784 inputs free.

Backpropagation usually stops at the weights; one step further it reaches the pixels. With
δˡ = ∂(·)/∂zˡ of shape (m, n_l), as in :mod:`nudgenet.backprop`,

    δˡ⁻¹ = (δˡ Wˡ) ⊙ σ′(zˡ⁻¹)        ∂(·)/∂x = δ¹ W¹   (m, n_1) @ (n_1, 784) -> (m, 784)

so the same equations that say how a weight should move say how a pixel should move. The
lessons that ask "which input does the network want?" (the input that excites a hidden
neuron most, the dreamed digit) descend on x with these gradients; θ is never changed.
"""

from __future__ import annotations

from .._types import Matrix, Vector
from ..backprop import output_error
from ..cost import get_cost, output_cost
from ..network import Network, _forward

__all__ = ["cost_and_pixel_gradient", "pixel_gradient"]


def pixel_gradient(
    network: Network, theta: Vector, activations: list[Matrix], layer: int, delta: Matrix
) -> Matrix:
    """Carry δ = ∂(·)/∂z at layer ``layer`` (1 = first hidden) back to the pixels.

    Parameters
    ----------
    network : Network
    theta : ndarray of shape (n_params,)
    activations : list of ndarrays, [X, a¹, …, aᴸ] from a forward pass at θ
    layer : int, 1..L
    delta : ndarray of shape (m, sizes[layer])

    Returns
    -------
    ndarray of shape (m, sizes[0]): ∂(·)/∂x for each row of X
    """
    views = network.layout.views(theta)
    for l in range(layer, 0, -1):
        W = views[l - 1][0]
        delta = delta @ W  # (m, n_l) @ (n_l, n_{l-1}) -> (m, n_{l-1})
        if l > 1:
            delta *= network.hidden.derivative(activations[l - 1])  # type: ignore[misc]
    return delta


def cost_and_pixel_gradient(
    network: Network, theta: Vector, X: Matrix, Y: Matrix, cost: str = "quadratic"
) -> tuple[float, Matrix]:
    """The cost C(x) of the inputs X against targets Y, and ∂C/∂X, θ fixed.

    The same cost as training (averaged over the rows of X), differentiated in the pixels.

    Examples
    --------
    >>> import numpy as np
    >>> net = Network((1, 1))
    >>> C, g = cost_and_pixel_gradient(net, np.array([1.0, 0.0]), np.array([[0.0]]),
    ...                                np.array([[1.0]]))
    >>> C, g.tolist()  # a = σ(w·0) = 0.5; ∂C/∂x = 2(a − 1)·σ′(0)·w = −0.25
    (0.25, [[-0.25]])
    """
    activations, z = _forward(network, theta, X)
    a = activations[-1]
    Y = Y.astype(a.dtype, copy=False)
    C = output_cost(get_cost(cost, network.output), network.output, z, a, Y)
    delta = output_error(network, cost, a, Y)  # δᴸ, (m, n_out)
    return float(C), pixel_gradient(network, theta, activations, network.layout.n_layers, delta)
