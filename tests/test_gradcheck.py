"""Tests for nudgenet.gradcheck: finite differences, relative error, and the full check."""

from __future__ import annotations

import numpy as np
import pytest

from nudgenet import Network, check_gradient, numerical_gradient, relative_error


def test_numerical_gradient_of_a_quadratic_bowl() -> None:
    # C(θ) = Σ_i c_i (θ_i − t_i)² + θ_0 θ_1 → ∇C = 2c(θ − t) + (θ_1, θ_0, 0)
    c = np.array([1.0, 3.0, 0.5])
    t = np.array([3.0, -1.0, 2.0])

    def bowl(theta: np.ndarray) -> float:
        return float(np.sum(c * (theta - t) ** 2) + theta[0] * theta[1])

    theta = np.array([0.0, 2.0, -4.0])
    exact = 2 * c * (theta - t) + np.array([theta[1], theta[0], 0.0])  # (−4, 18, −6)
    np.testing.assert_allclose(numerical_gradient(bowl, theta), exact, rtol=1e-10, atol=1e-10)


def test_numerical_gradient_is_fourth_order() -> None:
    # Exact for polynomials up to degree 4 (the five-point stencil's error term is h⁴ f⁽⁵⁾).
    def quartic(theta: np.ndarray) -> float:
        w = float(theta[0])
        return w**4 - 2 * w**3 + w

    g = numerical_gradient(quartic, np.array([1.5]), h=0.1)
    assert g[0] == pytest.approx(4 * 1.5**3 - 6 * 1.5**2 + 1, abs=1e-10)


def test_numerical_gradient_leaves_theta_unchanged() -> None:
    theta = np.array([0.25, -1.0, 4.0])
    before = theta.copy()
    seen: list[np.ndarray] = []

    def cost(t: np.ndarray) -> float:
        seen.append(t.copy())
        return float(np.sum(t**2))

    numerical_gradient(cost, theta)
    np.testing.assert_array_equal(theta, before)
    assert len(seen) == 4 * 3  # four evaluations per coordinate
    # each evaluation moves exactly one coordinate
    for t in seen:
        assert np.count_nonzero(t != before) == 1


def test_numerical_gradient_works_in_float64_for_float32_theta() -> None:
    theta = np.array([1.0, 2.0], dtype=np.float32)
    g = numerical_gradient(lambda t: float(t[0] * t[1]), theta)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, [2.0, 1.0], rtol=1e-10)


def test_relative_error_basics() -> None:
    a = np.array([1.0, 2.0, -4.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(a, a.copy()) == 0.0
    # worst component: |4 − 4.4| / 4.4
    assert relative_error(a, np.array([1.0, 2.0, -4.4])) == pytest.approx(0.4 / 4.4)
    # symmetric
    b = np.array([1.1, 2.0, -4.0])
    assert relative_error(a, b) == relative_error(b, a)
    assert relative_error(a, b) == pytest.approx(0.1 / 1.1)


def test_relative_error_of_zeros_and_empty() -> None:
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([]), np.array([])) == 0.0


def test_relative_error_floor_ignores_noise_on_tiny_components() -> None:
    # A component 1e-14 against 0 next to components of order 1: round-off, not a bug.
    a = np.array([1.0, 0.0])
    b = np.array([1.0, 1e-14])
    assert relative_error(a, b) == pytest.approx(1e-14 / 1e-4)
    # but a component of order the floor still counts
    assert relative_error(np.array([1.0, 1e-3]), np.array([1.0, 2e-3])) == pytest.approx(0.5)


def test_relative_error_flags_opposite_signs() -> None:
    assert relative_error(np.array([1.0]), np.array([-1.0])) == pytest.approx(2.0)


def test_check_gradient_default_network() -> None:
    check = check_gradient(rng=np.random.default_rng(0))
    assert check.network == Network((5, 4, 3, 3))
    assert check.n_params == 5 * 4 + 4 + 4 * 3 + 3 + 3 * 3 + 3
    assert check.cost == "quadratic"
    assert check.init == "normal"
    assert check.max_relative_error < 1e-6
    assert 0.0 <= check.max_absolute_error < 1e-9


def test_check_gradient_detects_a_wrong_gradient(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check must be able to fail: break backprop by doubling one layer's gradient."""
    import nudgenet.gradcheck as gradcheck

    real = gradcheck.cost_and_gradient

    def broken(*args, **kwargs):
        C, grad = real(*args, **kwargs)
        grad = grad.copy()
        grad[:3] *= 1.01
        return C, grad

    monkeypatch.setattr(gradcheck, "cost_and_gradient", broken)
    check = check_gradient(Network((2, 2, 2)), rng=np.random.default_rng(0), m=3)
    assert check.max_relative_error > 1e-3


def test_check_gradient_is_reproducible() -> None:
    a = check_gradient(Network((3, 3, 2), "relu"), init="he", rng=np.random.default_rng(5))
    b = check_gradient(Network((3, 3, 2), "relu"), init="he", rng=np.random.default_rng(5))
    assert a == b
