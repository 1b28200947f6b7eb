"""How well models read digits that are not MNIST: the outside-handwriting figure.

Reads the labelled images of ``tests/data/handwriting/`` (600 digits rendered from 20
handwriting-like and printed fonts, then spoiled by ink, paper, lighting, noise, blur and
JPEG; see ``scripts/build_handwriting.py``) as ``nudgenet predict`` reads them, and prints each
model's accuracy on them, with the preprocessing as shipped and with each of its two extra
steps (stroke-width normalisation, deskewing) turned off, beside its MNIST test accuracy.
An image in which no ink is found counts as read wrong.

Usage::

    python scripts/robustness.py MODEL.npz [MODEL.npz ...] [--mnist DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from nudgenet import Model
from nudgenet.data import load_dataset, to_inputs
from nudgenet.data.labelled import load_labelled
from nudgenet.training.recipe import prepared, trained_deskewed

SET = Path(__file__).resolve().parents[1] / "tests" / "data" / "handwriting"
STEPS = {
    "as shipped": {},
    "no stroke normalisation": {"stroke": False},
    "no deskewing": {"deskew": False},
    "neither": {"stroke": False, "deskew": False},
}


def outside_accuracy(model: Model, folder: Path = SET, **steps: bool) -> float:
    """The fraction of the folder's images the model reads right (unreadable ones wrong)."""
    found = load_labelled(folder, **steps)
    right = np.sum(model.predict(to_inputs(found.images, model.theta.dtype)) == found.labels)
    return float(right / (len(found.labels) + len(found.unreadable)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--mnist", default=None, help="--data for the MNIST test accuracy")
    args = parser.parse_args()
    print("| model | MNIST test | " + " | ".join(f"outside, {s}" for s in STEPS) + " |")
    print("| --- " * (len(STEPS) + 2) + "|")
    for path in args.models:
        model = Model.load(path)
        data = load_dataset(args.mnist or model.settings.get("data", "mini"))
        data = prepared(data, trained_deskewed(model))  # as the model learnt its digits
        mnist = np.mean(model.predict(to_inputs(data.test_images, model.theta.dtype))
                        == data.test_labels)  # fmt: skip
        cells = [f"{100 * outside_accuracy(model, **steps):.1f} %" for steps in STEPS.values()]
        print(f"| {path.name} ({'-'.join(map(str, model.network.sizes))}) | "
              f"{100 * mnist:.2f} % | " + " | ".join(cells) + " |")  # fmt: skip


if __name__ == "__main__":
    main()
