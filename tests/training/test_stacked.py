"""Stacked training: each member equals the same network trained alone by ``train``."""

from __future__ import annotations

import numpy as np
import pytest

from nudgenet.backprop import cost_and_gradient, evaluate_cost
from nudgenet.errors import ConfigError
from nudgenet.init import init_params
from nudgenet.layout import Layout
from nudgenet.network import Network, feedforward
from nudgenet.training.loop import Epoch, TrainSettings, train
from nudgenet.training.stacked import (
    Member,
    stacked_cost_and_gradient,
    stacked_evaluate,
    stacked_views,
    train_stacked,
)

KEYS = ("epoch", "steps", "learning_rate", "train_cost", "train_accuracy", "test_cost",
        "test_accuracy")  # fmt: skip


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    X = rng.random((53, 6))  # 53 = 5 batches of 10 and a last partial batch of 3
    labels = rng.integers(0, 3, 53)
    return X, np.eye(3)[labels], labels


def alone(network: Network, member: Member, X, Y, labels, *, epochs, batch_size, cost, dtype,
          engine="auto"):  # fmt: skip
    """The member trained by itself, as `nudgenet train --seed` does."""
    streams = np.random.SeedSequence(member.seed).spawn(2)
    init_rng, shuffle_rng = (np.random.default_rng(s) for s in streams)
    theta = init_params(network.layout, member.init, rng=init_rng, dtype=dtype)
    settings = TrainSettings(epochs=epochs, batch_size=batch_size, lr=member.lr,
                             schedule=member.schedule, momentum=member.momentum,
                             l2=member.l2, cost=cost)  # fmt: skip
    records = train(network, theta, X.astype(dtype), Y.astype(dtype), settings, rng=shuffle_rng,
                    test=(X[:9].astype(dtype), labels[:9]), labels=labels,
                    engine=engine)  # fmt: skip
    return [r.as_dict() for r in records if isinstance(r, Epoch)]


def assert_same(expected: list[dict], got: list[dict], rtol: float) -> None:
    assert len(expected) == len(got)
    for e, g in zip(expected, got, strict=True):
        for key in KEYS:
            np.testing.assert_allclose(g[key], e[key], rtol=rtol, atol=0, err_msg=key)


ENGINES = ["reference", "fast", "lanes"]
# The engine that trains one network as each stacked engine does: the lanes engine takes
# the fast engine's steps, the members of a seed side by side.
ALONE = {"reference": "reference", "fast": "fast", "lanes": "fast"}

MEMBERS = [
    Member(lr=0.3, seed=1, schedule="cosine"),
    Member(lr=1.0, seed=2, momentum=0.5, l2=0.01, init="normal"),
    Member(lr=0.1, seed=1, schedule="step"),  # same seed as the first: same shuffles
]


@pytest.mark.parametrize(
    ("activation", "output", "cost"),
    [("sigmoid", "sigmoid", "quadratic"), ("tanh", "softmax", "quadratic"),
     ("relu", "softmax", "cross-entropy"), ("sigmoid", "sigmoid", "cross-entropy")],
)  # fmt: skip
@pytest.mark.parametrize("batch_size", [10, 0])  # a last partial batch of 3; the full batch
@pytest.mark.parametrize("engine", ENGINES)
def test_stacked_member_equals_training_alone(data, activation, output, cost, batch_size, engine):
    X, Y, labels = data
    net = Network((6, 5, 4, 3), activation, output)
    results = train_stacked(net, MEMBERS, X, Y, epochs=3, batch_size=batch_size, cost=cost,
                            dtype="float64", test=(X[:9], labels[:9]), labels=labels,
                            engine=engine)  # fmt: skip
    for member, result in zip(MEMBERS, results, strict=True):
        expected = alone(net, member, X, Y, labels, epochs=3, batch_size=batch_size, cost=cost,
                         dtype="float64", engine=ALONE[engine])  # fmt: skip
        # The fast stack takes the very steps of the fast engine alone; only the evaluation
        # (one wide product for all members) may round differently.
        assert_same(expected, result.history, rtol=1e-12 if engine == "fast" else 1e-9)
        assert result.diverged_step is None


def test_a_wide_first_layer_is_cut_alone_and_not_in_the_stack():
    # Alone, a batch of 20 through 70 first-layer units is cut among threads by units; in
    # the stack each member runs on one thread, and its records must still be those alone.
    rng = np.random.default_rng(4)
    X = rng.uniform(0.0, 1.0, size=(120, 90))
    labels = rng.integers(0, 3, 120)
    Y = np.eye(3)[labels]
    net = Network((90, 70, 3), "relu", "softmax")
    results = train_stacked(net, MEMBERS, X, Y, epochs=2, batch_size=20, cost="cross-entropy",
                            dtype="float64", test=(X[:9], labels[:9]), labels=labels,
                            engine="fast")  # fmt: skip
    for member, result in zip(MEMBERS, results, strict=True):
        expected = alone(net, member, X, Y, labels, epochs=2, batch_size=20,
                         cost="cross-entropy", dtype="float64", engine="fast")  # fmt: skip
        assert_same(expected, result.history, rtol=1e-12)


