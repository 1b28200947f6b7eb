"""Symmetry: counting distinct neurons, and a constant start keeping them identical."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nudgenet import (
    ConfigError,
    Network,
    ShapeError,
    TrainSettings,
    init_params,
    load_mini,
    one_hot,
    to_inputs,
)
from nudgenet.lessons.symmetry import (
    compare_initialisations,
    count_distinct,
    distinct_neurons,
    draw_first_layer,
    hidden_neurons,
    neuron_groups,
    train_and_count,
    weight_norm,
)
from nudgenet.plots import save

PNG = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- counting


def test_identical_rows_are_one_neuron_and_different_rows_are_many() -> None:
    assert distinct_neurons(np.full((16, 784), 0.3)) == 1
    assert distinct_neurons(np.zeros((16, 784))) == 1
    assert distinct_neurons(np.eye(16)) == 16
    rows = np.random.default_rng(0).normal(size=(16, 784))
    assert distinct_neurons(rows) == 16
    assert distinct_neurons(rows[[0, 1, 0, 2, 1]]) == 3


def test_groups_are_labelled_in_order_of_first_appearance() -> None:
    W = np.array([[1.0, 0.0], [2.0, 0.0], [1.0, 0.0], [3.0, 0.0], [2.0, 0.0]])
    assert neuron_groups(W).tolist() == [0, 1, 0, 2, 1]


def test_tolerance_is_relative_to_the_scale_of_the_weights() -> None:
    base = np.full((4, 10), 1000.0)
    tiny = base.copy()
    tiny[1, 3] += 1e-4  # 1e-7 of the scale: rounding-sized, the same neuron
    assert distinct_neurons(tiny) == 1
    big = base.copy()
    big[1, 3] += 1.0  # 1e-3 of the scale: a different neuron
    assert distinct_neurons(big) == 2
    # Scaling all weights changes nothing.
    rows = np.random.default_rng(1).normal(size=(6, 5))[[0, 1, 1, 2, 0, 3]]
    for factor in (1e-8, 1.0, 1e8):
        assert distinct_neurons(factor * rows) == 4
    assert distinct_neurons(tiny, tol=0.0) == 2


def test_counting_rejects_bad_input() -> None:
    with pytest.raises(ShapeError, match="2-D"):
        distinct_neurons(np.zeros(5))
    with pytest.raises(ConfigError, match="tolerance"):
        distinct_neurons(np.zeros((2, 2)), tol=-1.0)


def test_hidden_neurons_are_rows_of_weights_and_bias() -> None:
    net = Network((4, 3, 2, 2))
    theta = np.arange(net.n_params, dtype=np.float64)
    layers = hidden_neurons(net, theta)
    assert [N.shape for N in layers] == [(3, 5), (2, 4)]  # the output layer is left out
    (W1, b1), _, _ = net.layout.views(theta)
    np.testing.assert_array_equal(layers[0][:, :4], W1)
    np.testing.assert_array_equal(layers[0][:, 4], b1)


def test_count_distinct_on_constant_and_random_theta() -> None:
    net = Network()
    rng = np.random.default_rng(0)
    assert count_distinct(net, init_params(net.layout, "constant", rng=rng)) == (1, 1)
    assert count_distinct(net, init_params(net.layout, "xavier", rng=rng)) == (16, 16)


def test_equal_weights_with_different_biases_are_different_neurons() -> None:
    net = Network((3, 2, 2))
    theta = np.ones(net.n_params)
    (_, b1), _ = net.layout.views(theta)
    b1[1] = 5.0
    assert count_distinct(net, theta) == (2,)


# --------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def small_data() -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    mini = load_mini()
    X = to_inputs(mini.train_images[:600], np.float64)
    Y = one_hot(mini.train_labels[:600], dtype=np.float64)
    return X, Y, (to_inputs(mini.test_images[:200], np.float64), mini.test_labels[:200])


@pytest.mark.parametrize("value", [0.0, 0.1, -0.05])
def test_constant_start_stays_symmetric_through_training(small_data, value: float) -> None:
    X, Y, test = small_data
    net = Network()
    run = train_and_count(
        net, "constant", X, Y, TrainSettings(epochs=2, lr=1.0), seed=3, test=test, value=value
    )
    assert run.distinct_by_epoch == ((1, 1), (1, 1), (1, 1))
    assert run.value == value
    # Training did move the weights: the neurons are identical, not frozen.
    assert not np.allclose(run.theta, value)
    for N in hidden_neurons(net, run.theta):
        np.testing.assert_allclose(N, np.broadcast_to(N[0], N.shape), rtol=0, atol=1e-12)


def test_random_start_keeps_every_neuron_distinct_and_learns_more(small_data) -> None:
    X, Y, test = small_data
    constant, random = compare_initialisations(
        Network(), X, Y, TrainSettings(epochs=2, lr=1.0), seed=0, test=test
    )
    assert constant.distinct == (1, 1)
    assert random.distinct == (16, 16)
    assert random.init == "xavier"
    assert random.value is None
    assert len(constant.history) == len(random.history) == 3
    assert random.test_accuracy > constant.test_accuracy
    assert random.train_cost < constant.train_cost
    d = random.as_dict()
    assert d["distinct_neurons"] == [16, 16]
    assert d["epochs"] == 2
    assert "theta" not in d


def test_same_seed_same_run(small_data) -> None:
    X, Y, _ = small_data
    settings = TrainSettings(epochs=1)
    a = train_and_count(Network(), "normal", X, Y, settings, seed=5)
    b = train_and_count(Network(), "normal", X, Y, settings, seed=5)
    c = train_and_count(Network(), "normal", X, Y, settings, seed=6)
    np.testing.assert_array_equal(a.theta, b.theta)
    assert not np.array_equal(a.theta, c.theta)
    assert a.test_accuracy is None


def test_the_random_run_must_be_random(small_data) -> None:
    X, Y, _ = small_data
    with pytest.raises(ConfigError, match="random initialisation must be one of"):
        compare_initialisations(Network(), X, Y, TrainSettings(), seed=0, random_init="constant")


def test_one_weight_scale_keeps_a_small_run_visible() -> None:
    big, small = np.array([[1.4, -0.9]]), np.array([[0.03, -0.01]])
    norm = weight_norm([big, small])
    assert (norm.vmin, norm.vmax) == (-1.4, 1.4)
    # A 47× smaller run still gets about a seventh of the colour, not a 47th.
    assert float(norm(0.03)) - 0.5 == pytest.approx(0.5 * np.sqrt(0.03 / 1.4))
    assert float(norm(-1.4)) == 0.0
    assert float(norm(1.4)) == 1.0
    assert type(weight_norm([big, 0.5 * big])).__name__ == "Normalize"  # similar: linear


def test_first_layer_figure(small_data, tmp_path: Path) -> None:
    X, Y, test = small_data
    runs = compare_initialisations(
        Network(), X[:100], Y[:100], TrainSettings(epochs=1), seed=0, test=test
    )
    fig = draw_first_layer(runs, Network())
    images = [ax.get_images()[0].get_array() for ax in fig.get_axes() if ax.get_images()]
    assert len(images) == 32
    constant, random = images[:16], images[16:]
    assert all(np.array_equal(constant[0], im) for im in constant)
    assert not np.array_equal(random[0], random[1])
    # One colour scale for both runs, symmetric about 0, and one colour bar for it.
    shown = [im for ax in fig.get_axes() for im in ax.get_images()]
    norm = shown[0].norm
    assert all(im.norm is norm for im in shown)
    largest = max(float(np.max(np.abs(im.get_array()))) for im in shown)
    assert norm.vmin == -norm.vmax == pytest.approx(-largest)
    assert float(norm(0.0)) == pytest.approx(0.5)  # white is zero in every panel
    bars = [ax for ax in fig.get_axes() if not ax.get_images() and ax.get_ylabel()]
    assert len(bars) == 1
    assert "one scale for every run" in bars[0].get_ylabel()
    (path,) = save(fig, tmp_path / "symmetry.png")
    assert path.read_bytes()[:8] == PNG
