"""The seed network on several seeds: what each lesson of the video is measured over.

``nudgenet train --seed s`` is :mod:`nudgenet.training.recipe`; this module runs it for each
seed and keeps the network twice, as the recipe starts it (θ₀) and as it ends, so that a
lesson can compare a trained network against the same network at its random
initialisation. On the embedded set a run takes a fraction of a second with the fast
engine, so the runs go one after another (stacking them would gain nothing here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .. import options
from ..constraints import Range
from ..data import Dataset
from ..errors import ConfigError
from ..model import Model
from ..training.recipe import Recipe, Run

__all__ = [
    "MAX_SEEDS",
    "SEEDS",
    "SeedNetwork",
    "check_seeds",
    "mean_std",
    "sample_std",
    "seed_networks",
]

MAX_SEEDS = 20
"""Most seeds one lesson trains: each is a full training run."""
SEEDS = (0, 1, 2, 3, 4)
"""The seeds every lesson of the video reports over by default."""
SEED_COUNT = Range(
    "seeds",
    1,
    MAX_SEEDS,
    "how many seeds",
    integer=True,
    label="the number of seeds",
    must=f"between 1 and {MAX_SEEDS}",
    hint=f"give at most {MAX_SEEDS} seeds, e.g. --seeds 0-4",
)


@dataclass(frozen=True)
class SeedNetwork:
    """One seed's network: as the recipe starts it, and as it ends."""

    seed: int
    initial: Model  # θ₀, before the first step
    trained: Model


def check_seeds(seeds: Sequence[int]) -> tuple[int, ...]:
    """The seeds, checked: 1 to :data:`MAX_SEEDS` of them, distinct, each a valid seed."""
    seeds = tuple(int(s) for s in seeds)
    SEED_COUNT.check(len(seeds))
    for s in seeds:
        options.SEED.check(s)
    if len(set(seeds)) != len(seeds):
        raise ConfigError(
            f"the seeds must be distinct, got {', '.join(map(str, seeds))}",
            help="a repeated seed trains the same network twice; e.g. --seeds 0-4",
        )
    return seeds


def seed_networks(
    data: Dataset,
    seeds: Sequence[int] = SEEDS,
    *,
    recipe: Recipe | None = None,
    train_size: int | None = None,
) -> list[SeedNetwork]:
    """Train ``recipe`` (default: ``nudgenet train``'s) once per seed on ``data``.

    Examples
    --------
    >>> from nudgenet.data import load_mini
    >>> from nudgenet.training.loop import TrainSettings
    >>> nets = seed_networks(load_mini(), (0, 1), train_size=200,
    ...                      recipe=Recipe(settings=TrainSettings(epochs=1)))
    >>> [n.seed for n in nets], nets[0].trained.settings["seed"]
    ([0, 1], 0)
    """
    base = recipe or Recipe()
    out = []
    for seed in check_seeds(seeds):
        run = Run(replace(base, seed=seed), data, train_size=train_size)
        initial = run.model(run.theta.copy())
        for _ in run.records():
            pass
        out.append(SeedNetwork(seed, initial, run.model()))
    return out


def sample_std(values: Any, axis: int | None = None) -> Any:
    """The sample standard deviation (ddof = 1) over ``axis``, 0 for a single value."""
    x = np.asarray(values, dtype=np.float64)
    n = x.size if axis is None else x.shape[axis]
    return x.std(axis=axis, ddof=1) if n > 1 else np.zeros_like(x.mean(axis=axis))


def mean_std(values: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """``{mean, std, n}`` of the values over seeds, std the sample one (ddof = 1).

    >>> mean_std([1.0, 3.0])
    {'mean': 2.0, 'std': 1.4142135623730951, 'n': 2}
    """
    x = np.asarray(values, dtype=np.float64)
    return {"mean": float(x.mean()), "std": float(sample_std(x)), "n": int(x.size)}
