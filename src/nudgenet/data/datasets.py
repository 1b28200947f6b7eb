"""MNIST-format data: read IDX files, load folders, fetch and cache the public sets.

Everything the rest of nudgenet trains on arrives through :class:`Dataset`: four uint8
arrays, images ``(n, 28, 28)`` with 0 for background and 255 for ink, labels ``(n,)``
with the digit 0-9. Three sources feed it:

* ``"mini"``: a 10,000 + 2,000 image subset of MNIST shipped inside the package, so
  the first lesson needs no network;
* ``"mnist"`` / ``"fashion-mnist"``: the full sets, read from a cache folder (or, for
  Fashion-MNIST, Debian's ``dataset-fashion-mnist`` package) and downloaded if absent;
* any folder holding the four standard IDX files, gzipped or not.

Nothing is trusted blindly: every malformed file raises :class:`~nudgenet.errors.DataError`
naming the file and what was wrong, and every download is checked against a digest.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import urllib.error
import urllib.request
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from math import prod
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs
from numpy.typing import DTypeLike, NDArray

from nudgenet.cost import one_hot
from nudgenet.errors import ConfigError, DataError, DownloadError, ShapeError
from nudgenet.files import atomic_write

__all__ = [
    "FASHION_SYSTEM_DIR",
    "MNIST_FILES",
    "Dataset",
    "data_home",
    "download",
    "load_dataset",
    "load_folder",
    "load_mini",
    "one_hot",
    "read_idx",
    "to_inputs",
]

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

#: Where Debian's ``dataset-fashion-mnist`` package puts the four ``.gz`` files.
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")

#: The names :func:`load_dataset` understands besides a folder path.
DATASET_CHOICES = ("mini", "mnist", "fashion-mnist")

#: Public mirrors, tried in order; each holds the four ``<name>.gz`` files.
MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
}

# Digests of the published .gz files, as (algorithm, hex). MNIST's SHA-256 values were
# checked against the canonical MD5s. Fashion-MNIST is published with MD5s only, and
# Debian's copy cannot stand in for a SHA-256: it was re-compressed (its gzip headers
# drop the file name and carry another time), so its bytes differ from the published ones.
CHECKSUMS: dict[str, dict[str, tuple[str, str]]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": (
            "sha256",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        ),
        "train-labels-idx1-ubyte.gz": (
            "sha256",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        ),
        "t10k-images-idx3-ubyte.gz": (
            "sha256",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "sha256",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ),
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": ("md5", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        "train-labels-idx1-ubyte.gz": ("md5", "25c81989df183df01b3e8a0aad5dffbe"),
        "t10k-images-idx3-ubyte.gz": ("md5", "bef4ecab320f06d8554ea6380940ec79"),
        "t10k-labels-idx1-ubyte.gz": ("md5", "bb300cfdad3c16e7a12a480ee83cd310"),
    },
}

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
_IMAGE_SIDE = 28
_N_CLASSES = 10
_CHUNK = 1 << 16

_DATA_HELP = "pass --data PATH with a folder holding the four MNIST-format files: " + ", ".join(
    MNIST_FILES
)


# --------------------------------------------------------------------------- Dataset


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A train/test split of 28×28 grey images with digit labels, checked on creation.

    Checking here, once, lets every later stage assume the shapes and value ranges
    instead of re-validating them.

    Attributes
    ----------
    name : str
        Where the data came from, for messages and reports.
    train_images, test_images : ndarray of uint8, shape (n, 28, 28)
        0 is background, 255 is ink.
    train_labels, test_labels : ndarray of uint8, shape (n,)
        The class of each image, 0-9.
    """

    name: str
    train_images: NDArray[np.uint8]
    train_labels: NDArray[np.uint8]
    test_images: NDArray[np.uint8]
    test_labels: NDArray[np.uint8]

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            images = getattr(self, f"{split}_images")
            labels = getattr(self, f"{split}_labels")
            _check_images(images, f"data set {self.name!r}: {split}_images")
            _check_labels(labels, f"data set {self.name!r}: {split}_labels")
            if len(images) != len(labels):
                raise DataError(
                    f"data set {self.name!r}: {split} split has {len(images)} images "
                    f"but {len(labels)} labels; expected one label per image",
                    help="make sure the image and label files belong to the same split",
                )
            if len(images) == 0:
                raise DataError(
                    f"data set {self.name!r}: {split} split is empty; expected at least 1 image",
                    help="use a data set with images in both splits",
                )

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, train={len(self.train_labels)}, "
            f"test={len(self.test_labels)})"
        )


