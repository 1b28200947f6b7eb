"""The power rule lesson: the rule term by term equals SymPy's derivative, and the difference
quotient it tabulates closes in on that slope."""

from __future__ import annotations

import math

import pytest

from nudgenet import ConfigError, parse_cost
from nudgenet.lessons.power_rule import EXAMPLES, STEPS, power_rule, power_rules


@pytest.fixture(scope="module")
def rules():
    return power_rules()


def test_every_example_obeys_the_rule_and_the_limit(rules) -> None:
    assert [r.text for r in rules] == list(EXAMPLES)
    for r in rules:
        function = parse_cost(r.text)
        assert r.agree, r.text
        assert r.rule_text == r.sympy_text
        assert r.slope == float(function.slope([r.point])[0])
        assert [row.h for row in r.rows] == list(STEPS)
        for row in r.rows:  # the table's numbers are the quotients themselves
            c = function.cost
            assert row.quotient == (c([r.point + row.h]) - c([r.point])) / row.h
            assert row.error == abs(row.quotient - r.slope)
        assert r.converges
        assert r.rows[-1].error < 1e-4 * max(1.0, abs(r.slope))


def test_pure_powers_have_slope_n_w_to_the_n_minus_1(rules) -> None:
    by_text = {r.text: r for r in rules}
    for text, n in (("w**2", 2), ("w**3", 3), ("w**-1", -1), ("sqrt(w)", 0.5)):
        r = by_text[text]
        assert [t.exponent for t in r.terms] == [n]
        assert math.isclose(r.slope, n * r.point ** (n - 1), rel_tol=1e-12)


def test_the_notes_parabola_at_its_start() -> None:
    r = power_rule("(w-3)**2", 0.0)
    assert r.rule_text == "2*w - 6"
    assert r.slope == -6.0
    # (C(h) − C(0))/h = h − 6: the error is h itself
    for row in r.rows:
        assert row.error == pytest.approx(row.h, rel=1e-3)  # up to rounding


def test_sums_of_powers_are_read_term_by_term() -> None:
    r = power_rule("w**4 - 3*w**2 + w", 1.0)
    assert sorted(t.exponent for t in r.terms) == [1.0, 2.0, 4.0]
    assert r.rule_text == "4*w**3 - 6*w + 1"
    assert r.slope == -1.0


@pytest.mark.parametrize(
    ("cost", "why"),
    [("sin(w)", "not a power"), ("x**2 + y**2", "w alone"), ("(w**2+1)**3", "not a power")],
)
def test_what_is_not_a_sum_of_powers_is_refused(cost: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        power_rule(cost)


def test_a_point_where_the_slope_is_undefined_is_refused() -> None:
    with pytest.raises(ConfigError, match="no slope"):
        power_rule("w**-1", 0.0)


def test_powers_beyond_the_bound_are_refused_before_sympy_expands_them() -> None:
    with pytest.raises(ConfigError, match="beyond the 100"):
        power_rule("(w+1)**1000")
