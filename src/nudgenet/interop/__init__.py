"""nudgenet's networks in other libraries' formats: PyTorch, ONNX and safetensors.

One mapping of θ to named tensors (:mod:`~nudgenet.interop.state`) serves every format:
"0.weight", "0.bias", "2.weight", … as PyTorch's ``nn.Sequential`` names them. Each format's
package is imported only when that format is used, with an error saying how to install it
when it is missing; the rest of nudgenet runs without them.

- ``torch``: writes and reads the ``state_dict`` (torch);
- ``onnx``: writes a graph, to run with onnxruntime (onnx);
- ``safetensors``: writes the tensors and the model's description, and reads them back, or
  the tensors alone from another program (safetensors).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from ..errors import ConfigError, ModelFileError
from ..model import Model
from ..network import Network
from .onnx import save_onnx, to_onnx
from .safetensors import is_safetensors, load_safetensors, save_safetensors
from .state import from_state, keys, to_state
from .torch import load_torch, save_torch, state_dict, to_torch

EXPORTS = {"torch": save_torch, "onnx": save_onnx, "safetensors": save_safetensors}
SUFFIXES = {".pt": "torch", ".pth": "torch", ".onnx": "onnx", ".safetensors": "safetensors"}
IMPORTS = ("torch", "safetensors")


def export_model(model: Model, path: str | os.PathLike[str], to: str | None = None) -> Path:
    """Write ``model`` to ``path`` in the format ``to`` (default: the one its suffix names)."""
    path = Path(path)
    to = to or SUFFIXES.get(path.suffix.lower())
    if to not in EXPORTS:
        raise ConfigError(
            f"cannot tell which format to write {path} in"
            + (f": unknown format {to!r}" if to else f" from its suffix {path.suffix!r}"),
            help=f"choose one of {', '.join(EXPORTS)} (--to), or end the name in "
            f"{', '.join(SUFFIXES)}",
        )
    return EXPORTS[to](model, path)


def format_of(path: str | os.PathLike[str]) -> str:
    """Which importable format ``path`` holds, told by its first bytes, not its name."""
    path = Path(path)
    if is_safetensors(path):
        return "safetensors"
    try:
        with open(path, "rb") as f:
            names = zipfile.ZipFile(f).namelist() if zipfile.is_zipfile(f) else []
    except FileNotFoundError:
        raise ModelFileError(f"no file at {path}", help="check the path") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path} is a folder, not a file", help="name the file") from None
    except PermissionError as exc:
        raise ModelFileError(
            f"cannot read {path}: {exc.strerror or exc}",
            help="check the permissions of the file and of the folders above it",
        ) from exc
    except (OSError, zipfile.BadZipFile):
        names = []
    if any(name.endswith("/data.pkl") for name in names):  # torch.save's zip archive
        return "torch"
    if "meta.npy" in names and "theta.npy" in names:
        raise ModelFileError(
            f"{path} is a nudgenet model already: there is nothing to import",
            help=f"use it as it is, e.g. `nudgenet info {path}` or `nudgenet export {path} "
            "--to torch --out model.pt`",
        )
    raise ModelFileError(
        f"{path} is neither a PyTorch state_dict (torch.save) nor a safetensors file",
        help="export it from PyTorch with torch.save(model.state_dict(), 'model.pt') or "
        "safetensors.torch.save_file(model.state_dict(), 'model.safetensors')",
    )


def import_model(
    path: str | os.PathLike[str],
    *,
    network: Network | None = None,
    activation: str | None = None,
    output: str | None = None,
    cost: str | None = None,
) -> Model:
    """A model from a PyTorch state_dict or a safetensors file (see :func:`load_torch`,
    :func:`load_safetensors`); the format is told from the file's contents."""
    if format_of(path) == "safetensors":
        return load_safetensors(path, network=network, activation=activation, output=output,
                                cost=cost)  # fmt: skip
    return load_torch(
        path, network=network, activation=activation or "sigmoid",
        output=output or "sigmoid", cost=cost or "quadratic",
    )  # fmt: skip


def load_model(path: str | os.PathLike[str]) -> Model:
    """A saved model: nudgenet's ``.npz``, or a safetensors file that nudgenet wrote.

    A safetensors file without nudgenet's description cannot say its activations: it is
    refused with the ``nudgenet import`` command that reads it.
    """
    if not is_safetensors(path):
        return Model.load(path)
    return load_safetensors(path, described=True)


__all__ = [
    "EXPORTS",
    "IMPORTS",
    "SUFFIXES",
    "export_model",
    "format_of",
    "from_state",
    "import_model",
    "is_safetensors",
    "keys",
    "load_model",
    "load_safetensors",
    "load_torch",
    "save_onnx",
    "save_safetensors",
    "save_torch",
    "state_dict",
    "to_onnx",
    "to_state",
    "to_torch",
]
