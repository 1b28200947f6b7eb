"""Tests for nudgenet.training.loop: mini-batch SGD on small synthetic problems."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nudgenet import (
    ConfigError,
    DivergenceError,
    Epoch,
    Network,
    ShapeError,
    Step,
    TrainSettings,
    evaluate_cost,
    init_params,
    minibatches,
    train,
)
from nudgenet.training.loop import steps_per_epoch


def separable(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n points in [0,1]⁴, class 1 when x₀ + x₁ > x₂ + x₃: linearly separable."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.0, 1.0, size=(n, 4))
    labels = (X[:, 0] + X[:, 1] > X[:, 2] + X[:, 3]).astype(np.intp)
    return X, np.eye(2)[labels], labels


def run(settings: TrainSettings, *, seed: int = 0, dtype: str = "float64", network=None, **kw):
    network = network or Network((4, 8, 2))
    X, Y, _ = separable()
    theta = init_params(network.layout, "normal", rng=np.random.default_rng(1), dtype=dtype)
    records = list(train(network, theta, X, Y, settings, rng=np.random.default_rng(seed), **kw))
    return theta, records


def epochs_of(records: list[Step | Epoch]) -> list[Epoch]:
    return [r for r in records if isinstance(r, Epoch)]


# ---------------------------------------------------------------------------------------------
# mini-batches


def test_minibatches_cover_every_index_once() -> None:
    batches = list(minibatches(23, 5, np.random.default_rng(0)))
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]  # the last one partial
    assert sorted(np.concatenate(batches).tolist()) == list(range(23))


def test_minibatches_shuffle_each_epoch() -> None:
    rng = np.random.default_rng(0)
    first = np.concatenate(list(minibatches(50, 10, rng)))
    second = np.concatenate(list(minibatches(50, 10, rng)))
    assert sorted(first.tolist()) == sorted(second.tolist()) == list(range(50))
    assert first.tolist() != second.tolist()
    assert first.tolist() != list(range(50))


def test_minibatches_same_seed_same_order() -> None:
    a = [b.tolist() for b in minibatches(30, 7, np.random.default_rng(3))]
    b = [b.tolist() for b in minibatches(30, 7, np.random.default_rng(3))]
    assert a == b


@pytest.mark.parametrize("batch_size", [0, 17, 100])
def test_full_batch(batch_size: int) -> None:
    batches = list(minibatches(17, batch_size, np.random.default_rng(0)))
    assert len(batches) == 1
    assert batches[0].tolist() == list(range(17))


def test_batch_size_one() -> None:
    batches = list(minibatches(6, 1, np.random.default_rng(0)))
    assert len(batches) == 6
    assert sorted(int(b[0]) for b in batches) == list(range(6))


def test_steps_per_epoch() -> None:
    assert steps_per_epoch(200, 0) == 1
    assert steps_per_epoch(200, 10) == 20
    assert steps_per_epoch(201, 10) == 21
    assert steps_per_epoch(5, 10) == 1
    for n, b in [(23, 5), (10, 3), (7, 7), (60000, 10)]:
        assert steps_per_epoch(n, b) == len(list(minibatches(n, b, np.random.default_rng(0))))


# ---------------------------------------------------------------------------------------------
# training


def test_training_reduces_the_cost_and_learns() -> None:
    settings = TrainSettings(epochs=15, batch_size=10, lr=3.0)
    X, Y, _ = separable()
    network = Network((4, 8, 2))
    theta = init_params(network.layout, "normal", rng=np.random.default_rng(1))
    before = evaluate_cost(network, theta, X, Y)
    records = list(train(network, theta, X, Y, settings, rng=np.random.default_rng(0)))
    epochs = epochs_of(records)
    assert len(epochs) == 16  # epoch 0, the untrained network, then 15
    assert epochs[0].train_cost == before
    assert epochs[-1].train_cost < 0.5 * before
    assert epochs[-1].train_cost == evaluate_cost(network, theta, X, Y)
    assert epochs[-1].train_accuracy >= 0.9
    assert epochs[-1].train_cost < epochs[0].train_cost


def test_records_step_and_epoch_bookkeeping() -> None:
    settings = TrainSettings(epochs=3, batch_size=30, lr=0.5, schedule="inverse-time")
    for engine in ("reference", "fast"):
        check_bookkeeping(*run(settings, engine=engine))


def check_bookkeeping(_: object, records: list) -> None:
    steps = [r for r in records if isinstance(r, Step)]
    epochs = epochs_of(records)
    assert len(steps) == 3 * 7  # ⌈200/30⌉ = 7 per epoch
    assert [s.step for s in steps] == list(range(21))
    assert [e.epoch for e in epochs] == [0, 1, 2, 3]
    assert [e.steps for e in epochs] == [0, 7, 14, 21]
    # inverse-time halves η after one epoch (7 steps)
    assert steps[7].learning_rate == pytest.approx(0.25)
    assert epochs[-1].learning_rate == steps[-1].learning_rate
    # records are interleaved: epoch 0, then 7 steps and their epoch
    assert isinstance(records[0], Epoch)
    assert isinstance(records[8], Epoch)
    assert records[8].epoch == 1
    assert all(e.test_cost is None and e.test_accuracy is None for e in epochs)
    assert all(e.seconds >= 0 for e in epochs)
    assert set(epochs[0].as_dict()) == {
        "epoch", "steps", "learning_rate", "train_cost", "train_accuracy",
        "test_cost", "test_accuracy", "seconds",
    }  # fmt: skip


def test_test_set_is_measured() -> None:
    X_test, _, labels_test = separable(50, seed=9)
    _, records = run(TrainSettings(epochs=2, batch_size=20, lr=2.0), test=(X_test, labels_test))
    for e in epochs_of(records):
        assert e.test_cost is not None
        assert e.test_accuracy is not None
        assert 0.0 <= e.test_accuracy <= 1.0
        assert math.isfinite(e.test_cost)


def test_same_seed_is_bit_identical() -> None:
    settings = TrainSettings(epochs=3, batch_size=16, lr=1.0, momentum=0.5)
    t1, r1 = run(settings, seed=5)
    t2, r2 = run(settings, seed=5)
    assert t1.tobytes() == t2.tobytes()
    strip = [r.as_dict() | {"seconds": 0} if isinstance(r, Epoch) else r for r in r1]
    strip2 = [r.as_dict() | {"seconds": 0} if isinstance(r, Epoch) else r for r in r2]
    assert strip == strip2


def test_different_seed_different_result() -> None:
    settings = TrainSettings(epochs=2, batch_size=16, lr=1.0)
    t1, r1 = run(settings, seed=5)
    t2, r2 = run(settings, seed=6)
    assert not np.array_equal(t1, t2)
    assert [s.cost for s in r1 if isinstance(s, Step)] != [
        s.cost for s in r2 if isinstance(s, Step)
    ]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_both_dtypes_train(dtype: str) -> None:
    settings = TrainSettings(epochs=10, batch_size=10, lr=3.0)
    theta, records = run(settings, dtype=dtype)
    assert theta.dtype == np.dtype(dtype)
    epochs = epochs_of(records)
    assert epochs[-1].train_cost < epochs[0].train_cost
    assert epochs[-1].train_accuracy >= 0.85


def test_float32_close_to_float64_early_on() -> None:
    settings = TrainSettings(epochs=1, batch_size=20, lr=1.0)
    t32, _ = run(settings, dtype="float32")
    t64, _ = run(settings, dtype="float64")
    np.testing.assert_allclose(t32, t64, rtol=1e-3, atol=1e-4)


def test_batch_size_zero_is_full_batch_descent() -> None:
    settings = TrainSettings(epochs=4, batch_size=0, lr=2.0)
    X, Y, _ = separable()
    network = Network((4, 8, 2))
    theta = init_params(network.layout, rng=np.random.default_rng(1))
    expected = theta.copy()
    records = list(train(network, theta, X, Y, settings, rng=np.random.default_rng(0)))
    steps = [r for r in records if isinstance(r, Step)]
    assert len(steps) == 4  # one step per epoch
    from nudgenet import cost_and_gradient

    for s in steps:  # each step is plain gradient descent on the whole set
        C, g = cost_and_gradient(network, expected, X, Y)
        assert s.cost == pytest.approx(C, rel=1e-12)
        expected -= 2.0 * g
    np.testing.assert_allclose(theta, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "settings",
    [
        TrainSettings(epochs=6, batch_size=10, lr=0.5, momentum=0.9),
        TrainSettings(epochs=6, batch_size=10, lr=3.0, l2=1e-3),
        TrainSettings(epochs=6, batch_size=10, lr=0.5, cost="cross-entropy", schedule="cosine"),
    ],
    ids=["momentum", "l2", "cross-entropy"],
)
def test_options_run_and_learn(settings: TrainSettings) -> None:
    theta, records = run(settings)
    epochs = epochs_of(records)
    assert np.all(np.isfinite(theta))
    assert epochs[-1].train_cost < epochs[0].train_cost
    assert epochs[-1].train_accuracy >= 0.85


def test_l2_shrinks_weights() -> None:
    plain, _ = run(TrainSettings(epochs=5, batch_size=10, lr=1.0))
    decayed, _ = run(TrainSettings(epochs=5, batch_size=10, lr=1.0, l2=0.05))
    mask = Network((4, 8, 2)).layout.weight_mask()
    assert np.linalg.norm(decayed[mask]) < np.linalg.norm(plain[mask])


def test_softmax_relu_cross_entropy_learns() -> None:
    network = Network((4, 8, 2), "relu", "softmax")
    settings = TrainSettings(epochs=10, batch_size=10, lr=0.3, cost="cross-entropy")
    X, Y, _ = separable()
    theta = init_params(network.layout, "he", rng=np.random.default_rng(1))
    epochs = epochs_of(list(train(network, theta, X, Y, settings, rng=np.random.default_rng(0))))
    assert epochs[-1].train_accuracy >= 0.9


def test_huge_learning_rate_raises_divergence_instead_of_nan() -> None:
    """η = 10⁴ on ReLU + softmax + cross-entropy: training must stop with DivergenceError.

    Here |θ| reaches ~1e23 and the cost goes from 0.55 to ~640 (accuracy back to chance), yet
    the cross-entropy, clipped at −ln(tiny) ≈ 708 per example, can never exceed 10⁶ × the first
    cost, so the divergence check in ``descend`` has to notice some other way.
    """
    network = Network((4, 16, 16, 2), "relu", "softmax")
    settings = TrainSettings(epochs=20, batch_size=10, lr=1e4, cost="cross-entropy")
    X, Y, _ = separable()
    theta = init_params(network.layout, "he", rng=np.random.default_rng(1))
    with pytest.raises(DivergenceError, match="smaller learning rate"):
        list(train(network, theta, X, Y, settings, rng=np.random.default_rng(2)))
    assert not np.any(np.isnan(theta))


def test_nan_targets_are_refused_before_training() -> None:
    network = Network((4, 8, 2))
    X, Y, _ = separable()
    Y = Y.copy()
    Y[3, 0] = np.nan
    theta = init_params(network.layout, rng=np.random.default_rng(1))
    with pytest.raises(ShapeError, match="Y contains NaN"):
        list(
            train(
                network,
                theta,
                X,
                Y,
                TrainSettings(epochs=1, batch_size=0),
                rng=np.random.default_rng(0),
            )
        )


def test_training_checks_shapes_up_front() -> None:
    network = Network((4, 8, 2))
    X, Y, _ = separable()
    theta = init_params(network.layout, rng=np.random.default_rng(1))
    with pytest.raises(ShapeError, match=r"X must have shape \(m, 4\)"):
        next(train(network, theta, X[:, :3], Y, TrainSettings(), rng=np.random.default_rng(0)))
    with pytest.raises(ShapeError, match=r"Y must have shape \(200, 2\)"):
        next(train(network, theta, X, Y[:-1], TrainSettings(), rng=np.random.default_rng(0)))
    with pytest.raises(ShapeError, match="the test inputs must have shape"):
        next(
            train(network, theta, X, Y, TrainSettings(), rng=np.random.default_rng(0),
                  test=(X[:, :2], np.zeros(200)))
        )  # fmt: skip


def test_training_does_not_modify_the_data() -> None:
    network = Network((4, 8, 2))
    X, Y, _ = separable()
    X0, Y0 = X.copy(), Y.copy()
    theta = init_params(network.layout, rng=np.random.default_rng(1), dtype="float32")
    list(train(network, theta, X, Y, TrainSettings(epochs=1), rng=np.random.default_rng(0)))
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)


# ---------------------------------------------------------------------------------------------
# settings


def test_default_settings_are_valid() -> None:
    s = TrainSettings()
    assert s.as_dict() == {
        "epochs": 10, "batch_size": 10, "lr": 1.0, "schedule": "constant",
        "momentum": 0.0, "l2": 0.0, "cost": "quadratic", "augment": "none",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": 0.0}, "learning rate must be a positive finite number, got 0.0"),
        ({"lr": -1.0}, "got -1.0"),
        ({"lr": float("nan")}, "got nan"),
        ({"lr": float("inf")}, "got inf"),
        ({"epochs": 0}, "epochs must be a positive integer up to 100,000, got 0"),
        ({"epochs": 2.5}, "epochs must be a positive integer up to 100,000, got 2.5"),
        ({"epochs": 100_001}, "epochs must be a positive integer up to 100,000, got 100001"),
        ({"batch_size": -1}, "batch size must be a non-negative integer, got -1"),
        ({"batch_size": 1.5}, "got 1.5"),
        ({"momentum": 1.0}, r"momentum must be in \[0, 1\), got 1.0"),
        ({"momentum": -0.5}, "got -0.5"),
        ({"l2": -0.1}, r"l2 must be in \[0, ∞\), got -0.1"),
        ({"l2": float("nan")}, r"l2 must be in \[0, ∞\), got nan"),
        ({"l2": float("inf")}, r"l2 must be in \[0, ∞\), got inf"),
        ({"schedule": "warmup"}, "unknown schedule 'warmup'; choose one of constant"),
        ({"cost": "mse"}, "unknown cost 'mse'; choose one of quadratic, cross-entropy"),
    ],
)
def test_bad_settings(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TrainSettings(**kwargs)


def test_unknown_schedule_is_refused_before_training() -> None:
    with pytest.raises(ConfigError, match="unknown schedule 'linear'"):
        TrainSettings(schedule="linear")
