"""Tests for nudgenet.descent: θ ← θ − η∇C, from one parameter to many."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from nudgenet import ConfigError, DivergenceError, Step, descend, gradient_step, momentum_step
from nudgenet.descent import divergence_threshold

NUMBER = r"([-+\d.e]+)"


def limit_in(message: str) -> tuple[float, float, float, float]:
    """(cost, factor, base, threshold) from "grew to C, over the limit F × B = T"."""
    found = re.search(rf"grew to {NUMBER}, over the limit {NUMBER} × {NUMBER} = {NUMBER}", message)
    assert found, message
    cost, factor, base, threshold = (float(g) for g in found.groups())
    return cost, factor, base, threshold


def parabola(w: np.ndarray) -> tuple[float, np.ndarray]:
    """The seed's C(w) = (w − 3)², slope 2(w − 3)."""
    return float((w[0] - 3.0) ** 2), 2.0 * (w - 3.0)


def bowl(theta: np.ndarray) -> tuple[float, np.ndarray]:
    """An elongated convex bowl C = θ₀² + 10 θ₁², ∇C = (2θ₀, 20θ₁)."""
    scale = np.array([1.0, 10.0])
    return float(np.sum(scale * theta**2)), 2.0 * scale * theta


# ---------------------------------------------------------------------------------------------
# the seed's one-parameter example


def test_first_two_steps_of_the_seed_example() -> None:
    w = np.array([0.0])
    it = descend(parabola, w, 0.1, steps=10, record=True)
    first = next(it)
    assert first.step == 0
    assert first.learning_rate == 0.1
    assert first.cost == 9.0
    assert first.gradient_norm == 6.0
    assert first.gradient is not None
    assert first.gradient.tolist() == [-6.0]  # slope −6 at w = 0
    second = next(it)  # the update happens before the next step is reported
    assert w[0] == pytest.approx(0.6, abs=1e-12)
    assert second.gradient is not None
    assert second.gradient[0] == pytest.approx(-4.8, abs=1e-12)
    assert second.cost == pytest.approx(5.76, abs=1e-12)
    next(it)
    assert w[0] == pytest.approx(1.08, abs=1e-12)


def test_seed_example_sequence_is_geometric() -> None:
    # w_k − 3 = −3 · 0.8^k, so C_k = 9 · 0.64^k
    w = np.array([0.0])
    costs = [s.cost for s in descend(parabola, w, 0.1, steps=20)]
    np.testing.assert_allclose(costs, 9.0 * 0.64 ** np.arange(20), rtol=1e-12)
    assert w[0] == pytest.approx(3.0 - 3.0 * 0.8**20, abs=1e-12)


def test_converges_to_3_and_stops_on_tol() -> None:
    w = np.array([0.0])
    steps = list(descend(parabola, w, 0.1, steps=10_000, tol=1e-6))
    assert abs(w[0] - 3.0) < 1e-6
    # ‖∇C‖ = 6·0.8^k ≤ 1e-6 first at k = 70: stopped long before 10 000 steps
    assert len(steps) == math.ceil(math.log(1e-6 / 6) / math.log(0.8))
    assert steps[-1].gradient_norm > 1e-6


def test_tol_stops_before_updating() -> None:
    w = np.array([3.0])  # already at the bottom: slope 0
    assert list(descend(parabola, w, 0.1, steps=5, tol=0.0)) == []
    assert w[0] == 3.0


def test_steps_limits_the_number_of_updates() -> None:
    calls = []

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        calls.append(float(w[0]))
        return parabola(w)

    w = np.array([0.0])
    assert len(list(descend(objective, w, 0.1, steps=4))) == 4
    assert len(calls) == 4


# ---------------------------------------------------------------------------------------------
# the update rules, pure


def test_gradient_step_is_pure() -> None:
    theta = np.array([1.0, -2.0])
    grad = np.array([0.5, 4.0])
    before = theta.copy(), grad.copy()
    new = gradient_step(theta, grad, 0.25)
    np.testing.assert_array_equal(new, [1.0 - 0.125, -3.0])
    np.testing.assert_array_equal(theta, before[0])
    np.testing.assert_array_equal(grad, before[1])
    assert not np.shares_memory(new, theta)


def test_momentum_step_is_pure_and_classical() -> None:
    theta = np.array([1.0, -2.0])
    v = np.array([0.5, 0.25])
    g = np.array([2.0, -4.0])
    saved = theta.copy(), v.copy(), g.copy()
    new_theta, new_v = momentum_step(theta, v, g, 0.1, 0.9)
    # v′ = 0.9 v − 0.1 g = (0.45 − 0.2, 0.225 + 0.4)
    np.testing.assert_allclose(new_v, [0.25, 0.625], rtol=1e-15)
    np.testing.assert_allclose(new_theta, [1.25, -1.375], rtol=1e-15)
    for a, b in zip(saved, (theta, v, g), strict=True):
        np.testing.assert_array_equal(a, b)


