"""``nudgenet descend`` and ``nudgenet learning-rate`` as a learner meets them."""

from __future__ import annotations

from pathlib import Path

import pytest
from clitools import run, run_json

PNG = b"\x89PNG\r\n\x1a\n"


def table_rows(out: str) -> list[list[str]]:
    """The rows of the step table: lines that start with a step number."""
    return [
        line.split() for line in out.splitlines() if line.split()[:1] and line.split()[0].isdigit()
    ]


# --------------------------------------------------------------------------- descend


def test_descend_prints_the_notes_example(capsys) -> None:
    code, out, err = run(capsys, "descend")
    assert code == 0, err
    assert "dC/dw = 2*w - 6" in out
    assert "agrees" in out  # the finite-difference check
    rows = table_rows(out)
    # step, w, C(w), dC/dw, −η·dC/dw, new w
    assert rows[0] == ["0", "0", "9", "-6", "0.6", "0.6"]
    assert rows[1] == ["1", "0.6", "5.76", "-4.8", "0.48", "1.08"]
    assert "... 60 more steps (--all prints them) ..." in out
    assert rows[-1][0] == "69"
    assert "converged after 70 steps" in out
    assert "a minimum (the bottom of a valley)" in out
    assert "verdict: converges — it reached the bottom: C − C* fell from 9 to 2.44e-13" in out
    assert "help:" not in out  # nothing to change


def test_descend_all_prints_every_step(capsys) -> None:
    code, out, _ = run(capsys, "descend", "--all")
    assert code == 0
    assert [row[0] for row in table_rows(out)] == [str(k) for k in range(70)]


def test_descend_json_gives_the_steps_as_data(capsys) -> None:
    result = run_json(capsys, "descend")
    assert result["derivative"] == "2*w - 6"
    first, second = result["steps"][:2]
    assert (first["w"], first["cost"], first["slope"]) == (0.0, 9.0, -6.0)
    assert first["new_w"] == pytest.approx(0.6, abs=1e-12)
    assert second["slope"] == pytest.approx(-4.8, abs=1e-12)
    assert second["new_w"] == pytest.approx(1.08, abs=1e-12)
    assert result["converged"] is True
    assert result["diverged"] is False
    assert result["verdict"] == "converges"
    assert result["advice"] is None
    assert result["yardsticks"]["floor"] == 0.0
    assert result["yardsticks"]["minimum"] == [3.0]
    assert abs(result["final_w"] - 3.0) < 1e-6
    assert len(result["steps"]) == result["n_steps"] == 70
    assert result["derivative_check"]["relative_error"] < 1e-8


def test_descend_shows_a_blow_up_not_a_traceback(capsys) -> None:
    code, out, err = run(capsys, "descend", "--lr", "1.1")
    assert code == 0, err
    assert err == ""
    assert "DIVERGED: at step 19" in out
    assert "1 − η·C'' = 1 − 1.1·2 = -1.2; since |-1.2| > 1" in out
    assert "verdict: diverges — it blew up: at step 19" in out
    assert "help: use a smaller η (below 2/C'' = 1," in out
    rows = table_rows(out)
    assert rows[0] == ["0", "0", "9", "-6", "6.6", "6.6"]
    assert rows[1][1:3] == ["6.6", "12.96"]  # overshot to the other side, higher up
    result = run_json(capsys, "descend", "--lr", "1.1")
    assert result["diverged"] is True
    assert result["converged"] is False
    assert result["verdict"] == "diverges"
    assert "|-1.2| > 1" in result["why"]


