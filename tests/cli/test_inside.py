"""``nudgenet symmetry``, ``nudges`` and ``landscape`` as a learner runs them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from clitools import run, run_json

from nudgenet import Model, evaluate_cost, load_mini, one_hot, to_inputs
from nudgenet.cli import main
from nudgenet.lessons.landscape import in_plane_fraction, percent_range, trajectory_directions
from nudgenet.lessons.nudges import percent

PNG = b"\x89PNG\r\n\x1a\n"
FAST = ["--examples", "200"]
FAST_PLANE = [*FAST, "--resolution", "5"]


@pytest.fixture(scope="module")
def with_snapshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seed network trained for 2 epochs, θ saved after each."""
    path = tmp_path_factory.mktemp("model") / "snap.npz"
    argv = ["train", "--epochs", "2", "--snapshots", "--out", str(path), "--json"]
    assert main(argv) == 0
    return path


@pytest.fixture(scope="module")
def without_snapshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "plain.npz"
    assert main(["train", "--epochs", "1", "--out", str(path), "--json"]) == 0
    return path


def test_the_three_commands_are_listed(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("symmetry", "nudges", "landscape"):
        assert command in out


# --------------------------------------------------------------------------- symmetry


def test_symmetry_one_neuron_under_constant_sixteen_under_random(tmp_path: Path, capsys) -> None:
    plot = tmp_path / "symmetry.png"
    result = run_json(capsys, "symmetry", "--epochs", "1", "--plot", str(plot), "--svg")
    constant, random = result["runs"]["constant"], result["runs"]["random"]
    assert constant["distinct_neurons"] == [1, 1]
    assert constant["distinct_by_epoch"] == [[1, 1], [1, 1]]
    assert random["distinct_neurons"] == [16, 16]
    assert random["init"] == "xavier"
    assert random["test_accuracy"] > constant["test_accuracy"]
    assert random["test_accuracy"] > 0.7
    assert result["settings"]["epochs"] == 1
    assert plot.read_bytes()[:8] == PNG
    assert b"<svg" in plot.with_suffix(".svg").read_bytes()
    assert result["figures"] == [str(plot), str(plot.with_suffix(".svg"))]


def test_symmetry_text_report(capsys) -> None:
    code, out, err = run(
        capsys, "symmetry", "--epochs", "1", "--random-init", "normal", "--constant-value", "0.2"
    )
    assert code == 0, err
    assert "constant 0.2" in out
    assert "1 of 16, 1 of 16" in out
    assert "random (normal)" in out
    assert "16 of 16, 16 of 16" in out
    assert "acts as one neuron" in out


def test_symmetry_bad_settings_are_one_line(capsys) -> None:
    code, _, err = run(capsys, "symmetry", "--epochs", "0")
    assert code == 1
    assert err.startswith("error: epochs must be a positive integer")


# --------------------------------------------------------------------------- nudges


def test_nudges_lists_13002_components_and_the_step_matches_first_order(
    tmp_path: Path, capsys
) -> None:
    plot = tmp_path / "wants.png"
    result = run_json(
        capsys, "nudges", *FAST, "--lr", "0.05", "--top", "7", "--image", "4",
        "--plot", str(plot),
    )  # fmt: skip
    assert result["num_components"] == 13002
    assert result["examples"] == 200
    first = result["first_order"]
    assert first["learning_rate"] == 0.05
    assert first["predicted_change"] == pytest.approx(-0.05 * result["gradient_norm"] ** 2)
    assert first["relative_difference"] < 0.05
    assert first["actual_change"] < 0
    top = result["top"]
    assert len(top) == 7
    sizes = [abs(n["derivative"]) for n in top]
    assert sizes == sorted(sizes, reverse=True)
    assert result["ratio_largest_to_kth"] == pytest.approx(sizes[0] / sizes[-1])
    for n in top:
        assert n["nudge"] == pytest.approx(-0.05 * n["derivative"])
        assert n["direction"] == ("decrease" if n["derivative"] > 0 else "increase")
    # The promise degrades with the step size.
    by_eta = result["first_order_by_learning_rate"]
    assert [p["learning_rate"] for p in by_eta] == pytest.approx([0.005, 0.05, 0.5])
    assert by_eta[0]["relative_difference"] < by_eta[-1]["relative_difference"]
    assert plot.read_bytes()[:8] == PNG


@pytest.mark.parametrize("eta", ["0.1", "1"])
def test_nudges_says_the_promise_holds_or_fails_as_measured(
    without_snapshots: Path, eta: str, capsys
) -> None:
    argv = ["nudges", str(without_snapshots), *FAST, "--lr", eta]
    result = run_json(capsys, *argv)
    code, out, _ = run(capsys, *argv)
    assert code == 0
    tolerance = result["promise_tolerance"]
    assert f"it holds while off by at most {100 * tolerance:.3g}%" in out
    checks = result["first_order_by_learning_rate"]
    rows = [line for line in out.splitlines() if line.startswith("    η = ")]
    assert len(rows) == len(checks) == 3
    for row, check in zip(rows, checks, strict=True):
        off = percent(check["relative_difference"])
        assert check["holds"] == (check["relative_difference"] <= tolerance)
        assert row.endswith(f"holds to {off}" if check["holds"] else f"fails: off by {off}")
    holding = [c["learning_rate"] for c in checks if c["holds"]]
    failing = [c["learning_rate"] for c in checks if not c["holds"]]
    summary = result["promise"]
    assert f"  {summary}" in out
    if not failing:
        assert summary.startswith(f"it holds at every η here, up to {max(holding):g}")
    elif holding:
        assert f"holds up to η = {max(holding):g} and fails from η = {min(failing):g}" in summary
    assert "fails for large ones" not in out


def test_nudges_example_wants_its_label_up(capsys) -> None:
    result = run_json(capsys, "nudges", *FAST, "--image", "2")
    example = result["example"]
    assert example["index"] == 2
    outputs = example["outputs"]
    label = example["label"]
    assert outputs[label]["wants"] == "up"
    assert outputs[label]["bias_derivative"] < 0 < outputs[label]["bias_nudge"]
    for o in outputs:
        assert o["agrees"]
        if o["neuron"] != label:
            assert o["wants"] == "down"
            assert o["bias_derivative"] > 0
    assert len(example["hidden_wants"]) == 16


def test_nudges_text_explains_the_sign_rule(capsys) -> None:
    code, out, err = run(capsys, "nudges", *FAST, "--top", "3")
    assert code == 0, err
    assert "13,002 components" in out
    assert "the sign rule" in out
    assert "predicted ΔC" in out
    assert "actual    ΔC" in out
    assert "← the label" in out
    assert "the largest matters" in out


def test_nudges_on_a_trained_model(without_snapshots: Path, capsys) -> None:
    result = run_json(capsys, "nudges", str(without_snapshots), *FAST, "--examples", "0")
    assert result["theta"] == f"the model {without_snapshots}"
    assert result["examples"] == 10_000
    fresh = run_json(capsys, "nudges", *FAST)
    # Training lowered the cost and flattened the slope.
    assert result["cost"] < fresh["cost"]
    assert result["gradient_norm"] < fresh["gradient_norm"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--image", "10000"], "--image must be a training image index in 0..9999"),
        (["--lr", "-1"], "--lr must be a positive number"),
        (["--top", "0"], "--top must be at least 1"),
        (["--examples", "-3"], "--examples must be ≥ 0"),
        (["no-such-model.npz"], "no model file at no-such-model.npz"),
    ],
)
def test_nudges_bad_input_is_one_clear_line(argv, message, capsys) -> None:
    code, _, err = run(capsys, "nudges", *argv)
    assert code == 1
    assert err.startswith("error: ")
    assert message in err


