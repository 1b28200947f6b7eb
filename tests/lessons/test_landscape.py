"""Landscape slices: the line's slope is −‖∇C‖, the plane is centred on C(θ), projection inverts."""

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
    init_params,
    load_mini,
    one_hot,
    to_inputs,
)
from nudgenet.lessons.landscape import (
    PathOnPlane,
    PlaneSlice,
    draw_line,
    draw_plane,
    in_plane_fraction,
    line_slice,
    normalize_per_layer,
    path_on_plane,
    percent_range,
    plane_slice,
    project,
    random_directions,
    trajectory_directions,
)
from nudgenet.plots import save

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def batch() -> tuple[np.ndarray, np.ndarray]:
    mini = load_mini()
    X = to_inputs(mini.train_images[:200], np.float64)
    return X, one_hot(mini.train_labels[:200], dtype=np.float64)


@pytest.fixture(scope="module")
def theta() -> np.ndarray:
    return init_params(Layout(), "xavier", rng=np.random.default_rng(0))


# --------------------------------------------------------------------------- line


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_line_slope_at_theta_is_minus_the_gradient_norm(theta, batch, dtype) -> None:
    X, Y = batch
    h = 1e-4
    line = line_slice(Network(), theta.astype(dtype), X, Y, [-h, 0.0, h])
    _, g = cost_and_gradient(Network(), theta.astype(dtype).astype(np.float64), X, Y)
    numerical = (line.costs[2] - line.costs[0]) / (2 * h)
    assert line.slope == -line.gradient_norm
    assert line.gradient_norm == pytest.approx(np.linalg.norm(g))
    assert numerical == pytest.approx(line.slope, rel=1e-3)
    assert line.costs[1] == pytest.approx(line.cost)


def test_line_marks_where_a_step_lands(theta, batch) -> None:
    X, Y = batch
    net = Network()
    eta = 0.7
    C, g = cost_and_gradient(net, theta, X, Y)
    step = eta * np.linalg.norm(g)
    line = line_slice(net, theta, X, Y, np.linspace(-step, 3 * step, 9), learning_rate=eta)
    assert line.step_length == pytest.approx(step)
    assert line.step_cost == pytest.approx(evaluate_cost(net, theta - eta * g, X, Y))
    assert line.costs[4] == pytest.approx(line.step_cost)  # t = step is the fifth point
    assert line.step_cost < line.cost  # downhill
    # The tangent is the first-order promise, and it promised more than the curve gives.
    assert line.tangent([step])[0] == pytest.approx(C - eta * float(g @ g))
    assert line.tangent([step])[0] < line.step_cost
    # Uphill for t < 0.
    assert line.costs[0] > line.cost
    d = line.as_dict()
    assert d["slope"] == -d["gradient_norm"]
    assert len(d["costs"]) == 9


def test_line_needs_a_gradient_and_flat_ts(batch) -> None:
    net = Network((1, 1))
    # w = 0, b = big: the sigmoid is saturated to exactly 1 = y, so ∇C = 0.
    with pytest.raises(ConfigError, match="no downhill direction"):
        line_slice(net, np.array([0.0, 800.0]), np.array([[1.0]]), np.array([[1.0]]), [0.0])
    X, Y = batch
    with pytest.raises(ShapeError, match="1-D"):
        line_slice(Network(), np.zeros(13002), X, Y, [[0.0]])


# --------------------------------------------------------------------------- directions


def _layer_norms(layout: Layout, v: np.ndarray) -> list[float]:
    bounds = zip(layout.offsets[:-1], layout.offsets[1:], strict=True)
    return [float(np.linalg.norm(v[a:b])) for a, b in bounds]


def test_random_directions_are_normalised_per_layer(theta) -> None:
    layout = Layout()
    before = theta.copy()
    d1, d2 = random_directions(layout, theta, np.random.default_rng(3))
    np.testing.assert_allclose(_layer_norms(layout, d1), _layer_norms(layout, theta))
    np.testing.assert_allclose(_layer_norms(layout, d2), _layer_norms(layout, theta))
    np.testing.assert_array_equal(theta, before)
    # Independent and nearly perpendicular in 13,002 dimensions.
    cosine = d1 @ d2 / (np.linalg.norm(d1) * np.linalg.norm(d2))
    assert abs(cosine) < 0.1
    same = random_directions(layout, theta, np.random.default_rng(3))
    other = random_directions(layout, theta, np.random.default_rng(4))
    np.testing.assert_array_equal(same[0], d1)
    assert not np.array_equal(other[0], d1)


