"""Fixtures of the data tests: a local mirror over real HTTP, its files, the full MNIST."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from datatools import MirrorServer, gz_payloads, small_set

from nudgenet.data import Dataset, load_folder


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[MirrorServer]:
    """A real HTTP server on 127.0.0.1, reached without any proxy."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    httpd = MirrorServer()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def payloads() -> dict[str, bytes]:
    """The four ``.gz`` files of a tiny data set, as a mirror serves them."""
    return gz_payloads(small_set(seed=3))


@pytest.fixture(scope="module")
def mnist(mnist_dir: Path) -> Dataset:
    """The full MNIST, read once per test module."""
    return load_folder(mnist_dir, name="mnist")
