"""Sweeps: train a grid of configurations of one architecture on one data set, stacked.

A :class:`Grid` holds the axes (learning rates, seeds, schedules, initialisations, batch
sizes); :meth:`Grid.configs` expands them into one :class:`Config` per combination.
Configurations that share a batch size (the dtype is the sweep's) train together as one
stack (:mod:`nudgenet.training.stacked`), cut into chunks of at most ``chunk`` members so
results are saved as each chunk completes and chunks can be spread across a Dask cluster.

The results table has one row per configuration: the per-epoch history that
``nudgenet train`` would print (training cost and accuracy, test cost and accuracy), the
final and best values, and whether and when it diverged. It is kept in ``results.json``
(everything, plus a record of which configurations each run trained) and ``results.csv``
(one flat row per configuration), both rewritten atomically after every chunk, so an
interrupted sweep resumes where it stopped.

Settings are chosen without looking at the test set by measuring on a validation split
(``SweepSpec.validation``: the last N training images, held out of training); the columns
keep their names (``test_accuracy``…) and then hold the validation set's numbers. With
augmentation (``SweepSpec.augment``) each seed's configurations stack apart, since they train
on their seed's own distorted digits.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .. import options
from ..cost import one_hot
from ..data import load_dataset, to_inputs
from ..errors import ConfigError, DataError
from ..files import atomic_write, cannot_write, check_folder, check_writable
from ..layout import SEED_SIZES
from ..network import Network
from ..schedules import LEARNING_RATE
from .recipe import prepared
from .stacked import Member, MemberResult, train_stacked

FORMAT = 1
# More configurations than this would take days and the table gigabytes: a typo, not a plan.
MAX_CONFIGS = 100_000
FILES = ("results.json", "results.csv", "sweep.png")  # what a sweep writes into its folder


@dataclass(frozen=True)
class SweepSpec:
    """What every configuration of a sweep shares: architecture, data, epochs, dtype."""

    data: str = "mini"  # mini | mnist | fashion-mnist | a folder of IDX files
    sizes: tuple[int, ...] = SEED_SIZES
    activation: str = "sigmoid"  # hidden layers
    output: str = "sigmoid"  # output layer
    cost: str = "quadratic"  # the seed's Σ(a−y)², averaged over examples
    epochs: int = 5
    dtype: str = "float32"
    limit: int | None = None  # train on the first `limit` training images only (tests, demos)
    augment: str = "none"  # none | affine | elastic | both, as `nudgenet train --augment`
    validation: int | None = None  # measure on the last N training images, not the test set
    deskew: bool = False  # learn from and measure on digits sheared upright

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", tuple(int(n) for n in self.sizes))
        Network(self.sizes, self.activation, self.output)  # validates names and sizes
        options.COST.check(self.cost)
        options.EPOCHS.check(self.epochs)
        options.DTYPE.check(self.dtype)
        if self.limit is not None:
            options.LIMIT.check(self.limit)
        options.AUGMENT.check(self.augment)
        if self.validation is not None:
            options.VALIDATION.check(self.validation)

    @property
    def measured(self) -> str:
        """What the accuracies are measured on, in words."""
        return "test" if self.validation is None else "validation"

    @property
    def network(self) -> Network:
        """The architecture every member shares."""
        return Network(self.sizes, self.activation, self.output)


@dataclass(frozen=True)
class Config:
    """One point of the grid: the options of one ``nudgenet train`` run that vary."""

    lr: float
    seed: int
    schedule: str = "constant"
    init: str = "xavier"
    batch_size: int = 10
    momentum: float = 0.0
    l2: float = 0.0

    @property
    def key(self) -> str:
        """A stable name for the configuration, used to resume and to join tables."""
        return (
            f"lr={self.lr:.6g},seed={self.seed},schedule={self.schedule},init={self.init},"
            f"batch={self.batch_size},momentum={self.momentum:g},l2={self.l2:g}"
        )

    def member(self) -> Member:
        """The stacked-training member for this configuration."""
        return Member(self.lr, self.seed, self.schedule, self.init, self.momentum, self.l2)


@dataclass(frozen=True)
class Grid:
    """The axes of a sweep; every combination is one configuration.

    Examples
    --------
    >>> grid = Grid(lrs=(0.1, 1.0), seeds=(0, 1, 2))
    >>> len(grid.configs())
    6
    """

    lrs: tuple[float, ...] = (1.0,)  # η values
    seeds: tuple[int, ...] = (0,)
    schedules: tuple[str, ...] = ("constant",)
    inits: tuple[str, ...] = ("xavier",)
    batch_sizes: tuple[int, ...] = (10,)  # 0: full batch
    momentum: float = 0.0
    l2: float = 0.0

    def __post_init__(self) -> None:
        axes = (self.lrs, self.seeds, self.schedules, self.inits, self.batch_sizes)
        if math.prod(len(a) for a in axes) > MAX_CONFIGS:
            raise ConfigError(
                f"the grid has {math.prod(len(a) for a in axes):,} configurations, more than "
                f"a sweep takes ({MAX_CONFIGS:,})",
                help="give fewer learning rates, seeds, schedules, inits or batch sizes",
            )
        for values, option in (
            (self.lrs, LEARNING_RATE), (self.seeds, options.SEED),
            (self.schedules, options.SCHEDULE), (self.inits, options.INIT),
            (self.batch_sizes, options.BATCH_SIZE), ((self.momentum,), options.MOMENTUM),
            ((self.l2,), options.L2),
        ):  # fmt: skip
            for value in values:
                option.check(value)
        for name in ("lrs", "seeds", "schedules", "inits", "batch_sizes"):
            if not getattr(self, name):
                raise ConfigError(
                    f"the grid needs at least one value of {name}",
                    help="every axis of the grid needs a value, e.g. --seeds 0",
                )
        keys = [c.key for c in self.configs()]
        if len(set(keys)) < len(keys):
            raise ConfigError(
                "the grid repeats a value (learning rates are compared to 6 significant "
                f"digits): {self.as_dict()}",
                help="give each value once",
            )

    def configs(self) -> list[Config]:
        """Every combination, batch size outermost then schedule, init, η and seed."""
        return [
            Config(lr, seed, schedule, init, batch, self.momentum, self.l2)
            for batch, schedule, init, lr, seed in itertools.product(
                self.batch_sizes, self.schedules, self.inits, self.lrs, self.seeds
            )
        ]

    def as_dict(self) -> dict[str, Any]:
        """The axes as plain JSON values."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def log_range(low: float, high: float, count: int) -> tuple[float, ...]:
    """``count`` learning rates spaced evenly on a log scale from ``low`` to ``high``.

    Examples
    --------
    >>> log_range(0.01, 1, 3)
    (0.01, 0.1, 1.0)
    """
    if not (0 < low <= high < math.inf and 1 <= count <= MAX_CONFIGS):
        raise ConfigError(
            f"a log range needs 0 < low ≤ high and 1 ≤ count ≤ {MAX_CONFIGS:,}, got "
            f"{low:g}:{high:g}:{count}",
            help="e.g. 0.01:10:64 for 64 learning rates from 0.01 to 10",
        )
    return tuple(float(f"{x:.6g}") for x in np.geomspace(low, high, count))


