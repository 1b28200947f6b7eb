"""Tests for nudgenet.schedules: η_k as pure functions of the step number k."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest

from nudgenet import ConfigError, make_schedule
from nudgenet.schedules import (
    SCHEDULES,
    check_learning_rate,
    constant,
    cosine,
    exponential,
    inverse_time,
    step,
)


def test_constant() -> None:
    s = constant(0.3)
    assert [s(k) for k in (0, 1, 10, 10**6)] == [0.3] * 4


def test_step_formula() -> None:
    s = step(2.0, every=3, factor=0.1)
    assert [s(k) for k in range(7)] == pytest.approx([2.0, 2.0, 2.0, 0.2, 0.2, 0.2, 0.02])
    assert step(1.0, every=2)(5) == 0.25  # default factor ½: ⌊5/2⌋ = 2 halvings


def test_step_every_at_least_one() -> None:
    s = step(1.0, every=0)
    assert [s(k) for k in range(3)] == [1.0, 0.5, 0.25]


def test_exponential_formula() -> None:
    s = exponential(2.0, total=100, final=0.01)
    assert s(0) == 2.0
    assert s(50) == pytest.approx(2.0 * 0.1, rel=1e-12)  # 0.01^(1/2)
    assert s(100) == pytest.approx(0.02, rel=1e-12)
    assert s(25) == pytest.approx(2.0 * 0.01**0.25, rel=1e-12)
    assert s(1000) == s(100)  # stays at final·η after total


def test_inverse_time_formula() -> None:
    s = inverse_time(3.0, every=10)
    assert s(0) == 3.0
    assert s(10) == 1.5
    assert s(20) == 1.0
    assert s(5) == pytest.approx(2.0)


def test_cosine_formula() -> None:
    s = cosine(1.0, total=100)
    assert s(0) == 1.0
    assert s(50) == pytest.approx(0.5, abs=1e-15)
    assert s(25) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)), rel=1e-14)
    assert s(100) == pytest.approx(0.0, abs=1e-16)
    assert s(500) == s(100)
    f = cosine(2.0, total=10, final=0.1)
    assert f(10) == pytest.approx(0.2, rel=1e-14)
    assert f(5) == pytest.approx(0.2 + 1.8 * 0.5, rel=1e-14)


def test_make_schedule_step_halves_each_quarter() -> None:
    s = make_schedule("step", 0.8, total_steps=100, steps_per_epoch=10)
    assert [s(k) for k in (0, 24, 25, 49, 50, 75, 99)] == [0.8, 0.8, 0.4, 0.4, 0.2, 0.1, 0.1]


def test_make_schedule_exponential_ends_at_a_hundredth() -> None:
    s = make_schedule("exponential", 3.0, total_steps=40, steps_per_epoch=4)
    assert s(0) == 3.0
    assert s(40) == pytest.approx(0.03, rel=1e-12)


def test_make_schedule_inverse_time_halves_after_one_epoch() -> None:
    s = make_schedule("inverse-time", 1.0, total_steps=600, steps_per_epoch=60)
    assert s(60) == 0.5
    assert s(120) == pytest.approx(1 / 3)


def test_make_schedule_cosine_ends_at_zero() -> None:
    s = make_schedule("cosine", 1.0, total_steps=20, steps_per_epoch=5)
    assert s(0) == 1.0
    assert s(20) == pytest.approx(0.0, abs=1e-16)
    assert s(10) == pytest.approx(0.5)


def test_make_schedule_constant() -> None:
    s = make_schedule("constant", 0.05, total_steps=10, steps_per_epoch=1)
    assert s(0) == s(9) == 0.05


@pytest.mark.parametrize("name", SCHEDULES)
def test_every_schedule_positive_while_training(name: str) -> None:
    total = 97
    s = make_schedule(name, 0.5, total_steps=total, steps_per_epoch=7)
    rates = [s(k) for k in range(total)]  # the steps training takes: k = 0 … total − 1
    assert all(r > 0 and math.isfinite(r) for r in rates)
    assert rates[0] == 0.5
    if name != "constant":
        assert all(a >= b for a, b in pairwise(rates))
        assert rates[-1] < 0.5


def test_schedule_names() -> None:
    assert SCHEDULES == ("constant", "step", "exponential", "inverse-time", "cosine")


def test_unknown_schedule() -> None:
    with pytest.raises(ConfigError, match=r"unknown schedule 'linear'; choose one of constant"):
        make_schedule("linear", 0.1, total_steps=10, steps_per_epoch=1)


@pytest.mark.parametrize(
    ("lr", "shown"), [(0, "0"), (0.0, "0.0"), (-1, "-1"), (math.nan, "nan"), (math.inf, "inf")]
)
def test_bad_learning_rate_is_named(lr: float, shown: str) -> None:
    with pytest.raises(ConfigError, match=rf"positive finite number, got {shown}\b") as info:
        make_schedule("constant", lr, total_steps=10, steps_per_epoch=1)
    assert "help:" in str(info.value)
    with pytest.raises(ConfigError, match=rf"got {shown}"):
        check_learning_rate(lr)


@pytest.mark.parametrize("lr", ["0.1", None, -math.inf])
def test_non_numbers_are_not_learning_rates(lr: object) -> None:
    with pytest.raises(ConfigError):
        check_learning_rate(lr)  # type: ignore[arg-type]


def test_numpy_learning_rates_are_accepted() -> None:
    check_learning_rate(np.float64(0.1))
    check_learning_rate(np.float32(0.1))
    check_learning_rate(3)
