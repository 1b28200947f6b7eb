"""Example 2 on one real weight: new = old − η·slope, and the costs before and after are the
real network's."""

from __future__ import annotations

import numpy as np
import pytest

from nudgenet import (
    ConfigError,
    Network,
    cost_and_gradient,
    evaluate_cost,
    init_params,
    load_mini,
    one_hot,
    to_inputs,
)
from nudgenet.lessons.one_weight import draw_one_weight, steepest_weight, step_one_weight
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


def test_the_step_is_the_notes_rule_on_the_real_numbers(problem) -> None:
    network, theta, X, Y = problem
    s = step_one_weight(network, theta, X, Y, 1.0)
    cost, gradient = cost_and_gradient(network, theta, X, Y)
    assert s.index == int(np.argmax(np.abs(gradient[: network.layout.n_params])
                                    * _weights(network)))  # fmt: skip
    assert s.old == theta[s.index]
    assert s.slope == gradient[s.index]
    assert s.new == s.old - 1.0 * s.slope
    moved = theta.copy()
    moved[s.index] = s.new
    assert s.cost_before == cost
    assert s.cost_after == evaluate_cost(network, moved, X, Y)
    assert s.cost_after < s.cost_before  # the step went downhill
    assert s.change == pytest.approx(s.predicted_change, rel=0.05)  # −η·slope², to first order
    assert (s.new < s.old) == (s.slope > 0)  # the sign rule


def _weights(network: Network) -> np.ndarray:
    mask = np.zeros(network.layout.n_params)
    for (W, _), start in zip(network.layout.shapes, network.layout.offsets[:-1], strict=True):
        mask[start : start + W[0] * W[1]] = 1
    return mask


def test_the_chosen_weight_is_a_weight_not_a_bias(problem) -> None:
    network, theta, X, Y = problem
    s = step_one_weight(network, theta, X, Y)
    assert s.name.startswith("W")
    layout = network.layout
    fake = np.zeros(layout.n_params)
    fake[-1] = 100.0  # a bias: never chosen
    fake[5] = 1.0
    assert steepest_weight(network, fake) == 5


def test_any_entry_can_be_stepped(problem) -> None:
    network, theta, X, Y = problem
    s = step_one_weight(network, theta, X, Y, 0.5, index=network.layout.n_params - 1)
    assert s.name == "b3[9]"
    assert s.new == s.old - 0.5 * s.slope
    with pytest.raises(ConfigError, match="index"):
        step_one_weight(network, theta, X, Y, index=network.layout.n_params)


def test_the_curve_passes_through_the_old_weight(problem, tmp_path) -> None:
    network, theta, X, Y = problem
    s = step_one_weight(network, theta, X, Y)
    ws, costs = (np.array(v) for v in s.curve)
    middle = len(ws) // 2
    assert ws[middle] == pytest.approx(s.old)
    assert costs[middle] == pytest.approx(s.cost_before)
    (path,) = save(draw_one_weight(s), tmp_path / "one.png")
    assert path.stat().st_size > 10_000
