"""The data sets ``--data`` names, each found wherever it already is before any download.

:func:`load_dataset` turns a name or a folder into a :class:`~nudgenet.data.Dataset`:

* ``"mini"``: the subset shipped inside the package, so the first lesson needs no network;
* ``"mnist"`` / ``"fashion-mnist"``: the full sets, read from the cache folder (or, for
  Fashion-MNIST, Debian's ``dataset-fashion-mnist`` package) and downloaded if absent;
* any folder holding the four standard IDX files, gzipped or not.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DataError
from .dataset import Dataset
from .embedded import load_mini
from .fetch import CHECKSUMS, data_home, download
from .folder import DATA_HELP, is_complete, is_folder, load_folder

__all__ = ["DATASET_CHOICES", "FASHION_SYSTEM_DIR", "load_dataset"]

#: The names :func:`load_dataset` understands besides a folder path.
DATASET_CHOICES = ("mini", "mnist", "fashion-mnist")

#: Where Debian's ``dataset-fashion-mnist`` package puts the four ``.gz`` files. Its copy
#: was re-compressed, so it cannot be checked against the published digests; it is
#: trusted as the package manager delivered it, and checked for format like any folder.
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


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
        if spec == "fashion-mnist" and is_complete(FASHION_SYSTEM_DIR):
            return load_folder(FASHION_SYSTEM_DIR, name=spec)
        folder = Path(root if root is not None else data_home()) / spec
        if not is_complete(folder):
            if not download_missing:
                raise DataError(
                    f"data set {spec!r} is not in {folder} and downloading is off",
                    help=f"allow the download, or {DATA_HELP}",
                )
            folder = download(spec, root if root is not None else data_home())
        return load_folder(folder, name=spec)
    path = Path(spec).expanduser()
    if not is_folder(path) and not path.exists():  # is_folder: DataError if unreadable
        raise DataError(
            f"unknown data set {spec!r}: not one of {', '.join(DATASET_CHOICES)}, "
            "and no such folder exists",
            help="choose mini, mnist or fashion-mnist, or give the path of a folder "
            "holding the four MNIST-format files",
        )
    return load_folder(path)
