"""``nudgenet symmetry``, ``nudges`` and ``landscape``: looking inside one gradient step.

Each subcommand computes with :mod:`nudgenet.lessons.symmetry`,
:mod:`nudgenet.lessons.nudges` or :mod:`nudgenet.lessons.landscape` and renders the result: a
text report on stdout, or one JSON object with ``--json``, and figures with ``--plot FILE`` /
``--out DIR`` (``--svg`` adds SVG copies).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from ..backprop import cost_and_gradient
from ..data import DATASET_CHOICES, Dataset, load_dataset, one_hot, to_inputs
from ..errors import ConfigError
from ..init import INITS, init_params
from ..lessons.landscape import (
    draw_line,
    draw_plane,
    in_plane_fraction,
    line_slice,
    plane_slice,
    project,
    random_directions,
    trajectory_directions,
)
from ..lessons.nudges import (
    ExampleWants,
    draw_example_wants,
    example_wants,
    first_order_check,
    largest_nudges,
)
from ..lessons.symmetry import compare_initialisations, draw_first_layer
from ..model import Model
from ..network import Network
from ..plots import save
from ..training.loop import TrainSettings

RANDOM_INITS = tuple(i for i in INITS if i != "constant")
# η values for the "how far does the first-order promise hold" table, as multiples of --lr.
PROMISE_FACTORS = (0.1, 1.0, 10.0)
LINE_POINTS = 101
WIDTH = 96  # text paragraphs are wrapped to this many characters


def register(commands: Any) -> None:
    """Add the ``symmetry``, ``nudges`` and ``landscape`` subcommands to ``commands``."""
    defaults = argparse.ArgumentDefaultsHelpFormatter

    p = commands.add_parser(
        "symmetry",
        help="why θ must start random: constant vs random initialisation",
        description="Train the network twice with the same data, seed and settings, once from "
        "a constant θ and once from a random one, and count the distinct neurons of each "
        "hidden layer: a constant start keeps every neuron of a layer identical forever.",
        formatter_class=defaults,
    )
    _add_data(p)
    p.add_argument(
        "--random-init",
        choices=RANDOM_INITS,
        default="xavier",
        help="the random initialisation to compare with the constant one",
    )
    p.add_argument(
        "--constant-value",
        type=float,
        default=0.0,
        help="every weight and bias of the constant start",
    )
    p.add_argument("--epochs", type=int, default=3, help="passes over the training set")
    p.add_argument("--lr", type=float, default=1.0, help="learning rate η")
    p.add_argument("--batch-size", type=int, default=10, help="examples per step")
    p.add_argument("--seed", type=int, default=0, help="seed for initialisation and shuffling")
    p.add_argument(
        "--plot",
        type=Path,
        metavar="FILE",
        help="draw both runs' first-layer weights as 28×28 images to FILE (PNG)",
    )
    _add_svg_json(p)
    p.set_defaults(run=run_symmetry)

    p = commands.add_parser(
        "nudges",
        help="the gradient as 13,002 nudges: which weights matter, which way they move",
        description="Compute the full gradient ∇C at θ by backpropagation and read it as "
        "nudges −η∂C/∂θ: the largest ones, the sign rule, the first-order prediction of one "
        "step's cost change against the real change, and what one training image wants. "
        "Without MODEL, θ is a freshly initialised network, where learning starts.",
        formatter_class=defaults,
    )
    _add_model_options(p, "seed of the fresh network, as `nudgenet train --seed`")
    p.add_argument(
        "--lr",
        type=float,
        default=0.1,
        help="η for the nudges and the one-step check (small: the check is first-order)",
    )
    p.add_argument("--top", type=int, default=10, help="how many of the largest nudges to list")
    p.add_argument(
        "--image",
        type=int,
        default=0,
        metavar="INDEX",
        help="the training image whose wants to show",
    )
    p.add_argument(
        "--plot",
        type=Path,
        metavar="FILE",
        help="draw that image and its first-layer nudges to FILE (PNG)",
    )
    _add_svg_json(p)
    p.set_defaults(run=run_nudges)

    p = commands.add_parser(
        "landscape",
        help="the cost along the gradient and on a plane through θ",
        description="Slice the cost landscape through θ: along the downhill direction "
        "−∇C/‖∇C‖ (with the tangent, slope −‖∇C‖, and where a step of η lands) and over a "
        "plane spanned by two random directions normalised per layer. A model trained with "
        "`nudgenet train --snapshots` also gets its training path, projected on that plane "
        "and drawn on the plane of the path itself. Without MODEL, θ is a freshly "
        "initialised network.",
        formatter_class=defaults,
    )
    _add_model_options(
        p, "seed of the fresh network (as `nudgenet train --seed`) and of the random directions"
    )
    p.add_argument(
        "--lr",
        type=float,
        default=1.0,
        help="η of the step marked on the line (nudgenet train's default)",
    )
    p.add_argument(
        "--resolution",
        type=int,
        default=25,
        help="grid points per side of the plane (odd puts θ on the grid)",
    )
    p.add_argument(
        "--span",
        type=float,
        default=1.0,
        help="the plane covers α, β in [−span, span]; 1 moves each layer by its own size",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="folder for landscape-line.png, landscape-plane.png and, with "
        "snapshots, landscape-path.png",
    )
    _add_svg_json(p)
    p.set_defaults(run=run_landscape)


def _add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        default="mini",
        metavar="|".join(DATASET_CHOICES) + "|PATH",
        help="the data: the embedded subset of MNIST (mini), full MNIST or Fashion-MNIST, "
        "or a folder of the four IDX files",
    )


def _add_model_options(p: argparse.ArgumentParser, seed_help: str) -> None:
    p.add_argument(
        "model",
        type=Path,
        nargs="?",
        metavar="MODEL",
        help="a model saved by `nudgenet train`; none: a fresh network",
    )
    _add_data(p)
    p.add_argument(
        "--examples",
        type=int,
        default=1000,
        help="how many training examples the cost averages over (0: all)",
    )
    p.add_argument(
        "--init",
        choices=INITS,
        default="xavier",
        help="how the fresh network starts (without MODEL)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help=seed_help,
    )


def _add_svg_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--svg", action="store_true", help="also write each figure as SVG")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


# --------------------------------------------------------------------------- symmetry


def run_symmetry(args: argparse.Namespace) -> int:
    """``nudgenet symmetry``: constant vs random initialisation, neurons counted."""
    settings = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr)
    network = Network()
    data = load_dataset(args.data)
    _check_fits(network, data)
    X = to_inputs(data.train_images, np.float64)
    Y = one_hot(data.train_labels, dtype=np.float64)
    test = (to_inputs(data.test_images, np.float64), data.test_labels)
    say = _printer(args.json)
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
    written = _save(draw_first_layer(runs, network), args.plot, args.svg) if args.plot else []
    if args.json:
        _print_json(
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
    for path in written:
        print(f"wrote {path}")
    return 0


# --------------------------------------------------------------------------- nudges


def run_nudges(args: argparse.Namespace) -> int:
    """``nudgenet nudges``: the gradient read as nudges, one step checked, one example's wants."""
    _check_positive("--lr", args.lr)
    if args.top < 1:
        raise ConfigError(f"--top must be at least 1, got {args.top}")
    network, theta, cost, source, _ = _network_and_theta(args)
    data = load_dataset(args.data)
    _check_fits(network, data)
    X, Y = _examples(data, args.examples)
    if not 0 <= args.image < len(data.train_labels):
        raise ConfigError(
            f"--image must be a training image index in 0..{len(data.train_labels) - 1}, "
            f"got {args.image}"
        )
    layout = network.layout
    eta = args.lr
    C, gradient = cost_and_gradient(network, theta, X, Y, cost)
    check = first_order_check(network, theta, X, Y, eta, cost, gradient=gradient)
    top = largest_nudges(layout, gradient, eta, args.top)
    magnitude = np.abs(gradient)
    median = float(np.median(magnitude))
    n_zero = int(np.count_nonzero(gradient == 0))
    promises = [
        first_order_check(network, theta, X, Y, eta * f, cost, gradient=gradient)
        for f in PROMISE_FACTORS
    ]
    x = to_inputs(data.train_images[args.image : args.image + 1], np.float64)[0]
    label = int(data.train_labels[args.image])
    wants = example_wants(network, theta, x, label, learning_rate=eta, cost=cost, index=args.image)
    written = _save(draw_example_wants(wants, network), args.plot, args.svg) if args.plot else []
    ratio_last = abs(top[0].derivative) / abs(top[-1].derivative) if top[-1].derivative else None
    ratio_median = abs(top[0].derivative) / median if median > 0 else None
    if args.json:
        _print_json(
            {
                "theta": source,
                "data": data.name,
                "examples": len(X),
                "cost": C,
                "cost_function": cost,
                "num_components": int(gradient.size),
                "gradient_norm": float(np.linalg.norm(gradient)),
                "zero_components": n_zero,
                "median_abs_derivative": median,
                "learning_rate": eta,
                "top": [n.as_dict() for n in top],
                "ratio_largest_to_kth": ratio_last,
                "ratio_largest_to_median": ratio_median,
                "first_order": check.as_dict(),
                "first_order_by_learning_rate": [p.as_dict() for p in promises],
                "example": wants.as_dict(),
                "figures": [str(p) for p in written],
            }
        )
        return 0
    print(f"the gradient of the {cost} cost at {source},")
    print(f"averaged over {len(X):,} training examples of {data.name}: C(θ) = {C:.4f}")
    print(
        f"  ∇C has {gradient.size:,} components, one per weight and bias; "
        f"‖∇C‖ = {np.linalg.norm(gradient):.4g}"
    )
    _wrap(
        f"{n_zero:,} are exactly 0: weights from pixels that are blank in every one of these "
        f"images (no ink, no say). The median |∂C/∂θ| is {median:.3g}.",
        "  ",
    )
    print(f"\nthe {len(top)} largest nudges for η = {eta:g} (nudge = −η·∂C/∂θ):")
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
    if ratio_last is not None:
        line = f"  the largest matters {ratio_last:.3g} times more than number {len(top)}"
        if ratio_median is not None:
            line += f", and {ratio_median:,.0f} times more than the median component"
        print(line)
    print()
    _wrap(
        "the sign rule: ∂C/∂θ > 0 means raising θ raises the cost, so the nudge lowers θ; "
        "∂C/∂θ < 0 means raising θ lowers the cost, so the nudge raises θ."
    )
    print(f"\none step θ → θ − η∇C with η = {eta:g}, to first order ΔC ≈ ∇C·Δθ = −η‖∇C‖²:")
    print(f"  predicted ΔC = {check.predicted_change:+.6g}")
    print(f"  actual    ΔC = {check.actual_change:+.6g}  (C(θ − η∇C) − C(θ))")
    print(f"  relative difference {100 * check.relative_difference:.2f}%")
    print("  the promise holds for small steps and fails for large ones, where C bends:")
    for p in promises:
        print(
            f"    η = {p.learning_rate:<8g} predicted {p.predicted_change:+.4g}  "
            f"actual {p.actual_change:+.4g}  off by {100 * p.relative_difference:.1f}%"
        )
    _print_wants(wants, quadratic_sigmoid=cost == "quadratic" and network.output == "sigmoid")
    for path in written:
        print(f"wrote {path}")
    return 0


