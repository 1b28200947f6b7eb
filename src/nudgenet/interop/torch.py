"""A nudgenet network as PyTorch's ``nn.Sequential``, and a PyTorch state_dict as a model.

``nudgenet export MODEL --to torch`` writes the ``state_dict`` of

    nn.Sequential(Linear(784, 16), Sigmoid(), Linear(16, 16), Sigmoid(), Linear(16, 10), Sigmoid())

(the activations as the model names them; a softmax output is ``Softmax(dim=-1)``), named
"0.weight", "0.bias", "2.weight", … (see :mod:`nudgenet.interop.state`), in θ's dtype. It is
read back with ``torch.load(path, weights_only=True)``, which never unpickles code, and with
``mmap=True``: no tensor is read into memory before its name, shape and dtype are checked,
and no file is opened that is larger, or whose zip entries unpack larger, than the largest
network could need.

torch is imported only here and only when used: nudgenet does not need it.
"""

from __future__ import annotations

import itertools
import os
import zipfile
from pathlib import Path
from typing import Any

from ..errors import ModelFileError, NudgenetError
from ..files import atomic_write
from ..layout import MAX_PARAMS
from ..model import Model
from ..network import Network
from .state import check_shapes, from_state, keys, require, sizes_of, to_state

INSTALL = "pip install torch (the CPU build is enough: see pytorch.org)"
_SLACK = 1 << 20  # bytes of a .pt file beyond its numbers: names, pickle, zip directory
MAX_PICKLE = 1 << 20  # bytes of a state_dict's pickle: names and storage references
MAX_ENTRIES = 100_000  # entries of its zip: one per tensor, and a few more
_MODULES = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU", "softmax": "Softmax"}


def _torch(feature: str) -> Any:
    return require("torch", feature, INSTALL)


def to_torch(model: Model) -> Any:
    """The model as an ``nn.Sequential`` of ``Linear`` and activation layers, θ copied in.

    Its outputs equal the model's to float rounding (``model.network`` computes the same
    x Wᵀ + b and activations); the tensors keep θ's dtype.
    """
    torch = _torch("converting a model to PyTorch")
    nn = torch.nn
    network = model.network
    dtype = getattr(torch, str(model.theta.dtype))  # torch.float32 or torch.float64
    layers: list[Any] = []
    for l, (n_in, n_out) in enumerate(itertools.pairwise(network.sizes), 1):
        # skip_init: the weights are θ's, so torch's own random start (and the draws it
        # would take from the caller's torch generator) is skipped.
        layers.append(nn.utils.skip_init(nn.Linear, n_in, n_out, dtype=dtype))
        name = network.output if l == network.layout.n_layers else network.activation
        layers.append(nn.Softmax(dim=-1) if name == "softmax" else getattr(nn, _MODULES[name])())
    sequential = nn.Sequential(*layers)
    sequential.load_state_dict(state_dict(model))
    return sequential


def state_dict(model: Model) -> dict[str, Any]:
    """θ as PyTorch tensors named as ``nn.Sequential`` names them (copies, θ's dtype)."""
    torch = _torch("converting a model to PyTorch")
    return {
        name: torch.from_numpy(array.copy())
        for name, array in to_state(model.network, model.theta).items()
    }


def save_torch(model: Model, path: str | os.PathLike[str]) -> Path:
    """Write the model's state_dict to ``path`` (conventionally ``.pt``), atomically."""
    torch = _torch("exporting to PyTorch")
    path = Path(path)
    tensors = state_dict(model)
    with atomic_write(path) as f:
        torch.save(tensors, f)
    return path


def load_torch(
    path: str | os.PathLike[str],
    *,
    network: Network | None = None,
    activation: str = "sigmoid",
    output: str = "sigmoid",
    cost: str = "quadratic",
) -> Model:
    """A model from a state_dict saved by PyTorch (or :func:`save_torch`).

    Parameters
    ----------
    path : the ``.pt`` file, holding ``state_dict()`` of an ``nn.Sequential``
    network : Network, optional
        The architecture it must be; by default the sizes are read from the tensors' shapes
        and the activations are ``activation`` and ``output``.
    cost : str
        The cost the model records (a state_dict does not say).

    Raises
    ------
    ModelFileError
        The file is not a readable state_dict, or its tensors do not fit the network.
    """
    torch = _torch("importing from PyTorch")
    path = Path(path)
    state = _read(torch, path, network)
    shapes = {name: tuple(int(n) for n in t.shape) for name, t in state.items()}
    if network is None:
        network = Network(sizes_of(shapes, str(path)), activation, output)
    dtypes = {name: str(t.dtype).removeprefix("torch.") for name, t in state.items()}
    dtype = check_shapes(shapes, dtypes, network, str(path))
    arrays = {k: state[k].detach().numpy() for k in keys(network)}  # Parameters too
    theta = from_state(arrays, network, str(path), dtype)
    return Model(network, theta, cost, settings={"imported": "torch", "data": None})


def _read(torch: Any, path: Path, network: Network | None) -> dict[str, Any]:
    """The file's dict of tensors, memory-mapped, after checking that its size is plausible."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ModelFileError(f"no file at {path}", help="check the path of the .pt file") from None
    n_params = MAX_PARAMS if network is None else network.n_params
    limit = n_params * 8 + _SLACK
    if size > limit:
        raise ModelFileError(
            f"{path} is {size:,} bytes, more than a network of {n_params:,} parameters "
            f"can fill ({limit:,} bytes)",
            help="save only model.state_dict() (no optimiser state), or check --sizes",
        )
    _check_archive(path, limit)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except NudgenetError:
        raise
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, ValueError, …
        raise ModelFileError(
            f"{path} is not a PyTorch state_dict that can be read safely ({_first_line(exc)})",
            help="save it with torch.save(model.state_dict(), path): a whole pickled module "
            "is never loaded, since unpickling can run code",
        ) from exc
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ModelFileError(
            f"{path} holds a {type(state).__name__}, not a dict of tensors",
            help="save model.state_dict() itself, not a checkpoint that wraps it",
        )
    return state


def _check_archive(path: Path, limit: int) -> None:
    """Refuse a zip whose entries unpack beyond ``limit`` bytes, or whose pickle is large.

    ``torch.save`` stores the tensors uncompressed beside a pickle of a few hundred bytes per
    tensor; a larger pickle, or entries that unpack past the file's own bound, are not a
    state_dict, whatever they would build in memory. A file that is no zip is left to
    ``torch.load``'s own error.
    """
    try:
        with open(path, "rb") as f:
            if not zipfile.is_zipfile(f):
                return
            entries = zipfile.ZipFile(f).infolist()
    except (OSError, zipfile.BadZipFile):
        return
    pickles = [e for e in entries if e.filename.endswith("/data.pkl")]
    unpacked = sum(e.file_size for e in entries)
    if (
        len(entries) > MAX_ENTRIES
        or unpacked > limit
        or any(e.file_size > MAX_PICKLE for e in pickles)
    ):
        raise ModelFileError(
            f"{path} is not a state_dict of the size it could be: {len(entries):,} entries "
            f"unpacking to {unpacked:,} bytes (at most {limit:,}), a pickle of "
            f"{max((e.file_size for e in pickles), default=0):,} bytes (at most {MAX_PICKLE:,})",
            help="save only model.state_dict() with torch.save",
        )


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 160 else line[:159] + "…"
