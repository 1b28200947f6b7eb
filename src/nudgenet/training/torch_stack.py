"""A stack of networks on PyTorch: ``nudgenet sweep --device cuda`` (or ``torch-cpu``).

The same mathematics as the stacked reference engine (:mod:`nudgenet.training.stacked`),
written with PyTorch's batched products so that it runs where PyTorch runs: on an NVIDIA
GPU, or on the CPU, where the tests check it against ``train``. Notation as there: Θ has
shape (K, n_params), row k is member k's θ; per-layer views W (K, n_out, n_in) and b
(K, n_out) share Θ's memory::

    zˡ = aˡ⁻¹ Wˡᵀ + bˡ                   (K, m, n_in) @ (K, n_in, n_out) -> (K, m, n_out)
    ∂C/∂Wˡ = δˡᵀ aˡ⁻¹                     (K, n_out, m) @ (K, m, n_in) -> (K, n_out, n_in)
    v ← μv − η∇C,  Θ ← Θ + v              (or Θ ← Θ − η∇C), one η per member

Each member sees its own batches (``X[idx]`` with idx of shape (K, m), its seed's shuffle),
its own schedule, momentum, L2 and divergence limit; a member that diverges is frozen, as in
the stacked engines. The evaluation after every epoch shares the examples: the first layer
of every member is one wide product, in blocks of rows.

PyTorch is optional (``pip install torch``); it is imported only when this back end runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._types import Array, Matrix
from ..descent import DIVERGENCE_FACTOR, divergence_threshold
from ..errors import ConfigError
from ..network import Network
from .loop import steps_per_epoch

DEVICES = ("cuda", "torch-cpu")
"""The devices of this back end: PyTorch on an NVIDIA GPU, or PyTorch on the CPU."""


@functools.cache
def _torch() -> ModuleType | str:
    try:
        import torch
    except ImportError:
        return "it needs PyTorch, which is not installed (pip install torch)"
    return torch


def device_of(name: str) -> Any:
    """The ``torch.device`` of a device name; raises :class:`ConfigError` where it cannot run."""
    torch = _torch()
    if isinstance(torch, str):
        raise ConfigError(f"--device {name} cannot run: {torch}",
                          help="install PyTorch, or leave --device at cpu")  # fmt: skip
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "--device cuda cannot run: PyTorch finds no CUDA GPU on this machine",
            help="use --device cpu (nudgenet's own engines), or torch-cpu",
        )
    return torch.device("cuda" if name == "cuda" else "cpu")


class _Math:
    """The per-layer views, activations, costs and output errors in PyTorch."""

    def __init__(self, torch: ModuleType, network: Network, cost: str) -> None:
        self.torch, self.network, self.cost = torch, network, cost
        hidden = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}
        self.hidden = hidden[network.activation]
        self.output = {"sigmoid": torch.sigmoid, "softmax": lambda z: torch.softmax(z, -1)}[
            network.output
        ]

    def views(self, Theta: Any) -> list[tuple[Any, Any]]:
        """Per-layer (W, b) views into Θ: (K, n_out, n_in) and (K, n_out)."""
        K, out = Theta.shape[0], []
        layout = self.network.layout
        for ((n_out, n_in), _), start in zip(layout.shapes, layout.offsets[:-1], strict=True):
            n_w = n_out * n_in
            out.append((Theta[:, start : start + n_w].view(K, n_out, n_in),
                        Theta[:, start + n_w : start + n_w + n_out]))  # fmt: skip
        return out

    def hidden_prime(self, a: Any) -> Any:
        """σ′ from a = σ(z), as ``activations.py``."""
        name = self.network.activation
        if name == "sigmoid":
            return a * (1 - a)
        if name == "tanh":
            return 1 - a * a
        return (a > 0).to(a.dtype)

    def costs(self, z: Any, a: Any, Y: Any) -> Any:
        """Each member's summed cost over its rows, (K,): quadratic from a, cross-entropy
        from z (exact where a saturates), as :func:`~nudgenet.cost.cross_entropy_terms`."""
        torch = self.torch
        if self.cost == "quadratic":
            return ((a - Y) ** 2).sum(dim=(1, 2))
        if self.network.output == "sigmoid":  # softplus(z) − y z
            return (torch.nn.functional.softplus(z) - Y * z).sum(dim=(1, 2))
        return (Y * (torch.logsumexp(z, dim=-1, keepdim=True) - z)).sum(dim=(1, 2))

    def output_error(self, a: Any, Y: Any, m: int) -> Any:
        """δᴸ = ∂C/∂zᴸ, (K, m, n_out), as :func:`~nudgenet.backprop.output_error`."""
        if self.cost == "cross-entropy":
            return (a - Y) / m  # with its own output layer: σ′ cancels
        g = (2.0 / m) * (a - Y)  # the seed's cost, no ½
        if self.network.output == "sigmoid":
            return g * a * (1 - a)
        return a * (g - (g * a).sum(dim=-1, keepdim=True))  # the softmax Jacobian

    def forward(self, views: list[tuple[Any, Any]], X: Any) -> tuple[list[Any], Any]:
        """[X, a¹, …, aᴸ] and zᴸ; X is (K, m, n_in), or (m, n_in) shared by every member.

        Shared rows make the first layer one wide product, X (W¹₁; …; W¹_K)ᵀ, rather than K
        thin ones (and never copy X K times).
        """
        acts, z = [X], X
        for l, (W, b) in enumerate(views):
            if acts[-1].dim() == 2:
                K, n_out, n_in = W.shape
                wide = acts[-1] @ W.reshape(K * n_out, n_in).T  # (m, n_in) @ (n_in, K·n_out)
                z = wide.view(-1, K, n_out).transpose(0, 1) + b[:, None, :]  # (K, m, n_out)
            else:
                z = self.torch.baddbmm(b[:, None, :], acts[-1], W.transpose(1, 2))
            acts.append((self.output if l == len(views) - 1 else self.hidden)(z))
        return acts, z

    def cost_and_gradient(self, Theta: Any, X: Any, Y: Any, l2: Any, grad: Any) -> Any:
        """Each member's cost on its batch, (K,), with the L2 term; its gradient into ``grad``."""
        views = self.views(Theta)
        acts, z = self.forward(views, X)
        m = X.shape[-2]
        costs = self.costs(z, acts[-1], Y) / m
        delta = self.output_error(acts[-1], Y, m)
        for l, ((W, _), (dW, db)) in reversed(list(enumerate(zip(views, self.views(grad),
                                                                 strict=True)))):  # fmt: skip
            # (K, n_out, m) @ (K, m, n_in), or @ (m, n_in) shared: one product for all
            dW.copy_(self.torch.matmul(delta.transpose(1, 2), acts[l]))
            self.torch.sum(delta, dim=1, out=db)
            if l > 0:
                delta = self.torch.bmm(delta, W) * self.hidden_prime(acts[l])
        squares = sum((W * W).sum(dim=(1, 2)) for W, _ in views)
        for (W, _), (dW, _) in zip(views, self.views(grad), strict=True):
            dW += l2[:, None, None] * W  # λW
        return costs + 0.5 * l2 * squares  # (λ/2)‖W‖²


