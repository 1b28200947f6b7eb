"""Learning rates too small and too large: every run judged on its own by the one classifier."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from nudgenet import ConfigError, make_schedule
from nudgenet.data import load_mini, one_hot, to_inputs
from nudgenet.init import init_params
from nudgenet.lessons.regimes import (
    NETWORK_RATES,
    NETWORK_SEEDS,
    REGIMES,
    TOY_RATES,
    Comparison,
    Run,
    Spread,
    Summary,
    _member_run,
    compare_rates,
    compare_schedules,
    plot_comparison,
)
from nudgenet.lessons.toy import run_descent
from nudgenet.lessons.verdict import History, Verdict, judge
from nudgenet.network import Network
from nudgenet.plots import save
from nudgenet.training.loop import Epoch, TrainSettings, train
from nudgenet.training.stacked import Member, MemberResult

PNG = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- the toy


@pytest.fixture(scope="module")
def toy() -> Comparison:
    return compare_rates("toy")


def test_toy_rates_show_every_regime(toy: Comparison) -> None:
    regimes = {run.learning_rate: run.regime for run in toy.runs}
    assert regimes == {0.01: "slow", 0.1: "converges", 0.9: "converges", 1.0: "oscillates",
                       1.1: "diverges"}  # fmt: skip
    assert tuple(regimes) == TOY_RATES
    assert all(run.regime in REGIMES for run in toy.runs)
    # |w − 3| after 30 steps, 3|1 − 2η|³⁰: 1.64 (0.01), 0.0037 (0.1 and 0.9), 3 (1), 708 (1.1).
    ends = {run.learning_rate: abs(run.points[-1] - 3) for run in toy.runs}
    assert ends == pytest.approx({eta: 3 * abs(1 - 2 * eta) ** 30 for eta in TOY_RATES})


def test_a_toy_run_gets_the_verdict_descend_gives_it(toy: Comparison) -> None:
    for run in toy.runs:
        alone = run_descent("(w-3)**2", 0.0, run.learning_rate, steps=30, tol=0.0,
                            divergence_factor=None)  # fmt: skip
        assert run.verdict == alone.verdict
    assert toy.yardsticks.floor == 0.0
    assert toy.yardsticks.minimum == (3.0,)


def test_toy_histories_are_the_parabola(toy: Comparison) -> None:
    for run in toy.runs:
        eta = run.learning_rate
        assert len(run.costs) == 31  # c₀ … c₃₀
        assert run.learning_rates == (eta,) * 30
        # w_k − 3 = −3(1 − 2η)^k exactly: the closed form of descent on (w − 3)².
        expected = 3.0 - 3.0 * (1 - 2 * eta) ** np.arange(31)
        np.testing.assert_allclose(run.points, expected, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(run.costs, (expected - 3.0) ** 2, rtol=1e-9, atol=1e-24)
    assert toy.reference == pytest.approx(min(r.final_cost for r in toy.runs))


def test_toy_schedules_rescue_a_rate_too_large() -> None:
    c = compare_schedules("toy", ["constant", "step", "exponential", "inverse-time", "cosine"])
    regimes = {run.schedule: run.regime for run in c.runs}
    assert regimes == {
        "constant": "diverges",
        "step": "converges",
        "exponential": "converges",
        "inverse-time": "converges",
        "cosine": "converges",
    }
    step = next(run for run in c.runs if run.schedule == "step")
    schedule = make_schedule("step", 1.05, total_steps=30, steps_per_epoch=3)
    assert step.learning_rates == tuple(schedule(k) for k in range(30))


# --------------------------------------------------------------------------- the network


@pytest.fixture(scope="module")
def network() -> Comparison:
    return compare_rates("network")


def test_network_rates_show_each_regime_over_five_seeds(network: Comparison) -> None:
    assert network.seeds == NETWORK_SEEDS == (0, 1, 2, 3, 4)
    summaries = {s.learning_rate: s for s in network.summaries}
    assert tuple(summaries) == NETWORK_RATES
    assert {lr: s.regime for lr, s in summaries.items()} == {
        0.001: "slow",
        1.0: "converges",
        10.0: "oscillates",
        30.0: "stalls",
    }
    assert all(s.agree for lr, s in summaries.items() if lr != 10.0)
    # η = 10 bounces chaotically, so rounding alone (which differs with the processor's vector
    # width) can send a seed's last epochs elsewhere; most seeds must still oscillate.
    assert summaries[10.0].regimes.count("oscillates") >= 3
    # The yardsticks are absolute: C_const = 1 − Σ p_j² over the training digits' frequencies.
    p = np.bincount(load_mini().train_labels[:2000], minlength=10) / 2000
    assert network.yardsticks.constant_cost == pytest.approx(1 - np.sum(p**2))
    assert network.yardsticks.chance == pytest.approx(0.1, abs=0.01)
    learned = summaries[1.0]
    assert all(r.final_cost <= network.yardsticks.constant_cost / 5 for r in learned.runs)
    assert all(r.test_accuracy > 0.85 for r in learned.runs)


def test_saturated_rates_stall_on_their_own() -> None:
    # Before, each run was measured against the best of its comparison, so two runs stuck
    # at C = 1 and 10% accuracy both "converged".
    c = compare_rates("network", [30.0, 1000.0])
    for s in c.summaries:
        assert s.regime_text == "stalls (5/5)"
        for run in s.runs:
            assert run.final_cost == pytest.approx(1.0, abs=1e-3)  # every output 0
            assert run.test_accuracy == pytest.approx(0.1, abs=0.005)  # chance
            assert "the slope vanished before the minimum" in run.verdict.advice


def test_a_lone_tiny_rate_is_slow() -> None:
    c = compare_rates("network", [0.0001])
    (s,) = c.summaries
    assert s.regime_text == "slow (5/5)"
    for run in s.runs:
        falls = -np.diff(run.costs)
        assert np.all(falls > 0)  # down every epoch, ...
        assert run.final_cost > 2.0 > c.yardsticks.constant_cost / 5  # ... but far from done
        assert run.verdict.advice == "train more epochs or use a larger η"


def test_network_runs_are_rates_times_seeds(network: Comparison) -> None:
    assert len(network.runs) == 4 * 5
    assert [(r.learning_rate, r.seed) for r in network.runs] == [
        (lr, seed) for lr in NETWORK_RATES for seed in range(5)
    ]
    for run in network.runs:
        assert len(run.costs) == 11  # epoch 0 (untrained) … epoch 10
        assert len(run.learning_rates) == 10 * 200  # 2,000 images in batches of 10
        assert all(math.isfinite(c) for c in run.costs)
        assert run.diverged is None
        assert 0.0 <= run.test_accuracy <= 1.0
    for seed, reference in zip(network.seeds, network.references, strict=True):
        mine = [r for r in network.runs if r.seed == seed]
        assert len({r.costs[0] for r in mine}) == 1  # one θ₀ per seed, shared by every rate
        assert reference == min(r.final_cost for r in mine)  # each seed judged on its own
    assert len({r.costs[0] for r in network.runs}) == 5  # and a different θ₀ per seed
    assert network.reference == min(network.references)


def test_network_summaries_are_mean_and_sample_std(network: Comparison) -> None:
    for s in network.summaries:
        finals = [r.final_cost for r in s.runs]
        accuracies = [r.test_accuracy for r in s.runs]
        assert s.final_cost.mean == pytest.approx(np.mean(finals))
        assert s.final_cost.std == pytest.approx(np.std(finals, ddof=1))
        assert s.test_accuracy.mean == pytest.approx(np.mean(accuracies))
        assert s.test_accuracy.std == pytest.approx(np.std(accuracies, ddof=1))
    stalled, learned = network.summaries[3], network.summaries[1]
    # A huge η saturates every output at 0: the cost sits at exactly 1 (one target missed).
    assert stalled.final_cost.mean == pytest.approx(1.0, abs=1e-3)
    assert stalled.test_accuracy.mean == pytest.approx(0.1, abs=0.01)  # one digit for all
    assert learned.final_cost.mean < 0.12
    assert learned.test_accuracy.mean > 0.85
    assert learned.test_accuracy.std < 0.02


def test_a_network_run_is_what_train_gives_for_its_seed() -> None:
    c = compare_rates("network", [1.0, 3.0], epochs=2, examples=300, seeds=[2, 0])
    network = Network()
    data = load_mini()
    X = to_inputs(data.train_images[:300], np.float64)
    Y = one_hot(data.train_labels[:300], dtype=np.float64)
    for run in c.runs:
        init, shuffle = np.random.SeedSequence(run.seed).spawn(2)
        theta = init_params(network.layout, "xavier", rng=np.random.default_rng(init))
        settings = TrainSettings(epochs=2, batch_size=10, lr=run.learning_rate)
        records = train(network, theta, X, Y, settings, rng=np.random.default_rng(shuffle),
                        engine="reference")  # fmt: skip
        costs = [r.train_cost for r in records if isinstance(r, Epoch)]
        np.testing.assert_allclose(run.costs, costs, rtol=1e-9)
    assert [r.seed for r in c.runs] == [2, 0, 2, 0]


def test_one_seed_has_no_spread() -> None:
    c = compare_rates("network", [1.0], epochs=1, examples=100, seeds=[4])
    (s,) = c.summaries
    assert s.regime_text == s.regime
    assert s.final_cost.std is None
    assert "±" not in s.final_cost.text()
    assert "seed 4" in c.description


def test_a_diverged_seed_is_left_out_of_the_figures() -> None:
    history = [{"train_cost": 2.5, "test_accuracy": 0.1}, {"train_cost": 1.0, "test_accuracy": 0.6}]
    result = MemberResult(Member(lr=5.0, seed=1), history=history, diverged_step=250)
    raw = _member_run("η = 5", result, per_epoch=200, epochs=3)
    assert raw.costs == (2.5, 1.0, math.inf)
    assert len(raw.learning_rates) == 250  # the step that blew up was not taken
    assert raw.test_accuracy is None
    assert "step 250 (epoch 2)" in raw.diverged
    verdict = judge(History(raw.costs, stopped=raw.diverged, unit="epoch"))
    assert verdict.regime == "diverges"
    fine = Run("η = 5", 5.0, "constant", (2.5, 0.5), (5.0,), Verdict("converges", "fell"),
               seed=0, test_accuracy=0.8)  # fmt: skip
    blown = Run("η = 5", 5.0, "constant", raw.costs, raw.learning_rates, verdict,
                diverged=raw.diverged, seed=1)  # fmt: skip
    s = Summary("η = 5", 5.0, "constant", (fine, blown))
    assert s.regime_text == "converges (1/2)"  # a tie goes to the earlier seed's label
    assert s.final_cost.values == (0.5,)
    assert s.test_accuracy.values == (0.8,)
    mean, low, high = s.curve()
    np.testing.assert_allclose(mean, [2.5, 0.75, np.nan])
    np.testing.assert_allclose(low, [2.5, 0.5, np.nan])
    np.testing.assert_allclose(high, [2.5, 1.0, np.nan])


def test_network_schedules_calm_an_oscillating_rate() -> None:
    c = compare_schedules("network", ["constant", "step"], epochs=10)
    constant, step = c.summaries
    assert (constant.schedule, constant.regime) == ("constant", "oscillates")
    assert (step.schedule, step.regime_text) == ("step", "converges (5/5)")
    for run in c.runs[5:]:
        assert run.learning_rates[0] == 10.0
        assert run.learning_rates[-1] == 10.0 / 8  # halved at each quarter of training


def test_network_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="examples must be between 1 and 10000"):
        compare_rates("network", [1.0], examples=0)
    with pytest.raises(ConfigError, match="unknown problem"):
        compare_rates("bowl")
    with pytest.raises(ConfigError, match="unknown schedule 'warmup'"):
        compare_schedules("toy", ["warmup"])
    with pytest.raises(ConfigError, match="positive finite"):
        compare_rates("toy", [0.1, -1.0])
    for seeds in ([], [-1], [0.5]):
        with pytest.raises(ConfigError, match="seeds must be one or more integers"):
            compare_rates("network", [1.0], seeds=seeds)
    with pytest.raises(ConfigError, match="repeat"):
        compare_rates("network", [1.0], seeds=[0, 1, 0])


# --------------------------------------------------------------------------- the picture


def test_figures(tmp_path: Path, toy: Comparison, network: Comparison) -> None:
    fig = plot_comparison(network)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:4] == [f"η = {s.learning_rate:g}: {s.regime_text}" for s in network.summaries]
    assert labels[0] == "η = 0.001: slow (5/5)"
    assert labels[2].startswith("η = 10: oscillates (")
    title = ax.get_legend().get_title().get_text()
    assert title == "thick: mean of 5 seeds, thin: each seed; band: min–max"
    assert ax.get_yscale() == "log"
    drawn = ax.get_lines()[1].get_ydata()
    np.testing.assert_allclose(drawn, np.mean([r.costs for r in network.summaries[1].runs], 0))
    assert len(ax.collections) == 4  # one band per rate
    for name, figure in (("network", fig), ("toy", plot_comparison(toy))):
        (png,) = save(figure, tmp_path / f"{name}.png")
        assert png.read_bytes()[:8] == PNG
    toy_labels = [line.get_label() for line in plot_comparison(toy).axes[0].get_lines()]
    assert toy_labels == ["η = 0.01: slow", "η = 0.1: converges", "η = 0.9: converges",
                          "η = 1: oscillates", "η = 1.1: diverges"]  # fmt: skip


def test_coinciding_curves_all_stay_visible(toy: Comparison) -> None:
    # On (w − 3)², |1 − 2η| = 0.8 for η = 0.1 and 0.9: the same costs, step by step.
    lines = {line.get_label().split(":")[0]: line for line in plot_comparison(toy).axes[0].lines}
    below, above = lines["η = 0.1"], lines["η = 0.9"]
    np.testing.assert_allclose(below.get_ydata(), above.get_ydata(), rtol=1e-12)
    assert above.get_zorder() > below.get_zorder()
    assert above.get_linewidth() < below.get_linewidth()  # the one beneath shows as a border
    assert above.get_markersize() < below.get_markersize()
    assert above.get_linestyle() != below.get_linestyle()
    assert above.get_marker() != below.get_marker()
    looks = [(ln.get_linestyle(), ln.get_marker()) for ln in lines.values()]
    assert len(set(looks)) == len(looks) == len(TOY_RATES)
    assert all(ln.get_visible() and ln.get_alpha() in (None, 1.0) for ln in lines.values())


def test_a_cost_of_exactly_zero_stays_on_the_axis() -> None:
    # η = 0.5 lands on w = 3 in one step: C = 0 exactly, which a log axis cannot show.
    c = compare_rates("toy", [0.01, 0.5, 0.9])
    assert c.runs[1].costs == (9.0, 0.0)
    ax = plot_comparison(c).axes[0]
    assert ax.get_yscale() == "symlog"
    zero = next(ln for ln in ax.lines if ln.get_label().startswith("η = 0.5"))
    np.testing.assert_array_equal(zero.get_ydata(), [9.0, 0.0])  # drawn, not masked
    assert ax.get_ylim()[0] <= 0.0
    threshold = ax.yaxis.get_transform().linthresh
    assert threshold == 1e-5  # the smallest positive cost, 1.4e-5, rounded down
    assert "C = 0 shows" in ax.get_ylabel()
    # Without a zero, the axis stays logarithmic.
    assert plot_comparison(compare_rates("toy", [0.1, 0.9])).axes[0].get_yscale() == "log"


def test_the_network_figure_draws_every_seed(network: Comparison) -> None:
    ax = plot_comparison(network).axes[0]
    for s in network.summaries:
        (mean,) = [ln for ln in ax.lines if ln.get_label() == f"{s.label}: {s.regime_text}"]
        seeds = [ln for ln in ax.lines if ln.get_label().startswith(f"_{s.label}, seed ")]
        assert [ln.get_label() for ln in seeds] == [f"_{s.label}, seed {r.seed}" for r in s.runs]
        for line, run in zip(seeds, s.runs, strict=True):
            np.testing.assert_allclose(line.get_ydata(), run.costs)  # each seed, unaveraged
            assert line.get_linewidth() < mean.get_linewidth()
            assert line.get_zorder() < mean.get_zorder()
            assert line.get_color() == mean.get_color()
    # At η = 10 the seeds bounce: some seed's cost rises on an epoch where the mean's falls.
    ten = next(s for s in network.summaries if s.learning_rate == 10.0)
    mean_rises = np.diff(ten.curve()[0]) > 0
    assert any(np.any((np.diff(r.costs) > 0) & ~mean_rises) for r in ten.runs)


def test_spread_examples() -> None:
    assert Spread(()).text() == "—"
    assert Spread((1.0, 3.0)).std == pytest.approx(math.sqrt(2.0))  # ddof = 1, not 1.0
    assert Spread((0.5,)).as_dict() == {"mean": 0.5, "std": None, "values": [0.5]}
