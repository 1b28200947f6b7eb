"""Tests for nudgenet.init: where θ starts."""

from __future__ import annotations

import numpy as np
import pytest

from nudgenet import ConfigError, Layout, init_params

BIG = Layout((1000, 500, 10))  # W¹ has 500 000 entries: sample statistics to ~0.3 %


def test_normal_is_standard_normal_everywhere() -> None:
    theta = init_params(BIG, "normal", rng=np.random.default_rng(0))
    (W1, b1), (W2, _) = BIG.views(theta)
    assert abs(W1.mean()) < 0.01
    assert W1.std() == pytest.approx(1.0, rel=0.01)
    assert W2.std() == pytest.approx(1.0, rel=0.05)
    assert b1.std() == pytest.approx(1.0, rel=0.15)
    assert abs(b1.mean()) < 0.15


def test_scaled_divides_weights_by_sqrt_n_in() -> None:
    theta = init_params(BIG, "scaled", rng=np.random.default_rng(0))
    (W1, b1), (W2, _) = BIG.views(theta)
    assert abs(W1.mean()) < 0.01 / np.sqrt(1000)
    assert W1.std() == pytest.approx(1 / np.sqrt(1000), rel=0.01)
    assert W2.std() == pytest.approx(1 / np.sqrt(500), rel=0.05)
    assert b1.std() == pytest.approx(1.0, rel=0.15)  # biases stay N(0, 1)


def test_xavier() -> None:
    theta = init_params(BIG, "xavier", rng=np.random.default_rng(0))
    (W1, b1), (W2, b2) = BIG.views(theta)
    assert W1.std() == pytest.approx(np.sqrt(2 / 1500), rel=0.01)
    assert W2.std() == pytest.approx(np.sqrt(2 / 510), rel=0.05)
    assert abs(W1.mean()) < 0.01 * np.sqrt(2 / 1500)
    assert np.all(b1 == 0.0)
    assert np.all(b2 == 0.0)


def test_he() -> None:
    theta = init_params(BIG, "he", rng=np.random.default_rng(0))
    (W1, b1), (W2, b2) = BIG.views(theta)
    assert W1.std() == pytest.approx(np.sqrt(2 / 1000), rel=0.01)
    assert W2.std() == pytest.approx(np.sqrt(2 / 500), rel=0.05)
    assert np.all(b1 == 0.0)
    assert np.all(b2 == 0.0)


def test_constant_makes_everything_equal() -> None:
    layout = Layout((4, 3, 2))
    theta = init_params(layout, "constant", rng=np.random.default_rng(0))
    assert np.all(theta == 0.5)
    theta = init_params(layout, "constant", rng=np.random.default_rng(0), value=-1.25)
    assert np.all(theta == -1.25)
    assert theta.shape == (layout.n_params,)


def test_constant_start_keeps_neurons_twins() -> None:
    """The symmetric start: every hidden neuron gets the same gradient row."""
    from nudgenet import Network, cost_and_gradient

    network = Network((3, 4, 2))
    theta = init_params(network.layout, "constant", rng=np.random.default_rng(0))
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(5, 3))
    Y = np.eye(2)[[0, 1, 1, 0, 1]]
    _, grad = cost_and_gradient(network, theta, X, Y)
    (dW1, db1), _ = network.layout.views(grad)
    for row in dW1[1:]:
        np.testing.assert_array_equal(row, dW1[0])
    assert np.all(db1 == db1[0])


@pytest.mark.parametrize("scheme", ["normal", "scaled", "xavier", "he", "constant"])
def test_same_seed_same_theta(scheme: str) -> None:
    layout = Layout((20, 10, 5))
    a = init_params(layout, scheme, rng=np.random.default_rng(42))
    b = init_params(layout, scheme, rng=np.random.default_rng(42))
    assert a.tobytes() == b.tobytes()
    if scheme != "constant":
        c = init_params(layout, scheme, rng=np.random.default_rng(43))
        assert not np.array_equal(a, c)


@pytest.mark.parametrize("scheme", ["normal", "scaled", "xavier", "he"])
def test_random_schemes_break_symmetry(scheme: str) -> None:
    layout = Layout((5, 4, 3))
    theta = init_params(layout, scheme, rng=np.random.default_rng(0))
    for W, _ in layout.views(theta):
        assert len(np.unique(W)) == W.size


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        ("float32", np.float32),
        ("float64", np.float64),
        (np.float32, np.float32),
        (np.float64, np.float64),
    ],
)
@pytest.mark.parametrize("scheme", ["normal", "he", "constant"])
def test_dtype_respected(dtype: object, expected: type, scheme: str) -> None:
    layout = Layout((6, 4, 2))
    theta = init_params(layout, scheme, rng=np.random.default_rng(0), dtype=dtype)  # type: ignore[arg-type]
    assert theta.dtype == expected
    assert theta.shape == (layout.n_params,)
    assert theta.flags.c_contiguous


def test_float32_is_the_float64_draw_rounded() -> None:
    layout = Layout((6, 4, 2))
    t64 = init_params(layout, rng=np.random.default_rng(3))
    t32 = init_params(layout, rng=np.random.default_rng(3), dtype="float32")
    np.testing.assert_array_equal(t32, t64.astype(np.float32))


def test_default_is_normal_float64() -> None:
    layout = Layout((6, 4, 2))
    a = init_params(layout, rng=np.random.default_rng(9))
    b = init_params(layout, "normal", rng=np.random.default_rng(9), dtype="float64")
    assert a.dtype == np.float64
    np.testing.assert_array_equal(a, b)


def test_unknown_scheme() -> None:
    with pytest.raises(ConfigError, match=r"unknown initialisation 'glorot'; choose one of normal"):
        init_params(Layout((2, 1)), "glorot", rng=np.random.default_rng(0))


@pytest.mark.parametrize("dtype", ["float16", "int64", np.int32])
def test_bad_dtype(dtype: object) -> None:
    with pytest.raises(ConfigError, match="dtype must be float32 or float64"):
        init_params(Layout((2, 1)), rng=np.random.default_rng(0), dtype=dtype)  # type: ignore[arg-type]


def test_rng_is_required() -> None:
    with pytest.raises(TypeError):
        init_params(Layout((2, 1)))  # type: ignore[call-arg]
