"""The IDX file format that MNIST and its look-alikes are published in.

An IDX file is a 4-byte magic number ``00 00 <type code> <number of dimensions>``, one
big-endian uint32 size per dimension, then the values in C order. The files are usually
served gzipped. Nothing is trusted blindly: every malformed file raises
:class:`~nudgenet.errors.DataError` naming the file and what was wrong.
"""

from __future__ import annotations

import gzip
import os
import zlib
from math import prod
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError

__all__ = ["read_idx"]

# IDX type codes (third magic byte) -> big-endian NumPy dtype.
_IDX_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (raw or gzipped) into an array of its declared shape and type.

    Compression is decided by the content (gzip's ``1f 8b`` magic), not the name, since
    browsers and tools often unpack a ``.gz`` without renaming it, or the reverse.

    Parameters
    ----------
    path : str or PathLike
        The file to read.

    Returns
    -------
    ndarray
        Read-only, in native byte order, shaped as the header says.

    Raises
    ------
    DataError
        If the file is missing, empty, a corrupt gzip stream, has a bad header, or its
        body is shorter or longer than the header declares.
    """
    path = Path(path)
    data = _read_bytes(path)
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(data, path)
        if not data:
            raise DataError(
                f"IDX file {path} is empty after gzip decompression; expected an IDX header",
                help="the archive holds no data: fetch the file again",
            )
    return _parse_idx(data, path)


def _read_bytes(path: Path) -> bytes:
    """Return the file's bytes, or raise DataError saying why they cannot be had."""
    if not path.exists():
        raise DataError(
            f"IDX file not found: {path}",
            help="check the path, or fetch the data set again",
        )
    if not path.is_file():
        raise DataError(
            f"IDX file {path} is not a regular file (a folder?)",
            help="point at the file itself, not the folder holding it",
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(
            f"IDX file {path} cannot be read: {exc.strerror or exc}",
            help="check the file's permissions",
        ) from exc
    if not data:
        raise DataError(
            f"IDX file {path} is empty (0 bytes); expected an IDX header and data",
            help="the file was probably cut off while downloading: fetch it again",
        )
    return data


def _gunzip(data: bytes, path: Path) -> bytes:
    """Decompress a gzip stream, turning every kind of corruption into DataError."""
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"IDX file {path} is a corrupt or truncated gzip stream ({exc})",
            help="the file was probably cut off while downloading: fetch it again",
        ) from exc


def _parse_idx(data: bytes, path: Path) -> np.ndarray:
    """Decode IDX bytes: magic ``00 00 <type> <ndim>``, ndim big-endian uint32 sizes, body."""
    if len(data) < 4:
        raise DataError(
            f"IDX file {path} has a truncated header: expected at least 4 bytes "
            f"of magic number, got {len(data)}",
            help="the file was probably cut off: fetch it again",
        )
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0:
        raise DataError(
            f"IDX file {path} has a bad magic number: expected the first two bytes "
            f"to be 00 00, got {data[:2].hex(' ')}; this is not an IDX file",
            help="pass an IDX file such as train-images-idx3-ubyte (raw or .gz)",
        )
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise DataError(
            f"IDX file {path} has a bad magic number: unknown type code 0x{code:02X} "
            f"(expected one of {known})",
            help="the file is corrupt or not an IDX file: fetch it again",
        )
    if ndim == 0:
        raise DataError(
            f"IDX file {path} has a bad magic number: it declares 0 dimensions "
            "(expected at least 1)",
            help="the file is corrupt or not an IDX file: fetch it again",
        )
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DataError(
            f"IDX file {path} has a truncated header: {ndim} dimensions need a "
            f"{header_len}-byte header, got {len(data)} bytes",
            help="the file was probably cut off: fetch it again",
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_DTYPES[code]
    expected = prod(shape) * dtype.itemsize
    got = len(data) - header_len
    if got != expected:
        which = "shorter" if got < expected else "longer"
        raise DataError(
            f"IDX file {path}: body is {which} than the header says: shape {shape} of "
            f"{dtype.name} needs {expected} bytes after the {header_len}-byte header, "
            f"got {got}",
            help="the file is truncated or corrupt: fetch it again",
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(shape)
    if dtype.itemsize > 1:
        array = array.astype(dtype.newbyteorder("="))
    array.flags.writeable = False
    return array
