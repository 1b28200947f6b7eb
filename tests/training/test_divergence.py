"""Divergence is measured like with like: a step's cost carries the L2 term (λ/2)‖W‖², so
the baseline it is compared with does too, in every engine; the messages quote the limit."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from clitools import run

from nudgenet import DivergenceError, Network, Step, TrainSettings, init_params, train
from nudgenet.backprop import evaluate_cost, l2_term
from nudgenet.descent import DIVERGENCE_FACTOR, divergence_threshold
from nudgenet.training import fast
from nudgenet.training.stacked import Member, train_stacked

ENGINES = [
    "reference",
    pytest.param(
        "fast",
        marks=pytest.mark.skipif(
            fast.unsupported(Network(), np.float64) is not None, reason="the fast engine cannot run"
        ),
    ),
]
SIZES = (5, 6, 4, 3)
LIMIT = re.compile(r"over the limit ([\d.e+-]+) × ([\d.e+-]+) = ([\d.e+-]+)")


def problem(n: int = 53) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.uniform(0.0, 1.0, size=(n, SIZES[0]))
    return X, np.eye(3)[np.digitize(X.sum(axis=1), [2.2, 2.8])]


def start(network: Network, seed: int = 1) -> np.ndarray:
    return init_params(network.layout, "normal", rng=np.random.default_rng(seed))


def test_a_large_l2_trains_from_the_command_line(tmp_path: Path, capsys) -> None:
    """(λ/2)‖W‖² ≈ 65 at a normal start, about 23 times the data cost of 2.8."""
    code, _, err = run(capsys, "train", "--init", "normal", "--l2", "0.01", "--epochs", "1",
                       "--out", str(tmp_path / "m.npz"))  # fmt: skip
    assert code == 0, err
    assert "diverged" not in err


@pytest.mark.parametrize("engine", ENGINES)
def test_a_large_l2_is_not_divergence(engine: str) -> None:
    network, (X, Y) = Network(SIZES), problem()
    theta = start(network)
    settings = TrainSettings(epochs=2, batch_size=10, lr=0.1, l2=1.0)
    data_cost = evaluate_cost(network, theta, X, Y)
    assert l2_term(network, theta, 1.0) > DIVERGENCE_FACTOR * data_cost  # once "diverged"
    records = list(train(network, theta, X, Y, settings, rng=np.random.default_rng(2),
                         engine=engine))  # fmt: skip
    steps = [r for r in records if isinstance(r, Step)]
    assert len(steps) == 2 * 6
    assert steps[-1].cost < steps[0].cost  # the decay shrinks W, and the cost with it


@pytest.mark.parametrize("engine", ENGINES)
def test_the_l2_limit_is_ten_times_the_whole_starting_cost(engine: str) -> None:
    """A real blow-up still stops, at the limit 10 × (C₀ + (λ/2)‖W₀‖²), quoted in the message."""
    network, (X, Y) = Network(SIZES), problem()
    theta = start(network)
    baseline = evaluate_cost(network, theta, X, Y) + l2_term(network, theta, 0.5)
    settings = TrainSettings(epochs=3, batch_size=10, lr=30.0, l2=0.5)
    with pytest.raises(DivergenceError) as caught:
        list(train(network, theta, X, Y, settings, rng=np.random.default_rng(2), engine=engine))
    found = LIMIT.search(caught.value.message)
    assert found, caught.value.message
    factor, base, threshold = (float(g) for g in found.groups())
    assert factor == DIVERGENCE_FACTOR
    assert base == pytest.approx(baseline, rel=5e-4)
    assert threshold == pytest.approx(divergence_threshold(baseline, DIVERGENCE_FACTOR), rel=5e-4)
    cost = float(re.search(r"grew to ([\d.e+-]+)", caught.value.message)[1])  # type: ignore[index]
    assert cost > threshold


@pytest.mark.parametrize("engine", ENGINES)
def test_stacked_members_use_the_same_rule(engine: str) -> None:
    """A member with a large L2 trains as `train` trains it; one that blows up stops where
    `train` stops, and its recorded limit is the one `train` quotes."""
    network, (X, Y) = Network(SIZES), problem()
    members = [Member(lr=0.1, seed=3, init="normal", l2=1.0),
               Member(lr=30.0, seed=3, init="normal", l2=0.5)]  # fmt: skip
    results = train_stacked(network, members, X, Y, epochs=3, batch_size=10, engine=engine)
    assert results[0].diverged_step is None
    assert results[1].diverged_step is not None
    for member, result in zip(members, results, strict=True):
        streams = np.random.SeedSequence(member.seed).spawn(2)
        init_rng, shuffle_rng = (np.random.default_rng(s) for s in streams)
        theta = init_params(network.layout, "normal", rng=init_rng)
        baseline = evaluate_cost(network, theta, X, Y) + l2_term(network, theta, member.l2)
        assert result.divergence_limit == pytest.approx(
            divergence_threshold(baseline, DIVERGENCE_FACTOR), rel=1e-12
        )
        settings = TrainSettings(epochs=3, batch_size=10, lr=member.lr, l2=member.l2)
        records = train(network, theta, X, Y, settings, rng=shuffle_rng, engine=engine)
        if result.diverged_step is None:
            list(records)
            np.testing.assert_allclose(result.theta, theta, rtol=1e-10)
        else:
            with pytest.raises(DivergenceError, match=f"at step {result.diverged_step} "):
                list(records)
