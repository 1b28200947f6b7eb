"""Cost formulas: safe parsing, symbolic slopes, and the web playground's limits."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from nudgenet import ConfigError, parse_cost
from nudgenet.lessons.formula import (
    MAX_POWER,
    check_powers,
    playground_cost,
    small_polynomial,
)
from nudgenet.lessons.toy import PARABOLA

# --------------------------------------------------------------------------- parsing


def test_the_power_rule_gives_the_notes_derivative() -> None:
    c = parse_cost(PARABOLA)
    assert c.variables == ("w",)
    assert c.derivative_text == "2*w - 6"
    assert c.objective(np.array([0.0])) == (9.0, pytest.approx(np.array([-6.0])))


@pytest.mark.parametrize(
    ("text", "derivative"),
    [
        ("w**3", "3*w**2"),
        ("w^2 + 1", "2*w"),  # ^ is a power and binds like **, not like Python's xor
        ("3*w**2 - 2*w + 7", "6*w - 2"),
        ("x**2 + 3*y**2", "(2*x, 6*y)"),
        ("x*y", "(y, x)"),
        ("sigmoid(w)", "exp(-w)/(1 + exp(-w))**2"),
    ],
)
def test_derivatives(text: str, derivative: str) -> None:
    assert parse_cost(text).derivative_text == derivative


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("__import__('os').system('true')", "not an allowed function"),
        ("open('/etc/passwd')", "'open' is not an allowed function"),
        ("w.real", "attribute access"),
        ("(w).__class__", "attribute access"),
        ("z**2", "unknown name 'z'"),
        ("exp", "a function needs parentheses"),
        ("exp(w, 2)", "exactly one argument"),
        ("exp(x=w)", "exactly one argument"),
        ("'w'", "not a real number"),
        ("True * w", "not a real number"),
        ("2j * w", "not a real number"),
        ("lambda: w", "is not allowed"),
        ("w[0]", "is not allowed"),
        ("[w]", "is not allowed"),
        ("w if w else 1", "is not allowed"),
        ("w == 3", "is not allowed"),
        ("(w", "not a formula"),
        ("w w", "not a formula"),
        ("w; import os", "not a formula"),
        ("", "empty"),
        ("   ", "empty"),
        ("7", "no variable"),
        ("w + x", "mixes w with x and y"),
        ("sqrt(-1) * w", "not a real-valued formula"),
        ("1/0 + w", "not a real-valued formula"),
        ("w + 1e400", "not a real-valued formula"),
        ("9**9**9 * w", "too large a number"),
        ("w" + " + w" * 200, "longer than 500 characters"),
    ],
)
def test_bad_formulas_are_refused_clearly(text: str, why: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="cannot use the cost") as info:
        parse_cost(text)
    assert why in info.value.message
    assert "(w-3)**2" in (info.value.help or "")
    assert time.perf_counter() - start < 2.0  # refused, not computed


def test_parsing_never_runs_the_text(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(ConfigError):
        parse_cost(f"__import__('pathlib').Path({str(marker)!r}).touch() or w")
    assert not marker.exists()


# --------------------------------------------------------------------------- the playground


def test_the_playground_takes_one_parameter_and_small_powers() -> None:
    assert playground_cost("(w-3)^2").derivative_text == "2*w - 6"
    with pytest.raises(ConfigError, match="one parameter w") as info:
        playground_cost("x**2 + y**2")
    assert "x and y" in info.value.message
    assert "nudgenet descend --start" in (info.value.help or "")
    with pytest.raises(ConfigError, match=f"limit of {MAX_POWER}"):
        playground_cost("(w+1)^100000")
    with pytest.raises(ConfigError, match="cannot use the cost"):
        playground_cost("w.real")  # parse_cost's own refusals come first


def test_powers_at_the_limit_are_allowed() -> None:
    check_powers(parse_cost(f"w^{MAX_POWER} + w^-{MAX_POWER}"))
    with pytest.raises(ConfigError, match="the power 101"):
        check_powers(parse_cost("w^101"))
    check_powers(parse_cost("w^101"), limit=200)


@pytest.mark.parametrize(
    ("text", "small"),
    [("(w-3)**2", True), ("w**12 + w", True), ("w**13", False), ("sin(w)", False)],
)
def test_small_polynomials(text: str, small: bool) -> None:
    assert small_polynomial(parse_cost(text)) is small
