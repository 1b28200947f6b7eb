"""``nudgenet power-rule``, ``why-squared``, ``steepest``, ``one-weight`` and ``momentum``: the
numbers each prints are the computation's."""

from __future__ import annotations

import re

import numpy as np
import pytest
from clitools import run, run_json

from nudgenet import evaluate_cost, init_params, load_mini, one_hot, to_inputs
from nudgenet.cli import main
from nudgenet.lessons.momentum import compare_momentum
from nudgenet.network import Network
from nudgenet.training.recipe import seed_streams

PNG = b"\x89PNG\r\n\x1a\n"
FAST = ["--examples", "200"]


def test_the_commands_are_listed(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in ("power-rule", "why-squared", "steepest", "one-weight", "momentum"):
        assert name in out


def test_power_rule_prints_the_rule_and_the_limit(capsys) -> None:
    code, out, _ = run(capsys, "power-rule", "(w-3)**2", "--at", "0")
    assert code == 0
    assert "power rule: dC/dw = 2*w - 6;  SymPy: 2*w - 6  (the same)" in out
    assert "at w = 0: dC/dw = -6" in out
    assert re.search(r"0\.1\s+-5\.9\s+1\.00e-01", out)
    assert "the error shrinks at every smaller h" in out


def test_power_rule_json_and_figure(capsys, tmp_path) -> None:
    result = run_json(capsys, "power-rule", "w**3", "w**-1", "--plot", str(tmp_path / "figs"))
    assert [c["cost"] for c in result["costs"]] == ["w**3", "w**-1"]
    for c in result["costs"]:
        assert c["agree"]
        assert c["converges"]
        errors = [q["error"] for q in c["quotients"]]
        assert errors == sorted(errors, reverse=True)
    assert result["costs"][0]["slope"] == 12.0  # 3·2²
    assert (tmp_path / "figs" / "power-rule.png").read_bytes()[:8] == PNG


def test_power_rule_refuses_what_is_not_a_power(capsys) -> None:
    code, _, err = run(capsys, "power-rule", "sin(w)")
    assert code == 1
    assert err.startswith("error: sin(w)")
    assert "\nhelp: " in err


def test_momentum_prints_what_the_runs_did(capsys) -> None:
    code, out, _ = run(capsys, "momentum")
    assert code == 0
    lesson = compare_momentum()
    plain, best, heavy = lesson.runs
    assert f"momentum μ = {best.momentum:.3g}: {best.steps} steps, fewer than plain " \
        f"descent's {plain.steps} at the same η" in out  # fmt: skip
    assert f"{heavy.steps} steps, more than plain descent's {plain.steps}" in out
    assert "1 − 0.09·20 = -0.800" in out


def test_momentum_json_and_figures(capsys, tmp_path) -> None:
    result = run_json(capsys, "momentum", "--momentum", "0.5", "--plot", str(tmp_path))
    plain, half = result["runs"]
    assert (plain["momentum"], half["momentum"]) == (0.0, 0.5)
    assert half["steps"] < plain["steps"]
    assert half["arrived"]
    assert plain["arrived"]
    assert len(plain["path"]) == plain["steps"] + 1
    for name in ("momentum.png", "momentum-factors.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG


def test_momentum_refuses_a_cost_without_a_bowl(capsys) -> None:
    code, _, err = run(capsys, "momentum", "x**2 - y**2", "--start", "1,1")
    assert code == 1
    assert "no bottom" in err
    assert "help:" in err


def test_steepest_none_is_steeper(capsys) -> None:
    result = run_json(capsys, "steepest", *FAST, "--directions", "300")
    assert result["directions"] == 300
    assert result["n_params"] == 13_002
    assert result["largest_random_abs_slope"] < result["gradient_norm"]
    assert result["none_steeper"]
    assert result["slope_along_negative_gradient"] == pytest.approx(-result["gradient_norm"])
    down = result["finite_difference_checks"][0]
    assert down["finite_difference"] == pytest.approx(-result["gradient_norm"], rel=1e-6)
    data = load_mini()
    X = to_inputs(data.train_images[:200], np.float64)
    Y = one_hot(data.train_labels[:200], dtype=np.float64)
    network = Network()
    theta = init_params(network.layout, "xavier", rng=seed_streams(0)[0])
    assert result["cost"] == evaluate_cost(network, theta, X, Y)


def test_steepest_text_and_figure(capsys, tmp_path) -> None:
    code, out, _ = run(capsys, "steepest", *FAST, "--directions", "100", "--plot", str(tmp_path))
    assert code == 0
    assert "none of them is steeper than −∇C" in out
    assert (tmp_path / "steepest.png").read_bytes()[:8] == PNG


def test_one_weight_new_is_old_minus_eta_slope(capsys) -> None:
    result = run_json(capsys, "one-weight", *FAST, "--lr", "0.5")
    assert result["new"] == result["old"] - 0.5 * result["slope"]
    assert result["weight"].startswith("W")
    data = load_mini()
    X = to_inputs(data.train_images[:200], np.float64)
    Y = one_hot(data.train_labels[:200], dtype=np.float64)
    network = Network()
    theta = init_params(network.layout, "xavier", rng=seed_streams(0)[0])
    assert result["old"] == theta[result["index"]]
    assert result["cost_before"] == evaluate_cost(network, theta, X, Y)
    theta[result["index"]] = result["new"]
    assert result["cost_after"] == evaluate_cost(network, theta, X, Y)
    assert result["cost_after"] < result["cost_before"]


def test_one_weight_text_shows_the_arithmetic(capsys, tmp_path) -> None:
    code, out, _ = run(capsys, "one-weight", *FAST, "--plot", str(tmp_path))
    assert code == 0
    match = re.search(
        r"new = old − η·∂C/∂w = ([+-][\d.]+) − 1·\(([+-][\d.]+)\) = ([+-][\d.]+)", out
    )
    assert match is not None
    old, slope, new = (float(g) for g in match.groups())
    assert new == pytest.approx(old - slope, abs=2e-9)
    assert "it fell" in out
    assert (tmp_path / "one-weight.png").read_bytes()[:8] == PNG


def test_svg_needs_plot(capsys) -> None:
    code, _, err = run(capsys, "momentum", "--svg")
    assert code == 1
    assert "--svg needs --plot DIR" in err


@pytest.mark.slow
def test_why_squared_reports_both_reasons(capsys, tmp_path) -> None:
    result = run_json(capsys, "why-squared", "--plot", str(tmp_path))
    untrained, trained = result["networks"]["untrained"], result["networks"]["trained"]
    assert trained["test_accuracy"] > 0.5 > 0.2 > untrained["test_accuracy"]
    for r in (untrained, trained):
        assert abs(r["signed_cost"]) < r["absolute_cost"]
        assert r["top_share_squared"] > r["top_share_absolute"]
        spread, peaked = r["disagreeing_pair"]
        assert spread["absolute"] > peaked["absolute"]
        assert spread["squared"] < peaked["squared"]
        e = r["cancelled_example"]
        assert e["label"] != e["guess"]
        assert abs(e["signed"]) < e["absolute"]
    assert (tmp_path / "why-squared.png").read_bytes()[:8] == PNG
