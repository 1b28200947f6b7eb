"""``nudgenet symmetry``, ``nudges`` and ``landscape``: looking inside one gradient step.

Each subcommand computes with :mod:`nudgenet.lessons.symmetry`,
:mod:`nudgenet.lessons.nudges` or :mod:`nudgenet.lessons.landscape` and renders the result: a
text report on stdout, or one JSON object with ``--json``, and figures with ``--plot FILE`` /
``--out DIR`` (``--svg`` adds SVG copies).
"""

from __future__ import annotations

import argparse
import textwrap
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .. import options
from ..backprop import cost_and_gradient
from ..constraints import Range
from ..data import Dataset, load_dataset, one_hot, to_inputs
from ..errors import ConfigError
from ..init import INITS, init_params
from ..interop import load_model
from ..lessons.landscape import (
    LineSlice,
    PathOnPlane,
    PlaneSlice,
    draw_line,
    draw_plane,
    line_slice,
    path_on_plane,
    percent_range,
    plane_slice,
    random_directions,
    trajectory_directions,
)
from ..lessons.nudges import (
    PROMISE_TOLERANCE,
    ExampleWants,
    FirstOrderCheck,
    Nudge,
    draw_example_wants,
    example_wants,
    first_order_check,
    largest_nudges,
    percent,
    promise_summary,
)
from ..lessons.symmetry import compare_initialisations, draw_first_layer
from ..network import Network
from ..training.loop import TrainSettings
from ..training.recipe import check_fits, seed_streams
from .common import (
    add_data,
    add_json,
    add_option,
    add_output,
    check_figure,
    check_output_folder,
    print_json,
    printer,
    save_figure,
)

RANDOM_INITS = tuple(i for i in INITS if i != "constant")
# η values for the "how far does the first-order promise hold" table, as multiples of --lr.
PROMISE_FACTORS = (0.1, 1.0, 10.0)
LINE_POINTS = 101
WIDTH = 96  # text paragraphs are wrapped to this many characters

# The lessons' own ranges, narrower than training's: values beyond them show nothing new
# (every sigmoid saturated, the cost flat) and would only overflow the arithmetic.
SPAN = Range(
    "span",
    0.0,
    1000.0,
    "the plane covers α, β in [−span, span]; 1 moves each layer by its own size",
    low_open=True,
    label="--span",
    must="a positive number up to 1000",
    hint="1 moves each layer by its own size; 1000 by a thousand times it",
)
STEP_RATE = Range(
    "lr",
    0.0,
    1e6,
    "learning rate η",
    low_open=True,
    label="--lr",
    must="a positive number up to 1e6",
    hint="η of one step, e.g. --lr 0.1; steps beyond 1e6 leave the region the cost describes",
)
CONSTANT_VALUE = Range(
    "constant-value",
    -100.0,
    100.0,
    "every weight and bias of the constant start",
    hint="a constant start shows its symmetry at any value; 0 or 0.5, say",
)


def register(commands: Any) -> None:
    """Add the ``symmetry``, ``nudges`` and ``landscape`` subcommands to ``commands``."""
    _add_symmetry_parser(commands)
    _add_nudges_parser(commands)
    _add_landscape_parser(commands)


