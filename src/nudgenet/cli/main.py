"""The ``nudgenet`` command line: a thin layer over the library.

Each subcommand parses flags that map one to one onto library arguments, calls the library,
and renders what comes back: results on stdout (or one JSON object with ``--json``),
progress and errors on stderr. Expected errors print one ``error:`` line (plus a ``help:``
line) and exit with status 1; usage errors exit with 2, as argparse does.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .. import options
from .._version import __version__
from ..activations import ACTIVATIONS, OUTPUTS
from ..cost import COSTS
from ..data import DATASET_CHOICES, load_dataset, to_inputs
from ..data.images import load_images
from ..descent import Step
from ..errors import ConfigError, NudgenetError
from ..gradcheck import GradientCheck, check_gradient
from ..init import INITS
from ..model import Model
from ..network import Network
from ..training.loop import Epoch, TrainSettings
from ..training.recipe import Recipe, Run
from . import pictures as cli_pictures
from .common import add_data, add_json, add_network, add_option, print_json, printer
from .descent import register as register_descent
from .inside import register as register_inside
from .serve import register as register_serve
from .sweep import register as register_sweep

GRADCHECK_TOLERANCE = 1e-6


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        # Inside the try: a list flag refuses an unknown name with the library's own error.
        args = parser.parse_args(argv)
        return int(args.run(args))
    except BrokenPipeError:
        # The reader (e.g. `| head`) left early: not an error worth a traceback.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except NudgenetError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.help:
            print(f"help: {exc.help}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="nudgenet",
        description="How a neural network learns: gradient descent on handwritten digits.",
    )
    parser.add_argument("--version", action="version", version=f"nudgenet {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    defaults = argparse.ArgumentDefaultsHelpFormatter

    p = commands.add_parser(
        "train",
        help="train a network by gradient descent and save it",
        description="Train a network by mini-batch gradient descent, θ ← θ − η∇C, printing "
        "the cost and test accuracy after every epoch, and save it.",
        formatter_class=defaults,
    )
    add_data(p, "the data to train and test on")
    add_network(p, init="xavier")
    add_option(p, options.LEARNING_RATE, 1.0)
    add_option(p, options.SCHEDULE, "cosine")
    add_option(p, options.MOMENTUM, 0.0)
    add_option(p, options.L2, 0.0)
    add_option(p, options.BATCH_SIZE, 10)
    add_option(p, options.EPOCHS, 20)
    add_option(p, options.SEED, 0)
    add_option(p, options.DTYPE, "float32")
    add_option(p, options.ENGINE, "auto")
    p.add_argument("--out", type=Path, default=Path("nudgenet-model.npz"),
                   help="where to save the trained model")  # fmt: skip
    p.add_argument("--snapshots", action="store_true",
                   help="also save θ after every epoch (for trajectories)")  # fmt: skip
    p.add_argument("--plots", type=Path, metavar="DIR",
                   help="also draw the figures of `nudgenet plot` into DIR")  # fmt: skip
    p.add_argument("--svg", action="store_true", help="with --plots: also write SVG")
    add_json(p)
    p.set_defaults(run=run_train)

    p = commands.add_parser(
        "evaluate",
        help="accuracy, per-digit accuracy and confusion matrix of a saved model",
        formatter_class=defaults,
    )
    p.add_argument("model", type=Path, help="a model saved by `nudgenet train`")
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
    p.add_argument("model", type=Path, help="a model saved by `nudgenet train`")
    p.add_argument("images", type=Path, nargs="+", metavar="IMAGE", help="image files")
    p.add_argument("--top", type=int, default=3, help="how many guesses to show per image")
    add_json(p)
    p.set_defaults(run=run_predict)

    p = commands.add_parser("info", help="describe a saved model", formatter_class=defaults)
    p.add_argument("model", type=Path, help="a model saved by `nudgenet train`")
    add_json(p)
    p.set_defaults(run=run_info)

    p = commands.add_parser(
        "gradcheck",
        help="check backpropagation against finite differences",
        description="Compare the gradient from backpropagation with a finite-difference "
        "estimate on a small random network and batch, in float64, and print the maximum "
        f"relative error (it passes below {GRADCHECK_TOLERANCE:g}).",
        formatter_class=defaults,
    )
    add_network(p, init="normal", sizes=(5, 4, 3, 3))
    add_option(p, options.L2, 0.0)
    p.add_argument("--batch-size", type=int, default=8, help="random examples in the batch")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--all", action="store_true",
                   help="check every activation × output × cost × init combination")  # fmt: skip
    add_json(p)
    p.set_defaults(run=run_gradcheck)
    cli_pictures.register(commands)
    register_inside(commands)
    register_descent(commands)
    register_serve(commands)
    register_sweep(commands)
    return parser


# --------------------------------------------------------------------------- train


def run_train(args: argparse.Namespace) -> int:
    """``nudgenet train``: train, print per-epoch results, save the model."""
    recipe = Recipe(
        Network(args.sizes, args.activation, args.output),
        TrainSettings(
            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, schedule=args.schedule,
            momentum=args.momentum, l2=args.l2, cost=args.cost,
        ),
        init=args.init, seed=args.seed, dtype=args.dtype, engine=args.engine,
    )  # fmt: skip
    data = load_dataset(args.data)
    run = Run(
        recipe,
        data,
        data_name=data.name if args.data in DATASET_CHOICES else str(args.data),
        snapshots=args.snapshots,
    )
    # Let the uint8 images go (55 MB for MNIST) unless --plots will draw test images.
    plot_data = data if args.plots is not None else None
    say = printer(args.json)
    _describe_run(say, run, data.name, args)
    del data
    _train_with_progress(run, args)
    model = run.model()
    path = model.save(args.out)
    plots = (
        [] if plot_data is None else cli_pictures.draw_plots(model, plot_data, args.plots, args.svg)
    )
    last = run.history[-1]
    if last["train_accuracy"] < 2.0 / recipe.network.sizes[-1]:
        print(
            f"warning: the network learned next to nothing (training accuracy "
            f"{100 * last['train_accuracy']:.1f}%)\nhelp: a learning rate too large saturates "
            "the neurons so the gradient vanishes; one too small, or too few steps, barely "
            "moves θ: try another --lr or more --epochs",
            file=sys.stderr,
        )
    if args.json:
        print_json(
            {
                "model": str(path),
                "sizes": list(recipe.network.sizes),
                "num_params": recipe.network.n_params,
                "test_accuracy": last["test_accuracy"],
                "train_cost": last["train_cost"],
                "test_cost": last["test_cost"],
                "seconds_per_epoch": sum(h["seconds"] for h in run.history) / args.epochs,
                "settings": model.settings,
                "history": run.history,
                **({"plots": [str(p) for p in plots]} if args.plots else {}),
            }
        )
    else:
        say(f"test accuracy {100 * last['test_accuracy']:.2f}%; model saved to {path}")
        if plots:
            say(f"figures written to {args.plots}: " + ", ".join(p.name for p in plots))
    return 0


def _describe_run(say: Any, run: Run, name: str, args: argparse.Namespace) -> None:
    network = run.recipe.network
    say(
        f"training {'-'.join(map(str, network.sizes))} ({network.n_params:,} weights and "
        f"biases) on {name}: "
        f"{len(run.X):,} training and {len(run.test[0]):,} test images"
    )
    say(
        f"{args.activation} hidden, {args.output} output, {args.cost} cost, {args.init} init, "
        f"η = {args.lr:g} ({args.schedule}), batch {args.batch_size or 'full'}, "
        f"momentum {args.momentum:g}, L2 {args.l2:g}, seed {args.seed}, {args.dtype}"
    )


def _train_with_progress(run: Run, args: argparse.Namespace) -> None:
    """Train to the end, with a progress bar on stderr and a line per epoch on stdout."""
    bar = tqdm(total=run.total_steps, unit="step", file=sys.stderr, disable=None, leave=False)
    steps_shown = 0
    with bar:
        for record in run.records():
            if isinstance(record, Step):
                # Both engines report every step (the fast one in a burst after each epoch).
                bar.update(record.step + 1 - steps_shown)
                steps_shown = record.step + 1
                if record.step % 50 == 0:
                    bar.set_postfix(cost=f"{record.cost:.4f}", lr=f"{record.learning_rate:.3g}")
                continue
            bar.update(record.steps - steps_shown)  # steps a flat gradient skipped
            steps_shown = record.steps
            if not args.json:
                bar.write(_epoch_line(record, args.epochs), file=sys.stdout)


def _epoch_line(e: Epoch, epochs: int) -> str:
    width = len(str(epochs))
    return (
        f"epoch {e.epoch:>{width}}/{epochs}  cost {e.train_cost:.4f}  "
        f"test cost {e.test_cost:.4f}  test accuracy {100 * (e.test_accuracy or 0):6.2f}%  "
        f"η {e.learning_rate:.3g}  {e.seconds:.2f} s"
    )


# --------------------------------------------------------------------------- evaluate


def run_evaluate(args: argparse.Namespace) -> int:
    """``nudgenet evaluate``: accuracy, per-digit accuracy and confusion matrix."""
    model = Model.load(args.model)
    spec = args.data or _training_data(model)
    data = load_dataset(spec)
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
    data = model.settings.get("data")
    return data if data in DATASET_CHOICES or (data and Path(data).is_dir()) else "mini"


# --------------------------------------------------------------------------- predict


def run_predict(args: argparse.Namespace) -> int:
    """``nudgenet predict``: the top guesses for each of the user's images."""
    model = Model.load(args.model)
    if model.network.sizes[0] != 784:
        raise ConfigError(
            f"{args.model} expects {model.network.sizes[0]} inputs, but images are "
            "preprocessed to 28×28 = 784 pixels",
            help="use a model trained on 28×28 images",
        )
    if args.top < 1:
        raise ConfigError(f"--top must be at least 1, got {args.top}")
    images = load_images(args.images)
    X = to_inputs(images, model.theta.dtype)
    probabilities = model.probabilities(X)
    results = []
    for path, p in zip(args.images, probabilities, strict=True):
        order = np.argsort(-p, kind="stable")[: args.top]
        results.append(
            {
                "image": str(path),
                "guesses": [{"digit": int(d), "probability": float(p[d])} for d in order],
            }
        )
    if args.json:
        print_json({"model": str(args.model), "predictions": results})
        return 0
    for r in results:
        guesses = ", ".join(f"{g['digit']} ({100 * g['probability']:.1f}%)" for g in r["guesses"])
        print(f"{r['image']}: {guesses}")
    return 0


