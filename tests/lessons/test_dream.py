"""Dreaming a digit: descent on the pixels, θ fixed, read back through the network."""

from __future__ import annotations

import numpy as np
import pytest

from nudgenet.data import load_mini, to_inputs
from nudgenet.errors import ConfigError, DivergenceError
from nudgenet.lessons.dream import class_means, dream, resemblance
from nudgenet.lessons.seeds import seed_networks
from nudgenet.training.loop import TrainSettings
from nudgenet.training.recipe import Recipe


@pytest.fixture(scope="module")
def trained() -> object:
    data = load_mini()
    recipe = Recipe(settings=TrainSettings(epochs=2))
    return seed_networks(data, (0,), recipe=recipe, train_size=2000)[0].trained


def test_the_dream_raises_the_target_and_reports_what_the_network_says(trained) -> None:
    theta = trained.theta.copy()
    start = np.random.default_rng(0).random(784)
    d = dream(trained.network, trained.theta, 5, start, steps=300)
    np.testing.assert_array_equal(trained.theta, theta)  # θ is never changed
    assert d.steps == 300
    assert d.costs[-1] < d.costs[0]
    p = trained.probabilities(d.image[None].astype(trained.theta.dtype))[0]
    assert d.final_probability == pytest.approx(float(p[5]), rel=1e-6)
    assert d.final_probability > trained.probabilities(start[None].astype(np.float32))[0, 5]
    out = d.as_dict()
    assert len(out["image"]) == 28
    assert all(len(row) == 28 for row in out["image"])
    np.testing.assert_allclose(np.array(out["image"]).ravel(), d.image)


def test_smoothness_and_range_terms_do_what_they_say(trained) -> None:
    start = np.random.default_rng(1).random(784) * 3 - 1  # pixels far outside [0, 1]
    plain = dream(trained.network, trained.theta, 3, start, steps=200)
    kept = dream(trained.network, trained.theta, 3, start, steps=200, smooth=0.1, range_weight=1.0)
    rough = lambda x: float((np.diff(x.reshape(28, 28), axis=1) ** 2).sum())  # noqa: E731
    assert rough(kept.image) < 0.5 * rough(plain.image)
    assert kept.image.min() > plain.image.min()
    assert kept.image.max() < plain.image.max()


def test_resemblance_of_real_digits_to_their_mean() -> None:
    data = load_mini()
    means = class_means(to_inputs(data.train_images, np.float64), data.train_labels)
    fives = to_inputs(data.test_images[data.test_labels == 5][:50], np.float64)
    scores = [resemblance(x, means, 5) for x in fives]
    assert np.mean([s["target_correlation"] for s in scores]) > 0.4
    assert np.mean([s["closest_digit"] == 5 for s in scores]) > 0.5
    r = resemblance(means[5], means, 5)
    assert r["target_correlation"] == pytest.approx(1.0)
    assert r["closest_digit"] == 5


def test_bad_requests_are_refused(trained) -> None:
    net, theta = trained.network, trained.theta
    with pytest.raises(ConfigError, match="0 to 9"):
        dream(net, theta, 10, np.zeros(784))
    with pytest.raises(ConfigError, match="784"):
        dream(net, theta, 5, np.zeros(10))
    with pytest.raises(ConfigError, match="steps"):
        dream(net, theta, 5, np.zeros(784), steps=0)
    with pytest.raises(ConfigError, match="learning rate"):
        dream(net, theta, 5, np.zeros(784), learning_rate=0.0)


def test_a_step_too_large_for_the_terms_is_a_divergence_with_advice(trained) -> None:
    start = np.random.default_rng(2).random(784)
    with pytest.raises(DivergenceError, match="diverged") as caught:
        dream(trained.network, trained.theta, 5, start, learning_rate=10.0, smooth=10.0)
    assert "η·(16λ + 2μ) < 2" in caught.value.help
