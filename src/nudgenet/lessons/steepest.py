"""Why the negative gradient: −∇C is the steepest way down, measured on the real network.

Move θ a little along a unit direction u (‖u‖ = 1): the cost changes at the rate
∇C·u, the slope along u. By the Cauchy–Schwarz inequality |∇C·u| ≤ ‖∇C‖‖u‖ = ‖∇C‖, with
equality only when u points along ±∇C: the slope along u* = −∇C/‖∇C‖ is exactly −‖∇C‖, the
steepest fall there is, and no other direction comes close. This lesson checks it on the
13,002-parameter network: the slopes along many random unit directions against ‖∇C‖, and the
slopes themselves by central finite differences, (C(θ + h·u) − C(θ − h·u)) / 2h.

It also shows the high-dimensional view the note cannot draw: in 13,002 dimensions a random
direction is almost perpendicular to ∇C (its cosine with −∇C is about ±1/√13,002 ≈ ±0.009),
so a random step barely changes the cost, and the best of a thousand random directions is
still dozens of times less steep than −∇C.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._types import Matrix, Vector
from ..backprop import cost_and_gradient, evaluate_cost
from ..errors import ConfigError
from ..network import Network

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DIRECTIONS = 1000
"""Random unit directions compared with −∇C (the note's "1,000")."""
MAX_DIRECTIONS = 100_000
"""Most random directions one comparison draws (each is a vector of 13,002 numbers)."""
CHECKED = 5
"""Random directions whose slope is also checked by finite differences (two costs each)."""
H = 1e-5
"""The step of the central differences, in parameter units along a unit direction."""
_CHUNK = 250  # directions drawn at once: 250 × 13,002 float64 is 26 MB


@dataclass(frozen=True)
class SlopeCheck:
    """One direction's slope ∇C·u against the central difference along it."""

    name: str  # "−∇C/‖∇C‖" or "random #i"
    slope: float  # ∇C·u, from backpropagation
    finite_difference: float  # (C(θ + h·u) − C(θ − h·u)) / 2h

    @property
    def relative_error(self) -> float:
        """|slope − finite difference| / max(|slope|, |finite difference|, 1e-12)."""
        scale = max(abs(self.slope), abs(self.finite_difference), 1e-12)
        return abs(self.slope - self.finite_difference) / scale

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "direction": self.name,
            "slope": self.slope,
            "finite_difference": self.finite_difference,
            "relative_error": self.relative_error,
        }


