"""Why the cost is squared, on the real network: every claim the lesson prints holds on the
outputs it was computed from."""

from __future__ import annotations

import numpy as np
import pytest

from nudgenet import evaluate_cost, load_mini, one_hot, to_inputs
from nudgenet.lessons.real import real_networks
from nudgenet.lessons.why_squared import draw_why_squared, squared_errors
from nudgenet.network import output
from nudgenet.plots import save

pytestmark = pytest.mark.slow  # trains the network for a second or two


@pytest.fixture(scope="module")
def lessons():
    data = load_mini()
    networks = real_networks(data, seed=0, epochs=1)  # as `nudgenet why-squared`
    X = to_inputs(data.test_images, np.float64)
    return data, networks, [squared_errors(n, X, data.test_labels) for n in networks]


def test_the_squared_cost_is_the_notes_cost(lessons) -> None:
    data, networks, results = lessons
    X = to_inputs(data.test_images, np.float64)
    Y = one_hot(data.test_labels, dtype=np.float64)
    for n, r in zip(networks, results, strict=True):
        assert float(np.mean(r.squared)) == pytest.approx(evaluate_cost(n.network, n.theta, X, Y))
        np.testing.assert_array_equal(r.errors, output(n.network, n.theta, X) - Y)
    untrained, trained = results
    assert untrained.test_accuracy < 0.2 < 0.5 < trained.test_accuracy
    assert np.mean(trained.squared) < np.mean(untrained.squared)


def test_reason_1_signed_errors_cancel(lessons) -> None:
    for r in lessons[2]:
        assert 0 < r.hidden_share < 1
        assert np.mean(np.abs(r.signed)) < np.mean(r.absolute)
        e = r.cancelled_example()
        assert e.guess != e.label  # a wrong answer…
        assert abs(e.signed) < e.absolute  # …whose signed sum hides part of its error
        assert e.squared > 0
    trained = lessons[2][1]
    e = trained.cancelled_example()
    assert abs(e.signed) < 0.05 * e.absolute  # nearly all of it
    assert trained.hidden_share > lessons[2][0].hidden_share


def test_reason_2_large_errors_weigh_more(lessons) -> None:
    for r in lessons[2]:
        squared_share, absolute_share = r.top_share()
        assert squared_share > absolute_share
        assert r.push_ratio() > 1
        pair = r.disagreeing_pair()
        assert pair is not None
        spread, peaked = pair
        assert spread.absolute > peaked.absolute
        assert spread.squared < peaked.squared


def test_the_figure_draws(lessons, tmp_path) -> None:
    (path,) = save(draw_why_squared(lessons[2]), tmp_path / "why.png")
    assert path.stat().st_size > 10_000