def _add_symmetry_parser(commands: Any) -> None:
    p = commands.add_parser(
        "symmetry",
        help="why θ must start random: constant vs random initialisation",
        description="Train the network twice with the same data, seed and settings, once from "
        "a constant θ and once from a random one, and count the distinct neurons of each "
        "hidden layer: a constant start keeps every neuron of a layer identical forever.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_data(p, "the data to train and test on")
    p.add_argument(
        "--random-init",
        choices=RANDOM_INITS,
        default="xavier",
        help="the random initialisation to compare with the constant one",
    )
    add_option(p, CONSTANT_VALUE, 0.0)
    add_option(p, options.EPOCHS, 3)
    add_option(p, options.LEARNING_RATE, 1.0)
    add_option(p, options.BATCH_SIZE, 10)
    add_option(p, options.SEED, 0)
    add_output(
        p,
        "--plot",
        metavar="FILE",
        help="draw both runs' first-layer weights as 28×28 images to FILE (PNG)",
    )
    _add_svg_json(p)
    p.set_defaults(run=run_symmetry)


def _add_nudges_parser(commands: Any) -> None:
    p = commands.add_parser(
        "nudges",
        help="the gradient as 13,002 nudges: which weights matter, which way they move",
        description="Compute the full gradient ∇C at θ by backpropagation and read it as "
        "nudges −η∂C/∂θ: the largest ones, the sign rule, the first-order prediction of one "
        "step's cost change against the real change, and what one training image wants. "
        "Without MODEL, θ is a freshly initialised network, where learning starts.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_model_options(p, "seed of the fresh network, as `nudgenet train --seed`")
    add_option(p, STEP_RATE, 0.1,
               help="η for the nudges and the one-step check (small: the check is "
               "first-order)")  # fmt: skip
    p.add_argument("--top", type=int, default=10, help="how many of the largest nudges to list")
    p.add_argument(
        "--image",
        type=int,
        default=0,
        metavar="INDEX",
        help="the training image whose wants to show",
    )
    add_output(
        p,
        "--plot",
        metavar="FILE",
        help="draw that image and its first-layer nudges to FILE (PNG)",
    )
    _add_svg_json(p)
    p.set_defaults(run=run_nudges)


def _add_landscape_parser(commands: Any) -> None:
    p = commands.add_parser(
        "landscape",
        help="the cost along the gradient and on a plane through θ",
        description="Slice the cost landscape through θ: along the downhill direction "
        "−∇C/‖∇C‖ (with the tangent, slope −‖∇C‖, and where a step of η lands) and over a "
        "plane spanned by two random directions normalised per layer. A model trained with "
        "`nudgenet train --snapshots` also gets its training path, projected on that plane "
        "and drawn on the plane of the path itself. Without MODEL, θ is a freshly "
        "initialised network.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_model_options(
        p, "seed of the fresh network (as `nudgenet train --seed`) and of the random directions"
    )
    add_option(p, STEP_RATE, 1.0,
               help="η of the step marked on the line (nudgenet train's default)")  # fmt: skip
    p.add_argument(
        "--resolution",
        type=int,
        default=25,
        help="grid points per side of the plane (odd puts θ on the grid)",
    )
    add_option(p, SPAN, 1.0)
    add_output(
        p,
        "--out",
        default=Path("."),
        metavar="DIR",
        help="folder for landscape-line.png, landscape-plane.png and, with "
        "snapshots, landscape-path.png",
    )
    _add_svg_json(p)
    p.set_defaults(run=run_landscape)


def _add_model_options(p: argparse.ArgumentParser, seed_help: str) -> None:
    """Where θ comes from: a saved MODEL, or a fresh network from --init and --seed."""
    p.add_argument(
        "model",
        type=Path,
        nargs="?",
        metavar="MODEL",
        help="a model saved by `nudgenet train`; none: a fresh network",
    )
    add_data(p, "the training images the cost averages over")
    p.add_argument(
        "--examples",
        type=int,
        default=1000,
        help="how many training examples the cost averages over (0: all)",
    )
    add_option(p, options.INIT, "xavier", help="how the fresh network starts (without MODEL)")
    add_option(p, options.SEED, 0, help=seed_help)


def _add_svg_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--svg", action="store_true", help="also write each figure as SVG")
    add_json(p)


TRAINED_ON = "choose the data the model was trained on with --data"


# --------------------------------------------------------------------------- symmetry


def run_symmetry(args: argparse.Namespace) -> int:
    """``nudgenet symmetry``: constant vs random initialisation, neurons counted."""
    settings = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr)
    check_figure(args.plot, args.svg)
    network = Network()
    data = load_dataset(args.data)
    check_fits(network, data)
    X = to_inputs(data.train_images, np.float64)
    Y = one_hot(data.train_labels, dtype=np.float64)
    test = (to_inputs(data.test_images, np.float64), data.test_labels)
    say = printer(args.json)
    say(
        f"training {'-'.join(map(str, network.sizes))} twice on {data.name} ({len(X):,} images), "
        f"same seed {args.seed}, η = {args.lr:g}, batch {args.batch_size}, "
        f"{args.epochs} epoch{'s' * (args.epochs != 1)}: from a constant θ and from a random one"
    )
    runs = compare_initialisations(
        network,
        X,
        Y,
        settings,
        seed=args.seed,
        random_init=args.random_init,
        value=args.constant_value,
        test=test,
    )
    written = save_figure(args.plot, args.svg, draw_first_layer, runs, network)
    if args.json:
        print_json(
            {
                "data": data.name,
                "sizes": list(network.sizes),
                "settings": {**settings.as_dict(), "seed": args.seed},
                "runs": {
                    run.init if run.init == "constant" else "random": run.as_dict() for run in runs
                },
                "figures": [str(p) for p in written],
            }
        )
        return 0
    _print_symmetry(runs)
    for path in written:
        print(f"wrote {path}")
    return 0


def _print_symmetry(runs: Any) -> None:
    print()
    print(f"{'start':<16}{'distinct neurons per hidden layer':>36}{'test accuracy':>16}")
    for run in runs:
        name = f"constant {run.value:g}" if run.init == "constant" else f"random ({run.init})"
        counts = ", ".join(
            f"{d} of {n}" for d, n in zip(run.distinct, run.hidden_sizes, strict=True)
        )
        print(f"{name:<16}{counts:>36}{100 * (run.test_accuracy or 0):>15.1f}%")
    constant = runs[0]
    by_epoch = "  ".join(",".join(map(str, d)) for d in constant.distinct_by_epoch)
    print(f"\nconstant start, distinct neurons after each epoch (0 = before training): {by_epoch}")
    _wrap(
        "Every neuron of a constant layer computes the same activation, receives the same "
        "error and so the same gradient: the update keeps them identical, and the layer acts "
        "as one neuron. A random start breaks the symmetry, so the neurons can learn different "
        "features."
    )


# --------------------------------------------------------------------------- nudges


@dataclass(frozen=True)
class _Reading:
    """The gradient at θ read as nudges: everything ``nudgenet nudges`` reports."""

    source: str  # where θ came from, in words
    data: str
    examples: int
    cost: float
    cost_function: str
    gradient: np.ndarray
    learning_rate: float
    top: list[Nudge]
    check: FirstOrderCheck  # one step of η
    promises: list[FirstOrderCheck]  # one step of each PROMISE_FACTORS × η
    wants: ExampleWants

    @property
    def median(self) -> float:
        return float(np.median(np.abs(self.gradient)))

    @property
    def zeros(self) -> int:
        return int(np.count_nonzero(self.gradient == 0))

    @property
    def ratio_last(self) -> float | None:
        """How many times the largest nudge outweighs the last one listed."""
        first, last = self.top[0].derivative, self.top[-1].derivative
        return abs(first) / abs(last) if last else None

    @property
    def ratio_median(self) -> float | None:
        median = self.median
        return abs(self.top[0].derivative) / median if median > 0 else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "theta": self.source,
            "data": self.data,
            "examples": self.examples,
            "cost": self.cost,
            "cost_function": self.cost_function,
            "num_components": int(self.gradient.size),
            "gradient_norm": float(np.linalg.norm(self.gradient)),
            "zero_components": self.zeros,
            "median_abs_derivative": self.median,
            "learning_rate": self.learning_rate,
            "top": [n.as_dict() for n in self.top],
            "ratio_largest_to_kth": self.ratio_last,
            "ratio_largest_to_median": self.ratio_median,
            "first_order": self.check.as_dict(),
            "first_order_by_learning_rate": [p.as_dict() for p in self.promises],
            "promise_tolerance": PROMISE_TOLERANCE,
            "promise": promise_summary(self.promises),
            "example": self.wants.as_dict(),
        }


