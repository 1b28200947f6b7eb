"""The command line as a whole: exit statuses, and the installed ``nudgenet`` script."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nudgenet.cli import main


def test_usage_errors_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["train", "--sizes", "784,x"])
    assert exc.value.code == 2
    assert "comma-separated list of layer sizes" in capsys.readouterr().err


def test_installed_command_runs_as_a_subprocess(tmp_path: Path) -> None:
    exe = shutil.which("nudgenet", path=str(Path(sys.executable).parent))
    assert exe, "the nudgenet console script is not installed beside this Python"
    env = {**os.environ, "NUDGENET_DATA": str(tmp_path / "cache")}
    out = subprocess.run(
        [exe, "train", "--epochs", "1", "--out", str(tmp_path / "m.npz"), "--json"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["num_params"] == 13002
    bad = subprocess.run([exe, "info", str(tmp_path / "missing.npz")], capture_output=True,
                         text=True, timeout=60, check=False)  # fmt: skip
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: no model file at")
    assert "Traceback" not in bad.stderr


def test_help_lists_every_command_in_order(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    commands = ["train", "evaluate", "predict", "info", "gradcheck", "plot", "symmetry",
                "nudges", "landscape", "descend", "learning-rate", "curvature", "critical-rate",
                "serve", "sweep"]  # fmt: skip
    places = [re.search(rf"^    {name}\s", out, re.MULTILINE).start() for name in commands]
    assert places == sorted(places)
