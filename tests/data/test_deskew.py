"""Deskewed data: every digit sheared upright, for training, measuring and the web page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from clitools import run, run_json

from nudgenet import Model, load_mini, to_inputs
from nudgenet.data.images import deskew, preprocess
from nudgenet.errors import DataError
from nudgenet.network import Network
from nudgenet.training.loop import TrainSettings
from nudgenet.training.recipe import Recipe, Run, fit, recipe_of
from nudgenet.training.sweep import Grid, Sweep, SweepSpec, run_sweep


def slant(image: np.ndarray) -> float:
    """cov(x, y) / var(y) of the ink: 0 for an upright digit."""
    a = image.astype(float)
    rows, cols = np.mgrid[0:28, 0:28]
    cy, cx = (a * rows).sum() / a.sum(), (a * cols).sum() / a.sum()
    return float((a * (rows - cy) * (cols - cx)).sum() / (a * (rows - cy) ** 2).sum())


def test_deskewing_stands_mnist_digits_upright_as_preprocess_does() -> None:
    digits = load_mini().test_images[:200]
    upright = deskew(digits)
    assert upright.dtype == np.uint8
    assert upright.shape == digits.shape
    before = np.array([abs(slant(d)) for d in digits])
    after = np.array([abs(slant(d)) for d in upright])
    assert np.median(before) > 0.1
    assert np.median(after) < 0.25 * np.median(before)
    assert (upright.max(axis=(1, 2)) == 255).all()
    # Deskewing again changes next to nothing: upright is a fixed point.
    assert np.abs(deskew(upright).astype(int) - upright).mean() < 2
    # An MNIST digit preprocessed as a drawing comes out as upright as the deskewed one.
    assert abs(slant(preprocess(digits[7]))) < 0.05 + abs(slant(upright[7]))


def test_a_blank_image_stays_blank_and_wrong_arrays_are_refused() -> None:
    blank = np.zeros((2, 28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(deskew(blank), blank)
    with pytest.raises(DataError, match=r"shape \(n, 28, 28\)") as err:
        deskew(np.zeros((28, 28), dtype=np.uint8))
    assert "Dataset.train_images" in err.value.help
    with pytest.raises(DataError, match="uint8"):
        deskew(np.zeros((1, 28, 28)))


def test_the_deskewed_data_set_is_made_once() -> None:
    mini = load_mini()
    upright = mini.deskewed
    assert upright is mini.deskewed
    assert upright.name == "mini, deskewed"
    np.testing.assert_array_equal(upright.train_labels, mini.train_labels)
    np.testing.assert_array_equal(upright.test_images[:5], deskew(mini.test_images[:5]))


def test_a_deskewed_run_learns_from_and_is_measured_on_deskewed_digits() -> None:
    mini = load_mini()
    recipe = Recipe(settings=TrainSettings(epochs=1), deskew=True)
    model = fit(recipe, mini, train_size=2000)
    assert model.settings["deskew"] is True
    assert recipe_of(model).deskew is True  # a resumed run goes on deskewing
    upright = model.predict(to_inputs(mini.deskewed.test_images))
    assert model.history[-1]["test_accuracy"] == pytest.approx(
        np.mean(upright == mini.test_labels), abs=1e-12
    )
    plain = Run(Recipe(settings=TrainSettings(epochs=1)), mini, train_size=2000)
    assert not np.array_equal(plain.X, Run(recipe, mini, train_size=2000).X)


@pytest.mark.slow
def test_a_deskewed_sweep_equals_training_alone() -> None:
    spec = SweepSpec(data="mini", sizes=(784, 8, 10), epochs=2, dtype="float64", limit=300,
                     deskew=True, validation=2000)  # fmt: skip
    (row,) = run_sweep(Sweep(spec, Grid(lrs=(0.5,), seeds=(3,)))).table()
    recipe = Recipe(Network((784, 8, 10)), TrainSettings(lr=0.5, epochs=2), seed=3,
                    dtype="float64", deskew=True)  # fmt: skip
    alone = fit(recipe, load_mini().holdout(2000), train_size=300)
    # Held out first, then deskewed, or deskewed, then held out: the same images.
    assert row["final_test_accuracy"] == pytest.approx(alone.history[-1]["test_accuracy"])
    assert row["final_train_cost"] == pytest.approx(alone.history[-1]["train_cost"], rel=1e-12)


def test_train_deskew_and_evaluate_from_the_command_line(tmp_path: Path, capsys) -> None:
    out = tmp_path / "upright.npz"
    code, said, err = run(capsys, "train", "--deskew", "--epochs", "1", "--sizes", "784,10",
                          "--schedule", "constant",
                          "--out", str(out))  # fmt: skip
    assert code == 0, err
    assert ", deskewed" in said + err
    model = Model.load(out)
    assert model.settings["deskew"] is True
    report = run_json(capsys, "evaluate", str(out))
    assert report["accuracy"] == pytest.approx(model.history[-1]["test_accuracy"], abs=1e-12)
    # Resuming keeps it, typed or not.
    code, _, err = run(capsys, "train", "--resume", str(out), "--epochs", "2", "--deskew",
                       "--out", str(out))  # fmt: skip
    assert code == 0, err
    assert Model.load(out).settings["deskew"] is True
