"""A model as a safetensors file: θ's tensors by their PyTorch names, and its description.

safetensors is a plain format: an 8-byte header length, a JSON header naming each tensor's
dtype, shape and byte range, then the raw numbers; reading it runs no code. nudgenet writes
the tensors as :mod:`nudgenet.interop.state` names them ("0.weight", "0.bias", …), so that
``safetensors.torch.load_file`` gives a ``state_dict`` PyTorch loads as it is, and puts the
model's description (sizes, activations, cost, settings, history: what ``nudgenet info``
shows) in the header's metadata under ``"nudgenet"``. Such a file needs no flags to be read
back; one written elsewhere, without it, is read as a state_dict with the sizes its shapes
give and the activations the caller names.

Reading checks the header's length before the library parses it, then every name, shape and
dtype before a number is read; the tensors are memory-mapped, so nothing is allocated for a
file that does not fit.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ModelFileError, NudgenetError
from ..files import atomic_write
from ..model import MAX_META_CHARS, Model, _parse_meta
from ..network import Network
from .state import check_shapes, from_state, keys, require, sizes_of, to_state

INSTALL = "pip install safetensors"
META_KEY = "nudgenet"  # the header's metadata entry holding the model's description
MAX_HEADER = 4 * MAX_META_CHARS + (1 << 20)  # bytes: the description and the tensors' entries
_DTYPES = {"F32": "float32", "F64": "float64"}  # safetensors' names, as NumPy's


def save_safetensors(model: Model, path: str | os.PathLike[str]) -> Path:
    """Write θ's tensors and the model's description to ``path``, atomically."""
    numpy = require("safetensors.numpy", "the safetensors format", INSTALL)
    path = Path(path)
    tensors = {name: array.copy() for name, array in to_state(model.network, model.theta).items()}
    meta = {META_KEY: json.dumps(model.describe(), sort_keys=True)}
    data = numpy.save(tensors, metadata=meta)
    with atomic_write(path) as f:
        f.write(data)
    return path


def is_safetensors(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` begins as a safetensors file does: a header length, then ``{``."""
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError:
        return False
    return len(head) == 9 and head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] >= 2


def load_safetensors(
    path: str | os.PathLike[str],
    *,
    network: Network | None = None,
    activation: str | None = None,
    output: str | None = None,
    cost: str | None = None,
    described: bool = False,
) -> Model:
    """A model from a safetensors file, described by its metadata or by the arguments.

    With nudgenet's metadata the file says everything, and any argument given must agree
    with it. Without, the sizes come from ``network`` or the tensors' shapes, and the
    activations and cost from the arguments (default: the seed's sigmoid and quadratic),
    unless ``described``: then a file without the description is refused, since nothing
    says which activations its network had.

    Raises
    ------
    ModelFileError
        The file is not a readable safetensors file, or its tensors do not fit the network.
    ConfigError
        An argument contradicts the file's own description.
    """
    safetensors = require("safetensors", "the safetensors format", INSTALL)
    path = Path(path)
    _check_header(path)
    try:
        with safetensors.safe_open(str(path), framework="numpy") as f:
            metadata = f.metadata() or {}
            names = list(f.keys())
            slices = {name: f.get_slice(name) for name in names}
            shapes = {name: tuple(s.get_shape()) for name, s in slices.items()}
            dtypes = {name: _DTYPES.get(s.get_dtype(), s.get_dtype()) for name, s in slices.items()}
            description = _described(path, metadata)
            if description is None:
                if described:
                    raise ModelFileError(
                        f"{path} holds tensors but not nudgenet's description of the network",
                        help=f"read it with `nudgenet import {path} --activation A --output O "
                        "--out model.npz` (the sizes are read from its shapes)",
                    )
                sizes = sizes_of(shapes, str(path)) if network is None else network.sizes
                net = Network(sizes, activation or "sigmoid", output or "sigmoid")
                meta: dict[str, Any] = {
                    "cost": cost or "quadratic",
                    "settings": {"imported": "safetensors", "data": None},
                }
            else:
                net, meta = description
                _agree(path, net, meta["cost"], network, activation, output, cost)
            dtype = check_shapes(shapes, dtypes, net, str(path))
            theta = from_state({k: f.get_tensor(k) for k in keys(net)}, net, str(path), dtype)
    except NudgenetError:
        raise
    except Exception as exc:  # the library's SafetensorError, OSError, …
        raise ModelFileError(
            f"{path} is not a readable safetensors file ({exc})",
            help="it may be truncated or from another program; export it again",
        ) from exc
    return Model(
        net, theta, meta["cost"],
        settings=meta.get("settings", {}), history=meta.get("history", []),
    )  # fmt: skip


def _check_header(path: Path) -> None:
    """Refuse a file whose declared header is longer than any model's description."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except FileNotFoundError:
        raise ModelFileError(f"no file at {path}", help="check the path") from None
    except OSError as exc:
        raise ModelFileError(
            f"cannot read {path}: {exc.strerror or exc}",
            help="check the permissions of the file and of the folders above it",
        ) from exc
    if len(head) < 8:
        raise ModelFileError(
            f"{path} is not a safetensors file: it is {len(head)} bytes long",
            help="it may be truncated; export it again",
        )
    (n,) = struct.unpack("<Q", head)
    if n > MAX_HEADER:
        raise ModelFileError(
            f"{path} declares a header of {n:,} bytes, more than a model's description and "
            f"tensors need ({MAX_HEADER:,})",
            help="it is damaged or not a model: export it again",
        )


def _described(path: Path, metadata: dict[str, str]) -> tuple[Network, dict[str, Any]] | None:
    """The network and description in nudgenet's metadata entry, checked; None if absent."""
    text = metadata.get(META_KEY)
    return None if text is None else _parse_meta(path, text)


def _agree(
    path: Path,
    network: Network,
    cost: str,
    asked: Network | None,
    activation: str | None,
    output: str | None,
    asked_cost: str | None,
) -> None:
    """Raise ConfigError where an argument contradicts what the file describes."""
    given = {
        "sizes": (None if asked is None else ",".join(map(str, asked.sizes)),
                  ",".join(map(str, network.sizes))),
        "activation": (activation, network.activation),
        "output": (output, network.output),
        "cost": (asked_cost, cost),
    }  # fmt: skip
    for flag, (value, described) in given.items():
        if value is not None and value != described:
            raise ConfigError(
                f"--{flag} {value} contradicts {path}, which describes {flag} {described}",
                help=f"leave --{flag} out: the file's own description says it",
            )
