"""What every command group shares: flags read from the option table, and JSON output.

Each option's choices and range come from :mod:`nudgenet.options`, so ``--help`` states the
same list and interval as the library's errors; the value itself is checked once, by the
library, where it enters.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from ..constraints import Choice, Range
from ..data import DATASET_CHOICES


def add_option(
    p: argparse.ArgumentParser,
    option: Choice | Range,
    default: Any,
    *,
    flag: str | None = None,
    help: str | None = None,
) -> None:
    """Add ``--NAME`` for ``option``: its choices, or its number type and interval in the help."""
    text = help or option.help
    if isinstance(option, Choice):
        p.add_argument(flag or f"--{option.name}", choices=option.values, default=default,
                       help=text)  # fmt: skip
        return
    p.add_argument(
        flag or f"--{option.name}",
        type=int if option.integer else float,
        default=default,
        help=f"{text}; in {option.interval()}",
    )


def add_data(p: argparse.ArgumentParser, what: str, default: str | None = "mini") -> None:
    """Add ``--data``: a named data set or a folder of IDX files."""
    p.add_argument(
        "--data",
        default=default,
        metavar="|".join(DATASET_CHOICES) + "|PATH",
        help=f"{what}: the embedded subset of MNIST (mini), full MNIST or Fashion-MNIST "
        "(downloaded once into the cache, $NUDGENET_DATA), or a folder of the four IDX files"
        + ("" if default else "; default: the model's own training data"),
    )


def add_json(p: argparse.ArgumentParser) -> None:
    """Add ``--json``: one JSON object on stdout instead of the text report."""
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def layer_sizes(text: str) -> tuple[int, ...]:
    """``--sizes 784,16,16,10`` as a tuple of positive integers (argparse ``type``)."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of layer sizes, e.g. 784,16,16,10"
        ) from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"need at least two positive sizes, got {text!r}")
    return sizes


def printer(quiet: bool) -> Any:
    """``print`` to stdout, or nothing when stdout is reserved for one JSON object."""
    return (lambda *_: None) if quiet else print


def print_json(obj: Any) -> None:
    """Print ``obj`` as strict JSON: non-finite floats become null."""
    print(json.dumps(finite(obj), indent=2, allow_nan=False))


def finite(obj: Any) -> Any:
    """``obj`` with every NaN or infinity, however deep, replaced by None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite(v) for v in obj]
    return obj
