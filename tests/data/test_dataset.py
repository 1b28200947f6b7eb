"""Tests of nudgenet.data.dataset: a Dataset refuses arrays of the wrong shape, type or range."""

from __future__ import annotations

import numpy as np
import pytest
from datatools import small_set

from nudgenet.data import MNIST_FILES
from nudgenet.data.dataset import Dataset
from nudgenet.errors import DataError


def test_dataset_validates_its_arrays() -> None:
    arrays = small_set()
    good = dict(
        name="t",
        train_images=arrays[MNIST_FILES[0]],
        train_labels=arrays[MNIST_FILES[1]],
        test_images=arrays[MNIST_FILES[2]],
        test_labels=arrays[MNIST_FILES[3]],
    )
    assert repr(Dataset(**good)) == "Dataset(name='t', train=6, test=4)"
    bad = {
        "train_images": (np.zeros((6, 28, 27), np.uint8), r"shape \(n, 28, 28\)"),
        "test_images": (np.zeros((4, 28, 28), np.float32), "uint8"),
        "train_labels": (np.full(6, 10, np.uint8), "labels 0-9, got 10"),
        "test_labels": (np.zeros(3, np.uint8), "4 images but 3 labels"),
    }
    for field, (value, pattern) in bad.items():
        with pytest.raises(DataError, match=pattern):
            Dataset(**{**good, field: value})
    with pytest.raises(DataError, match="empty"):
        Dataset(
            **{
                **good,
                "test_images": np.zeros((0, 28, 28), np.uint8),
                "test_labels": np.zeros(0, np.uint8),
            }
        )
