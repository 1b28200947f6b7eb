"""The IDX file format that MNIST and its look-alikes are published in.

An IDX file is a 4-byte magic number ``00 00 <type code> <number of dimensions>``, one
big-endian uint32 size per dimension, then the values in C order. The files are usually
served gzipped. Nothing is trusted blindly: every malformed file raises
:class:`~nudgenet.errors.DataError` naming the file and what was wrong.

Nor are the sizes a file states trusted with memory. The header fixes the size of the body,
so a header declaring an implausible shape is refused before anything is allocated (see
:data:`MAX_ITEMS`, :data:`MAX_ITEM_VALUES`, :data:`MAX_BYTES`), and a gzipped body is
decompressed as a stream that stops as soon as more arrives than the header allows: a
3 MB gzip that unpacks to gigabytes costs no more memory than its header declares.
"""

from __future__ import annotations

import gzip
import os
import stat
import zlib
from math import prod
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import DataError

__all__ = ["MAX_BYTES", "MAX_ITEMS", "MAX_ITEM_VALUES", "read_idx"]

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

MAX_ITEMS = 10_000_000
"""Most items (images or labels: the first dimension) a file may declare.

MNIST's training set has 60,000 and EMNIST's largest split 697,932; a header claiming more is
corrupt, and believing it would reserve memory for data that is not there.
"""

MAX_ITEM_VALUES = 1 << 20
"""Most values per item (pixels per image: the product of the other dimensions), 1024×1024.

An MNIST image has 784; anything this large is not a digit picture.
"""

MAX_DIMENSIONS = 32
"""Most dimensions a file may declare: NumPy 1's limit on an array's (NumPy 2 allows 64).

IDX data sets have one (labels) to four; the header's byte allows 255, which NumPy refuses
to reshape into, so a file declaring more is corrupt and is refused as such.
"""

MAX_BYTES = 1 << 30
"""Most bytes of values a file may declare: 1 GiB (the full MNIST has 55 MB).

The array is held in memory whole, so this bounds what reading any IDX file can cost.
"""

_CHUNK = 1 << 24  # read and decompress 16 MiB at a time


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (raw or gzipped) into an array of its declared shape and type.

    Compression is decided by the content (gzip's ``1f 8b`` magic), not the name, since
    browsers and tools often unpack a ``.gz`` without renaming it, or the reverse. The body
    is read in chunks and never past the size the header declares, so memory is bounded by
    :data:`MAX_BYTES` whatever the file holds.

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
        If the file is missing, unreadable, empty, a corrupt gzip stream, has a bad or
        implausible header, or its body is shorter or longer than the header declares.
    """
    path = Path(path)
    size = _file_size(path)
    if size == 0:
        raise DataError(
            f"IDX file {path} is empty (0 bytes); expected an IDX header and data",
            help="the file was probably cut off while downloading: fetch it again",
        )
    compressed = False
    try:
        with path.open("rb") as raw:
            compressed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            if not compressed:
                return _read_stream(raw, path, size)
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _read_stream(stream, path, None)
    except PermissionError as exc:
        raise _unreadable(path, exc) from exc
    except (OSError, EOFError, zlib.error) as exc:
        if not compressed:
            raise _unreadable(path, exc) from exc
        raise DataError(
            f"IDX file {path} is a corrupt or truncated gzip stream ({exc})",
            help="the file was probably cut off while downloading: fetch it again",
        ) from exc


def _file_size(path: Path) -> int:
    """The size of the regular file at ``path``, or raise DataError saying why it has none."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise DataError(
            f"IDX file not found: {path}",
            help="check the path, or fetch the data set again",
        ) from None
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    if not stat.S_ISREG(info.st_mode):
        raise DataError(
            f"IDX file {path} is not a regular file (a folder?)",
            help="point at the file itself, not the folder holding it",
        )
    return info.st_size


def _unreadable(path: Path, exc: OSError) -> DataError:
    """The error for a file the operating system will not let us read."""
    return DataError(
        f"IDX file {path} cannot be read: {exc.strerror or exc}",
        help="check the permissions of the file and of the folders above it",
    )


