"""``nudgenet plot`` and ``nudgenet train --plots``: every figure lands as a real file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clitools import run

from nudgenet import Model
from nudgenet.cli import main
from nudgenet.lessons.pictures import FIGURES

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PNGS = sorted(f"{name}.png" for name in FIGURES)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seed network after one quick epoch on the embedded data."""
    path = tmp_path_factory.mktemp("model") / "seed.npz"
    argv = ["train", "--epochs", "1", "--batch-size", "100", "--out", str(path), "--json"]
    assert main(argv) == 0
    return path


def assert_pngs(folder: Path) -> None:
    pngs = sorted(folder.glob("*.png"))
    assert [p.name for p in pngs] == PNGS
    for png in pngs:
        assert png.read_bytes()[:8] == PNG_MAGIC


def test_plot_writes_every_figure_beside_the_model(trained: Path, capsys) -> None:
    code, out, err = run(capsys, "plot", str(trained), "--data", "mini")
    assert code == 0, err
    folder = trained.with_name("seed-plots")
    assert_pngs(folder)
    assert not list(folder.glob("*.svg"))
    assert "7 figures of" in out
    assert "on mini's test images" in out
    for name in PNGS:
        assert str(folder / name) in out


def test_plot_svg_json_and_fallback_to_mini(trained: Path, tmp_path: Path, capsys) -> None:
    model = Model.load(trained)
    model.settings["data"] = str(tmp_path / "vanished-data")  # its training data is gone
    moved = model.save(tmp_path / "moved.npz")
    out_dir = tmp_path / "figs"
    code, out, err = run(capsys, "plot", str(moved), "--out", str(out_dir), "--svg",
                         "--image", "1999", "--json")  # fmt: skip
    assert code == 0, err
    assert err.startswith("note: the model's training data")
    assert "mini" in err
    result = json.loads(out)
    assert result["out"] == str(out_dir)
    assert result["data"] == "mini"
    assert sorted(Path(p).name for p in result["files"]) == sorted(
        [*PNGS, *(name.replace(".png", ".svg") for name in PNGS)]
    )
    assert_pngs(out_dir)
    for svg in out_dir.glob("*.svg"):
        assert b"<svg" in svg.read_bytes()[:1000]


def test_train_with_plots_and_svg(tmp_path: Path, capsys) -> None:
    model, plots = tmp_path / "m.npz", tmp_path / "plots"
    code, out, err = run(capsys, "train", "--epochs", "1", "--batch-size", "100",
                         "--out", str(model), "--plots", str(plots), "--svg")  # fmt: skip
    assert code == 0, err
    assert Model.load(model).history
    assert f"figures written to {plots}: cost.png, cost.svg, accuracy.png" in out
    assert_pngs(plots)
    assert len(list(plots.glob("*.svg"))) == len(FIGURES)


def test_train_plots_listed_in_json(tmp_path: Path, capsys) -> None:
    plots = tmp_path / "plots"
    model = tmp_path / "m.npz"
    code, out, err = run(capsys, "train", "--epochs", "1", "--batch-size", "1000",
                         "--out", str(model), "--plots", str(plots), "--json")  # fmt: skip
    assert code == 0, err
    assert sorted(json.loads(out)["plots"]) == sorted(str(plots / name) for name in PNGS)
    assert_pngs(plots)


def test_plot_missing_model_is_one_error_line(tmp_path: Path, capsys) -> None:
    code, out, err = run(capsys, "plot", str(tmp_path / "nope.npz"))
    assert code == 1
    assert out == ""
    assert err.splitlines()[0] == f"error: no model file at {tmp_path / 'nope.npz'}"
    assert sum(line.startswith("error:") for line in err.splitlines()) == 1


@pytest.mark.parametrize("index", ["2000", "-1"])
def test_plot_image_out_of_range(trained: Path, tmp_path: Path, capsys, index: str) -> None:
    out_dir = tmp_path / "figs"
    code, out, err = run(capsys, "plot", str(trained), "--out", str(out_dir), "--image", index)
    assert code == 1
    assert out == ""
    lines = err.splitlines()
    assert lines[0].startswith(f"error: image index {index} is out of range")
    assert "2,000 images" in lines[0]
    assert lines[1].startswith("help:")
    assert "--image" in lines[1]
    assert not out_dir.exists()
