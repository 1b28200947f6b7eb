"""``nudgenet backprop``: one example's backward pass, layer by layer, with its real numbers.

The walk is :func:`nudgenet.lessons.walk.walk_example`; each layer's gradient is checked
against finite differences of the example's cost by :func:`nudgenet.lessons.walk.check_layers`.
Without MODEL the network is the fresh one ``nudgenet train --seed S`` starts from (as for
``nudgenet nudges``): untrained, so its errors are large and every layer has much to learn.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from .. import options
from ..cost import one_hot
from ..data import load_dataset, to_inputs
from ..data.images import load_image
from ..errors import ConfigError, ImageError
from ..init import init_params
from ..lessons.nudges import component_description
from ..lessons.walk import LayerFrame, Walk, check_layers, walk_example
from ..model import Model
from ..network import Network
from ..training.recipe import check_fits, seed_streams
from .common import add_data, add_json, add_option, print_json

TOLERANCE = 1e-6  # the largest relative error against finite differences that passes
PER_LINE = 6  # numbers per printed line
WIDTH = 96


def register(commands: Any) -> None:
    """Add ``backprop`` to the ``nudgenet`` subcommands."""
    p = commands.add_parser(
        "backprop",
        help="watch backpropagation: one example's errors δ, layer by layer",
        description="Run one test image (or your own image) forward through the network, then "
        "carry its error back from the output to the input: per layer the error δ = ∂C/∂z, "
        "the largest ∂C/∂w and the two neurons it joins, and the layer's gradient checked "
        "against finite differences in float64. Without MODEL the network is the fresh one "
        "`nudgenet train --seed SEED --init INIT` starts from.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "model",
        type=Path,
        nargs="?",
        metavar="MODEL",
        help="a model saved by `nudgenet train`; none: a fresh, untrained network",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--image", type=int, default=0, metavar="N",
                       help="the test image of --data to walk, numbered from 0")  # fmt: skip
    which.add_argument("--file", type=Path, metavar="IMAGE",
                       help="walk your own image instead (PNG, JPEG, …); give --label")  # fmt: skip
    p.add_argument(
        "--label",
        type=int,
        metavar="DIGIT",
        help="the digit the network should say (default: the test image's label)",
    )
    add_data(p, "the data whose test image N is walked")
    add_option(p, options.INIT, "xavier", help="how the fresh network starts (without MODEL)")
    add_option(p, options.SEED, 0, help="seed of the fresh network, as `nudgenet train --seed`")
    add_json(p)
    p.set_defaults(run=run_backprop)


def run_backprop(args: argparse.Namespace) -> int:
    """``nudgenet backprop``: the walk, its checks, and a verdict on them."""
    network, theta, cost, source = _network_and_theta(args)
    x, label, where = _example(network, args)
    walk = walk_example(network, theta, x, one_hot(np.array([label]), network.sizes[-1],
                                                   np.float64)[0], cost)  # fmt: skip
    errors = check_layers(walk, theta)
    worst = max(errors)
    passed = worst < TOLERANCE
    if args.json:
        print_json(_as_dict(walk, errors, label, where, source, passed))
    else:
        _report(walk, errors, label, where, source, passed)
    return 0 if passed else 1


def _network_and_theta(args: argparse.Namespace) -> tuple[Network, np.ndarray, str, str]:
    """The network, θ in float64, its cost and where it came from: MODEL, or a fresh one."""
    if args.model is not None:
        model = Model.load(args.model)
        return model.network, model.theta.astype(np.float64), model.cost, f"the model {args.model}"
    network = Network()
    init_rng, _ = seed_streams(args.seed)  # where `nudgenet train --seed` starts
    theta = init_params(network.layout, args.init, rng=init_rng, dtype="float64")
    sizes = "-".join(map(str, network.sizes))
    return (
        network,
        theta,
        "quadratic",
        (f"a fresh {args.init}-initialised {sizes} network (seed {args.seed}), untrained"),
    )


def _example(network: Network, args: argparse.Namespace) -> tuple[np.ndarray, int, str]:
    """The input x (float64), its target digit and what it is, in words."""
    n_out = network.sizes[-1]
    if args.label is not None and not 0 <= args.label < n_out:
        raise ConfigError(
            f"--label must be a digit in 0..{n_out - 1}, got {args.label}",
            help="--label D names the digit the network should say for the image",
        )
    if args.file is not None:
        if args.label is None:
            raise ConfigError(
                f"{args.file} has no label, and the cost needs the digit it should be",
                help="say which digit it shows, e.g. --label 7",
            )
        if network.sizes[0] != 784:
            raise ConfigError(
                f"the network takes {network.sizes[0]} inputs, but images become 28×28 = 784",
                help="use a model trained on 28×28 images",
            )
        try:
            image = load_image(args.file)
        except OSError as exc:  # e.g. a name too long to look up
            raise ImageError(f"cannot read image {args.file}: {exc.strerror or exc}",
                             help="check the path and spelling of the image") from exc  # fmt: skip
        return to_inputs(image[None], np.float64)[0], args.label, f"the image {args.file}"
    data = load_dataset(args.data)
    check_fits(network, data, help="choose the data the model was trained on with --data")
    n = len(data.test_labels)
    if not 0 <= args.image < n:
        raise ConfigError(
            f"--image must be a test image index in 0..{n - 1}, got {args.image}",
            help=f"{data.name} has {n:,} test images, numbered from 0",
        )
    x = to_inputs(data.test_images[args.image : args.image + 1], np.float64)[0]
    label = int(data.test_labels[args.image]) if args.label is None else args.label
    return x, label, f"test image #{args.image} of {data.name}"


# --------------------------------------------------------------------------- the report


def _largest(walk: Walk, frame: LayerFrame) -> dict[str, Any]:
    """The weight of ``frame`` with the largest |∂C/∂w|, and what it joins."""
    j, k, slope = frame.largest()
    layout = walk.network.layout
    index = layout.offsets[frame.layer - 1] + j * len(frame.a_in) + k
    sp = None if frame.sigma_prime is None else float(frame.sigma_prime[j])
    return {
        "name": f"W{frame.layer}[{j}, {k}]",
        "neuron": j,
        "input": k,
        "description": component_description(layout, index),
        "derivative": slope,
        "a_in": float(frame.a_in[k]),
        "sigma_prime": sp,
        "cost_wrt_a": float(frame.cost_wrt_a[j]),
        "delta": float(frame.delta[j]),
    }


def _as_dict(
    walk: Walk, errors: list[float], label: int, where: str, source: str, passed: bool
) -> dict[str, Any]:
    layers = []
    for frame, error in zip(reversed(walk.layers), reversed(errors), strict=True):
        layers.append({
            "layer": frame.layer,
            "neurons": len(frame.a),
            "inputs": len(frame.a_in),
            "z": frame.z.tolist(),
            "a": frame.a.tolist(),
            "sigma_prime": None if frame.sigma_prime is None else frame.sigma_prime.tolist(),
            "cost_wrt_a": frame.cost_wrt_a.tolist(),
            "delta": frame.delta.tolist(),
            "grad_W_norm": float(np.linalg.norm(frame.grad_W)),
            "grad_b_norm": float(np.linalg.norm(frame.grad_b)),
            "largest": _largest(walk, frame),
            "max_relative_error": error,
        })  # fmt: skip
    return {
        "theta": source,
        "example": where,
        "cost_function": walk.cost_function,
        "cost": walk.cost,
        "label": label,
        "guess": int(np.argmax(walk.output)),
        "outputs": walk.output.tolist(),
        "gradient_norm": float(np.linalg.norm(walk.gradient())),
        "layers": layers,  # the output layer first, as the backward pass meets them
        "max_relative_error": max(errors),
        "tolerance": TOLERANCE,
        "passed": passed,
    }


def _report(
    walk: Walk, errors: list[float], label: int, where: str, source: str, passed: bool
) -> None:
    network = walk.network
    print(f"backpropagation on {where}, through {source}")
    print(f"\nforward pass: the {len(walk.output)} outputs aᴸ against the target y (label {label})")
    print("  digit " + "".join(f"{d:>8}" for d in range(len(walk.output))))
    print("  a     " + "".join(f"{v:>8.4f}" for v in walk.output))
    print("  y     " + "".join(f"{v:>8.0f}" for v in walk.y))
    formula = "Σⱼ (aⱼ − yⱼ)²" if walk.cost_function == "quadratic" else "the cross-entropy"
    print(f"  cost Cₓ = {formula} = {walk.cost:.6g}; guess {int(np.argmax(walk.output))}")
    print("\nbackward pass, from the output back to the input:")
    for frame, error in zip(reversed(walk.layers), reversed(errors), strict=True):
        _report_layer(walk, frame, error)
    verdict = "passed" if passed else "FAILED"
    print(f"\nall {network.n_params:,} components checked against finite differences in float64:")
    print(f"  max relative error {max(errors):.2e}, {verdict} (tolerance {TOLERANCE:g})")


def _report_layer(walk: Walk, frame: LayerFrame, error: float) -> None:
    n_layers = walk.network.layout.n_layers
    l, below = frame.layer, frame.layer - 1
    source = "pixels" if l == 1 else f"neurons of layer {below}"
    what = "the output layer" if l == n_layers else f"layer {l}"
    print(f"\n{what}: {len(frame.a)} neurons, fed by {len(frame.a_in)} {source}")
    if l == n_layers:
        asked = "∂C/∂a = 2(a − y), the output error" if walk.cost_function == "quadratic" else (
            "∂C/∂a, the output error")  # fmt: skip
    else:
        asked = f"∂C/∂a{_sup(l)} = (W{_sup(l + 1)})ᵀ δ{_sup(l + 1)}, passed back"
    _vector(asked, frame.cost_wrt_a)
    if frame.sigma_prime is None:
        print("  softmax couples the outputs: δⱼ = aⱼ (gⱼ − Σₖ gₖ aₖ), g = ∂C/∂a")
    else:
        _vector(f"σ′(z) ({walk.network.activation if l < n_layers else walk.network.output})",
                frame.sigma_prime)  # fmt: skip
    _vector(f"δ{_sup(l)} = ∂C/∂z", frame.delta)
    print(
        f"  ‖∂C/∂W{_sup(l)}‖ = ‖δ aᵀ‖ = {np.linalg.norm(frame.grad_W):.4g}   "
        f"‖∂C/∂b{_sup(l)}‖ = ‖δ‖ = {np.linalg.norm(frame.grad_b):.4g}"
    )
    big = _largest(walk, frame)
    chain = (
        f"a_in {big['a_in']:.4g} · σ′(z) {big['sigma_prime']:.4g} · ∂C/∂a {big['cost_wrt_a']:+.4g}"
        if big["sigma_prime"] is not None
        else f"a_in {big['a_in']:.4g} · δ {big['delta']:+.4g}"
    )
    print(
        textwrap.fill(
            f"largest |∂C/∂w|: {big['name']} = {big['derivative']:+.4g}, the "
            f"{big['description']} ({chain})",
            WIDTH,
            initial_indent="  ",
            subsequent_indent="    ",
        )
    )
    n = frame.grad_W.size + frame.grad_b.size
    verdict = "ok" if error < TOLERANCE else "FAILED"
    print(
        f"  checked against finite differences: max relative error {error:.2e} over {n:,} "
        f"parameters, {verdict}"
    )


def _vector(name: str, values: np.ndarray) -> None:
    """A named vector, :data:`PER_LINE` numbers a line, each with its index."""
    print(f"  {name}:")
    for start in range(0, len(values), PER_LINE):
        row = values[start : start + PER_LINE]
        print("    " + "  ".join(f"{start + i:>2}:{v:+.3e}" for i, v in enumerate(row)))


def _sup(n: int) -> str:
    """``n`` as superscript digits, as the note numbers layers: δ³."""
    return str(n).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
