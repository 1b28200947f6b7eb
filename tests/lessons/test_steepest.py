"""−∇C against random unit directions on the real network: none is steeper, and every slope
the lesson shows is the finite difference of the real cost."""

from __future__ import annotations

import numpy as np
import pytest

from nudgenet import ConfigError, Network, init_params, load_mini, one_hot, to_inputs
from nudgenet.lessons.steepest import draw_steepest, random_unit_directions, steepest
from nudgenet.plots import save
from nudgenet.training.recipe import seed_streams


@pytest.fixture(scope="module")
def problem():
    data = load_mini()
    X = to_inputs(data.train_images[:300], np.float64)
    Y = one_hot(data.train_labels[:300], dtype=np.float64)
    network = Network()
    theta = init_params(network.layout, "xavier", rng=seed_streams(0)[0])
    return network, theta, X, Y


@pytest.fixture(scope="module")
def result(problem):
    return steepest(*problem, np.random.default_rng(0), directions=1000)


def test_no_random_direction_is_steeper(result) -> None:
    assert result.slopes.size == 1000
    assert result.none_steeper
    assert np.abs(result.slopes).max() < result.gradient_norm
    assert result.ratio > 10  # not just a little less steep: about √(n / 2 ln 1000) times


def test_the_slope_along_minus_the_gradient_is_minus_its_norm(result) -> None:
    down = result.checks[0]
    assert down.slope == pytest.approx(-result.gradient_norm, rel=1e-12)
    assert down.finite_difference == pytest.approx(-result.gradient_norm, rel=1e-6)
    for check in result.checks[1:]:  # the random slopes are real slopes too
        assert check.relative_error < 1e-4


def test_random_directions_are_nearly_perpendicular(result) -> None:
    cosines = np.abs(result.slopes) / result.gradient_norm
    expected = np.sqrt(2 / (np.pi * result.n_params))
    assert np.mean(cosines) == pytest.approx(expected, rel=0.1)


def test_a_gradient_step_beats_the_best_random_step(result) -> None:
    assert result.step_cost < result.random_step_cost < result.cost


def test_the_directions_are_unit_and_seeded() -> None:
    a = random_unit_directions(13_002, 4, np.random.default_rng(7))
    b = random_unit_directions(13_002, 4, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0)


def test_the_count_is_bounded(problem) -> None:
    with pytest.raises(ConfigError, match="random directions"):
        steepest(*problem, np.random.default_rng(0), directions=0)


def test_the_figure_draws(result, tmp_path) -> None:
    (path,) = save(draw_steepest(result, "title"), tmp_path / "steepest.png")
    assert path.stat().st_size > 10_000
