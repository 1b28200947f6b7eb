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
from ..lessons.curvature import TOP, Curvature, draw_eigenvectors, draw_line, read_curvature
from ..model import Model
from ..training.recipe import check_fits
from .common import (
    add_data,
    add_json,
    add_option,
    add_output,
    check_figure,
    check_output_folder,
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
WIDTH = 96


def register(commands: Any) -> None:
    """Add ``curvature`` to the ``nudgenet`` subcommands."""
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
