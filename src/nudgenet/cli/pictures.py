"""``nudgenet plot``: pictures of a saved model and its training run, one file each.

The figures come from :mod:`nudgenet.lessons.pictures`; this module only picks the data, the
folder and the formats, and lists what it wrote.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..data import Dataset, load_dataset
from ..errors import DataError
from ..interop import load_model
from ..lessons.pictures import FIGURES, draw_all
from ..model import Model
from .common import add_data, add_json, add_output, check_output_folder, figure_formats, print_json


def register(commands: Any) -> None:
    """Add the ``plot`` subcommand to ``commands`` (argparse's subparsers object)."""
    p = commands.add_parser(
        "plot",
        help="draw pictures of a trained model: cost, accuracy, weights, mistakes, …",
        description="Draw a saved model's training run and what it learned, one PNG file "
        f"each: {', '.join(f'{name}.png' for name in FIGURES)}.",
    )
    p.add_argument("model", type=Path, help="a model saved by `nudgenet train`")
    add_data(p, "the data whose test images to classify", default=None,
             otherwise="the model's own training data, or mini if that is not at hand")  # fmt: skip
    add_output(p, "--out", default=None, metavar="DIR",
               help="folder for the figures; default: <model name>-plots beside the "
               "model")  # fmt: skip
    p.add_argument("--svg", action="store_true", help="also write each figure as SVG")
    p.add_argument("--image", type=int, default=0, metavar="INDEX",
                   help="the test image whose output activations to draw (default: 0)")  # fmt: skip
    add_json(p)
    p.set_defaults(run=run_plot)


def run_plot(args: argparse.Namespace) -> int:
    """``nudgenet plot``: draw every figure of a saved model into a folder."""
    model = load_model(args.model)
    out = args.out if args.out is not None else args.model.with_name(f"{args.model.stem}-plots")
    check_output_folder(out, "--out")
    data = load_dataset(args.data) if args.data else _own_data(model)
    written = draw_plots(model, data, out, args.svg, image_index=args.image)
    if args.json:
        result = {"model": str(args.model), "data": data.name, "out": str(out),
                  "files": [str(p) for p in written]}  # fmt: skip
        print_json(result)
    else:
        print(f"{len(written)} figures of {args.model} on {data.name}'s test images:")
        for path in written:
            print(f"  {path}")
    return 0


def draw_plots(
    model: Model, data: Dataset, out: Path, svg: bool, image_index: int = 0
) -> list[Path]:
    """Every figure as PNG (and SVG when ``svg``) in ``out``; used by plot and train --plots."""
    return draw_all(model, data, out, formats=figure_formats(svg), image_index=image_index)


def _own_data(model: Model) -> Dataset:
    """The data the model was trained on, without downloading; mini if it is not at hand."""
    spec = str(model.settings.get("data") or "mini")
    if spec != "mini":
        try:
            return load_dataset(spec, download_missing=False)
        except DataError as exc:
            print(
                f"note: the model's training data {spec!r} is not at hand ({exc.message}); "
                "drawing with the embedded mini set instead (choose with --data)",
                file=sys.stderr,
            )
    return load_dataset("mini")
