"""Reproduce the training recipes of docs/recipes.md and print their results table.

Each recipe without augmentation is one sweep over its seeds (default 0-4) with the real
command line,

    nudgenet sweep --data DIR --sizes ... --seeds 0,1,2,3,4 --dtype float32 --out RUN/recipeK --json

run as a subprocess (``python -m nudgenet``) with one BLAS thread. The seeds train together,
stacked, and each gives what ``nudgenet train --seed S`` would give alone. The final test
accuracy of every seed is read from the sweep's ``results.json``, and the table gives their
mean ± sample standard deviation (ddof = 1), the per-seed values, and the seconds per epoch
of one network (the sweep's time shared among its seeds).

An augmented recipe's seeds cannot share a stack (each learns from its own distortions), so
each seed is one ``nudgenet train --seed S --augment ... --json`` instead, with the BLAS
threads the machine has: the command that made the model shipped in the package (seed 0).

Usage::

    python scripts/recipes.py                          # all recipes, seeds 0-4
    python scripts/recipes.py --only 1,2 --seeds 0-2 --out runs/
    python scripts/recipes.py --data mini --limit 500 --epochs 1 --seeds 0,1 --only 1  # quick
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

from nudgenet.cli.sweep import parse_seeds as seed_list

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "mnist"
DEFAULT_SEEDS = (0, 1, 2, 3, 4)
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class Recipe:
    """One recipe: a name and the training options that define it."""

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
    augment: str = "none"
    deskew: bool = False

    def options(self, epochs: int | None = None) -> list[str]:
        """The recipe as ``nudgenet sweep`` options (one value on each axis), in a fixed order."""
        return [
            "--sizes", ",".join(map(str, self.sizes)),
            "--activation", self.activation,
            "--output", self.output,
            "--cost", self.cost,
            "--inits", self.init,
            "--lr", f"{self.lr:g}",
            "--schedules", self.schedule,
            "--momentum", f"{self.momentum:g}",
            "--l2", f"{self.l2:g}",
            "--batch-sizes", str(self.batch_size),
            "--epochs", str(self.epochs if epochs is None else epochs),
            *(() if self.augment == "none" else ("--augment", self.augment)),
            *(("--deskew",) if self.deskew else ()),
        ]  # fmt: skip

    def train_options(self, epochs: int | None = None) -> list[str]:
        """The recipe as ``nudgenet train`` options: the sweep's, one value each."""
        singular = {"--inits": "--init", "--schedules": "--schedule",
                    "--batch-sizes": "--batch-size"}  # fmt: skip
        return [singular.get(word, word) for word in self.options(epochs)]

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
        init="xavier", lr=0.1, schedule="cosine", momentum=0.9, l2=3e-5,
        batch_size=10, epochs=60, deskew=True,
    ),
    2: Recipe(
        "2. same 13,002 parameters, any settings",
        sizes=(784, 16, 16, 10), activation="tanh", output="softmax", cost="quadratic",
        init="xavier", lr=0.1, schedule="cosine", momentum=0.9, l2=3e-4,
        batch_size=32, epochs=100, deskew=True,
    ),
    3: Recipe(
        "3. wider network",
        sizes=(784, 800, 800, 10), activation="relu", output="softmax", cost="cross-entropy",
        init="he", lr=0.05, schedule="cosine", momentum=0.9, l2=1e-4,
        batch_size=64, epochs=20, deskew=True,
    ),
    4: Recipe(
        "4. with augmentation",
        sizes=(784, 512, 512, 10), activation="relu", output="softmax", cost="cross-entropy",
        init="he", lr=0.05, schedule="cosine", momentum=0.9, l2=1e-4,
        batch_size=64, epochs=30, augment="both",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Result:
    """One recipe's sweep: the final test accuracy of each seed and the time it took."""

    seeds: tuple[int, ...]
    accuracies: tuple[float | None, ...]  # a fraction per seed; None where the run diverged
    seconds_per_epoch: float  # one network's share of the sweep's time, per epoch
    seconds: float  # the whole sweep, wall clock, start-up included

    @property
    def finished(self) -> list[float]:
        """The accuracies of the seeds that did not diverge, in percent."""
        return [100 * a for a in self.accuracies if a is not None]

    def mean_std(self) -> str:
        """``mean ± sample std`` in percent (ddof = 1); the value alone for one seed."""
        accs = self.finished
        if not accs:
            return "—"
        mean = f"{statistics.mean(accs):.2f}"
        return mean if len(accs) == 1 else f"{mean} ± {statistics.stdev(accs):.2f}"


def parse_seeds(text: str) -> tuple[int, ...]:
    """``0-4`` (both ends included) or ``0,1,2``, read as ``nudgenet sweep --seeds`` reads
    them; distinct and ≥ 0, as a table of seeds needs them."""
    seeds = seed_list(text)
    if len(set(seeds)) < len(seeds) or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"expected distinct seeds ≥ 0, got {text!r}")
    return seeds


