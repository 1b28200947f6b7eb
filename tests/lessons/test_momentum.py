"""Momentum on x² + 10y²: the factors the lesson states are the runs' own, and the best μ
arrives in fewer steps than plain descent at the same η."""

from __future__ import annotations

import numpy as np
import pytest

from nudgenet import ConfigError, descend, parse_cost
from nudgenet.lessons.momentum import (
    LEARNING_RATE,
    START,
    TOL,
    VALLEY,
    best_momentum,
    compare_momentum,
    contraction,
    draw_factors,
    draw_momentum,
)
from nudgenet.plots import save


@pytest.fixture(scope="module")
def lesson():
    return compare_momentum()


def test_the_valley_has_curvatures_2_and_20(lesson) -> None:
    assert lesson.curvatures == pytest.approx((2.0, 20.0))
    assert lesson.factors == pytest.approx((0.82, -0.8))  # creep along x, zig-zag along y


def test_plain_descent_zig_zags_and_momentum_arrives_sooner(lesson) -> None:
    plain, best, heavy = lesson.runs
    assert plain.momentum == 0
    assert best.momentum == lesson.best[0]
    assert heavy.momentum == 0.9
    assert all(r.arrived for r in lesson.runs)
    assert plain.flips == plain.steps  # y changes sign at every step: 1 − 20η < 0
    assert best.steps < plain.steps  # what the lesson says
    assert heavy.steps > plain.steps  # and too much momentum spirals
    assert best.flips < plain.flips


def test_the_runs_are_descend_with_momentum(lesson) -> None:
    f = parse_cost(VALLEY)
    for run in lesson.runs:
        theta = np.array(START)
        steps = list(descend(f.objective, theta, LEARNING_RATE, steps=10_000, tol=TOL,
                             momentum=run.momentum, divergence_factor=None))  # fmt: skip
        assert len(steps) == run.steps
        np.testing.assert_array_equal(theta, run.path[-1])


def test_each_run_shrinks_at_its_predicted_factor(lesson) -> None:
    for run in lesson.runs:
        distance = np.linalg.norm(run.path, axis=1)
        k = run.steps
        observed = (distance[k] / distance[k // 2]) ** (1 / (k - k // 2))
        assert observed == pytest.approx(run.rate, abs=0.02)
        predicted = run.as_dict()["predicted_steps"]
        assert abs(predicted - run.steps) <= 0.15 * run.steps


def test_contraction_matches_the_two_by_two_iteration() -> None:
    for eta, lam, mu in ((0.09, 2.0, 0.0), (0.09, 20.0, 0.3), (0.05, 20.0, 0.9)):
        M = np.array([[1 + mu - eta * lam, -mu], [1.0, 0.0]])
        assert contraction(eta, lam, mu) == pytest.approx(max(abs(np.linalg.eigvals(M))))


def test_best_momentum_is_no_worse_than_plain() -> None:
    mu, rate = best_momentum(LEARNING_RATE, [2.0, 20.0])
    assert 0 < mu < 1
    assert rate < max(contraction(LEARNING_RATE, c) for c in (2.0, 20.0))


@pytest.mark.parametrize(
    ("cost", "start", "why"),
    [("x**4 + y**2", (1.0, 1.0), "quadratic"), ("x**2 - y**2", (1.0, 1.0), "no bottom"),
     (VALLEY, (1.0,), "variable")],
)  # fmt: skip
def test_costs_without_a_bowl_are_refused(cost, start, why) -> None:
    with pytest.raises(ConfigError, match=why):
        compare_momentum(cost, start)


def test_the_figures_draw(lesson, tmp_path) -> None:
    for name, draw in (("paths", draw_momentum), ("factors", draw_factors)):
        (path,) = save(draw(lesson), tmp_path / f"{name}.png")
        assert path.stat().st_size > 10_000


def test_past_plain_descents_limit_momentum_still_arrives() -> None:
    m = compare_momentum(learning_rate=0.15)  # 1 − 0.15·20 = −2: plain descent diverges
    plain, best, _ = m.runs
    assert plain.diverged
    assert not plain.arrived
    assert plain.outcome == "diverged"
    assert best.arrived
    assert best.rate < 1 < plain.rate


def test_a_bowl_off_the_origin_and_one_variable() -> None:
    m = compare_momentum("(w-3)**2", (0.0,), 0.9)  # C'' = 2, factor 1 − 1.8 = −0.8
    assert m.bottom == pytest.approx((3.0,))
    plain, best, _ = m.runs
    assert plain.flips == plain.steps  # w crosses 3 at every step
    assert best.steps < plain.steps
    tilted = compare_momentum("x**2 + 10*y**2 + 2*x*y + x", START)
    assert tilted.bottom == pytest.approx(np.linalg.solve([[2, 2], [2, 20]], [-1, 0]))
    assert all(r.arrived for r in tilted.runs)
    np.testing.assert_allclose(tilted.runs[0].path[-1], tilted.bottom, atol=1e-6)
