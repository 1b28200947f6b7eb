"""Tests of nudgenet.data.sources: each name --data accepts, found where it already is
(the cache, Debian's Fashion-MNIST) before a download from a real local HTTP server."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from datatools import MirrorServer, small_set, write_folder

from nudgenet.data import MNIST_FILES, fetch, sources
from nudgenet.data.folder import is_complete
from nudgenet.data.sources import load_dataset
from nudgenet.errors import DataError


def test_load_dataset_folder_and_unknown(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "mine", small_set(), {})
    assert load_dataset(str(folder)).name == "mine"
    with pytest.raises(DataError, match="unknown data set 'nosuch'") as excinfo:
        load_dataset("nosuch")
    assert "mini, mnist or fashion-mnist" in str(excinfo.value)


def test_load_dataset_without_download(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"'mnist' is not in .*downloading is off"):
        load_dataset("mnist", root=tmp_path, download_missing=False)


def test_load_dataset_prefers_the_system_fashion_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = small_set(seed=5)
    system = write_folder(tmp_path / "system", arrays, {k: f"{k}.gz" for k in arrays})
    monkeypatch.setattr(sources, "FASHION_SYSTEM_DIR", system)
    ds = load_dataset("fashion-mnist", root=tmp_path / "cache", download_missing=False)
    assert ds.name == "fashion-mnist"
    np.testing.assert_array_equal(ds.test_labels, arrays[MNIST_FILES[3]])


def test_load_dataset_downloads_when_missing(
    server: MirrorServer,
    payloads: dict[str, bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sources, "FASHION_SYSTEM_DIR", tmp_path / "not-installed")
    monkeypatch.setitem(fetch.MIRRORS, "fashion-mnist", (server.publish("/f/", payloads),))
    sums = {n: ("md5", hashlib.md5(b).hexdigest()) for n, b in payloads.items()}
    monkeypatch.setitem(fetch.CHECKSUMS, "fashion-mnist", sums)
    ds = load_dataset("fashion-mnist", root=tmp_path)
    assert len(ds.train_labels) == 6
    assert len(server.requests) == 4
    load_dataset("fashion-mnist", root=tmp_path)  # now cached
    assert len(server.requests) == 4


@pytest.mark.skipif(
    not is_complete(sources.FASHION_SYSTEM_DIR),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_load_dataset_reads_debian_fashion_mnist() -> None:
    ds = load_dataset("fashion-mnist", download_missing=False)
    assert (len(ds.train_labels), len(ds.test_labels)) == (60_000, 10_000)
    assert np.bincount(ds.train_labels).tolist() == [6000] * 10


@pytest.mark.mnist
def test_load_dataset_mnist_from_cache(mnist_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "mnist"
    cache.mkdir()
    for entry in mnist_dir.iterdir():
        if entry.name.startswith(("train-", "t10k-")):
            (cache / entry.name).symlink_to(entry)
    ds = load_dataset("mnist", root=tmp_path, download_missing=False)
    assert ds.name == "mnist"
    assert ds.test_labels[:3].tolist() == [7, 2, 1]
