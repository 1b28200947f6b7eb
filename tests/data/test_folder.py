"""Tests of nudgenet.data.folder on real folders: every spelling of the four files, and
every missing or malformed one refused, naming the folder; the full MNIST when present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from datatools import small_set, write_folder

from nudgenet.data import Dataset
from nudgenet.data.folder import MNIST_FILES, is_complete, load_folder
from nudgenet.errors import DataError


def test_load_folder_accepts_every_spelling(tmp_path: Path) -> None:
    arrays = small_set()
    names = {
        MNIST_FILES[0]: "train-images-idx3-ubyte.gz",
        MNIST_FILES[1]: "train-labels-idx1-ubyte",
        MNIST_FILES[2]: "t10k-images.idx3-ubyte",
        MNIST_FILES[3]: "t10k-labels.idx1-ubyte.gz",
    }
    folder = write_folder(tmp_path / "digits", arrays, names)
    ds = load_folder(folder)
    assert ds.name == "digits"
    assert load_folder(str(folder), name="other").name == "other"
    np.testing.assert_array_equal(ds.train_images, arrays[MNIST_FILES[0]])
    np.testing.assert_array_equal(ds.train_labels, arrays[MNIST_FILES[1]])
    np.testing.assert_array_equal(ds.test_images, arrays[MNIST_FILES[2]])
    np.testing.assert_array_equal(ds.test_labels, arrays[MNIST_FILES[3]])


def test_load_folder_lists_missing_files(tmp_path: Path) -> None:
    arrays = small_set()
    del arrays[MNIST_FILES[1]], arrays[MNIST_FILES[3]]
    folder = write_folder(tmp_path / "half", arrays, {})
    with pytest.raises(DataError, match="missing 2 of the 4") as excinfo:
        load_folder(folder)
    message = str(excinfo.value)
    assert str(folder) in message
    assert "train-labels-idx1-ubyte.gz" in message
    assert "t10k-labels.idx1-ubyte" in message
    assert "train-images-idx3-ubyte or" not in message
    with pytest.raises(DataError, match="data folder not found"):
        load_folder(tmp_path / "absent")


@pytest.mark.parametrize(
    ("key", "value", "pattern"),
    [
        (MNIST_FILES[0], np.zeros((6, 20, 20), np.uint8), r"shape \(n, 28, 28\)"),
        (MNIST_FILES[0], np.zeros((6, 28, 28), np.int16), "uint8"),
        (MNIST_FILES[1], np.zeros((6, 1), np.uint8), "1-D uint8"),
        (MNIST_FILES[3], np.array([1, 2, 11, 3], np.uint8), "labels 0-9, got 11"),
        (MNIST_FILES[1], np.zeros(5, np.uint8), "6 images but .* 5 labels"),
    ],
)
def test_load_folder_rejects_wrong_format(
    tmp_path: Path, key: str, value: np.ndarray, pattern: str
) -> None:
    arrays = {**small_set(), key: value}
    folder = write_folder(tmp_path / "bad", arrays, {})
    with pytest.raises(DataError, match=pattern) as excinfo:
        load_folder(folder)
    assert str(folder) in str(excinfo.value)


def test_is_complete(tmp_path: Path) -> None:
    arrays = small_set()
    assert not is_complete(tmp_path / "absent")
    folder = write_folder(tmp_path / "three", {k: arrays[k] for k in MNIST_FILES[:3]}, {})
    assert not is_complete(folder)
    write_folder(
        folder,
        {MNIST_FILES[3]: arrays[MNIST_FILES[3]]},
        {MNIST_FILES[3]: "t10k-labels.idx1-ubyte.gz"},
    )
    assert is_complete(folder)


@pytest.mark.mnist
def test_full_mnist_quick_facts(mnist: Dataset) -> None:
    assert mnist.train_images.shape == (60_000, 28, 28)
    assert mnist.test_images.shape == (10_000, 28, 28)
    assert mnist.train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert mnist.test_labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(mnist.train_labels).tolist() == [
        5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949
    ]  # fmt: skip
    assert np.bincount(mnist.test_labels).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009
    ]  # fmt: skip
    assert mnist.train_images.mean(dtype=np.float64) / 255 == pytest.approx(0.1307, abs=5e-5)
