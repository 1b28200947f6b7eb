"""Reproduce the three training recipes of docs/recipes.md and print their results table.

Each recipe is trained once per seed with the real command line,

    nudgenet train --data DIR --sizes ... --seed S --dtype float32 --out RUN/... --json

run as a subprocess (``python -m nudgenet``) with one BLAS thread, and the final test
accuracy and per-epoch seconds are read from its JSON. ``--api`` runs the same recipe
through the Python API instead, step for step what ``nudgenet train`` does, so both give
the same numbers for the same seed.

Usage::

    python scripts/recipes.py                    # all recipes, seeds 0 1 2, via the CLI
    python scripts/recipes.py --only 1,2 --seeds 0
    python scripts/recipes.py --api              # same, through the Python API
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "mnist"
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class Recipe:
    """One recipe: a name and the ``nudgenet train`` options that define it."""

    name: str
    sizes: tuple[int, ...]
    activation: str
    output: str
    cost: str
    init: str
    lr: float
    schedule: str
    momentum: float
    l2: float
    batch_size: int
    epochs: int

    def options(self) -> list[str]:
        """The recipe's command-line options, in a fixed order."""
        return [
            "--sizes", ",".join(map(str, self.sizes)),
            "--activation", self.activation,
            "--output", self.output,
            "--cost", self.cost,
            "--init", self.init,
            "--lr", f"{self.lr:g}",
            "--schedule", self.schedule,
            "--momentum", f"{self.momentum:g}",
            "--l2", f"{self.l2:g}",
            "--batch-size", str(self.batch_size),
            "--epochs", str(self.epochs),
        ]  # fmt: skip

    @property
    def n_params(self) -> int:
        """Weights and biases of the network."""
        return sum(
            (n_in + 1) * n_out for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:], strict=True)
        )


RECIPES: dict[int, Recipe] = {
    1: Recipe(
        "1. seed network (sigmoid, quadratic)",
        sizes=(784, 16, 16, 10), activation="sigmoid", output="sigmoid", cost="quadratic",
        init="xavier", lr=0.2, schedule="cosine", momentum=0.9, l2=3e-5,
        batch_size=10, epochs=60,
    ),
    2: Recipe(
        "2. same 13,002 parameters, any settings",
        sizes=(784, 16, 16, 10), activation="tanh", output="softmax", cost="quadratic",
        init="xavier", lr=0.2, schedule="cosine", momentum=0.9, l2=3e-4,
        batch_size=32, epochs=100,
    ),
    3: Recipe(
        "3. wider network",
        sizes=(784, 800, 800, 10), activation="relu", output="softmax", cost="cross-entropy",
        init="he", lr=0.05, schedule="cosine", momentum=0.9, l2=1e-4,
        batch_size=64, epochs=20,
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Result:
    """One training run: final test accuracy (a fraction) and seconds per epoch."""

    test_accuracy: float
    seconds_per_epoch: float


def command(recipe: Recipe, seed: int, data: Path, out: Path) -> list[str]:
    """The ``nudgenet train`` arguments for ``recipe`` and ``seed`` (without the program)."""
    return [
        "train", "--data", str(data), *recipe.options(), "--seed", str(seed),
        "--dtype", "float32", "--out", str(out), "--json",
    ]  # fmt: skip


def _epoch_seconds(history: list[dict[str, Any]]) -> float:
    """Mean wall time of the training epochs (epoch 0, the untrained network, has none)."""
    return statistics.mean(h["seconds"] for h in history if h.get("epoch", 1) >= 1)


def run_cli(recipe: Recipe, seed: int, data: Path, out: Path) -> Result:
    """Train through the command line, ``python -m nudgenet train ... --json``."""
    args = [sys.executable, "-m", "nudgenet", *command(recipe, seed, data, out)]
    done = subprocess.run(
        args, env={**os.environ, **ONE_THREAD}, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"nudgenet train failed ({done.returncode}):\n{done.stderr}")
    report = json.loads(done.stdout)
    return Result(float(report["test_accuracy"]), _epoch_seconds(report["history"]))


_DATA_CACHE: dict[Path, Any] = {}


def run_api(recipe: Recipe, seed: int, data: Path, out: Path) -> Result:
    """Train through the Python API, exactly as ``nudgenet train`` does."""
    import numpy as np  # imported here so that main() sets the BLAS threads first

    from nudgenet.data import load_folder, one_hot, to_inputs
    from nudgenet.init import init_params
    from nudgenet.network import Network
    from nudgenet.train import Epoch, TrainSettings, train

    if data not in _DATA_CACHE:
        _DATA_CACHE[data] = load_folder(data)
    ds = _DATA_CACHE[data]
    dtype = "float32"
    X, Y = to_inputs(ds.train_images, dtype), one_hot(ds.train_labels, dtype=dtype)
    X_test = to_inputs(ds.test_images, dtype)
    network = Network(recipe.sizes, recipe.activation, recipe.output)
    init_rng, shuffle_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)
    )
    theta = init_params(network.layout, recipe.init, rng=init_rng, dtype=dtype)
    settings = TrainSettings(
        epochs=recipe.epochs, batch_size=recipe.batch_size, lr=recipe.lr,
        schedule=recipe.schedule, momentum=recipe.momentum, l2=recipe.l2, cost=recipe.cost,
    )  # fmt: skip
    history = []
    for record in train(
        network, theta, X, Y, settings, rng=shuffle_rng,
        test=(X_test, ds.test_labels), labels=ds.train_labels,
    ):  # fmt: skip
        if isinstance(record, Epoch):
            history.append(record.as_dict())
    np.save(out.with_suffix(".npy"), theta)
    return Result(float(history[-1]["test_accuracy"]), _epoch_seconds(history))