# --------------------------------------------------------------------------- landscape


def test_landscape_of_a_fresh_network(tmp_path: Path, capsys) -> None:
    result = run_json(capsys, "landscape", *FAST_PLANE, "--out", str(tmp_path), "--svg")
    line, plane = result["line"], result["plane"]
    assert line["slope"] == -line["gradient_norm"]
    assert line["step_length"] == pytest.approx(line["learning_rate"] * line["gradient_norm"])
    assert line["step_cost"] < line["cost"]
    costs = np.array(plane["costs"])
    assert costs.shape == (5, 5)
    assert costs[2, 2] == pytest.approx(plane["cost"]) == pytest.approx(line["cost"])
    assert result["trajectory"] is None
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "landscape-line.png", "landscape-line.svg", "landscape-plane.png", "landscape-plane.svg",
    ]  # fmt: skip
    assert (tmp_path / "landscape-line.png").read_bytes()[:8] == PNG


def test_landscape_line_slope_from_the_sliced_costs(tmp_path: Path, capsys) -> None:
    result = run_json(capsys, "landscape", *FAST_PLANE, "--lr", "1e-4", "--out", str(tmp_path))
    line = result["line"]
    ts, costs = np.array(line["ts"]), np.array(line["costs"])
    centre = int(np.argmin(np.abs(ts)))
    assert ts[centre] == pytest.approx(0.0, abs=1e-15)
    numerical = (costs[centre + 1] - costs[centre - 1]) / (ts[centre + 1] - ts[centre - 1])
    assert numerical == pytest.approx(line["slope"], rel=1e-3)


