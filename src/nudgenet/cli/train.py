"""``nudgenet train``: train a network through the recipe, report every epoch, save it.

The run itself is :class:`~nudgenet.training.recipe.Run`, the same one the web page and the
sweeps train through; this module turns flags into a recipe and records into lines.

Training can take hours, so its result is never lost for want of a place to put it: where
``--out`` and ``--plots`` will be written is checked before training starts, and if saving
still fails afterwards (the disk filled up, the folder went away) the model is saved under a
new name in the current folder (or the temporary one) instead, and the command says where
and exits with status 1, since the save that was asked for did not happen.

Every saved model is also a checkpoint: ``--resume MODEL --epochs N`` goes on to N epochs in
all, with the model's own settings (a flag that contradicts them is refused), and gives what
N epochs straight through would have. Ctrl-C during training saves the run as of its last
completed epoch to ``--out``, atomically, prints the command that resumes it and exits with
status 130.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .. import options
from ..data import DATASET_CHOICES, load_dataset
from ..descent import Step
from ..errors import ConfigError, NudgenetError, OutputError
from ..files import cannot_write
from ..model import Model
from ..network import Network
from ..training.loop import Epoch, TrainSettings
from ..training.recipe import Recipe, Run, recipe_of
from . import pictures
from .common import (
    add_augment,
    add_data,
    add_deskew,
    add_json,
    add_network,
    add_option,
    add_output,
    after_saving,
    check_output,
    check_output_folder,
    print_json,
    printer,
)

FALLBACK_NAME = "nudgenet-model-{stamp}.npz"
# The flags that say what the run is: a resumed run takes them from its checkpoint.
RUN_FLAGS = (
    "data", "sizes", "activation", "output", "cost", "init", "lr", "schedule", "momentum",
    "l2", "batch_size", "epochs", "seed", "dtype", "engine", "augment", "deskew",
)  # fmt: skip
DEFAULTS: dict[str, Any] = {}  # each RUN_FLAGS flag's default, filled by register


def register(commands: Any) -> None:
    """Add ``train`` to the ``nudgenet`` subcommands."""
    p = commands.add_parser(
        "train",
        help="train a network by gradient descent and save it",
        description="Train a network by mini-batch gradient descent, θ ← θ − η∇C, printing "
        "the cost and test accuracy after every epoch, and save it.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
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
    add_augment(p)
    add_deskew(p)
    add_output(p, "--out", default=Path("nudgenet-model.npz"),
               help="where to save the trained model")  # fmt: skip
    p.add_argument("--snapshots", action="store_true",
                   help="also save θ after every epoch (for trajectories)")  # fmt: skip
    add_output(p, "--plots", metavar="DIR",
               help="also draw the figures of `nudgenet plot` into DIR")  # fmt: skip
    p.add_argument("--svg", action="store_true", help="with --plots: also write SVG")
    p.add_argument(
        "--resume", metavar="MODEL", type=Path,
        help="go on training MODEL (a model saved by `nudgenet train`, or one that Ctrl-C "
        "saved) to --epochs in all (default: the number it was started with), with its own "
        "settings; the result equals a run straight through",
    )  # fmt: skip
    add_json(p)
    p.set_defaults(run=run_train)
    _note_what_is_given(p)


def _note_what_is_given(p: argparse.ArgumentParser) -> None:
    """Leave the run's flags out of ``args`` unless typed, their defaults kept in DEFAULTS.

    A resumed run takes every setting from its checkpoint, so it must tell a flag typed
    (to be checked against the checkpoint) from one left at its default; argparse's
    ``SUPPRESS`` default tells exactly that. ``--help`` still shows each default.
    """
    for action in p._actions:
        if action.dest in RUN_FLAGS:
            DEFAULTS[action.dest] = action.default
            shown = ",".join(map(str, action.default)) if action.dest == "sizes" else action.default
            action.help = f"{action.help} (default: {shown})"
            action.default = argparse.SUPPRESS


def _settings(args: argparse.Namespace) -> tuple[dict[str, Any], Model | None]:
    """The run's flags, each as typed or else from the checkpoint (with --resume) or the
    default; and the model resumed, if any."""
    given = {key: getattr(args, key) for key in RUN_FLAGS if hasattr(args, key)}
    if args.resume is None:
        return {**DEFAULTS, **given}, None
    model = Model.load(args.resume)
    recipe = recipe_of(model)
    s = model.settings
    ours = {
        **recipe.as_dict(), "sizes": tuple(recipe.network.sizes), "engine": recipe.engine,
        "data": s.get("data") or DEFAULTS["data"],  # its size is checked against the run's
    }  # fmt: skip
    changed = [
        key for key, value in given.items()
        if key not in ("epochs", "engine") and value != ours[key]
    ]  # fmt: skip
    if changed:
        raise ConfigError(
            f"--resume {args.resume} continues a run with its own settings, but "
            + "; ".join(
                f"--{_flag(k)} {_word(given[k])} contradicts the run's {_word(ours[k])}"
                for k in changed
            ),
            help=f"leave {', '.join('--' + _flag(k) for k in changed)} out when resuming; "
            "to train with other settings, start a new run (without --resume)",
        )
    if args.snapshots and model.snapshots is None:
        raise ConfigError(
            f"--snapshots: the run in {args.resume} kept no θ snapshots, so they cannot start now",
            help="leave --snapshots out (a run that kept them goes on keeping them), or "
            "train afresh with --snapshots",
        )
    return {**DEFAULTS, **ours, **given}, model


def _flag(key: str) -> str:
    return key.replace("_", "-")


def _word(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple | list) else f"{value}"


def run_train(args: argparse.Namespace) -> int:
    """``nudgenet train``: train, print per-epoch results, save the model."""
    settings, resumed = _settings(args)
    vars(args).update(settings)
    recipe = Recipe(
        Network(args.sizes, args.activation, args.output),
        TrainSettings(
            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, schedule=args.schedule,
            momentum=args.momentum, l2=args.l2, cost=args.cost, augment=args.augment,
        ),
        init=args.init, seed=args.seed, dtype=args.dtype, engine=args.engine,
        deskew=args.deskew,
    )  # fmt: skip
    check_output(args.out, "--out")
    if args.plots is not None:
        check_output_folder(args.plots, "--plots")
    data = load_dataset(args.data)
    run = Run(
        recipe,
        data,
        data_name=data.name if args.data in DATASET_CHOICES else str(args.data),
        snapshots=args.snapshots,
        resume=resumed,
    )
    # Let the uint8 images go (55 MB for MNIST) unless --plots will draw test images.
    plot_data = data if args.plots is not None else None
    say = printer(args.json)
    _describe_run(say, run, data.name, args)
    del data
    try:
        _train_with_progress(run, args)
    except KeyboardInterrupt:
        return _save_interrupted(run, args)
    model = run.model()
    path, failure = _save(model, args.out)
    try:
        plots = (
            [] if plot_data is None else pictures.draw_plots(model, plot_data, args.plots, args.svg)
        )
    except NudgenetError as exc:
        raise after_saving(
            exc, f"the model is saved in {path}: draw the figures with `nudgenet plot {path}`"
        ) from None
    _warn_if_nothing_learned(run)
    if args.json:
        result = _train_json(run, model, path, plots, args)
        print_json(result if failure is None else {**result, "not_saved_to": str(args.out)})
    else:
        say(f"test accuracy {100 * run.history[-1]['test_accuracy']:.2f}%; model saved to {path}")
        if plots:
            say(f"figures written to {args.plots}: " + ", ".join(p.name for p in plots))
    if failure is not None:
        raise failure
    return 0


def _save_interrupted(run: Run, args: argparse.Namespace) -> int:
    """Ctrl-C: save the run as of its last completed epoch, say how to resume; status 130.

    The save is atomic: a second Ctrl-C during it leaves whatever ``--out`` held before.
    """
    done = run.epochs_done
    if not run.history:
        raise KeyboardInterrupt  # not one epoch recorded: nothing worth keeping
    model = run.model()
    path, failure = _save(model, args.out)
    command = f"nudgenet train --resume {shlex.quote(str(path))} --epochs {args.epochs} --out "
    command += shlex.quote(str(args.out))
    if args.json:
        print_json({"interrupted": True, "model": str(path), "epochs_done": done,
                    "epochs": args.epochs, "resume": command})  # fmt: skip
    print(
        f"interrupted: the run as of epoch {done}/{args.epochs} is saved to {path}\n"
        f"resume it with: {command}",
        file=sys.stderr,
    )
    if failure is not None:
        raise failure
    return 130


def _save(model: Model, out: Path) -> tuple[Path, NudgenetError | None]:
    """Save ``model`` to ``out``; failing that, to a new file where it can be: never lost.

    Returns where it was saved and, when that is not ``out``, the error to end with: the
    save that was asked for failed, and its help line says where the model is instead.
    """
    failed: NudgenetError
    try:
        return model.save(out), None
    except NudgenetError as exc:  # OutputError among them
        failed = exc
    except OSError as exc:  # one atomic_write did not foresee: the model is kept all the same
        failed = cannot_write(out, exc)
    for folder in (Path("."), Path(tempfile.gettempdir())):
        try:
            saved = save_new(model, folder)
        except (NudgenetError, OSError):
            continue
        return saved, OutputError(
            failed.message,
            help=f"the trained model was saved to {saved} instead; move it where you want it",
        )
    raise OutputError(
        f"{failed.message}; nor could the model be saved in the current or the temporary folder",
        help=f"{failed.help or 'choose a writable --out'}, and train again",
    )


def save_new(model: Model, folder: Path) -> Path:
    """Save ``model`` in ``folder`` under a new timestamped name, never replacing a file."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(100):
        name = FALLBACK_NAME.format(stamp=stamp if n == 0 else f"{stamp}-{n}")
        path = folder / name
        if path.exists():
            continue
        try:
            return model.save(path, overwrite=False)
        except OutputError:
            if not path.exists():
                raise  # taken meanwhile, by another run: try the next name
    raise OutputError(f"no free file name for the model in {folder}", help="free some names")


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
        + ("" if args.augment == "none" else f", augment {args.augment}")
        + (", deskewed" if args.deskew else "")
    )
    if run.history:
        say(f"resuming {args.resume} after epoch {run.epochs_done}, to {args.epochs} epochs")


