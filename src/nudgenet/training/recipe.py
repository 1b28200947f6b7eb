"""The recipe: what ``nudgenet train --seed s`` does, in one place.

A :class:`Recipe` is everything a training run is told except the data: the network, the
:class:`~nudgenet.training.loop.TrainSettings`, how θ starts, the seed, the dtype and the
engine. A :class:`Run` turns a recipe and a :class:`~nudgenet.data.Dataset` into a trained
:class:`~nudgenet.model.Model` with its metadata, and lets its caller watch every record on
the way (the command line's progress bar, the web page's live charts). The command line, the
web page's jobs and its served seed network, the sweeps and the lessons all train through
here, so the same seed gives the same numbers wherever it is typed.

The seed is split by :func:`seed_streams` into two independent generators, one for θ's
initial values and one for shuffling, so that changing the batch size (which changes how many
numbers the shuffles draw) never changes the initial weights.

Every model a run gives is also a checkpoint (:class:`~nudgenet.model.Checkpoint`): θ, the
momentum velocity, the step count and the shuffling generator's state after its last
completed epoch. ``Run(recipe_of(model, epochs=N), data, resume=model)`` goes on from there
to N epochs in all, and gives θ bit for bit equal to N epochs straight through (on the same
engine and machine).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from .. import options
from .._types import Vector
from ..cost import one_hot
from ..data import Dataset, to_inputs
from ..descent import Step
from ..errors import ConfigError
from ..init import init_params
from ..model import Checkpoint, Model
from ..network import Network
from ..schedules import SHAPED_BY_LENGTH
from .engines import choose_engine
from .loop import Epoch, TrainSettings, divergence_baseline, steps_per_epoch, train


def seed_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """The (initialisation, shuffling) generators of ``--seed seed``.

    Examples
    --------
    >>> init_rng, shuffle_rng = seed_streams(0)
    >>> int(init_rng.integers(1000)), int(shuffle_rng.integers(1000))
    (802, 662)
    """
    init, shuffle = _streams(seed, 2)
    return np.random.default_rng(init), np.random.default_rng(shuffle)


def augment_stream(seed: int) -> np.random.Generator:
    """The generator of ``--seed seed``'s distortions (``--augment``): child 2, so that
    augmenting changes neither θ's initial values nor the order of the batches."""
    return np.random.default_rng(_streams(seed, 3)[2])


def lesson_stream(seed: int, index: int = 2) -> np.random.Generator:
    """Child ``index`` (≥ 2) of ``--seed seed``'s SeedSequence, for a lesson's own draws, so
    that a lesson drawing from it (the memorisation lesson's shuffled labels) changes neither
    θ₀ nor the batch order. Child 2 is also the distortions' stream; no run both augments
    and shuffles its labels.

    Examples
    --------
    >>> int(lesson_stream(0).integers(1000)) == int(lesson_stream(0).integers(1000))
    True
    """
    if index < 2:
        raise ConfigError(
            f"lesson streams start at child 2, got {index}",
            help="children 0 and 1 are the recipe's initialisation and shuffling streams",
        )
    return np.random.default_rng(_streams(seed, index + 1)[index])


def _streams(seed: int, count: int) -> list[np.random.SeedSequence]:
    """The seed's first ``count`` independent streams; a SeedSequence's first children never
    change when more are spawned, so adding a stream leaves the others' numbers as they were."""
    return np.random.SeedSequence(seed).spawn(count)


