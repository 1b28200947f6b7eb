"""Tests for nudgenet.backprop (and the forward pass it rests on): ∇C by backpropagation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from nudgenet import (
    Network,
    ShapeError,
    accuracy,
    check_gradient,
    cost_and_gradient,
    evaluate_cost,
    feedforward,
    init_params,
    numerical_gradient,
    predict,
    probabilities,
)
from nudgenet.gradcheck import relative_error
from nudgenet.init import INITS


def sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# ---------------------------------------------------------------------------------------------
# a network small enough to do by hand


def test_hand_worked_gradient_on_a_2_2_1_network() -> None:
    """Sizes (2, 2, 1), sigmoid everywhere, quadratic cost, one example x = (1, 2), y = 1.

    θ = [W¹ row-major, b¹, W², b²] with W¹ = [[1, −½], [½, −¼]], b¹ = 0, W² = [[2, −2]], b² = 0.
    Forward: z¹ = W¹x + b¹ = (1 − 1, ½ − ½) = (0, 0), a¹ = (½, ½);
             z² = 2·½ − 2·½ = 0, a² = ½;  C = (½ − 1)² = ¼.
    Backward: δ² = 2(a² − y)·σ′(z²) = 2(−½)(¼) = −¼
              ∂C/∂W² = δ² a¹ = (−⅛, −⅛),  ∂C/∂b² = −¼
              δ¹ = δ² W² ⊙ σ′(z¹) = −¼·(2, −2)·¼ = (−⅛, ⅛)
              ∂C/∂W¹ = δ¹ xᵀ = [[−⅛, −¼], [⅛, ¼]],  ∂C/∂b¹ = (−⅛, ⅛)
    Every number is a binary fraction, so the comparison is exact.
    """
    net = Network((2, 2, 1))
    theta = np.array([1.0, -0.5, 0.5, -0.25, 0.0, 0.0, 2.0, -2.0, 0.0])
    X = np.array([[1.0, 2.0]])
    Y = np.array([[1.0]])

    acts = feedforward(net, theta, X)
    np.testing.assert_array_equal(acts[1], [[0.5, 0.5]])
    np.testing.assert_array_equal(acts[2], [[0.5]])

    c, grad = cost_and_gradient(net, theta, X, Y)
    assert c == 0.25
    expected = [-0.125, -0.25, 0.125, 0.25, -0.125, 0.125, -0.125, -0.125, -0.25]
    assert grad.tolist() == expected

    # One step θ ← θ − η∇C with η = 1, then the forward pass again, by hand:
    # W¹ = [[9/8, −¼], [⅜, −½]], b¹ = (⅛, −⅛), W² = [[17/8, −15/8]], b² = ¼.
    new = theta - 1.0 * grad
    z1 = (9 / 8 * 1 - 1 / 4 * 2 + 1 / 8, 3 / 8 * 1 - 1 / 2 * 2 - 1 / 8)  # (0.75, −0.75)
    a1 = (sig(z1[0]), sig(z1[1]))
    a2 = sig(17 / 8 * a1[0] - 15 / 8 * a1[1] + 1 / 4)
    c_after = (a2 - 1.0) ** 2
    assert evaluate_cost(net, new, X, Y) == pytest.approx(c_after, rel=1e-14)
    assert c_after < 0.25  # the nudge went downhill


def test_hand_worked_gradient_with_general_values() -> None:
    """Same architecture, values that are not round, every formula written out."""
    net = Network((2, 2, 1))
    w11, w12, w21, w22, b11, b12 = 0.3, -0.7, 0.9, 0.1, 0.05, -0.2
    v1, v2, b_out = -1.2, 0.8, 0.4
    x1, x2, y = 0.6, -0.4, 0.0
    theta = np.array([w11, w12, w21, w22, b11, b12, v1, v2, b_out])

    z11 = w11 * x1 + w12 * x2 + b11
    z12 = w21 * x1 + w22 * x2 + b12
    h1, h2 = sig(z11), sig(z12)
    out = sig(v1 * h1 + v2 * h2 + b_out)
    expected_cost = (out - y) ** 2
    d_out = 2 * (out - y) * out * (1 - out)
    d_h1 = d_out * v1 * h1 * (1 - h1)
    d_h2 = d_out * v2 * h2 * (1 - h2)
    expected = [
        d_h1 * x1, d_h1 * x2, d_h2 * x1, d_h2 * x2,  # ∂C/∂W¹
        d_h1, d_h2,                                  # ∂C/∂b¹
        d_out * h1, d_out * h2,                      # ∂C/∂W²
        d_out,                                       # ∂C/∂b²
    ]  # fmt: skip

    c_got, grad = cost_and_gradient(net, theta, np.array([[x1, x2]]), np.array([[y]]))
    assert c_got == pytest.approx(expected_cost, rel=1e-14)
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-16)


def test_hand_worked_softmax_cross_entropy() -> None:
    """One softmax layer (2 → 2), W = 0, b = 0: a = (½, ½), C = ln 2, δ = a − y = (−½, ½)."""
    net = Network((2, 2), output="softmax")
    theta = np.zeros(6)
    c, grad = cost_and_gradient(
        net, theta, np.array([[1.0, 2.0]]), np.array([[1.0, 0.0]]), "cross-entropy"
    )
    assert c == pytest.approx(math.log(2.0), rel=1e-15)
    # ∂C/∂W = δ xᵀ = [[−½, −1], [½, 1]], ∂C/∂b = δ
    assert grad.tolist() == [-0.5, -1.0, 0.5, 1.0, -0.5, 0.5]


def test_hand_worked_tanh_and_relu_hidden_layers() -> None:
    """(1, 2, 1): a tanh unit and the same with ReLU, quadratic cost, sigmoid output."""
    x, y = 0.5, 1.0
    w, b, v, b_out = (2.0, -3.0), (0.0, 0.5), (1.0, -1.0), 0.0
    theta = np.array([w[0], w[1], b[0], b[1], v[0], v[1], b_out])
    for name, f, fprime in [
        ("tanh", math.tanh, lambda z: 1 - math.tanh(z) ** 2),
        ("relu", lambda z: max(z, 0.0), lambda z: float(z > 0)),
    ]:
        z = [w[j] * x + b[j] for j in range(2)]  # (1, −1)
        h = [f(zj) for zj in z]
        out = sig(v[0] * h[0] + v[1] * h[1] + b_out)
        d_out = 2 * (out - y) * out * (1 - out)
        d_h = [d_out * v[j] * fprime(z[j]) for j in range(2)]
        expected = [d_h[0] * x, d_h[1] * x, d_h[0], d_h[1], d_out * h[0], d_out * h[1], d_out]
        net = Network((1, 2, 1), activation=name)
        c, grad = cost_and_gradient(net, theta, np.array([[x]]), np.array([[y]]))
        assert c == pytest.approx((out - y) ** 2, rel=1e-14), name
        np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-17, err_msg=name)
    # ReLU's second unit is off (z = −1), so nothing flows to its weight and bias.
    _, grad = cost_and_gradient(Network((1, 2, 1), "relu"), theta, np.array([[x]]), np.array([[y]]))
    assert grad[1] == 0.0
    assert grad[3] == 0.0


# ---------------------------------------------------------------------------------------------
# backprop against finite differences, every combination


@pytest.mark.parametrize(
    ("activation", "output", "cost", "init"),
    list(
        itertools.product(
            ("sigmoid", "tanh", "relu"),
            ("sigmoid", "softmax"),
            ("quadratic", "cross-entropy"),
            INITS,
        )
    ),
)
def test_gradient_matches_finite_differences(
    activation: str, output: str, cost: str, init: str
) -> None:
    network = Network((3, 4, 3, 3), activation, output)
    check = check_gradient(network, cost=cost, init=init, m=4, rng=np.random.default_rng(7))
    assert check.n_params == 3 * 4 + 4 + 4 * 3 + 3 + 3 * 3 + 3
    assert check.max_relative_error < 1e-6, check


def test_inits_cover_the_five_schemes() -> None:
    assert set(INITS) == {"normal", "scaled", "xavier", "he", "constant"}


def test_gradient_with_l2_matches_finite_differences() -> None:
    for output, cost in [("sigmoid", "quadratic"), ("softmax", "cross-entropy")]:
        network = Network((3, 4, 2), "tanh", output)
        check = check_gradient(network, cost=cost, l2=0.3, m=3, rng=np.random.default_rng(1))
        assert check.max_relative_error < 1e-6, check


# ---------------------------------------------------------------------------------------------
# properties of the gradient


def _problem(sizes=(4, 5, 3), m=6, seed=0, **net):
    rng = np.random.default_rng(seed)
    network = Network(sizes, **net)
    theta = init_params(network.layout, "normal", rng=rng)
    X = rng.uniform(0.0, 1.0, size=(m, sizes[0]))
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], size=m)]
    return network, theta, X, Y


@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
def test_float32_gradient_close_to_float64(cost: str) -> None:
    network, theta, X, Y = _problem()
    c64, g64 = cost_and_gradient(network, theta, X, Y, cost)
    c32, g32 = cost_and_gradient(network, theta.astype(np.float32), X, Y, cost)
    assert g32.dtype == np.float32
    assert g64.dtype == np.float64
    assert c32 == pytest.approx(c64, rel=1e-5)
    np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-6 * np.max(np.abs(g64)))


def test_l2_adds_lambda_w_to_weights_only() -> None:
    network, theta, X, Y = _problem()
    lam = 0.25
    c0, g0 = cost_and_gradient(network, theta, X, Y)
    c1, g1 = cost_and_gradient(network, theta, X, Y, l2=lam)
    mask = network.layout.weight_mask()
    np.testing.assert_allclose(g1[mask] - g0[mask], lam * theta[mask], rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(g1[~mask], g0[~mask])  # biases: untouched
    # and the cost gains (λ/2)‖W‖² over the weights only
    assert c1 - c0 == pytest.approx(0.5 * lam * float(np.sum(theta[mask] ** 2)), rel=1e-12)


def test_l2_zero_is_no_decay() -> None:
    network, theta, X, Y = _problem()
    assert cost_and_gradient(network, theta, X, Y, l2=0.0)[1].tolist() == (
        cost_and_gradient(network, theta, X, Y)[1].tolist()
    )


@pytest.mark.parametrize(
    ("output", "cost"),
    [("sigmoid", "quadratic"), ("softmax", "quadratic"), ("softmax", "cross-entropy")],
)
def test_batch_gradient_is_the_mean_of_per_example_gradients(output: str, cost: str) -> None:
    network, theta, X, Y = _problem(m=5, output=output, activation="tanh")
    c, grad = cost_and_gradient(network, theta, X, Y, cost)
    per_example = [
        cost_and_gradient(network, theta, X[i : i + 1], Y[i : i + 1], cost) for i in range(5)
    ]
    assert c == pytest.approx(np.mean([ci for ci, _ in per_example]), rel=1e-13)
    np.testing.assert_allclose(
        grad, np.mean([g for _, g in per_example], axis=0), rtol=1e-11, atol=1e-15
    )


def test_cost_matches_evaluate_cost_and_feedforward() -> None:
    network, theta, X, Y = _problem()
    c, _ = cost_and_gradient(network, theta, X, Y)
    a = feedforward(network, theta, X)[-1]
    assert c == pytest.approx(float(np.sum((a - Y) ** 2)) / len(X), rel=1e-14)
    assert evaluate_cost(network, theta, X, Y) == c


def test_gradient_matches_numerical_gradient_directly() -> None:
    network, theta, X, Y = _problem(sizes=(3, 3, 2), m=4)
    _, grad = cost_and_gradient(network, theta, X, Y)
    numeric = numerical_gradient(lambda t: cost_and_gradient(network, t, X, Y)[0], theta)
    np.testing.assert_allclose(grad, numeric, rtol=1e-7, atol=1e-10)


def test_inputs_are_not_modified() -> None:
    network, theta, X, Y = _problem()
    copies = theta.copy(), X.copy(), Y.copy()
    cost_and_gradient(network, theta, X, Y, l2=0.1)
    for before, after in zip(copies, (theta, X, Y), strict=True):
        np.testing.assert_array_equal(before, after)


def test_out_buffer_is_used() -> None:
    network, theta, X, Y = _problem()
    _, expected = cost_and_gradient(network, theta, X, Y)
    out = np.full_like(theta, np.nan)  # garbage must be overwritten everywhere
    _, grad = cost_and_gradient(network, theta, X, Y, out=out)
    assert grad is out
    np.testing.assert_array_equal(out, expected)
    # reused for a second batch, it is overwritten again, not accumulated
    _, grad2 = cost_and_gradient(network, theta, X[:2], Y[:2], out=out)
    assert grad2 is out
    np.testing.assert_array_equal(out, cost_and_gradient(network, theta, X[:2], Y[:2])[1])


def test_without_out_a_new_vector_is_returned() -> None:
    network, theta, X, Y = _problem()
    _, g1 = cost_and_gradient(network, theta, X, Y)
    _, g2 = cost_and_gradient(network, theta, X, Y)
    assert g1 is not g2
    assert not np.shares_memory(g1, theta)
    assert g1.shape == theta.shape


def test_integer_inputs_are_accepted() -> None:
    network, theta, _, Y = _problem(m=2)
    X = np.array([[0, 255, 3, 1], [1, 0, 0, 2]], dtype=np.uint8)
    c, grad = cost_and_gradient(network, theta, X, Y)
    c_float, grad_float = cost_and_gradient(network, theta, X.astype(np.float64), Y)
    assert c == c_float
    np.testing.assert_array_equal(grad, grad_float)


# ---------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(
    "X",
    [np.zeros((6, 5)), np.zeros((6, 3)), np.zeros(4), np.zeros((6, 4, 1)), [[0.0] * 4] * 6],
    ids=["too-wide", "too-narrow", "1d", "3d", "list"],
)
def test_wrong_x_shape(X: object) -> None:
    network, theta, _, Y = _problem()
    with pytest.raises(ShapeError, match=r"X must have shape \(m, 4\)") as info:
        cost_and_gradient(network, theta, X, Y)  # type: ignore[arg-type]
    assert "help: flatten each image" in str(info.value)


def test_wrong_x_shape_names_784_pixels() -> None:
    network = Network()
    theta = np.zeros(network.n_params)
    with pytest.raises(ShapeError, match=r"\(m, 784\).*28×28 pixels.*got shape \(2, 28, 28\)"):
        feedforward(network, theta, np.zeros((2, 28, 28)))


@pytest.mark.parametrize(
    "Y",
    [np.zeros((5, 3)), np.zeros((6, 2)), np.zeros((6, 4)), np.zeros(6), [[0.0] * 3] * 6],
    ids=["too-few-rows", "too-few-columns", "too-many-columns", "labels", "list"],
)
def test_wrong_y_shape(Y: object) -> None:
    network, theta, X, _ = _problem()
    with pytest.raises(ShapeError, match=r"Y must have shape \(6, 3\)") as info:
        cost_and_gradient(network, theta, X, Y)  # type: ignore[arg-type]
    assert "one_hot" in str(info.value)
    with pytest.raises(ShapeError, match=r"Y must have shape \(6, 3\)"):
        evaluate_cost(network, theta, X, Y)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs(bad: float) -> None:
    network, theta, X, Y = _problem()
    X[2, 1] = bad
    with pytest.raises(ShapeError, match="X contains NaN or infinite values"):
        cost_and_gradient(network, theta, X, Y)


def test_wrong_theta_length() -> None:
    network, theta, X, Y = _problem()
    with pytest.raises(ShapeError, match=rf"θ must be a 1-D array of {network.n_params}"):
        cost_and_gradient(network, theta[:-1], X, Y)


# ---------------------------------------------------------------------------------------------
# the forward pass


def test_feedforward_shapes_and_input_layer() -> None:
    network, theta, X, _ = _problem(sizes=(4, 6, 5, 3))
    acts = feedforward(network, theta, X)
    assert [a.shape for a in acts] == [(6, 4), (6, 6), (6, 5), (6, 3)]
    np.testing.assert_array_equal(acts[0], X)


def test_predict_probabilities_accuracy() -> None:
    network = Network((2, 3), output="softmax")
    # W = identity-like rows so output j lights up for input j; row 3 fixed at 0.
    theta = np.array([5.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 0.0, 1.0])
    X = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(predict(network, theta, X), [0, 1, 2])
    p = probabilities(network, theta, X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert accuracy(network, theta, X, np.array([0, 1, 1])) == pytest.approx(2 / 3)


# ---------------------------------------------------------------------------------------------
# cross-entropy of saturated outputs, from z


def _softplus(z: float) -> float:
    """ln(1 + eᶻ), computed stably in Python floats."""
    return z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))


@pytest.mark.parametrize(
    ("dtype", "z"),
    [("float32", 20.0), ("float32", 60.0), ("float32", 100.0), ("float64", 40.0),
     ("float64", 800.0)],
)  # fmt: skip
@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_a_confidently_wrong_network_reports_its_true_cost(dtype: str, z: float, output: str):
    """One example, whose output is σ(z) ≈ 1 (or softmax ≈ (0, 1)) where it should be 0: the
    cost is softplus(z) ≈ z, not a value clipped at −ln(tiny) (87.3 / 708)."""
    X = np.zeros((1, 1), dtype)
    if output == "sigmoid":  # θ = [w, b]: z = b, target 0
        network, theta, Y = Network((1, 1)), np.array([0.0, z], dtype), np.array([[0.0]])
    else:  # θ = [w₀, w₁, b₀, b₁]: z = (0, z), target class 0
        network = Network((1, 2), output="softmax")
        theta, Y = np.array([0.0, 0.0, 0.0, z], dtype), np.array([[1.0, 0.0]])
    rtol = 1e-6 if dtype == "float32" else 1e-14
    C, grad = cost_and_gradient(network, theta, X, Y, "cross-entropy")
    assert pytest.approx(_softplus(z), rel=rtol) == C
    assert pytest.approx(float(np.logaddexp(0.0, z)), rel=rtol) == C
    assert evaluate_cost(network, theta, X, Y, "cross-entropy") == C
    assert np.abs(grad).max() == pytest.approx(1.0, rel=1e-6)  # ∂C/∂b = a − y, as before


@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_gradient_of_saturated_cross_entropy_matches_finite_differences(output: str) -> None:
    """Outputs hundreds of units into saturation (float64): finite differences of the cost
    from z agree with backprop; differences of a value clipped at 708 would be 0."""
    rng = np.random.default_rng(4)
    network = Network((2, 3), output=output)
    W = rng.normal(size=(3, 2))
    b = np.array([400.0, -400.0, 0.0])
    theta = np.concatenate([W.ravel(), b])
    X = rng.uniform(size=(4, 2))
    Y = np.eye(3)[[0, 1, 2, 1]]  # confident and wrong on several outputs
    a = feedforward(network, theta, X)[-1]
    assert np.any(a[Y == 1] == 0.0) or np.any(a[Y == 0] == 1.0)  # ln(a) or ln(1 − a) is −∞
    _, analytic = cost_and_gradient(network, theta, X, Y, "cross-entropy")
    numeric = numerical_gradient(
        lambda t: cost_and_gradient(network, t, X, Y, "cross-entropy")[0], theta
    )
    assert relative_error(analytic, numeric) < 1e-7


def test_gradient_with_soft_targets_matches_finite_differences() -> None:
    """Targets that sum to 1 without being one-hot (label smoothing) are valid: δ = a − y."""
    rng = np.random.default_rng(8)
    network = Network((3, 4, 3), "tanh", "softmax")
    theta = init_params(network.layout, "normal", rng=rng)
    X = rng.uniform(size=(5, 3))
    Y = rng.dirichlet(np.ones(3), size=5)
    _, analytic = cost_and_gradient(network, theta, X, Y, "cross-entropy")
    numeric = numerical_gradient(
        lambda t: cost_and_gradient(network, t, X, Y, "cross-entropy")[0], theta
    )
    assert relative_error(analytic, numeric) < 1e-7


def test_softmax_cross_entropy_refuses_rows_that_do_not_sum_to_one() -> None:
    """For such rows a − y would not be the gradient of the cost returned."""
    network, theta, X, Y = _problem(output="softmax")
    two_labels = Y + np.roll(Y, 1, axis=1)  # rows of 0s and two 1s: they sum to 2
    with pytest.raises(ShapeError, match="rows that sum to 1") as caught:
        cost_and_gradient(network, theta, X, two_labels, "cross-entropy")
    assert "one_hot" in (caught.value.help or "")
    with pytest.raises(ShapeError, match="rows that sum to 1"):
        evaluate_cost(network, theta, X, 0.5 * Y, "cross-entropy")
    with pytest.raises(ShapeError, match=r"lie in \[0, 1\]"):
        cost_and_gradient(network, theta, X, Y - 0.5, "cross-entropy")
    # The quadratic cost's gradient is exact for any targets: they stay allowed.
    cost_and_gradient(network, theta, X, 2 * Y, "quadratic")
