"""A folder of your own digit images, each labelled by its name: to measure a model on them.

MNIST's test set measures how well a network reads MNIST. What ``nudgenet predict`` meets is
other handwriting, photographed or scanned. A folder of such images, labelled, measures that:
each file's name starts with its digit (``7-my-pen.png``, ``7_scan.jpg``), or the file sits in
a subfolder named by its digit (``7/scan.jpg``). The images are preprocessed as ``predict``
preprocesses them; one that holds no ink counts as read wrong, and is named.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import DataError, ImageError
from .images import SIZE, load_image

MAX_FILES = 100_000
"""Most images one folder may hold: each is decoded and kept as 28×28 bytes."""

SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"}

_LABEL = re.compile(r"^(\d)(?:[-_. ]|$)")


@dataclass(frozen=True)
class Labelled:
    """The readable images (n, 28, 28) uint8 with their labels, and the files with no ink."""

    images: NDArray[np.uint8]
    labels: NDArray[np.intp]
    names: list[str]  # of the readable images, relative to the folder
    unreadable: list[tuple[str, int, str]]  # (name, label, why)


def label_of(path: Path, folder: Path) -> int | None:
    """The digit ``path`` is labelled with (its name's first character, or its folder's
    name), or None when it has none."""
    match = _LABEL.match(path.name)
    if match:
        return int(match.group(1))
    parent = path.parent.relative_to(folder)
    if len(parent.parts) == 1 and _LABEL.match(parent.parts[0] + "-"):
        return int(parent.parts[0])
    return None


def load_labelled(
    folder: str | os.PathLike[str], *, stroke: bool = True, deskew: bool = True
) -> Labelled:
    """Read every labelled image under ``folder`` (and its digit subfolders), preprocessed.

    Raises :class:`DataError` when the folder is missing, holds no labelled image, or holds
    more than :data:`MAX_FILES`.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(
            f"no folder of labelled images at {folder}",
            help="name a folder whose image files start with their digit, e.g. 7-mine.png",
        )
    files = []
    for path in sorted(folder.rglob("*")):
        if (
            path.suffix.lower() in SUFFIXES
            and path.is_file()
            and label_of(path, folder) is not None
        ):
            files.append(path)
            if len(files) > MAX_FILES:
                raise DataError(
                    f"{folder} holds more than {MAX_FILES:,} labelled images",
                    help="split it into smaller folders",
                )
    if not files:
        raise DataError(
            f"{folder} holds no labelled image",
            help="start each file's name with its digit (7-mine.png) or put it in a folder "
            "named by its digit (7/mine.png)",
        )
    images, labels, names, unreadable = [], [], [], []
    for path in files:
        name, label = str(path.relative_to(folder)), label_of(path, folder)
        try:
            images.append(load_image(path, stroke=stroke, deskew=deskew))
        except ImageError as exc:
            unreadable.append((name, int(label), exc.message))
            continue
        labels.append(label)
        names.append(name)
    stacked = np.stack(images) if images else np.zeros((0, SIZE, SIZE), np.uint8)
    return Labelled(stacked, np.array(labels, dtype=np.intp), names, unreadable)
