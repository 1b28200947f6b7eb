"""Checking backpropagation against the definition of the derivative.

A central difference of the cost along each coordinate of θ approximates ∂C/∂θᵢ straight
from the definition of the derivative. It costs several forward passes *per parameter*,
which is why backpropagation (one backward pass for all of them) is how networks are
trained, and finite differences are how backpropagation is checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._types import Matrix, Vector
from .backprop import cost_and_gradient
from .cost import one_hot
from .errors import ConfigError
from .init import init_params
from .network import Network


def numerical_gradient(cost: Callable[[Vector], float], theta: Vector, h: float = 1e-3) -> Vector:
    """Finite-difference estimate of ∇C at θ (θ is left unchanged).

    Uses the five-point central difference
    ∂C/∂θᵢ ≈ [−C(θ+2heᵢ) + 8C(θ+heᵢ) − 8C(θ−heᵢ) + C(θ−2heᵢ)] / 12h, whose error is of order
    h⁴: with h = 1e-3 both that error and float64 round-off stay near 1e-13.

    Examples
    --------
    >>> numerical_gradient(lambda w: float((w[0] - 3) ** 2), np.array([0.0])).round(9).tolist()
    [-6.0]
    """
    theta = np.array(theta, dtype=np.float64)
    grad = np.empty_like(theta)
    for i in range(len(theta)):
        saved = theta[i]
        values = []
        for shift in (2 * h, h, -h, -2 * h):
            theta[i] = saved + shift
            values.append(cost(theta))
        theta[i] = saved
        grad[i] = (-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * h)
    return grad


def relative_error(a: Vector, b: Vector, floor: float = 1e-4) -> float:
    """The worst component's relative error, max_i |aᵢ − bᵢ| / max(|aᵢ|, |bᵢ|, s).

    s = ``floor`` × the largest component of a or b. A component far smaller than the rest is
    compared at that scale: float64 round-off in a finite difference (about 1e-13 absolute)
    cannot resolve it relative to itself, and 0/0 for exactly-zero components is avoided.
    """
    if not len(a):
        return 0.0
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))))
    denom = np.maximum(np.maximum(np.abs(a), np.abs(b)), max(floor * scale, 1e-300))
    return float(np.max(np.abs(a - b) / denom))


@dataclass(frozen=True)
class GradientCheck:
    """Backpropagation against finite differences on one network and batch."""

    network: Network
    cost: str
    init: str
    n_params: int
    max_relative_error: float
    max_absolute_error: float


def check_gradient(
    network: Network | None = None,
    *,
    cost: str = "quadratic",
    init: str = "normal",
    l2: float = 0.0,
    m: int = 8,
    rng: np.random.Generator,
) -> GradientCheck:
    """Compare backprop with finite differences on a small random network and batch, in float64.

    Examples
    --------
    >>> check = check_gradient(rng=np.random.default_rng(0))
    >>> check.max_relative_error < 1e-6
    True
    """
    network = network or Network((5, 4, 3, 3))
    for _ in range(100):
        theta = init_params(network.layout, init, rng=rng, dtype="float64")
        if init in ("constant", "xavier", "he"):
            # These schemes start with equal (zero) biases or weights. Nudge θ off them: a ReLU
            # whose input is exactly 0 sits on its kink, where no derivative exists to check.
            theta += rng.normal(0.0, 0.1, size=theta.shape)
        X = rng.uniform(0.0, 1.0, size=(m, network.sizes[0]))
        if network.activation != "relu" or _kink_distance(network, theta, X) > 0.05:
            break
    else:
        raise ConfigError(
            "could not draw a θ and batch whose ReLU inputs all stay clear of the kink at 0, "
            "where the derivative does not exist and finite differences mislead",
            help="use fewer layers or examples, another init, or another seed",
        )
    Y = one_hot(rng.integers(0, network.sizes[-1], size=m), network.sizes[-1], np.float64)
    _, analytic = cost_and_gradient(network, theta, X, Y, cost, l2=l2)
    numeric = numerical_gradient(
        lambda t: cost_and_gradient(network, t, X, Y, cost, l2=l2)[0], theta
    )
    return GradientCheck(
        network,
        cost,
        init,
        network.n_params,
        relative_error(analytic, numeric),
        float(np.max(np.abs(analytic - numeric))),
    )


def _kink_distance(network: Network, theta: Vector, X: Matrix) -> float:
    """Smallest |z| over the hidden units: how far the batch sits from ReLU's kink at 0.

    The finite difference moves θ by up to 2h = 2e-3; a unit that crosses z = 0 meanwhile
    would make the estimate wrong, not the gradient.
    """
    a, smallest = X, np.inf
    for W, b in network.layout.views(theta)[:-1]:
        z = a @ W.T + b  # (m, n_out)
        smallest = min(smallest, float(np.min(np.abs(z))))
        a = network.hidden.function(z)
    return smallest
