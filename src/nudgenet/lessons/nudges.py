"""The gradient read as a list of nudges, one per weight and bias.

∇C has one component per parameter: 13,002 for the seed's network. Each component says two
things about its weight or bias θᵢ:

* its **sign** says which way to move: ∂C/∂θᵢ > 0 means raising θᵢ raises the cost, so the
  update lowers it; ∂C/∂θᵢ < 0 means raising θᵢ lowers the cost, so the update raises it;
* its **size** says how much this parameter matters: a nudge −η ∂C/∂θᵢ ten times larger than
  another's means the cost is ten times as sensitive to it.

To first order, one step Δθ = −η∇C changes the cost by ΔC ≈ ∇C · Δθ = −η‖∇C‖², a promise
that holds while the step is too short for the landscape's bend to matter. How short that is
depends on θ (near a minimum even η = 1 can be off by only a few percent), so
:func:`promise_summary` says where it holds from what :func:`first_order_check` measures.

The cost is an average over examples, so its gradient is the average of what each example
"wants". One example wants its label's output neuron to brighten and every other output to
dim: under the quadratic cost with sigmoid outputs, ∂Cₓ/∂bⱼ = 2(aⱼ − yⱼ) σ′(zⱼ), negative for
the label (aⱼ < 1 = yⱼ: nudge the bias up) and positive for the others (aⱼ > 0 = yⱼ: nudge down).

Notation: layers are numbered 1..L from the first weight layer; W[l][j, k] is the weight to
neuron j of layer l from neuron k of layer l − 1 (for l = 1, from pixel k), b[l][j] its bias.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._types import Matrix, Vector
from ..backprop import cost_and_gradient, evaluate_cost, output_error
from ..errors import ConfigError
from ..layout import Layout
from ..network import Network, feedforward

if TYPE_CHECKING:
    from matplotlib.figure import Figure


# --------------------------------------------------------------------------- naming


def component_name(layout: Layout, index: int) -> str:
    """Short name of θ[index]: ``W1[3, 412]`` or ``b3[7]``.

    Examples
    --------
    >>> component_name(Layout((784, 16, 16, 10)), 784 * 16)
    'b1[0]'
    """
    layer, kind, position = layout.locate(index)
    letter = "W" if kind == "weight" else "b"
    return f"{letter}{layer}[{', '.join(map(str, position))}]"


def component_description(layout: Layout, index: int) -> str:
    """What θ[index] connects, in words.

    Examples
    --------
    >>> layout = Layout((784, 16, 16, 10))
    >>> component_description(layout, 3 * 784 + 412)
    'weight to layer-1 neuron 3 from pixel (14, 20)'
    >>> component_description(layout, layout.n_params - 1)
    'bias of output 9'
    """
    layer, kind, position = layout.locate(index)
    j = position[0]
    to = f"output {j}" if layer == layout.n_layers else f"layer-{layer} neuron {j}"
    if kind == "bias":
        return f"bias of {to}"
    k = position[1]
    if layer == 1:
        side = round(np.sqrt(layout.sizes[0]))
        source = f"pixel {divmod(k, side)}" if side * side == layout.sizes[0] else f"input {k}"
    else:
        source = f"layer-{layer - 1} neuron {k}"
    return f"weight to {to} from {source}"


# --------------------------------------------------------------------------- nudges


@dataclass(frozen=True)
class Nudge:
    """One component of the gradient and the nudge it asks for."""

    index: int  # position in θ
    name: str  # e.g. "W1[3, 412]" or "b3[7]"
    description: str  # e.g. "weight to layer-1 neuron 3 from pixel (14, 20)"
    layer: int  # 1-based weight layer
    kind: str  # "weight" or "bias"
    position: tuple[int, ...]  # (j, k) for W[l][j, k]; (j,) for b[l][j]
    pixel: tuple[int, int] | None  # (row, col) of input k, for first-layer weights of images
    derivative: float  # ∂C/∂θᵢ
    nudge: float  # −η ∂C/∂θᵢ
    times_median: float | None  # |∂C/∂θᵢ| / median over all components (None if that is 0)

    @property
    def direction(self) -> str:
        """The sign rule applied to this component: "increase", "decrease" or "keep"."""
        return "increase" if self.nudge > 0 else "decrease" if self.nudge < 0 else "keep"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {**asdict(self), "direction": self.direction}


def largest_nudges(
    layout: Layout, gradient: Vector, learning_rate: float, k: int = 10
) -> list[Nudge]:
    """The k components of ∇C with the largest |∂C/∂θᵢ|, largest first, as nudges.

    Parameters
    ----------
    layout : Layout
    gradient : ndarray of shape (layout.n_params,)
    learning_rate : float
        η in the nudge −η ∂C/∂θᵢ.
    k : int
        How many to return (at most n_params).

    Examples
    --------
    >>> layout = Layout((2, 1))  # θ = [w0, w1, b]
    >>> [n.name for n in largest_nudges(layout, np.array([0.1, -3.0, 2.0]), 0.5, k=2)]
    ['W1[0, 1]', 'b1[0]']
    """
    layout.check(gradient)
    if not (isinstance(k, int) and k >= 1):
        raise ConfigError(
            f"the number of nudges to list must be a positive integer, got {k!r}",
            help="e.g. --top 10 for the ten largest",
        )
    magnitude = np.abs(gradient.astype(np.float64))
    median = float(np.median(magnitude))
    k = min(k, len(gradient))
    # Stable sort on −|g| keeps ties in θ's order, so the list is reproducible.
    order = np.argsort(-magnitude, kind="stable")[:k]
    side = round(np.sqrt(layout.sizes[0]))
    square = side * side == layout.sizes[0]
    nudges = []
    for i in order:
        i = int(i)
        layer, kind, position = layout.locate(i)
        pixel = divmod(position[1], side) if (layer == 1 and kind == "weight" and square) else None
        g = float(gradient[i])
        nudges.append(
            Nudge(
                index=i,
                name=component_name(layout, i),
                description=component_description(layout, i),
                layer=layer,
                kind=kind,
                position=position,
                pixel=pixel,
                derivative=g,
                nudge=-learning_rate * g,
                times_median=abs(g) / median if median > 0 else None,
            )
        )
    return nudges


# --------------------------------------------------------------------------- one step

#: The first-order promise is said to hold while it is off by at most this share of the real
#: change: a few percent is the curvature's small print, tens of percent a broken promise.
PROMISE_TOLERANCE = 0.10


def percent(share: float) -> str:
    """A share as a percentage to 3 significant digits, whole from 1000% up.

    Examples
    --------
    >>> percent(0.00314), percent(0.422), percent(40.92), percent(float("inf"))
    ('0.314%', '42.2%', '4,092%', 'inf%')
    """
    value = 100 * share
    return f"{value:.3g}%" if abs(value) < 1000 else f"{value:,.0f}%"


@dataclass(frozen=True)
class FirstOrderCheck:
    """One step's cost change: the gradient's linear prediction against the real change."""

    learning_rate: float  # η
    cost_before: float  # C(θ)
    cost_after: float  # C(θ − η∇C)
    predicted_change: float  # ∇C · Δθ = −η‖∇C‖²
    actual_change: float  # C(θ − η∇C) − C(θ)

    @property
    def relative_difference(self) -> float:
        """|actual − predicted| / |actual|: how far the first-order promise is off."""
        if self.actual_change == 0.0:
            return 0.0 if self.predicted_change == 0.0 else float("inf")
        return abs(self.actual_change - self.predicted_change) / abs(self.actual_change)

    def holds(self, tolerance: float = PROMISE_TOLERANCE) -> bool:
        """Whether the prediction is off by at most ``tolerance`` of the real change."""
        return self.relative_difference <= tolerance

    def verdict(self, tolerance: float = PROMISE_TOLERANCE) -> str:
        """The measured error against ``tolerance``: "holds to 2.66%" or "fails: off by 42.2%"."""
        off = percent(self.relative_difference)
        return f"holds to {off}" if self.holds(tolerance) else f"fails: off by {off}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values (an infinite relative difference becomes None)."""
        r = self.relative_difference
        return {
            **asdict(self),
            "relative_difference": r if np.isfinite(r) else None,
            "holds": self.holds(),
        }


