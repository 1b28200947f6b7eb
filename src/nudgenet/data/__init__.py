"""Data: MNIST-format files, the embedded subset, downloads, and your own images."""

from .datasets import (
    DATASET_CHOICES,
    Dataset,
    download,
    load_dataset,
    load_folder,
    load_mini,
    one_hot,
    read_idx,
    to_inputs,
)
from .images import load_image, load_images, preprocess

__all__ = [
    "DATASET_CHOICES",
    "Dataset",
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
