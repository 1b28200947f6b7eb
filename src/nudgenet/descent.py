"""Gradient descent: repeatedly nudge θ against the gradient, θ ← θ − η∇C.

One routine serves every problem, from the one-parameter C(w) = (w − 3)² to the
13,002-parameter digit network: both are "a vector θ and a function that returns the cost
and its gradient". Mini-batch SGD is the same loop where each step's cost is measured on the
next batch of examples.

With classical momentum μ the step keeps a velocity v (explicit state, owned by the caller):

    v ← μ v − η ∇C        θ ← θ + v

which is plain gradient descent when μ = 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._types import Vector
from .errors import ConfigError, DivergenceError
from .schedules import Schedule, check_learning_rate, constant

Objective = Callable[..., tuple[float, Vector]]

# Descent counts as diverged once the cost exceeds this factor times its start (the default
# of every engine), or becomes NaN/inf.
DIVERGENCE_FACTOR = 10.0
# The smallest |baseline| the divergence threshold scales: a start at C = 0 still has a limit.
MIN_BASELINE = 1e-12


def divergence_threshold(baseline: float, factor: float) -> float:
    """The cost above which descent counts as diverged: factor × max(|C₀|, 1e-12).

    C₀ must be the same function as the costs checked against it (with an L2 term if they
    carry one). Every engine uses this one rule, and the messages quote its value.

    >>> divergence_threshold(2.5, 10.0)
    25.0
    """
    return factor * max(abs(baseline), MIN_BASELINE)


@dataclass(slots=True)
class Step:
    """What happened at one update: the cost and slope at θ_k and the step taken.

    Not frozen: a frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``, about 0.9 µs a record against 0.2, and the fast engine makes one
    per update, 60,000 an epoch at batch 1.
    """

    step: int  # k, counting updates from 0
    learning_rate: float  # η_k
    cost: float  # C(θ_k) on this step's batch, before the update
    gradient_norm: float  # ‖∇C(θ_k)‖
    theta: Vector | None = None  # copy of θ_k (only with record=True)
    gradient: Vector | None = None  # copy of ∇C(θ_k) (only with record=True)


def gradient_step(theta: Vector, gradient: Vector, learning_rate: float) -> Vector:
    """θ − η∇C as a new vector: the update rule, pure (θ is not changed).

    Examples
    --------
    >>> gradient_step(np.array([0.0]), np.array([-6.0]), 0.1).tolist()  # C = (w−3)² at w = 0
    [0.6000000000000001]
    """
    return theta - learning_rate * gradient


def momentum_step(
    theta: Vector, velocity: Vector, gradient: Vector, learning_rate: float, momentum: float
) -> tuple[Vector, Vector]:
    """Classical momentum, pure: returns (θ + v′, v′) with v′ = μv − η∇C."""
    new_velocity = momentum * velocity - learning_rate * gradient
    return theta + new_velocity, new_velocity


def descend(
    objective: Objective,
    theta: Vector,
    learning_rate: float | Schedule,
    *,
    steps: int | None = None,
    batches: Iterable[tuple[Any, ...]] | None = None,
    start: int = 0,
    momentum: float = 0.0,
    velocity: Vector | None = None,
    tol: float = 0.0,
    divergence_factor: float | None = DIVERGENCE_FACTOR,
    baseline: float | None = None,
    record: bool = False,
) -> Iterator[Step]:
    """Run gradient descent on θ **in place**, yielding one :class:`Step` per update.

    Parameters
    ----------
    objective : callable
        ``objective(theta, *batch) -> (cost, gradient)``; with no ``batches``, ``objective(theta)``.
    theta : ndarray of shape (n,)
        The starting point; updated in place, so views of it (per-layer W, b) follow along.
    learning_rate : float or callable k -> η_k
    steps : int, optional
        Stop after this many updates. Required unless ``batches`` ends by itself.
    batches : iterable of tuples, optional
        One tuple of extra arguments to ``objective`` per step (mini-batch SGD).
    start : int
        Number of the first step, for schedules that continue across epochs.
    momentum : float in [0, 1)
        μ for classical momentum; 0 is plain gradient descent.
    velocity : ndarray of θ's shape, optional
        Momentum state, updated in place; pass the same array again to continue.
    tol : float
        Stop before updating once ‖∇C‖ ≤ tol: the slope is flat, we are at the bottom.
    divergence_factor : float or None
        Raise :class:`DivergenceError` when the cost exceeds
        :func:`divergence_threshold` (this factor times ``|baseline|``), or becomes NaN/inf.
        ``None`` only checks for NaN/inf.
    baseline : float, optional
        The cost that "exploded" is measured against, of the same objective (L2 term
        included, if the objective has one); default: the first step's cost.
    record : bool
        Keep copies of θ_k and ∇C(θ_k) in each Step (for small problems and tables).

    Examples
    --------
    The seed's example, C(w) = (w − 3)², from w = 0 with η = 0.1:

    >>> theta = np.array([0.0])
    >>> def cost_and_slope(w):
    ...     return float((w[0] - 3) ** 2), 2 * (w - 3)
    >>> [round(s.cost, 4) for s in descend(cost_and_slope, theta, 0.1, steps=3)]
    [9.0, 5.76, 3.6864]
    >>> round(float(theta[0]), 3)
    1.464
    """
    schedule = learning_rate if callable(learning_rate) else constant(learning_rate)
    _check_options(momentum, steps, batches)
    if momentum and velocity is None:
        velocity = np.zeros_like(theta)
    args: Iterable[tuple[Any, ...]] = batches if batches is not None else iter(tuple, None)
    first_cost = baseline
    for i, batch in enumerate(args):
        if steps is not None and i >= steps:
            return
        k = start + i
        eta = float(schedule(k))
        check_learning_rate(eta)
        cost, gradient = objective(theta, *batch)
        norm = float(np.linalg.norm(gradient))
        if first_cost is None:
            first_cost = cost
        _check_divergence(k, eta, cost, norm, first_cost, divergence_factor)
        if norm <= tol:
            return
        copies = (theta.copy(), gradient.copy()) if record else (None, None)
        yield Step(k, eta, float(cost), norm, *copies)
        _update(theta, gradient, eta, momentum, velocity)


def _check_options(
    momentum: float, steps: int | None, batches: Iterable[tuple[Any, ...]] | None
) -> None:
    """Refuse, before the first step, a momentum outside [0, 1) or a descent with no end."""
    if not 0.0 <= momentum < 1.0:
        raise ConfigError(
            f"momentum must be in [0, 1), got {momentum}",
            help="0 turns momentum off; 0.9 is a common choice",
        )
    if steps is None and batches is None:
        raise ConfigError(
            "descend needs a number of steps or an iterable of batches",
            help="pass steps=N, or batches=... to take one step per batch",
        )


def _update(
    theta: Vector, gradient: Vector, eta: float, momentum: float, velocity: Vector | None
) -> None:
    """θ ← θ − η∇C, or v ← μv − η∇C and θ ← θ + v: in place, so that views of θ follow.

    The pure forms are :func:`gradient_step` and :func:`momentum_step`; these are the same
    numbers, without a new array per step.
    """
    if momentum:
        assert velocity is not None
        velocity *= momentum
        velocity -= eta * gradient
        theta += velocity
    else:
        theta -= eta * gradient  # θ ← θ − η∇C


def _check_divergence(
    k: int, eta: float, cost: float, norm: float, baseline: float, factor: float | None
) -> None:
    """Raise :class:`DivergenceError` if step k's cost or slope is NaN/inf, or the cost is
    over :func:`divergence_threshold`; the message quotes the threshold it broke."""
    threshold = None if factor is None else divergence_threshold(baseline, factor)
    exploded = threshold is not None and cost > threshold
    if math.isfinite(cost) and math.isfinite(norm) and not exploded:
        return
    if not math.isfinite(cost):
        what = f"the cost became {cost:g}"
    elif not math.isfinite(norm):
        what = f"the gradient's norm became {norm:g}"
    else:
        base = max(abs(baseline), MIN_BASELINE)
        of = (
            "|C₀|, the size of its starting cost"
            if abs(baseline) >= MIN_BASELINE
            else f"{MIN_BASELINE:g}, the floor under its starting |C₀| = {abs(baseline):.4g}"
        )
        what = (
            f"the cost grew to {cost:.4g}, over the limit {factor:g} × {base:.4g} = "
            f"{threshold:.4g} ({factor:g} times {of})"
        )
    raise DivergenceError(
        f"gradient descent diverged at step {k} with learning rate {eta:g}: {what}",
        help=f"use a smaller learning rate, e.g. --lr {eta / 10:.3g}, or a decaying --schedule",
        step=k,
        cost=cost,
    )
