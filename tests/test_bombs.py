"""Files built to exhaust memory, and files we may not read, through the real command line.

Each bomb is a few MB at most on disk (see :mod:`bombs`) and would cost gigabytes if its
sizes were believed. The CLI runs in a subprocess limited to 2 GiB of address space, so a
bomb that is not refused ends in a MemoryError and a traceback instead of an ``error:``
line; the peak resident memory it reached is checked too.
"""

from __future__ import annotations

import ctypes
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from bombs import (
    GiB,
    MiB,
    deflate_zeros,
    deflated,
    gzip_bomb_folder,
    huge_header_model,
    model_meta,
    npy_header,
    npy_member,
    run_cli,
    write_zip,
    zip_bomb_model,
)
from datatools import small_set, write_folder
from PIL import Image

from nudgenet import Model, Network, init_params
from nudgenet.data import MNIST_FILES

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is Linux's")

PEAK = 400 * MiB
"""What refusing a bomb may cost at most: the interpreter, NumPy and nudgenet are ~100 MB."""


def assert_refused(proc: subprocess.CompletedProcess[str], peak: int, *words: str) -> str:
    """Exit status 1, one ``error:`` line then one ``help:`` line, no traceback, little memory."""
    err = proc.stderr
    assert "Traceback" not in err, err
    assert "MemoryError" not in err, err
    assert proc.returncode == 1, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert [line.split(":")[0] for line in lines] == ["error", "help"], err
    for word in words:
        assert word in lines[0], err
    assert peak < PEAK, f"refusing took {peak / MiB:.0f} MiB"
    return lines[0]


@pytest.fixture(scope="module")
def seed_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid model with the seed's 784 inputs, to predict with."""
    network = Network()
    theta = init_params(network.layout, rng=np.random.default_rng(0))
    return Model(network, theta).save(tmp_path_factory.mktemp("model") / "seed.npz")


# ---------------------------------------------------------------------------------------------
# data and model files


def test_gzip_bomb_in_a_data_folder(tmp_path: Path) -> None:
    """3 MB of gzip holding 6 images and 3 GiB of zeros: decompression stops past the 6."""
    folder = gzip_bomb_folder(tmp_path / "data")
    assert (folder / f"{MNIST_FILES[0]}.gz").stat().st_size < 4 * MiB
    out = tmp_path / "m.npz"
    proc, peak = run_cli("train", "--data", str(folder), "--epochs", "1", "--out", str(out))
    assert_refused(proc, peak, "longer than the header says", "decompression was stopped")
    assert not out.exists()


def test_idx_header_claiming_a_huge_body(tmp_path: Path) -> None:
    """A raw IDX header declaring 4 G images of 28×28 is refused without reading on."""
    folder = write_folder(tmp_path / "data", small_set(), {})
    header = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (2**32 - 1, 28, 28))
    (folder / MNIST_FILES[2]).write_bytes(header + bytes(1000))
    out = tmp_path / "m.npz"
    proc, peak = run_cli("train", "--data", str(folder), "--epochs", "1", "--out", str(out))
    assert_refused(proc, peak, "implausible shape")


