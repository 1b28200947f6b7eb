"""Descent on a written-down cost: the note's worked example, valleys, blow-ups, pictures."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from nudgenet import ConfigError, descend, parse_cost, run_descent
from nudgenet.lessons.toy import (
    DIVERGENCE_FACTOR,
    PARABOLA,
    TWO_VALLEYS,
    CostFunction,
    check_derivative,
    divergence_reason,
    flat_point_kind,
    plot_descent,
    steepest_curvature,
    valleys,
)
from nudgenet.plots import save

PNG = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- the worked example


def test_the_notes_first_two_steps_and_convergence() -> None:
    run = run_descent(PARABOLA, 0.0, 0.1)
    first, second = run.steps[:2]
    assert (first.point, first.cost, first.slope) == ((0.0,), 9.0, (-6.0,))
    assert first.update[0] == pytest.approx(0.6, abs=1e-12)
    assert first.new_point[0] == pytest.approx(0.6, abs=1e-12)
    assert second.point == first.new_point  # the table's rows chain
    assert second.slope[0] == pytest.approx(-4.8, abs=1e-12)
    assert second.new_point[0] == pytest.approx(1.08, abs=1e-12)
    assert run.converged
    assert run.diverged is None
    assert abs(run.final_point[0] - 3.0) < 1e-6
    assert abs(run.final_slope[0]) <= 1e-6
    # Each step shrinks the distance to 3 by the factor 1 − 2η = 0.8.
    distances = [3.0 - p[0] for p in run.points]
    np.testing.assert_allclose(distances, 3.0 * 0.8 ** np.arange(len(distances)), rtol=1e-9)


def test_it_is_the_same_descend_that_trains_the_network() -> None:
    c = parse_cost(PARABOLA)
    theta = np.array([0.0])
    direct = [s.cost for s in descend(c.objective, theta, 0.1, steps=10)]
    run = run_descent(c, 0.0, 0.1, steps=10)
    assert [s.cost for s in run.steps] == direct
    assert run.final_point == (float(theta[0]),)


def test_steps_stop_early_only_at_a_flat_slope() -> None:
    run = run_descent(PARABOLA, 0.0, 0.01, steps=20)
    assert len(run.steps) == 20
    assert not run.converged
    assert run.final_point[0] < 3.0  # still creeping
    exact = run_descent(PARABOLA, 0.0, 0.5)  # 1 − 2η = 0: one step lands on 3
    assert len(exact.steps) == 1
    assert exact.final_point == (3.0,)
    assert exact.converged


def test_too_large_a_rate_diverges_and_says_why() -> None:
    run = run_descent(PARABOLA, 0.0, 1.1)
    assert run.diverged is not None
    assert "cost reached" in run.diverged
    assert not run.converged
    offsets = [p[0] - 3.0 for p in run.points]
    np.testing.assert_allclose(offsets, -3.0 * (-1.2) ** np.arange(len(offsets)), rtol=1e-9)
    costs = run.costs
    assert np.all(np.diff(costs) > 0)
    why = divergence_reason(run.function, 1.1, run.final_point)
    assert "1 − 1.1·2 = -1.2" in why
    assert "η < 2/C'' = 1" in why


def test_the_blow_up_message_states_the_threshold_descend_applied() -> None:
    run = run_descent(PARABOLA, 0.0, 1.1)  # C₀ = 9: stopped once C > 1000 × 9
    assert run.diverged is not None
    found = re.search(
        r"cost reached ([\d.e+]+), over ([\d.e+]+) × max\(\|C₀\|, 1\) = ([\d.e+]+) × "
        r"([\d.e+]+) = ([\d.e+]+)",
        run.diverged,
    )
    assert found, run.diverged
    cost, factor, factor_again, base, threshold = (float(g) for g in found.groups())
    assert factor == factor_again == DIVERGENCE_FACTOR
    assert base == max(abs(run.costs[0]), 1.0) == 9
    assert threshold == pytest.approx(factor * base, rel=5e-4) == 9000
    assert cost > threshold
    assert max(s.cost for s in run.steps) <= threshold  # every step taken was under it


def test_a_run_that_leaves_the_domain_is_stopped_not_raised() -> None:
    run = run_descent("log(w)", 1.0, 0.1)  # slides down towards w = 0 and steps past it
    assert run.diverged is not None
    assert "became nan" in run.diverged


def test_a_cost_without_a_bottom_runs_away_quietly() -> None:
    # w³ falls forever to the left; the slope overflows, and that is a result, not a warning.
    run = run_descent("w**3", -1.0, 0.1)
    assert run.diverged is not None
    assert "the slope reached" in run.diverged
    assert steepest_curvature(run.function, run.steps[-1].point) < 0
    assert "no valley floor" in divergence_reason(run.function, 0.1, run.steps[-1].point)


def test_a_steep_valley_needs_a_tiny_rate() -> None:
    run = run_descent("exp(w**2)", 3.0, 1.0)
    assert run.diverged == "at step 1 the cost became inf"
    curvature = steepest_curvature(run.function, [3.0])  # C'' = (2 + 4w²)·exp(w²)
    assert curvature == pytest.approx(38 * math.exp(9))
    assert f"η < 2/C'' = {2 / curvature:.4g}" in divergence_reason(run.function, 1.0, [3.0])


def test_a_start_where_the_cost_is_undefined_is_refused() -> None:
    with pytest.raises(ConfigError, match="not defined at the start w = 0"):
        run_descent("log(w)", 0.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"start": (1.0, 2.0)}, "has 1 variable"),
        ({"start": math.nan}, "finite"),
        ({"learning_rate": 0.0}, "positive finite"),
        ({"learning_rate": -0.1}, "positive finite"),
        ({"steps": -1}, "non-negative"),
        ({"tol": -1.0}, "tolerance"),
    ],
)
def test_bad_settings(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        run_descent(PARABOLA, **kwargs)


# --------------------------------------------------------------------------- landscapes


def test_the_start_decides_the_valley() -> None:
    found = valleys(parse_cost(TWO_VALLEYS))
    assert found is not None
    assert len(found) == 2
    (left, _), (right, _) = found
    ends = {}
    for start in (-1.0, 0.0, 0.5, 1.0):
        run = run_descent(TWO_VALLEYS, start, 0.05)
        assert run.converged
        ends[start] = run.final_point[0]
    assert ends[-1.0] == pytest.approx(left, abs=1e-5)
    assert ends[0.0] == pytest.approx(left, abs=1e-5)  # C'(0) = 1 > 0: rolls left
    assert ends[0.5] == pytest.approx(right, abs=1e-5)  # C'(0.5) = −1.5 < 0: rolls right
    assert ends[1.0] == pytest.approx(right, abs=1e-5)
    # Each end is a true valley floor: C' = 0 (the roots), C'' > 0.
    for w, c in found:
        assert 4 * w**3 - 6 * w + 1 == pytest.approx(0.0, abs=1e-9)
        assert 12 * w**2 - 6 > 0
        assert c == pytest.approx(w**4 - 3 * w**2 + w)


def test_valleys_only_where_a_finite_list_is_guaranteed() -> None:
    assert valleys(parse_cost(PARABOLA)) == [(3.0, 0.0)]
    assert valleys(parse_cost("2*w + 1")) == []
    assert valleys(parse_cost("exp(w) - w")) is None
    assert valleys(parse_cost("x**2 + y**2")) is None


def test_two_variables_roll_down_the_bowl() -> None:
    run = run_descent("x**2 + 3*y**2", (2.0, 1.0), 0.1)
    first = run.steps[0]
    assert first.slope == (4.0, 6.0)
    assert first.new_point == pytest.approx((1.6, 0.4))
    assert run.converged
    assert np.allclose(run.final_point, 0.0, atol=1e-6)
    assert first.as_dict(("x", "y")).keys() >= {"x", "y", "slope_x", "slope_y", "new_x", "new_y"}


def test_two_variables_diverge_along_the_steepest_direction() -> None:
    run = run_descent("x**2 + 3*y**2", (2.0, 1.0), 0.4)
    assert run.diverged is not None
    why = divergence_reason(run.function, 0.4, run.final_point)
    assert "λ = 6" in why
    assert "1 − 0.4·6 = -1.4" in why


def test_flat_points_are_told_apart() -> None:
    assert flat_point_kind(parse_cost(PARABOLA), [3.0]).startswith("a minimum")
    assert flat_point_kind(parse_cost("-w**2"), [0.0]).startswith("a maximum")
    assert flat_point_kind(parse_cost("x**2 - y**2"), [0.0, 0.0]).startswith("a saddle")
    assert "cannot tell" in flat_point_kind(parse_cost("w**3"), [0.0])
    hilltop = run_descent("-w**2", 0.0)  # flat already: descent has nothing to follow
    assert hilltop.steps == ()
    assert hilltop.converged


# --------------------------------------------------------------------------- the derivative check


@pytest.mark.parametrize(
    ("text", "point"),
    [(PARABOLA, [0.0]), (TWO_VALLEYS, [0.7]), ("sigmoid(3*w)", [0.2]), ("x*exp(y)", [1.0, 0.5])],
)
def test_symbolic_slopes_match_finite_differences(text: str, point: list[float]) -> None:
    check = check_derivative(parse_cost(text), point)
    assert check.relative_error < 1e-7


def test_the_derivative_check_catches_a_wrong_slope() -> None:
    w = sympy.Symbol("w")
    right = parse_cost(PARABOLA)
    halved = CostFunction(
        text=PARABOLA,
        expression=right.expression,
        variables=("w",),
        gradient=(w - 3,),  # the ½-cost's derivative paired with the seed's cost
        _cost=right._cost,
        _gradient=sympy.lambdify([w], [w - 3], "numpy"),
    )
    check = check_derivative(halved, [0.0])
    assert check.symbolic == (-3.0,)
    assert check.numerical[0] == pytest.approx(-6.0)
    assert check.relative_error == pytest.approx(0.5, rel=1e-6)


@settings(max_examples=25, deadline=None)
@given(
    a=st.floats(0.1, 5.0),
    b=st.floats(-5.0, 5.0),
    w0=st.floats(-10.0, 10.0),
    fraction=st.floats(0.05, 0.95),
)
def test_any_rate_below_one_over_the_curvature_reaches_the_bottom(
    a: float, b: float, w0: float, fraction: float
) -> None:
    # C = a(w − b)² has C'' = 2a; any η < 1/(2a) moves w monotonically towards b.
    run = run_descent(f"{a!r}*(w - ({b!r}))**2", w0, fraction / (2 * a), steps=2000)
    assert run.converged
    assert run.final_point[0] == pytest.approx(b, abs=1e-5)
    costs = run.costs
    assert np.all(np.diff(costs) <= 0)


# --------------------------------------------------------------------------- the picture


def test_the_figure_draws_the_path(tmp_path: Path) -> None:
    run = run_descent(PARABOLA, 0.0, 0.1)
    fig = plot_descent(run)
    curve_axes = fig.axes[0]
    balls = curve_axes.collections[0].get_offsets()
    np.testing.assert_allclose(balls[:, 0], [p[0] for p in run.points])
    np.testing.assert_allclose(balls[:, 1], run.costs)
    (png,) = save(fig, tmp_path / "descent.png")
    assert png.read_bytes()[:8] == PNG


@pytest.mark.parametrize("eta", [0.001, 0.01, 0.1, 0.9, 1.1])
def test_the_step_labels_never_overlap(eta: float) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    run = run_descent(PARABOLA, 0.0, eta)
    fig = plot_descent(run)
    FigureCanvasAgg(fig).draw()  # lays the figure out, as saving it does
    renderer = fig.canvas.get_renderer()
    labels = [t for t in fig.axes[0].texts if t.get_text().startswith("w_")]
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert 2 <= len(labels) <= 3
    assert labels[0].get_text() == "w_0 = 0"
    for i, a in enumerate(boxes):
        for b in boxes[:i]:
            assert not a.overlaps(b), [t.get_text() for t in labels]
    for label in labels:  # each names the step it sits on
        k = int(label.get_text().split(" = ")[0][2:])
        assert label.xy == pytest.approx((run.points[k][0], run.costs[k]))
    if eta == 0.1:  # well spread: the first three steps, as the lecture note names them
        assert [t.get_text() for t in labels] == ["w_0 = 0", "w_1 = 0.6", "w_2 = 1.08"]


def test_the_landscape_figure_and_a_diverging_one(tmp_path: Path) -> None:
    landscape = plot_descent(run_descent("x**2 + 3*y**2", (2.0, 1.0), 0.1))
    assert save(landscape, tmp_path / "bowl.png")[0].read_bytes()[:8] == PNG
    blow_up = plot_descent(run_descent(PARABOLA, 0.0, 1.1))
    assert save(blow_up, tmp_path / "blow-up.png")[0].read_bytes()[:8] == PNG
