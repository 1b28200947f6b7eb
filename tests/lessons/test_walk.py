"""Backpropagation frame by frame: every frame is the chain rule, and the sum is ∇C."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nudgenet import (
    ConfigError,
    Network,
    ShapeError,
    cost_and_gradient,
    evaluate_cost,
    init_params,
    numerical_gradient,
    one_hot,
    relative_error,
)
from nudgenet.activations import ACTIVATIONS, OUTPUTS
from nudgenet.cost import COSTS
from nudgenet.lessons.walk import MAX_WALK_EXAMPLES, check_layers, walk_batch, walk_example

COMBINATIONS = list(itertools.product(ACTIVATIONS, OUTPUTS, COSTS))


def batch(network: Network, m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    theta = init_params(network.layout, "normal", rng=rng, dtype="float64")
    X = rng.uniform(0.0, 1.0, size=(m, network.sizes[0]))
    Y = one_hot(rng.integers(0, network.sizes[-1], size=m), network.sizes[-1], np.float64)
    return theta, X, Y


@pytest.mark.parametrize(("activation", "output", "cost"), COMBINATIONS)
def test_the_walk_adds_up_to_cost_and_gradient(activation: str, output: str, cost: str) -> None:
    network = Network((6, 5, 4, 3), activation, output)
    theta, X, Y = batch(network, 7)
    walked = walk_batch(network, theta, X, Y, cost)
    C, grad = cost_and_gradient(network, theta, X, Y, cost)
    assert walked.cost == pytest.approx(C, rel=1e-12)
    np.testing.assert_allclose(walked.gradient, grad, rtol=1e-10, atol=1e-14)
    # Each example's own gradient is cost_and_gradient on that example alone.
    for i, walk in enumerate(walked.walks):
        Ci, gi = cost_and_gradient(network, theta, X[i : i + 1], Y[i : i + 1], cost)
        assert walk.cost == pytest.approx(Ci, rel=1e-12)
        np.testing.assert_allclose(walked.gradients[i], gi, rtol=1e-10, atol=1e-14)
        np.testing.assert_array_equal(walk.gradient(), walked.gradients[i])
    np.testing.assert_allclose(walked.gradients.mean(axis=0), grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize(("activation", "output", "cost"), COMBINATIONS)
def test_every_frame_is_the_chain_rule(activation: str, output: str, cost: str) -> None:
    network = Network((6, 5, 4, 3), activation, output)
    theta, X, Y = batch(network, 1, seed=1)
    walk = walk_example(network, theta, X[0], Y[0], cost)
    views = network.layout.views(theta)
    a = X[0]
    for frame, (W, b) in zip(walk.layers, views, strict=True):
        np.testing.assert_array_equal(frame.a_in, a)
        np.testing.assert_allclose(frame.z, W @ a + b, rtol=1e-13)
        a = frame.a
        np.testing.assert_allclose(frame.grad_W, np.outer(frame.delta, frame.a_in), rtol=1e-13)
        np.testing.assert_array_equal(frame.grad_b, frame.delta)
    for frame, above, (W_above, _) in zip(walk.layers, walk.layers[1:], views[1:], strict=False):
        # What layer l is asked is what the layer above passes back: (Wˡ⁺¹)ᵀ δˡ⁺¹ ...
        np.testing.assert_allclose(frame.cost_wrt_a, W_above.T @ above.delta, rtol=1e-12)
        # ... and one weight's slope is a_in · σ′(z) · ∂C/∂a, the note's chain rule.
        j, k, slope = frame.largest()
        chain = frame.a_in[k] * frame.sigma_prime[j] * frame.cost_wrt_a[j]
        assert slope == pytest.approx(chain, rel=1e-12)
        assert abs(slope) == np.max(np.abs(frame.grad_W))
    top = walk.layers[-1]
    if output == "softmax":
        assert top.sigma_prime is None  # coupled outputs: no elementwise σ′
        g, out = top.cost_wrt_a, top.a
        np.testing.assert_allclose(top.delta, out * (g - g @ out), rtol=1e-10, atol=1e-15)
    else:
        np.testing.assert_allclose(top.delta, top.cost_wrt_a * top.sigma_prime, rtol=1e-9)


def test_the_seed_cost_output_error_reads_2_a_minus_y() -> None:
    network = Network((6, 5, 3))
    theta, X, Y = batch(network, 1, seed=2)
    walk = walk_example(network, theta, X[0], Y[0])
    np.testing.assert_allclose(walk.layers[-1].cost_wrt_a, 2 * (walk.output - Y[0]))
    assert walk.cost == pytest.approx(float(np.sum((walk.output - Y[0]) ** 2)))


@pytest.mark.parametrize(("activation", "output", "cost"), COMBINATIONS)
def test_each_layer_agrees_with_finite_differences(activation: str, output: str, cost: str) -> None:
    network = Network((6, 5, 4, 3), activation, output)
    theta, X, Y = batch(network, 1, seed=3)
    if activation == "relu":  # keep every hidden z clear of the kink, where no slope exists
        theta += np.random.default_rng(4).normal(0, 0.1, theta.shape)
    walk = walk_example(network, theta, X[0], Y[0], cost)
    errors = check_layers(walk, theta)
    assert len(errors) == 3
    assert max(errors) < 1e-6
    # Read layer by layer, it is the measure `nudgenet gradcheck` takes over all of θ.
    numeric = numerical_gradient(
        lambda t: evaluate_cost(network, t, X[:1], Y[:1], cost), theta.copy()
    )
    assert max(errors) == pytest.approx(relative_error(walk.gradient(), numeric), rel=1e-9)
    # A wrong gradient is caught: the check compares against the cost, not against itself.
    broken = walk.layers[0].grad_W
    broken[0, 0] += 1e-3 + abs(broken[0, 0])
    assert check_layers(walk, theta)[0] > 1e-3


def test_bad_batches_are_refused() -> None:
    network = Network((6, 5, 3))
    theta, X, Y = batch(network, 2)
    with pytest.raises(ShapeError, match="Y must have shape"):
        walk_batch(network, theta, X, Y[:1])
    with pytest.raises(ShapeError, match="X must have shape"):
        walk_batch(network, theta, X[:, :5], Y)
    with pytest.raises(ShapeError, match="θ must be"):
        walk_batch(network, theta[:-1], X, Y)
    big = np.zeros((MAX_WALK_EXAMPLES + 1, 6))
    with pytest.raises(ConfigError, match="1 to 1,000 examples") as info:
        walk_batch(network, theta, big, one_hot(np.zeros(len(big), dtype=int), 3, np.float64))
    assert info.value.help