def test_landscape_draws_the_training_path(with_snapshots: Path, tmp_path: Path, capsys) -> None:
    argv = ["landscape", str(with_snapshots), *FAST_PLANE, "--out", str(tmp_path)]
    result = run_json(capsys, *argv)
    snapshots = Model.load(with_snapshots).snapshots
    path = np.array(result["trajectory"])
    assert path.shape == (len(snapshots), 2) == (3, 2)
    np.testing.assert_allclose(path[-1], 0.0, atol=1e-9)  # training ends at θ, the centre
    low, high = result["trajectory_in_plane"]
    assert 0 < low <= high < 0.5  # a random plane misses most of the path
    assert result["path_plane"] is not None
    along = np.array(result["path_plane_trajectory"])
    assert along.shape == (3, 2)
    assert np.all(along[0] < 0)  # the start sits at negative coordinates of its own plane
    for name in ("landscape-line.png", "landscape-plane.png", "landscape-path.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG
    argv = ["landscape", str(with_snapshots), *FAST_PLANE, "--out", str(tmp_path)]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert "training path: 3 snapshots" in out
    assert "nearly perpendicular" in " ".join(out.split())  # the report is wrapped


def test_landscape_states_how_much_of_the_path_its_plane_holds(tmp_path: Path, capsys) -> None:
    model = tmp_path / "three-epochs.npz"
    argv = ["train", "--epochs", "3", "--snapshots", "--out", str(model), "--json"]
    assert main(argv) == 0
    capsys.readouterr()
    argv = ["landscape", str(model), *FAST_PLANE, "--out", str(tmp_path)]
    result = run_json(capsys, *argv)
    code, out, _ = run(capsys, *argv)
    assert code == 0
    text = " ".join(out.split())  # the report is wrapped
    # The numbers the report states, recomputed here from the model itself.
    saved = Model.load(model)
    theta, snapshots = saved.theta.astype(np.float64), saved.snapshots.astype(np.float64)
    data = load_mini()
    X = to_inputs(data.train_images[:200], np.float64)
    Y = one_hot(data.train_labels[:200], dtype=np.float64)
    along = trajectory_directions(snapshots, theta)
    shares = in_plane_fraction(snapshots, theta, along)
    epochs = result["path_plane_epochs"]
    np.testing.assert_allclose(epochs["in_plane"], shares, rtol=1e-9)
    away = np.linalg.norm(snapshots - theta, axis=1) > 0
    low, high = shares[away].min(), shares[away].max()
    assert result["path_plane_in_plane"] == pytest.approx([low, high])
    assert high < 1.0  # the path does not lie whole in its plane, and the report says so
    assert f"the path's own plane holds {percent_range(low, high)} of each epoch's offset" in text
    real = evaluate_cost(saved.network, snapshots[0], X, Y)
    assert epochs["costs"][0] == pytest.approx(real)
    a, b = epochs["coords"][0]
    shown = evaluate_cost(saved.network, theta + a * along[0] + b * along[1], X, Y)
    assert epochs["plane_costs"][0] == pytest.approx(shown)
    assert f"the start's real cost is C = {real:.4g}, the plane shows {shown:.4g} there" in text
    low, high = result["trajectory_in_plane"]
    assert f"The random plane holds only {percent_range(low, high)}" in text


def test_landscape_of_a_model_without_snapshots(
    without_snapshots: Path, tmp_path: Path, capsys
) -> None:
    code, out, err = run(
        capsys, "landscape", str(without_snapshots), *FAST_PLANE, "--out", str(tmp_path)
    )
    assert code == 0, err
    assert "train with --snapshots" in out
    assert not (tmp_path / "landscape-path.png").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--resolution", "1"], "--resolution must be in 2..201"),
        (["--span", "0"], "--span must be a positive number"),
        (["--out", "no/such/dir"], "--out no/such/dir is not a folder"),
    ],
)
def test_landscape_bad_input_is_one_clear_line(argv, message, capsys) -> None:
    code, _, err = run(capsys, "landscape", *argv)
    assert code == 1
    assert message in err


def test_landscape_with_two_snapshots_has_no_path_plane(tmp_path: Path, capsys) -> None:
    model = tmp_path / "one-epoch.npz"
    assert main(["train", "--epochs", "1", "--snapshots", "--out", str(model), "--json"]) == 0
    capsys.readouterr()
    result = run_json(capsys, "landscape", str(model), *FAST_PLANE, "--out", str(tmp_path))
    assert len(result["trajectory"]) == 2
    assert result["path_plane"] is None
    assert not (tmp_path / "landscape-path.png").exists()