def shown_command(recipe: Recipe) -> str:
    """The command as a reader would type it (data folder and seed left to choose)."""
    return "nudgenet train " + " ".join(recipe.options()) + " --seed S --dtype float32"


def table(rows: list[tuple[Recipe, list[Result]]], seeds: list[int]) -> str:
    """The Markdown results table."""
    lines = [
        "| recipe | sizes | params | test accuracy (%) mean ± std | per seed "
        f"({', '.join(map(str, seeds))}) | s/epoch | command |",
        "|---|---|---:|---:|---|---:|---|",
    ]
    for recipe, results in rows:
        accs = [100 * r.test_accuracy for r in results]
        std = statistics.stdev(accs) if len(accs) > 1 else 0.0
        seconds = statistics.mean(r.seconds_per_epoch for r in results)
        lines.append(
            f"| {recipe.name} | {'-'.join(map(str, recipe.sizes))} | {recipe.n_params:,} | "
            f"{statistics.mean(accs):.2f} ± {std:.2f} | "
            f"{' / '.join(f'{a:.2f}' for a in accs)} | {seconds:.2f} | "
            f"`{shown_command(recipe)}` |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder with the four MNIST files (default: %(default)s)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--only",
        default=",".join(map(str, RECIPES)),
        help="comma-separated recipe numbers, e.g. 1,2",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for the trained models (default: a temporary folder)",
    )
    parser.add_argument(
        "--api",
        action="store_true",
        help="train through the Python API instead of the command line",
    )
    args = parser.parse_args(argv)
    for key, value in ONE_THREAD.items():  # for --api: BLAS reads these when NumPy loads
        os.environ.setdefault(key, value)
    wanted = [int(part) for part in args.only.split(",")]
    unknown = [k for k in wanted if k not in RECIPES]
    if unknown:
        parser.error(f"unknown recipe {unknown}; choose from {', '.join(map(str, RECIPES))}")
    data = args.data.resolve()
    run = run_api if args.api else run_cli
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out if args.out is not None else Path(scratch)
        out.mkdir(parents=True, exist_ok=True)
        rows = []
        for k in wanted:
            results = []
            for seed in args.seeds:
                start = time.perf_counter()
                result = run(RECIPES[k], seed, data, out / f"recipe{k}-seed{seed}.npz")
                print(
                    f"recipe {k} seed {seed}: test accuracy {100 * result.test_accuracy:.2f}%, "
                    f"{result.seconds_per_epoch:.2f} s/epoch ({time.perf_counter() - start:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
                results.append(result)
            rows.append((RECIPES[k], results))
    print(table(rows, args.seeds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