def chunks(configs: Sequence[Config], size: int, *, by_seed: bool = False) -> list[list[Config]]:
    """Stacks of configurations that can train together (same batch size, and with
    ``by_seed`` the same seed: augmented members share their seed's distortions), ≤ size
    each. Within a batch size they go seed by seed, so that a stack holds as few seeds as it
    can: the members of a seed share their batches, which the lanes engine trains together."""
    if size < 1:
        raise ConfigError(
            f"the chunk size must be ≥ 1, got {size}",
            help="--chunk N stacks at most N configurations in one computation, e.g. --chunk 64",
        )

    def together(c: Config) -> tuple[int, int]:
        return c.batch_size, c.seed if by_seed else 0

    out: list[list[Config]] = []
    ordered = sorted(configs, key=lambda c: (c.batch_size, c.seed))  # stable: grid order within
    for _, group in itertools.groupby(ordered, key=together):
        group = list(group)
        out.extend(group[i : i + size] for i in range(0, len(group), size))
    return out


# --------------------------------------------------------------------------- running


@lru_cache(maxsize=2)
def _arrays(
    data: str, dtype: str, limit: int | None, validation: int | None, deskew: bool
) -> tuple[Any, ...]:
    """Inputs, targets and labels of a data set, loaded once per process (also on workers):
    the training images (the first ``limit`` of them, after any held out for validation),
    and the set measured (the held-out images, or the test set)."""
    d = prepared(load_dataset(data), deskew)
    if validation is not None:
        d = d.holdout(validation)
    images, labels = d.train_images[:limit], d.train_labels[:limit]
    return (to_inputs(images, dtype), one_hot(labels, dtype=dtype), labels,
            to_inputs(d.test_images, dtype), d.test_labels)  # fmt: skip


