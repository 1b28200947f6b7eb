"""Fetching the full MNIST and Fashion-MNIST sets into a cache folder, verified.

Each file is tried on every mirror in turn, checked against a known digest, and moved into
place only when it matches, so the cache never holds a corrupt or partial file.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

import platformdirs

from ..errors import ConfigError, DownloadError
from ..files import atomic_write
from .folder import MNIST_FILES

__all__ = ["CHECKSUMS", "MIRRORS", "data_home", "download"]

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

_CHUNK = 1 << 16


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
