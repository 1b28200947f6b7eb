"""The real seed network for the note's lessons: as ``nudgenet train --seed s`` starts, and
trained a little.

The note's lessons on the network (why the cost is squared, here; why the negative gradient
and one real weight's step take θ as ``nudgenet nudges`` does) run on the 784-16-16-10
sigmoid network itself, not on a picture of it. θ comes from the recipe
(:mod:`nudgenet.training.recipe`): the untrained θ is where ``nudgenet train --seed s
--dtype float64`` starts, and the trained one is where ``nudgenet train --seed s --epochs E
--schedule constant --engine reference --dtype float64`` ends. Everything here is float64,
so that finite differences can check the gradient.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .._types import Vector
from ..data import Dataset
from ..network import Network, accuracy
from ..training.loop import TrainSettings
from ..training.recipe import Recipe, Run

#: The settings of the "trained a little" network: one epoch at a constant η = 1, batch 10
#: (nudgenet train's defaults but for its cosine schedule, which would end the one epoch at
#: η ≈ 0 and learn less: 69% test accuracy on mini against 82%).
TRAINED = TrainSettings(epochs=1, batch_size=10, lr=1.0, schedule="constant")


@dataclass(frozen=True)
class RealNetwork:
    """One θ of the seed network, with where it came from and how well it reads the digits."""

    network: Network
    theta: Vector  # float64, (13,002,)
    name: str  # "untrained" or "trained"
    description: str  # in words, for reports
    test_accuracy: float


def real_networks(data: Dataset, seed: int = 0, epochs: int = TRAINED.epochs,
                  train_size: int | None = None) -> tuple[RealNetwork, RealNetwork]:  # fmt: skip
    """The untrained and the trained seed network of one seed, through the recipe.

    The reference engine takes the steps (no compilation: a 10,000-image epoch takes well
    under a second).

    Parameters
    ----------
    data : Dataset
        Trained on its training images (the first ``train_size``), tested on its test set.
    seed : int
        As ``nudgenet train --seed``.
    epochs : int
        Of :data:`TRAINED`'s settings.
    """
    settings = replace(TRAINED, epochs=epochs)  # checked there, as every epochs option
    recipe = Recipe(settings=settings, seed=seed, dtype="float64", engine="reference")
    run = Run(recipe, data, train_size=train_size)
    start = run.theta.copy()
    for _ in run.records():
        pass
    X_test, labels = run.test
    words = f"the 784-16-16-10 network, seed {seed}"
    return (
        RealNetwork(recipe.network, start, "untrained", f"{words}, untrained (xavier)",
                    accuracy(recipe.network, start, X_test, labels)),
        RealNetwork(recipe.network, run.theta.copy(), "trained",
                    f"{words}, trained {epochs} epoch{'s' * (epochs != 1)} on {data.name} "
                    "(η = 1 constant, batch 10)",
                    accuracy(recipe.network, run.theta, X_test, labels)),
    )  # fmt: skip
