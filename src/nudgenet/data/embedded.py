"""What ships inside the package: an MNIST subset, and a trained model to read your digits.

``mini.npz`` holds 10,000 training and 2,000 test images, 1,000 and 200 of each digit,
drawn at random from the full MNIST sets; ``nudgenet/data/README.md`` says how, and
``scripts/build_mini.py`` rebuilds it byte for byte.

``default-model.npz`` is the network ``nudgenet predict`` uses when given no model: the most
robust reader of outside handwriting that fits in a few megabytes (see ``docs/recipes.md``
for how it was trained, and ``scripts/robustness.py`` for how it was chosen).
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from ..errors import DataError, ModelFileError
from ..model import Model
from .dataset import Dataset

__all__ = ["load_default_model", "load_mini"]

DEFAULT_MODEL = "default-model.npz"


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


def load_default_model() -> Model:
    """The trained network shipped inside the package (``nudgenet/data/default-model.npz``)."""
    resource = resources.files("nudgenet").joinpath("data").joinpath(DEFAULT_MODEL)
    try:
        with resources.as_file(resource) as path:
            return Model.load(path)
    except (FileNotFoundError, ModelFileError) as exc:
        raise DataError(
            f"the shipped model is missing or unreadable: {resource}",
            help="reinstall nudgenet, or name a model of your own: nudgenet train makes one",
        ) from exc
