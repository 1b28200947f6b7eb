"""Nudges: naming gradient components, the sign rule, the first-order promise, what one wants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nudgenet import (
    ConfigError,
    Layout,
    Network,
    ShapeError,
    cost_and_gradient,
    evaluate_cost,
    feedforward,
    init_params,
    load_mini,
    one_hot,
    to_inputs,
)
from nudgenet.lessons.nudges import (
    PROMISE_TOLERANCE,
    FirstOrderCheck,
    component_description,
    component_name,
    draw_example_wants,
    example_wants,
    first_order_check,
    largest_nudges,
    promise_summary,
)
from nudgenet.plots import save

SEED = Layout((784, 16, 16, 10))


@pytest.fixture(scope="module")
def batch() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mini = load_mini()
    X = to_inputs(mini.train_images[:300], np.float64)
    return X, one_hot(mini.train_labels[:300], dtype=np.float64), mini.train_labels[:300]


@pytest.fixture(scope="module")
def theta() -> np.ndarray:
    return init_params(SEED, "xavier", rng=np.random.default_rng(0))


# --------------------------------------------------------------------------- naming


@pytest.mark.parametrize(
    ("index", "name", "description"),
    [
        (0, "W1[0, 0]", "weight to layer-1 neuron 0 from pixel (0, 0)"),
        (5 * 784 + 29, "W1[5, 29]", "weight to layer-1 neuron 5 from pixel (1, 1)"),
        (16 * 784 + 15, "b1[15]", "bias of layer-1 neuron 15"),
        (16 * 785 + 2 * 16 + 7, "W2[2, 7]", "weight to layer-2 neuron 2 from layer-1 neuron 7"),
        (16 * 785 + 16 * 17 + 9 * 16 + 3, "W3[9, 3]", "weight to output 9 from layer-2 neuron 3"),
        (13001, "b3[9]", "bias of output 9"),
    ],
)
def test_components_are_named_by_layer_and_position(index, name, description) -> None:
    assert component_name(SEED, index) == name
    assert component_description(SEED, index) == description


def test_non_square_inputs_are_named_as_inputs() -> None:
    assert component_description(Layout((5, 2)), 3) == "weight to output 0 from input 3"


def test_names_cover_every_component_once() -> None:
    layout = Layout((6, 3, 2))
    names = [component_name(layout, i) for i in range(layout.n_params)]
    assert len(set(names)) == layout.n_params


# --------------------------------------------------------------------------- largest nudges


def test_largest_nudges_are_sorted_and_follow_the_sign_rule(theta, batch) -> None:
    X, Y, _ = batch
    _, gradient = cost_and_gradient(Network(), theta, X, Y)
    eta = 0.5
    top = largest_nudges(SEED, gradient, eta, k=25)
    assert len(top) == 25
    sizes = [abs(n.derivative) for n in top]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] == pytest.approx(np.abs(gradient).max())
    # No component left out is larger than the smallest listed.
    rest = np.delete(np.abs(gradient), [n.index for n in top])
    assert rest.max() <= sizes[-1]
    median = np.median(np.abs(gradient))
    for n in top:
        assert n.derivative == gradient[n.index]
        assert n.nudge == pytest.approx(-eta * n.derivative)
        assert n.direction == ("decrease" if n.derivative > 0 else "increase")
        assert n.times_median == pytest.approx(abs(n.derivative) / median)
        assert SEED.locate(n.index) == (n.layer, n.kind, n.position)


def test_first_layer_weights_carry_their_pixel() -> None:
    gradient = np.zeros(SEED.n_params)
    gradient[3 * 784 + 14 * 28 + 20] = -2.0  # W1[3, 412]: pixel row 14, column 20
    gradient[-1] = 1.0  # b3[9]
    first, second = largest_nudges(SEED, gradient, 0.1, k=2)
    assert (first.name, first.pixel, first.direction) == ("W1[3, 412]", (14, 20), "increase")
    assert first.nudge == pytest.approx(0.2)
    assert (second.name, second.pixel, second.direction) == ("b3[9]", None, "decrease")
    assert first.times_median is None  # the median is 0: no ratio to it
    assert first.as_dict()["direction"] == "increase"


def test_largest_nudges_rejects_bad_input() -> None:
    with pytest.raises(ConfigError, match="positive integer"):
        largest_nudges(SEED, np.zeros(SEED.n_params), 0.1, k=0)
    with pytest.raises(ShapeError):
        largest_nudges(SEED, np.zeros(10), 0.1)
    assert len(largest_nudges(Layout((2, 1)), np.ones(3), 0.1, k=50)) == 3


# --------------------------------------------------------------------------- one step


@pytest.mark.parametrize("eta", [0.01, 0.05, 0.1])
def test_first_order_prediction_holds_for_small_steps(theta, batch, eta) -> None:
    X, Y, _ = batch
    net = Network()
    check = first_order_check(net, theta, X, Y, eta)
    C, g = cost_and_gradient(net, theta, X, Y)
    assert check.cost_before == pytest.approx(C)
    assert check.predicted_change == pytest.approx(-eta * float(g @ g))
    assert check.cost_after == pytest.approx(evaluate_cost(net, theta - eta * g, X, Y))
    assert check.actual_change == pytest.approx(check.cost_after - check.cost_before)
    assert check.actual_change < 0
    assert check.relative_difference < 0.05


def test_first_order_prediction_fails_for_large_steps(theta, batch) -> None:
    X, Y, _ = batch
    net = Network()
    small, large = (first_order_check(net, theta, X, Y, eta) for eta in (0.01, 3.0))
    assert large.relative_difference > 0.2 > small.relative_difference
    assert large.actual_change > large.predicted_change  # the cost bends up: less than promised


def _check(eta: float, off: float) -> FirstOrderCheck:
    """A step whose real change is 1 and whose prediction is ``off`` of it away."""
    return FirstOrderCheck(eta, 2.0, 1.0, -(1.0 + off), -1.0)


@pytest.mark.parametrize(
    ("off", "verdict"),
    [(0.0253, "holds to 2.53%"), (0.018, "holds to 1.8%"), (0.0999, "holds to 9.99%"),
     (0.1001, "fails: off by 10%"), (0.422, "fails: off by 42.2%")],
)  # fmt: skip
def test_the_verdict_is_the_measured_error_against_the_tolerance(off, verdict) -> None:
    check = _check(1.0, off)
    assert check.relative_difference == pytest.approx(off)
    assert check.verdict() == verdict
    assert check.holds() == (off <= PROMISE_TOLERANCE) == check.as_dict()["holds"]


def test_the_summary_follows_the_numbers_not_the_rule_of_thumb() -> None:
    # Near a minimum even η = 1 is only 2% off: the promise holds at every step tried.
    near_minimum = [_check(0.01, 0.0002), _check(0.1, 0.002), _check(1.0, 0.018)]
    assert promise_summary(near_minimum) == (
        "it holds at every η here, up to 1: over these steps C stays close to its tangent"
    )
    fresh = [_check(0.01, 0.0025), _check(0.1, 0.027), _check(1.0, 0.42)]
    assert promise_summary(fresh).startswith("it holds up to η = 0.1 and fails from η = 1")
    assert promise_summary([_check(1.0, 0.5), _check(10.0, 2.0)]).startswith("it fails at every")
    odd = promise_summary([_check(0.1, 0.3), _check(1.0, 0.01)])
    assert odd == "it holds at η = 1 only (1 of 2 steps fail)"
    with pytest.raises(ConfigError, match="no first-order checks"):
        promise_summary([])


def test_first_order_check_uses_a_given_gradient_and_keeps_theta(theta, batch) -> None:
    X, Y, _ = batch
    before = theta.copy()
    net = Network()
    _, g = cost_and_gradient(net, theta, X, Y)
    a = first_order_check(net, theta, X, Y, 0.1)
    b = first_order_check(net, theta, X, Y, 0.1, gradient=g)
    assert a == b
    np.testing.assert_array_equal(theta, before)
    with pytest.raises(ConfigError, match="learning rate"):
        first_order_check(net, theta, X, Y, 0.0)


def test_first_order_check_by_hand() -> None:
    # One sigmoid neuron, w = b = 0, x = 1, y = 1: C = 0.25, ∇C = (−0.25, −0.25).
    net = Network((1, 1))
    check = first_order_check(net, np.zeros(2), np.array([[1.0]]), np.array([[1.0]]), 0.1)
    assert check.predicted_change == pytest.approx(-0.1 * 0.125)
    z = 0.1 * 0.25 * 2  # w and b both become 0.025: z = 0.05
    expected = (1 / (1 + np.exp(-z)) - 1) ** 2 - 0.25
    assert check.actual_change == pytest.approx(expected)


# --------------------------------------------------------------------------- one example


def test_an_example_wants_its_label_up_and_the_rest_down(theta, batch) -> None:
    X, _, labels = batch
    net = Network()
    for i in range(20):
        wants = example_wants(net, theta, X[i], int(labels[i]), learning_rate=0.1, index=i)
        for o in wants.outputs:
            if o.neuron == labels[i]:
                assert (o.target, o.wants) == (1.0, "up")
                assert o.bias_derivative < 0 < o.bias_nudge  # a < 1: raise the bias
            else:
                assert (o.target, o.wants) == (0.0, "down")
                assert o.bias_derivative > 0 > o.bias_nudge
            assert o.agrees
            assert o.bias_nudge == pytest.approx(-0.1 * o.bias_derivative)


def test_example_gradient_is_that_examples_own(theta, batch) -> None:
    X, Y, labels = batch
    net = Network()
    wants = example_wants(net, theta, X[7], int(labels[7]), index=7)
    C, g = cost_and_gradient(net, theta, X[7:8], Y[7:8])
    assert wants.cost == pytest.approx(C)
    np.testing.assert_allclose(wants.gradient, g)
    assert (wants.index, wants.label) == (7, int(labels[7]))
    # Weights into output j move like its bias, in proportion to the hidden activation below.
    hidden = feedforward(net, theta, X[7:8])[-2][0]
    for o in wants.outputs:
        np.testing.assert_allclose(o.weight_nudges, o.bias_nudge * hidden)
    # The wishes for the last hidden layer are what backprop turns into its bias gradient.
    db2 = net.layout.views(wants.gradient)[1][1]
    np.testing.assert_allclose(db2, -wants.hidden_wants * hidden * (1 - hidden))
    d = wants.as_dict()
    assert len(d["outputs"]) == 10
    assert sum(o["wants"] == "up" for o in d["outputs"]) == 1


def test_example_wants_rejects_a_label_out_of_range(theta, batch) -> None:
    with pytest.raises(ConfigError, match=r"label must be in 0\.\.9"):
        example_wants(Network(), theta, batch[0][0], 10)


def test_example_figure(theta, batch, tmp_path: Path) -> None:
    X, _, labels = batch
    net = Network()
    wants = example_wants(net, theta, X[0], int(labels[0]))
    fig = draw_example_wants(wants, net)
    images = [ax.get_images()[0].get_array() for ax in fig.get_axes() if ax.get_images()]
    assert len(images) == 17  # the digit and 16 neurons
    np.testing.assert_allclose(images[0], X[0].reshape(28, 28))
    W1_grad = net.layout.views(wants.gradient)[0][0]
    np.testing.assert_allclose(images[1], -W1_grad[0].reshape(28, 28))
    # Blank pixels get no nudge.
    assert np.all(images[5][X[0].reshape(28, 28) == 0] == 0)
    written = save(fig, tmp_path / "wants.png", ("png", "svg"))
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in written[1].read_bytes()