def run_nudges(args: argparse.Namespace) -> int:
    """``nudgenet nudges``: the gradient read as nudges, one step checked, one example's wants."""
    _check_positive("--lr", args.lr)
    if args.top < 1:
        raise ConfigError(
            f"--top must be at least 1, got {args.top}",
            help="--top N lists the N largest nudges, e.g. --top 10",
        )
    _check_examples(args.examples)
    check_figure(args.plot, args.svg)
    network, theta, cost, source, _ = _network_and_theta(args)
    data = load_dataset(args.data)
    check_fits(network, data, help=TRAINED_ON)
    X, Y = _examples(data, args.examples)
    if not 0 <= args.image < len(data.train_labels):
        raise ConfigError(
            f"--image must be a training image index in 0..{len(data.train_labels) - 1}, "
            f"got {args.image}",
            help=f"{data.name} has {len(data.train_labels):,} training images, numbered from 0",
        )
    reading = _read_gradient(network, theta, cost, source, data, X, Y, args)
    wants = reading.wants
    written = save_figure(args.plot, args.svg, draw_example_wants, wants, network)
    if args.json:
        print_json({**reading.as_dict(), "figures": [str(p) for p in written]})
        return 0
    _print_gradient(reading)
    _print_first_order(reading)
    _print_wants(wants, quadratic_sigmoid=cost == "quadratic" and network.output == "sigmoid")
    for path in written:
        print(f"wrote {path}")
    return 0