def run_chunk(
    spec: SweepSpec, configs: Sequence[Config], device: str = "cpu"
) -> list[dict[str, Any]]:
    """Train one stack of configurations (one batch size) and return their table rows.

    A pure function of its arguments, so it can run on any Dask worker. ``device``: as
    :func:`~nudgenet.training.stacked.train_stacked`'s.
    """
    sizes = {c.batch_size for c in configs}
    if len(sizes) != 1:
        raise ConfigError(
            f"a stack must share one batch size, got {sorted(sizes)}",
            help="split the configurations by batch size first, as chunks() does",
        )
    X, Y, labels, X_test, test_labels = _arrays(spec.data, spec.dtype, spec.limit,
                                                spec.validation, spec.deskew)  # fmt: skip
    start = time.perf_counter()
    results = train_stacked(
        spec.network, [c.member() for c in configs], X, Y,
        epochs=spec.epochs, batch_size=sizes.pop(), cost=spec.cost, dtype=spec.dtype,
        test=(X_test, test_labels), labels=labels, device=device, augment=spec.augment,
        engine="quick",  # the lanes engine where it pays: a sweep is for speed
    )  # fmt: skip
    seconds = time.perf_counter() - start
    return [row(c, r, seconds / len(configs)) for c, r in zip(configs, results, strict=True)]


def row(config: Config, result: MemberResult, seconds: float) -> dict[str, Any]:
    """The table row of one configuration: its settings, history, final and best values."""
    history = [{k: _clean(v) for k, v in h.items() if k != "seconds"} for h in result.history]
    last = history[-1]
    costs = [h["train_cost"] for h in history if h["train_cost"] is not None]
    accs = [h["test_accuracy"] for h in history if h["test_accuracy"] is not None]
    return {
        "key": config.key,
        **asdict(config),
        "diverged": result.diverged_step is not None,
        "diverged_step": result.diverged_step,
        "epochs_completed": last["epoch"],
        "final_train_cost": last["train_cost"],
        "final_test_cost": last["test_cost"],
        "final_test_accuracy": last["test_accuracy"],
        "best_train_cost": min(costs) if costs else None,
        "best_test_accuracy": max(accs) if accs else None,
        "best_epoch": int(np.argmax(accs)) if accs else None,
        "seconds": seconds,
        "history": history,
    }