def _print_wants(wants: ExampleWants, *, quadratic_sigmoid: bool) -> None:
    article = "an" if wants.label == 8 else "a"  # "an 8", "a 7"
    print(
        f"\nwhat training image #{wants.index} ({article} {wants.label}) wants, alone "
        f"(its own cost Cₓ = {wants.cost:.4f}):"
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
    network, theta, cost, source, snapshots = _network_and_theta(args)
    data = load_dataset(args.data)
    _check_fits(network, data)
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
    path = share = None
    if snapshots is not None:
        path = project(snapshots, theta, directions)
        share = _path_share(snapshots, theta, directions)
    formats = ("png", "svg") if args.svg else ("png",)
    written = save(draw_line(line), args.out / "landscape-line.png", formats)
    written += save(
        draw_plane(plane, path, directions="random", in_plane=share),
        args.out / "landscape-plane.png",
        formats,
    )
    path_plane = along_path = None
    along = _path_directions(snapshots, theta)
    if along is not None and snapshots is not None:
        along_path = project(snapshots, theta, along)
        # Wide enough to hold the whole path, however far training went.
        reach = max(args.span, 1.15 * float(np.max(np.abs(along_path))))
        wide = np.linspace(-reach, reach, args.resolution)
        path_plane = plane_slice(network, theta, X, Y, along, wide, wide, cost=cost)
        written += save(
            draw_plane(
                path_plane,
                along_path,
                directions="trajectory",
                in_plane=_path_share(snapshots, theta, along),
            ),
            args.out / "landscape-path.png",
            formats,
        )
    if args.json:
        result: dict[str, Any] = {
            "theta": source,
            "data": data.name,
            "examples": len(X),
            "cost_function": cost,
            "line": line.as_dict(),
            "plane": plane.as_dict(),
            "span": args.span,
            "resolution": args.resolution,
            "trajectory": None if path is None else path.tolist(),
            "trajectory_in_plane": share,
            "path_plane": None if path_plane is None else path_plane.as_dict(),
            "path_plane_trajectory": None if along_path is None else along_path.tolist(),
            "figures": [str(p) for p in written],
        }
        _print_json(result)
        return 0
    print(f"the {cost} cost around {source},")
    print(f"averaged over {len(X):,} training examples of {data.name}: C(θ) = {line.cost:.4f}")
    print(
        f"  along the downhill direction −∇C/‖∇C‖ the cost starts falling at slope "
        f"−‖∇C‖ = {line.slope:.4g}"
    )
    promise = line.cost + line.slope * step
    print(
        f"  a step of η = {args.lr:g} moves θ by η‖∇C‖ = {step:.4g} and lands at "
        f"C = {line.step_cost:.4f} (the tangent promised {promise:.4f})"
    )
    print(
        f"  plane: {args.resolution}×{args.resolution} grid of α, β in [−{args.span:g}, "
        f"{args.span:g}] (1 moves each layer by its own size); C from {plane.costs.min():.4f} "
        f"to {plane.costs.max():.4f}"
    )
    if share is not None and snapshots is not None:
        shown = f"{100 * share:.0f}% of the distance from the start of training to θ"
        why = (
            f"only {shown}: in {theta.size:,} dimensions, random directions are nearly "
            "perpendicular to it"
            if share < 0.25
            else shown
        )
        _wrap(
            f"training path: {len(snapshots)} snapshots. The random plane shows {why}"
            + (". landscape-path.png uses the path's own plane." if path_plane else "."),
            "  ",
        )
    elif args.model:
        print("  (no θ snapshots in this model: train with --snapshots to see the path)")
    for p in written:
        print(f"wrote {p}")
    return 0


def _path_directions(snapshots: Any, theta: Any) -> tuple[Any, Any] | None:
    """The plane of the training path, or None when there is no path with two directions."""
    if snapshots is None or len(snapshots) < 3:
        return None
    try:
        return trajectory_directions(snapshots, theta)
    except ConfigError:  # e.g. every snapshot on one line: no plane to show
        return None


def _path_share(snapshots: Any, theta: Any, directions: Any) -> float:
    """The share of the distance from the first snapshot (the start) to θ that the plane shows."""
    return float(in_plane_fraction(snapshots[:1], theta, directions)[0])


# --------------------------------------------------------------------------- shared


def _network_and_theta(
    args: argparse.Namespace,
) -> tuple[Network, np.ndarray, str, str, np.ndarray | None]:
    """The network, θ (float64), cost, a description and θ snapshots: the model's, or fresh."""
    if args.model is not None:
        model = Model.load(args.model)
        theta = model.theta.astype(np.float64)
        return model.network, theta, model.cost, f"the model {args.model}", model.snapshots
    network = Network()
    # The same stream `nudgenet train --seed` draws θ from, so this θ is where it starts.
    init_seed = np.random.SeedSequence(args.seed).spawn(2)[0]
    theta = init_params(network.layout, args.init, rng=np.random.default_rng(init_seed))
    sizes = "-".join(map(str, network.sizes))
    source = f"a fresh {args.init}-initialised {sizes} network (seed {args.seed})"
    return network, theta, "quadratic", source, None


def _examples(data: Dataset, n: int) -> tuple[np.ndarray, np.ndarray]:
    if n < 0:
        raise ConfigError(f"--examples must be ≥ 0 (0: all), got {n}")
    n = len(data.train_labels) if n == 0 else min(n, len(data.train_labels))
    X = to_inputs(data.train_images[:n], np.float64)
    return X, one_hot(data.train_labels[:n], dtype=np.float64)


def _check_fits(network: Network, data: Dataset) -> None:
    n_pixels = data.train_images[0].size
    if network.sizes[0] != n_pixels or network.sizes[-1] != 10:
        raise ConfigError(
            f"the network {'-'.join(map(str, network.sizes))} does not fit {data.name}: it "
            f"needs {n_pixels} inputs (one per pixel) and 10 outputs (one per class)",
            help="choose the data the model was trained on with --data",
        )


def _check_positive(flag: str, value: float) -> None:
    if not (np.isfinite(value) and value > 0):
        raise ConfigError(f"{flag} must be a positive number, got {value}")


def _save(fig: Any, path: Path, svg: bool) -> list[Path]:
    return save(fig, path, ("png", "svg") if svg else ("png",))


def _wrap(text: str, indent: str = "") -> None:
    """Print a paragraph wrapped to a terminal's width."""
    print(textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent))


def _printer(quiet: bool) -> Any:
    return (lambda *_: None) if quiet else print


def _print_json(obj: dict[str, Any]) -> None:
    print(json.dumps(obj, indent=2, allow_nan=False))
    sys.stdout.flush()