def test_descend_explains_other_endings(capsys) -> None:
    code, out, _ = run(capsys, "descend", "--", "-w**2")
    assert code == 0
    assert "no step: the slope is already flat at the start" in out
    assert "a maximum (the top of a hill)" in out
    assert "verdict: stalls — the slope vanished (|dC/dw| = 0) at w = 0, a hilltop" in out
    assert "help: the slope vanished before the minimum" in out
    code, out, err = run(capsys, "descend", "w**3", "--w0", "-1")
    assert code == 0, err
    assert "DIVERGED" not in out  # it fell without limit: nothing blew up
    assert "verdict: unbounded — C has no minimum (its leading term w**3 falls to −∞" in out
    assert "help: this cost has no minimum: descent can only go down forever" in out
    code, out, _ = run(capsys, "descend", "--lr", "0.01", "--steps", "5")
    assert "stopped after 5 steps, the budget, with |dC/dw| = 5.42" in out  # 6·0.98⁵
    assert "verdict: slow" in out
    assert "help: take more steps or use a larger η (below 2/C'' = 1 it stays stable)" in out


def test_descend_two_starts_two_valleys(capsys) -> None:
    left = run_json(capsys, "descend", "w**4 - 3*w**2 + w", "--w0", "0")
    right = run_json(capsys, "descend", "w**4 - 3*w**2 + w", "--w0", "0.5")
    code, out, _ = run(capsys, "descend", "w**4 - 3*w**2 + w", "--w0", "0.5")
    assert "not the deepest (that has C = -3.514)" in out
    valleys = [v["w"] for v in left["valleys"]]
    assert len(valleys) == 2
    assert left["final_w"] == pytest.approx(valleys[0], abs=1e-5)
    assert right["final_w"] == pytest.approx(valleys[1], abs=1e-5)
    code, out, _ = run(capsys, "descend", "w**4 - 3*w**2 + w", "--start=-1")
    assert code == 0
    assert "C has 2 valleys" in out
    assert "from w = -1 the ball rolled into the one at w ≈ -1.3008, the deepest" in out
    assert "where descent starts decides" in out
    assert left["crossing"] is None
    assert right["crossing"] is None


def test_descend_a_step_over_the_hill_decides_the_valley(capsys) -> None:
    # From w = 2 the slope is 4·8 − 12 + 1 = 21, so the first step, 0.1·21 = 2.1 long, lands
    # at w = −0.1: past the hilltop at w ≈ 0.1699, in the other valley.
    result = run_json(capsys, "descend", "w**4 - 3*w**2 + w", "--w0", "2")
    assert result["steps"][0]["new_w"] == pytest.approx(-0.1)
    assert result["crossing"] == {"step": 0, "hill": pytest.approx(0.16994, abs=1e-5),
                                  "length": pytest.approx(2.1)}  # fmt: skip
    assert result["verdict"] == "converges"
    _, out, _ = run(capsys, "descend", "w**4 - 3*w**2 + w", "--w0", "2")
    assert "the step size decided, not the start (step 0, 2.1 long, jumped over the hill" in out
    assert "where descent starts decides" not in out


def test_descend_two_variables(capsys, tmp_path: Path) -> None:
    plot = tmp_path / "bowl.png"
    result = run_json(capsys, "descend", "x**2 + 3*y**2", "--start", "2,1", "--plot", str(plot))
    assert result["derivative"] == "(2*x, 6*y)"
    first = result["steps"][0]
    assert (first["slope_x"], first["slope_y"]) == (4.0, 6.0)
    assert (first["new_x"], first["new_y"]) == pytest.approx((1.6, 0.4))
    assert result["converged"] is True
    assert result["final_point"] == pytest.approx([0.0, 0.0], abs=1e-6)
    assert "final_w" not in result
    assert plot.read_bytes()[:8] == PNG
    assert result["figures"] == [str(plot)]


