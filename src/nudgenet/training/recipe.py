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
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import options
from .._types import Vector
from ..cost import one_hot
from ..data import Dataset, to_inputs
from ..descent import Step
from ..errors import ConfigError
from ..init import init_params
from ..model import Model
from ..network import Network
from .engines import choose_engine
from .loop import Epoch, TrainSettings, steps_per_epoch, train


def seed_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """The (initialisation, shuffling) generators of ``--seed seed``.

    Examples
    --------
    >>> init_rng, shuffle_rng = seed_streams(0)
    >>> int(init_rng.integers(1000)), int(shuffle_rng.integers(1000))
    (802, 662)
    """
    init, shuffle = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(init), np.random.default_rng(shuffle)


@dataclass(frozen=True)
class Recipe:
    """How to train a network, everything but the data; each field a ``nudgenet train`` option."""

    network: Network = field(default_factory=Network)
    settings: TrainSettings = field(default_factory=TrainSettings)
    init: str = "xavier"  # normal | scaled | xavier | he | constant
    seed: int = 0  # split by seed_streams into (init, shuffle)
    dtype: str = "float32"
    engine: str = "auto"  # auto | reference | fast | blas

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
    """

    def __init__(
        self,
        recipe: Recipe,
        data: Dataset,
        *,
        data_name: str | None = None,
        train_size: int | None = None,
        snapshots: bool = False,
    ) -> None:
        network = recipe.network
        check_fits(network, data)
        n = len(data.train_labels)
        n = n if train_size is None else min(train_size, n)
        self.recipe = recipe
        self.data_name = data.name if data_name is None else data_name
        self.X = to_inputs(data.train_images[:n], recipe.dtype)  # (n, 784)
        self.labels = data.train_labels[:n]
        self.Y = one_hot(self.labels, network.sizes[-1], recipe.dtype)  # (n, 10)
        self.test = (to_inputs(data.test_images, recipe.dtype), data.test_labels)
        init_rng, self._shuffle_rng = seed_streams(recipe.seed)
        self.theta: Vector = init_params(
            network.layout, recipe.init, rng=init_rng, dtype=recipe.dtype
        )
        self.engine = choose_engine(recipe.engine, network, self.theta.dtype)
        self.total_steps = steps_per_epoch(n, recipe.settings.batch_size) * recipe.settings.epochs
        self.history: list[dict[str, Any]] = []
        self.step_costs: list[float] = []
        self.snapshots: list[Vector] | None = [] if snapshots else None

    def records(self) -> Iterator[Step | Epoch]:
        """Train, yielding every Step and Epoch record as :func:`train` does, and keep them."""
        r = self.recipe
        for record in train(
            r.network, self.theta, self.X, self.Y, r.settings, rng=self._shuffle_rng,
            test=self.test, labels=self.labels, engine=self.engine,
        ):  # fmt: skip
            if isinstance(record, Step):
                self.step_costs.append(record.cost)
            else:
                self.history.append(record.as_dict())
                if self.snapshots is not None:
                    self.snapshots.append(self.theta.copy())
            yield record

    def model(self, theta: Vector | None = None) -> Model:
        """The trained network with its metadata (``theta``: another θ of the same run)."""
        r = self.recipe
        return Model(
            r.network,
            self.theta.copy() if theta is None else theta,
            r.settings.cost,
            settings={
                **r.settings.as_dict(),
                "init": r.init,
                "seed": r.seed,
                "dtype": r.dtype,
                "engine": self.engine,
                "data": self.data_name,
            },
            history=list(self.history),
            step_costs=np.array(self.step_costs),
            snapshots=None if self.snapshots is None else np.array(self.snapshots),
        )


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