@dataclass(frozen=True)
class Recipe:
    """How to train a network, everything but the data; each field a ``nudgenet train`` option."""

    network: Network = field(default_factory=Network)
    settings: TrainSettings = field(default_factory=TrainSettings)
    init: str = "xavier"  # normal | scaled | xavier | he | constant
    seed: int = 0  # split by seed_streams into (init, shuffle)
    dtype: str = "float32"
    engine: str = "auto"  # auto | reference | fast | blas
    deskew: bool = False  # learn from (and be measured on) digits sheared upright

    def __post_init__(self) -> None:
        options.INIT.check(self.init)
        options.SEED.check(self.seed)
        options.DTYPE.check(self.dtype)
        options.ENGINE.check(self.engine)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the architecture, the settings, init, seed and dtype, in CLI words."""
        n = self.network
        return {
            "sizes": list(n.sizes),
            "activation": n.activation,
            "output": n.output,
            **self.settings.as_dict(),
            "init": self.init,
            "seed": self.seed,
            "dtype": self.dtype,
            "deskew": self.deskew,
        }


class Run:
    """One training run of a recipe on a data set: θ, the records so far, and the Model.

    Iterate :meth:`records` to train (θ changes in place, between records); :meth:`model`
    gives the network as trained so far, at any time.

    Parameters
    ----------
    recipe : Recipe
    data : Dataset
    data_name : str, optional
        What the model records as its training data (default: ``data.name``); the command
        line records a folder's path, so that ``nudgenet evaluate`` finds it again.
    train_size : int, optional
        Train on the first this many training images only (default: all).
    snapshots : bool
        Keep a copy of θ after every epoch (for trajectories and the landscape lesson).
    resume : Model, optional
        Go on from this model's checkpoint instead of from θ₀: ``recipe`` must be the
        model's own (:func:`recipe_of`), with more epochs; ``train_size`` and ``snapshots``
        are the model's too.
    """

    def __init__(
        self,
        recipe: Recipe,
        data: Dataset,
        *,
        data_name: str | None = None,
        train_size: int | None = None,
        snapshots: bool = False,
        resume: Model | None = None,
    ) -> None:
        network = recipe.network
        check_fits(network, data)
        n = len(data.train_labels)
        if resume is not None and resume.checkpoint is not None:
            train_size = resume.checkpoint.train_size
        n = n if train_size is None else min(train_size, n)
        self.recipe = recipe
        self.data_name = data.name if data_name is None else data_name
        data = prepared(data, recipe.deskew)
        self.X = to_inputs(data.train_images[:n], recipe.dtype)  # (n, 784)
        self.labels = data.train_labels[:n]
        self.Y = one_hot(self.labels, network.sizes[-1], recipe.dtype)  # (n, 10)
        self.test = (to_inputs(data.test_images, recipe.dtype), data.test_labels)
        init_rng, self._shuffle_rng = seed_streams(recipe.seed)
        self._augment_rng = augment_stream(recipe.seed)
        self.engine = choose_engine(recipe.engine, network, recipe.dtype)
        per_epoch = steps_per_epoch(n, recipe.settings.batch_size)
        self.history: list[dict[str, Any]] = []
        self.step_costs: list[float] = []
        self.snapshots: list[Vector] | None = [] if snapshots else None
        self._saved: _Saved | None = None  # the state after the last completed epoch
        if resume is None:
            self.done, self._baseline = 0, None
            self.theta: Vector = init_params(
                network.layout, recipe.init, rng=init_rng, dtype=recipe.dtype
            )
            self.velocity = np.zeros_like(self.theta) if recipe.settings.momentum else None
        else:
            self._resume_from(resume, n)
        self.total_steps = per_epoch * (recipe.settings.epochs - self.done)

    def _resume_from(self, model: Model, n: int) -> None:
        """Take up ``model``'s run where its checkpoint stands (checked first)."""
        point = check_resumable(model, self.recipe, n)
        self.done, self._baseline = point.epoch, point.baseline
        self.theta = model.theta.copy()
        self.velocity = None if point.velocity is None else point.velocity.copy()
        self._shuffle_rng.bit_generator.state = point.shuffle_state
        if point.augment_state is not None:
            self._augment_rng.bit_generator.state = point.augment_state
        self.history = [dict(record) for record in model.history]
        self.step_costs = [] if model.step_costs is None else model.step_costs.tolist()
        if model.snapshots is not None:
            self.snapshots = list(model.snapshots.astype(self.theta.dtype))
        elif self.snapshots is not None:
            raise ConfigError(
                "the run to resume kept no θ snapshots, so they cannot start now",
                help="resume without snapshots, or train afresh with them",
            )
        self._saved = self._save_point()

    def records(self) -> Iterator[Step | Epoch]:
        """Train, yielding every Step and Epoch record as :func:`train` does, and keep them."""
        r = self.recipe
        for record in train(
            r.network, self.theta, self.X, self.Y, r.settings, rng=self._shuffle_rng,
            test=self.test, labels=self.labels, engine=self.engine, velocity=self.velocity,
            done=self.done, baseline=self._baseline, augment_rng=self._augment_rng,
        ):  # fmt: skip
            if isinstance(record, Step):
                self.step_costs.append(record.cost)
            else:
                if record.epoch == 0:  # θ is still θ₀ here
                    self._baseline = divergence_baseline(
                        r.network, self.theta, record.train_cost, r.settings.l2
                    )
                self.history.append(record.as_dict())
                if self.snapshots is not None:
                    self.snapshots.append(self.theta.copy())
                # One assignment, so that Ctrl-C finds either this point or the last whole.
                self._saved = self._save_point()
            yield record

    def _save_point(self) -> _Saved:
        """Copies of the state after the epoch just recorded; the next epoch's shuffle is
        not drawn yet, so the generator's state is where that epoch will start."""
        return _Saved(
            self.theta.copy(),
            None if self.velocity is None else self.velocity.copy(),
            self._shuffle_rng.bit_generator.state,
            len(self.history),
            len(self.step_costs),
            self._augment_rng.bit_generator.state if self.recipe.settings.augment != "none"
            else None,
        )  # fmt: skip

    @property
    def epochs_done(self) -> int:
        """The epochs completed so far (those the next :meth:`model` holds)."""
        return 0 if self._saved is None else self.history[self._saved.records - 1]["epoch"]

    def model(self, theta: Vector | None = None) -> Model:
        """The network as of its last completed epoch, with its metadata and checkpoint.

        ``theta`` gives another θ of the same run instead (the web page's, between two
        steps): that model carries the history so far, but no checkpoint.
        """
        r = self.recipe
        saved = self._saved if theta is None else None
        records = len(self.history) if saved is None else saved.records
        steps = len(self.step_costs) if saved is None else saved.steps
        checkpoint = None
        if saved is not None and self._baseline is not None:
            last = self.history[records - 1]
            checkpoint = Checkpoint(
                last["epoch"], last["steps"], len(self.X), self._baseline, saved.shuffle_state,
                saved.velocity, saved.augment_state,
            )  # fmt: skip
        if theta is None:
            theta = self.theta.copy() if saved is None else saved.theta.copy()
        return Model(
            r.network,
            theta,
            r.settings.cost,
            settings={
                **r.settings.as_dict(),
                "init": r.init,
                "seed": r.seed,
                "dtype": r.dtype,
                "engine": self.engine,
                "deskew": r.deskew,
                "data": self.data_name,
            },
            history=[dict(record) for record in self.history[:records]],
            step_costs=np.array(self.step_costs[:steps]),
            snapshots=None if self.snapshots is None else np.array(self.snapshots[:records]),
            checkpoint=checkpoint,
        )