def test_descend_writes_png_and_svg(capsys, tmp_path: Path) -> None:
    code, out, err = run(capsys, "descend", "--plot", str(tmp_path / "curve.png"), "--svg")
    assert code == 0, err
    assert (tmp_path / "curve.png").read_bytes()[:8] == PNG
    assert b"<svg" in (tmp_path / "curve.svg").read_bytes()
    assert f"figure saved to {tmp_path / 'curve.svg'}" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["__import__('os').system('true')"], "is not an allowed function"),
        (["w.real"], "attribute access"),
        (["z**2"], "unknown name 'z'"),
        (["w +"], "not a formula"),
        (["3"], "no variable"),
        (["(w-3)**2", "--start", "1,2"], "the start has 2 number(s)"),
        (["x*y", "--w0", "1"], "--w0 sets w"),
        (["(w-3)**2", "--w0", "1", "--start", "1"], "not both"),
        (["(w-3)**2", "--lr", "0"], "positive finite"),
        (["log(w)"], "not defined at the start"),
        (["(w-3)**2", "--svg"], "--svg needs --plot"),
    ],
)
def test_descend_errors_are_one_line(capsys, argv: list[str], message: str) -> None:
    code, out, err = run(capsys, "descend", *argv)
    assert code == 1
    assert out == ""
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert message in error_lines[0]
    assert "Traceback" not in err


# --------------------------------------------------------------------------- learning-rate


def test_learning_rate_on_the_toy(capsys, tmp_path: Path) -> None:
    plot = tmp_path / "rates.png"
    code, out, err = run(capsys, "learning-rate", "--plot", str(plot))
    assert code == 0, err
    lines = {line.split()[0]: line.split()[1] for line in out.splitlines()[4:9]}
    assert lines == {"0.01": "slow", "0.1": "converges", "0.9": "converges", "1": "oscillates",
                     "1.1": "diverges"}  # fmt: skip
    assert "each run judged against the floor C* = 0 at w = 3" in out
    assert "help: oscillates  use a smaller η: below 2/C'' = 1 the bounces shrink" in out
    assert plot.read_bytes()[:8] == PNG
    result = run_json(capsys, "learning-rate", "--rates", "0.05,0.2,1.5")
    # |w − 3| = 3|1 − 2η|³⁰: 0.13 (4% of the way left: slow), 3.7e-7 and 2.6e5.
    assert [r["regime"] for r in result["runs"]] == ["slow", "converges", "diverges"]
    assert [r["verdict"] for r in result["runs"]] == ["slow", "converges", "diverges"]
    assert abs(result["runs"][0]["w"][-1] - 3) == pytest.approx(3 * 0.9**30)
    assert result["history"] == "the cost C(w_k) after every step k"
    assert len(result["runs"][0]["costs"]) == 31


def test_learning_rate_on_the_network(capsys, tmp_path: Path) -> None:
    plot = tmp_path / "network.png"
    result = run_json(capsys, "learning-rate", "--on", "network", "--plot", str(plot))
    assert result["on"] == "network"
    assert result["seeds"] == [0, 1, 2, 3, 4]
    assert "ddof = 1" in result["spread"]
    assert result["test_set"] == "the 2,000 test images of mini"
    assert "seeds 0–4" in result["description"]
    assert "after every epoch" in result["history"]
    summaries = {s["learning_rate"]: s for s in result["summaries"]}
    assert {lr: s["regime"] for lr, s in summaries.items()} == {
        0.001: "slow",
        1.0: "converges",
        10.0: "oscillates",  # on most seeds: its chaotic bounces may end low
        30.0: "stalls",
    }
    assert [s["count"] for s in summaries.values()][:2] == [5, 5]
    assert summaries[10.0]["count"] >= 3
    assert summaries[30.0]["count"] == 5
    learned = summaries[1.0]
    assert learned["agree"]
    assert learned["seeds"] == [0, 1, 2, 3, 4]
    assert len(learned["test_accuracy"]["values"]) == 5
    assert learned["test_accuracy"]["mean"] > 0.85
    assert 0 < learned["final_cost"]["std"] < learned["final_cost"]["mean"]
    assert len(learned["mean_costs"]) == 11
    assert len(result["runs"]) == 20
    assert all(len(r["costs"]) == 11 and r["seed"] in range(5) for r in result["runs"])
    assert plot.read_bytes()[:8] == PNG


