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
from ..data.images import load_image
from ..errors import ConfigError, DataError, ImageError, NudgenetError
from ..interop import load_model
from ..model import Model
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
    _add_model(p)
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
    data = load_dataset(args.data or _training_data(model))
    X = to_inputs(data.test_images, model.theta.dtype)
    guesses = model.predict(X)
    labels = data.test_labels.astype(np.intp)
    n_classes = model.network.sizes[-1]
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (labels, guesses), 1)
    per_class = [
        float(confusion[d, d] / row_sum) if (row_sum := confusion[d].sum()) else None
        for d in range(n_classes)
    ]
    accuracy = float(np.mean(guesses == labels))
    if args.json:
        print_json(
            {
                "model": str(args.model),
                "data": data.name,
                "n": len(labels),
                "accuracy": accuracy,
                "per_class_accuracy": per_class,
                "confusion": confusion.tolist(),
            }
        )
        return 0
    print(f"{data.name}: {len(labels):,} test images, accuracy {100 * accuracy:.2f}%")
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
    model = load_model(args.model)
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
                "model": str(args.model),
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
    if model.history:
        print("  epoch   train cost   test cost   test accuracy")
        for h in model.history:
            acc = h.get("test_accuracy")
            acc_text = f"{100 * acc:.2f}%" if acc is not None else "-"
            test_cost = h.get("test_cost")
            test_text = f"{test_cost:.4f}" if test_cost is not None else "-"
            print(f"  {h['epoch']:>5}   {h['train_cost']:>10.4f}   {test_text:>9}   {acc_text:>13}")
    return 0
