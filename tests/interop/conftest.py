"""Models to exchange: one trained briefly by the recipe, and random ones of every kind."""

from __future__ import annotations

import numpy as np
import pytest

from nudgenet import Model, Network, TrainSettings, init_params, load_mini, to_inputs
from nudgenet.data import Dataset, load_folder
from nudgenet.training.recipe import Recipe, fit


@pytest.fixture(scope="session")
def trained() -> Model:
    """The seed network after one epoch on 2,000 embedded images (float32)."""
    return fit(Recipe(settings=TrainSettings(epochs=1)), load_mini(), train_size=2000)


def random_model(sizes: tuple[int, ...], activation: str, output: str, dtype: str) -> Model:
    """A network of each kind with θ drawn by Xavier's rule: every weight differs."""
    network = Network(sizes, activation, output)
    theta = init_params(network.layout, "xavier", rng=np.random.default_rng(1), dtype=dtype)
    return Model(network, theta, "cross-entropy" if output == "softmax" else "quadratic")


KINDS = [
    ("sigmoid", "sigmoid", "float32"),
    ("tanh", "softmax", "float32"),
    ("relu", "softmax", "float64"),
    ("relu", "sigmoid", "float64"),
]


@pytest.fixture(params=KINDS, ids=["-".join(k) for k in KINDS])
def kind(request: pytest.FixtureRequest) -> Model:
    """A 784-16-16-10 network of each activation, output and dtype."""
    return random_model((784, 16, 16, 10), *request.param)


@pytest.fixture(scope="session")
def mini_test() -> np.ndarray:
    """The embedded test images as float32 inputs, (2000, 784)."""
    return to_inputs(load_mini().test_images)


@pytest.fixture(scope="session")
def mnist_test(mnist_dir) -> np.ndarray:
    """The full MNIST test images as float32 inputs, (10000, 784); skips without them."""
    data: Dataset = load_folder(mnist_dir)
    return to_inputs(data.test_images)
