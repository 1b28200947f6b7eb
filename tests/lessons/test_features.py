"""What the hidden neurons look for: the measures on known patterns, and the pictures."""

from __future__ import annotations

import numpy as np
import pytest

from nudgenet.data import load_mini, to_inputs
from nudgenet.lessons.features import (
    edgeness,
    features,
    layer_two,
    loopness,
    reference_measures,
    smoothness,
)
from nudgenet.lessons.seeds import seed_networks
from nudgenet.network import _forward
from nudgenet.training.loop import TrainSettings
from nudgenet.training.recipe import Recipe


def test_the_measures_tell_edges_rings_and_noise_apart() -> None:
    ref = reference_measures()
    assert ref["noise"]["smoothness"] < 0.1 < 0.8 < ref["edge"]["smoothness"]
    assert ref["edge"]["edgeness"] > 0.95 > 0.5 > ref["noise"]["edgeness"]
    assert ref["ring"]["loopness"] > 0.95 > 0.65 > ref["noise"]["loopness"]
    assert ref["stroke"]["loopness"] < ref["noise"]["loopness"]
    # Each measure is blind to the pattern's sign and scale.
    p = np.random.default_rng(0).random(784)
    for measure in (smoothness, edgeness, loopness):
        assert measure(-3 * p) == pytest.approx(measure(p))


@pytest.fixture(scope="module")
def nets() -> list:
    recipe = Recipe(settings=TrainSettings(epochs=2))
    return seed_networks(load_mini(), (0, 1), recipe=recipe, train_size=2000)


def test_layer_two_pictures_are_what_they_claim(nets) -> None:
    model = nets[0].trained
    X = to_inputs(load_mini().test_images[:500], np.float64)
    l2 = layer_two(model, X, steps=50)
    theta = model.theta.astype(np.float64)
    # The effective pattern predicts how z² moves for a small change of the mean image.
    mean = X.mean(axis=0, keepdims=True)
    v = np.random.default_rng(0).standard_normal((1, 784)) * 1e-4
    z2 = lambda x: _forward(model.network, theta, x)[0][2]  # noqa: E731
    dz = (z2(mean + v) - z2(mean)) / z2(mean) / (1 - z2(mean))  # Δa / σ′ ≈ Δz
    np.testing.assert_allclose(dz[0], (v @ l2.effective.T)[0], rtol=1e-2, atol=1e-8)
    # The preferred input keeps the norm bound and excites its neuron more than any test image.
    assert np.all(np.linalg.norm(l2.preferred, axis=1) <= l2.radius * (1 + 1e-9))
    assert np.all(l2.preferred_activation >= l2.top_activation[:, 0] - 1e-9)
    a2 = z2(X)
    np.testing.assert_allclose(l2.top_activation[:, 0], a2.max(axis=0))
    np.testing.assert_array_equal(l2.top[:, 0], a2.argmax(axis=0))


def test_trained_patterns_are_smoother_than_their_random_start(nets) -> None:
    X = to_inputs(load_mini().test_images[:500], np.float64)
    out = features(nets, X).as_dict()
    m = out["measures"]["layer1_weights"]
    assert m["trained"]["smoothness"]["mean"] > 0.3 > 0.05 > m["initial"]["smoothness"]["mean"]
    assert out["per_seed"]["layer2_effective"]["trained"]["edgeness"][1] == pytest.approx(
        features(nets[1:], X).per_seed["layer2_effective"]["trained"]["edgeness"][0]
    )