def test_momentum_zero_is_plain_gradient_step() -> None:
    theta = np.array([1.0, -2.0, 0.3])
    g = np.array([0.7, 0.1, -5.0])
    new_theta, new_v = momentum_step(theta, np.array([9.0, 9.0, 9.0]), g, 0.2, 0.0)
    np.testing.assert_array_equal(new_theta, gradient_step(theta, g, 0.2))
    np.testing.assert_array_equal(new_v, -0.2 * g)


def test_descend_with_momentum_equals_repeated_momentum_steps() -> None:
    theta = np.array([4.0, -1.0])
    velocity = np.zeros(2)
    record = list(descend(bowl, theta, 0.01, steps=25, momentum=0.9, velocity=velocity))
    t, v = np.array([4.0, -1.0]), np.zeros(2)
    costs = []
    for _ in range(25):
        c, g = bowl(t)
        costs.append(c)
        t, v = momentum_step(t, v, g, 0.01, 0.9)
    np.testing.assert_array_equal(theta, t)
    np.testing.assert_array_equal(velocity, v)  # the caller's velocity was updated in place
    assert [s.cost for s in record] == costs


def test_descend_momentum_zero_equals_plain() -> None:
    a = np.array([4.0, -1.0])
    b = a.copy()
    list(descend(bowl, a, 0.04, steps=30))
    list(descend(bowl, b, 0.04, steps=30, momentum=0.0, velocity=np.ones(2)))
    np.testing.assert_array_equal(a, b)
    t = np.array([4.0, -1.0])
    for _ in range(30):
        t = gradient_step(t, bowl(t)[1], 0.04)
    np.testing.assert_array_equal(a, t)


def test_momentum_velocity_continues_across_calls() -> None:
    one = np.array([4.0, -1.0])
    list(descend(bowl, one, 0.01, steps=20, momentum=0.5))
    two = np.array([4.0, -1.0])
    v = np.zeros(2)
    list(descend(bowl, two, 0.01, steps=8, momentum=0.5, velocity=v))
    list(descend(bowl, two, 0.01, steps=12, momentum=0.5, velocity=v, start=8))
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("momentum", [-0.1, 1.0, 1.5])
def test_bad_momentum(momentum: float) -> None:
    with pytest.raises(ConfigError, match=r"momentum must be in \[0, 1\)"):
        list(descend(parabola, np.array([0.0]), 0.1, steps=1, momentum=momentum))


def test_steps_or_batches_required() -> None:
    with pytest.raises(ConfigError, match="number of steps or an iterable of batches"):
        list(descend(parabola, np.array([0.0]), 0.1))


# ---------------------------------------------------------------------------------------------
# schedules and batches


def test_schedule_and_start() -> None:
    w = np.array([0.0])
    rates = [
        s.learning_rate for s in descend(parabola, w, lambda k: 0.1 / (k + 1), steps=3, start=4)
    ]
    assert rates == [0.1 / 5, 0.1 / 6, 0.1 / 7]
    assert [s.step for s in descend(parabola, w, 0.1, steps=3, start=4)] == [4, 5, 6]


def test_a_schedule_reaching_zero_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"got 0\.0"):
        list(descend(parabola, np.array([0.0]), lambda k: 0.1 * (k < 2), steps=5))


def test_batches_are_passed_to_the_objective() -> None:
    seen = []

    def objective(theta: np.ndarray, target: float, weight: float) -> tuple[float, np.ndarray]:
        seen.append((target, weight))
        return weight * float((theta[0] - target) ** 2), weight * 2.0 * (theta - target)

    theta = np.array([0.0])
    batches = [(1.0, 1.0), (2.0, 0.5), (3.0, 1.0)]
    out = list(descend(objective, theta, 0.25, batches=batches))
    assert seen == batches
    assert len(out) == 3
    # w: 0 → 0.5 → 0.5+0.25·1.5 = 0.875 → 0.875 + 0.25·2·2.125 = 1.9375
    assert theta[0] == pytest.approx(1.9375, abs=1e-15)


def test_steps_cuts_batches_short() -> None:
    theta = np.array([0.0])
    out = list(
        descend(lambda t, c: parabola(t), theta, 0.1, batches=[(i,) for i in range(10)], steps=3)
    )
    assert len(out) == 3


# ---------------------------------------------------------------------------------------------
# divergence


