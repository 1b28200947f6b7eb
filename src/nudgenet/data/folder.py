"""A folder holding the four standard MNIST-format IDX files, read as a :class:`Dataset`.

MNIST, Fashion-MNIST, KMNIST and their look-alikes are all published as the same four
files; they arrive gzipped or not, and sometimes in an older dotted spelling. Whatever the
spelling, the folder is checked as a whole: every file present, in the right format, and
each split's images and labels of equal counts.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from ..errors import DataError
from .dataset import Dataset, check_images, check_labels
from .idx import read_idx

__all__ = ["DATA_HELP", "MNIST_FILES", "is_complete", "is_folder", "load_folder"]

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

#: What to tell a user whose data cannot be had: the way round every data problem.
DATA_HELP = "pass --data PATH with a folder holding the four MNIST-format files: " + ", ".join(
    MNIST_FILES
)


def _spellings(name: str) -> tuple[str, ...]:
    """Names a standard file may carry: as published, gzipped, and the old dotted form."""
    dotted = name.replace("-idx", ".idx")
    return (name, f"{name}.gz", dotted, f"{dotted}.gz")


def _mode(path: Path, folder: Path) -> int | None:
    """``path``'s file type and permissions (``st_mode``), or None if it does not exist.

    A folder we may not enter must not read as an empty one (``Path.is_file`` says False,
    or raises, depending on the Python version): it is a DataError naming the folder.
    """
    try:
        return path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise DataError(
            f"data folder {folder} cannot be read: {exc.strerror or exc}",
            help="check the permissions of the folder and of the folders above it "
            "(they must be readable and searchable, r-x), or copy the files somewhere readable",
        ) from exc


def is_folder(path: Path) -> bool:
    """Whether ``path`` is a folder; DataError if permissions hide the answer."""
    mode = _mode(path, path)
    return mode is not None and stat.S_ISDIR(mode)


def _find_files(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """Map each of MNIST_FILES to the file present in ``folder``; list those missing."""
    found: dict[str, Path] = {}
    missing: list[str] = []
    for name in MNIST_FILES:
        modes = ((folder / s, _mode(folder / s, folder)) for s in _spellings(name))
        hit = next((p for p, mode in modes if mode is not None and stat.S_ISREG(mode)), None)
        if hit is None:
            missing.append(name)
        else:
            found[name] = hit
    return found, missing


def is_complete(folder: Path) -> bool:
    """True when ``folder`` holds all four standard files."""
    return is_folder(folder) and not _find_files(folder)[1]


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
        If the folder or any file is missing or unreadable, or a file has the wrong format.
    """
    folder = Path(path)
    if not is_folder(folder):
        raise DataError(
            f"data folder not found: {folder}",
            help=DATA_HELP,
        )
    found, missing = _find_files(folder)
    if missing:
        wanted = "; ".join(" or ".join(_spellings(m)) for m in missing)
        raise DataError(
            f"data folder {folder} is missing {len(missing)} of the 4 MNIST files: "
            f"{', '.join(missing)}; expected names: {wanted}",
            help=DATA_HELP,
        )
    arrays: dict[str, np.ndarray] = {}
    for key, file in found.items():
        array = read_idx(file)
        if "images" in key:
            check_images(array, f"IDX file {file}")
        else:
            check_labels(array, f"IDX file {file}")
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