def _read_gradient(
    network: Network,
    theta: np.ndarray,
    cost: str,
    source: str,
    data: Dataset,
    X: np.ndarray,
    Y: np.ndarray,
    args: argparse.Namespace,
) -> _Reading:
    """∇C at θ over (X, Y), its largest nudges, first-order checks and one image's wants."""
    eta = args.lr
    C, gradient = cost_and_gradient(network, theta, X, Y, cost)
    promises = [
        first_order_check(network, theta, X, Y, eta * f, cost, gradient=gradient)
        for f in PROMISE_FACTORS
    ]
    x = to_inputs(data.train_images[args.image : args.image + 1], np.float64)[0]
    label = int(data.train_labels[args.image])
    return _Reading(
        source=source,
        data=data.name,
        examples=len(X),
        cost=C,
        cost_function=cost,
        gradient=gradient,
        learning_rate=eta,
        top=largest_nudges(network.layout, gradient, eta, args.top),
        check=first_order_check(network, theta, X, Y, eta, cost, gradient=gradient),
        promises=promises,
        wants=example_wants(
            network, theta, x, label, learning_rate=eta, cost=cost, index=args.image
        ),
    )


def _print_gradient(r: _Reading) -> None:
    """The gradient's size, its zeros, the largest nudges and the sign rule."""
    gradient, top = r.gradient, r.top
    print(f"the gradient of the {r.cost_function} cost at {r.source},")
    print(f"averaged over {r.examples:,} training examples of {r.data}: C(θ) = {r.cost:.4f}")
    print(
        f"  ∇C has {gradient.size:,} components, one per weight and bias; "
        f"‖∇C‖ = {np.linalg.norm(gradient):.4g}"
    )
    _wrap(
        f"{r.zeros:,} are exactly 0: weights from pixels that are blank in every one of these "
        f"images (no ink, no say). The median |∂C/∂θ| is {r.median:.3g}.",
        "  ",
    )
    print(f"\nthe {len(top)} largest nudges for η = {r.learning_rate:g} (nudge = −η·∂C/∂θ):")
    print(
        f"  {'#':>3}  {'parameter':<11} {'what it is':<50} {'∂C/∂θ':>10} {'nudge':>10} "
        f"{'× median':>9}"
    )
    for rank, n in enumerate(top, 1):
        times = f"{n.times_median:,.0f}" if n.times_median is not None else "-"
        print(
            f"  {rank:>3}  {n.name:<11} {n.description:<50} {n.derivative:>+10.2e} "
            f"{n.nudge:>+10.2e} {times:>9}"
        )
    if r.ratio_last is not None:
        line = f"  the largest matters {r.ratio_last:.3g} times more than number {len(top)}"
        if r.ratio_median is not None:
            line += f", and {r.ratio_median:,.0f} times more than the median component"
        print(line)
    print()
    _wrap(
        "the sign rule: ∂C/∂θ > 0 means raising θ raises the cost, so the nudge lowers θ; "
        "∂C/∂θ < 0 means raising θ lowers the cost, so the nudge raises θ."
    )


