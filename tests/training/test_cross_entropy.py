"""Cross-entropy of saturated outputs, from z, in every engine: the per-step costs, the
epoch measurements and the stacked ones agree with each other and with float64."""

from __future__ import annotations

import numpy as np
import pytest

from nudgenet import Epoch, Network, ShapeError, Step, TrainSettings, init_params, train
from nudgenet.backprop import cost_and_gradient, evaluate_cost
from nudgenet.training import fast
from nudgenet.training.stacked import (
    Member,
    stacked_cost_and_gradient,
    stacked_evaluate,
    train_stacked,
)

pytestmark = pytest.mark.skipif(
    fast.unsupported(Network(), np.float64) is not None, reason="the fast engine cannot run"
)

SIZES = (5, 6, 3)


def problem(n: int = 53) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.uniform(0.0, 1.0, size=(n, SIZES[0]))
    return X, np.eye(3)[np.digitize(X.sum(axis=1), [2.2, 2.8])]


def saturated(network: Network, dtype: str = "float64", scale: float = 60.0) -> np.ndarray:
    """θ with outputs tens to hundreds of units from 0: many confidently wrong."""
    theta = init_params(network.layout, "normal", rng=np.random.default_rng(1))
    return (scale * theta).astype(dtype)


def run(network: Network, engine: str, dtype: str) -> tuple[np.ndarray, list[Step | Epoch]]:
    X, Y = problem()
    theta = saturated(network, dtype)
    settings = TrainSettings(epochs=2, batch_size=7, lr=1e-3, cost="cross-entropy")
    records = list(train(network, theta, X, Y, settings, rng=np.random.default_rng(2),
                         test=(X[:20], np.argmax(Y[:20], axis=1)), engine=engine))  # fmt: skip
    return theta, records


@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fast_and_reference_report_the_same_saturated_costs(output: str, dtype: str) -> None:
    network = Network(SIZES, "tanh", output)
    (theta_ref, ref), (theta_fast, got) = (run(network, e, dtype) for e in ("reference", "fast"))
    rtol = 1e-10 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(theta_fast, theta_ref, rtol=rtol, atol=rtol)
    steps_ref = [r.cost for r in ref if isinstance(r, Step)]
    steps = [r.cost for r in got if isinstance(r, Step)]
    np.testing.assert_allclose(steps, steps_ref, rtol=rtol)
    assert max(steps) > 100  # far beyond a clipped −ln(tiny) per example of float32
    epochs_ref = [(r.train_cost, r.test_cost) for r in ref if isinstance(r, Epoch)]
    epochs = [(r.train_cost, r.test_cost) for r in got if isinstance(r, Epoch)]
    np.testing.assert_allclose(epochs, epochs_ref, rtol=rtol)


@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_float32_measures_what_float64_measures(output: str) -> None:
    """The test cost of a float32 run is the float64 cost of its θ, to float32 precision
    (from a, confidently wrong outputs cost a clipped 87.3 each in float32)."""
    network = Network(SIZES, "tanh", output)
    X, Y = problem()
    theta, records = run(network, "fast", "float32")
    last = [r for r in records if isinstance(r, Epoch)][-1]
    exact = evaluate_cost(network, theta.astype(np.float64), X[:20], Y[:20], "cross-entropy")
    assert last.test_cost == pytest.approx(exact, rel=1e-5)
    exact = evaluate_cost(network, theta.astype(np.float64), X, Y, "cross-entropy")
    assert last.train_cost == pytest.approx(exact, rel=1e-5)


def exact_cost(network: Network, theta: np.ndarray, X: np.ndarray, Y: np.ndarray) -> float:
    """The cross-entropy in float64 by NumPy's logaddexp, independently of nudgenet.cost."""
    (W1, b1), (W2, b2) = network.layout.views(theta)
    z = np.tanh(X @ W1.T + b1) @ W2.T + b2
    if network.output == "sigmoid":  # −y ln σ(z) − (1 − y) ln(1 − σ(z)) = ln(1 + eᶻ) − y z
        return float(np.mean(np.sum(np.logaddexp(0.0, z) - Y * z, axis=1)))
    return float(np.mean(np.logaddexp.reduce(z, axis=1) - np.sum(Y * z, axis=1)))


@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_stacked_costs_are_each_members_saturated_cost(output: str) -> None:
    network = Network(SIZES, "tanh", output)
    X, Y = problem()
    Theta = np.stack([saturated(network, scale=s) for s in (1.0, 30.0, 400.0)])
    costs, _ = stacked_evaluate(network, Theta, X, Y, np.argmax(Y, axis=1), "cross-entropy")
    batch, _ = stacked_cost_and_gradient(network, Theta, X[None], Y[None], "cross-entropy")
    for k, theta in enumerate(Theta):
        C = cost_and_gradient(network, theta, X, Y, "cross-entropy")[0]
        assert pytest.approx(exact_cost(network, theta, X, Y), rel=1e-12) == C
        assert costs[k] == pytest.approx(C, rel=1e-12)
        assert batch[k] == pytest.approx(C, rel=1e-12)


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_training_refuses_softmax_targets_that_do_not_sum_to_one(engine: str) -> None:
    """Checked once, at the boundary, before any step: every engine's δ = a − y needs it."""
    network = Network(SIZES, "tanh", "softmax")
    X, Y = problem()
    settings = TrainSettings(epochs=1, batch_size=7, cost="cross-entropy")
    theta = saturated(network, scale=1.0)
    with pytest.raises(ShapeError, match="sum to 1"):
        next(train(network, theta, X, 0.5 * Y, settings, rng=np.random.default_rng(0),
                   engine=engine))  # fmt: skip
    with pytest.raises(ShapeError, match="sum to 1"):
        train_stacked(network, [Member()], X, 0.5 * Y, epochs=1, cost="cross-entropy",
                      engine=engine)  # fmt: skip
    settings = TrainSettings(epochs=1, batch_size=7, cost="quadratic")  # any targets
    list(train(network, theta, X, 0.5 * Y, settings, rng=np.random.default_rng(0), engine=engine))