def promise_summary(checks: list[FirstOrderCheck], tolerance: float = PROMISE_TOLERANCE) -> str:
    """Where the first-order promise holds among ``checks``, in words, from what was measured.

    "Small steps hold, large ones fail" is the rule of thumb; near a minimum even η = 1 can be
    only a few percent off, so the sentence follows the numbers instead.

    Examples
    --------
    >>> def check(eta, actual):
    ...     return FirstOrderCheck(eta, 1.0, 1.0 + actual, -eta, actual)
    >>> promise_summary([check(0.1, -0.099), check(1.0, -0.6)])
    'it holds up to η = 0.1 and fails from η = 1, where C bends away from its tangent'
    >>> promise_summary([check(0.1, -0.1), check(1.0, -0.98)])
    'it holds at every η here, up to 1: over these steps C stays close to its tangent'
    """
    if not checks:
        raise ConfigError(
            "no first-order checks to summarise",
            help="pass at least one FirstOrderCheck, e.g. from first_order_check()",
        )
    ordered = sorted(checks, key=lambda c: c.learning_rate)
    good = [c.learning_rate for c in ordered if c.holds(tolerance)]
    bad = [c.learning_rate for c in ordered if not c.holds(tolerance)]
    if not bad:
        return (
            f"it holds at every η here, up to {good[-1]:g}: over these steps C stays close to "
            "its tangent"
        )
    if not good:
        return f"it fails at every η here, from {bad[0]:g}: C bends within even the shortest step"
    if good[-1] < bad[0]:
        return (
            f"it holds up to η = {good[-1]:g} and fails from η = {bad[0]:g}, where C bends away "
            "from its tangent"
        )
    names = ", ".join(f"{eta:g}" for eta in good)
    return f"it holds at η = {names} only ({len(bad)} of {len(ordered)} steps fail)"