# --------------------------------------------------------------------------- info


def run_info(args: argparse.Namespace) -> int:
    """``nudgenet info``: what a saved model is and how it was trained."""
    model = Model.load(args.model)
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


# --------------------------------------------------------------------------- gradcheck


def run_gradcheck(args: argparse.Namespace) -> int:
    """``nudgenet gradcheck``: backpropagation against finite differences."""
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.all:
        combos = list(itertools.product(ACTIVATIONS, OUTPUTS, COSTS, INITS))
    else:
        combos = [(args.activation, args.output, args.cost, args.init)]
    rng = np.random.default_rng(args.seed)
    checks = [
        check_gradient(
            Network(args.sizes, activation, output),
            cost=cost,
            init=init,
            l2=args.l2,
            m=args.batch_size,
            rng=rng,
        )
        for activation, output, cost, init in combos
    ]
    worst = max(c.max_relative_error for c in checks)
    passed = worst < GRADCHECK_TOLERANCE
    if args.json:
        print_json(
            {
                "max_relative_error": worst,
                "tolerance": GRADCHECK_TOLERANCE,
                "passed": passed,
                "sizes": list(args.sizes),
                "checks": [_check_dict(c) for c in checks],
            }
        )
        return 0 if passed else 1
    sizes = "-".join(map(str, args.sizes))
    print(
        f"backpropagation vs finite differences on a {sizes} network, "
        f"{args.batch_size} random examples, float64"
    )
    for c in checks:
        verdict = "ok" if c.max_relative_error < GRADCHECK_TOLERANCE else "FAILED"
        print(
            f"  {c.network.activation:>7} hidden  {c.network.output:>7} output  {c.cost:>13}  "
            f"{c.init:>8} init   max relative error {c.max_relative_error:.2e}  {verdict}"
        )
    print(
        f"max relative error {worst:.2e} over {checks[0].n_params} parameters: "
        + ("passed" if passed else "FAILED")
        + f" (tolerance {GRADCHECK_TOLERANCE:g})"
    )
    return 0 if passed else 1


def _check_dict(c: GradientCheck) -> dict[str, Any]:
    return {
        "activation": c.network.activation,
        "output": c.network.output,
        "cost": c.cost,
        "init": c.init,
        "num_params": c.n_params,
        "max_relative_error": c.max_relative_error,
        "max_absolute_error": c.max_absolute_error,
    }


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