def test_too_large_learning_rate_diverges() -> None:
    # η = 1.5: w − 3 ← (1 − 2η)(w − 3) = −2(w − 3), the cost quadruples every step.
    w = np.array([0.0])
    seen: list[Step] = []
    with pytest.raises(DivergenceError) as info:
        seen.extend(descend(parabola, w, 1.5, steps=1000))
    message = str(info.value)
    assert "learning rate 1.5" in message
    assert "smaller learning rate" in message
    assert "--lr 0.15" in message
    assert "the cost grew to" in message
    # 9·4^k > 10·9 first at k = 2
    assert len(seen) == 2
    assert isinstance(info.value, ArithmeticError)
    assert np.isfinite(w).all()


@pytest.mark.parametrize(
    ("start", "factor", "baseline"), [(0.0, 10.0, None), (0.0, 3.0, None), (0.0, 10.0, 0.5)]
)
def test_the_divergence_message_states_the_threshold_it_applied(
    start: float, factor: float, baseline: float | None
) -> None:
    with pytest.raises(DivergenceError) as info:
        list(descend(parabola, np.array([start]), 1.5, steps=100, divergence_factor=factor,
                     baseline=baseline))  # fmt: skip
    cost, f, base, threshold = limit_in(info.value.message)
    c0 = parabola(np.array([start]))[0] if baseline is None else baseline
    assert f == factor
    assert base == pytest.approx(abs(c0), rel=5e-4)
    assert threshold == pytest.approx(divergence_threshold(c0, factor), rel=5e-4)
    assert threshold == pytest.approx(f * base, rel=1e-3)
    assert cost > threshold
    assert "|C₀|" in info.value.message


def test_a_zero_start_is_measured_against_the_floor() -> None:
    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return float(theta[0]), np.array([-1.0])  # C grows by η each step, from 0

    with pytest.raises(DivergenceError) as info:
        list(descend(objective, np.array([0.0]), 1.0, steps=3))
    _, factor, base, threshold = limit_in(info.value.message)
    assert (factor, base, threshold) == (10.0, 1e-12, pytest.approx(1e-11))
    assert "floor" in info.value.message


def test_divergence_factor_none_only_checks_finiteness() -> None:
    w = np.array([0.0])
    out = list(descend(parabola, w, 1.5, steps=15, divergence_factor=None))
    assert len(out) == 15
    assert out[-1].cost == pytest.approx(9.0 * 4.0**14)


def test_nan_cost_raises() -> None:
    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return (float("nan") if theta[0] > 0.5 else 1.0), np.array([-1.0])

    theta = np.array([0.0])
    with pytest.raises(DivergenceError, match="the cost became nan") as info:
        list(descend(objective, theta, 0.3, steps=10))
    assert "learning rate 0.3" in str(info.value)
    assert "step 2" in str(info.value)


def test_nan_gradient_raises() -> None:
    with pytest.raises(DivergenceError, match="gradient's norm became inf"):
        list(descend(lambda t: (1.0, np.array([np.inf])), np.array([0.0]), 0.1, steps=3))


def test_first_cost_nan_raises() -> None:
    with pytest.raises(DivergenceError):
        list(descend(lambda t: (float("nan"), np.zeros(1)), np.array([0.0]), 0.1, steps=3))


# ---------------------------------------------------------------------------------------------
# records


def test_record_copies_theta_and_gradient() -> None:
    w = np.array([0.0])
    steps = list(descend(parabola, w, 0.1, steps=3, record=True))
    thetas = [s.theta for s in steps]
    assert all(t is not None for t in thetas)
    assert [float(t[0]) for t in thetas] == pytest.approx([0.0, 0.6, 1.08])  # type: ignore[index]
    assert all(not np.shares_memory(t, w) for t in thetas)  # type: ignore[arg-type]
    assert [float(s.gradient[0]) for s in steps] == pytest.approx([-6.0, -4.8, -3.84])  # type: ignore[index]


def test_no_record_keeps_nothing() -> None:
    steps = list(descend(parabola, np.array([0.0]), 0.1, steps=2))
    assert all(s.theta is None and s.gradient is None for s in steps)


def test_theta_is_updated_in_place_and_views_follow() -> None:
    theta = np.array([4.0, -1.0])
    view = theta[1:]
    list(descend(bowl, theta, 0.01, steps=3))
    assert view[0] == theta[1]
    assert theta[1] == pytest.approx(-1.0 * 0.8**3)


def test_float32_theta() -> None:
    theta = np.array([4.0, -1.0], dtype=np.float32)
    list(descend(bowl, theta, 0.01, steps=50, momentum=0.9))
    assert theta.dtype == np.float32
    assert bowl(theta)[0] < 1e-2 * bowl(np.array([4.0, -1.0]))[0]
