"""Data: MNIST-format files, the embedded subset, downloads, and your own images.

One job a module, each importing only those before it:

* :mod:`.idx`: the IDX file format (:func:`read_idx`);
* :mod:`.dataset`: :class:`Dataset`, the checked train/test split everything arrives as;
* :mod:`.folder`: a folder of the four standard files (:func:`load_folder`);
* :mod:`.embedded`: what ships inside the package: the subset (:func:`load_mini`) and the
  model ``predict`` uses by default (:func:`load_default_model`);
* :mod:`.fetch`: the full public sets, fetched and verified into a cache (:func:`download`);
* :mod:`.sources`: the names ``--data`` accepts (:func:`load_dataset`);
* :mod:`.images`: your own drawings and photos, and pixels to network inputs (:func:`to_inputs`);
* :mod:`.labelled`: a folder of your own images labelled by name (:func:`load_labelled`);
* :mod:`.augment`: the training digits distorted afresh every epoch (:func:`distort`).

:func:`one_hot` lives in the core (:mod:`nudgenet.cost`), being the cost's target encoding;
it is offered here too, beside :func:`to_inputs`, because the two are used together.
"""

from ..cost import one_hot
from .dataset import Dataset
from .embedded import load_mini
from .fetch import CHECKSUMS, MIRRORS, data_home, download
from .folder import MNIST_FILES, load_folder
from .idx import read_idx
from .images import load_image, load_images, preprocess, to_inputs
from .sources import DATASET_CHOICES, FASHION_SYSTEM_DIR, load_dataset

__all__ = [
    "CHECKSUMS",
    "DATASET_CHOICES",
    "FASHION_SYSTEM_DIR",
    "MIRRORS",
    "MNIST_FILES",
    "Dataset",
    "data_home",
    "download",
    "load_dataset",
    "load_folder",
    "load_image",
    "load_images",
    "load_mini",
    "one_hot",
    "preprocess",
    "read_idx",
    "to_inputs",
]
