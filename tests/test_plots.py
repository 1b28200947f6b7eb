"""Figure plumbing: files appear whole, in the formats asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from nudgenet import ConfigError
from nudgenet.plots import figure, save


def test_save_writes_png_and_svg(tmp_path: Path) -> None:
    fig, ax = figure()
    ax.plot([0, 1], [1, 0])
    written = save(fig, tmp_path / "line.png", formats=("png", "svg"))
    assert written == [tmp_path / "line.png", tmp_path / "line.svg"]
    assert (tmp_path / "line.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (tmp_path / "line.svg").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["line.png", "line.svg"]


def test_save_refuses_unknown_format_and_missing_folder(tmp_path: Path) -> None:
    fig, _ = figure()
    with pytest.raises(ConfigError, match="unknown figure format 'gif'"):
        save(fig, tmp_path / "x.png", formats=("gif",))
    with pytest.raises(ConfigError, match="does not exist"):
        save(fig, tmp_path / "missing" / "x.png")
    assert list(tmp_path.iterdir()) == []
