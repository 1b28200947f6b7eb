"""True against shuffled labels: the curves come from the recipe's runs."""

from __future__ import annotations

import numpy as np
import pytest

from nudgenet.data import Dataset, load_mini
from nudgenet.errors import ConfigError
from nudgenet.lessons.memorize import memorize, shuffled_labels
from nudgenet.training.loop import TrainSettings
from nudgenet.training.recipe import Recipe, fit


def test_shuffled_labels_keep_the_counts_and_break_the_pairing() -> None:
    labels = load_mini().train_labels[:1000]
    shuffled = shuffled_labels(labels, 0)
    np.testing.assert_array_equal(np.bincount(shuffled), np.bincount(labels))
    assert np.mean(shuffled == labels) < 0.2
    assert not np.array_equal(shuffled, shuffled_labels(labels, 1))


def test_the_lists_are_the_mean_of_the_recipes_runs() -> None:
    data = load_mini()
    result = memorize(data, (0, 1), epochs=3, train_size=400)
    out = result.as_dict()
    assert out["seeds"] == [0, 1]
    for labels in ("true", "shuffled"):
        for key in ("train_cost", "train_accuracy", "test_accuracy"):
            assert len(out[labels][key]) == 3 + 1
    runs = []
    for seed in (0, 1):
        d = Dataset(data.name, data.train_images[:400], shuffled_labels(data.train_labels[:400],
                    seed), data.test_images, data.test_labels)  # fmt: skip
        runs.append(fit(Recipe(settings=TrainSettings(epochs=3), seed=seed), d).history)
    expected = np.mean([[h["train_cost"] for h in run] for run in runs], axis=0)
    np.testing.assert_allclose(out["shuffled"]["train_cost"], expected, rtol=1e-6)
    assert out["true"]["train_cost"][0] == pytest.approx(out["shuffled"]["train_cost"][0], 0.01)


def test_shuffled_labels_teach_nothing_about_the_test_set() -> None:
    out = memorize(load_mini(), (0, 1), epochs=8, train_size=1000).as_dict()
    assert abs(out["shuffled"]["test_accuracy"][-1] - 0.1) < 0.04  # chance
    assert out["true"]["test_accuracy"][-1] > 0.6
    assert out["true"]["train_cost"][-1] < out["shuffled"]["train_cost"][-1]


def test_epochs_are_bounded() -> None:
    with pytest.raises(ConfigError, match="epochs"):
        memorize(load_mini(), (0,), epochs=0)