def test_learning_rate_network_text_gives_mean_and_std(capsys) -> None:
    small = ["--on", "network", "--epochs", "6", "--examples", "500", "--rates", "1,30"]
    code, out, err = run(capsys, "learning-rate", *small, "--seeds", "0-2")
    assert code == 0, err
    assert "seeds 0–2" in out
    assert "mean ± sample standard deviation (ddof = 1) over the 3 seeds" in out
    rows = {
        line.split()[0]: line for line in out.splitlines() if line.split()[:1] in (["1"], ["30"])
    }
    # Six epochs on 500 images leave η = 1 at C ≈ 0.63 and 45% accuracy: above C_const/5.
    assert "slow (3/3)" in rows["1"]
    assert rows["1"].count("±") == 2  # the final cost and the test accuracy
    assert "stalls (3/3)" in rows["30"]
    assert "all 3 seeds agree on every verdict." in out
    code, out, err = run(capsys, "learning-rate", *small, "--seeds", "4")
    assert code == 0, err
    assert "±" not in out
    assert "figures: one seed, so no spread" in out
    assert "(1/1)" not in out


def test_learning_rate_schedules(capsys, tmp_path: Path) -> None:
    plot = tmp_path / "schedules.png"
    code, out, err = run(
        capsys, "learning-rate", "--schedules", "constant,cosine", "--plot", str(plot), "--svg"
    )
    assert code == 0, err
    assert "schedules from η = 1.05" in out
    assert "constant  diverges" in out
    assert "cosine  converges" in out
    assert plot.read_bytes()[:8] == PNG
    assert (tmp_path / "schedules.svg").exists()
    result = run_json(capsys, "learning-rate", "--schedules", "step", "--lr", "0.9", "--steps", "8")
    (step,) = result["runs"]
    assert step["learning_rates"] == [0.9, 0.9, 0.45, 0.45, 0.225, 0.225, 0.1125, 0.1125]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epochs", "3"], "--epochs only applies with --on network"),
        (["--on", "network", "--steps", "3"], "--steps only applies with --on toy"),
        (["--lr", "0.5"], "--lr is the starting rate of --schedules"),
        (["--rates", "0.1", "--schedules", "step"], "not both"),
        (["--schedules", "warmup"], "unknown schedule 'warmup'"),
        (["--rates", "0.1,-2"], "positive finite"),
        (["--on", "network", "--examples", "0"], "examples must be between"),
        (["--seeds", "0-4"], "--seeds only applies with --on network"),
        (["--on", "network", "--seeds", "0,0"], "the seeds repeat a value"),
        (["--svg"], "--svg needs --plot"),
    ],
)
def test_learning_rate_errors_are_one_line(capsys, argv: list[str], message: str) -> None:
    code, out, err = run(capsys, "learning-rate", *argv)
    assert code == 1
    assert out == ""
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert message in error_lines[0]


def test_learning_rate_says_where_seeds_disagree(capsys) -> None:
    # At η = 15 on 500 images the sigmoids saturate on some seeds and not on others.
    small = ["--on", "network", "--epochs", "6", "--examples", "500", "--rates", "1,15"]
    result = run_json(capsys, "learning-rate", *small)
    code, out, err = run(capsys, "learning-rate", *small)
    assert code == 0, err
    split = [s for s in result["summaries"] if not s["agree"]]
    assert split, "expected the seeds to disagree somewhere on this problem"
    for s in split:
        line = next(li for li in out.splitlines() if li.startswith("the seeds disagree at"))
        counts = line.split(f"η = {s['learning_rate']:g} (")[1].split(")")[0].split(", ")
        assert sum(int(c.split()[0]) for c in counts) == 5
        assert {c.split()[1] for c in counts} == set(s["regimes"])
    assert "agree on every verdict" not in out


# --------------------------------------------------------------------------- one verdict

