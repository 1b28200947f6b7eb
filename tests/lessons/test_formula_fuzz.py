"""Whatever is typed as a cost, it is read or refused quickly, and never takes the machine down.

Hypothesis builds formulas of each kind that has hung, crashed or exhausted memory before
(nested powers, big exponents, towers, long sums, every allowed function, garbage), and
:func:`parse_cost` must answer each with a :class:`CostFunction` that evaluates, or with a
:class:`NudgenetError`, within its time budget. The worst ones also go through the real
command line, in a child process with 2 GB of address space, so that a bomb fails the test
rather than the machine.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nudgenet
from nudgenet.errors import NudgenetError
from nudgenet.lessons.formula import (
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    TIME_BUDGET,
    parse_cost,
    playground_cost,
)
from nudgenet.lessons.toy import divergence_reason, flat_point_kind, run_descent, valleys

QUICK = TIME_BUDGET + 5.0  # the budget, plus compiling the answer on a busy machine
CHILD_MEMORY = 2 * 2**30  # the address space of a command line run as a bomb
CHILD_TIMEOUT = 120.0  # seconds: a hang fails the test instead of holding it

# --------------------------------------------------------------------------- formulas

VARIABLES = st.sampled_from(["w", "w", "w", "x", "y"])
NUMBERS = st.one_of(
    st.integers(0, 10**6).map(str),
    st.integers(1, 400).map(lambda n: "9" * n),  # a literal of up to 400 digits
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["0", "1", "2", "0.5", "1e308", "1e400", "1e-400", "pi", "e"]),
)
NAMES = st.sampled_from([*FUNCTIONS, *FUNCTIONS, "sinh", "eval", "open", "__import__"])
OPERATORS = st.sampled_from(["+", "-", "*", "/", "**", "^"])


def _combine(parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(parts, OPERATORS, parts).map(lambda t: f"({t[0]}){t[1]}({t[2]})"),
        st.tuples(parts, OPERATORS, parts).map("".join),  # precedence as it falls
        parts.map(lambda p: f"-{p}"),
        st.tuples(NAMES, parts).map(lambda t: f"{t[0]}({t[1]})"),
    )


FORMULAS = st.recursive(st.one_of(VARIABLES, NUMBERS), _combine, max_leaves=30)


def _nested_powers(steps: list[tuple[int, int]]) -> str:
    text = "w+1"
    for power, shift in steps:
        text = f"({text})**{power}+{shift}"
    return text


def _tower(height: int, top: str, hat: str) -> str:
    return hat.join([top] * height)


def _functions_nested(names: list[str], inner: str) -> str:
    return "".join(f"{n}(" for n in names) + inner + ")" * len(names)


def _garbled(text: str, noise: str, where: int) -> str:
    where = where % (len(text) + 1)
    return text[:where] + noise + text[where:]


NESTED_POWERS = st.lists(
    st.tuples(st.integers(2, 60), st.integers(0, 9)), min_size=1, max_size=6
).map(_nested_powers)
BIG_EXPONENTS = st.one_of(
    st.tuples(st.one_of(VARIABLES, NUMBERS, FORMULAS), st.integers(0, 10**15)).map(
        lambda t: f"({t[0]})**{t[1]}"
    ),
    st.tuples(VARIABLES, st.integers(2, 99), st.integers(2, 99)).map(
        lambda t: f"{t[0]}**({t[1]}**{t[2]})"
    ),
    st.tuples(
        st.sampled_from(["sqrt(2)", "pi", "e", "2*w", "exp(w)", "(w+1)"]),
        st.integers(10, 10**12),
    ).map(lambda t: f"{t[0]}**{t[1]}"),
)
TOWERS = st.tuples(
    st.integers(2, 260),
    st.sampled_from(["w", "2", "9", "x", "(w+1)", "e"]),
    st.sampled_from(["**", "^"]),
).map(lambda t: _tower(*t))
LONG_SUMS = st.lists(st.one_of(FORMULAS, VARIABLES, NUMBERS), min_size=1, max_size=150).map(
    " + ".join
)
ALL_FUNCTIONS = st.one_of(
    st.tuples(
        st.lists(st.sampled_from(FUNCTIONS), min_size=1, max_size=40),
        st.sampled_from(["w", "w", "x*y", "w-3", "0", "1e300", "-w"]),
    ).map(lambda t: _functions_nested(*t)),
    st.tuples(st.sampled_from(FUNCTIONS), FORMULAS).map(lambda t: f"{t[0]}({t[1]})"),
)
GARBAGE = st.one_of(
    st.text(max_size=MAX_LENGTH + 20),
    st.text(
        alphabet="w()+-*/^.,;:'\"[]{}\\ 0123456789eE_jx\x00\t\n=<>!@#$%&|~`",
        max_size=MAX_LENGTH + 20,
    ),
    st.tuples(FORMULAS, st.text(max_size=5), st.integers(0, 10**6)).map(lambda t: _garbled(*t)),
)
KINDS: dict[str, st.SearchStrategy[str]] = {
    "nested powers": NESTED_POWERS,
    "big exponents": BIG_EXPONENTS,
    "towers": TOWERS,
    "long sums": LONG_SUMS,
    "all functions": ALL_FUNCTIONS,
    "garbage": GARBAGE,
}


def _read_or_refuse(text: str) -> str:
    """Parse and differentiate ``text`` as ``nudgenet descend`` would; what happened."""
    start = time.perf_counter()
    try:
        function = parse_cost(text)
    except NudgenetError as exc:
        refusal: NudgenetError | None = exc
    else:
        refusal = None
        point = [0.5] * function.n
        assert isinstance(function.cost(point), float)
        assert function.slope(point).shape == (function.n,)
        assert function.curvature(point).shape == (function.n, function.n)
        assert function.derivative_text
        valleys(function)
        flat_point_kind(function, point)
        divergence_reason(function, 0.1, point)
        with contextlib.suppress(NudgenetError):  # C may be undefined at the start
            run_descent(function, point, 0.1, steps=20)
    elapsed = time.perf_counter() - start
    assert elapsed < QUICK, f"{text!r} took {elapsed:.1f} s"
    if refusal is None:
        return "read"
    assert refusal.message
    assert refusal.help
    return "refused"


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(KINDS))
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_formula_is_read_or_refused_quickly(kind: str, data: st.DataObject) -> None:
    _read_or_refuse(data.draw(KINDS[kind], label=kind))


# --------------------------------------------------------------------------- plain cases

# Each kind of formula that hung, crashed or exhausted memory, and the limit that now answers.
BOMBS = {
    "(((((w+1)**9+1)**9+1)**9+1)**9+1)**9": "beyond the limit of 1000",  # degree 59,049
    "w**1000000": "degree 1,000,000",
    "w**(10**10)": "degree 10,000,000,000",
    "w**(10**400)": "too large a number",
    "sqrt(2)**(10**9)*w": "too large a number",
    "9**9**9**9 * w": "too large a number",
    "**".join(["w"] * 166): f"beyond the limit of {MAX_DEPTH}",  # hit Python's recursion
    "^".join(["w"] * 249): f"beyond the limit of {MAX_DEPTH}",
    "**".join(["w"] * 14): "more than 5,000 symbols",  # the curvature of a tower
    "sigmoid(" * 12 + "w" + ")" * 12: "more than 5,000 symbols",
    "abs(exp(exp(exp(exp(100))))-3)*w": f"within {TIME_BUDGET:g} s",  # SymPy's sign test
    "-" * (MAX_LENGTH - 1) + "w": None,  # read: 499 signs are one level
    "w" + "+w" * 249: None,  # read: a sum of 250 terms is one level
}


@pytest.mark.parametrize(("text", "words"), list(BOMBS.items()), ids=range(len(BOMBS)))
def test_the_known_bombs_are_answered_quickly(text: str, words: str | None) -> None:
    start = time.perf_counter()
    if words is None:
        assert parse_cost(text).n == 1
    else:
        with pytest.raises(NudgenetError, match="cannot use the cost") as info:
            parse_cost(text)
        assert words in info.value.message
        assert info.value.help
    assert time.perf_counter() - start < QUICK


def test_nested_powers_within_the_limits_are_read_and_descended() -> None:
    start = time.perf_counter()
    function = parse_cost("(((w+1)**9+1)**9+1)**9")  # degree 729: SymPy used to expand it
    assert function.degree == 729
    assert function.polynomial is None  # too high a degree to multiply out
    assert valleys(function) is None
    assert not function.is_quadratic()
    run = run_descent(function, 0.0, 1e-30, steps=50)
    assert run.steps
    assert time.perf_counter() - start < QUICK


def test_the_playground_refuses_nested_powers_by_their_degree() -> None:
    start = time.perf_counter()
    with pytest.raises(NudgenetError, match="degree 729") as info:
        playground_cost("(((w+1)^9+1)^9+1)^9")
    assert "limit of 100" in info.value.message
    assert time.perf_counter() - start < 2.0  # refused before SymPy starts


# --------------------------------------------------------------------------- the command line


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))


def _cli(*argv: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """``python -m nudgenet ARGV`` in a child limited to 2 GB; its result and its seconds."""
    env = {**os.environ, "PYTHONPATH": str(Path(nudgenet.__file__).parents[1])}
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "nudgenet", *argv], capture_output=True, text=True, env=env,
        timeout=CHILD_TIMEOUT, preexec_fn=_limit_memory, check=False,
    )  # fmt: skip
    return result, time.perf_counter() - start


CLI_BOMBS = [
    ["descend", "--", "(((((w+1)**5+1)**5+1)**5+1)**5+1)**4"],
    ["descend", "--", "w**1000000"],
    ["descend", "--", "w**(10**10)"],
    ["descend", "--", "**".join(["w"] * 166)],
    ["descend", "--", "abs(exp(exp(exp(exp(100))))-3)*w"],
    ["descend", "--", "9**9**9**9*w"],
    ["descend", "--", "sqrt(2)**(10**9)*w"],
    ["descend", "--", "(w+1)**999*(w+1)**999"],
    ["descend", "--steps", "1000000000"],
]


@pytest.mark.slow
@pytest.mark.parametrize("argv", CLI_BOMBS, ids=range(len(CLI_BOMBS)))
def test_the_command_line_refuses_bombs_in_two_lines(argv: list[str]) -> None:
    result, seconds = _cli(*argv)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["error", "help"], result.stderr
    assert seconds < CHILD_TIMEOUT / 2


@pytest.mark.slow
@pytest.mark.parametrize("text", ["(((w+1)**9+1)**9+1)**9", "abs(w-3)", "w*sin(10**300)"])
def test_the_command_line_descends_what_used_to_fail(text: str) -> None:
    result, _ = _cli("descend", "--json", "--", text)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_every_function_the_help_lists_is_differentiated() -> None:
    for name in FUNCTIONS:
        function = parse_cost(f"{name}(w) + w**2")
        slope = function.slope([0.5])
        assert np.all(np.isfinite(slope)), name
        assert np.all(np.isfinite(function.curvature([0.5]))), name
