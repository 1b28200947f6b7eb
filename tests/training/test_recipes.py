"""scripts/recipes.py: each recipe as one ``nudgenet sweep`` over seeds, mean ± sample std."""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import nudgenet
from nudgenet.data.embedded import load_default_model

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "recipes.py"


@pytest.fixture(scope="module")
def recipes() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("recipes_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


@pytest.mark.slow
def test_a_tiny_run_prints_mean_and_sample_std(tmp_path: Path) -> None:
    # The sweep the script starts must import this nudgenet, wherever the tests found it.
    src = str(Path(nudgenet.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    argv = ["--data", "mini", "--limit", "1000", "--epochs", "2", "--seeds", "0,1", "--only", "2"]
    done = subprocess.run([sys.executable, str(SCRIPT), *argv, "--out", str(tmp_path)],
                          env=env, capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "recipe2" / "results.json").exists()  # the sweep's own output
    header, _, row = done.stdout.strip().splitlines()
    assert "test accuracy (%) mean ± std" in header
    assert "per seed (0 / 1)" in header
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[:3] == ["2. same 13,002 parameters, any settings", "784-16-16-10", "13,002"]
    mean, std = (float(x) for x in re.fullmatch(r"(\S+) ± (\S+)", cells[3]).groups())
    per_seed = [float(x) for x in cells[4].split(" / ")]
    assert len(per_seed) == 2
    assert all(30 < a <= 100 for a in per_seed)  # well above chance after 2 epochs
    assert mean == pytest.approx(statistics.mean(per_seed), abs=0.006)
    assert std == pytest.approx(statistics.stdev(per_seed), abs=0.006)  # ddof = 1
    assert float(cells[5]) > 0  # s/epoch
    assert cells[6].startswith("`nudgenet sweep --sizes 784,16,16,10 --activation tanh")
    assert "--epochs 2 --deskew --seeds 0,1 --dtype float32 --limit 1000" in cells[6]
    assert "recipe 2, seeds 0,1: test accuracy" in done.stderr


def test_the_sweep_command(recipes: ModuleType, tmp_path: Path) -> None:
    args = recipes.command(recipes.RECIPES[1], (0, 1, 2, 3, 4), "mnist", tmp_path)
    assert args[:3] == ["sweep", "--data", "mnist"]
    assert "--deskew" in args  # a flag alone; the rest are pairs
    pairs = [word for word in args if word != "--deskew"]
    flags = dict(zip(pairs[1::2], pairs[2::2], strict=False))
    assert flags["--seeds"] == "0,1,2,3,4"
    assert flags["--epochs"] == "60"
    assert flags["--lr"] == "0.1"
    assert flags["--batch-sizes"] == "10"
    assert flags["--dtype"] == "float32"
    assert args[-1] == "--json"
    quick = recipes.command(recipes.RECIPES[1], (0,), "mini", tmp_path, limit=500, epochs=1)
    assert quick[-2:] == ["--limit", "500"]
    assert quick[quick.index("--epochs") + 1] == "1"
    shown = recipes.shown_command(recipes.RECIPES[3], (0, 1, 2, 3, 4))
    assert shown.endswith("--epochs 20 --deskew --seeds 0-4 --dtype float32")


def test_seeds_and_one_seed(recipes: ModuleType) -> None:
    assert recipes.parse_seeds("0-4") == (0, 1, 2, 3, 4)
    assert recipes.parse_seeds("3,1") == (3, 1)
    for bad in ("4-0", "a", "1,1", "-1"):
        with pytest.raises(argparse.ArgumentTypeError):
            recipes.parse_seeds(bad)
    one = recipes.Result((0,), (0.9615,), 0.1, 10.0)
    assert one.mean_std() == "96.15"  # no ± part from one seed
    two = recipes.Result((0, 1), (0.96, None), 0.1, 10.0)
    assert two.mean_std() == "96.00"  # the diverged seed is left out
    assert "diverged" in recipes.table([(recipes.RECIPES[1], two)], (0, 1))


def test_an_augmented_recipe_trains_each_seed_alone(recipes: ModuleType, tmp_path: Path) -> None:
    four = recipes.RECIPES[4]
    options = four.train_options(epochs=1)
    flags = dict(zip(options[::2], options[1::2], strict=True))
    assert flags["--augment"] == "both"
    assert (flags["--init"], flags["--schedule"], flags["--batch-size"]) == ("he", "cosine", "64")
    shown = recipes.shown_command(four, (0, 1, 2, 3, 4))
    assert shown.startswith("nudgenet train --sizes 784,512,512,10")
    assert shown.endswith("--augment both --seed S --dtype float32")
    # The shipped model is seed 0 of this recipe: its settings are the recipe's.
    model = load_default_model()
    shipped = model.settings
    assert shipped["augment"] == "both"
    assert tuple(model.network.sizes) == four.sizes
    for key in ("lr", "l2", "momentum"):
        assert float(flags[f"--{key}"]) == shipped[key]
    assert shipped["epochs"] == four.epochs
    src = str(Path(nudgenet.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    argv = ["--data", "mini", "--epochs", "1", "--seeds", "0", "--only", "4"]
    done = subprocess.run([sys.executable, str(SCRIPT), *argv, "--out", str(tmp_path)],
                          env=env, capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    model = nudgenet.Model.load(tmp_path / "recipe4" / "seed-0.npz")
    assert model.settings["augment"] == "both"
    row = done.stdout.strip().splitlines()[-1]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert float(cells[3]) == pytest.approx(100 * model.history[-1]["test_accuracy"], abs=0.006)


def test_the_readme_and_the_recipes_page_show_the_recipes_commands(recipes: ModuleType) -> None:
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    page = " ".join((root / "docs" / "recipes.md").read_text(encoding="utf-8").split())
    for k, recipe in recipes.RECIPES.items():
        shown = " ".join(recipe.train_options())
        assert f"nudgenet train --data mnist {shown} --seed 0" in readme, k
        unwrapped = page.replace(" \\ ", " ")
        assert f"nudgenet train {shown} --seed S --dtype float32" in unwrapped, k
