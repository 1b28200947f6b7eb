"""Backpropagation, frame by frame: every number of one backward pass, layer by layer.

:func:`nudgenet.backprop.cost_and_gradient` computes ∇C and keeps only the result. This lesson
keeps the frames: for one example (or each example of a mini-batch) it returns, per layer,

    zˡ = Wˡ aˡ⁻¹ + bˡ      aˡ = σ(zˡ)      σ′(zˡ)                       (forward pass)
    ∂C/∂aᴸ from the cost          ∂C/∂aˡ = (Wˡ⁺¹)ᵀ δˡ⁺¹                   (what layer l is asked)
    δˡ = ∂C/∂zˡ = ∂C/∂aˡ ⊙ σ′(zˡ)                                         (its error)
    ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ    ∂C/∂bˡ = δˡ                                    (its gradient)

so a single weight's slope reads as the chain rule of the note,
∂C/∂wˡⱼₖ = aˡ⁻¹ₖ · σ′(zˡⱼ) · ∂C/∂aˡⱼ. A softmax output couples its neurons, so there is no
elementwise σ′ for it: δᴸⱼ = aⱼ (gⱼ − Σₖ gₖ aₖ) with g = ∂C/∂aᴸ, and ``sigma_prime`` is None.

An example's own cost Cₓ (for the seed's cost, Σⱼ (aⱼ − yⱼ)²) has these gradients; the cost
of a mini-batch is their average, C = (1/m) Σₓ Cₓ, and so is its gradient: what
:func:`walk_batch` returns beside each example's own. Both equal what ``cost_and_gradient``
computes (the tests check every activation, output and cost in float64). Weight decay is
not part of the walk: it is a term of the cost, not of backpropagation.

Notation as in :mod:`nudgenet.layout`: layers are numbered 1..L from the first weight layer,
W has shape (n_out, n_in), and the input x is a⁰.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._types import Matrix, Vector
from ..backprop import check_targets, evaluate_cost, output_error
from ..cost import get_cost, output_cost
from ..errors import ConfigError
from ..gradcheck import numerical_gradient, relative_error
from ..network import Network

RELATIVE_FLOOR = 1e-4  # as nudgenet.gradcheck.relative_error's floor
MAX_WALK_EXAMPLES = 1000
"""Most examples one :func:`walk_batch` keeps the per-example gradients of: each holds a
copy of ∇C (13,002 floats for the seed network, 100 MB for 1,000 examples)."""


@dataclass(frozen=True)
class LayerFrame:
    """One layer of one example's backward pass (layer numbers from 1; the output is L)."""

    layer: int
    a_in: Vector  # aˡ⁻¹, (n_in,): the input x for layer 1
    z: Vector  # zˡ = Wˡ aˡ⁻¹ + bˡ, (n_out,)
    a: Vector  # aˡ = σ(zˡ), (n_out,)
    sigma_prime: Vector | None  # σ′(zˡ), (n_out,); None for a softmax output
    cost_wrt_a: Vector  # ∂C/∂aˡ, (n_out,)
    delta: Vector  # δˡ = ∂C/∂zˡ, (n_out,)
    grad_W: Matrix  # ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ, (n_out, n_in)

    @property
    def grad_b(self) -> Vector:
        """∂C/∂bˡ = δˡ."""
        return self.delta

    def largest(self) -> tuple[int, int, float]:
        """(j, k, ∂C/∂Wˡⱼₖ) of the weight with the largest |∂C/∂w| (the first, on ties)."""
        j, k = np.unravel_index(int(np.argmax(np.abs(self.grad_W))), self.grad_W.shape)
        return int(j), int(k), float(self.grad_W[j, k])


@dataclass(frozen=True)
class Walk:
    """One example's forward and backward pass: its cost and every layer's frame."""

    network: Network
    cost_function: str
    x: Vector  # (n_inputs,)
    y: Vector  # the target, (n_outputs,)
    cost: float  # this example's own cost Cₓ
    layers: tuple[LayerFrame, ...]  # layer 1 first; the backward pass reads them in reverse

    @property
    def output(self) -> Vector:
        """aᴸ, the network's outputs for this example."""
        return self.layers[-1].a

    def gradient(self) -> Vector:
        """∇Cₓ as one flat vector of θ's layout, [∂C/∂W¹, ∂C/∂b¹, …]."""
        return _flatten(self.network, [(f.grad_W, f.grad_b) for f in self.layers])