@pytest.fixture(params=["huge header", "zip bomb", "huge meta", "huge entry"])
def model_bomb(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A model file of at most a few MB that claims or unpacks to gigabytes."""
    path = tmp_path / "bomb.npz"
    if request.param == "huge header":  # θ's header claims 10¹² floats (8 TB)
        yield huge_header_model(path), "θ has shape (1000000000000,)"
    elif request.param == "zip bomb":  # θ is 2 GiB of zeros, deflated to 2 MB
        yield zip_bomb_model(path), "θ has shape (268435456,)"
    elif request.param == "huge meta":  # the description's header claims 400 MB of text
        meta = deflated(npy_header("<U100000000", ()))
        theta = npy_member(np.zeros(23))
        yield write_zip(path, {"meta.npy": meta, "theta.npy": theta}), "at most 16,777,216"
    else:  # θ's header is right, but its entry declares 1 GiB more, and holds it
        theta = deflate_zeros(npy_header("<f8", (23,)), 1024)
        meta = npy_member(np.array(model_meta()))
        yield write_zip(path, {"meta.npy": meta, "theta.npy": (*theta, 8)}), "bytes in the archive"


@pytest.mark.parametrize("command", [("info", "--json"), ("evaluate",)])
def test_model_bombs(model_bomb: tuple[Path, str], command: tuple[str, ...]) -> None:
    path, words = model_bomb
    assert path.stat().st_size < 3 * MiB
    proc, peak = run_cli(*command, str(path))
    assert_refused(proc, peak, str(path), words)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("train", "--sizes", "784,10000000,10"), "limit of 10,000 per layer"),
        (("train", "--sizes", "784,9000,9000,10"), "limit of 50,000,000"),
        (("gradcheck", "--sizes", "784,10000000,10"), "limit of 10,000 per layer"),
    ],
    ids=["wide layer", "many parameters", "gradcheck"],
)
def test_huge_sizes(tmp_path: Path, argv: tuple[str, ...], words: str) -> None:
    """Layer sizes that would need 64 GB for θ alone are refused, saying why."""
    extra = ("--epochs", "1", "--out", str(tmp_path / "m.npz")) if argv[0] == "train" else ()
    proc, peak = run_cli(*argv, *extra)
    line = assert_refused(proc, peak, words)
    assert "float" in line  # the reason: the memory the numbers would take


# ---------------------------------------------------------------------------------------------
# images


def _png(path: Path, width: int, height: int, idat: bytes) -> Path:
    """A greyscale PNG with the given header and (possibly inconsistent) image data."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def test_png_header_claiming_10_billion_pixels(tmp_path: Path, seed_model: Path) -> None:
    path = _png(tmp_path / "huge.png", 100_000, 100_000, b"x\x9c\x03\x00\x00\x00\x00\x01")
    assert path.stat().st_size < 100
    proc, peak = run_cli("predict", str(seed_model), str(path))
    assert_refused(proc, peak, "too large", "limit 50,000,000")


def test_png_bomb_within_the_pixel_limit_is_shrunk(tmp_path: Path, seed_model: Path) -> None:
    """7000×7000 pixels (49 M, under MAX_PIXELS) in 54 KB of PNG: it is read, shrunk as
    soon as decoded, and costs a fraction of the 1.5 GB its float pixels would."""
    page = np.zeros((7000, 7000), dtype=np.uint8)
    page[2000:5000, 3000:4000] = 255  # a "1"
    path = tmp_path / "big.png"
    Image.fromarray(page).save(path)
    del page
    assert path.stat().st_size < 100_000
    proc, peak = run_cli("predict", "--json", str(seed_model), str(path), limit=GiB)
    assert proc.returncode == 0, proc.stderr
    assert peak < PEAK, f"took {peak / MiB:.0f} MiB"


def test_png_whose_data_unpacks_to_a_gigabyte(tmp_path: Path, seed_model: Path) -> None:
    """The image data is 1 GiB of zeros for a 1000×1000 image: decoding stops at the image."""
    stream, _, size = deflate_zeros(b"", 1024)
    zlib_stream = b"\x78\xda" + stream + (((size % 65521) << 16) | 1).to_bytes(4, "big")
    path = _png(tmp_path / "deep.png", 1000, 1000, zlib_stream)
    assert path.stat().st_size < 2 * MiB
    proc, peak = run_cli("predict", str(seed_model), str(path))
    assert_refused(proc, peak, "no ink")  # all black: read, found blank, at little cost


def test_png_text_chunk_bomb(tmp_path: Path, seed_model: Path) -> None:
    """A compressed text chunk of 1 GiB: Pillow caps text chunks, and it is an ImageError."""
    import struct
    import zlib

    stream, _, size = deflate_zeros(b"", 1024)
    text = b"Comment\x00\x00\x78\xda" + stream + (((size % 65521) << 16) | 1).to_bytes(4, "big")
    ink = zlib.compress((b"\x00" + b"\x00" * 10 + b"\xff" * 8 + b"\x00" * 10) * 28)
    path = _png(tmp_path / "text.png", 28, 28, ink)
    blob = bytearray(path.read_bytes())
    ztxt = struct.pack(">I", len(text)) + b"zTXt" + text
    ztxt += struct.pack(">I", zlib.crc32(b"zTXt" + text))
    at = 8 + 25  # after the signature and the IHDR chunk
    path.write_bytes(bytes(blob[:at]) + ztxt + bytes(blob[at:]))
    proc, peak = run_cli("predict", str(seed_model), str(path))
    assert_refused(proc, peak, "cannot read image", "MAX_TEXT_CHUNK")


# ---------------------------------------------------------------------------------------------
# files we may not read


def _drop_root_file_powers(libc: ctypes.CDLL) -> Callable[[], None]:
    """A ``preexec_fn`` giving up CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, the capabilities
    that let root read any file, so that root is held to permission bits like anyone else.

    ``libc`` is loaded beforehand: between fork and exec only the prctl calls run.
    """

    def drop() -> None:
        pr_capbset_drop = 24
        for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
            if libc.prctl(pr_capbset_drop, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    return drop


def _unprivileged() -> dict[str, Callable[[], None]]:
    """How to run the CLI so that permission bits bind it, or skip saying why not.

    Tests run as root, whom permission bits do not stop. Switching to ``nobody`` is not
    enough where the interpreter itself is unreadable to others (a pyenv under /root), so
    root instead gives up the two capabilities that override file permissions.
    """
    if os.geteuid() != 0:
        return {}
    drop = _drop_root_file_powers(ctypes.CDLL(None, use_errno=True))
    probe = subprocess.run(
        [sys.executable, "-c", "open('/proc/self/status').read()"],
        preexec_fn=drop,
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot drop root's file capabilities here: {probe.stderr.decode()[-200:]}")
    return {"preexec": drop}


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Path]:
    """A data folder of the four files, whose permissions a test changes; restored after."""
    folder = write_folder(tmp_path / "data", small_set(), {})
    yield folder
    for path in (folder, *folder.iterdir()) if folder.is_dir() else ():
        path.chmod(0o755 if path.is_dir() else 0o644)
    os.chmod(tmp_path, 0o755)


@pytest.mark.parametrize(
    ("what", "mode", "words"),
    [
        ("folder", 0o000, "data folder"),
        ("folder", 0o600, "data folder"),  # listable but not searchable
        ("parent", 0o000, "data folder"),
        ("file", 0o000, "IDX file"),
    ],
    ids=["folder 000", "folder 600", "parent 000", "file 000"],
)
def test_unreadable_data(tmp_path: Path, locked: Path, what: str, mode: int, words: str) -> None:
    how = _unprivileged()
    target = {"folder": locked, "parent": tmp_path, "file": locked / MNIST_FILES[1]}[what]
    target.chmod(mode)
    assert stat.S_IMODE(target.stat().st_mode) == mode
    out = tmp_path.parent / f"{tmp_path.name}-m.npz"
    proc, peak = run_cli("train", "--data", str(locked), "--epochs", "1", "--out", str(out), **how)
    line = assert_refused(proc, peak, words, "cannot be read", "Permission denied")
    assert "permissions" in proc.stderr.splitlines()[-1]
    assert str(locked) in line


def test_unreadable_model(tmp_path: Path, seed_model: Path) -> None:
    how = _unprivileged()
    path = tmp_path / "m.npz"
    path.write_bytes(seed_model.read_bytes())
    path.chmod(0o000)
    proc, peak = run_cli("info", str(path), **how)
    assert_refused(proc, peak, "cannot read the model", "Permission denied")
