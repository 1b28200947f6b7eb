"""Confident on noise: the images drawn, and the readings against the network's outputs."""

from __future__ import annotations

import numpy as np
import pytest

from nudgenet.data import load_mini, to_inputs
from nudgenet.errors import ConfigError
from nudgenet.lessons.noise import KINDS, confidence, confidence_on_noise, non_digits
from nudgenet.lessons.seeds import seed_networks
from nudgenet.training.loop import TrainSettings
from nudgenet.training.recipe import Recipe


@pytest.mark.parametrize("kind", KINDS)
def test_non_digits_are_pixels_in_the_unit_range(kind: str) -> None:
    X = non_digits(kind, 20, np.random.default_rng(0))
    assert X.shape == (20, 784)
    assert X.min() >= 0
    assert X.max() <= 1
    again = non_digits(kind, 20, np.random.default_rng(0))
    np.testing.assert_array_equal(X, again)


def test_scribbles_have_ink_on_a_few_pixels_only() -> None:
    X = non_digits("scribble", 50, np.random.default_rng(1))
    inked = (X > 0.5).mean(axis=1)
    assert np.all(inked > 0.01)
    assert np.all(inked < 0.4)


def test_bad_kinds_and_counts_are_refused() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="kind"):
        non_digits("static", 3, rng)
    with pytest.raises(ConfigError, match="number of images"):
        non_digits("noise", 0, rng)


def test_the_summary_is_what_the_network_outputs() -> None:
    data = load_mini()
    nets = seed_networks(data, (0, 1), recipe=Recipe(settings=TrainSettings(epochs=1)),
                         train_size=1000)  # fmt: skip
    test = to_inputs(data.test_images[:300], np.float64)
    result = confidence_on_noise(nets, test, images=100)
    out = result.as_dict()
    per_net = []
    for net in nets:  # redraw the noise as the lesson does and ask the model itself
        X = non_digits("noise", 100, np.random.default_rng(net.seed))
        per_net.append(float(net.trained.probabilities(X.astype(np.float32)).max(axis=1).mean()))
    assert out["noise_max_probability"]["mean"] == pytest.approx(np.mean(per_net), rel=1e-6)
    assert out["noise_max_probability"]["std"] == pytest.approx(np.std(per_net, ddof=1), abs=1e-6)
    c = confidence(nets[0].trained.network, nets[0].trained.theta, test)
    assert out["kinds"]["test"]["per_seed"][0]["mean_max_probability"] == pytest.approx(
        float(c.max_probability.mean())
    )
    assert sum(out["kinds"]["scribble"]["per_seed"][0]["guess_counts"]) == 100