class _Saved(NamedTuple):
    """What :meth:`Run.model` saves: θ and the velocity after an epoch, the shuffling
    generator's state, and how many epoch records and step costs were kept by then."""

    theta: Vector
    velocity: Vector | None
    shuffle_state: dict[str, Any]
    records: int
    steps: int
    augment_state: dict[str, Any] | None  # with --augment: the distortions' generator


def recipe_of(model: Model, *, epochs: int | None = None, engine: str | None = None) -> Recipe:
    """The recipe ``model`` was trained by, to resume it: to ``epochs`` in all (default:
    the number it was trained for), on ``engine`` (default: the one it was trained on).

    Raises :class:`ConfigError` when its settings do not say (a model not made by a run).
    """
    s = model.settings
    keys = ("epochs", "batch_size", "lr", "schedule", "momentum", "l2", "init", "seed", "dtype")
    missing = [key for key in keys if key not in s]
    if missing:
        raise ConfigError(
            f"the model's settings do not say how it was trained (no {', '.join(missing)})",
            help="only a model saved by `nudgenet train` (or Run.model) can be resumed",
        )
    settings = TrainSettings(
        epochs=s["epochs"] if epochs is None else epochs, batch_size=s["batch_size"],
        lr=s["lr"], schedule=s["schedule"], momentum=s["momentum"], l2=s["l2"],
        cost=model.cost, augment=s.get("augment", "none"),
    )  # fmt: skip
    return Recipe(
        model.network, settings, init=s["init"], seed=s["seed"], dtype=s["dtype"],
        engine=engine or s.get("engine", "auto"), deskew=bool(s.get("deskew", False)),
    )  # fmt: skip


