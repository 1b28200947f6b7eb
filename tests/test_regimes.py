"""Learning rates too small and too large: the classifier's rules and the runs it labels."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from nudgenet import ConfigError, make_schedule
from nudgenet.plots import save
from nudgenet.regimes import (
    NETWORK_RATES,
    REGIMES,
    TOY_RATES,
    Comparison,
    classify,
    compare_rates,
    compare_schedules,
    plot_comparison,
)

PNG = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- the rules


def decay(start: float, factor: float, n: int) -> list[float]:
    return [start * factor**k for k in range(n)]


@pytest.mark.parametrize(
    ("costs", "kwargs", "regime"),
    [
        (decay(9.0, 0.64, 30), {}, "converges"),
        (decay(9.0, 0.64, 30), {"reference": 0.0}, "converges"),
        (decay(9.0, 0.96, 30), {"reference": 0.0}, "slow"),  # 29% of the gap closed
        (decay(9.0, 0.96, 30), {}, "converges"),  # nothing to compare with: not "slow"
        (decay(9.0, 1.44, 30), {}, "diverges"),
        ([9.0, 5.0, 3.0, 10.0], {}, "diverges"),  # ends above its start
        ([9.0, 5.0, math.nan, 1.0], {}, "diverges"),  # NaN anywhere
        ([9.0, 5.0, 3.0, math.inf], {}, "diverges"),
        ([2.5, 1.0, 1.0, 1.0, 1.0, 1.0], {"reference": 0.09}, "stalls"),
        ([2.5, 1.0, 1.0, 1.0, 1.0, 1.0], {"reference": 0.95}, "converges"),  # flat at the best
        ([2.5, 1.0, 1.0, 1.0, 1.0, 1.0], {}, "converges"),
        ([2.5, 0.7, 0.5, 0.49, 0.42, 0.34, 0.33, 0.30, 0.29, 0.35, 0.45], {}, "oscillates"),
        ([2.5, 0.8, 0.66, 0.46, 0.32, 0.23, 0.19, 0.14, 0.108, 0.109, 0.089], {}, "converges"),
        ([1.0, 0.5, 0.4, 0.3, 0.2, 0.1], {"reference": 0.1}, "converges"),
        ([4.0], {}, "converges"),  # no step needed
    ],
)
def test_rules(costs: list[float], kwargs: dict, regime: str) -> None:
    verdict = classify(costs, **kwargs)
    assert verdict.regime == regime
    assert verdict.regime in REGIMES
    assert verdict.reason


def test_a_small_rise_is_noise_a_large_one_is_not() -> None:
    wiggle = [1.0, 0.5, 0.4, 0.3, 0.2, 0.201, 0.15, 0.151, 0.1]  # rises of 0.5%
    assert classify(wiggle).regime == "converges"
    assert classify(wiggle, rise_tol=0.001).regime == "oscillates"


def test_overshooting_shows_in_the_slopes_when_the_cost_hides_it() -> None:
    # (w − 3)² with η = 0.9: w − 3 flips sign every step while the cost falls every step.
    offsets = -3.0 * (-0.8) ** np.arange(21)
    costs = list(offsets**2)
    slopes = [[2 * d] for d in offsets]
    assert classify(costs).regime == "converges"
    verdict = classify(costs, slopes=slopes)
    assert verdict.regime == "oscillates"
    assert "10 of the last 10 steps" in verdict.reason
    one_sided = [[2 * d] for d in -3.0 * 0.8 ** np.arange(21)]
    assert classify(costs, slopes=one_sided).regime == "converges"


def test_the_rules_are_checked_in_order() -> None:
    # Rising at the end *and* above the start: diverges wins over oscillates.
    assert classify([1.0, 0.5, 0.9, 0.6, 1.2]).regime == "diverges"
    # Flat and far from the best *and* never rising: stalls wins over slow.
    assert classify([2.0, 1.5, 1.5, 1.5, 1.5], reference=0.1).regime == "stalls"
    # Bouncing and far from the best: oscillates wins over slow.
    assert classify([2.0, 1.5, 1.8, 1.4, 1.7], reference=0.1).regime == "oscillates"


def test_the_reason_names_the_unit() -> None:
    verdict = classify([2.5, 0.7, 0.5, 0.6, 0.4, 0.55], unit="epoch")
    assert verdict.reason.endswith("epochs")


def test_an_empty_history_is_refused() -> None:
    with pytest.raises(ConfigError, match="non-empty"):
        classify([])


# --------------------------------------------------------------------------- the toy


@pytest.fixture(scope="module")
def toy() -> Comparison:
    return compare_rates("toy")


def test_toy_rates_show_every_regime(toy: Comparison) -> None:
    regimes = {run.learning_rate: run.regime for run in toy.runs}
    assert regimes == {0.01: "slow", 0.1: "converges", 0.9: "oscillates", 1.1: "diverges"}
    assert tuple(regimes) == TOY_RATES


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


def test_network_rates_show_each_regime(network: Comparison) -> None:
    regimes = {run.learning_rate: run.regime for run in network.runs}
    assert regimes == {0.001: "slow", 1.0: "converges", 10.0: "oscillates", 30.0: "stalls"}
    assert tuple(regimes) == NETWORK_RATES


def test_network_histories_are_per_epoch_training_costs(network: Comparison) -> None:
    starts = {run.costs[0] for run in network.runs}
    assert len(starts) == 1  # the same θ₀ for every rate
    for run in network.runs:
        assert len(run.costs) == 11  # epoch 0 (untrained) … epoch 10
        assert len(run.learning_rates) == 10 * 200  # 2,000 images in batches of 10
        assert all(math.isfinite(c) for c in run.costs)
    stalled = next(run for run in network.runs if run.regime == "stalls")
    # A huge η saturates every output at 0: the cost sits at exactly 1 (one target missed).
    assert stalled.final_cost == pytest.approx(1.0, abs=1e-3)
    best = next(run for run in network.runs if run.regime == "converges")
    assert best.final_cost == network.reference
    assert best.final_cost < 0.2


def test_network_schedules_calm_an_oscillating_rate() -> None:
    c = compare_schedules("network", ["constant", "step"], epochs=10)
    regimes = {run.schedule: run.regime for run in c.runs}
    assert regimes == {"constant": "oscillates", "step": "converges"}
    step = c.runs[1]
    assert step.learning_rates[0] == 10.0
    assert step.learning_rates[-1] == 10.0 / 8  # halved at each quarter of training


def test_network_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="examples must be between 1 and 10000"):
        compare_rates("network", [1.0], examples=0)
    with pytest.raises(ConfigError, match="unknown problem"):
        compare_rates("bowl")
    with pytest.raises(ConfigError, match="unknown schedule 'warmup'"):
        compare_schedules("toy", ["warmup"])
    with pytest.raises(ConfigError, match="positive finite"):
        compare_rates("toy", [0.1, -1.0])


# --------------------------------------------------------------------------- the picture


def test_figures(tmp_path: Path, toy: Comparison, network: Comparison) -> None:
    fig = plot_comparison(network)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels[:4] == [
        "η = 0.001: slow",
        "η = 1: converges",
        "η = 10: oscillates",
        "η = 30: stalls",
    ]
    assert fig.axes[0].get_yscale() == "log"
    drawn = fig.axes[0].get_lines()[1].get_ydata()
    np.testing.assert_allclose(drawn, network.runs[1].costs)
    for name, figure in (("network", fig), ("toy", plot_comparison(toy))):
        (png,) = save(figure, tmp_path / f"{name}.png")
        assert png.read_bytes()[:8] == PNG
