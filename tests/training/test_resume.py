"""Resuming: every model a run saves is a checkpoint, and going on from it is the same run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nudgenet import ConfigError, Dataset, Model, ModelFileError, TrainSettings, load_mini
from nudgenet.training import wide
from nudgenet.training.fast import unsupported
from nudgenet.training.recipe import Recipe, Run, fit, recipe_of

# Momentum and a schedule that depends on the step alone: a run of it can be lengthened.
SETTINGS = dict(batch_size=20, lr=0.5, schedule="inverse-time", momentum=0.9, l2=1e-4)
ENGINES = [
    "reference",
    pytest.param(
        "fast",
        marks=pytest.mark.skipif(
            unsupported(Recipe().network, np.float32) is not None, reason="no fast engine here"
        ),
    ),
]


@pytest.fixture(scope="module")
def small() -> Dataset:
    """The first 400 training and 100 test images of the embedded set."""
    mini = load_mini()
    return Dataset(
        "small", mini.train_images[:400], mini.train_labels[:400], mini.test_images[:100],
        mini.test_labels[:100],
    )  # fmt: skip


def recipe(epochs: int, engine: str, **changes: object) -> Recipe:
    return Recipe(
        settings=TrainSettings(epochs=epochs, **{**SETTINGS, **changes}), seed=7, engine=engine
    )


def resumed(model: Model, data: Dataset, epochs: int, path: Path) -> Model:
    """Save ``model``, load it back and go on to ``epochs`` in all."""
    model.save(path)
    loaded = Model.load(path)
    run = Run(recipe_of(loaded, epochs=epochs), data, resume=loaded)
    for _ in run.records():
        pass
    return run.model()


def same_history(a: Model, b: Model) -> None:
    """Every epoch record equal but for its wall time."""
    assert [{**r, "seconds": 0} for r in a.history] == [{**r, "seconds": 0} for r in b.history]


@pytest.mark.skipif(
    wide.unsupported(Recipe().network, np.float32) is not None, reason="no BLAS engine here"
)
def test_the_blas_engine_resumes_bit_for_bit(small: Dataset, tmp_path: Path) -> None:
    """Its BLAS thread count is the machine's core count, not the load's, so the order of
    its sums, and so its bits, are the same in both runs."""
    straight = fit(recipe(4, "blas"), small)
    four = resumed(fit(recipe(2, "blas"), small), small, 4, tmp_path / "two.npz")
    assert four.theta.tobytes() == straight.theta.tobytes()
    same_history(four, straight)


@pytest.mark.parametrize("engine", ENGINES)
def test_an_augmented_run_resumes_with_its_distortions(
    small: Dataset, engine: str, tmp_path: Path
) -> None:
    straight = fit(recipe(4, engine, augment="both"), small)
    two = fit(recipe(2, engine, augment="both"), small)
    assert two.checkpoint.augment_state is not None
    four = resumed(two, small, 4, tmp_path / "two.npz")
    assert four.theta.tobytes() == straight.theta.tobytes()
    assert four.checkpoint.augment_state == straight.checkpoint.augment_state
    assert fit(recipe(2, engine), small).checkpoint.augment_state is None


@pytest.mark.parametrize("engine", ENGINES)
def test_two_epochs_then_four_is_four_straight_through(
    small: Dataset, engine: str, tmp_path: Path
) -> None:
    straight = fit(recipe(4, engine), small)
    two = fit(recipe(2, engine), small)
    assert not np.array_equal(two.theta, straight.theta)  # the last two epochs matter
    assert two.checkpoint is not None
    assert two.checkpoint.velocity is not None
    assert np.any(two.checkpoint.velocity)
    four = resumed(two, small, 4, tmp_path / "two.npz")
    assert four.theta.tobytes() == straight.theta.tobytes()
    assert four.checkpoint.velocity.tobytes() == straight.checkpoint.velocity.tobytes()
    assert four.step_costs.tolist() == straight.step_costs.tolist()
    same_history(four, straight)
    assert four.checkpoint.epoch == 4
    assert four.checkpoint.step == 4 * 20
    assert four.checkpoint.shuffle_state == straight.checkpoint.shuffle_state
    assert four.settings == {**straight.settings}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_run_stopped_mid_epoch_goes_on_from_its_last_whole_epoch(
    small: Dataset, engine: str, tmp_path: Path
) -> None:
    """As Ctrl-C stops it: a cosine run planned for 3 epochs, stopped in its second."""
    planned = recipe(3, engine, schedule="cosine", l2=0.0)
    straight = fit(planned, small)
    run = Run(planned, small, snapshots=True)
    steps = 0
    for record in run.records():
        steps += not hasattr(record, "epoch")
        if steps == 30:  # ten steps into epoch 2
            break
    assert run.epochs_done == 1
    stopped = run.model()
    assert stopped.checkpoint.epoch == 1
    assert len(stopped.history) == 2
    assert len(stopped.step_costs) == 20
    assert len(stopped.snapshots) == 2
    assert not np.array_equal(stopped.theta, run.theta)  # θ had moved on; the model did not
    finished = resumed(stopped, small, 3, tmp_path / "stopped.npz")
    assert finished.theta.tobytes() == straight.theta.tobytes()
    assert finished.snapshots.shape == (4, straight.n_params)  # the snapshots went on too
    same_history(finished, straight)


def test_a_checkpoint_survives_the_file(small: Dataset, tmp_path: Path) -> None:
    model = fit(recipe(1, "reference"), small)
    model.save(tmp_path / "m.npz")
    loaded = Model.load(tmp_path / "m.npz")
    a, b = model.checkpoint, loaded.checkpoint
    assert (a.epoch, a.step, a.train_size, a.baseline) == (
        b.epoch,
        b.step,
        b.train_size,
        b.baseline,
    )
    assert a.shuffle_state == b.shuffle_state
    assert b.velocity.dtype == np.float32
    assert b.velocity.tobytes() == a.velocity.tobytes()
    without = fit(recipe(1, "reference", momentum=0.0), small)
    assert without.checkpoint.velocity is None  # nothing to keep with momentum off


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(epochs=1), "no more than the 1 epochs already done"),
        (dict(lr=0.25), "lr would change from 0.5 to 0.25"),
        (dict(seed=8), "seed would change"),
        (dict(schedule="cosine", epochs=3), "schedule would change"),
    ],
)
def test_a_resume_that_is_not_the_same_run_is_refused(
    small: Dataset, change: dict, message: str
) -> None:
    model = fit(recipe(1, "reference"), small)
    base = recipe_of(model, epochs=change.pop("epochs", 2))
    settings = {**base.settings.as_dict(), **{k: v for k, v in change.items() if k != "seed"}}
    other = Recipe(
        base.network, TrainSettings(**settings), init=base.init,
        seed=change.get("seed", base.seed), dtype=base.dtype, engine=base.engine,
    )  # fmt: skip
    with pytest.raises(ConfigError, match=message):
        Run(other, small, resume=model)


def test_a_schedule_shaped_by_the_length_resumes_only_to_that_length(small: Dataset) -> None:
    model = fit(recipe(1, "reference", schedule="cosine"), small)
    with pytest.raises(ConfigError, match="shaped by its length, 1 epochs") as info:
        Run(recipe_of(model, epochs=2), small, resume=model)
    assert "the run has finished" in info.value.help


def test_other_data_is_refused(small: Dataset) -> None:
    model = fit(recipe(1, "reference"), small)
    fewer = Dataset("fewer", small.train_images[:300], small.train_labels[:300],
                    small.test_images, small.test_labels)  # fmt: skip
    with pytest.raises(ConfigError, match="the training data has changed"):
        Run(recipe_of(model, epochs=2), fewer, resume=model)


def test_a_model_without_a_checkpoint_loads_but_does_not_resume(
    small: Dataset, tmp_path: Path
) -> None:
    """A file of an earlier version: θ and a description without checkpoint or velocity."""
    model = fit(recipe(1, "reference"), small)
    meta = model.describe()
    del meta["checkpoint"]
    path = tmp_path / "old.npz"
    np.savez(path, theta=model.theta, meta=np.array(json.dumps(meta)))
    old = Model.load(path)
    assert old.checkpoint is None
    assert old.theta.tobytes() == model.theta.tobytes()
    with pytest.raises(ConfigError, match="cannot be resumed: it holds no checkpoint") as info:
        Run(recipe_of(old, epochs=2), small, resume=old)
    assert "train it again" in info.value.help


def _tampered(model: Model, path: Path, **arrays: object) -> Path:
    meta = model.describe()
    change = arrays.pop("checkpoint", {})
    meta["checkpoint"] = {**meta["checkpoint"], **change}
    velocity = arrays.pop("velocity", model.checkpoint.velocity)
    np.savez(path, theta=model.theta, meta=np.array(json.dumps(meta)), velocity=velocity)
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(checkpoint={"epoch": 5}), "stands at epoch 5"),
        (dict(checkpoint={"step": -1}), "whole number step"),
        (dict(checkpoint={"baseline": "x"}), "baseline"),
        (dict(checkpoint={"shuffle_state": {"bit_generator": "MT19937"}}), "PCG64"),
        (
            dict(
                checkpoint={
                    "shuffle_state": {
                        "bit_generator": "PCG64",
                        "state": {"state": 2**129, "inc": 1},
                        "has_uint32": 0,
                        "uinteger": 0,
                    }
                }
            ),
            "PCG64",
        ),
        (dict(velocity=np.zeros(5, dtype=np.float32)), "velocity has shape"),
        (dict(velocity=np.zeros(13_002)), "velocity has shape"),  # float64 for a float32 θ
        (dict(velocity=np.full(13_002, np.nan, dtype=np.float32)), "NaN"),
    ],
)
def test_a_damaged_checkpoint_is_a_model_file_error(
    small: Dataset, tmp_path: Path, change: dict, message: str
) -> None:
    model = fit(recipe(1, "reference"), small)
    path = _tampered(model, tmp_path / "bad.npz", **change)
    with pytest.raises(ModelFileError, match=message):
        Model.load(path)


def test_snapshots_cannot_start_midway(small: Dataset) -> None:
    model = fit(recipe(1, "reference"), small)
    with pytest.raises(ConfigError, match="kept no θ snapshots"):
        Run(recipe_of(model, epochs=2), small, snapshots=True, resume=model)
