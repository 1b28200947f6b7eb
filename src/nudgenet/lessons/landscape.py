"""The cost landscape: C(θ) along a line and over a plane through θ.

θ has 13,002 coordinates, so the landscape cannot be drawn whole; slices of it can.

* **Line**: C(θ − t·u) with u = ∇C/‖∇C‖, the unit downhill direction. Its slope at t = 0 is
  −‖∇C‖ (the steepest descent rate there is), and a step θ − η∇C lands at t = η‖∇C‖. The
  tangent line C(θ) − ‖∇C‖·t is the first-order promise; the curve shows what the step gets.
* **Plane**: C(θ + α·d₁ + β·d₂) for two random directions d₁, d₂. A raw random direction
  would move each layer by an amount unrelated to that layer's size, so each direction's
  per-layer block [Wˡ, bˡ] is scaled to the norm of θ's block (the layer-wise form of the
  filter normalisation of Li et al., 2018, "Visualizing the Loss Landscape of Neural Nets").
  α = 1 then moves every layer by its own size.
* **Trajectory**: θ snapshots saved during training (``nudgenet train --snapshots``) are
  placed on the plane by least squares: the (α, β) whose point is nearest each snapshot.
  Random directions are nearly orthogonal to any fixed vector in 13,002 dimensions, so the
  path mostly lies off a random plane. The plane of the path's two principal directions
  (:func:`trajectory_directions`) holds more of it, but not all: a snapshot's drawn point
  keeps only the part of its offset from θ that lies in the plane, so :func:`path_on_plane`
  reports that share for every snapshot, with the snapshot's real cost beside the cost the
  plane shows at its point.

Every function returns numbers; nothing is drawn here except by the ``draw_*`` functions.
All costs are computed in float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._types import Array, Matrix, Vector
from ..backprop import cost_and_gradient, evaluate_cost
from ..errors import ConfigError, ShapeError
from ..layout import Layout
from ..network import Network

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _float64(theta: Vector, X: Matrix, Y: Matrix) -> tuple[Vector, Matrix, Matrix]:
    return (
        np.asarray(theta, dtype=np.float64),
        np.asarray(X, dtype=np.float64),
        np.asarray(Y, dtype=np.float64),
    )


# --------------------------------------------------------------------------- line


@dataclass(frozen=True)
class LineSlice:
    """The cost along the downhill direction, C(θ − t·∇C/‖∇C‖)."""

    ts: Array  # (n,): distances moved along −∇C/‖∇C‖, in parameter units
    costs: Array  # (n,): the cost at each
    cost: float  # C(θ), at t = 0
    gradient_norm: float  # ‖∇C‖
    learning_rate: float | None  # η of the marked step, if any
    step_cost: float | None  # C(θ − η∇C), where that step lands

    @property
    def slope(self) -> float:
        """dC/dt at t = 0: −‖∇C‖, the steepest rate of descent."""
        return -self.gradient_norm

    @property
    def step_length(self) -> float | None:
        """How far the step θ → θ − η∇C moves: η‖∇C‖, its t on this line."""
        return None if self.learning_rate is None else self.learning_rate * self.gradient_norm

    def tangent(self, ts: Array) -> Array:
        """The first-order promise C(θ) − ‖∇C‖·t at each t."""
        return self.cost + self.slope * np.asarray(ts, dtype=np.float64)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "ts": self.ts.tolist(),
            "costs": self.costs.tolist(),
            "cost": self.cost,
            "gradient_norm": self.gradient_norm,
            "slope": self.slope,
            "learning_rate": self.learning_rate,
            "step_length": self.step_length,
            "step_cost": self.step_cost,
        }


def line_slice(
    network: Network,
    theta: Vector,
    X: Matrix,
    Y: Matrix,
    ts: Array,
    *,
    cost: str = "quadratic",
    learning_rate: float | None = None,
) -> LineSlice:
    """The cost at θ − t·∇C/‖∇C‖ for each t, and where a step of η lands.

    Parameters
    ----------
    network : Network
    theta : ndarray of shape (n_params,)
    X : ndarray of shape (m, sizes[0]); Y : ndarray of shape (m, sizes[-1])
        The examples the cost (and its gradient) averages over.
    ts : array of floats
        Distances along the unit downhill direction; t < 0 goes uphill.
    cost : str
    learning_rate : float, optional
        η of a step to evaluate: C(θ − η∇C).

    Examples
    --------
    >>> net = Network((1, 1))
    >>> X, Y = np.array([[1.0]]), np.array([[1.0]])
    >>> line = line_slice(net, np.zeros(2), X, Y, [0.0, 1.0])
    >>> round(line.slope, 4), bool(line.costs[1] < line.costs[0])  # −‖∇C‖ = −√(2·0.25²)
    (-0.3536, True)
    """
    theta, X, Y = _float64(theta, X, Y)
    C, gradient = cost_and_gradient(network, theta, X, Y, cost)
    norm = float(np.linalg.norm(gradient))
    if norm == 0.0:
        raise ConfigError(
            "∇C is exactly 0 at this θ: there is no downhill direction to slice along",
            help="θ is at a stationary point for these examples; try other --examples",
        )
    ts = np.asarray(ts, dtype=np.float64)
    if ts.ndim != 1:
        raise ShapeError(
            f"ts must be a 1-D array of distances, got shape {ts.shape}",
            help="give the distances along the line as one flat array, e.g. np.linspace(-1, 4, 9)",
        )
    u = gradient / norm  # the unit uphill direction; θ − t·u goes downhill for t > 0
    costs = np.array([evaluate_cost(network, theta - t * u, X, Y, cost) for t in ts])
    step_cost = None
    if learning_rate is not None:
        step_cost = evaluate_cost(network, theta - learning_rate * gradient, X, Y, cost)
    return LineSlice(
        ts=ts,
        costs=costs,
        cost=C,
        gradient_norm=norm,
        learning_rate=None if learning_rate is None else float(learning_rate),
        step_cost=step_cost,
    )


# --------------------------------------------------------------------------- directions


def normalize_per_layer(layout: Layout, direction: Vector, theta: Vector) -> Vector:
    """Scale each layer's block [Wˡ, bˡ] of ``direction`` to the norm of θ's block.

    A layer whose block of θ is all zeros keeps a block of norm 1, so the direction never
    vanishes. Returns a new vector; neither input is changed.

    Examples
    --------
    >>> layout = Layout((1, 1, 1))  # θ = [w1, b1, w2, b2]
    >>> normalize_per_layer(layout, np.ones(4), np.array([3.0, 4.0, 0.0, 0.0])).tolist()
    [3.5355339059327373, 3.5355339059327373, 0.7071067811865475, 0.7071067811865475]
    """
    layout.check(direction)
    layout.check(theta)
    out = np.asarray(direction, dtype=np.float64).copy()
    for start, stop in zip(layout.offsets[:-1], layout.offsets[1:], strict=True):
        block = out[start:stop]
        size = float(np.linalg.norm(theta[start:stop])) or 1.0
        length = float(np.linalg.norm(block))
        if length == 0.0:
            raise ConfigError(
                "a direction has an all-zero layer block and cannot be scaled",
                help="give directions with something in every layer, e.g. random_directions()",
            )
        block *= size / length
    return out


def random_directions(
    layout: Layout, theta: Vector, rng: np.random.Generator
) -> tuple[Vector, Vector]:
    """Two random directions through θ, each normalised per layer to θ's layer norms.

    Each is drawn from N(0, I) and its per-layer blocks scaled with
    :func:`normalize_per_layer`, so both have ‖d‖ = ‖θ‖ (when no layer of θ is zero).

    Examples
    --------
    >>> layout = Layout((784, 16, 16, 10))
    >>> theta = np.random.default_rng(0).normal(size=layout.n_params)
    >>> d1, d2 = random_directions(layout, theta, np.random.default_rng(1))
    >>> bool(np.isclose(np.linalg.norm(d1), np.linalg.norm(theta)))
    True
    """
    layout.check(theta)
    theta = np.asarray(theta, dtype=np.float64)
    d1, d2 = (
        normalize_per_layer(layout, rng.standard_normal(layout.n_params), theta) for _ in range(2)
    )
    return d1, d2


def trajectory_directions(snapshots: Matrix, theta: Vector) -> tuple[Vector, Vector]:
    """The two principal directions of a training path around θ, each of norm ‖θ‖.

    The right singular vectors of the matrix of snapshots − θ: the plane that holds as much
    of the path as any plane through θ can. Oriented so that the first snapshot (the
    start of training) has negative coordinates.

    Parameters
    ----------
    snapshots : ndarray of shape (k, n_params), k ≥ 3
    theta : ndarray of shape (n_params,)
    """
    snapshots = np.asarray(snapshots, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64)
    if snapshots.ndim != 2 or snapshots.shape[1] != len(theta):
        raise ShapeError(
            f"snapshots must have shape (k, {len(theta)}), got {snapshots.shape}",
            help="use the θ snapshots of a model trained with `nudgenet train --snapshots`",
        )
    offsets = snapshots - theta  # (k, n)
    _, singular, Vt = np.linalg.svd(offsets, full_matrices=False)
    if len(singular) < 2 or singular[1] <= 1e-12 * max(singular[0], 1e-300):
        raise ConfigError(
            f"the training path has fewer than two independent directions ({len(snapshots)} "
            "snapshots)",
            help="train for at least 2 epochs with --snapshots, or use random directions",
        )
    size = float(np.linalg.norm(theta)) or 1.0
    directions = []
    for v in Vt[:2]:
        if offsets[0] @ v > 0:
            v = -v
        directions.append(v * size)
    return directions[0], directions[1]


# --------------------------------------------------------------------------- plane


@dataclass(frozen=True)
class PlaneSlice:
    """The cost over a grid on the plane θ + α·d₁ + β·d₂."""

    alphas: Array  # (nα,)
    betas: Array  # (nβ,)
    costs: Array  # (nβ, nα): costs[i, j] = C(θ + alphas[j]·d₁ + betas[i]·d₂)
    cost: float  # C(θ), the plane's centre

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "alphas": self.alphas.tolist(),
            "betas": self.betas.tolist(),
            "costs": self.costs.tolist(),
            "cost": self.cost,
        }


def plane_slice(
    network: Network,
    theta: Vector,
    X: Matrix,
    Y: Matrix,
    directions: tuple[Vector, Vector],
    alphas: Array,
    betas: Array,
    *,
    cost: str = "quadratic",
) -> PlaneSlice:
    """C(θ + α·d₁ + β·d₂) for every α in ``alphas`` and β in ``betas``: len(α)·len(β) passes.

    Examples
    --------
    >>> net = Network((1, 1))
    >>> X, Y = np.array([[1.0]]), np.array([[1.0]])
    >>> d = (np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    >>> plane = plane_slice(net, np.zeros(2), X, Y, d, [-1.0, 0.0, 1.0], [0.0, 1.0])
    >>> plane.costs.shape, float(plane.costs[0, 1]) == plane.cost == 0.25
    ((2, 3), True)
    """
    theta, X, Y = _float64(theta, X, Y)
    d1, d2 = (np.asarray(d, dtype=np.float64) for d in directions)
    network.layout.check(d1)
    network.layout.check(d2)
    alphas = np.asarray(alphas, dtype=np.float64)
    betas = np.asarray(betas, dtype=np.float64)
    costs = np.empty((len(betas), len(alphas)))
    for i, beta in enumerate(betas):
        for j, alpha in enumerate(alphas):
            costs[i, j] = evaluate_cost(network, theta + alpha * d1 + beta * d2, X, Y, cost)
    return PlaneSlice(
        alphas=alphas, betas=betas, costs=costs, cost=evaluate_cost(network, theta, X, Y, cost)
    )


def project(points: Matrix, theta: Vector, directions: tuple[Vector, Vector]) -> Array:
    """Coordinates (α, β) on the plane θ + α·d₁ + β·d₂ nearest each point (least squares).

    Parameters
    ----------
    points : ndarray of shape (k, n_params) or (n_params,)
    theta : ndarray of shape (n_params,)
    directions : (d₁, d₂), each of shape (n_params,), linearly independent

    Returns
    -------
    ndarray of shape (k, 2) (or (2,) for one point)

    Examples
    --------
    >>> d = (np.array([1.0, 0.0, 0.0]), np.array([1.0, 1.0, 0.0]))
    >>> project(np.array([3.0, 2.0, 5.0]), np.zeros(3), d).round(9).tolist()  # 1·d₁ + 2·d₂ + z
    [1.0, 2.0]
    """
    theta = np.asarray(theta, dtype=np.float64)
    A = np.column_stack([np.asarray(d, dtype=np.float64) for d in directions])  # (n, 2)
    P = np.asarray(points, dtype=np.float64)
    single = P.ndim == 1
    P = np.atleast_2d(P)
    if A.shape[0] != len(theta) or P.shape[1] != len(theta):
        raise ShapeError(
            f"points, θ and the directions must all have {len(theta)} entries, got points of "
            f"shape {np.shape(points)} and directions of {A.shape[0]}",
            help="project snapshots of this very network, with directions drawn for its θ",
        )
    if np.linalg.matrix_rank(A) < 2:
        raise ConfigError(
            "the two directions are parallel: they do not span a plane",
            help="choose two independent directions, e.g. from random_directions()",
        )
    coords, *_ = np.linalg.lstsq(A, (P - theta).T, rcond=None)  # (2, k)
    coords = coords.T
    return coords[0] if single else coords


def in_plane_fraction(points: Matrix, theta: Vector, directions: tuple[Vector, Vector]) -> Array:
    """For each point, the share of its distance from θ that the plane shows (1: all of it).

    ‖projection of p − θ onto the plane‖ / ‖p − θ‖; 1 for θ itself.
    """
    P = np.atleast_2d(np.asarray(points, dtype=np.float64))
    coords = np.atleast_2d(project(P, theta, directions))
    A = np.column_stack([np.asarray(d, dtype=np.float64) for d in directions])
    in_plane = np.linalg.norm(coords @ A.T, axis=1)
    total = np.linalg.norm(P - np.asarray(theta, dtype=np.float64), axis=1)
    return np.divide(in_plane, total, out=np.ones_like(total), where=total > 0)


@dataclass(frozen=True)
class PathOnPlane:
    """Training snapshots placed on a plane, with what the plane keeps and loses of each."""

    coords: Array  # (k, 2): (α, β) of each snapshot's nearest point on the plane
    distances: Array  # (k,): ‖θ_e − θ‖, each snapshot's offset from the plane's centre
    in_plane: Array  # (k,): the share of that offset the plane holds (1 at θ itself)
    costs: Array  # (k,): the real cost C(θ_e) of each snapshot
    plane_costs: Array  # (k,): the cost at its point on the plane, what the contours show

    @property
    def shown(self) -> tuple[float, float]:
        """The least and most of any snapshot's offset that the plane holds (θ itself left out).

        One number hides how the share changes along the path (the start can lie almost in the
        plane while the last epochs, close to θ, mostly do not), so the range is reported.
        """
        away = self.in_plane[self.distances > 0]
        if not len(away):
            return 1.0, 1.0
        return float(away.min()), float(away.max())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "coords": self.coords.tolist(),
            "distances": self.distances.tolist(),
            "in_plane": self.in_plane.tolist(),
            "costs": self.costs.tolist(),
            "plane_costs": self.plane_costs.tolist(),
        }


def path_on_plane(
    network: Network,
    theta: Vector,
    snapshots: Matrix,
    X: Matrix,
    Y: Matrix,
    directions: tuple[Vector, Vector],
    *,
    cost: str = "quadratic",
) -> PathOnPlane:
    """Project each snapshot on the plane θ + α·d₁ + β·d₂ and say how faithful its point is.

    A drawn point stands for a snapshot only as far as the snapshot lies in the plane, so
    each one gets its in-plane share (:func:`in_plane_fraction`), its real cost C(θ_e) and
    the cost at its projection: 2·k cost evaluations.

    Examples
    --------
    >>> net = Network((1, 1))
    >>> X, Y = np.array([[1.0]]), np.array([[1.0]])
    >>> d = (np.array([1.0, 0.0]), np.array([0.0, 1.0]))  # the plane is all of θ-space
    >>> p = path_on_plane(net, np.zeros(2), np.array([[1.0, 1.0], [0.0, 0.0]]), X, Y, d)
    >>> p.in_plane.tolist(), bool(np.allclose(p.costs, p.plane_costs)), p.shown
    ([1.0, 1.0], True, (1.0, 1.0))
    """
    theta, X, Y = _float64(theta, X, Y)
    P = np.atleast_2d(np.asarray(snapshots, dtype=np.float64))
    coords = np.atleast_2d(project(P, theta, directions))
    A = np.column_stack([np.asarray(d, dtype=np.float64) for d in directions])
    return PathOnPlane(
        coords=coords,
        distances=np.linalg.norm(P - theta, axis=1),
        in_plane=in_plane_fraction(P, theta, directions),
        costs=np.array([evaluate_cost(network, p, X, Y, cost) for p in P]),
        plane_costs=np.array([evaluate_cost(network, theta + A @ c, X, Y, cost) for c in coords]),
    )


def percent_range(low: float, high: float) -> str:
    """Shares as a range of percentages, "25.5–99.7%", cut (not rounded) to one decimal.

    Cutting keeps 99.7% from reading as 100%, the claim that the plane holds it all.

    Examples
    --------
    >>> percent_range(0.2551, 0.9979), percent_range(1.0, 1.0)
    ('25.5–99.7%', '100%')
    """
    low_text, high_text = (f"{np.floor(1000 * x + 1e-9) / 10:g}" for x in (low, high))
    return f"{high_text}%" if low_text == high_text else f"{low_text}–{high_text}%"


# --------------------------------------------------------------------------- figures


def draw_line(line: LineSlice) -> Figure:
    """The line slice with its tangent at θ and the point a step of η lands on."""
    from ..plots import figure

    fig, ax = figure(size=(7.2, 4.6))
    ax.plot(line.ts, line.costs, color="black", lw=2, label="C(θ − t·∇C/‖∇C‖), the real cost")
    # The tangent is a local promise: draw it over the near part of the range only.
    reach = line.step_length if line.step_length else 0.25 * float(np.ptp(line.ts))
    near = np.linspace(max(line.ts.min(), -0.6 * reach), min(line.ts.max(), 1.6 * reach), 50)
    ax.plot(
        near,
        line.tangent(near),
        color="tab:orange",
        lw=1.5,
        ls="--",
        label=f"tangent at θ: slope −‖∇C‖ = {line.slope:.3g}",
    )
    ax.plot([0], [line.cost], "o", color="tab:blue", ms=8, label=f"θ now: C = {line.cost:.4g}")
    if line.step_length is not None and line.step_cost is not None:
        t, promise = line.step_length, float(line.tangent([line.step_length])[0])
        landed = f"after one step of η = {line.learning_rate:g}: C = {line.step_cost:.4g}"
        ax.plot([t], [line.step_cost], "o", color="tab:green", ms=8, label=landed)
        ax.plot(
            [t],
            [promise],
            "x",
            color="tab:orange",
            ms=8,
            mew=2,
            label=f"what the tangent promised: {promise:.4g}",
        )
        ax.annotate(
            "",
            xy=(t, line.step_cost),
            xytext=(0, line.cost),
            arrowprops={"arrowstyle": "->", "color": "tab:green", "lw": 1.5},
        )
    ax.axvline(0, color="grey", lw=0.5)
    low = float(line.costs.min())
    if line.step_length is not None and line.step_cost is not None:
        low = min(low, line.step_cost, float(line.tangent([line.step_length])[0]))
    high = float(line.costs.max())
    margin = 0.08 * (high - low or 1.0)
    ax.set_ylim(low - margin, high + margin)
    ax.set_xlabel("t: distance moved along the downhill direction −∇C/‖∇C‖ (parameter units)")
    ax.set_ylabel("cost C")
    ax.set_title("The cost along the steepest-descent line through θ")
    ax.legend(fontsize=8, loc="upper right")
    return fig


def draw_plane(
    plane: PlaneSlice,
    path: PathOnPlane | Array | None = None,
    *,
    directions: str = "random",
) -> Figure:
    """Contours of the plane slice, θ marked at the centre, and an optional projected path.

    A :class:`PathOnPlane` is drawn as points coloured by each snapshot's *real* cost C(θ_e)
    with the contours' own colour levels and colour bar: a point whose colour differs from
    the band it sits in is a snapshot the plane misrepresents. The title gives the range of
    each snapshot's offset from θ that the plane holds.

    Parameters
    ----------
    plane : PlaneSlice
    path : PathOnPlane, or ndarray of shape (k, 2) of (α, β) only, optional
        The training snapshots, first to last.
    directions : "random" or "trajectory", for the axis labels.
    """
    from matplotlib.colors import LogNorm, Normalize

    from ..plots import figure

    on_plane = path if isinstance(path, PathOnPlane) else None
    coords = on_plane.coords if on_plane is not None else path
    fig, ax = figure(size=(6.4, 5.3))
    values = [plane.costs.ravel()] + ([on_plane.costs] if on_plane is not None else [])
    low, high = float(min(v.min() for v in values)), float(max(v.max() for v in values))
    if high <= low:
        high = low + 1e-12
    # Log-spaced levels: the interesting part, the valley around θ, is where C is small. The
    # fill is fine-grained (64 bands) and the points use its norm and colour map, so a point
    # has the colour the plane has where C equals the point's real cost; the white lines mark
    # 16 levels.
    log = low > 0
    fine = np.geomspace(low, high, 65) if log else np.linspace(low, high, 65)
    levels = fine[::4]
    cmap = "viridis"
    norm = LogNorm(low, high) if log else Normalize(low, high)
    filled = ax.contourf(plane.alphas, plane.betas, plane.costs, levels=fine, norm=norm, cmap=cmap)
    ax.contour(
        plane.alphas,
        plane.betas,
        plane.costs,
        levels=levels,
        colors="white",
        linewidths=0.4,
        alpha=0.6,
    )
    label = "cost C (log scale)" if log else "cost C"
    if on_plane is not None:
        label += "; points: the real C(θ_e)"
    fig.colorbar(filled, ax=ax, label=label, ticks=fine[::16], format="%.3g")
    # Under the path, which ends here: a short path (a random plane) would vanish beneath it.
    ax.plot([0], [0], "*", color="red", ms=14, mec="white", label=f"θ: C = {plane.cost:.4g}",
            zorder=1.5)  # fmt: skip
    if coords is not None and len(coords):
        _draw_path(ax, coords, on_plane, cmap, norm)
    if directions == "random":
        kind, unit = "random direction", "1 = each layer's own size"
    else:
        kind, unit = "principal direction of the path", "1 = ‖θ‖"
    ax.set_xlabel(f"α along d₁, a {kind} ({unit})")
    ax.set_ylabel(f"β along d₂, a {kind}")
    title = (
        "The cost on a plane through θ (random directions)"
        if directions == "random"
        else "The cost on the plane of the training path"
    )
    if on_plane is not None:
        title += f"\n(it holds {percent_range(*on_plane.shown)} of each epoch's offset from θ)"
    ax.set_title(title)
    ax.set_aspect("equal")
    ax.legend(fontsize=8, loc="upper right")
    return fig


def _draw_path(ax: Any, coords: Array, on_plane: PathOnPlane | None, cmap: str, norm: Any) -> None:
    """The training path on the plane: a line, its points (coloured by their real cost when
    known), and a note at the start."""
    plain = "training path (θ after each epoch)"
    ax.plot(coords[:, 0], coords[:, 1], "-", color="white", lw=1.2, zorder=2,
            label=None if on_plane is not None else plain)  # fmt: skip
    start = "start"
    if on_plane is not None:
        ax.scatter(coords[:, 0], coords[:, 1], c=on_plane.costs, cmap=cmap, norm=norm, s=55,
                   edgecolors="black", linewidths=0.6, zorder=3,
                   label="θ after each epoch, coloured by its real cost")  # fmt: skip
        start = (
            f"start: real C = {on_plane.costs[0]:.3g},\n"
            f"the plane shows {on_plane.plane_costs[0]:.3g} here"
        )
    else:
        ax.plot(coords[:, 0], coords[:, 1], "o", color="white", mec="black", ms=5, zorder=3)
    ax.annotate(
        start, coords[0], textcoords="offset points", xytext=(6, 6), color="white", fontsize=8
    )
