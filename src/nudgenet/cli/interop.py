"""``nudgenet export`` and ``import``: a model to and from PyTorch, ONNX and safetensors.

``export`` writes a saved model as a PyTorch ``state_dict`` (``.pt``), an ONNX graph
(``.onnx``) or a safetensors file (``.safetensors``); ``import`` reads a ``state_dict`` or a
safetensors file back into nudgenet's ``.npz``. The formats are
:mod:`nudgenet.interop`'s; this module turns flags into its arguments.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import options
from ..interop import EXPORTS, SUFFIXES, export_model, format_of, import_model, load_model
from ..model import Model
from ..network import Network
from .common import add_json, add_option, add_output, check_output, layer_sizes, print_json


def register(commands: Any) -> None:
    """Add ``export`` and ``import`` to the ``nudgenet`` subcommands."""
    p = commands.add_parser(
        "export",
        help="write a saved model for PyTorch, ONNX or safetensors",
        description="Write a saved model as the state_dict of a PyTorch nn.Sequential of "
        "Linear and activation layers (0.weight, 0.bias, 2.weight, ...), an ONNX graph "
        "(Gemm and activation nodes) or a safetensors file that keeps the model's description.",
    )
    p.add_argument("model", type=Path, help="a model saved by `nudgenet train` (.npz or "
                   ".safetensors)")  # fmt: skip
    p.add_argument("--to", choices=tuple(EXPORTS), default=None,
                   help="the format; default: the one --out's suffix names "
                   f"({', '.join(SUFFIXES)})")  # fmt: skip
    add_output(p, "--out", required=True, help="the file to write")
    add_json(p)
    p.set_defaults(run=run_export)

    p = commands.add_parser(
        "import",
        help="read a PyTorch state_dict or a safetensors file into a nudgenet model",
        description="Read the state_dict of an nn.Sequential of Linear and activation layers "
        "(saved with torch.save, or as safetensors) into a nudgenet model. The sizes are read "
        "from the tensors' shapes; a file nudgenet exported as safetensors says everything "
        "else too, and any flag given must agree with it.",
    )
    p.add_argument("file", type=Path, help="a .pt state_dict or a .safetensors file")
    p.add_argument("--sizes", type=layer_sizes, default=None,
                   help="layer sizes, input first, checked against the tensors' shapes; "
                   "default: read from them")  # fmt: skip
    seed = {options.ACTIVATION: "sigmoid", options.OUTPUT: "sigmoid", options.COST: "quadratic"}
    for option, value in seed.items():
        add_option(p, option, None, help=f"{option.help}; default: what the file describes, "
                   f"else the seed's {value}")  # fmt: skip
    add_output(p, "--out", required=True, help="where to save the nudgenet model (.npz)")
    add_json(p)
    p.set_defaults(run=run_import)


def run_export(args: argparse.Namespace) -> int:
    """``nudgenet export``: the model in another library's format."""
    model = load_model(args.model)
    check_output(args.out, "--out")
    path = export_model(model, args.out, args.to)
    to = args.to or SUFFIXES[path.suffix.lower()]
    result = {"model": str(args.model), "to": to, "out": str(path), **_summary(model)}
    if args.json:
        print_json({**result, "bytes": path.stat().st_size})
    else:
        print(f"{args.model} ({result['network']}, {model.n_params:,} parameters, "
              f"{result['dtype']}) written as {to} to {path}")  # fmt: skip
    return 0


def run_import(args: argparse.Namespace) -> int:
    """``nudgenet import``: a state_dict or safetensors file as a nudgenet model."""
    check_output(args.out, "--out")
    kind = format_of(args.file)
    network = None
    if args.sizes is not None:
        network = Network(args.sizes, args.activation or "sigmoid", args.output or "sigmoid")
    model = import_model(args.file, network=network, activation=args.activation,
                         output=args.output, cost=args.cost)  # fmt: skip
    path = model.save(args.out)
    if args.json:
        print_json({"file": str(args.file), "format": kind, "out": str(path), **_summary(model)})
    else:
        print(f"{args.file} ({kind}) read as {_summary(model)['network']} with "
              f"{model.n_params:,} parameters; model saved to {path}")  # fmt: skip
    return 0


def _summary(model: Model) -> dict[str, Any]:
    n = model.network
    return {
        "network": "-".join(map(str, n.sizes)),
        "sizes": list(n.sizes),
        "activation": n.activation,
        "output": n.output,
        "cost": model.cost,
        "dtype": str(model.theta.dtype),
        "num_params": model.n_params,
    }
