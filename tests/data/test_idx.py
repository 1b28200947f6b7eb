"""Tests of nudgenet.data.idx on real files: every IDX type round-trips, and every kind of
malformed file is refused with a message naming the file and what was wrong."""

from __future__ import annotations

import gzip
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from datatools import idx_bytes
from hypothesis import given, settings
from hypothesis import strategies as st

from nudgenet.data.idx import read_idx
from nudgenet.errors import DataError


@pytest.mark.parametrize("dtype", ["u1", "i1", ">i2", ">i4", ">f4", ">f8"])
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trips(tmp_path: Path, dtype: str, compress: bool) -> None:
    rng = np.random.default_rng(1)
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(np.dtype(dtype).newbyteorder("="))
    raw = idx_bytes(array)
    path = tmp_path / "a.idx"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    got = read_idx(path)
    assert got.shape == (3, 4, 5)
    assert got.dtype == array.dtype
    assert got.dtype.isnative
    np.testing.assert_array_equal(got, array)
    assert not got.flags.writeable


def test_read_idx_decides_compression_by_content_not_name(tmp_path: Path) -> None:
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    (tmp_path / "raw.gz").write_bytes(idx_bytes(array))
    (tmp_path / "packed-idx2-ubyte").write_bytes(gzip.compress(idx_bytes(array)))
    np.testing.assert_array_equal(read_idx(tmp_path / "raw.gz"), array)
    np.testing.assert_array_equal(read_idx(str(tmp_path / "packed-idx2-ubyte")), array)


@settings(max_examples=30, deadline=None, database=None)
@given(
    shape=st.lists(st.integers(0, 5), min_size=1, max_size=4),
    dtype=st.sampled_from(["u1", "i1", "i2", "i4", "f4", "f8"]),
    compress=st.booleans(),
)
def test_read_idx_round_trips_any_shape(shape: list[int], dtype: str, compress: bool) -> None:
    array = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
    raw = idx_bytes(array)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x"
        path.write_bytes(gzip.compress(raw) if compress else raw)
        np.testing.assert_array_equal(read_idx(path), array)


def _valid_labels() -> bytes:
    return idx_bytes(np.array([1, 2, 3], dtype=np.uint8))


_GOOD = _valid_labels()
_GOOD_GZ = gzip.compress(idx_bytes(np.arange(4000, dtype=np.uint8) % 7), mtime=0)
_CORRUPT_GZ = _GOOD_GZ[:20] + bytes(b ^ 0xFF for b in _GOOD_GZ[20:40]) + _GOOD_GZ[40:]

CORRUPTIONS = {
    "empty": (b"", r"is empty \(0 bytes\)"),
    "header under 4 bytes": (b"\x00\x00\x08", r"truncated header.*at least 4 bytes.*got 3"),
    "header missing sizes": (b"\x00\x00\x08\x03" + b"\x00" * 6, r"truncated header.*16-byte"),
    "first bytes not zero": (b"\x12\x34" + _GOOD[2:], r"bad magic number.*00 00.*12 34"),
    "unknown type code": (b"\x00\x00\x07" + _GOOD[3:], r"bad magic number.*unknown type code 0x07"),
    "zero dimensions": (b"\x00\x00\x08\x00", r"bad magic number.*0 dimensions"),
    "body too short": (_GOOD[:-1], r"shorter than the header says.*needs 3 bytes.*got 2"),
    "body too long": (_GOOD + b"\x00\x00", r"longer than the header says.*needs 3 bytes.*got 5"),
    "truncated gzip": (_GOOD_GZ[: len(_GOOD_GZ) // 2], r"corrupt or truncated gzip"),
    "corrupt gzip": (_CORRUPT_GZ, r"corrupt or truncated gzip"),
    "gzip of nothing": (gzip.compress(b""), r"empty after gzip decompression"),
    "gzip of a short body": (gzip.compress(_GOOD[:-1]), r"shorter than the header says"),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_read_idx_rejects_malformed_files(tmp_path: Path, case: str) -> None:
    blob, problem = CORRUPTIONS[case]
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(blob)
    with pytest.raises(DataError, match=problem) as excinfo:
        read_idx(path)
    assert str(path) in str(excinfo.value)
    assert excinfo.value.help


def test_read_idx_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=rf"not found: {re.escape(str(tmp_path / 'nope'))}"):
        read_idx(tmp_path / "nope")
    with pytest.raises(DataError, match="not a regular file"):
        read_idx(tmp_path)
