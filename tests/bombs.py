"""Small files that claim, or unpack to, far more than they hold, and a way to run the CLI
on them under a memory limit.

Each bomb is built in a moment from one compressed block repeated: deflate with a full
flush ends a block on a byte boundary with no reference to what came before, so ``N``
copies of the block for 1 MiB of zeros are a valid stream of ``N`` MiB of zeros, about a
thousandth of that on disk. Compressing gigabytes honestly would take a minute per test.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import resource
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from datatools import idx_bytes, small_set
from numpy.lib import format as npy_format

from nudgenet.data import MNIST_FILES

MiB = 1 << 20
GiB = 1 << 30
MEMORY_LIMIT = 2 * GiB
"""Address space the CLI gets in the bomb tests: a bomb that is not refused exceeds it."""

_ZERO_MIB = bytes(MiB)


def _zero_block() -> bytes:
    """Raw deflate of 1 MiB of zeros, ending on a byte boundary with the history reset."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(_ZERO_MIB) + c.flush(zlib.Z_FULL_FLUSH)


_BLOCK = _zero_block()
_FINAL = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty last block


def deflate_zeros(prefix: bytes, mib: int) -> tuple[bytes, int, int]:
    """Raw deflate of ``prefix`` then ``mib`` MiB of zeros: (stream, CRC-32, length)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(prefix)
    for _ in range(mib):
        crc = zlib.crc32(_ZERO_MIB, crc)
    return head + _BLOCK * mib + _FINAL, crc, len(prefix) + mib * MiB


def gzip_zeros(prefix: bytes, mib: int) -> bytes:
    """One gzip member holding ``prefix`` then ``mib`` MiB of zeros."""
    stream, crc, size = deflate_zeros(prefix, mib)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + stream + struct.pack("<II", crc, size & 0xFFFFFFFF)


def npy_header(descr: str, shape: tuple[int, ...], fortran: bool = False) -> bytes:
    """The ``.npy`` magic and version 1.0 header for an array of this type and shape."""
    buf = io.BytesIO()
    header = {"descr": descr, "fortran_order": fortran, "shape": shape}
    npy_format.write_array_header_1_0(buf, header)
    return buf.getvalue()


def write_zip(path: Path, members: dict[str, tuple[bytes, int, int, int]]) -> Path:
    """A zip of raw members: name -> (deflate stream or stored bytes, CRC, size, method).

    Written by hand so that a member's stream can be a crafted one; sizes must stay under
    4 GiB (no zip64).
    """
    local, central = bytearray(), bytearray()
    for name, (data, crc, size, method) in members.items():
        encoded = name.encode()
        offset = len(local)
        fields = (20, 0, method, 0, 0x21, crc, len(data), size, len(encoded))
        local += struct.pack("<4s5HIIIHH", b"PK\x03\x04", *fields, 0) + encoded + data
        central += (
            struct.pack("<4s6HIIIHHHHHII", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, 0, offset)
            + encoded
        )
    n = len(members)
    end = struct.pack("<4s4HIIH", b"PK\x05\x06", 0, 0, n, n, len(central), len(local), 0)
    path.write_bytes(bytes(local + central + end))
    return path


def deflated(data: bytes) -> tuple[bytes, int, int, int]:
    """A zip member holding ``data``, deflated."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(), zlib.crc32(data), len(data), 8


def npy_member(array: np.ndarray) -> tuple[bytes, int, int, int]:
    """A zip member holding ``array`` as np.save writes it."""
    buf = io.BytesIO()
    np.save(buf, array)  # object arrays are pickled, as np.save does: the loader must refuse them
    return deflated(buf.getvalue())


def model_meta(sizes: Sequence[int] = (4, 3, 2)) -> str:
    """A valid description of a small tanh/softmax network."""
    n_params = sum(a * b + b for a, b in itertools.pairwise(sizes))
    return json.dumps({
        "format": "nudgenet-model", "format_version": 1, "nudgenet_version": "0",
        "sizes": list(sizes), "activation": "tanh", "output": "softmax",
        "cost": "quadratic", "dtype": "float64", "num_params": n_params,
        "settings": {}, "history": [],
    })  # fmt: skip


# ---------------------------------------------------------------------------------------------
# the bombs


def gzip_bomb_folder(folder: Path, mib: int = 3072) -> Path:
    """A data folder whose training images are a ~3 MB gzip of 6 images and 3 GiB of zeros."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = small_set()
    for name, array in arrays.items():
        (folder / name).write_bytes(idx_bytes(array))
    images = folder / MNIST_FILES[0]
    images.unlink()
    bomb = gzip_zeros(idx_bytes(arrays[MNIST_FILES[0]]), mib)
    images.with_name(images.name + ".gz").write_bytes(bomb)
    return folder


def huge_header_model(path: Path, n: int = 10**12) -> Path:
    """A model whose θ header claims ``n`` float64s (8 TB) but holds none."""
    return write_zip(
        path,
        {
            "theta.npy": deflated(npy_header("<f8", (n,))),
            "meta.npy": npy_member(np.array(model_meta())),
        },
    )


def zip_bomb_model(path: Path, mib: int = 2048) -> Path:
    """A ~2 MB model whose θ is a deflated 2 GiB of zeros, with a header saying so."""
    theta = deflate_zeros(npy_header("<f8", (mib * MiB // 8,)), mib)
    return write_zip(
        path,
        {"theta.npy": (*theta, 8), "meta.npy": npy_member(np.array(model_meta()))},
    )


# ---------------------------------------------------------------------------------------------
# running the CLI under a memory limit


def _limit_memory(limit: int, then: Callable[[], None] | None) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        if then is not None:
            then()

    return apply


def run_cli(
    *argv: str,
    limit: int = MEMORY_LIMIT,
    timeout: float = 120,
    preexec: Callable[[], None] | None = None,
) -> tuple[subprocess.CompletedProcess[str], int]:
    """``nudgenet ARGV...`` in a subprocess limited to ``limit`` bytes of address space.

    ``preexec`` runs in the child before it starts, after the limit is set. Returns the
    finished process and its peak resident memory in bytes (the CLI's ``ru_maxrss``, read
    in a wrapper process so that no other process is counted).
    """
    src = Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": str(src), "OPENBLAS_NUM_THREADS": "1"}
    code = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:])\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "sys.stdout.flush(); print(f'\\nPEAK_KIB={peak}', file=sys.stderr)\n"
        "sys.exit(p.returncode)\n"
    )
    cmd = [sys.executable, "-c", code, sys.executable, "-m", "nudgenet", *argv]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd="/",
        preexec_fn=_limit_memory(limit, preexec),
        check=False,
    )
    stderr, _, peak = proc.stderr.rpartition("\nPEAK_KIB=")
    proc.stderr = stderr
    return proc, int(peak) * 1024
