"""``nudgenet curvature`` as a learner runs it: on a saved model, its report and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from clitools import run, run_json

from nudgenet.cli import main

PNG = b"\x89PNG\r\n\x1a\n"
FAST = ["--limit", "200", "--top", "3"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed network after one epoch on mini."""
    path = tmp_path_factory.mktemp("model") / "seed.npz"
    assert main(["train", "--epochs", "1", "--out", str(path), "--json"]) == 0
    return path


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 784-2-10 network (1,600 parameters), small enough for --full in a test."""
    path = tmp_path_factory.mktemp("model") / "small.npz"
    argv = ["train", "--sizes", "784,2,10", "--epochs", "1", "--out", str(path), "--json"]
    assert main(argv) == 0
    return path


def test_json_gives_the_top_eigenvalues_and_the_critical_rate(trained: Path, capsys) -> None:
    out = run_json(capsys, "curvature", str(trained), *FAST)
    values = out["top_eigenvalues"]
    assert len(values) == 3
    assert values == sorted(values, reverse=True)
    assert out["lambda_max"] == values[0] > 0
    assert out["critical_lr"] == 2 / out["lambda_max"]
    assert out["examples"] == 200
    assert "negative_count" not in out  # only with --full
    # λ_max read off the cost alone: the second difference of C along u₁ at θ.
    t, cost = np.array(out["line"]["t"]), np.array(out["line"]["cost"])
    mid, h = len(t) // 2, t[1] - t[0]
    second = (cost[mid + 1] - 2 * cost[mid] + cost[mid - 1]) / h**2
    assert second == pytest.approx(out["lambda_max"], rel=0.02)


def test_the_same_seed_gives_the_same_numbers(trained: Path, capsys) -> None:
    first = run_json(capsys, "curvature", str(trained), *FAST, "--seed", "3")
    again = run_json(capsys, "curvature", str(trained), *FAST, "--seed", "3")
    assert first["top_eigenvalues"] == again["top_eigenvalues"]


@pytest.mark.slow
def test_text_report_and_figures(trained: Path, tmp_path: Path, capsys) -> None:
    code, out, err = run(capsys, "curvature", str(trained), *FAST, "--plot", str(tmp_path))
    assert code == 0, err
    numbers = run_json(capsys, "curvature", str(trained), *FAST)
    assert f"critical learning rate 2/λ_max = {numbers['critical_lr']:.5g}" in out
    assert f"λ_max = {numbers['lambda_max']:.5g}" in out
    for name in ("curvature-eigenvectors.png", "curvature-line.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG)
        assert f"wrote {tmp_path / name}" in out


@pytest.mark.slow
def test_full_counts_every_eigenvalue(small: Path, capsys) -> None:
    code, out, err = run(capsys, "curvature", str(small), "--limit", "50", "--full", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert "building the full 1,600 × 1,600 Hessian: 0.02 GB in float64" in err
    counts = result["negative_count"] + result["zero_count"] + result["positive_count"]
    assert counts == 1600
    assert result["saddle"] == (result["negative_count"] > 0)
    assert result["lambda_min"] <= result["lambda_max"]
    # Lanczos's top eigenvalues are the top of the full spectrum: the same λ_max.
    assert result["lambda_max"] > 0
    code, text, err = run(capsys, "curvature", str(small), "--limit", "50", "--full")
    assert code == 0, err
    assert f"all 1,600 eigenvalues: {result['negative_count']:,} negative" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--limit", "0"], "--limit must be a whole number of images from 1 to 60,000"),
        (["--limit", "20000"], "more than the 10,000 training images of mini"),
        (["--top", "0"], "top must be a whole number in [1, 50]"),
        (["--svg"], "--svg needs --plot DIR"),
        (["--plot", "/nonexistent/folder"], "/nonexistent/folder"),
    ],
)
def test_bad_input_is_one_clear_line(trained: Path, argv, message, capsys) -> None:
    code, out, err = run(capsys, "curvature", str(trained), *argv)
    assert code == 1
    assert out == ""
    lines = err.strip().splitlines()
    assert lines[0].startswith("error:")
    assert message in lines[0]
    assert lines[1].startswith("help:")
    assert len(lines) == 2


def test_a_missing_model_is_one_clear_line(tmp_path: Path, capsys) -> None:
    code, _, err = run(capsys, "curvature", str(tmp_path / "none.npz"))
    assert code == 1
    assert err.startswith("error:")
    assert "help:" in err


TINY_LINK = [
    "--seeds",
    "0",
    "--limit",
    "60",
    "--epochs",
    "5",
    "--steps",
    "10",
    "--bisections",
    "2",
    "--rates",
    "5",
    "--edge-steps",
    "20",
    "--every",
    "10",
]


@pytest.mark.slow
def test_critical_rate_sets_prediction_beside_measurement(tmp_path: Path, capsys) -> None:
    out = run_json(capsys, "critical-rate", *TINY_LINK, "--plot", str(tmp_path / "link.png"))
    (t,) = out["thresholds"]
    assert t["predicted"] == 2 / t["lambda_max"]
    assert t["low"] <= t["measured"] <= t["high"]
    seen = {trial["learning_rate"]: trial["diverged"] for trial in t["trials"]}
    assert seen[t["low"]] is False
    assert seen[t["high"]] is True
    (s,) = out["sharpenings"]
    assert s["steps"] == [0, 10, 20]
    assert s["edge"] == 2 / 5
    assert (tmp_path / "link.png").read_bytes().startswith(PNG)
    code, text, err = run(capsys, "critical-rate", *TINY_LINK)
    assert code == 0, err
    assert f"{t['predicted']:.4g}" in text
    assert f"{t['measured']:.4g} [{t['low']:.4g}, {t['high']:.4g}]" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", "0-30"], "give 1 to 20 seeds"),
        (["--rates", "0"], "learning rate"),
        (["--steps", "0"], "steps must be"),
        (["--svg"], "--svg needs --plot FILE"),
    ],
)
def test_critical_rate_bad_input_is_one_clear_line(argv, message, capsys) -> None:
    code, out, err = run(capsys, "critical-rate", *argv)
    assert code == 1
    assert out == ""
    lines = err.strip().splitlines()
    assert lines[0].startswith("error:")
    assert message in lines[0]
    assert lines[1].startswith("help:")
