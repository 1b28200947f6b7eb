"""``nudgenet gradcheck``: backpropagation checked against finite differences.

The check itself is :func:`nudgenet.gradcheck.check_gradient`; this module picks the
combinations, prints one line per check and exits non-zero when any fails.
"""

from __future__ import annotations

import argparse
import itertools
from typing import Any

import numpy as np

from .. import options
from ..activations import ACTIVATIONS, OUTPUTS
from ..constraints import Range
from ..cost import COSTS
from ..gradcheck import GradientCheck, check_gradient
from ..init import INITS
from ..network import Network
from .common import add_json, add_network, add_option, print_json

GRADCHECK_TOLERANCE = 1e-6
# Not the training option: a count of random examples, where 0 has no meaning, and few are
# enough (each parameter costs two passes over the batch).
BATCH = Range(
    "batch-size",
    1,
    10_000,
    "random examples in the batch",
    integer=True,
    hint="a few examples are enough to check the gradient, e.g. --batch-size 8",
)


def register(commands: Any) -> None:
    """Add ``gradcheck`` to the ``nudgenet`` subcommands."""
    p = commands.add_parser(
        "gradcheck",
        help="check backpropagation against finite differences",
        description="Compare the gradient from backpropagation with a finite-difference "
        "estimate on a small random network and batch, in float64, and print the maximum "
        f"relative error (it passes below {GRADCHECK_TOLERANCE:g}).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_network(p, init="normal", sizes=(5, 4, 3, 3))
    add_option(p, options.L2, 0.0)
    add_option(p, BATCH, 8)
    add_option(p, options.SEED, 0, help="seed of the random θ and batch")
    p.add_argument("--all", action="store_true",
                   help="check every activation × output × cost × init combination")  # fmt: skip
    add_json(p)
    p.set_defaults(run=run_gradcheck)


def run_gradcheck(args: argparse.Namespace) -> int:
    """``nudgenet gradcheck``: backpropagation against finite differences."""
    if args.all:
        combos = list(itertools.product(ACTIVATIONS, OUTPUTS, COSTS, INITS))
    else:
        combos = [(args.activation, args.output, args.cost, args.init)]
    rng = np.random.default_rng(args.seed)
    checks = [
        check_gradient(
            Network(args.sizes, activation, output),
            cost=cost,
            init=init,
            l2=args.l2,
            m=args.batch_size,
            rng=rng,
        )
        for activation, output, cost, init in combos
    ]
    worst = max(c.max_relative_error for c in checks)
    passed = worst < GRADCHECK_TOLERANCE
    if args.json:
        print_json(
            {
                "max_relative_error": worst,
                "tolerance": GRADCHECK_TOLERANCE,
                "passed": passed,
                "sizes": list(args.sizes),
                "checks": [_check_dict(c) for c in checks],
            }
        )
    else:
        _report(checks, worst, passed, args)
    return 0 if passed else 1


def _report(
    checks: list[GradientCheck], worst: float, passed: bool, args: argparse.Namespace
) -> None:
    sizes = "-".join(map(str, args.sizes))
    print(
        f"backpropagation vs finite differences on a {sizes} network, "
        f"{args.batch_size} random examples, float64"
    )
    for c in checks:
        verdict = "ok" if c.max_relative_error < GRADCHECK_TOLERANCE else "FAILED"
        print(
            f"  {c.network.activation:>7} hidden  {c.network.output:>7} output  {c.cost:>13}  "
            f"{c.init:>8} init   max relative error {c.max_relative_error:.2e}  {verdict}"
        )
    print(
        f"max relative error {worst:.2e} over {checks[0].n_params} parameters: "
        + ("passed" if passed else "FAILED")
        + f" (tolerance {GRADCHECK_TOLERANCE:g})"
    )


def _check_dict(c: GradientCheck) -> dict[str, Any]:
    return {
        "activation": c.network.activation,
        "output": c.network.output,
        "cost": c.cost,
        "init": c.init,
        "num_params": c.n_params,
        "max_relative_error": c.max_relative_error,
        "max_absolute_error": c.max_absolute_error,
    }
