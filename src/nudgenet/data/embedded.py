"""The MNIST subset shipped inside the package, so that the first lesson needs no network.

``mini.npz`` holds 10,000 training and 2,000 test images, 1,000 and 200 of each digit,
drawn at random from the full MNIST sets; ``nudgenet/data/README.md`` says how, and
``scripts/build_mini.py`` rebuilds it byte for byte.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from ..errors import DataError
from .dataset import Dataset

__all__ = ["load_mini"]


def load_mini() -> Dataset:
    """Load the MNIST subset shipped inside the package: 10,000 train and 2,000 test images.

    Read through :mod:`importlib.resources` so that it works from a wheel or zip as well
    as from a source checkout. See ``nudgenet/data/README.md`` for how it was chosen.
    """
    resource = resources.files("nudgenet").joinpath("data").joinpath("mini.npz")
    keys = ("train_images", "train_labels", "test_images", "test_labels")
    try:
        with resource.open("rb") as fh, np.load(fh, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in keys}
    except FileNotFoundError as exc:
        raise DataError(
            f"the embedded data set is missing: {resource}",
            help="reinstall nudgenet; the package ships nudgenet/data/mini.npz",
        ) from exc
    except (KeyError, ValueError, OSError) as exc:
        raise DataError(
            f"the embedded data set {resource} is unreadable or lacks one of {keys} ({exc})",
            help="reinstall nudgenet, or rebuild it with scripts/build_mini.py",
        ) from exc
    for array in arrays.values():
        array.flags.writeable = False
    return Dataset(name="mini", **arrays)
