"""docs/lesson-note.md shows what the commands print: each console block is run again."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from clitools import run

DOC = Path(__file__).resolve().parents[2] / "docs" / "lesson-note.md"
BLOCK = re.compile(r"```console\n\$ (nudgenet [^\n]*)\n(.*?)```", re.DOTALL)


def _blocks() -> dict[str, str]:
    return {command: out for command, out in BLOCK.findall(DOC.read_text(encoding="utf-8"))}


def test_the_page_has_a_block_per_command() -> None:
    commands = [c.split()[1] for c in _blocks()]
    assert commands == ["power-rule", "why-squared", "steepest", "one-weight", "momentum"]


@pytest.mark.parametrize(
    "command",
    [pytest.param(c, marks=pytest.mark.slow) if "why-squared" in c else c for c in _blocks()],
)
def test_each_block_is_what_the_command_prints(capsys, command: str) -> None:
    code, out, _ = run(capsys, *shlex.split(command)[1:])
    assert code == 0
    got, got_errors = _rounding_apart(out.rstrip("\n"))
    shown, shown_errors = _rounding_apart(_blocks()[command].rstrip("\n"))
    assert got == shown
    assert len(got_errors) == len(shown_errors)
    assert all(e < 1e-6 for e in got_errors + shown_errors)  # what the page says of them


# A central difference's relative error against backprop is float64 rounding (about 1e-7 for
# the small random slopes), whose last digit moves with the machine's BLAS kernels.
_RELATIVE_ERROR = re.compile(r"relative error ([0-9.e+-]+)")


def _rounding_apart(text: str) -> tuple[str, list[float]]:
    """The text with each relative error replaced by a mark, and those errors."""
    errors = [float(e) for e in _RELATIVE_ERROR.findall(text)]
    return _RELATIVE_ERROR.sub("relative error …", text), errors


README = DOC.parents[1] / "README.md"


@pytest.mark.parametrize(
    ("readme", "shown"),
    [
        ("−5, −5.9, −5.99, … → −6", ["-5 ", "-5.9 ", "-5.99 ", "dC/dw = -6"]),
        ("signed error sums to −0.000008 (squared 0.567)", ["signed sum -0.000008", "0.5667"]),
        ("carry 27.3% of the squared cost, 11.1% of the absolute one", ["27.3%", "11.1%"]),
        ("the best is 36.6× less steep", ["is 36.6× less steep"]),
        ("mean \\|cos\\| 0.007", ["mean |cos(u, ∇C)| = 0.00699"]),
        ("at η = 0.09 (84 steps)", ["plain descent              84"]),
        ("μ = 0.332 at the same η (35 steps)", ["μ = 0.332: 35 steps, fewer"]),
        ("μ = 0.9 spiralling (307)", ["μ = 0.9: 307 steps, more"]),
    ],
)
def test_the_readme_quotes_the_page(readme: str, shown: list[str]) -> None:
    """The README's lesson table repeats numbers of the page, whose blocks are run above."""
    assert readme in README.read_text(encoding="utf-8")
    blocks = "\n".join(_blocks().values())
    for text in shown:
        assert text in blocks