def epochs(
    device: str, network: Network, Theta: Array, X: Matrix, Y: Matrix, batch_size: int,
    cost: str, momentum: Array, l2: Array, baseline: Array, schedules: list[Any],
    results: list[Any], active: NDArray[np.bool_],
) -> Callable[[int, NDArray[np.intp], NDArray[np.intp]], None]:  # fmt: skip
    """The stack's epochs on PyTorch; each leaves the members' θ in ``Theta`` (NumPy)."""
    torch = _torch()
    assert not isinstance(torch, str)  # device_of checked
    dev = device_of(device)
    math = _Math(torch, network, cost)
    # Copies on the device (torch.tensor copies; the arrays may be read-only).
    T = torch.tensor(Theta, device=dev)  # (K, n_params)
    X_t, Y_t = torch.tensor(X, device=dev), torch.tensor(Y, device=dev)
    grad, velocity = torch.empty_like(T), torch.zeros_like(T)
    mu = torch.tensor(momentum, dtype=T.dtype, device=dev)[:, None]
    decay = torch.tensor(l2, dtype=T.dtype, device=dev)
    limits = [divergence_threshold(b, DIVERGENCE_FACTOR) for b in baseline.tolist()]
    limits_t = torch.tensor(limits, dtype=torch.float64, device=dev)
    n = len(X)
    full = batch_size == 0 or batch_size >= n
    per_epoch = steps_per_epoch(n, batch_size)
    on = torch.tensor(active, device=dev)

    def epoch(first: int, orders: NDArray[np.intp], which: NDArray[np.intp]) -> None:
        member_orders = torch.tensor(orders[which], device=dev)  # (K, n)
        for i in range(per_epoch):
            step = first + i
            eta = torch.tensor([float(s(step)) for s in schedules], dtype=T.dtype, device=dev)
            if full:
                Xb, Yb = X_t, Y_t[None]  # every member's batch is the whole set
            else:
                idx = member_orders[:, i * batch_size : (i + 1) * batch_size]  # (K, m)
                Xb, Yb = X_t[idx], Y_t[idx]  # (K, m, n_in), (K, m, n_out)
            costs = math.cost_and_gradient(T, Xb, Yb, decay, grad).double()
            norms = torch.linalg.vector_norm(grad, dim=1).double()
            exploded = ~torch.isfinite(costs) | ~torch.isfinite(norms) | (costs > limits_t)
            newly = (on & exploded).cpu().numpy()
            for k in np.flatnonzero(newly):
                results[k].diverged_step = step
            on.logical_and_(~exploded)
            eta *= on  # frozen members take no step…
            grad[~on] = 0  # …and their NaNs must not leak through 0·NaN
            if momentum.any():
                velocity.mul_(mu).sub_(eta[:, None] * grad)  # v ← μv − η∇C
                velocity[~on] = 0
                T.add_(velocity)  # θ ← θ + v
            else:
                T.sub_(eta[:, None] * grad)  # θ ← θ − η∇C
        active[...] = on.cpu().numpy()
        Theta[...] = T.cpu().numpy()

    return epoch