def test_stacked_float32_matches_loosely(data):
    X, Y, labels = data
    net = Network((6, 5, 4, 3))
    results = train_stacked(net, MEMBERS, X, Y, epochs=2, batch_size=10, dtype="float32",
                            test=(X[:9], labels[:9]), labels=labels)  # fmt: skip
    for member, result in zip(MEMBERS, results, strict=True):
        expected = alone(net, member, X, Y, labels, epochs=2, batch_size=10, cost="quadratic",
                         dtype="float32")  # fmt: skip
        assert_same(expected, result.history, rtol=1e-4)


def test_stacked_gradient_is_each_members_gradient(data):
    X, Y, _ = data
    net = Network((6, 5, 4, 3), "tanh", "softmax")
    rng = np.random.default_rng(0)
    Theta = np.stack([init_params(net.layout, "normal", rng=rng) for _ in range(4)])
    idx = np.stack([rng.permutation(53)[:8] for _ in range(4)])  # (K, b): own batch each
    costs, grads = stacked_cost_and_gradient(net, Theta, X[idx], Y[idx], "quadratic",
                                             l2=np.array([0.0, 0.1, 0.0, 0.2]))  # fmt: skip
    for k, l2 in enumerate([0.0, 0.1, 0.0, 0.2]):
        C, g = cost_and_gradient(net, Theta[k], X[idx[k]], Y[idx[k]], "quadratic", l2=l2)
        np.testing.assert_allclose(costs[k], C, rtol=1e-12)
        np.testing.assert_allclose(grads[k], g, rtol=1e-10, atol=1e-14)


def test_views_share_memory_with_theta():
    layout = Layout((3, 4, 2))
    Theta = np.zeros((5, layout.n_params))
    (W1, b1), (W2, _) = stacked_views(layout, Theta)
    assert W1.shape == (5, 4, 3)
    assert b1.shape == (5, 4)
    assert W2.shape == (5, 2, 4)
    assert np.shares_memory(W1, Theta)
    assert np.shares_memory(b1, Theta)
    Theta[2] = 1.0
    assert W2[2].sum() == 8
    assert W2[1].sum() == 0


@pytest.mark.parametrize("engine", ENGINES)
def test_diverging_member_is_frozen_and_others_unchanged(data, engine):
    X, Y, labels = data
    net = Network((6, 5, 4, 3), "relu", "softmax")
    calm = [Member(lr=0.3, seed=1), Member(lr=0.5, seed=2, momentum=0.5)]
    wild = Member(lr=1e6, seed=3, momentum=0.5)
    kwargs = dict(epochs=3, batch_size=10, cost="cross-entropy", dtype="float64",
                  test=(X[:9], labels[:9]), labels=labels, engine=engine)  # fmt: skip
    with_wild = train_stacked(net, [calm[0], wild, calm[1]], X, Y, **kwargs)
    without = train_stacked(net, calm, X, Y, **kwargs)
    assert with_wild[1].diverged_step is not None
    assert len(with_wild[1].history) - 1 <= with_wild[1].diverged_step // 6
    for a, b in zip([with_wild[0], with_wild[2]], without, strict=True):
        assert a.diverged_step is None
        assert_same(b.history, a.history, rtol=1e-12)
    # Alone, train raises at the same step.
    from nudgenet.errors import DivergenceError

    with pytest.raises(DivergenceError, match=f"step {with_wild[1].diverged_step} "):
        alone(net, wild, X, Y, labels, epochs=3, batch_size=10, cost="cross-entropy",
              dtype="float64", engine=ALONE[engine])  # fmt: skip


def test_bad_theta_shape_is_rejected():
    from nudgenet.errors import ConfigError

    with pytest.raises(ConfigError, match=r"shape \(K, 9\)"):
        stacked_views(Layout((2, 3)), np.zeros((2, 8)))


