"""Shared fixtures: where the full MNIST files are, for tests marked ``mnist``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

MNIST_DIR_ENV = "NUDGENET_MNIST_DIR"
_MNIST_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def _default_mnist_dir() -> Path:
    """The repository sits beside ``shared/``, which holds ``data/mnist/``."""
    return Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The folder holding the four full MNIST files; skips the test when absent.

    ``$NUDGENET_MNIST_DIR`` overrides the default ``<repo>/../shared/data/mnist``.
    """
    env = os.environ.get(MNIST_DIR_ENV)
    folder = Path(env) if env else _default_mnist_dir()
    missing = [
        n for n in _MNIST_NAMES if not (folder / n).is_file() and not (folder / f"{n}.gz").is_file()
    ]
    if missing:
        pytest.skip(
            f"full MNIST not found in {folder} (missing {', '.join(missing)}); "
            f"set {MNIST_DIR_ENV} to a folder holding the four files"
        )
    return folder
