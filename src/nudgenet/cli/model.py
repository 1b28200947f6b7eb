"""``nudgenet evaluate``, ``predict`` and ``info``: what a saved model does and what it is.

Each loads a model written by ``nudgenet train`` and reads it: its accuracy on test images,
its guesses for the user's own images, or its architecture and training history.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..data import DATASET_CHOICES, load_dataset, to_inputs
from ..data.embedded import load_default_model
from ..data.images import load_image
from ..data.labelled import load_labelled
from ..errors import ConfigError, DataError, ImageError, NudgenetError
from ..interop import load_model
from ..model import Model
from ..training.recipe import prepared, trained_deskewed
from .common import add_data, add_json, print_json


def register(commands: Any) -> None:
    """Add ``evaluate``, ``predict`` and ``info`` to the ``nudgenet`` subcommands."""
    defaults = argparse.ArgumentDefaultsHelpFormatter
    p = commands.add_parser(
        "evaluate",
        help="accuracy, per-digit accuracy and confusion matrix of a saved model",
        formatter_class=defaults,
    )
    _add_model(p)
    add_data(p, "the data whose test images to classify", default=None)
    p.add_argument(
        "--images", type=Path, metavar="DIR",
        help="instead, your own labelled images: files named by their digit first "
        "(7-mine.png) or in folders named by it (7/mine.png), preprocessed as predict does",
    )  # fmt: skip
    add_json(p)
    p.set_defaults(run=run_evaluate)

    p = commands.add_parser(
        "predict",
        help="classify your own images of digits",
        description="Classify PNG/JPEG images of digits (any size, dark on light or light on "
        "dark) after MNIST-style preprocessing: ink as bright, cropped, fitted in 20×20 and "
        "centred by its centre of mass in 28×28.",
        formatter_class=defaults,
    )
    p.add_argument("model", type=Path, nargs="?", metavar="MODEL",
                   help="a model saved by `nudgenet train` (.npz) or exported (.safetensors); "
                   "leave it out to use the model shipped with nudgenet")  # fmt: skip
    p.add_argument("images", type=Path, nargs="+", metavar="IMAGE", help="image files")
    p.add_argument("--top", type=int, default=3, help="how many guesses to show per image")
    add_json(p)
    p.set_defaults(run=run_predict)

    p = commands.add_parser("info", help="describe a saved model", formatter_class=defaults)
    _add_model(p)
    add_json(p)
    p.set_defaults(run=run_info)


def _add_model(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=Path, help="a model saved by `nudgenet train` (.npz), or "
                   "exported by `nudgenet export --to safetensors`")  # fmt: skip


# --------------------------------------------------------------------------- evaluate


def run_evaluate(args: argparse.Namespace) -> int:
    """``nudgenet evaluate``: accuracy, per-digit accuracy and confusion matrix."""
    model = load_model(args.model)
    if args.images is not None:
        if args.data is not None:
            raise ConfigError(
                "--images and --data both name what to evaluate on",
                help="give one of them: --data for a data set's test images, --images for "
                "a folder of your own",
            )
        found = load_labelled(args.images)
        images, labels, name = found.images, found.labels, str(args.images)
        unreadable = [{"file": f, "label": label, "why": why} for f, label, why in found.unreadable]
    else:
        # A model that learnt from deskewed digits reads the test digits deskewed too.
        data = prepared(load_dataset(args.data or _training_data(model)), trained_deskewed(model))
        images, labels, name = data.test_images, data.test_labels.astype(np.intp), data.name
        unreadable = []
    guesses = model.predict(to_inputs(images, model.theta.dtype))
    n_classes = model.network.sizes[-1]
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (labels, guesses), 1)
    # An image with no ink the preprocessing could find is one the model did not read.
    missed = np.bincount([u["label"] for u in unreadable], minlength=n_classes)[:n_classes]
    per_class = [
        float(confusion[d, d] / row_sum) if (row_sum := confusion[d].sum() + missed[d]) else None
        for d in range(n_classes)
    ]
    n = len(labels) + len(unreadable)
    accuracy = float(np.sum(guesses == labels) / n)
    if args.json:
        print_json(
            {
                "model": str(args.model),
                "data": name,
                "n": n,
                "accuracy": accuracy,
                "per_class_accuracy": per_class,
                "confusion": confusion.tolist(),
                **({"unreadable": unreadable} if args.images is not None else {}),
            }
        )
        return 0
    kind = "images" if args.images is not None else "test images"
    print(f"{name}: {n:,} {kind}, accuracy {100 * accuracy:.2f}%")
    if unreadable:
        shown = ", ".join(u["file"] for u in unreadable[:5])
        more = " …" if len(unreadable) > 5 else ""
        print(
            f"{len(unreadable)} without ink that could be found (counted as wrong): {shown}{more}"
        )
    scores = (f"{d}: {100 * a:.1f}%" for d, a in enumerate(per_class) if a is not None)
    print("per digit: " + "  ".join(scores))
    print("confusion matrix (rows: true digit, columns: guess)")
    print("      " + "".join(f"{d:>6}" for d in range(n_classes)))
    for d in range(n_classes):
        print(f"{d:>6}" + "".join(f"{n:>6}" for n in confusion[d]))
    return 0


def _training_data(model: Model) -> str:
    """The data the model records, if it can still be loaded from there; else mini."""
    data = model.settings.get("data")
    return data if data in DATASET_CHOICES or (data and Path(data).is_dir()) else "mini"


# --------------------------------------------------------------------------- predict


MODEL_SUFFIXES = (".npz", ".safetensors")
"""What a model file's name ends with; predict's first argument is otherwise an image."""


def run_predict(args: argparse.Namespace) -> int:
    """``nudgenet predict``: the top guesses for each of the user's images.

    One unreadable image does not cost the others their answers: each readable image is
    answered on stdout, each unreadable one gets its own ``error:`` line on stderr (and a
    place in ``failures`` with ``--json``), and the exit status is 1 if any failed.
    """
    if args.top < 1:
        raise ConfigError(
            f"--top must be at least 1, got {args.top}",
            help="--top N shows the N likeliest digits per image, e.g. --top 3",
        )
    if args.model is not None and args.model.suffix.lower() not in MODEL_SUFFIXES:
        args.images, args.model = [args.model, *args.images], None  # all of them are images
    model = load_default_model() if args.model is None else load_model(args.model)
    if model.network.sizes[0] != 784:
        raise ConfigError(
            f"{args.model} expects {model.network.sizes[0]} inputs, but images are "
            "preprocessed to 28×28 = 784 pixels",
            help="use a model trained on 28×28 images",
        )
    read, failures = [], []
    for path in args.images:
        try:
            read.append((path, load_image(path)))
        except DataError as exc:
            failures.append((path, exc))
        except OSError as exc:  # e.g. a name too long to look up
            failures.append((path, ImageError(
                f"cannot read image {path}: {exc.strerror or exc}",
                help="check the path and spelling of the image",
            )))  # fmt: skip
    results = []
    if read:
        X = to_inputs(np.stack([image for _, image in read]), model.theta.dtype)
        for (path, _), p in zip(read, model.probabilities(X), strict=True):
            order = np.argsort(-p, kind="stable")[: args.top]
            results.append(
                {
                    "image": str(path),
                    "guesses": [{"digit": int(d), "probability": float(p[d])} for d in order],
                }
            )
    if args.json:
        print_json(
            {
                "model": "shipped" if args.model is None else str(args.model),
                "predictions": results,
                "failures": [
                    {"image": str(path), "error": exc.message, "help": exc.help}
                    for path, exc in failures
                ],
            }
        )
    else:
        for r in results:
            guesses = ", ".join(
                f"{g['digit']} ({100 * g['probability']:.1f}%)" for g in r["guesses"]
            )
            print(f"{r['image']}: {guesses}")
    return _report_failures(failures, answered=len(results))


def _report_failures(failures: list[tuple[Path, NudgenetError]], answered: int) -> int:
    """One ``error:`` line per unreadable image and one ``help:`` line; the exit status."""
    if not failures:
        return 0
    sys.stdout.flush()  # the answers first, where both streams go to one terminal
    for _, exc in failures:
        print(f"error: {exc.message}", file=sys.stderr)
    helps = {exc.help for _, exc in failures if exc.help}
    remedy = helps.pop() if len(helps) == 1 else "check each image named above"
    if answered:
        remedy += f" ({answered} other image{'s' * (answered != 1)} answered)"
    print(f"help: {remedy}", file=sys.stderr)
    return 1


# --------------------------------------------------------------------------- info


def run_info(args: argparse.Namespace) -> int:
    """``nudgenet info``: what a saved model is and how it was trained."""
    model = load_model(args.model)
    info = {"model": str(args.model), **model.describe()}
    if args.json:
        print_json(info)
        return 0
    print(f"{args.model}: nudgenet model (format {info['format_version']})")
    print(f"  layers      {'-'.join(map(str, info['sizes']))}")
    print(f"  parameters  {info['num_params']:,} weights and biases ({info['dtype']})")
    print(f"  activation  {info['activation']} hidden, {info['output']} output")
    print(f"  cost        {info['cost']}")
    for key, value in sorted(model.settings.items()):
        print(f"  {key:<11} {value}")
    point = model.checkpoint
    print(
        "  checkpoint  none: cannot be resumed"
        if point is None
        else f"  checkpoint  after epoch {point.epoch} (step {point.step:,}): resumable with "
        "`nudgenet train --resume`"
    )
    if model.history:
        print("  epoch   train cost   test cost   test accuracy")
        for h in model.history:
            acc = h.get("test_accuracy")
            acc_text = f"{100 * acc:.2f}%" if acc is not None else "-"
            test_cost = h.get("test_cost")
            test_text = f"{test_cost:.4f}" if test_cost is not None else "-"
            print(f"  {h['epoch']:>5}   {h['train_cost']:>10.4f}   {test_text:>9}   {acc_text:>13}")
    return 0