def command(recipe: Recipe, seeds: tuple[int, ...], data: str, out: Path, *,
            limit: int | None = None, epochs: int | None = None) -> list[str]:  # fmt: skip
    """The ``nudgenet sweep`` arguments for ``recipe`` over ``seeds`` (without the program)."""
    args = ["sweep", "--data", data, *recipe.options(epochs),
            "--seeds", ",".join(map(str, seeds)), "--dtype", "float32", "--out", str(out),
            "--json"]  # fmt: skip
    return args if limit is None else [*args, "--limit", str(limit)]


def read_results(path: Path, seeds: tuple[int, ...], seconds: float) -> Result:
    """The per-seed final test accuracies and seconds from a sweep's ``results.json``."""
    rows = {row["seed"]: row for row in json.loads(path.read_text())["results"]}
    missing = [s for s in seeds if s not in rows]
    if missing:
        sys.exit(f"{path} has no result for seeds {missing}")
    accuracies = tuple(
        None if rows[s]["diverged"] else rows[s]["final_test_accuracy"] for s in seeds
    )
    per_epoch = statistics.mean(rows[s]["seconds"] / max(1, rows[s]["epochs_completed"])
                                for s in seeds)  # fmt: skip
    return Result(seeds, accuracies, per_epoch, seconds)


def run_sweep(recipe: Recipe, seeds: tuple[int, ...], data: str, out: Path, *,
              limit: int | None = None, epochs: int | None = None) -> Result:  # fmt: skip
    """Train every seed of ``recipe`` in one ``python -m nudgenet sweep ... --json``."""
    args = [sys.executable, "-m", "nudgenet",
            *command(recipe, seeds, data, out, limit=limit, epochs=epochs)]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(
        args, env={**os.environ, **ONE_THREAD}, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"nudgenet sweep failed ({done.returncode}):\n{done.stderr}")
    report = json.loads(done.stdout)
    return read_results(Path(report["results"]), seeds, seconds)


def run_alone(recipe: Recipe, seeds: tuple[int, ...], data: str, out: Path, *,
              limit: int | None = None, epochs: int | None = None) -> Result:  # fmt: skip
    """Train each seed of an augmented ``recipe`` by ``python -m nudgenet train ... --json``."""
    if limit is not None:
        sys.exit("--limit applies to sweeps; an augmented recipe trains on every image")
    out.mkdir(parents=True, exist_ok=True)
    accuracies, per_epoch = [], []
    start = time.perf_counter()
    for seed in seeds:
        args = [sys.executable, "-m", "nudgenet", "train", "--data", data,
                *recipe.train_options(epochs), "--seed", str(seed), "--dtype", "float32",
                "--out", str(out / f"seed-{seed}.npz"), "--json"]  # fmt: skip
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"nudgenet train failed ({done.returncode}):\n{done.stderr}")
        report = json.loads(done.stdout)
        accuracies.append(report["test_accuracy"])
        per_epoch.append(report["seconds_per_epoch"])
    return Result(seeds, tuple(accuracies), statistics.mean(per_epoch),
                  time.perf_counter() - start)  # fmt: skip