def evaluator(device: str, network: Network, cost: str) -> Callable[..., tuple[Array, Array]]:
    """:func:`~nudgenet.training.stacked.stacked_evaluate` on PyTorch: each member's cost and
    accuracy on a whole set, the data sent to the device once per set."""
    torch = _torch()
    assert not isinstance(torch, str)
    dev = device_of(device)
    math = _Math(torch, network, cost)
    sent: dict[int, tuple[Any, Any, Any]] = {}

    def evaluate(
        network: Network, Theta: Array, X: Matrix, Y: Matrix, labels: Any, cost: str
    ) -> tuple[Array, Array]:
        K, n = len(Theta), len(X)
        if K == 0:
            return np.zeros(0), np.zeros(0)
        if id(X) not in sent:
            sent[id(X)] = tuple(torch.tensor(v, device=dev) for v in (X, Y, labels))
        X_t, Y_t, labels_t = sent[id(X)]
        T = torch.tensor(Theta, device=dev)
        views = math.views(T)
        totals = torch.zeros(K, dtype=torch.float64, device=dev)
        right = torch.zeros(K, dtype=torch.int64, device=dev)
        rows = max(256, (1 << 24) // (K * max(network.sizes[1:])))
        for start in range(0, n, rows):
            x, y = X_t[start : start + rows], Y_t[start : start + rows]
            acts, z = math.forward(views, x)  # the rows shared by every member
            totals += math.costs(z, acts[-1], y[None]).double()
            right += (acts[-1].argmax(dim=-1) == labels_t[None, start : start + rows]).sum(dim=1)
        return (totals / n).cpu().numpy(), (right.double() / n).cpu().numpy()

    return evaluate
