"""``nudgenet evaluate``, ``predict`` and ``info`` on a saved model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from clitools import run, run_json
from PIL import Image

from nudgenet import Model, load_mini
from nudgenet.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seed network trained briefly on the embedded data."""
    path = tmp_path_factory.mktemp("model") / "seed.npz"
    assert main(["train", "--epochs", "3", "--out", str(path), "--json"]) == 0
    return path


# --------------------------------------------------------------------------- evaluate, info


def test_evaluate_reports_accuracy_per_digit_and_confusion(trained: Path, capsys) -> None:
    result = run_json(capsys, "evaluate", str(trained))
    confusion = np.array(result["confusion"])
    assert confusion.shape == (10, 10)
    assert confusion.sum() == 2000
    assert result["accuracy"] == pytest.approx(np.trace(confusion) / 2000)
    assert result["accuracy"] == pytest.approx(Model.load(trained).history[-1]["test_accuracy"])
    per_class = np.diag(confusion) / confusion.sum(axis=1)
    np.testing.assert_allclose(result["per_class_accuracy"], per_class)
    code, out, _ = run(capsys, "evaluate", str(trained))
    assert code == 0
    assert "confusion matrix" in out
    assert "per digit" in out


def test_info_describes_the_model(trained: Path, capsys) -> None:
    info = run_json(capsys, "info", str(trained))
    assert info["sizes"] == [784, 16, 16, 10]
    assert info["num_params"] == 13002
    assert info["settings"]["epochs"] == 3
    assert len(info["history"]) == 4
    code, out, _ = run(capsys, "info", str(trained))
    assert code == 0
    assert "13,002 weights and biases" in out


@pytest.mark.parametrize("command", ["evaluate", "info", "predict"])
def test_model_from_elsewhere_is_refused_clearly(command: str, tmp_path: Path, capsys) -> None:
    bogus = tmp_path / "model.npz"
    bogus.write_text("this is not a model")
    image = tmp_path / "x.png"
    Image.new("L", (28, 28)).save(image)
    extra = [str(image)] if command == "predict" else []
    code, _, err = run(capsys, command, str(bogus), *extra)
    assert code == 1
    assert "not a readable nudgenet model file" in err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- predict


def test_predict_reads_the_users_images(trained: Path, tmp_path: Path, capsys) -> None:
    mini = load_mini()
    paths = []
    for i in range(20):
        # Dark ink on a light, larger page, as a user's scan would be.
        page = Image.fromarray(255 - mini.test_images[i]).resize((112, 112), Image.BILINEAR)
        path = tmp_path / f"digit{i}.png"
        page.save(path)
        paths.append(str(path))
    result = run_json(capsys, "predict", str(trained), *paths, "--top", "2")
    predictions = result["predictions"]
    assert [p["image"] for p in predictions] == paths
    for p in predictions:
        assert len(p["guesses"]) == 2
        assert p["guesses"][0]["probability"] >= p["guesses"][1]["probability"]
    guessed = np.array([p["guesses"][0]["digit"] for p in predictions])
    assert np.mean(guessed == mini.test_labels[:20]) >= 0.7
    code, out, _ = run(capsys, "predict", str(trained), paths[0])
    assert code == 0
    assert out.startswith(paths[0] + ": ")
    assert "%" in out


def test_predict_unreadable_image(trained: Path, tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    code, _, err = run(capsys, "predict", str(trained), str(broken))
    assert code == 1
    assert "broken.png" in err
    assert "Traceback" not in err