def test_stacked_evaluation_is_each_members_cost_and_accuracy():
    rng = np.random.default_rng(3)
    X = rng.random((700, 6))  # 700 rows: several blocks of rows
    labels = rng.integers(0, 3, 700)
    Y = np.eye(3)[labels]
    for net, cost in [(Network((6, 5, 4, 3), "tanh", "softmax"), "cross-entropy"),
                      (Network((6, 3)), "quadratic")]:  # fmt: skip
        Theta = np.stack([init_params(net.layout, "normal", rng=rng) for _ in range(5)])
        costs, accuracies = stacked_evaluate(net, Theta, X, Y, labels, cost)
        for k in range(5):
            a = feedforward(net, Theta[k], X)[-1]
            np.testing.assert_allclose(costs[k], evaluate_cost(net, Theta[k], X, Y, cost),
                                       rtol=1e-12)  # fmt: skip
            assert accuracies[k] == np.mean(np.argmax(a, axis=1) == labels)


def test_fast_stack_takes_the_fast_engines_steps_exactly(data):
    """θ after stacked training is bit for bit θ after training alone with the fast engine."""
    X, Y, _ = data
    net = Network((6, 5, 4, 3), "tanh", "softmax")
    members = [Member(lr=0.3, seed=1, momentum=0.9), Member(lr=0.2, seed=4, l2=0.01)]
    # One member alone at full batch: its slices, not the members, are shared among cores.
    for batch_size, stack in [(10, members), (0, members), (0, members[:1])]:
        results = train_stacked(net, stack, X, Y, epochs=2, batch_size=batch_size,
                                dtype="float32", engine="fast")  # fmt: skip
        for m, result in zip(stack, results, strict=True):
            streams = np.random.SeedSequence(m.seed).spawn(2)
            theta = init_params(net.layout, m.init, rng=np.random.default_rng(streams[0]),
                                dtype="float32")  # fmt: skip
            settings = TrainSettings(epochs=2, batch_size=batch_size, lr=m.lr,
                                     momentum=m.momentum, l2=m.l2)  # fmt: skip
            for _ in train(net, theta, X, Y, settings, rng=np.random.default_rng(streams[1]),
                           engine="fast"):  # fmt: skip
                pass
            np.testing.assert_array_equal(result.theta, theta)


# --------------------------------------------------------------------------- PyTorch back end


@pytest.mark.parametrize(
    ("activation", "output", "cost"),
    [("sigmoid", "sigmoid", "quadratic"), ("tanh", "softmax", "quadratic"),
     ("relu", "softmax", "cross-entropy"), ("relu", "sigmoid", "cross-entropy")],
)  # fmt: skip
@pytest.mark.parametrize("batch_size", [10, 0])  # a last partial batch of 3; the full batch
def test_torch_member_equals_training_alone(data, activation, output, cost, batch_size):
    """The PyTorch back end on the CPU: each member is `train` alone, to float64 rounding."""
    pytest.importorskip("torch")
    X, Y, labels = data
    net = Network((6, 5, 4, 3), activation, output)
    results = train_stacked(net, MEMBERS, X, Y, epochs=3, batch_size=batch_size, cost=cost,
                            dtype="float64", test=(X[:9], labels[:9]), labels=labels,
                            device="torch-cpu")  # fmt: skip
    for member, result in zip(MEMBERS, results, strict=True):
        expected = alone(net, member, X, Y, labels, epochs=3, batch_size=batch_size, cost=cost,
                         dtype="float64", engine="reference")  # fmt: skip
        assert_same(expected, result.history, rtol=1e-9)
        assert result.diverged_step is None
        assert result.theta is not None
        assert result.theta.dtype == np.float64


def test_torch_float32_matches_within_float32_rounding(data):
    pytest.importorskip("torch")
    X, Y, labels = data
    net = Network((6, 5, 4, 3))
    results = train_stacked(net, MEMBERS, X, Y, epochs=2, batch_size=10, dtype="float32",
                            test=(X[:9], labels[:9]), labels=labels,
                            device="torch-cpu")  # fmt: skip
    for member, result in zip(MEMBERS, results, strict=True):
        expected = alone(net, member, X, Y, labels, epochs=2, batch_size=10, cost="quadratic",
                         dtype="float32")  # fmt: skip
        assert_same(expected, result.history, rtol=1e-4)


def test_torch_diverging_member_is_frozen_as_in_the_reference(data):
    pytest.importorskip("torch")
    X, Y, labels = data
    net = Network((6, 5, 4, 3), "relu", "softmax")
    members = [Member(lr=0.3, seed=1), Member(lr=1e4, seed=2), Member(lr=0.1, seed=1)]
    got, want = (
        train_stacked(net, members, X, Y, epochs=3, batch_size=10, cost="cross-entropy",
                      dtype="float64", labels=labels, engine="reference", device=device)
        for device in ("torch-cpu", "cpu")
    )  # fmt: skip
    assert [r.diverged_step for r in got] == [r.diverged_step for r in want]
    assert got[1].diverged_step is not None
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.theta, w.theta, rtol=1e-9, atol=1e-12)