# (cost, start, η, the verdict): the parabola at the lesson's rates, two valleys, costs with
# no minimum, a saddle and a narrow valley's zig-zag.
RUNS = [
    ("(w-3)**2", [0.0], 0.1, "converges"),  # |1 − 2η| = 0.8
    ("(w-3)**2", [0.0], 0.5, "converges"),  # 0: at the bottom in one step
    ("(w-3)**2", [0.0], 0.9, "converges"),  # −0.8: overshoots every step, and settles
    ("(w-3)**2", [0.0], 0.99, "oscillates"),  # −0.98: 3·0.98¹⁰⁰ = 0.4 left after 100 steps
    ("(w-3)**2", [0.0], 1.0, "oscillates"),  # −1: 0, 6, 0, 6, …
    ("(w-3)**2", [0.0], 1.05, "diverges"),  # −1.1
    ("(w-3)**2", [0.0], 1.1, "diverges"),  # −1.2
    ("w**4 - 3*w**2 + w", [0.0], 0.1, "converges"),
    ("w**4 - 3*w**2 + w", [2.0], 0.1, "converges"),  # over the hill
    ("(w**2-1)**2", [1.5], 0.4, "oscillates"),  # ±1.5 forever
    ("w", [0.0], 0.1, "unbounded"),
    ("0 - (w-3)**2", [0.0], 0.1, "unbounded"),  # −(w − 3)², written so that --json may follow
    ("x**2 - y**2", [0.0, 0.0], 0.1, "stalls"),  # flat at the saddle
    ("x**2 - y**2", [1.0, 1.0], 0.1, "unbounded"),
    ("x**2+10*y**2", [1.0, 1.0], 0.1, "oscillates"),  # 1 − 0.1·20 = −1 along y
]
ADVICE = {
    "converges": None,
    "slow": "take more steps or use a larger η",
    "oscillates": "use a smaller η: below 2/",
    "diverges": "use a smaller η (below 2/",
    "unbounded": "this cost has no minimum: descent can only go down forever",
    "stalls": "the slope vanished before the minimum",
}


@pytest.mark.parametrize(("text", "start", "eta", "verdict"), RUNS)
def test_text_json_and_api_give_one_verdict(capsys, text: str, start: list[float], eta: float,
                                            verdict: str) -> None:  # fmt: skip
    from nudgenet import run_descent

    argv = ["descend", text, "--start=" + ",".join(map(str, start)), "--lr", str(eta)]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    result = run_json(capsys, *argv)
    api = run_descent(text, start, eta).verdict  # descend's defaults: 100 steps, tol 1e-6
    (line,) = [li for li in out.splitlines() if li.startswith("verdict: ")]
    assert line == f"verdict: {verdict} — {api.reason}."
    assert result["verdict"] == api.regime == verdict
    assert result["verdict_reason"] == api.reason
    assert result["advice"] == api.advice
    helps = [li.removeprefix("help: ") for li in out.splitlines() if li.startswith("help: ")]
    if ADVICE[verdict] is None:
        assert helps == []
        assert api.advice is None
    else:
        assert helps == [api.advice]
        assert api.advice.startswith(ADVICE[verdict])


def test_learning_rate_judges_saturated_rates_on_their_own(capsys) -> None:
    code, out, err = run(capsys, "learning-rate", "--on", "network", "--rates", "30,1000")
    assert code == 0, err
    rows = {line.split()[0]: line for line in out.splitlines() if line.split()[:1] in (["30"],
            ["1000"])}  # fmt: skip
    for rate in ("30", "1000"):
        assert "stalls (5/5)" in rows[rate]
        assert "10.00 ± 0.00" in rows[rate]  # chance accuracy, for every seed
    assert "converges" not in out
    assert "help: stalls  the slope vanished before the minimum: use a smaller η" in out
    result = run_json(capsys, "learning-rate", "--on", "network", "--rates", "0.0001")
    (summary,) = result["summaries"]
    assert summary["verdict"] == "slow"
    assert summary["count"] == 5
    assert summary["final_cost"]["mean"] > result["yardsticks"]["constant_cost"] / 5
    assert summary["advice"] == "train more epochs or use a larger η"