def _check_images(images: object, where: str) -> None:
    """Raise DataError unless ``images`` is a uint8 array of shape (n, 28, 28)."""
    if not isinstance(images, np.ndarray):
        raise DataError(
            f"{where}: expected a NumPy array, got {type(images).__name__}",
            help="pass the images as a uint8 array of shape (n, 28, 28)",
        )
    if images.ndim != 3 or images.shape[1:] != (_IMAGE_SIDE, _IMAGE_SIDE):
        raise DataError(
            f"{where}: expected images of shape (n, 28, 28), got shape {images.shape}",
            help="nudgenet works on 28×28 MNIST-format images",
        )
    if images.dtype != np.uint8:
        raise DataError(
            f"{where}: expected uint8 pixels (0-255), got dtype {images.dtype}",
            help="store pixels as unsigned bytes, 0 for background and 255 for ink",
        )


def _check_labels(labels: object, where: str) -> None:
    """Raise DataError unless ``labels`` is a 1-D uint8 array of values 0-9."""
    if not isinstance(labels, np.ndarray):
        raise DataError(
            f"{where}: expected a NumPy array, got {type(labels).__name__}",
            help="pass the labels as a uint8 array of shape (n,)",
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DataError(
            f"{where}: expected a 1-D uint8 array of labels, "
            f"got shape {labels.shape} and dtype {labels.dtype}",
            help="labels are one unsigned byte per image, the digit 0-9",
        )
    if labels.size and int(labels.max()) >= _N_CLASSES:
        raise DataError(
            f"{where}: expected labels 0-9, got {int(labels.max())}",
            help="check that this is a 10-class data set such as MNIST",
        )


# --------------------------------------------------------------------------- IDX files


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


# --------------------------------------------------------------------------- folders


def _spellings(name: str) -> tuple[str, ...]:
    """Names a standard file may carry: as published, gzipped, and the old dotted form."""
    dotted = name.replace("-idx", ".idx")
    return (name, f"{name}.gz", dotted, f"{dotted}.gz")


def _find_files(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """Map each of MNIST_FILES to the file present in ``folder``; list those missing."""
    found: dict[str, Path] = {}
    missing: list[str] = []
    for name in MNIST_FILES:
        hit = next((folder / s for s in _spellings(name) if (folder / s).is_file()), None)
        if hit is None:
            missing.append(name)
        else:
            found[name] = hit
    return found, missing


def _is_complete(folder: Path) -> bool:
    """True when ``folder`` holds all four standard files."""
    return folder.is_dir() and not _find_files(folder)[1]


def load_folder(path: str | os.PathLike[str], name: str | None = None) -> Dataset:
    """Load a folder holding the four MNIST-format files as a :class:`Dataset`.

    Any MNIST look-alike (MNIST, Fashion-MNIST, KMNIST, …) works, which is why the
    checks are on format (28×28 uint8 images, labels 0-9, matching counts), not content.

    Parameters
    ----------
    path : str or PathLike
        The folder. Each file may be named as in :data:`MNIST_FILES`, with ``.gz`` added,
        or in the old dotted spelling (``train-images.idx3-ubyte``).
    name : str, optional
        The data set's name; the folder's name by default.

    Raises
    ------
    DataError
        If the folder or any file is missing, or a file has the wrong format.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(
            f"data folder not found: {folder}",
            help=_DATA_HELP,
        )
    found, missing = _find_files(folder)
    if missing:
        wanted = "; ".join(" or ".join(_spellings(m)) for m in missing)
        raise DataError(
            f"data folder {folder} is missing {len(missing)} of the 4 MNIST files: "
            f"{', '.join(missing)}; expected names: {wanted}",
            help=_DATA_HELP,
        )
    arrays: dict[str, np.ndarray] = {}
    for key, file in found.items():
        array = read_idx(file)
        if "images" in key:
            _check_images(array, f"IDX file {file}")
        else:
            _check_labels(array, f"IDX file {file}")
        arrays[key] = array
    train_images, train_labels, test_images, test_labels = (arrays[k] for k in MNIST_FILES)
    for images_file, labels_file in (
        (MNIST_FILES[0], MNIST_FILES[1]),
        (MNIST_FILES[2], MNIST_FILES[3]),
    ):
        n_images, n_labels = len(arrays[images_file]), len(arrays[labels_file])
        if n_images != n_labels:
            raise DataError(
                f"data folder {folder}: {found[images_file].name} holds {n_images} images "
                f"but {found[labels_file].name} holds {n_labels} labels; expected equal counts",
                help="the image and label files come from different data sets: fetch them again",
            )
    return Dataset(
        name=name if name is not None else folder.name,
        train_images=train_images,
        train_labels=train_labels,
        test_images=test_images,
        test_labels=test_labels,
    )


def load_mini() -> Dataset:
    """Load the MNIST subset shipped inside the package: 10,000 train and 2,000 test images.

    Read through :mod:`importlib.resources` so that it works from a wheel or zip as well
    as from a source checkout. See ``nudgenet/data/README.md`` for how it was chosen.
    """
    resource = resources.files("nudgenet").joinpath("data").joinpath("mini.npz")
    keys = ("train_images", "train_labels", "test_images", "test_labels")
    try:
        with resource.open("rb") as fh, np.load(fh, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in keys}
    except FileNotFoundError as exc:
        raise DataError(
            f"the embedded data set is missing: {resource}",
            help="reinstall nudgenet; the package ships nudgenet/data/mini.npz",
        ) from exc
    except (KeyError, ValueError, OSError) as exc:
        raise DataError(
            f"the embedded data set {resource} is unreadable or lacks one of {keys} ({exc})",
            help="reinstall nudgenet, or rebuild it with scripts/build_mini.py",
        ) from exc
    for array in arrays.values():
        array.flags.writeable = False
    return Dataset(name="mini", **arrays)


# --------------------------------------------------------------------------- download


def data_home() -> Path:
    """The folder where downloaded data sets are cached.

    ``$NUDGENET_DATA`` if set (for shared or offline machines), else the user's cache
    folder, e.g. ``~/.cache/nudgenet`` on Linux.
    """
    env = os.environ.get("NUDGENET_DATA")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("nudgenet"))


def _digest_spec(value: str | tuple[str, str], file: str) -> tuple[str, str]:
    """Normalise a digest given as a SHA-256 hex string or an (algorithm, hex) pair."""
    algorithm, hexdigest = ("sha256", value) if isinstance(value, str) else value
    algorithm = algorithm.lower()
    if algorithm not in ("sha256", "md5"):
        raise ConfigError(
            f"checksum for {file}: unknown algorithm {algorithm!r}; expected 'sha256' or 'md5'",
            help="give a SHA-256 hex string, or a pair such as ('md5', '<hex>')",
        )
    return algorithm, hexdigest.lower()


def _file_digest(path: Path, algorithm: str) -> str:
    """Hash a file in chunks, so a 50 MB file never sits twice in memory."""
    h = hashlib.new(algorithm)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


class _FetchFailed(Exception):
    """Why one URL did not yield a good file (collected, then reported together)."""


def _fetch(url: str, dest: Path, digest: tuple[str, str], timeout: float) -> str | None:
    """Download ``url`` to ``dest`` atomically if its digest matches.

    Returns None on success, else a short reason for the failure; never leaves a
    partial file behind, because a half-written cache would be trusted next time.
    """
    algorithm, expected = digest
    h = hashlib.new(algorithm)
    request = urllib.request.Request(url, headers={"User-Agent": "nudgenet"})
    try:
        with atomic_write(dest) as out:
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        h.update(chunk)
                        out.write(chunk)
            except urllib.error.HTTPError as exc:
                exc.close()
                raise _FetchFailed(f"HTTP {exc.code} {exc.reason}") from None
            except urllib.error.URLError as exc:
                raise _FetchFailed(f"cannot connect: {exc.reason}") from None
            except (OSError, ValueError, http.client.HTTPException) as exc:
                raise _FetchFailed(f"failed: {exc!r}") from None
            got = h.hexdigest()
            if got != expected:
                raise _FetchFailed(f"{algorithm} checksum mismatch: expected {expected}, got {got}")
    except _FetchFailed as exc:
        return str(exc)
    return None


def download(
    name: str,
    root: str | os.PathLike[str] | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    timeout: float = 30,
    checksums: Mapping[str, str | tuple[str, str]] | None = None,
) -> Path:
    """Fetch the four ``.gz`` files of a public data set into ``root/<name>/``.

    Each file is checked against a known digest and moved into place only when it
    matches, so the cache never holds a corrupt or partial file; files already present
    and correct are not fetched again.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
        The data set.
    root : str or PathLike, optional
        The cache folder; :func:`data_home` by default.
    mirrors : sequence of str, optional
        Base URLs, tried in order for each file; :data:`MIRRORS` by default.
    timeout : float
        Seconds to wait on a silent connection.
    checksums : mapping, optional
        Overrides :data:`CHECKSUMS` per file name (``"train-images-idx3-ubyte.gz"``):
        a SHA-256 hex string or an ``(algorithm, hex)`` pair, algorithm ``"sha256"``
        or ``"md5"``.

    Returns
    -------
    Path
        The folder holding the four files, ready for :func:`load_folder`.

    Raises
    ------
    DownloadError
        If some file fails on every mirror (unreachable, HTTP error, checksum mismatch).
    """
    if name not in CHECKSUMS:
        raise ConfigError(
            f"unknown data set to download: {name!r}; expected one of {', '.join(CHECKSUMS)}",
            help="download 'mnist' or 'fashion-mnist', or pass --data PATH to your own files",
        )
    if isinstance(mirrors, str):
        mirrors = (mirrors,)
    bases = tuple(mirrors) if mirrors is not None else MIRRORS[name]
    if not bases:
        raise ConfigError(
            f"no mirrors given to download {name!r}",
            help="pass at least one base URL, or leave mirrors unset for the defaults",
        )
    digests = dict(CHECKSUMS[name])
    if checksums is not None:
        digests.update(checksums)
    folder = Path(root if root is not None else data_home()) / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(
            f"cannot create the data folder {folder}: {exc.strerror or exc}",
            help="choose another folder with $NUDGENET_DATA, or pass --data PATH",
        ) from exc
    for file in (f"{m}.gz" for m in MNIST_FILES):
        digest = _digest_spec(digests[file], file)
        dest = folder / file
        if dest.is_file() and _file_digest(dest, digest[0]) == digest[1]:
            continue
        failures = []
        for base in bases:
            url = base.rstrip("/") + "/" + file
            reason = _fetch(url, dest, digest, timeout)
            if reason is None:
                break
            failures.append(f"{url} ({reason})")
        else:
            tried = "\n  ".join(failures)
            raise DownloadError(
                f"could not download {file} of {name} into {folder}; tried:\n  {tried}",
                help="check the internet connection, or pass --data PATH with a folder "
                "holding the four files: " + ", ".join(MNIST_FILES),
            )
    return folder


# --------------------------------------------------------------------------- choosing


def load_dataset(
    spec: str,
    *,
    root: str | os.PathLike[str] | None = None,
    download_missing: bool = True,
) -> Dataset:
    """Load a data set by name or folder, the way ``--data`` on the command line does.

    Parameters
    ----------
    spec : str
        ``"mini"`` (embedded subset), ``"mnist"``, ``"fashion-mnist"``, or a folder path.
        A folder literally named like a choice is reached as ``./mnist``.
    root : str or PathLike, optional
        The download cache; :func:`data_home` by default.
    download_missing : bool
        Whether to download a named set that is not cached yet.

    Raises
    ------
    DataError
        If ``spec`` is neither a choice nor an existing folder, or a named set is not
        cached and ``download_missing`` is False. :class:`DownloadError` if fetching fails.
    """
    if spec == "mini":
        return load_mini()
    if spec in CHECKSUMS:
        if spec == "fashion-mnist" and _is_complete(FASHION_SYSTEM_DIR):
            return load_folder(FASHION_SYSTEM_DIR, name=spec)
        folder = Path(root if root is not None else data_home()) / spec
        if not _is_complete(folder):
            if not download_missing:
                raise DataError(
                    f"data set {spec!r} is not in {folder} and downloading is off",
                    help=f"allow the download, or {_DATA_HELP}",
                )
            folder = download(spec, root if root is not None else data_home())
        return load_folder(folder, name=spec)
    path = Path(spec).expanduser()
    if not path.exists():
        raise DataError(
            f"unknown data set {spec!r}: not one of {', '.join(DATASET_CHOICES)}, "
            "and no such folder exists",
            help="choose mini, mnist or fashion-mnist, or give the path of a folder "
            "holding the four MNIST-format files",
        )
    return load_folder(path)


# --------------------------------------------------------------------------- network inputs


def to_inputs(images: NDArray[np.uint8], dtype: DTypeLike = np.float32) -> NDArray[Any]:
    """Flatten uint8 images to network inputs: one row of 784 values in [0, 1] each.

    Scaling by 1/255 keeps the first layer's weighted sums small, so sigmoids start in
    their sensitive middle range instead of saturating.

    >>> to_inputs(np.full((2, 28, 28), 255, dtype=np.uint8)).shape
    (2, 784)
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise DataError(
            f"to_inputs expected uint8 pixels (0-255), got dtype {images.dtype}",
            help="pass raw images such as Dataset.train_images; they are scaled here",
        )
    if images.ndim not in (2, 3) or prod(images.shape[1:]) != _IMAGE_SIDE**2:
        raise ShapeError(
            f"to_inputs expected images of shape (m, 28, 28) or (m, 784), got {images.shape}",
            help="for one image, add a leading axis: images[None]",
        )
    inputs = images.reshape(len(images), -1).astype(dtype)
    inputs /= 255
    return inputs
