"""The pixel gradient and the seed networks the video's lessons are measured over."""

from __future__ import annotations

import numpy as np
import pytest

from nudgenet.cost import one_hot
from nudgenet.data import load_mini
from nudgenet.errors import ConfigError
from nudgenet.gradcheck import numerical_gradient
from nudgenet.init import init_params
from nudgenet.lessons.pixels import cost_and_pixel_gradient, pixel_gradient
from nudgenet.lessons.seeds import check_seeds, mean_std, seed_networks
from nudgenet.network import Network, _forward, feedforward
from nudgenet.training.loop import TrainSettings
from nudgenet.training.recipe import Recipe, fit


def test_pixel_gradient_matches_finite_differences() -> None:
    net = Network((12, 5, 4, 3))
    theta = init_params(net.layout, "xavier", rng=np.random.default_rng(1), dtype=np.float64)
    x = np.random.default_rng(2).random(12)
    Y = one_hot(np.array([1]), 3, np.float64)
    C, g = cost_and_pixel_gradient(net, theta, x[None], Y)
    numeric = numerical_gradient(lambda v: cost_and_pixel_gradient(net, theta, v[None], Y)[0], x)
    assert pytest.approx(float(((feedforward(net, theta, x[None])[-1] - Y) ** 2).sum())) == C
    np.testing.assert_allclose(g[0], numeric, rtol=1e-6, atol=1e-9)


def test_pixel_gradient_of_a_hidden_neuron_matches_finite_differences() -> None:
    net = Network((12, 5, 4, 3))
    theta = init_params(net.layout, "xavier", rng=np.random.default_rng(3), dtype=np.float64)
    x = np.random.default_rng(4).random((1, 12))
    acts, _ = _forward(net, theta, x)
    g = pixel_gradient(net, theta, acts, 2, np.eye(4)[[2]])  # ∂z²₂/∂x

    def z2(v: np.ndarray) -> float:
        a1 = _forward(net, theta, v[None])[0][1]
        W2, b2 = net.layout.views(theta)[1]
        return float((a1 @ W2.T + b2)[0, 2])

    np.testing.assert_allclose(g[0], numerical_gradient(z2, x[0]), rtol=1e-6, atol=1e-9)


def test_seed_networks_are_the_recipe_run_per_seed() -> None:
    data = load_mini()
    recipe = Recipe(settings=TrainSettings(epochs=1))
    nets = seed_networks(data, (3, 5), recipe=recipe, train_size=300)
    for net in nets:
        alone = fit(Recipe(settings=TrainSettings(epochs=1), seed=net.seed), data, train_size=300)
        np.testing.assert_array_equal(net.trained.theta, alone.theta)
        assert alone.history[0]["train_cost"] == net.trained.history[0]["train_cost"]
        assert not np.array_equal(net.initial.theta, net.trained.theta)


def test_seeds_are_checked() -> None:
    with pytest.raises(ConfigError, match="distinct"):
        check_seeds((1, 1))
    with pytest.raises(ConfigError, match="seeds"):
        check_seeds(tuple(range(21)))
    assert mean_std([2.0]) == {"mean": 2.0, "std": 0.0, "n": 1}