def first_order_check(
    network: Network,
    theta: Vector,
    X: Matrix,
    Y: Matrix,
    learning_rate: float,
    cost: str = "quadratic",
    *,
    gradient: Vector | None = None,
) -> FirstOrderCheck:
    """Compare ΔC ≈ −η‖∇C‖² with the actual C(θ − η∇C) − C(θ) for one full-batch step.

    Everything is computed in float64, so the comparison measures the landscape's curvature,
    not rounding.

    Parameters
    ----------
    network, theta, X, Y, cost : as for :func:`nudgenet.cost_and_gradient`
    learning_rate : float
        η > 0.
    gradient : ndarray of θ's shape, optional
        ∇C at θ on (X, Y), if already computed.

    Examples
    --------
    >>> net = Network((1, 1))
    >>> X, Y = np.array([[1.0]]), np.array([[1.0]])
    >>> check = first_order_check(net, np.zeros(2), X, Y, learning_rate=0.01)
    >>> round(check.predicted_change, 6), check.relative_difference < 0.01
    (-0.00125, True)
    """
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise ConfigError(
            f"the learning rate must be a positive number, got {learning_rate}",
            help="η of one step, e.g. --lr 0.1; a smaller one keeps the first-order check close",
        )
    theta = theta.astype(np.float64)
    X = X.astype(np.float64, copy=False)
    Y = Y.astype(np.float64, copy=False)
    if gradient is None:
        before, g = cost_and_gradient(network, theta, X, Y, cost)
    else:
        before, g = evaluate_cost(network, theta, X, Y, cost), gradient.astype(np.float64)
    after = evaluate_cost(network, theta - learning_rate * g, X, Y, cost)  # θ − η∇C
    return FirstOrderCheck(
        learning_rate=float(learning_rate),
        cost_before=before,
        cost_after=after,
        predicted_change=-learning_rate * float(g @ g),
        actual_change=after - before,
    )


# --------------------------------------------------------------------------- one example


@dataclass(frozen=True)
class OutputWant:
    """What one example wants from one output neuron."""

    neuron: int  # j, the digit this output stands for
    activation: float  # aⱼ now
    target: float  # yⱼ: 1 for the label, 0 for the others
    bias_derivative: float  # ∂Cₓ/∂bⱼ
    bias_nudge: float  # −η ∂Cₓ/∂bⱼ
    weight_nudges: tuple[float, ...]  # −η ∂Cₓ/∂W[L][j, k] for each neuron k below

    @property
    def wants(self) -> str:
        """Which way the activation should move, towards the target: "up" or "down"."""
        return "up" if self.target > self.activation else "down"

    @property
    def agrees(self) -> bool:
        """Whether the bias nudge moves the activation the way the example wants."""
        return (self.bias_nudge > 0) == (self.wants == "up")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {**asdict(self), "wants": self.wants, "agrees": self.agrees}