def check_resumable(model: Model, recipe: Recipe, n: int) -> Checkpoint:
    """``model``'s checkpoint, once sure that ``recipe`` on ``n`` examples continues it.

    Raises :class:`ConfigError` saying what to do when the model holds no checkpoint, when
    ``recipe`` differs from the model's own in anything but epochs and engine, when it asks
    for no more epochs than were done, when the schedule is shaped by the run's length and
    the length changed, or when the data no longer has the same number of examples.
    """
    point = model.checkpoint
    if point is None:
        raise ConfigError(
            "this model cannot be resumed: it holds no checkpoint (the momentum velocity, "
            "the schedule's step, the shuffling state), as models saved by earlier versions of "
            "nudgenet, by sweeps and by the web page mid-epoch do not",
            help="train it again with `nudgenet train`: every model it saves can be resumed",
        )
    ours = recipe_of(model).as_dict()
    theirs = recipe.as_dict()
    changed = [k for k in ours if k != "epochs" and ours[k] != theirs[k]]
    if changed:
        raise ConfigError(
            "resuming must keep the run's settings, but "
            + ", ".join(f"{k} would change from {ours[k]!r} to {theirs[k]!r}" for k in changed),
            help="leave these options out when resuming (the checkpoint knows them); to "
            "train with other settings, start a new run",
        )
    planned, epochs = ours["epochs"], recipe.settings.epochs
    if epochs <= point.epoch:
        raise ConfigError(
            f"--epochs {epochs} asks for no more than the {point.epoch} epochs already done",
            help=f"give --epochs above {point.epoch}: the total to train to, not how many more",
        )
    schedule = recipe.settings.schedule
    if schedule in SHAPED_BY_LENGTH and epochs != planned:
        raise ConfigError(
            f"the run's {schedule} schedule is shaped by its length, {planned} epochs: "
            f"resumed to {epochs} it would not be the run of {epochs} epochs straight through",
            help=f"resume with --epochs {planned} to finish the run as planned"
            if point.epoch < planned
            else f"the run has finished: train a new one with --epochs {epochs} (a constant "
            "or inverse-time schedule can be resumed to any length)",
        )
    per_epoch = steps_per_epoch(n, recipe.settings.batch_size)
    if n != point.train_size or point.step != point.epoch * per_epoch:
        raise ConfigError(
            f"the training data has changed: the run had {point.train_size:,} training "
            f"examples ({point.step:,} steps in {point.epoch} epochs), the data now has {n:,}",
            help="resume on the data the model was trained on (its settings name it)",
        )
    if recipe.settings.momentum and point.velocity is None:
        raise ConfigError(
            "the checkpoint has no momentum velocity, but the run uses momentum",
            help="the file is damaged: train the model again",
        )
    return point


def fit(recipe: Recipe, data: Dataset, **run: Any) -> Model:
    """Train ``recipe`` on ``data`` to the end and return the Model (``run``: :class:`Run`'s
    keywords).

    Examples
    --------
    >>> from nudgenet.data import load_mini
    >>> model = fit(Recipe(settings=TrainSettings(epochs=1)), load_mini(), train_size=500)
    >>> model.settings["seed"], len(model.history)
    (0, 2)
    """
    training = Run(recipe, data, **run)
    for _ in training.records():
        pass
    return training.model()


def prepared(data: Dataset, deskew: bool) -> Dataset:
    """``data`` as a model trained with ``deskew`` learns from it and is measured on it."""
    return data.deskewed if deskew else data


def trained_deskewed(model: Model) -> bool:
    """Whether ``model`` learnt from deskewed digits (``nudgenet train --deskew``), and so
    must be measured on deskewed ones; models saved before the option existed did not."""
    return bool(model.settings.get("deskew", False))


def check_fits(network: Network, data: Dataset, *, help: str | None = None) -> None:
    """Raise :class:`ConfigError` unless the network has one input per pixel and one output
    per class of ``data``; ``help`` says what to do (default: how to choose --sizes)."""
    n_pixels = data.train_images[0].size
    if network.sizes[0] != n_pixels or network.sizes[-1] != 10:
        raise ConfigError(
            f"the network {'-'.join(map(str, network.sizes))} does not fit {data.name}: it "
            f"needs {n_pixels} inputs (one per pixel) and 10 outputs (one per class)",
            help=help or f"start with {n_pixels} and end with 10, e.g. --sizes {n_pixels},16,16,10",
        )
