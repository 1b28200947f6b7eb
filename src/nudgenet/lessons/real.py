"""The real seed network for the note's lessons: as ``nudgenet train --seed s`` starts, and
trained a little.

The lessons on the power rule's network cousins (why the cost is squared, why the negative
gradient, one real weight's step) run on the 784-16-16-10 sigmoid network itself, not on a
picture of it. θ comes from the recipe (:mod:`nudgenet.training.recipe`), so the untrained θ
is exactly where ``nudgenet train --seed s`` starts, and the trained one is what ``nudgenet
train --seed s --epochs E --engine reference --dtype float64`` ends at.
Everything here is float64, so that finite differences can check the gradient.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .._types import Vector
from ..data import Dataset
from ..network import Network, accuracy
from ..training.loop import TrainSettings
from ..training.recipe import Recipe, Run

#: The settings of the "trained a little" network: nudgenet train's defaults, one epoch.
TRAINED = TrainSettings(epochs=1, batch_size=10, lr=1.0)


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
                    "(η = 1, batch 10)",
                    accuracy(recipe.network, run.theta, X_test, labels)),
    )  # fmt: skip
