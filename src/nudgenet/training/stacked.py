"""Many networks at once: K copies of one architecture trained together.

K parameter vectors are stacked into one array Θ of shape (K, n_params); row k is member
k's θ, laid out exactly as :class:`~nudgenet.layout.Layout` lays out one θ. Three engines
take the steps (:func:`choose_stack_engine`): ``engine="auto"`` picks the one ``train``
would pick, so that every member is bit for bit ``train``'s with the fast engine (the
lessons' stacks); ``engine="quick"`` (the sweeps') the lanes engine where it pays:

* **lanes** (:class:`nudgenet.training.lanes.LaneStack`): the members that share a seed
  share their batches, so a group of them (16 in float32 with AVX-512) takes every step
  together, parameter p of every member in one vector, one vector multiply-add for the
  group where one network has a multiply-add; groups are shared among the cores. A member
  equals ``train`` alone to rounding.
* **fast** (:class:`nudgenet.training.fast.FastStack`): one compiled call per epoch runs every
  member's steps with the fast engine's kernels, the members shared out among the cores. A
  member's steps are bit for bit those of ``train(..., engine="fast")`` alone; the gain is
  the cores that one small network cannot keep busy, and the shared evaluation below.
* **reference**: batched NumPy products. Per-layer views have a leading member axis, W of
  shape (K, n_out, n_in) and b of shape (K, n_out), and every product of the single-network
  equations becomes a batched ``np.matmul`` over that axis::

    zˡ = aˡ⁻¹ Wˡᵀ + bˡ                      (K, m, n_in) @ (K, n_in, n_out) -> (K, m, n_out)
    ∂C/∂Wˡ = δˡᵀ aˡ⁻¹                        (K, n_out, m) @ (K, m, n_in) -> (K, n_out, n_in)
    Θ ← Θ − η ⊙ ∇C                           one η per member (each has its own schedule)

After every epoch all members are measured at once (:func:`stacked_evaluate`): they share
the examples, so their first layers are one wide matrix product.

**Batches.** Each member sees the mini-batches ``nudgenet train --seed s`` would show it:
its seed is split by :func:`~nudgenet.training.recipe.seed_streams` into an initialisation
stream and a shuffling stream, exactly as the ``train`` command does. Members with different
seeds thus start from different θ *and* visit the examples in different orders, so each step gathers
each member's own batch: ``idx`` has shape (K, b) and ``X[idx]`` shape (K, b, n_in). Members
that share a seed share one shuffle (it is drawn once per seed). A full batch (batch size 0
or ≥ n) is the whole set for everyone, passed once with shape (1, n, n_in) and broadcast.

**Divergence.** A member whose batch cost becomes NaN/inf, or exceeds 10 times its epoch-0
training cost (L2 term included, as in the batch costs: the rule of
:func:`~nudgenet.training.loop.train`), is frozen at that step: θ_k is kept, it is never
updated again, and it is marked diverged at step k. The others go on unchanged, because no
batched operation mixes members.

A member reproduces ``train`` on its own: its θ bit for bit with the fast engine, to
rounding with the lanes and reference ones (float64 ~1e-12 relative, float32 ~1e-5: they
add their sums in another order); its measured costs and accuracies to rounding. Where a
high learning rate makes training chaotic, rounding differences grow over the epochs as
they do between any two engines.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import options
from .._types import Array, Matrix
from ..backprop import check_targets
from ..cost import cross_entropy_terms, get_cost, one_hot
from ..data.augment import distort
from ..descent import DIVERGENCE_FACTOR, divergence_threshold
from ..errors import ConfigError
from ..init import init_params
from ..layout import Layout
from ..network import Network
from ..schedules import LEARNING_RATE, build_schedule
from . import fast, lanes, torch_stack
from .engines import choose_engine
from .loop import check_augmentable, steps_per_epoch
from .recipe import augment_stream, seed_streams

STACK_ENGINES = ("auto", "quick", "lanes", "fast", "reference")
"""How a stack takes its steps (``train_stacked``'s ``engine``); see :func:`choose_stack_engine`."""

# The lanes engine computes whole groups, full or not: a step of a group of 16 takes about
# three times one network's fast step (128 µs against 42 µs, the seed network in float32 at
# batch 10), so the lanes win from about 4 members per group on.
MIN_LANE_FILL = 0.25


@dataclass(frozen=True)
class Member:
    """How one stacked network trains: the ``nudgenet train`` options that may differ."""

    lr: float = 1.0  # η
    seed: int = 0  # split into (init stream, shuffle stream) as `nudgenet train` does
    schedule: str = "constant"  # constant | step | exponential | inverse-time | cosine
    init: str = "xavier"  # normal | scaled | xavier | he | constant
    momentum: float = 0.0  # classical momentum μ
    l2: float = 0.0  # weight decay λ

    def __post_init__(self) -> None:
        LEARNING_RATE.check(self.lr)
        options.SEED.check(self.seed)
        options.SCHEDULE.check(self.schedule)
        options.INIT.check(self.init)
        options.MOMENTUM.check(self.momentum)
        options.L2.check(self.l2)


@dataclass
class MemberResult:
    """What happened to one member: its per-epoch records and whether it diverged."""

    member: Member
    history: list[dict[str, Any]] = field(default_factory=list)  # one dict per epoch, as train
    diverged_step: int | None = None  # the step whose cost exploded; None if it never did
    divergence_limit: float | None = None  # the batch cost above which it counts as diverged
    theta: Array | None = None  # the final θ (for a diverged member: θ before that step)


# --------------------------------------------------------------------------- the math


def stacked_views(layout: Layout, Theta: Array) -> list[tuple[Array, Array]]:
    """Per-layer ``(W, b)`` views into Θ, shapes (K, n_out, n_in) and (K, n_out).

    Examples
    --------
    >>> layout = Layout((2, 3, 1))
    >>> Theta = np.zeros((4, layout.n_params))
    >>> [(W.shape, b.shape) for W, b in stacked_views(layout, Theta)]
    [((4, 3, 2), (4, 3)), ((4, 1, 3), (4, 1))]
    """
    if Theta.ndim != 2 or Theta.shape[1] != layout.n_params:
        raise ConfigError(
            f"Θ must have shape (K, {layout.n_params}), got {Theta.shape}",
            help="stack K parameter vectors with np.stack(thetas)",
        )
    out = []
    for ((n_out, n_in), _), start in zip(layout.shapes, layout.offsets[:-1], strict=True):
        n_w = n_out * n_in
        W = Theta[:, start : start + n_w].reshape(len(Theta), n_out, n_in)
        b = Theta[:, start + n_w : start + n_w + n_out]
        out.append((W, b))
    return out


def stacked_feedforward(network: Network, Theta: Array, X: Array) -> list[Array]:
    """Activations of every layer for every member: [X, a¹, …, aᴸ], each (K, m, n_l).

    X has shape (K, m, n_in), or (1, m, n_in) to show every member the same examples.
    """
    return stacked_forward(network, Theta, X)[0]


def stacked_forward(network: Network, Theta: Array, X: Array) -> tuple[list[Array], Array]:
    """:func:`stacked_feedforward`'s activations, and the output layer's pre-activations zᴸ
    (K, m, n_out), from which cross-entropy is computed."""
    views = stacked_views(network.layout, Theta)
    activations = [X]
    z = X
    for l, (W, b) in enumerate(views, 1):
        z = np.matmul(activations[-1], W.transpose(0, 2, 1))  # (K,m,n_in)@(K,n_in,n_out)
        z += b[:, None, :]
        sigma = network.out if l == len(views) else network.hidden
        activations.append(sigma.function(z))
    return activations, z


def stacked_costs(cost: str, output: str, z: Array, a: Array, Y: Array) -> Array:
    """The cost of each member on its batch, shape (K,): the formulas of :mod:`nudgenet.cost`.

    Quadratic from the outputs a, (1/m) Σ_x Σ_j (a_j − y_j)²; cross-entropy from the
    pre-activations z, (1/m) Σ_x Σ_j [softplus(z_j) − y_j z_j] for sigmoid outputs and
    (1/m) Σ_x Σ_j y_j (LSE(z) − z_j) for softmax, exact where a saturates (both with
    ∂C/∂z = (a − y)/m).
    """
    m = a.shape[1]
    if cost == "quadratic":
        diff = a - Y
        return np.einsum("kij,kij->k", diff, diff) / m  # (1/m) Σ_x Σ_j (a_j − y_j)²
    get_cost(cost, output)  # validates the name
    return np.sum(cross_entropy_terms(z, Y, output), axis=(1, 2)) / m


def stacked_l2_terms(layout: Layout, Theta: Array, l2: Array) -> Array:
    """Each member's weight decay (λ_k/2)‖W_k‖² over its weights (not biases), shape (K,)."""
    squares = sum(np.einsum("kij,kij->k", W, W) for W, _ in stacked_views(layout, Theta))
    return 0.5 * l2 * squares


def stacked_evaluate(
    network: Network, Theta: Array, X: Matrix, Y: Matrix, labels: Any, cost: str
) -> tuple[Array, Array]:
    """Each member's cost C(θ_k) on all of (X, Y) and its fraction of correct guesses, (K,) each.

    The examples are shared, so the first layer of every member is one matrix product,
    X (W¹₁; …; W¹_K)ᵀ: one wide product keeps the cores busy where K products of 16 columns
    each would not. Rows go through in blocks, which bounds the memory to a few MB per
    layer whatever K and n are.
    """
    K, n = len(Theta), len(X)
    if K == 0:  # every member has diverged: nothing left to measure
        return np.zeros(0), np.zeros(0)
    views = stacked_views(network.layout, Theta)
    (W1, b1), rest = views[0], views[1:]
    n1, n_in = W1.shape[1:]
    W1_all = W1.reshape(K * n1, n_in)  # every member's first-layer rows, one under another
    totals = np.zeros(K)
    right = np.zeros(K)
    rows = max(256, (1 << 21) // (K * max(network.sizes[1:])))
    for start in range(0, n, rows):
        block = slice(start, start + rows)
        z = (X[block] @ W1_all.T).reshape(-1, K, n1).transpose(1, 0, 2)  # (K, r, n1)
        z += b1[:, None, :]
        a = (network.out if not rest else network.hidden).function(z)
        for l, (W, b) in enumerate(rest, 2):
            z = np.matmul(a, W.transpose(0, 2, 1))
            z += b[:, None, :]
            a = (network.out if l == network.layout.n_layers else network.hidden).function(z)
        r = a.shape[1]
        totals += stacked_costs(cost, network.output, z, a, Y[None, block]) * r
        right += np.count_nonzero(np.argmax(a, axis=2) == np.asarray(labels)[None, block], axis=1)
    return totals / n, right / n


def stacked_output_error(network: Network, cost: str, a: Array, Y: Array) -> Array:
    """δᴸ = ∂C/∂zᴸ per member, shape (K, m, n_out), as :func:`~nudgenet.backprop.output_error`."""
    m = a.shape[1]
    c = get_cost(cost, network.output)
    if c.matching_output == network.output:
        return (a - Y) / m  # cross-entropy with its own output layer: σ′ cancels
    if cost == "quadratic":
        g = (2.0 / m) * (a - Y)  # ∂C/∂a for the seed's cost (no ½)
    else:  # binary cross-entropy on a softmax output
        g = (a - Y) / (m * np.maximum(a * (1.0 - a), np.finfo(a.dtype).tiny))
    if network.out.derivative is not None:
        return g * network.out.derivative(a)
    return a * (g - np.sum(g * a, axis=-1, keepdims=True))  # softmax Jacobian–vector product


def stacked_cost_and_gradient(
    network: Network,
    Theta: Array,
    X: Array,
    Y: Array,
    cost: str = "quadratic",
    *,
    l2: Array | None = None,
    out: Array | None = None,
) -> tuple[Array, Array]:
    """Each member's cost C_k(θ_k) on its batch and its gradient, by batched backprop.

    Parameters
    ----------
    network : Network
    Theta : ndarray of shape (K, n_params)
    X : ndarray of shape (K, m, n_in), or (1, m, n_in) shared by all members
    Y : ndarray of shape (K, m, n_out), or (1, m, n_out)
    cost : "quadratic" or "cross-entropy"
    l2 : ndarray of shape (K,), optional, each member's weight decay λ_k
    out : ndarray of Θ's shape, optional, where to write the gradients

    Returns
    -------
    (costs, grads) : ndarrays of shapes (K,) and (K, n_params)
    """
    layout = network.layout
    activations, z = stacked_forward(network, Theta, X)
    a = activations[-1]  # (K, m, n_out)
    costs = stacked_costs(cost, network.output, z, a, Y)
    grad = np.empty_like(Theta) if out is None else out
    weights = stacked_views(layout, Theta)
    grads = stacked_views(layout, grad)
    delta = stacked_output_error(network, cost, a, Y)  # δᴸ, (K, m, n_out)
    for l in range(layout.n_layers - 1, -1, -1):
        dW, db = grads[l]
        a_prev = activations[l]
        # (K, n_out, m) @ (K, m, n_in) -> (K, n_out, n_in); a shared X broadcasts from (1, m, n_in)
        dW[...] = np.matmul(delta.transpose(0, 2, 1), a_prev)
        np.sum(delta, axis=1, out=db)
        if l > 0:
            delta = np.matmul(delta, weights[l][0])  # (K,m,n_out)@(K,n_out,n_in) -> (K,m,n_in)
            delta *= network.hidden.derivative(activations[l])  # type: ignore[misc]
    if l2 is not None and np.any(l2):
        costs = costs + stacked_l2_terms(layout, Theta, l2)  # (λ_k/2)‖W_k‖²
        for W, dW in ((w, g) for (w, _), (g, _) in zip(weights, grads, strict=True)):
            dW += l2[:, None, None] * W  # its gradient, λ_k W_k
    return costs, grad


# --------------------------------------------------------------------------- training


def train_stacked(
    network: Network,
    members: Sequence[Member],
    X: Matrix,
    Y: Matrix,
    *,
    epochs: int,
    batch_size: int = 10,
    cost: str = "quadratic",
    dtype: str = "float64",
    test: tuple[Matrix, NDArray[Any]] | None = None,
    labels: NDArray[Any] | None = None,
    on_epoch: Callable[[int, list[MemberResult]], None] | None = None,
    engine: str = "auto",
    device: str = "cpu",
    augment: str = "none",
) -> list[MemberResult]:
    """Train every member by mini-batch SGD at once; one :class:`MemberResult` per member.

    Each member's ``history`` holds the dicts ``train`` yields as
    :class:`~nudgenet.training.loop.Epoch` records (epoch 0 first), up to the last epoch it
    completed before diverging.

    Parameters
    ----------
    network : Network, shared by every member
    members : sequence of Member (learning rate, seed, schedule, init, momentum, l2)
    X : ndarray of shape (n, sizes[0]); Y : ndarray of shape (n, sizes[-1]), one-hot
    epochs, batch_size, cost, dtype : as ``nudgenet train``'s options (shared by the stack)
    test : (X_test, labels_test), optional, measured after each epoch
    labels : ndarray of shape (n,), optional, the training labels
    on_epoch : callable(epoch, results), optional, called after each epoch (for progress)
    engine : "auto", "quick", "lanes", "fast" or "reference"
        "lanes": the members of a seed in the lanes of a vector, in groups shared among the
        cores (equal to training each alone to rounding); "fast": every member's steps by
        the compiled kernels of ``train``'s fast engine, the members shared among the cores
        (equal, bit for bit, to training each alone with the fast engine); "reference":
        batched NumPy products over all members at once; "auto" and "quick": see
        :func:`choose_stack_engine`.
    device : "cpu", "cuda" or "torch-cpu"
        "cpu": ``engine`` decides; "cuda" and "torch-cpu": the PyTorch back end
        (:mod:`nudgenet.training.torch_stack`) on an NVIDIA GPU or on the CPU, each member
        equal to ``train`` alone to rounding.
    augment : "none", "affine", "elastic" or "both", as ``nudgenet train --augment``
        Every epoch trains on freshly distorted copies of X, drawn from the seed's own
        stream (:func:`~nudgenet.training.recipe.augment_stream`), so each member sees the
        distortions ``train --seed s --augment`` shows it; the members must then share one
        seed (one set of distorted inputs), and the costs are measured on X itself.
    """
    return list(_train_stacked(network, members, X, Y, epochs=epochs, batch_size=batch_size,
                               cost=cost, dtype=dtype, test=test, labels=labels,
                               on_epoch=on_epoch, engine=engine, device=device,
                               augment=augment))  # fmt: skip


def _train_stacked(
    network: Network,
    members: Sequence[Member],
    X: Matrix,
    Y: Matrix,
    *,
    epochs: int,
    batch_size: int,
    cost: str,
    dtype: str,
    test: tuple[Matrix, NDArray[Any]] | None,
    labels: NDArray[Any] | None,
    on_epoch: Callable[[int, list[MemberResult]], None] | None,
    engine: str,
    device: str,
    augment: str,
) -> Iterator[MemberResult]:
    options.DEVICE.check(device)
    options.AUGMENT.check(augment)
    if augment != "none" and device != "cpu":
        raise ConfigError(
            f"augmentation distorts the digits on the CPU, and the {device} back end holds "
            "its inputs on its device",
            help="leave --device out (cpu) to augment, or train without --augment",
        )
    if device != "cpu":
        torch_stack.device_of(device)  # refuse now, not after epoch 0
    if not members:
        return
    options.EPOCHS.check(epochs)
    options.BATCH_SIZE.check(batch_size)
    options.COST.check(cost)
    options.DTYPE.check(dtype)
    network.check_inputs(X)
    check_targets(network, X, Y, cost)
    if test is not None:
        network.check_inputs(test[0], "the test inputs")
        test = (test[0].astype(dtype, copy=False), test[1])
    if labels is None:
        labels = np.argmax(Y, axis=1)
    clean = X.astype(dtype, copy=False)
    distortions = None if augment == "none" else _distortions(network, members)
    # The engines read their inputs afresh each epoch, so augmentation rewrites them in place.
    inputs = clean if distortions is None else np.array(clean, order="C")
    stack = _Stack(network, members, inputs, Y.astype(dtype, copy=False),
                   labels, test, epochs, batch_size, cost, measured=clean)  # fmt: skip
    if device != "cpu":
        engine = device
        stack.evaluate = torch_stack.evaluator(device, network, cost)
    else:
        fill = lanes.fill(stack.member_orders, dtype)
        engine = choose_stack_engine(engine, network, dtype, fill)
    if engine == "fast":
        stack.evaluate = fast.measure_stack  # the same numbers, compiled
    elif engine == "lanes":
        stack.evaluate = lanes.measure
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # frozen members' NaNs
        stack.measure(0, 0, 0.0)
        if on_epoch is not None:
            on_epoch(0, stack.results)
        epoch_of = stack.runner(engine)
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            if distortions is not None:
                distort(clean, augment, distortions, out=inputs)
            epoch_of((epoch - 1) * stack.per_epoch, *stack.orders())
            stack.measure(
                epoch, epoch * stack.per_epoch, (time.perf_counter() - start) / len(members)
            )
            if on_epoch is not None:
                on_epoch(epoch, stack.results)
    for result, theta in zip(stack.results, stack.Theta, strict=True):
        result.theta = theta
    yield from stack.results


def choose_stack_engine(engine: str, network: Network, dtype: str, fill: float = 1.0) -> str:
    """The engine a stack trains with: the one asked for; for "auto" the one ``train``
    would pick (fast, else reference); for "quick" the same, but the lanes engine instead of
    the fast one where its groups would be at least ``MIN_LANE_FILL`` full (``fill``:
    :func:`lanes.fill`). Raises :class:`ConfigError` for an unknown name, or for "fast" or
    "lanes" where they cannot run.

    Examples
    --------
    >>> choose_stack_engine("auto", Network(), "float32")
    'fast'
    >>> choose_stack_engine("quick", Network(), "float32")
    'lanes'
    >>> choose_stack_engine("quick", Network(), "float32", fill=1 / 16)
    'fast'
    """
    if engine not in STACK_ENGINES:
        raise ConfigError(
            f"unknown stack engine {engine!r}; choose one of {', '.join(STACK_ENGINES)}",
            help="train_stacked(..., engine=...) takes one of: " + ", ".join(STACK_ENGINES),
        )
    if engine == "reference":
        return engine
    if engine in ("auto", "quick"):
        if choose_engine("auto", network, np.dtype(dtype)) != "fast":
            return "reference"  # the batched products, also for the wide networks
        return "lanes" if engine == "quick" and fill >= MIN_LANE_FILL else "fast"
    reason = fast.unsupported(network, dtype)
    if reason is not None:
        raise ConfigError(
            f"the {engine} engine cannot train here: {reason}",
            help="use the reference engine (engine='reference'), or auto to pick for you",
        )
    return engine


def _distortions(network: Network, members: Sequence[Member]) -> np.random.Generator:
    """The stream of distortions the members share: their one seed's, as ``train`` draws it."""
    seeds = sorted({m.seed for m in members})
    if len(seeds) > 1:
        raise ConfigError(
            f"augmented members train on their seed's own distortions, so a stack of them "
            f"must share one seed, got seeds {seeds}",
            help="stack each seed's members apart (nudgenet sweep --augment does so)",
        )
    rng = augment_stream(seeds[0])
    check_augmentable(network, rng)
    return rng


class _Stack:
    """The members' Θ, streams, schedules and records: what every epoch of a stack reads."""

    def __init__(
        self, network: Network, members: Sequence[Member], X: Matrix, Y: Matrix,
        labels: NDArray[Any], test: tuple[Matrix, NDArray[Any]] | None, epochs: int,
        batch_size: int, cost: str, measured: Matrix,
    ) -> None:  # fmt: skip
        self.network, self.members, self.X, self.Y = network, members, X, Y
        self.X_measured = measured  # the undistorted inputs, where X is distorted every epoch
        self.labels, self.test, self.batch_size, self.cost = labels, test, batch_size, cost
        self.n = n = len(X)
        self.per_epoch = per_epoch = steps_per_epoch(n, batch_size)
        self.full = batch_size == 0 or batch_size >= n
        # Each member starts as `nudgenet train --seed s` does; members that share a seed
        # share one shuffling stream, drawn once per epoch.
        self.seeds = seeds = sorted({m.seed for m in members})
        self.Theta = np.stack([
            init_params(network.layout, m.init, rng=seed_streams(m.seed)[0], dtype=X.dtype)
            for m in members
        ])  # fmt: skip  # (K, n_params)
        self.shufflers = {s: seed_streams(s)[1] for s in seeds}
        self.which = np.array([seeds.index(m.seed) for m in members])  # member -> its shuffle
        self.schedules = [
            build_schedule(m.schedule, m.lr, total_steps=per_epoch * epochs,
                           steps_per_epoch=per_epoch)
            for m in members
        ]  # fmt: skip
        self.results = [MemberResult(m) for m in members]
        self.evaluate = stacked_evaluate  # or the PyTorch back end's
        self.active = np.ones(len(members), dtype=bool)
        self.Y_test = (
            None if test is None else one_hot(np.asarray(test[1]), network.sizes[-1], X.dtype)
        )

    def measure(self, epoch: int, steps: int, seconds: float) -> None:
        """Append epoch ``epoch``'s record to every member still training."""
        ks = np.flatnonzero(self.active)
        Theta_k = self.Theta[ks]  # a copy: the members still training
        network, cost, test = self.network, self.cost, self.test
        train_cost, train_accuracy = self.evaluate(
            network, Theta_k, self.X_measured, self.Y, self.labels, cost
        )
        test_cost = test_accuracy = [None] * len(ks)
        if test is not None:
            test_cost, test_accuracy = self.evaluate(
                network, Theta_k, test[0], self.Y_test, test[1], cost
            )
        for j, k in enumerate(ks):
            self.results[k].history.append({
                "epoch": epoch,
                "steps": steps,
                "learning_rate": float(self.schedules[k](max(steps - 1, 0))),
                "train_cost": _number(train_cost[j]),
                "train_accuracy": _number(train_accuracy[j]),
                "test_cost": _number(test_cost[j]),
                "test_accuracy": _number(test_accuracy[j]),
                "seconds": seconds,
            })  # fmt: skip

    @property
    def member_orders(self) -> NDArray[np.intp]:
        """Which of :meth:`orders` each member follows: its seed's, or the full batch's one."""
        return np.zeros_like(self.which) if self.full else self.which

    def orders(self) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """This epoch's orders of the examples, one per seed as `train` draws it, and which
        of them each member follows."""
        if self.full:
            return np.arange(self.n)[None], np.zeros(len(self.members), dtype=np.intp)
        orders = np.stack([self.shufflers[s].permutation(self.n) for s in self.seeds])
        return orders, self.which  # (seeds, n), (K,)

    def runner(self, engine: str) -> StackEpochs:
        """The epochs of ``engine`` (or of a device of the PyTorch back end), after the
        epoch-0 records: their costs, plus each member's L2 term at θ₀ as in its batch
        costs, are the baselines of divergence."""
        momentum = np.array([m.momentum for m in self.members])
        l2 = np.array([m.l2 for m in self.members])
        baseline = np.array([r.history[0]["train_cost"] for r in self.results])
        baseline += stacked_l2_terms(self.network.layout, self.Theta, l2)
        for result, b in zip(self.results, baseline.tolist(), strict=True):
            result.divergence_limit = divergence_threshold(b, DIVERGENCE_FACTOR)
        epochs: Callable[..., StackEpochs] = _batched_epochs
        if engine == "fast":
            epochs = functools.partial(_compiled_epochs, fast.FastStack)
        elif engine == "lanes":
            epochs = functools.partial(
                _compiled_epochs, functools.partial(lanes.LaneStack, which=self.member_orders)
            )
        elif engine in torch_stack.DEVICES:
            epochs = functools.partial(torch_stack.epochs, engine)
        return epochs(self.network, self.Theta, self.X, self.Y, self.batch_size, self.cost,
                      momentum, l2, baseline, self.schedules, self.results,
                      self.active)  # fmt: skip


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


StackEpochs = Callable[[int, NDArray[np.intp], NDArray[np.intp]], None]


def _compiled_epochs(
    make: Callable[..., Any], network: Network, Theta: Array, X: Matrix, Y: Matrix,
    batch_size: int, cost: str, momentum: Array, l2: Array, baseline: Array,
    schedules: list[Any], results: list[MemberResult], active: NDArray[np.bool_],
) -> StackEpochs:  # fmt: skip
    """Epochs by a compiled stack, ``make`` (:class:`nudgenet.training.fast.FastStack`:
    every member's steps exactly as the fast engine takes them alone, the members shared
    among the cores; or :class:`nudgenet.training.lanes.LaneStack`: the members of a seed in
    the lanes of a vector)."""
    stack = make(network, Theta, X, Y, batch_size=batch_size, cost=cost,
                 momentum=momentum, l2=l2, baselines=baseline)  # fmt: skip
    members = [r.member for r in results]

    def epoch(first: int, orders: NDArray[np.intp], which: NDArray[np.intp]) -> None:
        rates: dict[tuple[str, float], Array] = {}  # one row per schedule and η, not per member
        for k, m in enumerate(members):
            if (m.schedule, m.lr) not in rates:
                steps = range(first, first + stack.steps)
                rates[m.schedule, m.lr] = np.array([schedules[k](s) for s in steps], dtype=float)
        etas = np.stack([rates[m.schedule, m.lr] for m in members])
        done, diverged = stack.run(orders, which, etas, active)
        for k in np.flatnonzero(active & diverged):
            results[k].diverged_step = first + int(done[k])
            active[k] = False

    return epoch


def _batched_epochs(
    network: Network, Theta: Array, X: Matrix, Y: Matrix, batch_size: int, cost: str,
    momentum: Array, l2: Array, baseline: Array, schedules: list[Any],
    results: list[MemberResult], active: NDArray[np.bool_],
) -> StackEpochs:  # fmt: skip
    """Epochs by batched NumPy products (:func:`stacked_cost_and_gradient`) over all members."""
    n = len(X)
    full = batch_size == 0 or batch_size >= n
    per_epoch = steps_per_epoch(n, batch_size)
    mu = momentum.astype(Theta.dtype)
    decay = l2.astype(Theta.dtype)
    velocity = np.zeros_like(Theta) if mu.any() else None
    grad = np.empty_like(Theta)
    limits = np.array([divergence_threshold(b, DIVERGENCE_FACTOR) for b in baseline.tolist()])
    X_shared, Y_shared = X[None], Y[None]  # (1, n, n_in): a full batch, broadcast

    def epoch(first: int, orders: NDArray[np.intp], which: NDArray[np.intp]) -> None:
        member_orders = orders[which]  # (K, n)
        for i in range(per_epoch):
            step = first + i
            eta = np.array([float(s(step)) for s in schedules], dtype=Theta.dtype)  # (K,)
            if full:
                Xb, Yb = X_shared, Y_shared
            else:
                idx = member_orders[:, i * batch_size : (i + 1) * batch_size]  # (K, b)
                Xb, Yb = X[idx], Y[idx]  # (K, b, n_in), (K, b, n_out)
            costs, _ = stacked_cost_and_gradient(network, Theta, Xb, Yb, cost, l2=decay, out=grad)
            norms = np.sqrt(np.einsum("kp,kp->k", grad, grad))
            exploded = ~np.isfinite(costs) | ~np.isfinite(norms)
            exploded |= costs > limits
            for k in np.flatnonzero(active & exploded):
                results[k].diverged_step = step
            active[...] &= ~exploded
            eta *= active  # frozen members take no step…
            grad[~active] = 0.0  # …and their NaNs must not leak through 0·NaN
            if velocity is not None:
                velocity[...] *= mu[:, None]  # v ← μv − η∇C, θ ← θ + v
                velocity[...] -= eta[:, None] * grad
                velocity[~active] = 0.0
                Theta[...] += velocity
            else:
                grad[...] *= eta[:, None]
                Theta[...] -= grad  # θ_k ← θ_k − η_k ∇C_k

    return epoch