def _print_first_order(r: _Reading) -> None:
    """One step's predicted cost change against the real one, at η and at larger steps."""
    check, eta = r.check, r.learning_rate
    print(f"\none step θ → θ − η∇C with η = {eta:g}, to first order ΔC ≈ ∇C·Δθ = −η‖∇C‖²:")
    print(f"  predicted ΔC = {check.predicted_change:+.6g}")
    print(f"  actual    ΔC = {check.actual_change:+.6g}  (C(θ − η∇C) − C(θ))")
    print(f"  relative difference {percent(check.relative_difference)}")
    print(
        f"  the promise at {len(r.promises)} step sizes (it holds while off by at most "
        f"{percent(PROMISE_TOLERANCE)}):"
    )
    for p in r.promises:
        print(
            f"    η = {p.learning_rate:<8g} predicted {p.predicted_change:+.4g}  "
            f"actual {p.actual_change:+.4g}  {p.verdict()}"
        )
    print(f"  {promise_summary(r.promises)}")


def _print_wants(wants: ExampleWants, *, quadratic_sigmoid: bool) -> None:
    article = "an" if wants.label == 8 else "a"  # "an 8", "a 7"
    print(
        f"\nwhat training image #{wants.index} ({article} {wants.label}) wants, alone "
        f"(its own cost Cₓ = {wants.cost:.4g}):"
    )
    print(
        f"  {'output':>6} {'activation':>11} {'wants':>6} {'∂Cₓ/∂b':>10} {'bias nudge':>11}"
        f"  strongest weight nudge (from hidden neuron k)"
    )
    for o in wants.outputs:
        k = int(np.argmax(np.abs(o.weight_nudges)))
        mark = "  ← the label" if o.neuron == wants.label else ""
        print(
            f"  {o.neuron:>6} {o.activation:>11.4f} {o.wants:>6} {o.bias_derivative:>+10.4f} "
            f"{o.bias_nudge:>+11.4f}  {o.weight_nudges[k]:+.4f} (k = {k}){mark}"
        )
    why = (
        "∂Cₓ/∂b = 2(a − y)σ′(z) is negative for the label (a < 1 = y), so its bias is nudged "
        "up, and positive for the rest (a > 0 = y), so theirs are nudged down"
        if quadratic_sigmoid
        else "the bias nudges say which way each output should move"
    )
    _wrap(
        f"The label's output should brighten and the others dim: {why}. The weights into an "
        "output move the same way as its bias, each in proportion to the activation it comes "
        "from, so the brightest hidden neurons get the largest nudges.",
        "  ",
    )
    order = np.argsort(-np.abs(wants.hidden_wants))[:3]
    wishes = ", ".join(
        f"neuron {int(k)} {'up' if wants.hidden_wants[k] > 0 else 'down'}" for k in order
    )
    _wrap(
        f"From the last hidden layer it wants most: {wishes} (−∂Cₓ/∂a; backpropagation passes "
        "these wishes further down).",
        "  ",
    )


# --------------------------------------------------------------------------- landscape


@dataclass(frozen=True)
class _Landscape:
    """The slices of the cost through θ: everything ``nudgenet landscape`` reports."""

    source: str  # where θ came from, in words
    data: str
    examples: int
    cost_function: str
    step: float  # how far one step of η moves θ: η‖∇C‖
    line: LineSlice
    plane: PlaneSlice  # over two random directions
    n_params: int
    n_snapshots: int | None = None  # None: the model kept no θ snapshots
    path: PathOnPlane | None = None  # the snapshots on the random plane
    path_plane: PlaneSlice | None = None  # over the path's own two directions
    along_path: PathOnPlane | None = None  # the snapshots on that plane

    def as_dict(self, args: argparse.Namespace) -> dict[str, Any]:
        return {
            "theta": self.source,
            "data": self.data,
            "examples": self.examples,
            "cost_function": self.cost_function,
            "line": self.line.as_dict(),
            "plane": self.plane.as_dict(),
            "span": args.span,
            "resolution": args.resolution,
            "trajectory": None if self.path is None else self.path.coords.tolist(),
            # [least, most] share of any snapshot's offset from θ that the plane holds
            "trajectory_in_plane": None if self.path is None else list(self.path.shown),
            "trajectory_epochs": None if self.path is None else self.path.as_dict(),
            "path_plane": None if self.path_plane is None else self.path_plane.as_dict(),
            "path_plane_trajectory": (
                None if self.along_path is None else self.along_path.coords.tolist()
            ),
            "path_plane_in_plane": None if self.along_path is None else list(self.along_path.shown),
            "path_plane_epochs": None if self.along_path is None else self.along_path.as_dict(),
        }