def shown_command(recipe: Recipe, seeds: tuple[int, ...], *, limit: int | None = None,
                  epochs: int | None = None) -> str:  # fmt: skip
    """The command as a reader would type it (the data and output folders left to choose)."""
    if recipe.augment != "none":
        return f"nudgenet train {' '.join(recipe.train_options(epochs))} --seed S --dtype float32"
    spelled = ",".join(map(str, seeds))
    if len(seeds) > 2 and seeds == tuple(range(seeds[0], seeds[-1] + 1)):
        spelled = f"{seeds[0]}-{seeds[-1]}"
    shown = f"nudgenet sweep {' '.join(recipe.options(epochs))} --seeds {spelled} --dtype float32"
    return shown if limit is None else f"{shown} --limit {limit}"


def table(rows: list[tuple[Recipe, Result]], seeds: tuple[int, ...], *,
          limit: int | None = None, epochs: int | None = None) -> str:  # fmt: skip
    """The Markdown results table: mean ± sample std of the final test accuracy, per seed."""
    lines = [
        "| recipe | sizes | params | test accuracy (%) mean ± std | per seed "
        f"({' / '.join(map(str, seeds))}) | s/epoch | command |",
        "|---|---|---:|---:|---|---:|---|",
    ]
    for recipe, result in rows:
        per_seed = " / ".join(
            "diverged" if a is None else f"{100 * a:.2f}" for a in result.accuracies
        )
        lines.append(
            f"| {recipe.name} | {'-'.join(map(str, recipe.sizes))} | {recipe.n_params:,} | "
            f"{result.mean_std()} | {per_seed} | {result.seconds_per_epoch:.2g} | "
            f"`{shown_command(recipe, seeds, limit=limit, epochs=epochs)}` |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--data", default=str(DEFAULT_DATA),
                        help="a folder with the four MNIST files, or a name nudgenet sweep "
                        "knows (mini, mnist)")  # fmt: skip
    parser.add_argument("--seeds", type=parse_seeds, default=DEFAULT_SEEDS,
                        help="e.g. 0-4 or 0,1,2")  # fmt: skip
    parser.add_argument("--only", default=",".join(map(str, RECIPES)),
                        help="comma-separated recipe numbers, e.g. 1,2")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for each recipe's sweep results (default: a temporary "
                        "folder); it must not hold results already")  # fmt: skip
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="train on the first N training images only (a quick check)",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="override every recipe's epochs (a quick check)"
    )
    args = parser.parse_args(argv)
    try:
        wanted = [int(part) for part in args.only.split(",")]
    except ValueError:
        parser.error(f"--only takes recipe numbers such as 1,2, got {args.only!r}")
    unknown = [k for k in wanted if k not in RECIPES]
    if unknown:
        parser.error(f"unknown recipe {unknown}; choose from {', '.join(map(str, RECIPES))}")
    data = args.data if args.data in ("mini", "mnist") else str(Path(args.data).resolve())
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out if args.out is not None else Path(scratch)
        rows = []
        for k in wanted:
            how = run_sweep if RECIPES[k].augment == "none" else run_alone
            result = how(RECIPES[k], args.seeds, data, out / f"recipe{k}",
                         limit=args.limit, epochs=args.epochs)  # fmt: skip
            print(
                f"recipe {k}, seeds {','.join(map(str, args.seeds))}: test accuracy "
                f"{result.mean_std()} %, {result.seconds_per_epoch:.2g} s/epoch per network "
                f"({result.seconds:.0f} s in all)",
                file=sys.stderr,
                flush=True,
            )
            rows.append((RECIPES[k], result))
    print(table(rows, args.seeds, limit=args.limit, epochs=args.epochs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
