"""Tests for nudgenet.lessons.curvature: the reading, the threshold, the edge of stability."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nudgenet import Network, evaluate_cost, load_mini, one_hot
from nudgenet.errors import ConfigError
from nudgenet.hessian import full_hessian, spectrum, top_eigenpairs
from nudgenet.lessons.curvature import (
    EDGE_BAND,
    Curvature,
    Link,
    Sharpening,
    Threshold,
    Trial,
    _examples,
    draw_eigenvectors,
    draw_line,
    draw_link,
    first_layer_images,
    full_batch_run,
    learning_rate_link,
    measure_threshold,
    read_curvature,
    track_sharpness,
)
from nudgenet.training.loop import TrainSettings
from nudgenet.training.recipe import Recipe, fit


def small_problem(seed: int = 0, sizes=(16, 5, 3), m: int = 12):
    rng = np.random.default_rng(seed)
    net = Network(sizes)
    theta = rng.normal(0.0, 1.0, net.n_params)
    X = rng.uniform(0.0, 1.0, (m, sizes[0]))
    Y = one_hot(rng.integers(0, sizes[-1], m), sizes[-1], np.float64)
    return net, theta, X, Y


def test_reading_agrees_with_the_full_spectrum() -> None:
    net, theta, X, Y = small_problem()
    c = read_curvature(net, theta, X, Y, top=4, full=True, rng=np.random.default_rng(0))
    everything = spectrum(full_hessian(net, theta, X, Y))
    np.testing.assert_allclose(c.top_eigenvalues, everything[::-1][:4], rtol=1e-8)
    np.testing.assert_allclose(c.eigenvalues, everything, atol=1e-12)
    assert c.lambda_max == c.top_eigenvalues[0] == pytest.approx(everything[-1])
    assert c.critical_lr == 2 / c.lambda_max
    counts = c.counts()
    assert counts is not None
    assert sum(counts.values()) == net.n_params
    assert c.negative_count == int(np.sum(everything < -c.tolerance))
    d = c.as_dict()
    assert d["critical_lr"] == 2 / d["lambda_max"]
    assert d["top_eigenvalues"] == sorted(d["top_eigenvalues"], reverse=True)
    assert d["negative_count"] == c.negative_count
    assert d["saddle"] == (c.negative_count > 0)


def test_without_full_there_is_no_count() -> None:
    net, theta, X, Y = small_problem(1)
    c = read_curvature(net, theta, X, Y, top=2, rng=np.random.default_rng(0))
    assert c.eigenvalues is None
    assert c.negative_count is None
    assert "negative_count" not in c.as_dict()


def test_the_quadratic_model_is_second_order_along_the_top_eigenvector() -> None:
    net, theta, X, Y = small_problem(2)
    c = read_curvature(net, theta, X, Y, top=1, rng=np.random.default_rng(0))
    line = c.line
    mid = len(line.ts) // 2
    assert line.ts[mid] == 0
    assert line.costs[mid] == pytest.approx(c.cost, abs=1e-15)
    u = c.vectors[0]
    # The model's error shrinks as t³: halving t divides it by about 8.
    t = line.ts[mid + 4]
    errors = [
        abs(
            evaluate_cost(net, theta + s * u, X, Y)
            - (c.cost + line.slope * s + 0.5 * c.lambda_max * s * s)
        )
        for s in (t, t / 2)
    ]
    assert errors[1] < errors[0] / 5
    np.testing.assert_allclose(
        line.model, c.cost + line.slope * line.ts + 0.5 * c.lambda_max * line.ts**2
    )


def test_top_is_bounded() -> None:
    net, theta, X, Y = small_problem()
    with pytest.raises(ConfigError, match="top must be a whole number in"):
        read_curvature(net, theta, X, Y, top=51, rng=np.random.default_rng(0))


def test_a_full_batch_run_is_judged_by_its_own_costs() -> None:
    net, theta, X, Y = small_problem()
    before = theta.copy()
    start = evaluate_cost(net, theta, X, Y)
    calm = full_batch_run(net, theta, X, Y, 0.1, 5)
    assert not calm.diverged
    assert calm.final_cost <= start
    wild = full_batch_run(net, theta, X, Y, 1e5, 5)
    assert wild.diverged == (not wild.final_cost <= start)
    np.testing.assert_array_equal(theta, before)  # θ is left unchanged


@pytest.mark.slow
def test_the_measured_threshold_is_near_the_predicted_one_from_a_trained_point() -> None:
    data = load_mini()
    X, Y = _examples(data, 100)
    net = Network()
    settings = TrainSettings(epochs=100, batch_size=10, lr=1.0)
    theta = fit(Recipe(net, settings, seed=0, dtype="float64"), data, train_size=100).theta
    (lam,), _ = top_eigenpairs(net, theta, X, Y, 1, rng=np.random.default_rng(0))
    low, high, trials = measure_threshold(net, theta, X, Y, 2 / lam, steps=50, bisections=4)
    by_rate = {t.learning_rate: t for t in trials}
    assert not by_rate[low].diverged
    assert by_rate[high].diverged
    assert high / low <= 2 ** (2 / 2**4) * (1 + 1e-12)  # four halvings of [guess/2, 2·guess]
    ratio = math.sqrt(low * high) * lam / 2
    assert 0.9 < ratio < 2.0  # the curvature predicts where descent breaks


def test_threshold_figures() -> None:
    t = Threshold(0, 0.01, 0.05, 42.0, 43.0, (Trial(42.0, 0.009, False), Trial(43.0, 1.0, True)))
    assert t.predicted == 40.0
    assert t.measured == math.sqrt(42 * 43)
    assert t.ratio == pytest.approx(t.measured / 40)
    assert t.as_dict()["trials"][1] == {"learning_rate": 43.0, "final_cost": 1.0, "diverged": True}


def test_sharpening_summaries() -> None:
    s = Sharpening(0, 5.0, (0, 10, 20, 30, 40), (0.9, 0.1, 0.6, 0.42, 0.2), (2, 1, 0.5, 0.3, 0.2))
    assert s.edge == 0.4
    np.testing.assert_allclose(s.ratios, [2.25, 0.25, 1.5, 1.05, 0.5])
    assert s.peak() == (pytest.approx(1.5), 20)  # the start is the initial θ's, left out
    low, high = EDGE_BAND
    assert s.near_edge() == (30,)
    assert low <= 1.05 <= high
    assert s.as_dict()["near_edge_steps"] == [30]


def test_tracking_measures_lambda_max_where_it_says() -> None:
    net, theta, X, Y = small_problem(3)
    before = theta.copy()
    s = track_sharpness(net, theta, X, Y, 0.5, steps=6, every=3)
    assert s.steps == (0, 3, 6)
    (first,), _ = top_eigenpairs(net, theta, X, Y, 1, rng=np.random.default_rng(9))
    assert s.sharpness[0] == pytest.approx(first, rel=1e-4)
    np.testing.assert_array_equal(theta, before)
    assert s.costs[0] == pytest.approx(evaluate_cost(net, theta, X, Y))
    with pytest.raises(ConfigError, match="measure λ_max every"):
        track_sharpness(net, theta, X, Y, 0.5, steps=6, every=7)


@pytest.mark.slow
def test_the_link_end_to_end_and_its_figure() -> None:
    link = learning_rate_link(
        (0,),
        examples=60,
        train_epochs=5,
        steps=10,
        bisections=2,
        edge_rates=(5.0,),
        edge_steps=20,
        every=10,
    )
    assert isinstance(link, Link)
    (t,) = link.thresholds
    assert t.low < t.high
    assert any(not x.diverged and x.learning_rate == t.low for x in t.trials)
    assert any(x.diverged and x.learning_rate == t.high for x in t.trials)
    (s,) = link.sharpenings
    assert s.steps == (0, 10, 20)
    d = link.as_dict()
    assert d["thresholds"][0]["predicted"] == 2 / d["thresholds"][0]["lambda_max"]
    assert draw_link(link) is not None


def test_eigenvector_pictures() -> None:
    net = Network((784, 3, 10))
    rng = np.random.default_rng(0)
    u = rng.standard_normal(net.n_params)
    u /= np.linalg.norm(u)
    energy, neuron, share = first_layer_images(net, u)
    W = net.layout.views(u)[0][0]
    assert energy.shape == neuron.shape == (28, 28)
    assert share == pytest.approx(float(np.sum(W * W)))
    np.testing.assert_allclose(energy.ravel(), np.linalg.norm(W, axis=0))
    with pytest.raises(ConfigError, match="not a square image"):
        first_layer_images(Network((5, 2, 3)), np.ones(Network((5, 2, 3)).n_params))
    X = rng.uniform(0, 1, (20, 784))
    Y = one_hot(rng.integers(0, 10, 20), 10, np.float64)
    theta = rng.normal(0, 0.1, net.n_params)
    c = read_curvature(net, theta, X, Y, top=2, rng=np.random.default_rng(0))
    assert isinstance(c, Curvature)
    assert draw_eigenvectors(c, net) is not None
    assert draw_line(c) is not None
