"""Backpropagation: the gradient ∇C of the cost with respect to every entry of θ.

Vectorised over a mini-batch (rows of X are examples; no loop over examples):

    δᴸ = ∂C/∂aᴸ ⊙ σ′(zᴸ)                    (output error; (a − y)/m for a matching cost)
    δˡ = (δˡ⁺¹ Wˡ⁺¹) ⊙ σ′(zˡ)                (error moved back one layer)
    ∂C/∂Wˡ = δˡᵀ aˡ⁻¹      ∂C/∂bˡ = Σ_x δˡ    (summed over the batch)

The 1/m of the averaged cost lives inside δᴸ, so the sums above are already averages.
The cost's value is read from the output layer's pre-activations zᴸ for cross-entropy
(exact where a saturates, see :mod:`nudgenet.cost`), from aᴸ for the quadratic cost.
The gradient is written into a vector of θ's shape through the same per-layer views, so
the update reads θ ← θ − η∇C.
"""

from __future__ import annotations

import numpy as np

from ._types import Matrix, Vector
from .cost import check_cross_entropy_targets, get_cost, output_cost
from .errors import ShapeError
from .network import Network, _forward


def check_targets(network: Network, X: Matrix, Y: Matrix, cost: str = "quadratic") -> None:
    """Raise :class:`ShapeError` unless Y is finite and (m, n_outputs) to match X's rows, and,
    for cross-entropy, probabilities (see :func:`~nudgenet.cost.check_cross_entropy_targets`)."""
    n_out = network.sizes[-1]
    if not isinstance(Y, np.ndarray) or Y.shape != (len(X), n_out):
        got = getattr(Y, "shape", type(Y).__name__)
        raise ShapeError(
            f"Y must have shape ({len(X)}, {n_out}): one target row per example of X, "
            f"got shape {got}",
            help="turn labels into one-hot targets with nudgenet.one_hot(labels)",
        )
    if not np.all(np.isfinite(Y)):
        raise ShapeError(
            "Y contains NaN or infinite values",
            help="targets are one-hot rows of 0s and a 1: build them with nudgenet.one_hot",
        )
    if get_cost(cost, network.output).matching_output is not None:
        check_cross_entropy_targets(Y, network.output)


def output_error(network: Network, cost: str, a: Matrix, Y: Matrix) -> Matrix:
    """δᴸ = ∂C/∂zᴸ, shape (m, n_out)."""
    c = get_cost(cost, network.output)
    if c.matching_output == network.output:
        # Cross-entropy with its own output layer: the σ′ cancels, leaving (a − y)/m.
        return (a - Y) / len(a)
    g = c.derivative(a, Y)  # ∂C/∂a, (m, n_out)
    if network.out.derivative is not None:
        return g * network.out.derivative(a)
    # Softmax Jacobian–vector product: ∂C/∂z_j = a_j (g_j − Σ_k g_k a_k).
    return a * (g - np.sum(g * a, axis=1, keepdims=True))


def cost_and_gradient(
    network: Network,
    theta: Vector,
    X: Matrix,
    Y: Matrix,
    cost: str = "quadratic",
    *,
    l2: float = 0.0,
    out: Vector | None = None,
) -> tuple[float, Vector]:
    """The cost C(θ) on the batch (X, Y) and its gradient ∇C, by backpropagation.

    Parameters
    ----------
    network : Network
    theta : ndarray of shape (n_params,)
    X : ndarray of shape (m, sizes[0])
    Y : ndarray of shape (m, sizes[-1]), the targets (one-hot for digits)
    cost : "quadratic" (the seed's) or "cross-entropy"
    l2 : float
        Weight decay λ ≥ 0: adds (λ/2)‖W‖² over the weights (not the biases) to C, and λW to
        the gradient.
    out : ndarray of shape (n_params,), optional
        Where to write the gradient (saves an allocation per step).

    Returns
    -------
    (C, grad) : float and ndarray of θ's shape and dtype

    Examples
    --------
    >>> net = Network((1, 1))
    >>> theta = np.array([0.0, 0.0])  # w = 0, b = 0, so a = σ(0) = 0.5
    >>> C, grad = cost_and_gradient(net, theta, np.array([[1.0]]), np.array([[1.0]]))
    >>> C, grad.tolist()  # C = (0.5 − 1)², ∂C/∂b = 2(0.5 − 1)·σ′(0) = −0.25
    (0.25, [-0.25, -0.25])
    """
    network.check_inputs(X)
    check_targets(network, X, Y, cost)
    return _cost_and_gradient(network, theta, X, Y, cost, l2=l2, out=out)


def _cost_and_gradient(
    network: Network,
    theta: Vector,
    X: Matrix,
    Y: Matrix,
    cost: str = "quadratic",
    *,
    l2: float = 0.0,
    out: Vector | None = None,
) -> tuple[float, Vector]:
    """:func:`cost_and_gradient` without input checks, for loops that checked once up front."""
    layout = network.layout
    activations, z = _forward(network, theta, X)
    Y = Y.astype(theta.dtype, copy=False)
    a = activations[-1]
    C = output_cost(get_cost(cost, network.output), network.output, z, a, Y)
    grad = np.empty_like(theta) if out is None else out
    weights = layout.views(theta)
    grads = layout.views(grad)
    delta = output_error(network, cost, a, Y)  # δᴸ, (m, n_out)
    for l in range(layout.n_layers - 1, -1, -1):
        dW, db = grads[l]
        np.matmul(delta.T, activations[l], out=dW)  # (n_out, m) @ (m, n_in) -> (n_out, n_in)
        np.sum(delta, axis=0, out=db)
        if l > 0:
            W = weights[l][0]
            delta = delta @ W  # (m, n_out) @ (n_out, n_in) -> (m, n_in)
            delta *= network.hidden.derivative(activations[l])  # type: ignore[misc]
    if l2:
        C += l2_term(network, theta, l2)
        for (W, _), (dW, _) in zip(weights, grads, strict=True):
            dW += l2 * W
    return C, grad


def l2_term(network: Network, theta: Vector, l2: float) -> float:
    """(λ/2)‖W‖², the weight decay added to the cost, over the weights (not the biases);
    its gradient is λW."""
    return 0.5 * l2 * sum(float(np.vdot(W, W)) for W, _ in network.layout.views(theta))


def evaluate_cost(
    network: Network, theta: Vector, X: Matrix, Y: Matrix, cost: str = "quadratic"
) -> float:
    """The cost C(θ) on (X, Y) without the gradient (one forward pass)."""
    network.check_inputs(X)
    check_targets(network, X, Y, cost)
    activations, z = _forward(network, theta, X)
    a = activations[-1]
    return output_cost(get_cost(cost, network.output), network.output, z, a,
                       Y.astype(a.dtype, copy=False))  # fmt: skip
