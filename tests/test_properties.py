"""Property-based tests (hypothesis) of the math engine: invariants over many random cases."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nudgenet import (
    Layout,
    Network,
    check_gradient,
    descend,
    get_cost,
    make_schedule,
    quadratic,
)
from nudgenet.schedules import SCHEDULES

FAST = settings(max_examples=40, deadline=None)

layer_sizes = st.lists(st.integers(1, 6), min_size=2, max_size=6)  # 1–5 weight layers


@settings(max_examples=100, deadline=None)
@given(
    sizes=layer_sizes,
    activation=st.sampled_from(["sigmoid", "tanh", "relu"]),
    output=st.sampled_from(["sigmoid", "softmax"]),
    cost=st.sampled_from(["quadratic", "cross-entropy"]),
    m=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_gradient_check_passes(
    sizes: list[int], activation: str, output: str, cost: str, m: int, seed: int
) -> None:
    # "scaled" keeps every z of order 1. With N(0, 1) or constant weights, deep ReLU nets blow
    # activations up until the outputs saturate; then the finite difference (round-off, the
    # clipped log), not backprop, is what loses accuracy.
    network = Network(tuple(sizes), activation, output)
    check = check_gradient(network, cost=cost, init="scaled", m=m, rng=np.random.default_rng(seed))
    assert check.max_relative_error < 1e-6, check


@FAST
@given(sizes=layer_sizes)
def test_views_cover_theta_exactly_once(sizes: list[int]) -> None:
    layout = Layout(tuple(sizes))
    theta = np.zeros(layout.n_params)
    for (W, b), (w_shape, b_shape) in zip(layout.views(theta), layout.shapes, strict=True):
        assert W.shape == w_shape
        assert b.shape == b_shape
        assert np.shares_memory(W, theta)
        assert np.shares_memory(b, theta)
        W += 1.0
        b += 1.0
    np.testing.assert_array_equal(theta, 1.0)  # every entry touched exactly once
    expected = sum(n_out * n_in + n_out for n_in, n_out in pairwise(sizes))
    assert layout.n_params == expected
    mask = layout.weight_mask()
    assert mask.sum() == sum(n_out * n_in for n_in, n_out in pairwise(sizes))


@FAST
@given(sizes=layer_sizes, data=st.data())
def test_locate_inverts_views(sizes: list[int], data: st.DataObject) -> None:
    layout = Layout(tuple(sizes))
    index = data.draw(st.integers(0, layout.n_params - 1))
    theta = np.zeros(layout.n_params)
    theta[index] = 1.0
    layer, kind, pos = layout.locate(index)
    W, b = layout.views(theta)[layer - 1]
    assert (W if kind == "weight" else b)[pos] == 1.0


finite = st.floats(-10.0, 10.0, allow_nan=False)
probability = st.floats(0.0, 1.0)


@FAST
@given(shape=st.tuples(st.integers(1, 5), st.integers(1, 5)), data=st.data())
def test_quadratic_cost_non_negative_and_zero_iff_equal(
    shape: tuple[int, int], data: st.DataObject
) -> None:
    a = data.draw(arrays(np.float64, shape, elements=finite))
    y = data.draw(arrays(np.float64, shape, elements=finite))
    C = quadratic(a, y)
    assert C >= 0.0
    assert quadratic(a, a.copy()) == 0.0
    gap = float(np.max(np.abs(a - y)))
    if gap > 1e-150:  # (a − y)² is representable: any difference makes C positive
        assert C > 0.0
    if C == 0.0:
        assert gap <= 1e-150
    if np.array_equal(a, y):
        assert C == 0.0


@FAST
@given(
    n_out=st.integers(1, 6),
    m=st.integers(1, 5),
    output=st.sampled_from(["sigmoid", "softmax"]),
    data=st.data(),
)
def test_cross_entropy_non_negative(n_out: int, m: int, output: str, data: st.DataObject) -> None:
    a = data.draw(arrays(np.float64, (m, n_out), elements=probability))
    labels = data.draw(arrays(np.intp, m, elements=st.integers(0, n_out - 1)))
    y = np.eye(n_out)[labels]
    assert get_cost("cross-entropy", output).value(a, y) >= 0.0
    assert get_cost("cross-entropy", output).value(y, y) == 0.0


@FAST
@given(
    name=st.sampled_from(SCHEDULES),
    lr=st.floats(1e-6, 100.0),
    total=st.integers(1, 100_000),
    per_epoch=st.integers(1, 10_000),
    ks=st.lists(st.integers(0, 100_000), min_size=2, max_size=20),
)
def test_schedules_positive_and_non_increasing(
    name: str, lr: float, total: int, per_epoch: int, ks: list[int]
) -> None:
    schedule = make_schedule(name, lr, total_steps=total, steps_per_epoch=per_epoch)
    steps = sorted(k % total for k in ks)  # the steps training takes: 0 … total − 1
    rates = [schedule(k) for k in steps]
    assert all(r > 0.0 for r in rates)
    assert all(r <= lr for r in rates)
    assert schedule(0) == lr
    if name != "constant":
        assert all(a >= b for a, b in pairwise(rates))
    else:
        assert set(rates) == {lr}


@FAST
@given(
    curvature=arrays(np.float64, 3, elements=st.floats(0.1, 10.0)),
    start=arrays(np.float64, 3, elements=st.floats(-100.0, 100.0)),
    eta_fraction=st.floats(0.01, 0.99),
)
def test_small_step_on_a_convex_bowl_never_increases_cost(
    curvature: np.ndarray, start: np.ndarray, eta_fraction: float
) -> None:
    """C = Σ cᵢ θᵢ², ∇C = 2cθ; any η < 1/max(c) is a descent step (θᵢ shrinks by 1 − 2ηcᵢ)."""

    def bowl(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return float(np.sum(curvature * theta**2)), 2.0 * curvature * theta

    eta = eta_fraction / float(np.max(curvature))
    theta = start.copy()
    costs = [s.cost for s in descend(bowl, theta, eta, steps=5)]
    costs.append(bowl(theta)[0])
    assert all(b <= a for a, b in pairwise(costs))