def test_a_zero_layer_gets_a_unit_block() -> None:
    layout = Layout((2, 2, 1))
    theta = np.zeros(layout.n_params)
    theta[:6] = 2.0  # layer 1 nonzero, layer 2 all zero
    d = normalize_per_layer(layout, np.arange(1.0, layout.n_params + 1), theta)
    np.testing.assert_allclose(_layer_norms(layout, d), [np.linalg.norm(theta[:6]), 1.0])
    with pytest.raises(ConfigError, match="all-zero"):
        normalize_per_layer(layout, np.zeros(layout.n_params), theta)


def test_trajectory_directions_hold_a_planar_path() -> None:
    rng = np.random.default_rng(0)
    theta = rng.normal(size=50)
    u, v = rng.normal(size=50), rng.normal(size=50)
    coefficients = np.array([[-3.0, 1.0], [-2.0, 1.5], [-1.0, 0.5], [0.0, 0.0]])
    snapshots = theta + coefficients @ np.stack([u, v])
    d = trajectory_directions(snapshots, theta)
    assert np.linalg.norm(d[0]) == pytest.approx(np.linalg.norm(theta))
    np.testing.assert_allclose(in_plane_fraction(snapshots, theta, d), 1.0)
    path = project(snapshots, theta, d)
    assert path[0, 0] < 0  # the start has negative coordinates
    assert path[0, 1] < 0
    np.testing.assert_allclose(path[-1], 0.0, atol=1e-12)
    with pytest.raises(ConfigError, match="fewer than two independent directions"):
        trajectory_directions(snapshots[2:], theta)
    with pytest.raises(ShapeError):
        trajectory_directions(snapshots[:, :10], theta)


# --------------------------------------------------------------------------- plane


def test_plane_centre_is_the_cost_at_theta(theta, batch) -> None:
    X, Y = batch
    net = Network()
    d = random_directions(net.layout, theta, np.random.default_rng(0))
    grid = np.linspace(-0.5, 0.5, 5)
    plane = plane_slice(net, theta, X, Y, d, grid, grid[:3])
    C = evaluate_cost(net, theta, X, Y)
    assert plane.costs.shape == (3, 5)
    assert plane.cost == pytest.approx(C)
    full = plane_slice(net, theta, X, Y, d, grid, grid)
    assert full.costs[2, 2] == pytest.approx(C)
    # Rows are β, columns α.
    i, j = 0, 4
    expected = evaluate_cost(net, theta + grid[j] * d[0] + grid[i] * d[1], X, Y)
    assert full.costs[i, j] == pytest.approx(expected)
    assert len(full.as_dict()["costs"]) == 5


@pytest.mark.parametrize(("a", "b"), [(0.3, -0.7), (0.0, 0.0), (-2.5, 1e-3)])
def test_projection_recovers_the_coordinates(theta, a, b) -> None:
    layout = Layout()
    d = random_directions(layout, theta, np.random.default_rng(1))
    point = theta + a * d[0] + b * d[1]
    np.testing.assert_allclose(project(point, theta, d), [a, b], atol=1e-10)
    # A component off the plane does not move the projection.
    off = np.random.default_rng(2).normal(size=layout.n_params)
    A = np.column_stack(d)
    off -= A @ np.linalg.lstsq(A, off, rcond=None)[0]
    np.testing.assert_allclose(project(point + off, theta, d), [a, b], atol=1e-10)
    both = project(np.stack([point, point + off]), theta, d)
    assert both.shape == (2, 2)
    fractions = in_plane_fraction(np.stack([point, point + off]), theta, d)
    assert fractions[0] == pytest.approx(1.0)
    if (a, b) != (0.0, 0.0):
        assert fractions[1] < 1.0


def test_projection_rejects_parallel_directions_and_bad_shapes() -> None:
    d = np.ones(4)
    with pytest.raises(ConfigError, match="parallel"):
        project(np.zeros(4), np.zeros(4), (d, 2 * d))
    with pytest.raises(ShapeError):
        project(np.zeros(3), np.zeros(4), (d, np.arange(4.0)))


# --------------------------------------------------------------------------- figures


def test_figures_are_written(theta, batch, tmp_path: Path) -> None:
    X, Y = batch
    net = Network()
    line = line_slice(net, theta, X, Y, np.linspace(-1, 3, 7), learning_rate=1.0)
    d = random_directions(net.layout, theta, np.random.default_rng(0))
    grid = np.linspace(-1, 1, 5)
    plane = plane_slice(net, theta, X, Y, d, grid, grid)
    path = np.array([[-0.5, 0.2], [-0.1, 0.1], [0.0, 0.0]])
    line_fig = draw_line(line)
    assert np.allclose(line_fig.axes[0].lines[0].get_ydata(), line.costs)
    files = save(line_fig, tmp_path / "line.png")
    plane_fig = draw_plane(plane, path)
    path_line = [ln for ln in plane_fig.axes[0].lines if len(ln.get_xdata()) == 3]
    np.testing.assert_allclose(path_line[0].get_xydata(), path)
    files += save(plane_fig, tmp_path / "plane.png")
    files += save(draw_plane(plane, directions="trajectory"), tmp_path / "path.png")
    assert all(f.read_bytes()[:8] == PNG for f in files)


