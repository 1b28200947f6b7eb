"""Tests of nudgenet.data.embedded: the subset shipped in the package is balanced, traceable
to the full MNIST, and (when the full set is present) equal to its images there."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from nudgenet.data import Dataset, load_dataset
from nudgenet.data.embedded import load_mini


def _mini_npz() -> dict[str, np.ndarray]:
    resource = resources.files("nudgenet").joinpath("data").joinpath("mini.npz")
    with resource.open("rb") as fh, np.load(fh) as npz:
        return {k: npz[k] for k in npz.files}


def test_load_mini() -> None:
    ds = load_mini()
    assert ds.name == "mini"
    assert ds.train_images.shape == (10_000, 28, 28)
    assert ds.test_images.shape == (2_000, 28, 28)
    for array in (ds.train_images, ds.train_labels, ds.test_images, ds.test_labels):
        assert array.dtype == np.uint8
    assert np.bincount(ds.train_labels, minlength=10).tolist() == [1000] * 10
    assert np.bincount(ds.test_labels, minlength=10).tolist() == [200] * 10
    assert ds.train_images.max() == 255
    assert 0.10 < ds.train_images.mean() / 255 < 0.16
    assert load_dataset("mini").train_labels.tolist() == ds.train_labels.tolist()


def test_mini_is_traceable() -> None:
    npz = _mini_npz()
    assert set(npz) == {
        "train_images",
        "train_labels",
        "test_images",
        "test_labels",
        "train_indices",
        "test_indices",
    }
    for split, n_full in (("train", 60_000), ("test", 10_000)):
        idx = npz[f"{split}_indices"]
        assert np.all(np.diff(idx) > 0)
        assert idx[0] >= 0
        assert idx[-1] < n_full


@pytest.mark.mnist
def test_mini_equals_its_images_in_full_mnist(mnist: Dataset) -> None:
    npz = _mini_npz()
    mini = load_mini()
    for split in ("train", "test"):
        idx = npz[f"{split}_indices"]
        full_images = getattr(mnist, f"{split}_images")
        full_labels = getattr(mnist, f"{split}_labels")
        np.testing.assert_array_equal(getattr(mini, f"{split}_images"), full_images[idx])
        np.testing.assert_array_equal(getattr(mini, f"{split}_labels"), full_labels[idx])
