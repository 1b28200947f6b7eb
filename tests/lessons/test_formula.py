"""Cost formulas: safe parsing, symbolic slopes, and the web playground's limits."""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from nudgenet import ConfigError, parse_cost
from nudgenet.lessons import formula
from nudgenet.lessons.formula import (
    FUNCTIONS,
    MAX_DEGREE,
    MAX_DEPTH,
    MAX_DIGITS,
    MAX_LENGTH,
    MAX_NODES,
    MAX_POWER,
    POLYNOMIAL_TERMS,
    SMALL_DEGREE,
    TIME_BUDGET,
    check_powers,
    playground_cost,
    small_polynomial,
)
from nudgenet.lessons.toy import (
    MAX_STEPS,
    PARABOLA,
    check_derivative,
    flat_point_kind,
    run_descent,
    valleys,
)

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


# --------------------------------------------------------------------------- every function


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_listed_function_is_differentiated(name: str) -> None:
    one = parse_cost(f"{name}(w/2 + 1) + w**2")
    check = check_derivative(one, [0.5])
    assert check.relative_error < 1e-6, (name, check)
    assert np.all(np.isfinite(one.curvature([0.5])))
    two = parse_cost(f"{name}(x) * y")
    assert check_derivative(two, [0.5, 2.0]).relative_error < 1e-6
    assert np.all(np.isfinite(two.curvature([0.5, 2.0])))


def test_abs_has_the_subgradient_zero_at_its_kink() -> None:
    c = parse_cost("abs(w-3)")
    assert c.derivative_text == "sign(w - 3)"
    assert [c.slope([w])[0] for w in (2.0, 3.0, 4.0)] == [-1.0, 0.0, 1.0]
    assert c.at_kink([3.0])
    assert not c.at_kink([2.0])
    assert np.isnan(c.curvature([3.0])[0, 0])  # a corner has no curvature ...
    assert c.curvature([2.0])[0, 0] == 0.0  # ... a straight line has none to speak of
    assert flat_point_kind(c, [3.0]).startswith("the bottom of a V-shaped valley")
    assert "subgradient 0" in flat_point_kind(c, [3.0])
    run = run_descent(c, 0.0, 0.5)  # 0.5 at a time lands exactly on the kink
    assert run.converged
    assert run.final_point == (3.0,)
    assert valleys(c) is None  # not a polynomial
    assert parse_cost("sqrt(w**2)").derivative_text == "sign(w)"  # √(w²) = |w| for real w


def test_abs_of_a_function_that_is_not_known_to_be_real() -> None:
    c = parse_cost("abs(log(w))")  # SymPy's own |log w|' goes through re() and im()
    assert c.derivative_text == "sign(log(w))/w"
    assert c.slope([1.0])[0] == 0.0  # the kink at w = 1
    assert c.slope([math.e])[0] == pytest.approx(1 / math.e)
    assert c.curvature([0.5])[0, 0] == pytest.approx(4.0)  # −log w has C'' = 1/w²
    assert np.isnan(c.slope([-1.0])[0])  # log of a negative: undefined, not complex


def test_numbers_beyond_float64_evaluate_as_floats() -> None:
    assert -1 <= parse_cost("w*sin(10**300)").cost([1.0]) <= 1  # NumPy has no int sin
    assert parse_cost("w + 10**300").cost([1.0]) == 1e300


# --------------------------------------------------------------------------- the limits


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("w" + "+w" * ((MAX_LENGTH - 1) // 2), None),
        ("sin(" * (MAX_DEPTH - 1) + "w" + ")" * (MAX_DEPTH - 1), None),
        ("sin(" * MAX_DEPTH + "w" + ")" * MAX_DEPTH, f"{MAX_DEPTH + 1} deep, beyond the limit"),
        (f"w**{MAX_DEGREE}", None),
        (f"(w+1)**{MAX_DEGREE} - 1", None),
        (f"(w**10)**{MAX_DEGREE // 10}", None),
        (f"w**{MAX_DEGREE + 1}", f"degree {MAX_DEGREE + 1:,} when multiplied out"),
        (f"(w**10)**{MAX_DEGREE // 10 + 1}", f"degree {MAX_DEGREE + 10:,}"),
        (f"w**500 * w**{MAX_DEGREE - 499}", f"degree {MAX_DEGREE + 1:,}"),
        (f"1/w**{MAX_DEGREE + 1}", f"degree {MAX_DEGREE + 1:,}"),
        (f"exp(w)**{MAX_DEGREE + 1}", f"degree {MAX_DEGREE + 1:,}"),
        (f"10**{MAX_DIGITS}*w", None),
        (f"10**{MAX_DIGITS + 1}*w", f"beyond the limit of {MAX_DIGITS}"),
        (f"pi**{10 * MAX_DIGITS}*w", "too large a number"),
        ("w**(10**400)", "too large a number"),
        ("w**1e400", "beyond float64"),
        ("*".join(f"sin({k}*w)" for k in range(1, 11)), None),
        ("*".join(f"sin({k}*w)" for k in range(1, 17)), f"more than {MAX_NODES:,} symbols"),
    ],
)
def test_each_limit_lets_through_what_is_within_it(text: str, words: str | None) -> None:
    start = time.perf_counter()
    if words is None:
        assert parse_cost(text).n == 1
    else:
        with pytest.raises(ConfigError, match="cannot use the cost") as info:
            parse_cost(text)
        assert words in info.value.message
        assert "(w-3)**2" in (info.value.help or "")
    assert time.perf_counter() - start < TIME_BUDGET + 5