# --------------------------------------------------------------------------- the path, honestly


def _bent_path(theta: np.ndarray, d: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, list]:
    """Snapshots with a known share in the plane: in-plane part a·d₁ + b·d₂, and a part off it."""
    rng = np.random.default_rng(5)
    A = np.column_stack(d)
    off = rng.normal(size=len(theta))
    off -= A @ np.linalg.lstsq(A, off, rcond=None)[0]  # perpendicular to the plane
    off *= np.linalg.norm(d[0]) / np.linalg.norm(off)
    rows, shares = [], []
    for a, b, z in [(-0.8, -0.3, 0.05), (-0.4, 0.1, 0.3), (-0.1, 0.05, 0.2), (0.0, 0.0, 0.0)]:
        inside, outside = a * d[0] + b * d[1], z * off
        rows.append(theta + inside + outside)
        total = np.linalg.norm(inside + outside)
        shares.append(np.linalg.norm(inside) / total if total else 1.0)
    return np.stack(rows), shares


def test_path_on_plane_says_how_much_of_each_snapshot_it_holds(theta, batch) -> None:
    X, Y = batch
    net = Network()
    d = random_directions(net.layout, theta, np.random.default_rng(1))
    snapshots, shares = _bent_path(theta, d)
    path = path_on_plane(net, theta, snapshots, X, Y, d)
    np.testing.assert_allclose(path.in_plane, shares, rtol=1e-9)
    np.testing.assert_allclose(path.coords, project(snapshots, theta, d))
    np.testing.assert_allclose(path.distances, np.linalg.norm(snapshots - theta, axis=1))
    # The real cost of each snapshot, and the (different) cost at its point on the plane.
    for k, snapshot in enumerate(snapshots):
        a, b = path.coords[k]
        assert path.costs[k] == pytest.approx(evaluate_cost(net, snapshot, X, Y))
        assert path.plane_costs[k] == pytest.approx(
            evaluate_cost(net, theta + a * d[0] + b * d[1], X, Y)
        )
    assert path.costs[1] != pytest.approx(path.plane_costs[1])  # 30% off the plane
    # The range leaves out θ itself, whose share is 1 by convention only.
    assert path.in_plane[-1] == 1.0
    assert path.shown == (pytest.approx(min(shares[:3])), pytest.approx(max(shares[:3])))
    assert path.shown[1] < 1.0
    assert set(path.as_dict()) == {"coords", "distances", "in_plane", "costs", "plane_costs"}


def test_percent_range_never_rounds_up_to_all() -> None:
    assert percent_range(0.2551, 0.9968) == "25.5–99.6%"
    assert percent_range(0.9999, 0.9999) == "99.9%"
    assert percent_range(1.0, 1.0) == "100%"


def test_the_path_figure_colours_points_by_their_real_cost() -> None:
    grid = np.linspace(-1.0, 1.0, 5)
    plane = PlaneSlice(grid, grid, np.exp(np.add.outer(grid, grid)), cost=1.0)
    # The start lies mostly in the plane, but its real cost (3.0) is not the plane's (0.4).
    path = PathOnPlane(
        coords=np.array([[-0.9, -0.6], [-0.3, 0.1], [0.0, 0.0]]),
        distances=np.array([1.0, 0.4, 0.0]),
        in_plane=np.array([0.97, 0.31, 1.0]),
        costs=np.array([3.0, 0.9, 1.0]),
        plane_costs=np.array([0.4, 0.8, 1.0]),
    )
    fig = draw_plane(plane, path, directions="trajectory")
    ax = fig.axes[0]
    filled = ax.collections[0]
    points = ax.collections[-1]
    np.testing.assert_allclose(points.get_offsets(), path.coords)
    np.testing.assert_allclose(points.get_array(), path.costs)  # the real costs, not the plane's
    # One colour scale for the contours and the points: the colour bar reads both.
    assert points.norm is filled.norm
    assert points.get_cmap().name == filled.get_cmap().name
    assert filled.norm.vmin <= path.costs.min()
    assert filled.norm.vmax >= path.costs.max()
    start, band = (points.to_rgba(c) for c in (path.costs[0], path.plane_costs[0]))
    assert not np.allclose(start, band)  # a mismatch shows as a colour off its band
    assert len([a for a in fig.axes if a is not ax]) == 1  # one colour bar
    title = ax.get_title()
    assert "31–97%" in title
    assert "100%" not in title
    assert "start: real C = 3" in " ".join(t.get_text() for t in ax.texts)
