"""The repository itself: no file left half-merged."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^(<{7}|={7}|>{7})( |$)", re.MULTILINE)


def _tracked_text_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: no list of tracked files")
    suffixes = {".py", ".md", ".toml", ".txt", ".html", ".js", ".css", ".json", ".cfg", ""}
    return [ROOT / name for name in listed if Path(name).suffix in suffixes]


def test_no_merge_conflict_markers() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{text[: m.start()].count(chr(10)) + 1}"
        for path in _tracked_text_files()
        if path.is_file()
        for text in [path.read_text(encoding="utf-8", errors="replace")]
        for m in MARKER.finditer(text)
    ]
    assert not found, f"merge conflict markers left in: {found}"