@dataclass(frozen=True)
class ExampleWants:
    """The gradient of a single example's cost Cₓ, read as what that example wants."""

    index: int  # which training example
    label: int
    image: Vector  # (784,): the example's input
    cost: float  # Cₓ = Σⱼ (aⱼ − yⱼ)², this example alone
    outputs: tuple[OutputWant, ...]  # one per output neuron
    hidden_wants: Vector  # (n_hidden,): −∂Cₓ/∂a of the last hidden layer, how it should change
    gradient: Vector  # ∇Cₓ, θ's shape

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values (the image and the full gradient left out)."""
        return {
            "index": self.index,
            "label": self.label,
            "cost": self.cost,
            "outputs": [o.as_dict() for o in self.outputs],
            "hidden_wants": self.hidden_wants.tolist(),
            "gradient_norm": float(np.linalg.norm(self.gradient)),
        }


def example_wants(
    network: Network,
    theta: Vector,
    x: Vector,
    label: int,
    *,
    learning_rate: float = 1.0,
    cost: str = "quadratic",
    index: int = 0,
) -> ExampleWants:
    """What one training example wants: its own gradient and the nudges to the output layer.

    Parameters
    ----------
    network : Network
    theta : ndarray of shape (n_params,)
    x : ndarray of shape (sizes[0],), the example's input
    label : int, its class
    learning_rate : float
        η for the nudges −η ∂Cₓ/∂θ.
    cost : str
    index : int
        Where the example sits in its data set (kept for reports).

    Examples
    --------
    >>> net = Network((4, 3, 2))
    >>> theta = np.zeros(net.n_params)  # every output is σ(0) = 0.5
    >>> wants = example_wants(net, theta, np.ones(4), label=1)
    >>> [(o.wants, o.bias_nudge) for o in wants.outputs]  # ∂C/∂b = 2(0.5 − y)·0.25
    [('down', -0.25), ('up', 0.25)]
    """
    n_out = network.sizes[-1]
    if not 0 <= label < n_out:
        raise ConfigError(
            f"label must be in 0..{n_out - 1}, got {label}",
            help=f"the network has {n_out} outputs, one per class, numbered from 0",
        )
    theta = theta.astype(np.float64)
    X = np.asarray(x, dtype=np.float64).reshape(1, -1)
    Y = np.zeros((1, n_out))
    Y[0, label] = 1.0
    C, gradient = cost_and_gradient(network, theta, X, Y, cost)
    activations = feedforward(network, theta, X)
    a = activations[-1][0]  # (n_out,)
    dW, db = network.layout.views(gradient)[-1]
    W_last = network.layout.views(theta)[-1][0]
    delta = output_error(network, cost, activations[-1], Y)  # δᴸ = ∂Cₓ/∂zᴸ, (1, n_out)
    hidden_wants = -(delta @ W_last)[0]  # −∂Cₓ/∂aᴸ⁻¹ = −δᴸ Wᴸ, (n_hidden,)
    outputs = tuple(
        OutputWant(
            neuron=j,
            activation=float(a[j]),
            target=float(Y[0, j]),
            bias_derivative=float(db[j]),
            bias_nudge=float(-learning_rate * db[j]),
            weight_nudges=tuple(float(v) for v in -learning_rate * dW[j]),
        )
        for j in range(n_out)
    )
    return ExampleWants(
        index=index,
        label=int(label),
        image=X[0],
        cost=C,
        outputs=outputs,
        hidden_wants=hidden_wants,
        gradient=gradient,
    )


# --------------------------------------------------------------------------- figure


def draw_example_wants(wants: ExampleWants, network: Network) -> Figure:
    """The example's image and, per first-layer neuron, the nudges −∂Cₓ/∂W¹ as a 28×28 image.

    Each neuron's wanted change is the image itself times one number, δⱼ (since
    ∂Cₓ/∂W¹[j, k] = δⱼ xₖ): red tiles want the neuron to respond more to this digit's ink,
    blue tiles less. Blank pixels get no nudge at all.
    """
    from ..plots import DIVERGING, figure

    n_in, n_hidden = network.sizes[0], network.sizes[1]
    side = round(np.sqrt(n_in))
    if side * side != n_in:
        raise ConfigError(
            f"only square images can be drawn, got {n_in} inputs",
            help="draw the nudges of a network with square images as inputs, such as 784 = 28²",
        )
    nudges = -network.layout.views(wants.gradient)[0][0]  # (n_hidden, n_in)
    limit = float(np.max(np.abs(nudges))) or 1.0
    cols = int(np.ceil(np.sqrt(n_hidden)))
    rows = int(np.ceil(n_hidden / cols))
    fig, _ = figure(size=(9.6, 5.4))
    fig.clear()
    left, right = fig.subfigures(1, 2, width_ratios=[1, 1.6], wspace=0.03)
    ax = left.subplots()
    ax.imshow(wants.image.reshape(side, side), cmap="gray_r", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    article = "an" if wants.label == 8 else "a"  # "an 8", "a 7"
    ax.set_title(f"training image #{wants.index}: {article} {wants.label}", fontsize=11)
    left.suptitle(f"its cost Cₓ = {wants.cost:.3g}", fontsize=10, y=0.08)
    axes = right.subplots(rows, cols)
    image = None
    for j, a in enumerate(np.ravel(axes)):
        a.set_xticks([])
        a.set_yticks([])
        if j >= n_hidden:
            a.set_axis_off()
            continue
        image = a.imshow(nudges[j].reshape(side, side), cmap=DIVERGING, vmin=-limit, vmax=limit)
        a.set_title(f"neuron {j}", fontsize=7, pad=2)
    if image is not None:
        right.colorbar(image, ax=axes, shrink=0.6, label="−∂Cₓ/∂w (red: wants it larger)")
    right.suptitle("what it wants for each first-layer neuron's 784 weights", fontsize=11)
    right.supxlabel(
        "each tile is the digit's ink times one number δⱼ: red asks neuron j to respond more to\n"
        "this ink, blue less; blank pixels get no nudge (∂Cₓ/∂W¹[j, k] = δⱼ xₖ)",
        fontsize=8,
    )
    return fig