def run_landscape(args: argparse.Namespace) -> int:
    """``nudgenet landscape``: line and plane slices of the cost, and the training path."""
    _check_positive("--lr", args.lr)
    _check_positive("--span", args.span)
    if not 2 <= args.resolution <= 201:
        raise ConfigError(
            f"--resolution must be in 2..201, got {args.resolution}",
            help="25 takes about a second; the cost is resolution² passes",
        )
    if not args.out.is_dir():
        raise ConfigError(
            f"--out {args.out} is not a folder", help="create it first, or choose another"
        )
    check_output_folder(args.out, "--out", exists=True)
    for name in ("landscape-line", "landscape-plane", "landscape-path"):
        check_figure(args.out / f"{name}.png", args.svg, "--out")
    _check_examples(args.examples)
    network, theta, cost, source, snapshots = _network_and_theta(args)
    data = load_dataset(args.data)
    check_fits(network, data, help=TRAINED_ON)
    landscape = _slice(network, theta, cost, snapshots, source, data, args)
    written = _draw_landscape(landscape, args.out, args.svg)
    if args.json:
        print_json({**landscape.as_dict(args), "figures": [str(p) for p in written]})
        return 0
    _print_landscape(landscape, args)
    for p in written:
        print(f"wrote {p}")
    return 0


def _slice(
    network: Network,
    theta: np.ndarray,
    cost: str,
    snapshots: np.ndarray | None,
    source: str,
    data: Dataset,
    args: argparse.Namespace,
) -> _Landscape:
    """The line along −∇C, the random plane and, given snapshots, the path's own plane."""
    X, Y = _examples(data, args.examples)
    _, gradient = cost_and_gradient(network, theta, X, Y, cost)
    step = args.lr * float(np.linalg.norm(gradient))
    # From one step uphill to four steps downhill: the step, and what lies beyond it.
    ts = np.linspace(-1.0, 4.0, LINE_POINTS) * (step or 1.0)
    line = line_slice(network, theta, X, Y, ts, cost=cost, learning_rate=args.lr)
    rng = np.random.default_rng(args.seed)
    directions = random_directions(network.layout, theta, rng)
    grid = np.linspace(-args.span, args.span, args.resolution)
    plane = plane_slice(network, theta, X, Y, directions, grid, grid, cost=cost)
    landscape = _Landscape(source, data.name, len(X), cost, step, line, plane, int(theta.size))
    if snapshots is None:
        return landscape
    landscape = replace(landscape, n_snapshots=len(snapshots),
                        path=path_on_plane(network, theta, snapshots, X, Y, directions,
                                           cost=cost))  # fmt: skip
    along = _path_directions(snapshots, theta)
    if along is None:
        return landscape
    along_path = path_on_plane(network, theta, snapshots, X, Y, along, cost=cost)
    # Wide enough to hold the whole path, however far training went.
    reach = max(args.span, 1.15 * float(np.max(np.abs(along_path.coords))))
    wide = np.linspace(-reach, reach, args.resolution)
    return replace(
        landscape,
        path_plane=plane_slice(network, theta, X, Y, along, wide, wide, cost=cost),
        along_path=along_path,
    )


def _draw_landscape(ls: _Landscape, out: Path, svg: bool) -> list[Path]:
    """The line, the random plane and, when there is one, the path's plane, into ``out``."""
    written = save_figure(out / "landscape-line.png", svg, draw_line, ls.line)
    written += save_figure(out / "landscape-plane.png", svg, draw_plane, ls.plane, ls.path,
                           directions="random")  # fmt: skip
    if ls.path_plane is not None:
        written += save_figure(out / "landscape-path.png", svg, draw_plane, ls.path_plane,
                               ls.along_path, directions="trajectory")  # fmt: skip
    return written