@dataclass(frozen=True)
class BatchWalk:
    """A mini-batch's walks: each example's gradient, and their average, the batch's ∇C."""

    walks: tuple[Walk, ...]
    gradients: Matrix  # (m, n_params): row i is ∇Cₓ of example i
    cost: float  # C = (1/m) Σₓ Cₓ
    gradient: Vector  # ∇C = (1/m) Σₓ ∇Cₓ, (n_params,)


def walk_batch(
    network: Network, theta: Vector, X: Matrix, Y: Matrix, cost: str = "quadratic"
) -> BatchWalk:
    """Backpropagation on each example of (X, Y) on its own, all frames kept, and the average.

    Vectorised over the batch: row i of every array belongs to example i, whose error
    δᴸ = ∂Cₓ/∂zᴸ is that of its own cost (the batch's is δᴸ/m).

    Parameters
    ----------
    network : Network
    theta : ndarray of shape (n_params,)
    X : ndarray of shape (m, sizes[0]), 1 ≤ m ≤ MAX_WALK_EXAMPLES
    Y : ndarray of shape (m, sizes[-1]), the targets (one-hot for digits)
    cost : "quadratic" (the seed's) or "cross-entropy"

    Examples
    --------
    >>> net = Network((1, 1))
    >>> batch = walk_batch(net, np.zeros(2), np.array([[1.0], [0.0]]), np.array([[1.0], [0.0]]))
    >>> batch.gradients.tolist(), batch.gradient.tolist()  # δ = 2(0.5 − y)·σ′(0) = ∓0.25
    ([[-0.25, -0.25], [0.0, 0.25]], [-0.125, 0.0])
    """
    network.layout.check(theta)
    network.check_inputs(X)
    check_targets(network, X, Y, cost)
    m = len(X)
    if not 1 <= m <= MAX_WALK_EXAMPLES:
        raise ConfigError(
            f"a walk takes 1 to {MAX_WALK_EXAMPLES:,} examples, got {m:,}",
            help="each example keeps its own copy of the gradient: walk fewer at once",
        )
    views = network.layout.views(theta)
    Y = Y.astype(theta.dtype, copy=False)
    a_list, z_list = _forward_pass(network, views, X.astype(theta.dtype, copy=False))
    c = get_cost(cost, network.output)
    a_out = a_list[-1]
    costs = [output_cost(c, network.output, z_list[-1][i : i + 1], a_out[i : i + 1], Y[i : i + 1])
             for i in range(m)]  # fmt: skip
    # Each example's own error: the batch's δᴸ carries 1/m, its own does not.
    delta = output_error(network, cost, a_out, Y) * m  # (m, n_out)
    g = c.derivative(a_out, Y) * m  # ∂Cₓ/∂aᴸ, (m, n_out)
    frames: list[dict[str, Any]] = []
    for l in range(len(views), 0, -1):
        sigma = network.out if l == len(views) else network.hidden
        a_in, a = a_list[l - 1], a_list[l]
        sp = None if sigma.derivative is None else sigma.derivative(a)
        if l < len(views):
            g = delta @ views[l][0]  # ∂C/∂aˡ = δˡ⁺¹ Wˡ⁺¹: (m, n_next) @ (n_next, n_out)
            delta = g * sp  # type: ignore[operator]
        grad_W = delta[:, :, None] * a_in[:, None, :]  # δ aᵀ per example: (m, n_out, n_in)
        frames.append({"layer": l, "a_in": a_in, "z": z_list[l - 1], "a": a, "sigma_prime": sp,
                       "cost_wrt_a": g, "delta": delta, "grad_W": grad_W})  # fmt: skip
    frames.reverse()
    walks = tuple(
        Walk(network, cost, a_list[0][i], Y[i], float(costs[i]), _example_frames(frames, i))
        for i in range(m)
    )
    gradients = np.stack([w.gradient() for w in walks])  # (m, n_params)
    return BatchWalk(walks, gradients, float(np.mean(costs)), gradients.mean(axis=0))


