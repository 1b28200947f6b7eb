"""Fetching the full MNIST and Fashion-MNIST sets into a cache folder, verified.

:mod:`pooch` does the fetching. It streams each file to a temporary name beside its
target, checks the file's digest, and only then renames it into place, so the cache never
holds a corrupt or partial file; a file already there with the right digest is not fetched
again. Around it, this module adds what pooch leaves out: several mirrors per file, tried
in turn; one :class:`~nudgenet.errors.DownloadError` listing every URL that failed and why,
with the way round it; and files readable like any other the user writes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import platformdirs
import pooch

from ..errors import ConfigError, DownloadError
from ..files import new_file_mode
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


def data_home() -> Path:
    """The folder where downloaded data sets are cached.

    ``$NUDGENET_DATA`` if set (for shared or offline machines), else the user's cache
    folder, e.g. ``~/.cache/nudgenet`` on Linux.
    """
    env = os.environ.get("NUDGENET_DATA")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("nudgenet"))


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
        Base URLs (``http://`` or ``https://``), tried in order for each file;
        :data:`MIRRORS` by default.
    timeout : float
        Seconds to wait on a silent connection.
    checksums : mapping, optional
        Overrides :data:`CHECKSUMS` per file name (``"train-images-idx3-ubyte.gz"``):
        a SHA-256 hex string or an ``(algorithm, hex)`` pair, algorithm ``"sha256"``
        or ``"md5"``.

    Returns
    -------
    Path
        The folder holding the four files, ready for :func:`~nudgenet.data.load_folder`.

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
    bases = _mirrors(name, mirrors)
    digests = {**CHECKSUMS[name], **(checksums or {})}
    known = {file: _known_hash(digests[file], file) for file in (f"{m}.gz" for m in MNIST_FILES)}
    folder = Path(root if root is not None else data_home()) / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(
            f"cannot create the data folder {folder}: {exc.strerror or exc}",
            help="choose another folder with $NUDGENET_DATA, or pass --data PATH",
        ) from exc
    http = pooch.HTTPDownloader(timeout=timeout)

    def fetch(url: str, output_file: str, caller: pooch.Pooch | None) -> None:
        http(url, output_file, caller)
        # pooch's temporary file is private (0600); renamed as it is, a cache shared
        # through $NUDGENET_DATA would be unreadable to everyone else.
        os.chmod(output_file, new_file_mode())

    for file, known_hash in known.items():
        _retrieve(name, file, known_hash, bases, folder, fetch)
    return folder


def _mirrors(name: str, mirrors: Sequence[str] | str | None) -> tuple[str, ...]:
    """The base URLs to try, checked: the given ones, or :data:`MIRRORS` of ``name``."""
    if isinstance(mirrors, str):
        mirrors = (mirrors,)
    bases = tuple(mirrors) if mirrors is not None else MIRRORS[name]
    if not bases:
        raise ConfigError(
            f"no mirrors given to download {name!r}",
            help="pass at least one base URL, or leave mirrors unset for the defaults",
        )
    for base in bases:
        if not base.startswith(("http://", "https://")):
            raise ConfigError(
                f"mirror {base!r} is not an http:// or https:// URL",
                help="for files already on disk, pass --data PATH (or load_folder) instead",
            )
    return bases


def _retrieve(
    name: str, file: str, known_hash: str, bases: tuple[str, ...], folder: Path, fetch: Any
) -> None:
    """Fetch ``file`` from the first mirror that gives it with the right digest."""
    failures = []
    for url in (base.rstrip("/") + "/" + file for base in bases):
        try:
            pooch.retrieve(url, known_hash, fname=file, path=folder, downloader=fetch)
            return
        except (OSError, ValueError) as exc:  # requests' errors are OSErrors
            failures.append(f"{url} ({_why(exc)})")
    tried = "\n  ".join(failures)
    raise DownloadError(
        f"could not download {file} of {name} into {folder}; tried:\n  {tried}",
        help="check the internet connection, or pass --data PATH with a folder "
        "holding the four files: " + ", ".join(MNIST_FILES),
    )


def _known_hash(value: str | tuple[str, str], file: str) -> str:
    """A digest, given as a SHA-256 hex string or an (algorithm, hex) pair, as pooch's "alg:hex"."""
    algorithm, hexdigest = ("sha256", value) if isinstance(value, str) else value
    algorithm = algorithm.lower()
    if algorithm not in ("sha256", "md5"):
        raise ConfigError(
            f"checksum for {file}: unknown algorithm {algorithm!r}; expected 'sha256' or 'md5'",
            help="give a SHA-256 hex string, or a pair such as ('md5', '<hex>')",
        )
    return f"{algorithm}:{hexdigest.lower()}"


def _why(exc: Exception) -> str:
    """Say in a few words why one URL gave no good file, for the list in the DownloadError."""
    import requests  # pooch's transport, imported by pooch only once it downloads

    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} {exc.response.reason}"
    if isinstance(exc, requests.ConnectionError):  # refused, no such host, no answer in time
        return f"cannot connect: {_root_cause(exc)}"
    if isinstance(exc, ValueError) and not isinstance(exc, requests.RequestException):
        return f"checksum mismatch: {exc}"  # pooch raises ValueError for a wrong digest
    return f"failed: {_root_cause(exc)}"


def _root_cause(exc: BaseException) -> str:
    """The innermost cause of a chain of errors: "Connection refused", not a pool's repr."""
    for _ in range(20):  # a chain is short; the bound only guards against a cycle
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
