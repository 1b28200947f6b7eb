"""Tests of nudgenet.data.idx on real files: every IDX type round-trips, and every kind of
malformed file is refused with a message naming the file and what was wrong."""

from __future__ import annotations

import gzip
import re
import tempfile
from math import prod
from pathlib import Path

import numpy as np
import pytest
from datatools import idx_bytes
from hypothesis import event, given, settings
from hypothesis import strategies as st

from nudgenet.data.idx import MAX_BYTES, MAX_ITEM_VALUES, MAX_ITEMS, read_idx
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
    # 76 sizes of 1 and a 1-byte body: NumPy will not make an array of 76 dimensions.
    "too many dimensions": (
        b"\x00\x00\x08\x4c" + (1).to_bytes(4, "big") * 76 + b"\x00",
        r"declares 76 dimensions; an IDX data set has at most 32",
    ),
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


# ---------------------------------------------------------------------------------------------
# sizes are not trusted: implausible headers, bodies past the header, the fuzzing


def _header(code: int, shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, code, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape)


@pytest.mark.parametrize(
    ("shape", "code"),
    [
        ((MAX_ITEMS + 1,), 0x08),  # too many labels
        ((10, 1025, 1024), 0x08),  # too many pixels per image
        ((70_000, 1024, 1024), 0x08),  # too many bytes in all
        ((MAX_BYTES // 8 + 1,), 0x0E),  # too many bytes, in float64
        ((2**32 - 1,) * 3, 0x08),  # the largest header of all
    ],
)
@pytest.mark.parametrize("compress", [False, True])
def test_implausible_shape_is_refused_before_reading(
    tmp_path: Path, shape: tuple[int, ...], code: int, compress: bool
) -> None:
    blob = _header(code, shape) + bytes(100)
    path = tmp_path / "big"
    path.write_bytes(gzip.compress(blob) if compress else blob)
    with pytest.raises(DataError, match="implausible shape") as excinfo:
        read_idx(path)
    message = str(excinfo.value)
    assert f"{MAX_ITEMS:,} items" in message
    assert f"{MAX_ITEM_VALUES:,} values" in message
    assert f"{MAX_BYTES:,} bytes" in message
    assert excinfo.value.help


def test_the_limits_admit_the_real_data_sets(tmp_path: Path) -> None:
    """MNIST's 60,000 images and EMNIST's 697,932 labels are well inside the caps."""
    for shape in ((60_000, 28, 28), (697_932,)):
        path = tmp_path / "short"
        path.write_bytes(_header(0x08, shape))
        with pytest.raises(DataError, match="shorter than the header says"):
            read_idx(path)


def test_gzip_body_longer_than_the_header_stops_decompressing(tmp_path: Path) -> None:
    """The stream is cut one byte past the declared body, however much more it holds."""
    header = _header(0x08, (2, 3))
    path = tmp_path / "long.gz"
    path.write_bytes(gzip.compress(header + bytes(6 + 10_000_000), compresslevel=1))
    with pytest.raises(DataError, match=r"longer than the header says.*needs 6 bytes") as excinfo:
        read_idx(path)
    assert "decompression was stopped at 7 bytes" in str(excinfo.value)


def test_multi_member_gzip_is_one_stream(tmp_path: Path) -> None:
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = idx_bytes(array)
    path = tmp_path / "two-members.gz"
    path.write_bytes(gzip.compress(raw[:10]) + gzip.compress(raw[10:]))
    np.testing.assert_array_equal(read_idx(path), array)


def test_garbage_after_the_gzip_stream(tmp_path: Path) -> None:
    path = tmp_path / "garbage.gz"
    path.write_bytes(gzip.compress(_GOOD) + b"not gzip")
    with pytest.raises(DataError, match="corrupt or truncated gzip"):
        read_idx(path)


_CODES = [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]
_ITEMSIZE = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}


_FLAWS = (
    "none", "none", "none", "magic", "type code", "ndim", "huge dimension", "cut short",
    "extra bytes", "gzip cut short", "gzip of garbage",
)  # fmt: skip


@st.composite
def idx_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """IDX-like blobs, each well-formed or with one flaw: random magic, type code, number of
    dimensions, a huge dimension, a truncation, trailing bytes, or damaged gzip; a random
    half of them gzipped."""
    flaw = draw(st.sampled_from(_FLAWS))
    event(f"flaw: {flaw}")
    zeros = draw(st.binary(min_size=2, max_size=2)) if flaw == "magic" else b"\x00\x00"
    code = draw(st.integers(0, 255) if flaw == "type code" else st.sampled_from(_CODES))
    shape = draw(st.lists(st.integers(0, 6), min_size=1, max_size=4))
    if flaw == "huge dimension":
        shape[draw(st.integers(0, len(shape) - 1))] = draw(st.integers(7, 2**32 - 1))
    ndim = draw(st.integers(0, 255)) if flaw == "ndim" else len(shape)
    header = zeros + bytes([code, ndim]) + b"".join(n.to_bytes(4, "big") for n in shape)
    n_body = prod(shape) * _ITEMSIZE.get(code, 1)
    if n_body <= 512:
        body = draw(st.binary(min_size=n_body, max_size=n_body))
    else:  # zeros for larger bodies; a huge dimension's body is cut to a few bytes
        body = bytes(n_body if n_body <= 6**4 * 8 else 64)
    blob = header + body
    if flaw == "cut short":
        blob = blob[: draw(st.integers(0, len(blob) - 1))]
    if flaw == "extra bytes":
        blob += draw(st.binary(min_size=1, max_size=8))
    if flaw == "gzip of garbage":
        blob = draw(st.binary(max_size=64))
    if flaw.startswith("gzip") or draw(st.booleans()):
        blob = gzip.compress(blob, mtime=0)
    if flaw == "gzip cut short":
        blob = blob[: draw(st.integers(0, len(blob) - 1))]
    return flaw, blob


_KINDS = (
    "implausible shape", "truncated header", "bad magic number", "shorter", "longer",
    "corrupt or truncated gzip", "empty",
)  # fmt: skip


@settings(max_examples=400, deadline=None, database=None)
@given(case=idx_files())
def test_fuzzed_idx_files_load_or_raise_data_error(case: tuple[str, bytes]) -> None:
    """Whatever the bytes, read_idx returns an array matching its header or a DataError;
    a file without a flaw loads (``--hypothesis-show-statistics`` counts each outcome)."""
    flaw, blob = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz"
        path.write_bytes(blob)
        try:
            array = read_idx(path)
        except DataError as exc:
            error = exc
        else:
            error = None
    if error is not None:
        assert flaw != "none", f"a well-formed file was refused: {error}"
        assert error.help
        assert str(path) in error.message
        event("refused: " + next((k for k in _KINDS if k in error.message), error.message))
        return
    raw = gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(raw[3]))
    assert array.shape == shape
    assert array.dtype.isnative
    assert array.nbytes == len(raw) - 4 - 4 * len(shape)
    event("loaded")
