"""Tests for nudgenet.hessian: the R-operator against finite differences and a full Hessian."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nudgenet import Network, cost_and_gradient, one_hot
from nudgenet.activations import ACTIVATIONS, SECOND_DERIVATIVES
from nudgenet.cost import COSTS
from nudgenet.errors import ConfigError, ShapeError
from nudgenet.gradcheck import _kink_distance
from nudgenet.hessian import (
    MAX_FULL_PARAMS,
    check_full_hessian,
    full_hessian,
    hessian_operator,
    hessian_vector_product,
    spectrum,
    top_eigenpairs,
    zero_tolerance,
)

COMBINATIONS = [
    (act, out, cost) for act in ACTIVATIONS for out in ("sigmoid", "softmax") for cost in COSTS
]


def problem(
    activation: str, output: str, seed: int = 0, m: int = 7, sizes: tuple[int, ...] = (5, 4, 3, 3)
):
    """A small network, θ and batch, clear of ReLU's kink (where H does not exist)."""
    rng = np.random.default_rng(seed)
    net = Network(sizes, activation, output)
    for _ in range(100):
        theta = rng.normal(0.0, 0.7, net.n_params)
        X = rng.uniform(0.0, 1.0, (m, sizes[0]))
        if activation != "relu" or _kink_distance(net, theta, X) > 0.02:
            break
    Y = one_hot(rng.integers(0, sizes[-1], m), sizes[-1], np.float64)
    return net, theta, X, Y, rng


def gradient_difference(net, theta, X, Y, cost, v, h=1e-5, l2=0.0):
    """(∇C(θ + hv) − ∇C(θ − hv)) / 2h: Hv to O(h²), from backpropagation alone."""
    plus = cost_and_gradient(net, theta + h * v, X, Y, cost, l2=l2)[1]
    minus = cost_and_gradient(net, theta - h * v, X, Y, cost, l2=l2)[1]
    return (plus - minus) / (2 * h)


@pytest.mark.parametrize(("activation", "output", "cost"), COMBINATIONS)
def test_product_matches_finite_differences_of_the_gradient(activation, output, cost) -> None:
    net, theta, X, Y, rng = problem(activation, output)
    v = rng.standard_normal(net.n_params)
    exact = hessian_vector_product(net, theta, X, Y, v, cost)
    numeric = gradient_difference(net, theta, X, Y, cost, v)
    assert np.max(np.abs(exact - numeric)) <= 1e-8 * np.max(np.abs(exact))


@pytest.mark.parametrize(("activation", "output", "cost"), COMBINATIONS)
def test_full_hessian_matches_the_one_built_by_finite_differences(activation, output, cost) -> None:
    net, theta, X, Y, _ = problem(activation, output, seed=1)
    n = net.n_params
    H = full_hessian(net, theta, X, Y, cost)
    by_differences = np.column_stack(
        [gradient_difference(net, theta, X, Y, cost, e) for e in np.eye(n)]
    )
    assert np.max(np.abs(H - by_differences)) <= 1e-8 * np.max(np.abs(H))
    # The products themselves are symmetric: column j of H is row j, before any averaging.
    raw = hessian_operator(net, theta, X, Y, cost)(np.eye(n))
    np.testing.assert_allclose(raw, raw.T, rtol=0, atol=1e-12 * np.max(np.abs(raw)))


def test_one_example_worked_by_hand() -> None:
    # C = (σ(w x + b) − y)², x = 1, y = 1, at w = b = 0: a = ½, σ′ = ¼, σ″ = 0, so
    # ∂²C/∂z² = 2(σ′² + (a − y)σ″) = ⅛ and H = ⅛ [[x², x], [x, 1]].
    net = Network((1, 1))
    H = full_hessian(net, np.zeros(2), np.array([[1.0]]), np.array([[1.0]]))
    np.testing.assert_allclose(H, [[0.125, 0.125], [0.125, 0.125]], rtol=1e-15)


def test_second_derivatives_are_the_derivatives_of_the_first() -> None:
    z = np.linspace(-3, 3, 13) + 0.05  # off ReLU's kink
    h = 1e-6
    for name, act in ACTIVATIONS.items():
        up, down = act.derivative(act.function(z + h)), act.derivative(act.function(z - h))
        slope = (up - down) / (2 * h)
        np.testing.assert_allclose(SECOND_DERIVATIVES[name](act.function(z)), slope, atol=1e-8)


def test_a_block_of_directions_equals_the_directions_one_by_one() -> None:
    net, theta, X, Y, rng = problem("tanh", "softmax")
    H = hessian_operator(net, theta, X, Y, "quadratic")
    V = rng.standard_normal((4, net.n_params))
    np.testing.assert_allclose(H(V), np.array([H(v) for v in V]), rtol=1e-13, atol=1e-15)