@dataclass(frozen=True)
class Steepest:
    """Random unit directions against −∇C at one θ of the network."""

    cost: float  # C(θ)
    gradient_norm: float  # ‖∇C‖
    slopes: np.ndarray  # (directions,): ∇C·u for each random unit u
    checks: tuple[SlopeCheck, ...]  # −∇C/‖∇C‖ first, then CHECKED random directions
    h: float
    step_length: float  # η‖∇C‖, the length of one gradient step
    learning_rate: float
    step_cost: float  # C(θ − η∇C)
    random_step_cost: float  # C(θ + η‖∇C‖·u) for the steepest-falling random u
    n_params: int

    @property
    def steepest_random(self) -> float:
        """The most negative slope among the random directions (the best way down they offer)."""
        return float(self.slopes.min())

    @property
    def largest_random(self) -> float:
        """max |∇C·u| over the random directions: how steep any of them is, up or down."""
        return float(np.abs(self.slopes).max())

    @property
    def ratio(self) -> float:
        """‖∇C‖ / max |∇C·u|: how many times steeper −∇C is than the steepest random one."""
        return self.gradient_norm / self.largest_random

    @property
    def none_steeper(self) -> bool:
        """Whether every random slope is less steep than −‖∇C‖, as Cauchy–Schwarz says."""
        return self.largest_random < self.gradient_norm

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values (the slopes summarised, not listed)."""
        cosines = self.slopes / self.gradient_norm
        return {
            "cost": self.cost,
            "gradient_norm": self.gradient_norm,
            "directions": int(self.slopes.size),
            "n_params": self.n_params,
            "steepest_random_slope": self.steepest_random,
            "largest_random_abs_slope": self.largest_random,
            "ratio": self.ratio,
            "none_steeper": self.none_steeper,
            "mean_abs_cosine": float(np.mean(np.abs(cosines))),
            "expected_abs_cosine": float(np.sqrt(2 / (np.pi * self.n_params))),
            "slope_along_negative_gradient": self.checks[0].slope,
            "finite_difference_checks": [c.as_dict() for c in self.checks],
            "h": self.h,
            "learning_rate": self.learning_rate,
            "step_length": self.step_length,
            "cost_after_gradient_step": self.step_cost,
            "cost_after_best_random_step": self.random_step_cost,
        }


def random_unit_directions(n: int, count: int, rng: np.random.Generator) -> Matrix:
    """``count`` directions of R^n drawn uniformly on the unit sphere: (count, n).

    A vector of independent normal numbers, divided by its length, points anywhere with
    equal chance.

    Examples
    --------
    >>> U = random_unit_directions(5, 3, np.random.default_rng(0))
    >>> U.shape, bool(np.allclose(np.linalg.norm(U, axis=1), 1))
    ((3, 5), True)
    """
    U = rng.standard_normal((count, n))
    return U / np.linalg.norm(U, axis=1, keepdims=True)


def steepest(
    network: Network,
    theta: Vector,
    X: Matrix,
    Y: Matrix,
    rng: np.random.Generator,
    *,
    directions: int = DIRECTIONS,
    learning_rate: float = 1.0,
    h: float = H,
) -> Steepest:
    """Compare the slope along ``directions`` random unit directions with ‖∇C‖ at θ.

    Parameters
    ----------
    network, theta : the network and its θ (float64 is used throughout)
    X, Y : the examples the cost averages over, (m, 784) and (m, 10)
    rng : the generator of the random directions
    directions : how many, at most :data:`MAX_DIRECTIONS`
    learning_rate : η of the one step compared along −∇C and the best random direction
    h : the central differences' step

    Examples
    --------
    >>> net = Network((2, 2))
    >>> X, Y = np.array([[1.0, 0.5]]), np.array([[1.0, 0.0]])
    >>> s = steepest(net, np.full(6, 0.1), X, Y, np.random.default_rng(0), directions=50)
    >>> s.none_steeper, round(s.checks[0].slope / s.gradient_norm, 9)
    (True, -1.0)
    """
    if not (isinstance(directions, int) and 1 <= directions <= MAX_DIRECTIONS):
        raise ConfigError(
            f"the number of random directions must be from 1 to {MAX_DIRECTIONS:,}, got "
            f"{directions!r}",
            help="e.g. --directions 1000",
        )
    theta = np.asarray(theta, dtype=np.float64)
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    cost, gradient = cost_and_gradient(network, theta, X, Y)
    norm = float(np.linalg.norm(gradient))
    if norm == 0:
        raise ConfigError(
            "the gradient is 0 at this θ: every direction is flat, none is steepest",
            help="choose another θ (another --seed or model)",
        )
    slopes = np.empty(directions)
    best = None  # the random direction with the most negative slope
    kept = []  # the first CHECKED directions, for finite differences
    for start in range(0, directions, _CHUNK):
        U = random_unit_directions(theta.size, min(_CHUNK, directions - start), rng)
        slopes[start : start + len(U)] = U @ gradient  # (chunk,): ∇C·u
        i = int(np.argmin(slopes[start : start + len(U)]))
        if best is None or slopes[start + i] < best[0]:
            best = (float(slopes[start + i]), U[i].copy())
        kept += [u for u in U[: max(0, CHECKED - len(kept))]]
    down = -gradient / norm
    checks = [_check(network, theta, X, Y, "−∇C/‖∇C‖", down, float(gradient @ down), h)]
    checks += [_check(network, theta, X, Y, f"random #{i}", u, float(slopes[i]), h)
               for i, u in enumerate(kept)]  # fmt: skip
    length = learning_rate * norm
    assert best is not None
    return Steepest(
        cost=float(cost),
        gradient_norm=norm,
        slopes=slopes,
        checks=tuple(checks),
        h=h,
        step_length=length,
        learning_rate=learning_rate,
        step_cost=evaluate_cost(network, theta - learning_rate * gradient, X, Y),
        random_step_cost=evaluate_cost(network, theta + length * best[1], X, Y),
        n_params=int(theta.size),
    )


def _check(network: Network, theta: Vector, X: Matrix, Y: Matrix, name: str, u: Vector,
           slope: float, h: float) -> SlopeCheck:  # fmt: skip
    up = evaluate_cost(network, theta + h * u, X, Y)
    down = evaluate_cost(network, theta - h * u, X, Y)
    return SlopeCheck(name=name, slope=slope, finite_difference=(up - down) / (2 * h))


def draw_steepest(result: Steepest, title: str = "") -> Figure:
    """The random slopes as a histogram, with −‖∇C‖ and ‖∇C‖ far outside it.

    Left: the whole axis from −‖∇C‖ to ‖∇C‖, where the random slopes are a thin spike at 0.
    Right: the same slopes close up, with the spread 1/√n predicts.
    """
    from ..plots import figure

    fig, (wide, close) = figure(1, 2, size=(11.0, 4.2))
    g = result.gradient_norm
    for ax in (wide, close):
        ax.hist(result.slopes, bins=40, color="tab:blue", alpha=0.8,
                label=f"{result.slopes.size:,} random unit directions u: ∇C·u")  # fmt: skip
        ax.set_xlabel("slope of C along the direction (change of C per unit moved)")
    wide.axvline(-g, color="tab:green", lw=2, label=f"along −∇C/‖∇C‖: −‖∇C‖ = {-g:.4g}")
    wide.axvline(g, color="tab:red", lw=2, label=f"along +∇C/‖∇C‖: +‖∇C‖ = {g:.4g}")
    wide.set_xlim(-1.15 * g, 1.15 * g)
    wide.set_ylabel("directions")
    wide.set_title("No random direction is nearly as steep as −∇C", fontsize=11)
    wide.legend(fontsize=8, loc="upper left")
    spread = g / np.sqrt(result.n_params)
    close.axvline(result.steepest_random, color="tab:orange", lw=1.5,
                  label=f"steepest random: {result.steepest_random:.3g} "
                  f"(−‖∇C‖/{result.ratio:.0f})")  # fmt: skip
    for sign in (-1, 1):
        close.axvline(sign * spread, color="0.4", ls=":", lw=1,
                      label="±‖∇C‖/√n, the spread expected" if sign < 0 else None)  # fmt: skip
    close.set_title(f"Close up: in {result.n_params:,} dimensions, random is nearly "
                    "perpendicular", fontsize=11)  # fmt: skip
    close.legend(fontsize=8, loc="upper left")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
