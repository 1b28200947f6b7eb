"""The shared flags and parsers: every choice list read from the option table, once."""

from __future__ import annotations

import argparse
import json

import pytest

from nudgenet import options
from nudgenet.cli import build_parser, main
from nudgenet.cli.common import float_list, int_list, parse_seeds, print_json

TABLE = {
    option.name: option for option in vars(options).values() if isinstance(option, options.Choice)
}


def _flags(parser: argparse.ArgumentParser):
    """Every (command, action) of the parser's subcommands."""
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        for action in sub._actions:
            yield name, action


def test_every_choice_flag_offers_the_tables_list() -> None:
    checked = 0
    for command, action in _flags(build_parser()):
        name = action.option_strings[0][2:] if action.option_strings else None
        if name in TABLE:
            assert tuple(action.choices) == TABLE[name].values, f"{command} --{name}"
            checked += 1
    assert checked >= 15  # train, gradcheck, sweep, nudges, landscape, …


def test_list_flags_check_against_the_table() -> None:
    for command, action in _flags(build_parser()):
        if action.option_strings and action.option_strings[0] in ("--schedules", "--inits"):
            assert action.option in (options.SCHEDULE, options.INIT), command


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sweep", "--inits", "xavier,foo"], "unknown init 'foo'"),
        (["sweep", "--schedules", "warmup"], "unknown schedule 'warmup'"),
        (["learning-rate", "--schedules", "cosine,warmup"], "unknown schedule 'warmup'"),
    ],
)
def test_an_unknown_name_in_a_list_flag_is_one_error_line(argv, message, capsys) -> None:
    # Refused while the flags are read, before anything runs, as the library refuses it.
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[0].startswith(f"error: {message}; choose from ")
    assert err.splitlines()[1].startswith("help: e.g. --")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0-4", (0, 1, 2, 3, 4)), ("3", (3,)), ("2,0,7", (2, 0, 7)), ("5-5", (5,))],
)
def test_seeds_as_a_range_or_a_list(text: str, expected: tuple[int, ...]) -> None:
    assert parse_seeds(text) == expected


@pytest.mark.parametrize("text", ["4-0", "a", "0-", "1,x", "0-2,3"])
def test_badly_spelled_seeds_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="seeds like 0-4 or 0,1,2"):
        parse_seeds(text)


def test_number_lists() -> None:
    assert float_list("0.01,1,1e3") == (0.01, 1.0, 1000.0)
    assert int_list("10,0") == (10, 0)
    with pytest.raises(argparse.ArgumentTypeError, match="list of numbers"):
        float_list("1,x")
    with pytest.raises(argparse.ArgumentTypeError, match="list of whole numbers"):
        int_list("1.5")


def test_json_output_is_strict(capsys) -> None:
    print_json({"a": float("nan"), "b": [1.0, float("inf"), (2, -float("inf"))], "c": "x"})
    assert json.loads(capsys.readouterr().out) == {"a": None, "b": [1.0, None, [2, None]],
                                                    "c": "x"}  # fmt: skip
