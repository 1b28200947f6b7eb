"""Atomic writes: whole files or none, clear errors, and no temporary file left for good."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nudgenet.errors import OutputError
from nudgenet.files import (
    STALE_SECONDS,
    TEMP_SUFFIX,
    atomic_write,
    check_folder,
    check_writable,
    remove_stale,
    temp_pattern,
    temp_prefix,
)

SRC = Path(__file__).resolve().parents[1] / "src"


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_failed_block_keeps_the_old_file_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")

    def half_then_fail() -> None:
        with atomic_write(target) as f:
            f.write(b"half")
            raise RuntimeError("stopped mid-way")

    with pytest.raises(RuntimeError):
        half_then_fail()
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_temporary_names_have_one_pattern_and_fit_beside_long_names(tmp_path: Path) -> None:
    for name in ("m.npz", "x" * 255, "é" * 127):  # the last: 254 bytes in UTF-8
        seen = []
        with atomic_write(tmp_path / name) as f:
            seen = [p.name for p in tmp_path.iterdir() if p.name.endswith(TEMP_SUFFIX)]
            f.write(b"1")
        assert len(seen) == 1
        assert temp_pattern(name).fullmatch(seen[0])
        assert len(os.fsencode(seen[0])) <= 255
        assert (tmp_path / name).read_bytes() == b"1"
    assert temp_prefix("a.png") == ".a.png."
    # The pattern of one target does not match another's temporary files.
    assert not temp_pattern("a.png").fullmatch(".a.png.x.png.abcdefgh" + TEMP_SUFFIX)


def test_a_killed_save_leaves_a_temporary_file_that_a_later_save_removes(tmp_path: Path) -> None:
    target = tmp_path / "model.npz"
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(SRC)!r})
        from nudgenet.files import atomic_write
        with atomic_write({str(target)!r}) as f:
            f.write(b"half a model")
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    killed = subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
    assert killed.returncode == -signal.SIGKILL
    left = [p for p in tmp_path.iterdir() if temp_pattern(target.name).fullmatch(p.name)]
    assert len(left) == 1
    assert not target.exists()

    # A temporary file younger than STALE_SECONDS may belong to a save in progress: kept.
    with atomic_write(target) as f:
        f.write(b"whole")
    assert left[0].exists()
    # Once stale, the next save into the folder removes it; other files stay.
    _age(left[0], STALE_SECONDS + 60)
    other = tmp_path / (".other.npz.abcdefgh" + TEMP_SUFFIX)
    other.write_bytes(b"")
    _age(other, STALE_SECONDS + 60)
    earlier = tmp_path / ".model.npz.abcdefgh.tmp"  # the name earlier versions used
    earlier.write_bytes(b"")
    _age(earlier, STALE_SECONDS + 60)
    with atomic_write(target) as f:
        f.write(b"again")
    assert not left[0].exists()
    assert not earlier.exists()
    assert other.exists()
    assert target.read_bytes() == b"again"


def test_remove_stale_touches_only_old_regular_files_of_the_target(tmp_path: Path) -> None:
    folder = tmp_path / (".t.txt.abcdefgh" + TEMP_SUFFIX)
    folder.mkdir()
    _age(folder, 2 * STALE_SECONDS)
    assert remove_stale(tmp_path / "t.txt") == []
    assert folder.is_dir()
    assert remove_stale(tmp_path / "missing-folder" / "t.txt") == []


def test_overwrite_false_keeps_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "kept.npz"
    target.write_bytes(b"mine")
    with (
        pytest.raises(OutputError, match="File exists"),
        atomic_write(target, overwrite=False) as f,
    ):
        f.write(b"theirs")
    assert target.read_bytes() == b"mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.npz"]
    with atomic_write(tmp_path / "new.npz", overwrite=False) as f:
        f.write(b"new")
    assert (tmp_path / "new.npz").read_bytes() == b"new"


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (lambda d: d, "it is a folder, not a file"),
        (lambda d: d / "afile" / "x.npz", "the folder .* is a file"),
        (lambda d: d / "missing" / "x.npz", "does not exist"),
        (lambda d: d / ("x" * 256), "the name is 256 bytes long"),
        (lambda d: d / ("x" * 300) / "y.npz", "File name too long"),
    ],
)
def test_unwritable_places_raise_output_error(tmp_path: Path, where, message: str) -> None:
    (tmp_path / "afile").write_text("x")
    path = where(tmp_path)
    with pytest.raises(OutputError, match=message) as exc:
        check_writable(path)
    assert exc.value.help
    with pytest.raises(OutputError, match=message), atomic_write(path) as f:
        f.write(b"1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_check_folder_accepts_new_folders_and_refuses_files(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    assert check_folder(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # nothing is created
    with pytest.raises(OutputError, match="it is a file, not a folder"):
        check_folder(tmp_path / "afile")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_folder(tmp_path / "afile" / "sub")
    with pytest.raises(OutputError, match="does not exist"):
        check_folder(tmp_path / "new", exists=True)


def test_a_full_disk_is_an_output_error(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    # /dev/full refuses every write with ENOSPC: as if the disk filled up mid-block.

    def write_on_a_full_disk() -> None:
        with atomic_write(tmp_path / "x.bin") as f, open("/dev/full", "wb") as full:
            f.write(b"never")
            full.write(b"x" * 10)
            full.flush()

    with pytest.raises(OutputError, match="No space left") as exc:
        write_on_a_full_disk()
    assert "disk is full" in (exc.value.help or "")
    assert list(tmp_path.iterdir()) == []