def _clean(v: Any) -> Any:
    """A JSON-safe value: non-finite floats become None."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


@dataclass
class Progress:
    """Counts for the progress bar: finished, running, diverged configurations."""

    total: int
    finished: int = 0
    running: int = 0
    diverged: int = 0
    skipped: int = 0  # already in the results file (resume)


@dataclass
class Sweep:
    """A sweep in progress: its settings, grid, and the rows gathered so far."""

    spec: SweepSpec
    grid: Grid
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)  # which configs each run trained

    def todo(self) -> list[Config]:
        """The configurations not yet in the table."""
        return [c for c in self.grid.configs() if c.key not in self.rows]

    def table(self) -> list[dict[str, Any]]:
        """The rows in grid order (configurations not yet run are left out)."""
        return [self.rows[c.key] for c in self.grid.configs() if c.key in self.rows]

    def as_dict(self) -> dict[str, Any]:
        """Everything results.json holds."""
        return {
            "format": FORMAT,
            "spec": {**asdict(self.spec), "sizes": list(self.spec.sizes)},
            "grid": self.grid.as_dict(),
            "runs": self.runs,
            "results": self.table(),
        }


def run_sweep(
    sweep: Sweep,
    *,
    chunk: int = 64,
    cluster: str | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_chunk: Callable[[Sweep], None] | None = None,
    device: str = "cpu",
) -> Sweep:
    """Train every configuration of ``sweep`` that is not in its table yet, chunk by chunk.

    With ``cluster`` (a Dask scheduler address) the chunks run on its workers and their rows
    are gathered here as they complete. ``on_chunk`` is called after each chunk (to save).
    ``device``: "cpu" (nudgenet's engines), "cuda" or "torch-cpu" (the PyTorch back end).
    """
    options.DEVICE.check(device)
    todo = sweep.todo()
    progress = Progress(total=len(sweep.grid.configs()), skipped=len(sweep.rows))
    progress.finished = len(sweep.rows)
    progress.diverged = sum(r["diverged"] for r in sweep.rows.values())
    run: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           "cluster": cluster, "device": device, "workers": [],
                           "ran": []}  # fmt: skip
    sweep.runs.append(run)
    stacks = chunks(todo, chunk, by_seed=sweep.spec.augment != "none")
    for rows, where in _execute(sweep.spec, stacks, cluster, progress, on_progress, device):
        if where not in run["workers"]:
            run["workers"].append(where)
        for r in rows:
            sweep.rows[r["key"]] = r
            run["ran"].append(r["key"])
            progress.diverged += r["diverged"]
        progress.finished += len(rows)
        progress.running -= len(rows)
        if on_progress is not None:
            on_progress(progress)
        if on_chunk is not None:
            on_chunk(sweep)
    return sweep


def _execute(
    spec: SweepSpec,
    stacks: list[list[Config]],
    cluster: str | None,
    progress: Progress,
    on_progress: Callable[[Progress], None] | None,
    device: str,
) -> Iterator[tuple[list[dict[str, Any]], str]]:
    """Yield (rows, where they were computed) per chunk, as chunks complete."""
    if cluster is None:
        for stack in stacks:
            progress.running = len(stack)
            if on_progress is not None:
                on_progress(progress)
            yield run_chunk(spec, stack, device), "local"
        return
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "--cluster needs Dask distributed, which is not installed",
            help='pip install "dask[distributed]"',
        ) from None
    try:
        client = Client(cluster, timeout=30)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(
            f"cannot reach the Dask scheduler at {cluster}: {exc}",
            help="start one with `dask scheduler` and give its address, e.g. "
            "--cluster tcp://127.0.0.1:8786; or leave --cluster out to run here",
        ) from None
    with client:
        futures = [client.submit(run_chunk, spec, stack, device, pure=False) for stack in stacks]
        progress.running = sum(len(s) for s in stacks)
        if on_progress is not None:
            on_progress(progress)
        for future in as_completed(futures):
            rows = future.result()
            workers = client.who_has([future]).get(future.key, ())
            yield rows, (workers[0] if workers else "cluster")


# --------------------------------------------------------------------------- files

CSV_SETTINGS = [f.name for f in fields(Config)]
CSV_SUMMARY = ["diverged", "diverged_step", "epochs_completed", "final_train_cost",
               "final_test_cost", "final_test_accuracy", "best_train_cost",
               "best_test_accuracy", "best_epoch", "seconds"]  # fmt: skip


def to_csv(sweep: Sweep) -> str:
    """The table as CSV: settings, summary, then train cost and test accuracy per epoch."""
    epochs = range(sweep.spec.epochs + 1)
    header = ["key", *CSV_SETTINGS, *CSV_SUMMARY]
    header += [f"train_cost_{e}" for e in epochs] + [f"test_accuracy_{e}" for e in epochs]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for r in sweep.table():
        by_epoch = {h["epoch"]: h for h in r["history"]}
        cells = [r[k] for k in ["key", *CSV_SETTINGS, *CSV_SUMMARY]]
        cells += [by_epoch.get(e, {}).get("train_cost") for e in epochs]
        cells += [by_epoch.get(e, {}).get("test_accuracy") for e in epochs]
        writer.writerow(["" if c is None else c for c in cells])
    return buf.getvalue()


def save(sweep: Sweep, folder: str | Path) -> tuple[Path, Path]:
    """Write results.json and results.csv into ``folder``, each atomically."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(folder, exc) from exc
    json_path, csv_path = folder / "results.json", folder / "results.csv"
    with atomic_write(json_path) as f:
        f.write(json.dumps(sweep.as_dict(), indent=1, allow_nan=False).encode())
    with atomic_write(csv_path) as f:
        f.write(to_csv(sweep).encode())
    return json_path, csv_path


def open_sweep(spec: SweepSpec, grid: Grid, folder: str | Path, *, resume: bool) -> Sweep:
    """A new sweep, or with ``resume`` the one in ``folder``/results.json continued.

    Raises :class:`ConfigError` when results exist but ``resume`` is off (they would be
    overwritten), or when the saved sweep's shared settings differ from ``spec``;
    :class:`DataError` when the results file cannot be read as a sweep's (it is left as it
    is); :class:`~nudgenet.errors.OutputError` when ``folder`` could not take the results.
    All of this is known before any training, so no work is lost to it.
    """
    folder = Path(folder)
    check_folder(folder)
    if folder.is_dir():
        for name in FILES:
            check_writable(folder / name)
    path = folder / "results.json"
    sweep = Sweep(spec, grid)
    if not path.exists():
        return sweep
    if not resume:
        raise ConfigError(
            f"{path} already holds sweep results",
            help="add --resume to continue that sweep, or choose another --out folder",
        )
    saved = read_results(path)
    mine = sweep.as_dict()["spec"]
    # A setting a sweep saved before that setting existed lacks had its default value.
    if {**asdict(SweepSpec()), **saved.get("spec", {})} != mine:
        raise ConfigError(
            f"cannot resume {path}: it was made with other shared settings",
            help=f"its settings are {saved.get('spec')}; use them, or another --out folder",
        )
    wanted = {c.key for c in grid.configs()}
    sweep.rows = {r["key"]: r for r in saved["results"] if r["key"] in wanted}
    sweep.runs = list(saved.get("runs", []))
    return sweep


ROW_FIELDS = frozenset({"key", *CSV_SETTINGS, *CSV_SUMMARY, "history"})


def read_results(path: Path) -> dict[str, Any]:
    """The contents of a results.json, checked to be a sweep's; DataError if they are not.

    A damaged file is never repaired or replaced here: the error says so, and what to do.
    """
    keep = (
        f"{path} is left as it is; move it away (e.g. to {path.name}.damaged) to start the "
        "sweep afresh, or choose another --out folder"
    )
    try:
        saved = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}", help=keep) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(
            f"cannot resume from {path}: it is not valid JSON ({exc}); it may have been cut "
            "short or edited",
            help=keep,
        ) from None
    problem = _results_problem(saved)
    if problem:
        raise DataError(f"cannot resume from {path}: {problem}", help=keep)
    return saved


