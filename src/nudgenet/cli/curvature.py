"""``nudgenet curvature``: the Hessian of the cost at a trained θ, and the critical η.

The numbers come from :mod:`nudgenet.lessons.curvature` (Lanczos on exact Hessian-vector
products from :mod:`nudgenet.hessian`); this module checks the inputs, says before a full
Hessian is built how large it is, and renders the report, one JSON object with ``--json``,
and two figures with ``--plot DIR``.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from .. import options
from ..constraints import Range
from ..data import load_dataset, one_hot, to_inputs
from ..errors import ConfigError
from ..hessian import check_full_hessian, second_derivative_bytes
from ..lessons.curvature import (
    EDGE_BAND,
    EDGE_EVERY,
    EDGE_RATES,
    EDGE_STEPS,
    LINK_BISECTIONS,
    LINK_EXAMPLES,
    LINK_SEEDS,
    LINK_STEPS,
    LINK_TRAIN_EPOCHS,
    TOP,
    Curvature,
    Link,
    check_tracking,
    draw_eigenvectors,
    draw_line,
    draw_link,
    learning_rate_link,
    read_curvature,
)
from ..lessons.regimes import seed_text
from ..model import Model
from ..network import Network
from ..training.recipe import check_fits
from .common import (
    Finite,
    add_data,
    add_json,
    add_option,
    add_output,
    check_figure,
    check_output_folder,
    float_list,
    parse_seeds,
    print_json,
    save_figure,
)

MAX_EXAMPLES = 60_000  # full MNIST's training set: X alone is 376 MB in float64
EXAMPLES = Range(
    "limit",
    1,
    MAX_EXAMPLES,
    "the Hessian averages the cost over the first N training images",
    integer=True,
    label="--limit",
    must=f"a whole number of images from 1 to {MAX_EXAMPLES:,}",
    hint=f"from 1 to {MAX_EXAMPLES:,} images; 1,000 take about a second",
)
FIGURES = ("curvature-eigenvectors", "curvature-line")
MAX_LINK_SEEDS = 20  # each seed trains a network and runs a dozen descents: minutes apiece
STEPS = Range(
    "steps",
    1,
    10_000,
    "full-batch steps per trial of the bisection (M)",
    integer=True,
    hint="e.g. --steps 100; each trial takes M full-batch steps",
)
EDGE_STEPS_RANGE = Range(
    "edge-steps",
    1,
    100_000,
    "full-batch steps of each fixed-η run",
    integer=True,
    hint="e.g. --edge-steps 1000",
)
EVERY = Range(
    "every",
    1,
    100_000,
    "measure λ_max every this many steps",
    integer=True,
    hint="e.g. --every 20; each measurement is a Lanczos run",
)
BISECTIONS = Range(
    "bisections",
    1,
    30,
    "halvings of the bracket around the threshold",
    integer=True,
    hint="8 pin the threshold to about 1%",
)
WIDTH = 96


def register(commands: Any) -> None:
    """Add ``curvature`` and ``critical-rate`` to the ``nudgenet`` subcommands."""
    _add_curvature_parser(commands)
    _add_critical_rate_parser(commands)


def _add_curvature_parser(commands: Any) -> None:
    p = commands.add_parser(
        "curvature",
        help="the Hessian at a trained θ: λ_max, the top eigenvalues, the critical η = 2/λ_max",
        description="Find the largest eigenvalues of the Hessian of the data cost C (without "
        "the L2 term) at a saved model, on the first N training images, by Lanczos on exact "
        "Hessian-vector products. Full-batch descent near θ is unstable for η > 2/λ_max: "
        "along the top eigenvector each step multiplies the offset by 1 − ηλ_max. --full "
        "builds the whole Hessian and counts its negative eigenvalues (a saddle has some).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("model", type=Path, metavar="MODEL", help="a model saved by `nudgenet train`")
    add_data(p, "the training images the cost averages over")
    add_option(p, EXAMPLES, 1000)
    add_option(p, TOP, 5)
    p.add_argument("--full", action="store_true",
                   help="also build the whole Hessian (n_params² floats: 1.35 GB for the seed "
                   "network) and find all its eigenvalues; minutes")  # fmt: skip
    add_option(p, options.SEED, 0, help="seed of Lanczos's start vector")
    add_output(p, "--plot", metavar="DIR",
               help="folder for curvature-eigenvectors.png (the top eigenvectors' first "
               "layer as 28×28 images) and curvature-line.png (the cost along the top "
               "eigenvector against its quadratic model)")  # fmt: skip
    p.add_argument("--svg", action="store_true", help="also write each figure as SVG")
    add_json(p)
    p.set_defaults(run=run_curvature)


def _add_critical_rate_parser(commands: Any) -> None:
    p = commands.add_parser(
        "critical-rate",
        help="predicted 2/λ_max against where full-batch descent really diverges, and the "
        "edge of stability",
        description="For each seed: train the seed network by the recipe on the first N "
        "images, predict the critical learning rate 2/λ_max there, and measure it: bisection "
        "on η for the rate at which M full-batch steps end above the starting cost. Then, "
        "from the same seed's initial θ, descend with each fixed η and track λ_max against "
        "2/η (the edge of stability, Cohen et al. 2021). Minutes with the defaults.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--seeds",
        type=parse_seeds,
        default=LINK_SEEDS,
        metavar="0-2|0,1,2",
        help="the seeds of the trained points and of the fixed-η runs",
    )
    add_data(p, "the training images of the trained points and of the Hessian")
    add_option(p, EXAMPLES, LINK_EXAMPLES)
    add_option(
        p,
        options.EPOCHS,
        LINK_TRAIN_EPOCHS,
        help="epochs of batch 10 at η = 1 that make each trained point",
    )
    add_option(p, STEPS, LINK_STEPS)
    add_option(p, BISECTIONS, LINK_BISECTIONS)
    p.add_argument(
        "--rates",
        type=float_list,
        action=Finite,
        default=EDGE_RATES,
        metavar="R1,R2",
        help="the fixed η of the edge-of-stability runs",
    )
    add_option(p, EDGE_STEPS_RANGE, EDGE_STEPS)
    add_option(p, EVERY, EDGE_EVERY)
    add_output(p, "--plot", metavar="FILE", help="save the figure of both as a PNG")
    p.add_argument("--svg", action="store_true", help="also save the figure as SVG")
    add_json(p)
    p.set_defaults(run=run_critical_rate)


def run_critical_rate(args: argparse.Namespace) -> int:
    """``nudgenet critical-rate``: the curvature's prediction against descent, over seeds."""
    if args.svg and args.plot is None:
        raise ConfigError("--svg needs --plot FILE", help="e.g. --plot critical.png --svg")
    check_figure(args.plot, args.svg)
    if not 1 <= len(args.seeds) <= MAX_LINK_SEEDS:
        raise ConfigError(
            f"give 1 to {MAX_LINK_SEEDS} seeds, got {len(args.seeds)}",
            help="e.g. --seeds 0-2; each seed takes a minute or more",
        )
    for seed in args.seeds:
        options.SEED.check(seed)
    for eta in args.rates:
        options.LEARNING_RATE.check(eta)
    if len(args.rates) > 10:
        raise ConfigError(f"give at most 10 rates, got {len(args.rates)}", help="e.g. --rates 5,10")
    check_tracking(args.edge_steps, args.every)
    data = load_dataset(args.data)
    check_fits(
        Network(),
        data,
        help="the lesson trains the seed network: choose a set of 28×28 digits with --data",
    )
    link = learning_rate_link(
        args.seeds,
        examples=args.limit,
        train_epochs=args.epochs,
        steps=args.steps,
        bisections=args.bisections,
        edge_rates=args.rates,
        edge_steps=args.edge_steps,
        every=args.every,
        data=data,
    )
    written = save_figure(args.plot, args.svg, draw_link, link)
    if args.json:
        print_json({**link.as_dict(), "figures": [str(p) for p in written]})
        return 0
    for line in link_report(link):
        print(line)
    for path in written:
        print(f"figure saved to {path}")
    return 0