def _read_up_to(stream: IO[bytes], n: int) -> bytearray:
    """At most ``n`` bytes of ``stream``, fewer only at its end (reads may come short).

    The buffer grows with what arrives rather than being reserved for ``n`` up front, so a
    short file costs only its own length whatever its header claims.
    """
    data = bytearray()
    while len(data) < n:
        chunk = stream.read(min(n - len(data), _CHUNK))
        if not chunk:
            break
        data += chunk
    return data


def _read_stream(stream: IO[bytes], path: Path, size: int | None) -> np.ndarray:
    """Decode IDX from ``stream``: magic ``00 00 <type> <ndim>``, ndim big-endian uint32
    sizes, body. ``size`` is the raw file's length, None for a decompressed stream."""
    magic = _read_up_to(stream, 4)
    if size is None and not magic:
        raise DataError(
            f"IDX file {path} is empty after gzip decompression; expected an IDX header",
            help="the archive holds no data: fetch the file again",
        )
    if len(magic) < 4:
        raise DataError(
            f"IDX file {path} has a truncated header: expected at least 4 bytes "
            f"of magic number, got {len(magic)}",
            help="the file was probably cut off: fetch it again",
        )
    zero0, zero1, code, ndim = magic
    if zero0 != 0 or zero1 != 0:
        raise DataError(
            f"IDX file {path} has a bad magic number: expected the first two bytes "
            f"to be 00 00, got {magic[:2].hex(' ')}; this is not an IDX file",
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
    if ndim > MAX_DIMENSIONS:
        raise DataError(
            f"IDX file {path} declares {ndim} dimensions; an IDX data set has at most "
            f"{MAX_DIMENSIONS}",
            help="the file is corrupt or not an IDX file: fetch it again",
        )
    header_len = 4 + 4 * ndim
    sizes = _read_up_to(stream, 4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataError(
            f"IDX file {path} has a truncated header: {ndim} dimensions need a "
            f"{header_len}-byte header, got {4 + len(sizes)} bytes",
            help="the file was probably cut off: fetch it again",
        )
    shape = tuple(int.from_bytes(sizes[4 * i : 4 * i + 4], "big") for i in range(ndim))
    dtype = _IDX_DTYPES[code]
    expected = prod(shape) * dtype.itemsize
    _check_plausible(path, shape, dtype, expected)

    def mismatch(got: str, shorter: bool) -> DataError:
        return DataError(
            f"IDX file {path}: body is {'shorter' if shorter else 'longer'} than the header "
            f"says: shape {shape} of {dtype.name} needs {expected} bytes after the "
            f"{header_len}-byte header, got {got}",
            help="the file is truncated or corrupt: fetch it again",
        )

    if size is not None and size - header_len != expected:
        # A raw file's length is known: a mismatch is refused before reading the body.
        got = size - header_len
        raise mismatch(str(got), got < expected)
    body = _read_up_to(stream, expected)
    if len(body) < expected:
        raise mismatch(str(len(body)), True)
    if stream.read(1):
        # Decompression stops here: however much more the stream holds is never unpacked.
        raise mismatch(f"more (decompression was stopped at {expected + 1} bytes)", False)
    array = np.frombuffer(body, dtype=dtype).reshape(shape)
    if dtype.itemsize > 1:
        array = array.astype(dtype.newbyteorder("="))
    array.flags.writeable = False
    return array


def _check_plausible(path: Path, shape: tuple[int, ...], dtype: np.dtype[Any], n: int) -> None:
    """Refuse a header whose shape no data set has, before anything is allocated for it."""
    items, per_item = shape[0], prod(shape[1:])
    if items <= MAX_ITEMS and per_item <= MAX_ITEM_VALUES and n <= MAX_BYTES:
        return
    raise DataError(
        f"IDX file {path} declares an implausible shape {shape} of {dtype.name} "
        f"({items:,} items of {per_item:,} values, {n:,} bytes); nudgenet reads at most "
        f"{MAX_ITEMS:,} items of at most {MAX_ITEM_VALUES:,} values each, "
        f"{MAX_BYTES:,} bytes in all, so as not to reserve memory for data that is not there",
        help="the header is corrupt or this is not an image or label file: fetch it again",
    )