def _results_problem(saved: Any) -> str | None:
    """What makes ``saved`` not a sweep's results, or None."""
    if not isinstance(saved, dict):
        return "it holds no sweep results (not a JSON object)"
    if saved.get("format") != FORMAT:
        return f"it is not a results file of format {FORMAT} (format {saved.get('format')!r})"
    rows = saved.get("results")
    if not isinstance(rows, list) or not isinstance(saved.get("runs", []), list):
        return "its results are not a list of rows"
    for i, r in enumerate(rows):
        if not isinstance(r, dict) or not r.keys() >= ROW_FIELDS:
            return f"row {i} of its results is incomplete"
        numbers = (r["final_test_accuracy"], r["final_train_cost"])
        if (
            not isinstance(r["key"], str)
            or not isinstance(r["diverged"], bool)
            or not all(x is None or isinstance(x, int | float) for x in numbers)
            or not isinstance(r["history"], list)
            or not all(isinstance(h, dict) and "epoch" in h for h in r["history"])
        ):
            return f"row {i} of its results is damaged"
    return None


# --------------------------------------------------------------------------- figure


def draw(sweep: Sweep, path: str | Path) -> list[Path]:
    """Final training cost and test accuracy against η, one line per schedule.

    Lines are the mean over seeds; the band spans the lowest to the highest seed. Diverged
    members are left out of their point. Further lines for other inits or batch sizes when
    the grid has several.
    """
    from ..plots import figure
    from ..plots import save as save_figure

    fig, (ax_cost, ax_acc) = figure(1, 2, size=(11, 4.4))
    grid = sweep.grid
    rows = sweep.table()
    for schedule, init, batch in itertools.product(grid.schedules, grid.inits, grid.batch_sizes):
        label = schedule
        if len(grid.inits) > 1:
            label += f", {init}"
        if len(grid.batch_sizes) > 1:
            label += f", batch {batch or 'full'}"
        for ax, key, scale in (
            (ax_cost, "final_train_cost", 1),
            (ax_acc, "final_test_accuracy", 100),
        ):
            lrs, mean, low, high = [], [], [], []
            for lr in grid.lrs:
                values = [r[key] * scale for r in rows
                          if (r["schedule"], r["init"], r["batch_size"], r["lr"])
                          == (schedule, init, batch, lr)
                          and not r["diverged"] and r[key] is not None]  # fmt: skip
                if values:
                    lrs.append(lr)
                    mean.append(float(np.mean(values)))
                    low.append(min(values))
                    high.append(max(values))
            if lrs:
                (line,) = ax.plot(lrs, mean, marker="o", ms=3, label=label)
                ax.fill_between(lrs, low, high, color=line.get_color(), alpha=0.2, lw=0)
    n_seeds = len(grid.seeds)
    accuracy = f"final {sweep.spec.measured} accuracy (%)"
    for ax, title in ((ax_cost, "final training cost C"), (ax_acc, accuracy)):
        ax.set_xscale("log")
        ax.set_xlabel("learning rate η")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    if ax_acc.lines:
        ax_acc.legend(title=f"mean of {n_seeds} seed{'s' * (n_seeds > 1)}, band: min–max",
                      fontsize="small")  # fmt: skip
    else:  # every configuration diverged: say so rather than leave the axes bare
        for ax in (ax_cost, ax_acc):
            ax.text(0.5, 0.5, "every configuration diverged", transform=ax.transAxes,
                    ha="center", va="center")  # fmt: skip
    fig.suptitle(
        f"{'-'.join(map(str, sweep.spec.sizes))} {sweep.spec.activation}/{sweep.spec.output}, "
        f"{sweep.spec.cost} cost, {sweep.spec.epochs} epochs on {sweep.spec.data}"
        + ("" if sweep.spec.augment == "none" else f", augment {sweep.spec.augment}")
        + (", deskewed" if sweep.spec.deskew else "")
        + ("" if sweep.spec.validation is None else
           f", measured on the last {sweep.spec.validation:,} training images")
    )  # fmt: skip
    return save_figure(fig, path)


def summary(sweep: Sweep) -> Iterable[str]:
    """Lines describing the best configuration by final test accuracy."""
    done = [r for r in sweep.table() if r["final_test_accuracy"] is not None]
    diverged = sum(r["diverged"] for r in done)
    if not done:
        return []
    best = max(done, key=lambda r: r["final_test_accuracy"])
    return [
        f"{len(done)} configurations, {diverged} diverged; best final {sweep.spec.measured} "
        f"accuracy {100 * best['final_test_accuracy']:.2f}% with {best['key']}"
    ]