def link_report(link: Link) -> list[str]:
    """Predicted and measured critical η side by side, then what each fixed-η run did."""
    seeds = [t.seed for t in link.thresholds]
    lines = [
        f"{link.examples:,} images of {link.data}, {seed_text(seeds)}; trained points by "
        f"{link.train}",
        "",
    ]
    lines += _wrap(
        f"Full-batch descent from each trained point θ₀ diverges when, after "
        f"{link.steps} steps, its cost is above C(θ₀); bisection on η finds where "
        "that starts."
    )
    lines.append(
        f"{'seed':>4}  {'C(θ₀)':>9}  {'λ_max(θ₀)':>10}  {'predicted 2/λ_max':>17}  "
        f"{'measured':>18}  ratio"
    )
    for t in link.thresholds:
        bracket = f"{t.measured:.4g} [{t.low:.4g}, {t.high:.4g}]"
        lines.append(
            f"{t.seed:>4}  {t.start_cost:>9.4g}  {t.lambda_max:>10.4g}  "
            f"{t.predicted:>17.4g}  {bracket:>18}  {t.ratio:.3f}"
        )
    lines += ["", "λ_max along full-batch descent with a fixed η, from the initial θ:"]
    low, high = EDGE_BAND
    for s in link.sharpenings:
        peak, at = s.peak()
        near = s.near_edge()
        where = f"steps {near[0]}–{near[-1]}" if near else "never"
        lines += textwrap.wrap(
            f"  η = {s.learning_rate:g}, seed {s.seed}: 2/η = {s.edge:.3g}; λ_max peaks "
            f"at {peak:.2f}× 2/η (step {at}), is within {low:g}–{high:g}× of it at "
            f"{len(near)} of {len(s.steps) - 1} measurements ({where}), ends at "
            f"{s.ratios[-1]:.2f}×",
            WIDTH,
            subsequent_indent="    ",
        )
    return lines


