"""Tests for nudgenet.cost: the seed's quadratic cost (no ½, averaged over examples) and
cross-entropy, with their derivatives ∂C/∂a."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

import nudgenet
import nudgenet.data
from nudgenet import ConfigError, DataError, ShapeError, get_cost, quadratic
from nudgenet.activations import sigmoid, softmax
from nudgenet.cost import (
    BINARY_CROSS_ENTROPY,
    CATEGORICAL_CROSS_ENTROPY,
    QUADRATIC,
    binary_cross_entropy,
    binary_cross_entropy_derivative,
    binary_cross_entropy_logits,
    categorical_cross_entropy,
    categorical_cross_entropy_derivative,
    categorical_cross_entropy_logits,
    check_cross_entropy_targets,
    cross_entropy_terms,
    one_hot,
    output_cost,
    quadratic_derivative,
    softplus,
)

A = np.array([[0.5, 0.5], [1.0, 0.0]])
Y = np.array([[1.0, 0.0], [1.0, 0.0]])


def test_quadratic_by_hand_on_two_examples() -> None:
    # Example 1: (0.5−1)² + (0.5−0)² = 0.25 + 0.25 = 0.5; example 2: 0 + 0 = 0.
    # C = (0.5 + 0) / 2 = 0.25: summed over outputs, averaged over examples, no ½.
    assert quadratic(A, Y) == 0.25


def test_quadratic_single_example_sums_outputs() -> None:
    a = np.array([[0.2, 0.9, 0.1]])
    y = np.array([[0.0, 1.0, 0.0]])
    assert quadratic(a, y) == pytest.approx(0.04 + 0.01 + 0.01, abs=1e-15)


def test_quadratic_returns_python_float() -> None:
    assert type(quadratic(A, Y)) is float


def test_quadratic_derivative_by_hand() -> None:
    # ∂C/∂a = (2/m)(a − y) with m = 2: (a − y) = [[−0.5, 0.5], [0, 0]].
    np.testing.assert_array_equal(quadratic_derivative(A, Y), [[-0.5, 0.5], [0.0, 0.0]])


def test_half_convention_relation() -> None:
    """C½ = ½C, so ∇C½ = ½∇C, and one step with η here equals a step with η½ = 2η."""
    C_half = 0.5 * quadratic(A, Y)
    assert C_half == 0.125
    g = quadratic_derivative(A, Y)
    g_half = (A - Y) / len(A)  # ∂C½/∂a = (1/m)(a − y)
    np.testing.assert_array_equal(g_half, 0.5 * g)
    eta = 0.3
    np.testing.assert_allclose(A - eta * g, A - (2 * eta) * g_half, rtol=0, atol=1e-15)


def test_pytorch_mse_relation() -> None:
    """MSELoss() averages over the m·n entries, so C_mse = C / n_out and η = η_mse / n_out."""
    rng = np.random.default_rng(0)
    a = rng.uniform(size=(7, 10))
    y = np.eye(10)[rng.integers(0, 10, size=7)]
    C = quadratic(a, y)
    C_mse = float(np.mean((a - y) ** 2))  # what torch.nn.MSELoss() computes
    assert C_mse == pytest.approx(C / 10, rel=1e-14)
    g_mse = 2 * (a - y) / a.size  # ∂C_mse/∂a
    g = quadratic_derivative(a, y)
    np.testing.assert_allclose(g_mse, g / 10, rtol=1e-14)
    eta_mse = 5.0
    np.testing.assert_allclose(a - (eta_mse / 10) * g, a - eta_mse * g_mse, rtol=1e-14)


def test_docstring_states_the_conventions() -> None:
    import nudgenet.cost

    doc = nudgenet.cost.__doc__
    assert doc is not None
    assert "η here equals η½ / 2" in doc
    assert "C_mse = C / 10" in doc
    assert "η here equals" in doc
    assert "η_mse / 10" in doc


def test_categorical_cross_entropy_by_hand() -> None:
    a = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]])
    y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    expected = -(math.log(0.7) + math.log(0.5)) / 2
    assert categorical_cross_entropy(a, y) == pytest.approx(expected, rel=1e-14)


def test_binary_cross_entropy_by_hand() -> None:
    a = np.array([[0.8, 0.3], [0.6, 0.9]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    expected = -(math.log(0.8) + math.log(0.7) + math.log(0.4) + math.log(0.9)) / 2
    assert binary_cross_entropy(a, y) == pytest.approx(expected, rel=1e-14)


def test_cross_entropy_of_saturated_outputs_is_large_but_finite() -> None:
    y = np.array([[1.0, 0.0]])
    wrong = np.array([[0.0, 1.0]])
    for value in (categorical_cross_entropy(wrong, y), binary_cross_entropy(wrong, y)):
        assert math.isfinite(value)
        assert value > 700  # −ln(tiny) ≈ 708
    assert categorical_cross_entropy(np.array([[1.0, 0.0]]), y) == 0.0
    assert binary_cross_entropy(np.array([[1.0, 0.0]]), y) == 0.0
    assert np.all(np.isfinite(categorical_cross_entropy_derivative(wrong, y)))
    assert np.all(np.isfinite(binary_cross_entropy_derivative(wrong, y)))


def test_cross_entropy_derivatives_by_hand() -> None:
    a = np.array([[0.8, 0.2], [0.5, 0.5]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    # −y/(m a)
    np.testing.assert_allclose(
        categorical_cross_entropy_derivative(a, y), [[-1 / 1.6, 0.0], [0.0, -1.0]], rtol=1e-15
    )
    # (a − y)/(m a(1−a)): [−0.2/(2·0.16), 0.2/(2·0.16)], [0.5/(2·0.25), −0.5/(2·0.25)]
    np.testing.assert_allclose(
        binary_cross_entropy_derivative(a, y), [[-0.625, 0.625], [1.0, -1.0]], rtol=1e-14
    )


def _numeric_derivative(value: Callable[[np.ndarray, np.ndarray], float], a, y) -> np.ndarray:
    h = 1e-6
    g = np.empty_like(a)
    for idx in np.ndindex(a.shape):
        up, down = a.copy(), a.copy()
        up[idx] += h
        down[idx] -= h
        g[idx] = (value(up, y) - value(down, y)) / (2 * h)
    return g


@pytest.mark.parametrize(
    "cost",
    [QUADRATIC, CATEGORICAL_CROSS_ENTROPY, BINARY_CROSS_ENTROPY],
    ids=lambda c: c.value.__name__,
)
def test_derivatives_match_finite_differences(cost) -> None:
    rng = np.random.default_rng(3)
    a = rng.uniform(0.05, 0.95, size=(4, 3))
    y = np.eye(3)[rng.integers(0, 3, size=4)]
    numeric = _numeric_derivative(cost.value, a, y)
    np.testing.assert_allclose(cost.derivative(a, y), numeric, rtol=1e-7, atol=1e-9)


def test_quadratic_zero_iff_equal() -> None:
    y = np.array([[0.0, 1.0, 0.0]])
    assert quadratic(y.copy(), y) == 0.0
    assert quadratic(y + np.array([[0.0, 0.0, 1e-9]]), y) > 0.0


def test_float32_costs() -> None:
    a = A.astype(np.float32)
    y = Y.astype(np.float32)
    assert quadratic(a, y) == 0.25
    assert quadratic_derivative(a, y).dtype == np.float32
    ce = binary_cross_entropy(
        np.array([[0.0, 1.0]], np.float32), np.array([[1.0, 0.0]], np.float32)
    )
    assert math.isfinite(ce)
    assert ce > 80  # −ln(float32 tiny) ≈ 87


def test_get_cost_picks_cross_entropy_by_output() -> None:
    assert get_cost("quadratic") is QUADRATIC
    assert get_cost("quadratic", "softmax") is QUADRATIC
    assert get_cost("cross-entropy", "softmax") is CATEGORICAL_CROSS_ENTROPY
    assert get_cost("cross-entropy", "sigmoid") is BINARY_CROSS_ENTROPY
    assert CATEGORICAL_CROSS_ENTROPY.matching_output == "softmax"
    assert BINARY_CROSS_ENTROPY.matching_output == "sigmoid"
    assert QUADRATIC.matching_output is None


def test_get_cost_unknown() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown cost 'mse'; choose one of quadratic, cross-entropy"
    ):
        get_cost("mse")


def test_one_hot() -> None:
    y = one_hot(np.array([3, 0, 9], np.uint8))
    assert y.shape == (3, 10)
    assert y.dtype == np.float32
    assert y.sum(axis=1).tolist() == [1, 1, 1]
    assert y.argmax(axis=1).tolist() == [3, 0, 9]
    assert one_hot(np.array([1]), n_classes=2, dtype=np.float64).tolist() == [[0.0, 1.0]]
    assert one_hot(np.array([], np.uint8)).shape == (0, 10)
    with pytest.raises(DataError, match=r"labels 0\.\.9, got values from 0 to 10"):
        one_hot(np.array([0, 10]))
    with pytest.raises(DataError, match="integer"):
        one_hot(np.array([0.5]))
    with pytest.raises(ShapeError, match="1-D"):
        one_hot(np.zeros((2, 2), int))
    with pytest.raises(ConfigError, match="at least 1"):
        one_hot(np.array([0]), n_classes=0)


def test_one_hot_is_one_function_wherever_it_is_imported_from() -> None:
    assert nudgenet.one_hot is nudgenet.data.one_hot is one_hot


# ---------------------------------------------------------------------------------------------
# cross-entropy from the pre-activations z


def _softplus_exact(z: float) -> float:
    """ln(1 + eᶻ) in Python floats, written so that neither branch overflows."""
    return z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))


@pytest.mark.parametrize("z", [-800.0, -30.0, -1.0, 0.0, 0.5, 30.0, 800.0])
def test_softplus_is_exact_without_overflow(z: float) -> None:
    assert softplus(np.array([z]))[0] == pytest.approx(_softplus_exact(z), rel=1e-15, abs=1e-300)
    assert softplus(np.array([z]))[0] == pytest.approx(np.logaddexp(0.0, z), rel=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logit_values_equal_the_a_values_where_a_is_not_saturated(dtype) -> None:
    rng = np.random.default_rng(5)
    z = rng.normal(0.0, 3.0, size=(6, 4)).astype(dtype)
    y = one_hot(rng.integers(0, 4, size=6), 4, dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    assert binary_cross_entropy_logits(z, y) == pytest.approx(
        binary_cross_entropy(sigmoid(z), y), rel=rtol
    )
    assert categorical_cross_entropy_logits(z, y) == pytest.approx(
        categorical_cross_entropy(softmax(z), y), rel=rtol
    )


@pytest.mark.parametrize(
    ("dtype", "z"),
    [(np.float32, 20.0), (np.float32, 50.0), (np.float32, 100.0), (np.float64, 40.0),
     (np.float64, 800.0)],
)  # fmt: skip
def test_a_confidently_wrong_output_costs_about_z(dtype, z: float) -> None:
    """From a, such an output is clipped to −ln(tiny) (87.3 in float32, 708 in float64)."""
    exact = _softplus_exact(z)
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    # Sigmoid: one output z that should have been 0.
    zs, y = np.array([[z]], dtype), np.array([[0.0]], dtype)
    assert binary_cross_entropy_logits(zs, y) == pytest.approx(exact, rel=rtol)
    # Softmax: the right class at 0, a wrong one at z, so −ln a_right = LSE(0, z).
    zs, y = np.array([[0.0, z]], dtype), np.array([[1.0, 0.0]], dtype)
    assert categorical_cross_entropy_logits(zs, y) == pytest.approx(exact, rel=rtol)
    assert categorical_cross_entropy_logits(zs, y) == pytest.approx(np.logaddexp(0.0, z), rel=rtol)


def test_a_confidently_right_output_keeps_its_small_cost() -> None:
    z, y = np.array([[30.0, 0.0]]), np.array([[1.0, 0.0]])
    assert categorical_cross_entropy_logits(z, y) == pytest.approx(math.exp(-30), rel=1e-12)
    assert binary_cross_entropy_logits(np.array([[-40.0]]), np.array([[0.0]])) == pytest.approx(
        math.exp(-40), rel=1e-12
    )


@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_logit_terms_have_the_derivative_a_minus_y(output: str) -> None:
    """∂/∂z of softplus(z) − yz is σ(z) − y; of Σ_j y_j(LSE(z) − z_j) it is a − y (Σy = 1)."""
    rng = np.random.default_rng(2)
    z = rng.normal(0.0, 4.0, size=(3, 4))
    y = rng.dirichlet(np.ones(4), size=3) if output == "softmax" else rng.uniform(size=(3, 4))
    a = sigmoid(z) if output == "sigmoid" else softmax(z)
    value = binary_cross_entropy_logits if output == "sigmoid" else categorical_cross_entropy_logits
    numeric = _numeric_derivative(value, z, y)  # the helper differentiates its first argument
    np.testing.assert_allclose(numeric, (a - y) / len(z), rtol=1e-6, atol=1e-9)


def test_logit_terms_take_leading_axes() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(2, 3, 4))
    y = np.eye(4)[rng.integers(0, 4, size=(2, 3))]
    for output in ("sigmoid", "softmax"):
        stacked = cross_entropy_terms(z, y, output)
        for k in range(2):
            np.testing.assert_array_equal(stacked[k], cross_entropy_terms(z[k], y[k], output))


def test_output_cost_reads_z_for_cross_entropy_and_a_for_quadratic() -> None:
    z = np.array([[0.0, 900.0]])
    y = np.array([[1.0, 0.0]])
    a = softmax(z)
    assert output_cost(CATEGORICAL_CROSS_ENTROPY, "softmax", z, a, y) == pytest.approx(900.0)
    assert output_cost(QUADRATIC, "softmax", z, a, y) == quadratic(a, y)


@pytest.mark.parametrize(
    ("y", "output", "message"),
    [
        ([[0.5, 1.0]], "softmax", "sum to 1"),
        ([[0.2, 0.2]], "softmax", "row 0 sums to 0.4"),
        ([[1.5, -0.5]], "softmax", r"lie in \[0, 1\]"),
        ([[2.0, 0.0]], "sigmoid", r"lie in \[0, 1\]"),
    ],
)
def test_cross_entropy_refuses_targets_that_are_not_probabilities(
    y: list[list[float]], output: str, message: str
) -> None:
    with pytest.raises(ShapeError, match=message) as caught:
        check_cross_entropy_targets(np.array(y), output)
    assert "one_hot" in (caught.value.help or "")


def test_cross_entropy_accepts_soft_targets() -> None:
    smooth = np.full((3, 10), 0.1 / 9)
    smooth[np.arange(3), [1, 4, 7]] = 0.9
    check_cross_entropy_targets(smooth.astype(np.float32), "softmax")  # rows sum to 1 ± rounding
    check_cross_entropy_targets(smooth, "softmax")
    check_cross_entropy_targets(np.array([[0.3, 0.9]]), "sigmoid")  # yes/no each: any in [0, 1]
    check_cross_entropy_targets(np.zeros((0, 10)), "softmax")