def _forward_pass(
    network: Network, views: list[tuple[Matrix, Vector]], X: Matrix
) -> tuple[list[Matrix], list[Matrix]]:
    """[X, a¹, …, aᴸ] and [z¹, …, zᴸ], each (m, n) with one row per example."""
    a_list, z_list = [X], []
    for l, (W, b) in enumerate(views, 1):
        z = a_list[-1] @ W.T + b  # (m, n_in) @ (n_in, n_out) -> (m, n_out)
        sigma = network.out if l == len(views) else network.hidden
        z_list.append(z)
        a_list.append(sigma.function(z))
    return a_list, z_list


def _example_frames(frames: list[dict[str, Any]], i: int) -> tuple[LayerFrame, ...]:
    """Example i's rows of the batch's frames (layer 1 first)."""
    return tuple(
        LayerFrame(**{k: (v if k == "layer" or v is None else v[i]) for k, v in f.items()})
        for f in frames
    )


def walk_example(
    network: Network, theta: Vector, x: Vector, y: Vector, cost: str = "quadratic"
) -> Walk:
    """One example's backward pass, every frame kept: :func:`walk_batch` of a batch of one.

    Parameters
    ----------
    x : ndarray of shape (sizes[0],)
    y : ndarray of shape (sizes[-1],), the target (e.g. ``one_hot([label])[0]``)

    Examples
    --------
    >>> net = Network((1, 1))
    >>> walk = walk_example(net, np.zeros(2), np.array([1.0]), np.array([1.0]))
    >>> [(f.cost_wrt_a.tolist(), f.sigma_prime.tolist(), f.delta.tolist()) for f in walk.layers]
    [([-1.0], [0.25], [-0.25])]
    """
    return walk_batch(network, theta, np.asarray(x)[None], np.asarray(y)[None], cost).walks[0]


def check_layers(walk: Walk, theta: Vector, h: float = 1e-3) -> list[float]:
    """Each layer's gradient against finite differences of Cₓ: the worst relative error per
    layer, layer 1 first.

    The measure is :func:`nudgenet.gradcheck.relative_error` over all of θ, as
    ``nudgenet gradcheck`` reports it: |aᵢ − bᵢ| / max(|aᵢ|, |bᵢ|, 1e-4 · the largest component
    of ∇Cₓ), here read layer by layer, so the largest of the per-layer errors is the whole
    gradient's. A layer whose slopes are all tiny (a first layer behind saturated sigmoids) is
    compared at the gradient's scale, where float64 round-off in Cₓ (about 1e-13 in a finite
    difference) cannot pass for a disagreement. Each parameter costs four forward passes of
    the one example: 13,002 × 4 for the seed network, a second or two.
    """
    net = walk.network
    theta64 = np.asarray(theta, dtype=np.float64)
    X, Y = walk.x.astype(np.float64)[None], walk.y.astype(np.float64)[None]

    def cost(t: Vector) -> float:
        return evaluate_cost(net, t, X, Y, walk.cost_function)

    numeric = numerical_gradient(cost, theta64, h)
    analytic = walk.gradient().astype(np.float64)
    scale = max(float(np.max(np.abs(analytic))), float(np.max(np.abs(numeric))))
    offsets = net.layout.offsets
    errors = []
    for l in range(net.layout.n_layers):
        a, b = analytic[offsets[l] : offsets[l + 1]], numeric[offsets[l] : offsets[l + 1]]
        part = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))))
        # relative_error scales its floor by the part's largest value: rescale it to ∇Cₓ's.
        errors.append(relative_error(a, b, RELATIVE_FLOOR * scale / part) if part else 0.0)
    return errors


def _flatten(network: Network, grads: list[tuple[Matrix, Vector]]) -> Vector:
    """Per-layer (∂C/∂W, ∂C/∂b) written into one vector through θ's views."""
    dtype = grads[0][0].dtype
    flat = np.empty(network.n_params, dtype=dtype)
    for (dW, db), (gW, gb) in zip(network.layout.views(flat), grads, strict=True):
        dW[...] = gW
        db[...] = gb
    return flat
