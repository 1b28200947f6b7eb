"""The one shape every data set takes inside nudgenet: a checked train/test split.

Everything the rest of nudgenet trains on arrives as a :class:`Dataset`: four uint8
arrays, images ``(n, 28, 28)`` with 0 for background and 255 for ink, labels ``(n,)``
with the digit 0-9, whichever source they were read from.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from ..errors import DataError
from .images import deskew

__all__ = ["Dataset", "check_images", "check_labels"]

_IMAGE_SIDE = 28
_N_CLASSES = 10


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
            check_images(images, f"data set {self.name!r}: {split}_images")
            check_labels(labels, f"data set {self.name!r}: {split}_labels")
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

    @cached_property
    def deskewed(self) -> Dataset:
        """Every training and test digit sheared upright by its moments
        (:func:`~nudgenet.data.images.deskew`), as ``nudgenet train --deskew`` learns from
        them; made once per data set, the first time it is asked for."""
        return Dataset(
            f"{self.name}, deskewed", deskew(self.train_images), self.train_labels,
            deskew(self.test_images), self.test_labels,
        )  # fmt: skip

    def holdout(self, n: int) -> Dataset:
        """The training split cut in two: the first images to train on, the last ``n`` as
        the set to measure, in place of the test set, so that settings are chosen without
        ever looking at the test set. The order is the files' own, not shuffled: MNIST's
        training files mix their writers throughout.

        >>> from nudgenet.data import load_mini
        >>> load_mini().holdout(2000)
        Dataset(name='mini, last 2000 training images held out', train=8000, test=2000)
        """
        total = len(self.train_labels)
        if not 0 < n < total:
            raise DataError(
                f"cannot hold out {n:,} of the {total:,} training images of {self.name!r}: "
                "both parts need at least one",
                help=f"hold out between 1 and {total - 1:,} images, e.g. a sixth of them "
                f"({total // 6:,})",
            )
        return Dataset(
            f"{self.name}, last {n} training images held out",
            self.train_images[:-n], self.train_labels[:-n],
            self.train_images[-n:], self.train_labels[-n:],
        )  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, train={len(self.train_labels)}, "
            f"test={len(self.test_labels)})"
        )


def check_images(images: object, where: str) -> None:
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


def check_labels(labels: object, where: str) -> None:
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