def run_curvature(args: argparse.Namespace) -> int:
    """``nudgenet curvature``: the top of the Hessian's spectrum and the critical η."""
    if args.svg and args.plot is None:
        raise ConfigError("--svg needs --plot DIR", help="e.g. --plot figures --svg")
    if args.plot is not None:
        check_output_folder(args.plot, "--plot", exists=True)
        for name in FIGURES:
            check_figure(args.plot / f"{name}.png", args.svg, "--plot")
    model = Model.load(args.model)
    network = model.network
    if args.top >= network.n_params:
        raise ConfigError(
            f"--top {args.top} asks for as many eigenvalues as the {network.n_params} "
            "parameters or more",
            help=f"ask for at most {network.n_params - 1}, or use --full for all of them",
        )
    if args.full:
        check_full_hessian(network.n_params)
    data = load_dataset(args.data)
    check_fits(network, data, help="choose the data the model was trained on with --data")
    n = len(data.train_labels)
    if args.limit > n:
        raise ConfigError(
            f"--limit {args.limit:,} is more than the {n:,} training images of {data.name}",
            help=f"give --limit at most {n:,}",
        )
    X = to_inputs(data.train_images[: args.limit], np.float64)
    Y = one_hot(data.train_labels[: args.limit], network.sizes[-1], np.float64)
    if args.full:
        size = network.n_params
        print(f"building the full {size:,} × {size:,} Hessian: "
              f"{second_derivative_bytes(size) / 1e9:.2f} GB in float64, from {size:,} "
              f"Hessian-vector products on {len(X):,} images, then all its eigenvalues "
              "(this takes minutes)", file=sys.stderr, flush=True)  # fmt: skip
    theta = model.theta.astype(np.float64)
    reading = read_curvature(network, theta, X, Y, model.cost, top=args.top, full=args.full,
                             rng=np.random.default_rng(args.seed))  # fmt: skip
    written: list[Path] = []
    if args.plot is not None:
        written += save_figure(args.plot / "curvature-eigenvectors.png", args.svg,
                               draw_eigenvectors, reading, network)  # fmt: skip
        written += save_figure(args.plot / "curvature-line.png", args.svg, draw_line, reading)
    if args.json:
        print_json({"model": str(args.model), "data": data.name, "seed": args.seed,
                    **reading.as_dict(), "figures": [str(p) for p in written]})  # fmt: skip
        return 0
    for line in report(reading, f"the model {args.model}", data.name, args.seed):
        print(line)
    for path in written:
        print(f"wrote {path}")
    return 0


def report(c: Curvature, source: str, data: str, seed: int) -> list[str]:
    """The reading in words: the top eigenvalues, the critical η, the spectrum's signs."""
    lines = [
        f"the Hessian of the {c.cost_function} cost (without L2) at {source},",
        f"averaged over the first {c.examples:,} training images of {data}: "
        f"C(θ) = {c.cost:.5g}, ‖∇C‖ = {c.gradient_norm:.3g}",
        "",
        f"top {len(c.top_eigenvalues)} eigenvalues (Lanczos, start vector from seed {seed}):",
        "  " + "  ".join(f"{v:.5g}" for v in c.top_eigenvalues),
        "",
    ]
    lines += _wrap(
        f"λ_max = {c.lambda_max:.5g}: critical learning rate 2/λ_max = {c.critical_lr:.5g}. "
        "Along the top eigenvector one full-batch step multiplies the offset from the bottom "
        f"by 1 − ηλ_max, which grows in size for η > {c.critical_lr:.4g}: near θ, full-batch "
        "descent with a larger η overshoots further at every step."
    )
    line = c.line
    error = np.max(np.abs(line.costs - line.model)) / max(float(np.ptp(line.costs)), 1e-300)
    lines += _wrap(
        f"Along it, over t in [{line.ts[0]:.3g}, {line.ts[-1]:.3g}], the real cost differs "
        f"from its quadratic model C + t∇C·u + ½λ_max t² by at most {100 * error:.1f}% of the "
        "cost's range there."
    )
    counts = c.counts()
    if counts is not None and c.eigenvalues is not None:
        n = len(c.eigenvalues)
        verdict = (
            f"a saddle: {counts['negative']:,} directions curve down"
            if counts["negative"]
            else "no direction curves down (to rounding)"
        )
        lines += [
            "",
            f"all {n:,} eigenvalues: {counts['negative']:,} negative, {counts['zero']:,} zero "
            f"(|λ| ≤ {c.tolerance:.2g}), {counts['positive']:,} positive; "
            f"λ_min = {c.eigenvalues[0]:.4g}",
        ]
        lines += _wrap(f"so θ is {verdict}.")
    return lines


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, WIDTH)