def _print_landscape(ls: _Landscape, args: argparse.Namespace) -> None:
    line, plane = ls.line, ls.plane
    print(f"the {ls.cost_function} cost around {ls.source},")
    print(f"averaged over {ls.examples:,} training examples of {ls.data}: C(θ) = {line.cost:.4f}")
    print(
        f"  along the downhill direction −∇C/‖∇C‖ the cost starts falling at slope "
        f"−‖∇C‖ = {line.slope:.4g}"
    )
    promise = line.cost + line.slope * ls.step
    print(
        f"  a step of η = {args.lr:g} moves θ by η‖∇C‖ = {ls.step:.4g} and lands at "
        f"C = {line.step_cost:.4f} (the tangent promised {promise:.4f})"
    )
    print(
        f"  plane: {args.resolution}×{args.resolution} grid of α, β in [−{args.span:g}, "
        f"{args.span:g}] (1 moves each layer by its own size); C from {plane.costs.min():.4f} "
        f"to {plane.costs.max():.4f}"
    )
    if ls.path is not None:
        shown = f"{percent_range(*ls.path.shown)} of each epoch's offset from θ"
        why = (
            f"only {shown}: in {ls.n_params:,} dimensions, random directions are nearly "
            "perpendicular to it"
            if ls.path.shown[1] < 0.25
            else shown
        )
        _wrap(
            f"training path: {ls.n_snapshots} snapshots (θ after each epoch, epoch 0 first). "
            f"The random plane holds {why}"
            + (". landscape-path.png uses the path's own plane." if ls.along_path else "."),
            "  ",
        )
        if ls.along_path is not None:
            _print_path_plane(ls.along_path)
    elif args.model:
        print("  (no θ snapshots in this model: train with --snapshots to see the path)")


def _print_path_plane(path: PathOnPlane) -> None:
    """How much of each snapshot the path's plane holds, and what that costs the contours."""
    away = path.distances > 0
    shares = " ".join(f"{np.floor(1000 * f + 1e-9) / 10:g}" for f in path.in_plane[away])
    _wrap(
        f"the path's own plane holds {percent_range(*path.shown)} of each epoch's offset from "
        f"θ, epoch by epoch (%): {shares}. A point keeps only that share, so the contours "
        f"under it are not its cost: the start's real cost is C = {path.costs[0]:.4g}, the "
        f"plane shows {path.plane_costs[0]:.4g} there (the points are coloured by their real "
        "cost, on the contours' colour scale).",
        "  ",
    )


def _path_directions(snapshots: Any, theta: Any) -> tuple[Any, Any] | None:
    """The plane of the training path, or None when there is no path with two directions."""
    if snapshots is None or len(snapshots) < 3:
        return None
    try:
        return trajectory_directions(snapshots, theta)
    except ConfigError:  # e.g. every snapshot on one line: no plane to show
        return None


# --------------------------------------------------------------------------- shared


def _network_and_theta(
    args: argparse.Namespace,
) -> tuple[Network, np.ndarray, str, str, np.ndarray | None]:
    """The network, θ (float64), cost, a description and θ snapshots: the model's, or fresh."""
    if args.model is not None:
        model = load_model(args.model)
        theta = model.theta.astype(np.float64)
        return model.network, theta, model.cost, f"the model {args.model}", model.snapshots
    network = Network()
    # The same stream `nudgenet train --seed` draws θ from, so this θ is where it starts.
    init_rng, _ = seed_streams(args.seed)
    theta = init_params(network.layout, args.init, rng=init_rng)
    sizes = "-".join(map(str, network.sizes))
    source = f"a fresh {args.init}-initialised {sizes} network (seed {args.seed})"
    return network, theta, "quadratic", source, None


def _examples(data: Dataset, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` training examples (0: all) as float64 inputs and one-hot targets."""
    _check_examples(n)
    n = len(data.train_labels) if n == 0 else min(n, len(data.train_labels))
    X = to_inputs(data.train_images[:n], np.float64)
    return X, one_hot(data.train_labels[:n], dtype=np.float64)


def _check_examples(n: int) -> None:
    if n < 0:
        raise ConfigError(
            f"--examples must be ≥ 0 (0: all), got {n}",
            help="--examples N averages the cost over the first N training images; 0 uses all",
        )


def _check_positive(flag: str, value: float) -> None:
    if not (np.isfinite(value) and value > 0):
        raise ConfigError(f"{flag} must be a positive number, got {value}", help=f"e.g. {flag} 0.1")


def _wrap(text: str, indent: str = "") -> None:
    """Print a paragraph wrapped to a terminal's width."""
    print(textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent))
