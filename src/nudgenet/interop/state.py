"""θ as named tensors, and back: the one mapping every exchange format shares.

PyTorch writes a fully connected network as ``nn.Sequential(Linear, activation, Linear,
activation, …)``; its ``state_dict`` names each layer's parameters by the layer's index in
the sequence, and the activations, which hold none, take the odd indices:

    θ = [W¹, b¹, W², b², …]  ↔  {"0.weight": W¹, "0.bias": b¹, "2.weight": W², "2.bias": b², …}

``Linear`` keeps its weight as (n_out, n_in) and computes x Wᵀ + b, exactly as
:mod:`nudgenet.network` does, so each tensor is a view of θ reshaped, never transposed, and
a round trip gives θ back bit for bit. The safetensors and ONNX files use the same names.

Reading trusts nothing: every name, shape and dtype is checked against the network before a
number is copied, and the message says which tensor is wrong and what was expected.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import numpy as np

from .._types import Vector
from ..errors import MissingDependencyError, ModelFileError
from ..layout import LAYER_SIZE, Layout
from ..network import Network

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # what θ may be


def require(package: str, feature: str, install: str) -> ModuleType:
    """Import ``package`` for ``feature``, or say how to install it.

    The exchange formats' packages are imported only when one is used, so that nudgenet
    itself needs none of them.
    """
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{feature} needs the {package} package, which is not installed",
            help=f"install it: {install}",
        ) from exc


def keys(network: Network) -> list[str]:
    """The state_dict names of θ's tensors, in θ's order.

    Examples
    --------
    >>> keys(Network((784, 16, 16, 10)))
    ['0.weight', '0.bias', '2.weight', '2.bias', '4.weight', '4.bias']
    """
    return [
        f"{2 * l}.{kind}" for l in range(network.layout.n_layers) for kind in ("weight", "bias")
    ]


def to_state(network: Network, theta: Vector) -> dict[str, Vector]:
    """θ as named arrays in state_dict order: views into θ, not copies.

    Examples
    --------
    >>> network = Network((2, 3, 1))
    >>> state = to_state(network, np.arange(13.0))
    >>> {name: array.shape for name, array in state.items()}
    {'0.weight': (3, 2), '0.bias': (3,), '2.weight': (1, 3), '2.bias': (1,)}
    """
    arrays = [array for W, b in network.layout.views(theta) for array in (W, b)]
    return dict(zip(keys(network), arrays, strict=True))


def sizes_of(shapes: Mapping[str, tuple[int, ...]], source: str) -> tuple[int, ...]:
    """The layer sizes that named weight shapes chain into: (n_in, n_1, …, n_out).

    For a file written without its sizes: "0.weight" of shape (16, 784) says the network
    starts 784, 16, and so on along the even indices.
    """
    sizes: list[int] = []
    for l in range(len(shapes)):
        shape = shapes.get(f"{2 * l}.weight")
        if shape is None:
            break
        if len(shape) != 2 or not all(LAYER_SIZE.contains(n) for n in shape):
            raise ModelFileError(
                f"{source}: {2 * l}.weight has shape {tuple(shape)}, not (n_out, n_in) with "
                f"layers of 1 to {int(LAYER_SIZE.high or 0):,} neurons",
                help="export the state_dict of an nn.Sequential of Linear and activation layers",
            )
        n_out, n_in = shape
        if sizes and sizes[-1] != n_in:
            raise ModelFileError(
                f"{source}: {2 * l}.weight takes {n_in} inputs, but the layer before gives "
                f"{sizes[-1]}",
                help="the Linear layers must chain: each one's in_features is the previous "
                "one's out_features",
            )
        sizes.extend([n_in, n_out] if not sizes else [n_out])
    if not sizes:
        raise ModelFileError(
            f"{source} holds no 0.weight, so it is not the state_dict of an nn.Sequential "
            f"of Linear layers (its names: {_names(shapes)})",
            help="save model.state_dict() of an nn.Sequential(Linear, activation, Linear, …)",
        )
    return tuple(sizes)


def check_shapes(
    shapes: Mapping[str, tuple[int, ...]],
    dtypes: Mapping[str, str],
    network: Network,
    source: str,
) -> np.dtype[Any]:
    """Raise ModelFileError unless the names, shapes and dtypes are θ's; return the dtype.

    ``dtypes`` are NumPy's names ("float32"). Checked on the headers alone, before any
    tensor is read or copied.
    """
    expected = keys(network)
    missing = [k for k in expected if k not in shapes]
    extra = [k for k in shapes if k not in expected]
    shown = ",".join(map(str, network.sizes))
    if missing or extra:
        what = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unexpected {_names(extra)}" if extra else "",
            )
            if part
        )
        raise ModelFileError(
            f"{source} does not hold the tensors of a {shown} network: {what}",
            help=f"a {shown} nn.Sequential of Linear and activation layers has exactly "
            f"{', '.join(expected)}; check --sizes, or rename the tensors",
        )
    for name, (w_shape, b_shape) in zip(expected[::2], network.layout.shapes, strict=True):
        bias = name.replace("weight", "bias")
        for key, want in ((name, w_shape), (bias, b_shape)):
            if tuple(shapes[key]) != want:
                raise ModelFileError(
                    f"{source}: {key} has shape {tuple(shapes[key])}, but a {shown} network "
                    f"needs {want}",
                    help="check --sizes against the network that was saved",
                )
    kinds = {dtypes[k] for k in expected}
    if len(kinds) != 1 or not kinds <= {str(f) for f in FLOATS}:
        raise ModelFileError(
            f"{source}: the tensors are {', '.join(sorted(kinds))}; nudgenet keeps θ as one "
            "float32 or float64 vector",
            help="convert them first, e.g. model.float() or model.double() in PyTorch",
        )
    return np.dtype(kinds.pop())


def from_state(
    state: Mapping[str, Any], network: Network, source: str, dtype: np.dtype[Any]
) -> Vector:
    """θ from arrays already checked by :func:`check_shapes`: copied in order, finite."""
    layout: Layout = network.layout
    theta = np.empty(layout.n_params, dtype=dtype)
    for target, name in zip(
        (array for W, b in layout.views(theta) for array in (W, b)), keys(network), strict=True
    ):
        target[...] = np.asarray(state[name])
    if not np.isfinite(theta).all():
        raise ModelFileError(
            f"{source}: θ contains NaN or infinite values",
            help="the network was saved after its training diverged: retrain it",
        )
    return theta


def _names(names: Any, limit: int = 8) -> str:
    """Up to ``limit`` names, then how many more."""
    names = list(names)
    shown = ", ".join(map(str, names[:limit]))
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
