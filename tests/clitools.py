"""Running the command line in-process, as the CLI tests do."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nudgenet.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``nudgenet ARGV...``: its exit status, stdout and stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    """``nudgenet ARGV... --json``, which must succeed: the one JSON object it prints."""
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)
