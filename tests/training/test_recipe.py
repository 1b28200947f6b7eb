"""The recipe: every way of training gives what ``nudgenet train --seed s`` gives."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from clitools import run

from nudgenet import ConfigError, Dataset, Model, Network, TrainSettings, load_mini
from nudgenet.training.recipe import Recipe, Run, fit, seed_streams
from nudgenet.training.stacked import Member, train_stacked
from nudgenet.web.jobs import JobSpec, TrainingJob
from nudgenet.web.seed import seed_model

SETTINGS = TrainSettings(epochs=2, batch_size=25, lr=0.5, schedule="cosine")


@pytest.fixture(scope="module")
def small() -> Dataset:
    """The first 600 training and 200 test images of the embedded set, under its own name."""
    mini = load_mini()
    return Dataset(
        "small", mini.train_images[:600], mini.train_labels[:600], mini.test_images[:200],
        mini.test_labels[:200],
    )  # fmt: skip


def test_fit_is_the_train_command_bit_for_bit(tmp_path: Path, capsys) -> None:
    code, _, _ = run(capsys, "train", "--epochs", "2", "--seed", "3", "--lr", "0.5",
                     "--batch-size", "25", "--out", str(tmp_path / "m.npz"))  # fmt: skip
    assert code == 0
    model = fit(Recipe(settings=SETTINGS, seed=3), load_mini())
    saved = Model.load(tmp_path / "m.npz")
    assert np.array_equal(model.theta, saved.theta)
    assert model.settings == saved.settings
    assert [h["train_cost"] for h in model.history] == [h["train_cost"] for h in saved.history]


def test_the_web_job_trains_the_recipe_and_records_the_real_data(small: Dataset) -> None:
    recipe = Recipe(settings=SETTINGS, seed=1)
    job = TrainingJob(1, JobSpec(recipe, train_size=400), small)
    job.start()
    job._thread.join(60)
    assert job.state == "finished"
    # A job steps one mini-batch at a time, on the reference engine, so that it can pause
    # between any two steps: it trains what the recipe trains on that engine.
    expected = fit(dataclasses.replace(recipe, engine="reference"), small, train_size=400)
    assert np.array_equal(job.model().theta, expected.theta)
    assert job.model().settings["data"] == "small"  # not a fixed "mini"
    assert job.model().settings == expected.settings


def test_the_served_seed_network_is_the_train_command() -> None:
    served = seed_model(epochs=1, seed=2)
    trained = fit(Recipe(settings=TrainSettings(epochs=1, schedule="cosine"), seed=2), load_mini())
    assert np.array_equal(served.theta, trained.theta)
    assert served.settings == trained.settings


def test_a_stack_member_starts_and_shuffles_as_the_recipe(small: Dataset) -> None:
    recipe = Recipe(settings=SETTINGS, seed=4, dtype="float64", engine="reference")
    training = Run(recipe, small)
    for _ in training.records():
        pass
    [member] = train_stacked(
        recipe.network, [Member(lr=0.5, seed=4, schedule="cosine")], training.X, training.Y,
        epochs=2, batch_size=25, engine="reference",
    )  # fmt: skip
    np.testing.assert_allclose(member.theta, training.theta, rtol=1e-10, atol=1e-12)


def test_seed_streams_are_independent_and_repeatable() -> None:
    (a, b), (c, d) = seed_streams(7), seed_streams(7)
    assert np.array_equal(a.normal(size=5), c.normal(size=5))
    assert np.array_equal(b.permutation(9), d.permutation(9))
    assert not np.array_equal(seed_streams(7)[0].normal(size=5), seed_streams(7)[1].normal(size=5))


def test_changing_the_batch_size_keeps_the_initial_weights(small: Dataset) -> None:
    starts = [
        Run(Recipe(settings=TrainSettings(batch_size=b), seed=5), small).theta for b in (1, 7, 0)
    ]
    assert all(np.array_equal(starts[0], t) for t in starts[1:])


def test_run_keeps_snapshots_and_step_costs(small: Dataset) -> None:
    training = Run(Recipe(settings=SETTINGS), small, snapshots=True, train_size=100)
    records = list(training.records())
    model = training.model()
    assert training.total_steps == 2 * 4
    assert len(model.step_costs) == 8 == len(records) - 3
    assert model.snapshots is not None
    assert model.snapshots.shape == (3, Network().n_params)
    assert np.array_equal(model.snapshots[-1], model.theta)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"init": "glorot"}, "unknown init 'glorot'"),
        ({"seed": -1}, "seed must be a whole number in [0, 4294967295], got -1"),
        ({"dtype": "float16"}, "unknown dtype 'float16'"),
        ({"engine": "turbo"}, "unknown engine 'turbo'"),
    ],
)
def test_a_bad_recipe_is_refused_where_it_is_made(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Recipe(**kwargs)
    assert message in info.value.message
    assert info.value.help


def test_a_network_that_does_not_fit_the_data_is_refused(small: Dataset) -> None:
    with pytest.raises(ConfigError, match="does not fit small: it needs 784 inputs") as info:
        Run(Recipe(Network((784, 16, 9))), small)
    assert "--sizes 784,16,16,10" in (info.value.help or "")
