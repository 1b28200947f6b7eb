"""Sweeps: grid expansion, chunking, the results table, files, resume and the figure."""

from __future__ import annotations

import csv
import io
import json

import pytest

from nudgenet.errors import ConfigError
from nudgenet.training.sweep import (
    Grid,
    Sweep,
    SweepSpec,
    chunks,
    draw,
    log_range,
    open_sweep,
    run_sweep,
    save,
    summary,
    to_csv,
)

SPEC = SweepSpec(data="mini", sizes=(784, 8, 10), epochs=2, dtype="float64", limit=300)


def assert_same_history(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for k in x:
            assert x[k] == pytest.approx(y[k], rel=1e-12), k


def test_grid_expands_every_combination():
    grid = Grid(lrs=(0.1, 1.0), seeds=(0, 1, 2), schedules=("constant", "cosine"),
                batch_sizes=(10, 0))  # fmt: skip
    configs = grid.configs()
    assert len(configs) == 2 * 3 * 2 * 2
    assert len({c.key for c in configs}) == len(configs)


def test_chunks_group_by_batch_size_and_respect_the_size():
    grid = Grid(lrs=(0.1, 0.2, 0.3), seeds=(0, 1), batch_sizes=(10, 5))
    stacks = chunks(grid.configs(), 4)
    assert [len(s) for s in stacks] == [4, 2, 4, 2]
    assert all(len({c.batch_size for c in s}) == 1 for s in stacks)


def test_chunks_hold_as_few_seeds_as_they_can():
    # 8 rates × 3 seeds in stacks of 8: one seed each, as the lanes engine trains them best.
    grid = Grid(lrs=tuple(0.1 * k for k in range(1, 9)), seeds=(0, 1, 2))
    stacks = chunks(grid.configs(), 8)
    assert [{c.seed for c in s} for s in stacks] == [{0}, {1}, {2}]
    assert [c.lr for c in stacks[1]] == list(grid.lrs)


def test_log_range_and_bad_values():
    assert log_range(0.01, 10, 4) == (0.01, 0.1, 1.0, 10.0)
    with pytest.raises(ConfigError, match="learning rate"):
        Grid(lrs=(0.0,))
    with pytest.raises(ConfigError, match="unknown schedule"):
        Grid(schedules=("warp",))
    with pytest.raises(ConfigError, match="repeats a value"):
        Grid(lrs=(0.1, 0.1000000001))
    with pytest.raises(ConfigError, match="chunk size"):
        chunks([], 0)


def test_chunking_does_not_change_results():
    grid = Grid(lrs=(0.5, 2.0), seeds=(0, 1))
    one = run_sweep(Sweep(SPEC, grid), chunk=4).table()
    split = run_sweep(Sweep(SPEC, grid), chunk=1).table()
    for a, b in zip(one, split, strict=True):
        assert a["key"] == b["key"]
        assert_same_history(a["history"], b["history"])


def test_table_csv_json_and_figure(tmp_path):
    grid = Grid(lrs=(0.3, 3.0), seeds=(0, 1), schedules=("constant", "cosine"))
    sweep = run_sweep(Sweep(SPEC, grid), chunk=8)
    json_path, csv_path = save(sweep, tmp_path)
    saved = json.loads(json_path.read_text())
    assert saved["spec"]["sizes"] == [784, 8, 10]
    assert len(saved["results"]) == 8
    r = saved["results"][0]
    assert [h["epoch"] for h in r["history"]] == [0, 1, 2]
    assert r["final_test_accuracy"] == r["history"][-1]["test_accuracy"]
    assert r["best_test_accuracy"] == max(h["test_accuracy"] for h in r["history"])
    assert r["best_train_cost"] == min(h["train_cost"] for h in r["history"])
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text())))
    assert len(rows) == 8
    assert float(rows[0]["train_cost_2"]) == pytest.approx(r["history"][2]["train_cost"])
    assert csv_path.read_text() == to_csv(sweep)
    figures = draw(sweep, tmp_path / "sweep.png")
    assert figures[0].stat().st_size > 10_000


def test_resume_runs_only_the_missing_configurations(tmp_path):
    part = Grid(lrs=(0.5,), seeds=(0, 1))
    full = Grid(lrs=(0.5, 2.0), seeds=(0, 1))
    first = run_sweep(open_sweep(SPEC, part, tmp_path, resume=False), chunk=8,
                      on_chunk=lambda s: save(s, tmp_path))  # fmt: skip
    assert len(first.runs[0]["ran"]) == 2
    with pytest.raises(ConfigError, match="--resume"):
        open_sweep(SPEC, full, tmp_path, resume=False)
    resumed = open_sweep(SPEC, full, tmp_path, resume=True)
    assert len(resumed.todo()) == 2
    run_sweep(resumed, chunk=8, on_chunk=lambda s: save(s, tmp_path))
    saved = json.loads((tmp_path / "results.json").read_text())
    assert [len(r["ran"]) for r in saved["runs"]] == [2, 2]
    assert all("lr=2," in k for k in saved["runs"][1]["ran"])
    fresh = run_sweep(Sweep(SPEC, full), chunk=8).table()
    assert [r["key"] for r in saved["results"]] == [r["key"] for r in fresh]
    for a, b in zip(saved["results"], fresh, strict=True):
        assert a["final_train_cost"] == pytest.approx(b["final_train_cost"], rel=1e-12)
    other = SweepSpec(data="mini", sizes=(784, 8, 10), epochs=3, dtype="float64", limit=300)
    with pytest.raises(ConfigError, match="other shared settings"):
        open_sweep(other, full, tmp_path, resume=True)


def test_augmented_sweep_on_a_validation_split_equals_training_each_alone():
    # Each seed stacks apart, on its own distortions; the held-out images are what is measured.
    from nudgenet.data import load_mini
    from nudgenet.network import Network
    from nudgenet.training.loop import TrainSettings
    from nudgenet.training.recipe import Recipe, fit

    spec = SweepSpec(data="mini", sizes=(784, 8, 10), epochs=2, dtype="float64", limit=300,
                     augment="both", validation=2000)  # fmt: skip
    grid = Grid(lrs=(0.5, 2.0), seeds=(0, 1))
    assert [len(s) for s in chunks(grid.configs(), 8, by_seed=True)] == [2, 2]
    sweep = run_sweep(Sweep(spec, grid), chunk=8)
    held_out = load_mini().holdout(2000)
    assert len(held_out.test_labels) == 2000
    for r in sweep.table():
        settings = TrainSettings(lr=r["lr"], epochs=2, batch_size=10, augment="both")
        recipe = Recipe(Network((784, 8, 10)), settings, seed=r["seed"], dtype="float64")
        model = fit(recipe, held_out, train_size=300)
        alone = [{k: h[k] for k in r["history"][0]} for h in model.history]
        assert_same_history(r["history"], alone)
    assert "best final validation accuracy" in next(iter(summary(sweep)))


def test_a_sweep_saved_before_augment_and_validation_existed_resumes(tmp_path):
    grid = Grid(lrs=(0.5,), seeds=(0,))
    save(run_sweep(Sweep(SPEC, grid)), tmp_path)
    path = tmp_path / "results.json"
    saved = json.loads(path.read_text())
    del saved["spec"]["augment"], saved["spec"]["validation"]
    path.write_text(json.dumps(saved))
    assert open_sweep(SPEC, grid, tmp_path, resume=True).todo() == []
    augmented = SweepSpec(**{**SPEC.__dict__, "augment": "affine"})
    with pytest.raises(ConfigError, match="other shared settings"):
        open_sweep(augmented, grid, tmp_path, resume=True)
