"""``nudgenet sweep``: train a grid of learning rates, seeds, schedules… stacked, in one go."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .. import options
from ..errors import ConfigError
from ..layout import SEED_SIZES
from ..training.sweep import (
    Grid,
    Progress,
    SweepSpec,
    draw,
    log_range,
    open_sweep,
    run_sweep,
    save,
    summary,
)
from .common import (
    Finite,
    add_augment,
    add_choices,
    add_data,
    add_deskew,
    add_json,
    add_option,
    add_output,
    float_list,
    int_list,
    parse_seeds,
    print_json,
)


def register(commands: Any) -> None:
    """Add the ``sweep`` subcommand to the CLI's subparsers."""
    p = commands.add_parser(
        "sweep",
        help="train a grid of configurations at once and tabulate them",
        description="Train every combination of learning rates, seeds, schedules, "
        "initialisations and batch sizes of one network on one data set. Configurations "
        "with the same batch size train together, stacked, in one batched computation; "
        "each gives what `nudgenet train` would give it alone. Writes results.csv, "
        "results.json (saved after every chunk, so --resume continues an interrupted "
        "sweep) and sweep.png into --out.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_data(p, "the data to train and test on")
    add_option(p, options.LIMIT, None)
    add_option(p, options.VALIDATION, None)
    add_augment(p)
    add_deskew(p)
    p.add_argument("--sizes", type=int_list, default=SEED_SIZES, help="layer sizes, input first")
    add_option(p, options.ACTIVATION, "sigmoid")
    add_option(p, options.OUTPUT, "sigmoid")
    add_option(p, options.COST, "quadratic")
    _add_grid(p)
    add_option(p, options.EPOCHS, 5)
    add_option(p, options.MOMENTUM, 0.0)
    add_option(p, options.L2, 0.0)
    add_option(p, options.DTYPE, "float32")
    add_option(p, options.DEVICE, "cpu")
    add_output(p, "--out", default=Path("nudgenet-sweep"),
               help="folder for results.csv, results.json and sweep.png")  # fmt: skip
    p.add_argument("--resume", action="store_true",
                   help="continue the sweep in --out, training only what is missing")  # fmt: skip
    p.add_argument("--cluster", metavar="ADDRESS", default=None,
                   help="a Dask scheduler (tcp://host:port) to spread the chunks over")  # fmt: skip
    p.add_argument("--chunk", type=int, default=64,
                   help="most configurations stacked in one batched computation")  # fmt: skip
    add_json(p)
    p.set_defaults(run=run_sweep_command)


def _add_grid(p: argparse.ArgumentParser) -> None:
    """The axes of the grid: every combination of their values is one configuration."""
    lr = p.add_mutually_exclusive_group()
    lr.add_argument("--lr", type=float_list, action=Finite, default=None,
                    help="learning rates, comma-separated, each in "
                    f"{options.LEARNING_RATE.interval()} (default: 1)")  # fmt: skip
    lr.add_argument("--lr-range", action=_LogRange, default=None, metavar="LOW:HIGH:COUNT",
                    help="COUNT learning rates evenly spaced on a log scale")  # fmt: skip
    p.add_argument("--seeds", type=parse_seeds, default=(0,), help="e.g. 0-4 or 0,1,2")
    add_choices(p, options.SCHEDULE, ("constant",), flag="--schedules",
                help="schedules, e.g. constant,cosine")  # fmt: skip
    add_choices(p, options.INIT, ("xavier",), flag="--inits",
                help="initialisations, e.g. xavier,normal")  # fmt: skip
    p.add_argument("--batch-sizes", type=int_list, default=(10,), help="e.g. 10,100 (0: full)")


def run_sweep_command(args: argparse.Namespace) -> int:
    """Run the sweep, saving as chunks complete; print a summary (or JSON)."""
    spec = SweepSpec(args.data, args.sizes, args.activation, args.output, args.cost,
                     args.epochs, args.dtype, args.limit, args.augment,
                     args.validation, args.deskew)  # fmt: skip
    lrs = args.lr_range or args.lr or (1.0,)
    grid = Grid(lrs, args.seeds, args.schedules, args.inits, args.batch_sizes,
                args.momentum, args.l2)  # fmt: skip
    sweep = open_sweep(spec, grid, args.out, resume=args.resume)
    total = len(grid.configs())
    bar = tqdm(total=total, initial=len(sweep.rows), unit="config", file=sys.stderr,
               disable=None, leave=False, desc="sweep")  # fmt: skip

    def on_progress(p: Progress) -> None:
        bar.n = p.finished
        bar.set_postfix(finished=p.finished, running=p.running, diverged=p.diverged)

    with bar:
        run_sweep(sweep, chunk=args.chunk, cluster=args.cluster, on_progress=on_progress,
                  on_chunk=lambda s: save(s, args.out), device=args.device)  # fmt: skip
    json_path, csv_path = save(sweep, args.out)
    figures = draw(sweep, args.out / "sweep.png")
    ran = sweep.runs[-1]["ran"]
    if args.json:
        print_json({"results": str(json_path), "csv": str(csv_path),
                    "figure": [str(f) for f in figures], "configs": total,
                    "ran": ran, "table": sweep.table()})  # fmt: skip
    else:
        print(f"trained {len(ran)} of {total} configurations ({total - len(ran)} already done)")
        for line in summary(sweep):
            print(line)
        print(f"wrote {csv_path}, {json_path} and {figures[0]}")
    return 0


class _LogRange(argparse.Action):
    """``--lr-range LOW:HIGH:COUNT``: a misspelling is a usage error, a bad range a ConfigError."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        try:
            low, high, count = str(values).split(":")
            ends, n = (float(low), float(high)), int(count)
        except ValueError:
            raise argparse.ArgumentError(
                self, f"expected LOW:HIGH:COUNT such as 0.01:10:64, got {values!r}"
            ) from None
        if not all(math.isfinite(x) for x in ends):
            raise ConfigError(
                f"--lr-range must have finite ends, got {values}",
                help="e.g. --lr-range 0.01:10:64",
            )
        setattr(namespace, self.dest, log_range(*ends, n))
