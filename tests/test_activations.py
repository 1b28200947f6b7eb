"""Tests for nudgenet.activations: σ, its derivative in terms of a = σ(z), and softmax."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from nudgenet import ConfigError
from nudgenet.activations import (
    get_activation,
    relu,
    relu_prime,
    sigmoid,
    sigmoid_prime,
    softmax,
    tanh,
    tanh_prime,
)

DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_extreme_inputs_do_not_overflow(dtype: type) -> None:
    big = float(np.finfo(dtype).max)  # 1.8e308 or 3.4e38
    huge = 1e308 if dtype is np.float64 else 3e38
    z = np.array([-big, -huge, -1e4, 0.0, 1e4, huge, big], dtype)
    # pytest turns every warning (overflow in exp included) into an error here.
    a = sigmoid(z)
    assert a.dtype == dtype
    np.testing.assert_array_equal(a, np.array([0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 1.0], dtype))


def test_sigmoid_values() -> None:
    z = np.array([0.0, 1.0, -1.0, 2.0, -30.0])
    expected = [1.0 / (1.0 + math.exp(-v)) for v in z]
    np.testing.assert_allclose(sigmoid(z), expected, rtol=1e-15)
    assert sigmoid(np.array([0.0]))[0] == 0.5
    # σ(−z) = 1 − σ(z)
    np.testing.assert_allclose(sigmoid(-z), 1.0 - sigmoid(z), rtol=0, atol=1e-15)


def test_sigmoid_keeps_tiny_values_for_negative_z() -> None:
    # e^(−30) survives; the naive 1 − 1/(1+e^30) route would lose it.
    a = sigmoid(np.array([-30.0, -700.0]))
    assert a[0] == pytest.approx(math.exp(-30.0), rel=1e-12)
    assert 0.0 < a[1] < 1e-300


def test_sigmoid_of_a_matrix_keeps_shape() -> None:
    z = np.zeros((3, 4))
    assert sigmoid(z).shape == (3, 4)


def test_values_at_zero() -> None:
    zero = np.array([0.0])
    assert sigmoid(zero)[0] == 0.5
    assert tanh(zero)[0] == 0.0
    assert relu(zero)[0] == 0.0
    assert sigmoid_prime(sigmoid(zero))[0] == 0.25
    assert tanh_prime(tanh(zero))[0] == 1.0
    assert relu_prime(relu(zero))[0] == 0.0  # the kink counts as inactive


def test_relu_values_and_derivative() -> None:
    z = np.array([-2.0, -0.0, 0.5, 3.0])
    np.testing.assert_array_equal(relu(z), [0.0, 0.0, 0.5, 3.0])
    d = relu_prime(relu(z))
    np.testing.assert_array_equal(d, [0.0, 0.0, 1.0, 1.0])
    assert d.dtype == np.float64
    assert relu_prime(relu(z.astype(np.float32))).dtype == np.float32


def test_tanh_is_bounded() -> None:
    a = tanh(np.array([-1e308, -1e4, 1e4, 1e308]))
    np.testing.assert_array_equal(a, [-1.0, -1.0, 1.0, 1.0])


@pytest.mark.parametrize(
    ("function", "derivative", "points"),
    [
        (sigmoid, sigmoid_prime, [-6.0, -2.0, -0.3, 0.0, 0.7, 3.0, 8.0]),
        (tanh, tanh_prime, [-4.0, -1.0, -0.2, 0.0, 0.4, 1.5, 3.0]),
        (relu, relu_prime, [-3.0, -0.5, 0.25, 2.0]),  # away from the kink
    ],
    ids=["sigmoid", "tanh", "relu"],
)
def test_derivatives_match_finite_differences(
    function: Callable[[np.ndarray], np.ndarray],
    derivative: Callable[[np.ndarray], np.ndarray],
    points: list[float],
) -> None:
    z = np.array(points)
    h = 1e-5
    numeric = (function(z + h) - function(z - h)) / (2 * h)
    analytic = derivative(function(z))  # written in terms of the output a = σ(z)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-8, atol=1e-10)


def test_sigmoid_prime_by_hand() -> None:
    # σ(z)=0.8 → σ′ = 0.8·0.2 = 0.16
    assert sigmoid_prime(np.array([0.8]))[0] == pytest.approx(0.16, abs=1e-15)
    # tanh(z)=0.6 → 1 − 0.36 = 0.64
    assert tanh_prime(np.array([0.6]))[0] == pytest.approx(0.64, abs=1e-15)


def test_softmax_by_hand() -> None:
    z = np.array([[0.0, math.log(3.0)], [1.0, 1.0]])
    np.testing.assert_allclose(softmax(z), [[0.25, 0.75], [0.5, 0.5]], rtol=1e-15)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_rows_sum_to_one(dtype: type) -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, 5.0, size=(20, 10)).astype(dtype)
    a = softmax(z)
    assert a.dtype == dtype
    assert a.shape == (20, 10)
    assert np.all(a >= 0)
    tol = 1e-6 if dtype is np.float32 else 1e-14
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=0, atol=tol)


def test_softmax_is_shift_invariant() -> None:
    z = np.array([[0.1, -2.0, 3.0]])
    np.testing.assert_allclose(softmax(z + 500.0), softmax(z), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_stable_for_huge_inputs(dtype: type) -> None:
    z = np.array([[1e4, 1e4 - math.log(3.0)], [-1e4, -1e4], [1e4, -1e4]], dtype)
    a = softmax(z)
    assert np.all(np.isfinite(a))
    np.testing.assert_allclose(a, [[0.75, 0.25], [0.5, 0.5], [1.0, 0.0]], rtol=1e-3)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_extreme_opposite_inputs_do_not_overflow(dtype: type) -> None:
    """Logits ±1e308 (±3e38 in float32) are finite; the shifted softmax must stay quiet.

    z − max(z) computes −1e308 − 1e308, which overflows to −inf with a RuntimeWarning (an
    error under this test suite's warning filter) although e^(−inf) = 0 is the right answer.
    """
    big = 1e308 if dtype is np.float64 else 3e38
    z = np.array([[big, -big], [-big, big]], dtype)
    np.testing.assert_array_equal(softmax(z), [[1.0, 0.0], [0.0, 1.0]])


def test_softmax_is_along_the_last_axis() -> None:
    z = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    a = softmax(z)
    np.testing.assert_allclose(a[0], a[1][::-1], rtol=1e-15)
    np.testing.assert_allclose(a.sum(axis=1), [1.0, 1.0])


def test_get_activation_names() -> None:
    assert get_activation("sigmoid").function is sigmoid
    assert get_activation("tanh").derivative is tanh_prime
    assert get_activation("relu").derivative is relu_prime
    assert get_activation("softmax", output=True).function is softmax
    assert get_activation("softmax", output=True).derivative is None
    assert get_activation("sigmoid", output=True).derivative is sigmoid_prime


def test_get_activation_unknown() -> None:
    with pytest.raises(ConfigError, match=r"unknown activation 'swish' for the hidden layers"):
        get_activation("swish")
    with pytest.raises(ConfigError, match=r"'softmax' for the hidden layers; choose one of"):
        get_activation("softmax")
    with pytest.raises(ConfigError, match=r"'relu' for the output layer; choose one of sigmoid"):
        get_activation("relu", output=True)