def test_a_formula_sympy_cannot_finish_is_stopped_at_the_budget() -> None:
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=f"within {TIME_BUDGET:g} s") as info:
        parse_cost("abs(exp(exp(exp(exp(100))))-3)*w")  # SymPy evaluates the sign inside
    assert "simpler cost" in (info.value.help or "")
    assert time.perf_counter() - start < TIME_BUDGET + 5
    assert parse_cost(PARABOLA).derivative_text == "2*w - 6"


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The budget as the command line has it: a fork, which sees what the test patches.

    (A process with threads asks a helper process instead, unless told to fork anyway.)
    """
    monkeypatch.setattr(formula, "_in_helper", formula._in_fork)
    return monkeypatch


def test_a_formula_that_needs_too_much_memory_is_refused(forking: pytest.MonkeyPatch) -> None:
    forking.setattr(formula, "MEMORY_BUDGET", 64 * 2**20)
    forking.setattr(formula, "_analyse", lambda text, degree: bytearray(2**30))
    with pytest.raises(ConfigError, match="needs more than 64 MiB") as info:
        parse_cost("w**2")
    assert "simpler cost" in (info.value.help or "")


def test_a_worker_that_dies_is_a_refusal(forking: pytest.MonkeyPatch) -> None:
    forking.setattr(formula, "_analyse", lambda text, degree: os._exit(3))
    with pytest.raises(ConfigError, match="ended without an answer"):
        parse_cost("w**2")


def test_a_slow_worker_is_killed(forking: pytest.MonkeyPatch) -> None:
    forking.setattr(formula, "TIME_BUDGET", 0.5)
    forking.setattr(formula, "_analyse", lambda text, degree: time.sleep(60))
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"within 0\.5 s"):
        parse_cost("w**2")
    assert time.perf_counter() - start < 5


def test_a_threaded_process_asks_a_helper_process() -> None:
    # In a process with threads (the web server) parse_cost does not fork.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(parse_cost, PARABOLA).result().derivative_text == "2*w - 6"
        with pytest.raises(ConfigError, match="unknown name 'z'"):
            pool.submit(parse_cost, "z**2").result()
        with pytest.raises(ConfigError, match=f"within {TIME_BUDGET:g} s"):
            pool.submit(parse_cost, "abs(exp(exp(exp(exp(100))))-3)*w").result()
        c = pool.submit(parse_cost, "abs(w-3)").result()  # a fresh helper, after the kill
        assert c.slope([3.0])[0] == 0.0


def test_descent_takes_at_most_max_steps() -> None:
    assert run_descent(PARABOLA, 0.0, 0.1, steps=MAX_STEPS).converged
    with pytest.raises(ConfigError, match=f"at most {MAX_STEPS:,}, got 1,000,000,000") as info:
        run_descent(PARABOLA, 0.0, 0.1, steps=10**9)
    assert info.value.help


def test_low_polynomials_are_multiplied_out_without_expanding_term_by_term() -> None:
    start = time.perf_counter()
    c = parse_cost("((w+1)**3+1)**4")  # degree 12: its valleys are listed
    assert c.polynomial.degree() == SMALL_DEGREE
    found = valleys(c)
    assert found  # the triple root w = −2 of the slope, perhaps more than once
    assert all(w == pytest.approx(-2.0) for w, _ in found)
    higher = parse_cost("((w+1)**3+1)**4 * w")  # degree 13: multiplied out, but no valleys
    assert higher.polynomial.degree() == SMALL_DEGREE + 1
    assert valleys(higher) is None
    assert parse_cost("(w + pi + e + sin(1) + sin(2) + sin(3))**12").polynomial is not None
    assert parse_cost(f"((w+1)**10+1)**{POLYNOMIAL_TERMS // 10 - 1}").polynomial is not None
    assert parse_cost(f"(w+1)**{POLYNOMIAL_TERMS}").polynomial is None
    assert parse_cost("(x/3 + y/7 + 1/11)**20").polynomial.total_degree() == 20
    assert parse_cost("(x/3 + y/7 + 1/11)**21").polynomial is None  # 253 terms
    assert time.perf_counter() - start < 5