def _train_with_progress(run: Run, args: argparse.Namespace) -> None:
    """Train to the end, with a progress bar on stderr and a line per epoch on stdout."""
    bar = tqdm(total=run.total_steps, unit="step", file=sys.stderr, disable=None, leave=False)
    steps_shown = run.history[-1]["steps"] if run.history else 0  # > 0 when resumed
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


def _warn_if_nothing_learned(run: Run) -> None:
    """A run that ends near chance is almost always a learning rate or a budget to change."""
    accuracy = run.history[-1]["train_accuracy"]
    if accuracy < 2.0 / run.recipe.network.sizes[-1]:
        print(
            f"warning: the network learned next to nothing (training accuracy "
            f"{100 * accuracy:.1f}%)\nhelp: a learning rate too large saturates "
            "the neurons so the gradient vanishes; one too small, or too few steps, barely "
            "moves θ: try another --lr or more --epochs",
            file=sys.stderr,
        )


def _train_json(
    run: Run, model: Model, path: Path, plots: list[Path], args: argparse.Namespace
) -> dict[str, Any]:
    network, last = run.recipe.network, run.history[-1]
    return {
        "model": str(path),
        "sizes": list(network.sizes),
        "num_params": network.n_params,
        "test_accuracy": last["test_accuracy"],
        "train_cost": last["train_cost"],
        "test_cost": last["test_cost"],
        "seconds_per_epoch": sum(h["seconds"] for h in run.history) / args.epochs,
        "settings": model.settings,
        "history": run.history,
        **({"plots": [str(p) for p in plots]} if args.plots else {}),
    }