def test_cuda_without_a_gpu_is_refused_with_help(data, monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    X, Y, _ = data
    with pytest.raises(ConfigError, match="no CUDA GPU") as caught:
        train_stacked(Network((6, 5, 4, 3)), MEMBERS, X, Y, epochs=1, device="cuda")
    assert "--device cpu" in (caught.value.help or "")


@pytest.mark.parametrize(
    ("sizes", "activation", "output", "cost"),
    [((6, 5, 4, 3), "sigmoid", "sigmoid", "quadratic"), ((6, 7, 3), "relu", "softmax",
     "cross-entropy"), ((6, 5, 4, 3), "tanh", "softmax", "quadratic"),
     ((6, 3), "sigmoid", "sigmoid", "cross-entropy")],
)  # fmt: skip
def test_compiled_measurement_equals_the_numpy_one(sizes, activation, output, cost):
    """The fast stack's evaluation (one wide product, then one compiled pass) gives
    stacked_evaluate's costs to rounding and the very same accuracies."""
    fast = pytest.importorskip("nudgenet.training.fast")
    if fast.unsupported(Network(), np.float64):
        pytest.skip("needs Numba")
    rng = np.random.default_rng(5)
    net = Network(sizes, activation, output)
    Theta = np.stack([init_params(net.layout, "xavier", rng=rng) for _ in range(5)])
    X = rng.random((300, sizes[0]))  # 300 rows: chunks of 64 and a last one of 44
    labels = rng.integers(0, sizes[-1], 300)
    Y = np.eye(sizes[-1])[labels]
    want = stacked_evaluate(net, Theta, X, Y, labels, cost)
    got = fast.measure_stack(net, Theta, X, Y, labels, cost)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_array_equal(got[1], want[1])
    assert fast.measure_stack(net, Theta[:0], X, Y, labels, cost)[0].shape == (0,)


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from nudgenet.data import load_mini, to_inputs

    d = load_mini()
    X = to_inputs(d.train_images[:63], np.float64)  # 6 batches of 10 and a last one of 3
    labels = d.train_labels[:63]
    return X, np.eye(10)[labels], labels


@pytest.mark.parametrize("engine", ENGINES)
def test_augmented_member_equals_training_alone(digits, engine):
    # Each member sees its seed's distortions, as `train --seed s --augment` shows them.
    from nudgenet.training.recipe import augment_stream

    X, Y, labels = digits
    net = Network((784, 8, 10))
    members = [Member(lr=0.5, seed=4, schedule="cosine"), Member(lr=1.0, seed=4, momentum=0.5)]
    results = train_stacked(net, members, X, Y, epochs=3, batch_size=10, dtype="float64",
                            test=(X[:9], labels[:9]), labels=labels, engine=engine,
                            augment="both")  # fmt: skip
    for member, result in zip(members, results, strict=True):
        streams = np.random.SeedSequence(member.seed).spawn(2)
        init_rng, shuffle_rng = (np.random.default_rng(s) for s in streams)
        theta = init_params(net.layout, member.init, rng=init_rng)
        settings = TrainSettings(epochs=3, batch_size=10, lr=member.lr, schedule=member.schedule,
                                 momentum=member.momentum, augment="both")  # fmt: skip
        records = train(net, theta, X, Y, settings, rng=shuffle_rng, test=(X[:9], labels[:9]),
                        labels=labels, engine=ALONE[engine],
                        augment_rng=augment_stream(member.seed))  # fmt: skip
        expected = [r.as_dict() for r in records if isinstance(r, Epoch)]
        assert_same(expected, result.history, rtol=1e-9)
        np.testing.assert_allclose(result.theta, theta, rtol=1e-9, atol=1e-12)
    # The distortions changed what was learnt: without them the same seed ends elsewhere.
    plain = train_stacked(net, members[:1], X, Y, epochs=3, batch_size=10, dtype="float64",
                          engine=engine)  # fmt: skip
    assert not np.allclose(plain[0].theta, results[0].theta)


def test_augmented_stack_needs_one_seed_and_the_cpu(digits):
    X, Y, _ = digits
    net = Network((784, 8, 10))
    with pytest.raises(ConfigError, match="share one seed") as err:
        train_stacked(net, [Member(seed=0), Member(seed=1)], X, Y, epochs=1, augment="affine")
    assert "nudgenet sweep --augment" in err.value.help
    with pytest.raises(ConfigError, match="on the CPU"):
        train_stacked(net, [Member(seed=0)], X, Y, epochs=1, augment="affine", device="torch-cpu")
    with pytest.raises(ConfigError, match="28 × 28"):
        train_stacked(Network((6, 3)), [Member()], X[:, :6], Y[:, :3], epochs=1, augment="both")