def test_weight_decay_adds_lambda_on_the_weights_only() -> None:
    net, theta, X, Y, rng = problem("sigmoid", "sigmoid")
    v = rng.standard_normal(net.n_params)
    difference = hessian_vector_product(net, theta, X, Y, v, l2=0.3) - hessian_vector_product(
        net, theta, X, Y, v
    )
    np.testing.assert_allclose(difference, 0.3 * v * net.layout.weight_mask(), atol=1e-14)
    numeric = gradient_difference(net, theta, X, Y, "quadratic", v, l2=0.3)
    exact = hessian_vector_product(net, theta, X, Y, v, l2=0.3)
    assert np.max(np.abs(exact - numeric)) <= 1e-8 * np.max(np.abs(exact))


@settings(max_examples=15, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=2, max_size=4).map(tuple),
    m=st.integers(1, 5),
    seed=st.integers(0, 2**16),
    activation=st.sampled_from(("sigmoid", "tanh")),
    output=st.sampled_from(("sigmoid", "softmax")),
    cost=st.sampled_from(COSTS),
)
def test_products_are_symmetric_for_any_small_network(
    sizes, m, seed, activation, output, cost
) -> None:
    net, theta, X, Y, rng = problem(activation, output, seed, m, sizes)
    H = hessian_operator(net, theta, X, Y, cost)
    v, w = rng.standard_normal((2, net.n_params))
    scale = float(np.linalg.norm(H(v)) * np.linalg.norm(w) + 1e-300)
    assert abs(w @ H(v) - v @ H(w)) <= 1e-12 * scale


def test_top_eigenpairs_are_the_largest_of_the_full_spectrum() -> None:
    net, theta, X, Y, _ = problem("sigmoid", "sigmoid", sizes=(6, 5, 4), m=9)
    H = full_hessian(net, theta, X, Y)
    everything = spectrum(H.copy())
    values, vectors = top_eigenpairs(net, theta, X, Y, 3, rng=np.random.default_rng(0))
    np.testing.assert_allclose(values, everything[::-1][:3], rtol=1e-9)
    assert np.all(np.diff(values) <= 0)
    for lam, u in zip(values, vectors, strict=True):
        np.testing.assert_allclose(H @ u, lam * u, atol=1e-8 * abs(values[0]))
        assert np.linalg.norm(u) == pytest.approx(1.0)
    again, _ = top_eigenpairs(net, theta, X, Y, 3, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(values, again)  # the same seed, the same numbers


def test_spectrum_of_a_saddle_has_negative_eigenvalues() -> None:
    # At θ = 0 every hidden unit of a tanh network is 0 and the output weights multiply
    # them: moving an input weight and an output weight together is a saddle direction.
    net = Network((3, 2, 2), "tanh", "sigmoid")
    rng = np.random.default_rng(2)
    X = rng.uniform(0, 1, (6, 3))
    Y = one_hot(rng.integers(0, 2, 6), 2, np.float64)
    values = spectrum(full_hessian(net, np.zeros(net.n_params), X, Y))
    assert np.sum(values < -zero_tolerance(values)) > 0


def test_refusals_are_clear() -> None:
    net, theta, X, Y, _ = problem("sigmoid", "sigmoid")
    with pytest.raises(ConfigError, match="k must be a whole number"):
        top_eigenpairs(net, theta, X, Y, net.n_params, rng=np.random.default_rng(0))
    with pytest.raises(ConfigError, match="k must be a whole number"):
        top_eigenpairs(net, theta, X, Y, 0, rng=np.random.default_rng(0))
    with pytest.raises(ConfigError, match="a direction must have shape"):
        hessian_vector_product(net, theta, X, Y, np.ones(3))
    with pytest.raises(ShapeError):
        hessian_vector_product(net, theta[:-1], X, Y, np.ones(net.n_params))
    with pytest.raises(ConfigError, match=r"more than this command builds") as info:
        check_full_hessian(MAX_FULL_PARAMS + 1)
    assert "Lanczos" in (info.value.help or "")
    with pytest.raises(ConfigError, match=r"1\.35 GB, and a quarter more"):
        check_full_hessian(13002, available=16 * 10**8)
    check_full_hessian(13002, available=17 * 10**8)  # room enough: no error


def test_the_full_hessian_and_its_spectrum_hold_one_n_by_n_array(monkeypatch) -> None:
    import tracemalloc

    import scipy.linalg  # noqa: F401 - imported before tracing: the import allocates megabytes

    from nudgenet import hessian

    monkeypatch.setattr(hessian, "BLOCK_FLOATS", 100_000)  # 0.8 MB blocks
    net, theta, X, Y, _ = problem("sigmoid", "sigmoid", sizes=(60, 20, 10), m=20)
    size = 8 * net.n_params**2  # 1,430 parameters: 16 MB
    tracemalloc.start()
    try:
        values = spectrum(full_hessian(net, theta, X, Y))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(values) == net.n_params
    assert peak < size + 10 * 8 * 100_000  # H itself and a few blocks, never a second H
