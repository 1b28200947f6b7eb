"""A trained network on disk: θ plus a JSON description, in one ``.npz`` file.

The file holds two arrays: ``theta`` (the flat parameter vector) and ``meta`` (a JSON
string: format name and version, architecture, cost, training settings and the per-epoch
history), and optionally ``step_costs``, ``snapshots`` and ``velocity``. It is written to a
temporary file first and then renamed over the target, so a crash or a full disk never
leaves half a model where a good one was.

A model saved by a training run is also a **checkpoint**: with the description's
``checkpoint`` (the epochs and steps done, the shuffling stream's state, the divergence
baseline) and the momentum velocity, the run can go on later exactly as if it had never
stopped (see :class:`Checkpoint`). Files without them, from earlier versions, still load;
they only cannot be resumed. The velocity is read under the same bounds as θ (θ's shape and
dtype exactly), and the checkpoint's fields are checked against the history.

Reading trusts nothing in the file. Object arrays are refused, so loading never unpickles
and never runs code. No size is believed before it is checked: each array's ``.npy`` header
(its dtype and shape) and its entry's declared size in the zip are checked against what the
description's layout needs (θ has exactly ``n_params`` floats; the extras are capped by
:data:`MAX_STEP_COSTS` and :data:`MAX_SNAPSHOT_VALUES`) before anything is allocated, and
decompression never goes past the declared size. A 2 MB zip that unpacks to gigabytes, or a
header claiming 10¹² floats, is a :class:`~nudgenet.errors.ModelFileError`, not a
MemoryError.
"""

from __future__ import annotations

import json
import math
import os
import stat
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from math import prod
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format
from numpy.typing import NDArray

from ._types import Matrix, Vector
from ._version import __version__
from .cost import COSTS
from .errors import ModelFileError, NudgenetError
from .files import atomic_write
from .network import Network, predict, probabilities

FORMAT = "nudgenet-model"
FORMAT_VERSION = 1

MAX_META_CHARS = 1 << 24
"""Longest description a model file may hold: 16.8 M characters of JSON.

A 100-epoch history is about 20 k; the text is read whole, at 4 bytes a character.
"""

MAX_STEP_COSTS = 1 << 24
"""Most per-step costs a model file may hold: 16.8 M, 134 MB in float64.

100 epochs of the full MNIST at batch size 1 are 6 M steps.
"""

MAX_SNAPSHOT_VALUES = 1 << 27
"""Most numbers in a model file's θ snapshots: 134 M, 1.07 GB in float64.

That is 10,000 epochs of the seed network; snapshots of larger networks are fewer.
"""

_MAX_NPY_HEADER = 10_000  # bytes: NumPy's own limit on a trusted .npy header
_HELP = "the file is damaged or was not written by nudgenet: retrain it or copy it again"
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # what θ may be stored as


MAX_STATE_INT = 1 << 128
"""A generator state's integers are below this (PCG64 keeps 128-bit numbers)."""
STATE_KEYS = ("state", "inc")  # PCG64's two numbers


@dataclass(frozen=True)
class Checkpoint:
    """Where a training run stood after its last completed epoch, to go on from there.

    With θ (the model's), this is all the state that SGD carries from one epoch to the
    next: the momentum velocity, the step count the schedule reads, and the shuffling
    generator's state (the next epoch's order is drawn from it). The rest (the data, the
    settings) is in the model's settings.
    """

    epoch: int  # epochs completed (the model's history ends with this epoch)
    step: int  # updates taken: the schedule's next k
    train_size: int  # training examples per epoch, to check the data is the same
    baseline: float  # the cost C₀ (with L2 term) that a blow-up is measured against
    shuffle_state: dict[str, Any]  # ``numpy.random.Generator.bit_generator.state``
    velocity: Vector | None = None  # momentum's v, shape (n_params,); None: momentum off
    augment_state: dict[str, Any] | None = None  # the distortions' generator (--augment)

    def describe(self) -> dict[str, Any]:
        """The JSON-ready part (the velocity is an array of its own in the file)."""
        return {
            "epoch": self.epoch,
            "step": self.step,
            "train_size": self.train_size,
            "baseline": self.baseline,
            "shuffle_state": self.shuffle_state,
            **({} if self.augment_state is None else {"augment_state": self.augment_state}),
        }


@dataclass
class Model:
    """A network's architecture, its parameters θ, and how it was made."""

    network: Network
    theta: Vector
    cost: str = "quadratic"
    settings: dict[str, Any] = field(default_factory=dict)  # init, seed, data, lr, ...
    history: list[dict[str, Any]] = field(default_factory=list)  # one dict per epoch
    step_costs: NDArray[Any] | None = None  # (n_steps,): the cost of each mini-batch step
    snapshots: NDArray[Any] | None = None  # (epochs + 1, n_params): θ after each epoch
    checkpoint: Checkpoint | None = None  # how to resume training (None: not resumable)

    def __post_init__(self) -> None:
        self.network.layout.check(self.theta)
        v = None if self.checkpoint is None else self.checkpoint.velocity
        if v is not None and (v.shape != self.theta.shape or v.dtype != self.theta.dtype):
            raise ModelFileError(
                f"the momentum velocity has shape {v.shape} and dtype {v.dtype}, but θ has "
                f"{self.theta.shape} and {self.theta.dtype}",
                help="keep one velocity per parameter, in θ's dtype",
            )
        if self.snapshots is not None and (
            self.snapshots.ndim != 2 or self.snapshots.shape[1] != self.n_params
        ):
            raise ModelFileError(
                f"θ snapshots must have shape (k, {self.n_params}), got {self.snapshots.shape}",
                help=f"keep one row of {self.n_params} parameters per snapshot",
            )
        if self.step_costs is not None and self.step_costs.ndim != 1:
            raise ModelFileError(
                f"step costs must be 1-D, got shape {self.step_costs.shape}",
                help="keep one cost per step, in order",
            )

    @property
    def n_params(self) -> int:
        """Number of weights and biases."""
        return self.network.n_params

    def predict(self, X: Matrix) -> NDArray[np.intp]:
        """The guessed class of each row of X."""
        return predict(self.network, self.theta, X)

    def probabilities(self, X: Matrix) -> Matrix:
        """Output activations normalised to sum to 1 per row (see network.probabilities)."""
        return probabilities(self.network, self.theta, X)

    def describe(self) -> dict[str, Any]:
        """Everything but θ, as JSON-ready values."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "nudgenet_version": __version__,
            "sizes": list(self.network.sizes),
            "activation": self.network.activation,
            "output": self.network.output,
            "cost": self.cost,
            "dtype": str(self.theta.dtype),
            "num_params": self.n_params,
            "settings": self.settings,
            "history": self.history,
            **({} if self.checkpoint is None else {"checkpoint": self.checkpoint.describe()}),
        }

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = True) -> Path:
        """Write the model atomically to ``path`` (conventionally ending in .npz).

        With ``overwrite=False`` an existing file is kept and the save fails instead.
        """
        path = Path(path)
        meta = json.dumps(self.describe(), sort_keys=True)
        directory = path.parent if str(path.parent) else Path(".")
        if not directory.is_dir():
            raise ModelFileError(
                f"cannot save the model to {path}: the folder {directory} does not exist",
                help="create the folder first or choose another --out",
            )
        velocity = None if self.checkpoint is None else self.checkpoint.velocity
        extras = {
            name: array
            for name, array in (
                ("step_costs", self.step_costs),
                ("snapshots", self.snapshots),
                ("velocity", velocity),
            )
            if array is not None
        }
        with atomic_write(path, overwrite=overwrite) as f:
            np.savez(f, theta=self.theta, meta=np.array(meta), **extras)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read a model written by :meth:`save`; anything else raises ModelFileError.

        The description is read first, so that the layout it names bounds every array:
        no array is allocated, or decompressed, beyond what that layout needs.
        """
        path = Path(path)
        _check_model_file(path)
        try:
            with open(path, "rb") as f:
                if not zipfile.is_zipfile(f):
                    raise ModelFileError(
                        f"{path} is not a readable nudgenet model file: it is not a whole "
                        ".npz archive",
                        help="it may be truncated or from another program; retrain it or "
                        "copy it again",
                    )
                with zipfile.ZipFile(f) as archive:
                    return cls._read(path, archive)
        except NudgenetError:
            raise
        except PermissionError as exc:
            raise ModelFileError(
                f"cannot read the model {path}: {exc.strerror or exc}",
                help="check the permissions of the file and of the folders above it",
            ) from exc
        except (
            zipfile.BadZipFile,
            OSError,
            ValueError,
            EOFError,
            zlib.error,
            RuntimeError,  # an encrypted zip entry
            NotImplementedError,  # a compression method zipfile lacks
        ) as exc:
            raise ModelFileError(
                f"{path} is not a readable nudgenet model file ({exc})",
                help="it may be truncated or from another program; retrain it or copy it again",
            ) from exc

    @classmethod
    def _read(cls, path: Path, archive: zipfile.ZipFile) -> Model:
        """The model in an open archive: the description, then each array it bounds."""
        entries = {info.filename: info for info in archive.infolist()}
        missing = [key for key in ("meta", "theta") if f"{key}.npy" not in entries]
        if missing:
            raise ModelFileError(
                f"{path} is an .npz archive but not a nudgenet model: it lacks "
                f"{', '.join(missing)}",
                help="load a file written by `nudgenet train --out`",
            )

        def read(key: str, check: Callable[[np.dtype[Any], tuple[int, ...]], str | None]) -> Any:
            return _read_npy(archive, entries[f"{key}.npy"], path, key, check)

        meta_array = read("meta", _check_meta)
        network, meta = _parse_meta(path, str(meta_array[()]))
        n = network.n_params

        def check_theta(dtype: np.dtype[Any], shape: tuple[int, ...]) -> str | None:
            if shape == (n,) and dtype.newbyteorder("=") in _FLOATS:
                return None
            return (
                f"θ has shape {shape} and dtype {dtype}, but sizes {list(network.sizes)} "
                f"need {n} floats (float32 or float64)"
            )

        def check_steps(dtype: np.dtype[Any], shape: tuple[int, ...]) -> str | None:
            if dtype.kind == "f" and len(shape) == 1 and shape[0] <= MAX_STEP_COSTS:
                return None
            return (
                f"step_costs has shape {shape} and dtype {dtype}; expected at most "
                f"{MAX_STEP_COSTS:,} floats, one per training step"
            )

        def check_snapshots(dtype: np.dtype[Any], shape: tuple[int, ...]) -> str | None:
            if (
                dtype.kind == "f"
                and len(shape) == 2
                and shape[1] == n
                and prod(shape) <= MAX_SNAPSHOT_VALUES
            ):
                return None
            return (
                f"snapshots has shape {shape} and dtype {dtype}; expected floats of shape "
                f"(k, {n}), one θ per epoch, at most {MAX_SNAPSHOT_VALUES:,} values in all"
            )

        def check_velocity(dtype: np.dtype[Any], shape: tuple[int, ...]) -> str | None:
            if shape == (n,) and dtype.newbyteorder("=") == theta.dtype:
                return None
            want = f"({n},) {theta.dtype}"
            return f"velocity has shape {shape} and dtype {dtype}; expected θ's, {want}"

        theta = read("theta", check_theta)
        checks = {
            "step_costs": check_steps, "snapshots": check_snapshots, "velocity": check_velocity
        }  # fmt: skip
        extras = {key: read(key, check) for key, check in checks.items() if f"{key}.npy" in entries}
        for what, array in (("θ", theta), *extras.items()):
            if not _all_finite(array):
                raise ModelFileError(f"{path}: {what} contains NaN or infinite values", help=_HELP)
        velocity = extras.pop("velocity", None)
        history = meta.get("history", [])
        checkpoint = None
        if "checkpoint" in meta:
            checkpoint = _parse_checkpoint(path, meta["checkpoint"], history, velocity)
        return cls(
            network,
            theta,
            meta["cost"],
            settings=meta.get("settings", {}),
            history=history,
            checkpoint=checkpoint,
            **extras,
        )


def _check_model_file(path: Path) -> None:
    """Raise ModelFileError unless ``path`` is a regular file (permissions included)."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    except OSError as exc:
        raise ModelFileError(
            f"cannot read the model {path}: {exc.strerror or exc}",
            help="check the permissions of the file and of the folders above it",
        ) from exc
    if mode is None or not stat.S_ISREG(mode):
        raise ModelFileError(
            f"no model file at {path}",
            help="train one with `nudgenet train --out PATH`",
        )


def _check_meta(dtype: np.dtype[Any], shape: tuple[int, ...]) -> str | None:
    """The description must be one string of at most MAX_META_CHARS characters."""
    if dtype.kind == "U" and shape == () and 0 < dtype.itemsize <= 4 * MAX_META_CHARS:
        return None
    return (
        f"its description (meta) has shape {shape} and dtype {dtype}; expected one string "
        f"of at most {MAX_META_CHARS:,} characters"
    )


def _read_npy(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    path: Path,
    key: str,
    check: Callable[[np.dtype[Any], tuple[int, ...]], str | None],
) -> NDArray[Any]:
    """One ``.npy`` entry, its header checked before its body is allocated or unpacked.

    ``check(dtype, shape)`` returns why the header is unacceptable, or None. The entry's
    declared uncompressed size must then be exactly the header plus the body it declares,
    and zipfile never decompresses past that size, so the body costs what was checked. The
    body is read by NumPy with ``allow_pickle=False``: object arrays, refused here already,
    could never be unpickled.
    """

    def refuse(why: str) -> ModelFileError:
        return ModelFileError(f"{path} is not a readable nudgenet model file: {why}", help=_HELP)

    with archive.open(info) as f:
        version = npy_format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = npy_format.read_array_header_1_0(f, _MAX_NPY_HEADER)
        elif version == (2, 0):
            shape, _, dtype = npy_format.read_array_header_2_0(f, _MAX_NPY_HEADER)
        else:
            raise refuse(f"{key}.npy is in .npy format version {version}, not 1.0 or 2.0")
        header = f.tell()
    if dtype.hasobject:
        raise refuse(
            f"{key}.npy holds pickled Python objects, which are never loaded (allow_pickle=False)"
        )
    if any(n < 0 for n in shape):
        raise refuse(f"{key}.npy declares a negative shape {shape}")
    why = check(dtype, shape)
    if why is not None:
        raise refuse(why) if key == "meta" else ModelFileError(f"{path}: {why}", help=_HELP)
    size = header + prod(shape) * dtype.itemsize
    if info.file_size != size:
        raise refuse(
            f"{key}.npy declares {info.file_size:,} bytes in the archive, but its header says "
            f"shape {shape} of {dtype}: {size:,} bytes"
        )
    with archive.open(info) as f:
        array = npy_format.read_array(f, allow_pickle=False, max_header_size=_MAX_NPY_HEADER)
    return array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("="))


def _all_finite(array: NDArray[Any]) -> bool:
    """Whether every value is finite; min and max propagate NaN and are ±inf if any is."""
    return not array.size or bool(np.isfinite(array.min()) and np.isfinite(array.max()))


def _parse_meta(path: Path, text: str) -> tuple[Network, dict[str, Any]]:
    """The network a description names, and the description, each field checked."""

    def bad(why: str, help: str = _HELP) -> ModelFileError:
        return ModelFileError(f"{path}: {why}", help=help)

    try:
        meta = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise bad(f"its description is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(
            f"{path} is not a nudgenet model (no format {FORMAT!r})",
            help="load a file written by `nudgenet train --out`",
        )
    where = _first_non_finite(meta)
    if where is not None:
        raise bad(f"its description holds a number too large to be finite, at {where}")
    version = meta.get("format_version")
    if type(version) is not int or not 1 <= version <= FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has model format version {version!r}; this nudgenet reads up to "
            f"{FORMAT_VERSION}",
            help="upgrade nudgenet (pip install -U nudgenet)",
        )
    required = ("sizes", "activation", "output", "cost")
    absent = [key for key in required if key not in meta]
    if absent:
        raise bad(f"the description lacks {', '.join(absent)}")
    sizes = meta["sizes"]
    if not (isinstance(sizes, list) and all(type(n) is int for n in sizes)):
        raise bad(f"invalid architecture: sizes must be a list of integers, got {_show(sizes)}")
    for key in ("activation", "output", "cost"):
        if not isinstance(meta[key], str):
            raise bad(f"invalid architecture: {key} must be a name, got {_show(meta[key])}")
    try:
        network = Network(tuple(sizes), meta["activation"], meta["output"])
    except NudgenetError as exc:
        raise bad(f"invalid architecture: {exc.message}", exc.help or _HELP) from exc
    if meta["cost"] not in COSTS:
        raise bad(f"unknown cost {meta['cost']!r}; this nudgenet knows {', '.join(COSTS)}")
    _check_settings(meta.get("settings", {}), bad)
    _check_history(meta.get("history", []), bad)
    return network, meta


def _no_constant(name: str) -> float:
    """``json.loads`` hook: NaN and ±Infinity are not JSON, and no saved model holds them."""
    raise ValueError(f"{name} is not a JSON number")


_NUMBER = (int, float)
_SETTINGS: dict[str, tuple[type, ...]] = {
    "epochs": (int,), "batch_size": (int,), "seed": (int,),
    "lr": _NUMBER, "momentum": _NUMBER, "l2": _NUMBER,
    "schedule": (str,), "cost": (str,), "init": (str,), "dtype": (str,), "engine": (str,),
    "data": (str, type(None)),
}  # fmt: skip
"""The types of the settings that nudgenet reads back (``evaluate`` reads ``data``, the
learning-rate figure ``schedule``, ``lr`` and ``epochs``); others are kept as they are."""

_RECORD_OPTIONAL = (
    "steps", "learning_rate", "train_accuracy", "test_cost", "test_accuracy", "seconds"
)  # fmt: skip
"""The numbers an epoch record may hold besides ``epoch`` and ``train_cost`` (None: not
measured)."""


def _is(value: object, types: tuple[type, ...]) -> bool:
    """isinstance, except that a bool is not a number."""
    return isinstance(value, types) and not (isinstance(value, bool) and bool not in types)


def _show(value: object, limit: int = 80) -> str:
    """``repr(value)``, cut short: a malformed field may be megabytes long."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_settings(settings: object, bad: Callable[[str], ModelFileError]) -> None:
    if not isinstance(settings, dict):
        raise bad(f"its settings must be a JSON object, got {_show(settings)}")
    for key, types in _SETTINGS.items():
        if key in settings and not _is(settings[key], types):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise bad(f"setting {key!r} must be {names}, got {_show(settings[key])}")


def _check_history(history: object, bad: Callable[[str], ModelFileError]) -> None:
    if not isinstance(history, list):
        raise bad(f"its history must be a list of epoch records, got {_show(history)}")
    for i, record in enumerate(history):
        where = f"history record {i}"
        if not isinstance(record, dict):
            raise bad(f"{where} must be a JSON object, got {_show(record)}")
        epoch = record.get("epoch")
        if not _is(epoch, (int,)) or epoch < 0:
            raise bad(f"{where} must have an epoch number ≥ 0, got {_show(epoch)}")
        cost = record.get("train_cost")
        if not _is(cost, _NUMBER):
            raise bad(f"{where} must have a train_cost number, got {_show(cost)}")
        for key in _RECORD_OPTIONAL:
            value = record.get(key)
            if value is not None and not _is(value, _NUMBER):
                raise bad(f"{where}: {key} must be a number or null, got {_show(value)}")
        for key in ("train_accuracy", "test_accuracy"):
            value = record.get(key)
            if value is not None and not 0 <= value <= 1:
                raise bad(f"{where}: {key} must be in [0, 1], got {_show(value)}")


def _parse_checkpoint(
    path: Path, fields: object, history: list[dict[str, Any]], velocity: Vector | None
) -> Checkpoint:
    """The description's ``checkpoint``, each field checked against its type and the history."""

    def bad(why: str) -> ModelFileError:
        return ModelFileError(f"{path}: its checkpoint {why}", help=_HELP)

    if not isinstance(fields, dict):
        raise bad(f"must be a JSON object, got {_show(fields)}")
    for key in ("epoch", "step", "train_size"):
        if not _is(fields.get(key), (int,)) or fields[key] < 0:
            raise bad(f"must have a whole number {key} ≥ 0, got {_show(fields.get(key))}")
    if not _is(fields.get("baseline"), _NUMBER):
        raise bad(f"must have a baseline cost, got {_show(fields.get('baseline'))}")
    last = history[-1] if history else {}
    if (last.get("epoch"), last.get("steps")) != (fields["epoch"], fields["step"]):
        raise bad(
            f"stands at epoch {fields['epoch']}, step {fields['step']}, but the history ends "
            f"at epoch {last.get('epoch')}, step {last.get('steps')}"
        )
    state = fields.get("shuffle_state")
    if not _is_generator_state(state):
        raise bad(f"has no valid PCG64 generator state, got {_show(state)}")
    augment = fields.get("augment_state")
    if augment is not None and not _is_generator_state(augment):
        raise bad(f"has no valid PCG64 state for its distortions, got {_show(augment)}")
    return Checkpoint(
        fields["epoch"], fields["step"], fields["train_size"], float(fields["baseline"]),
        state, velocity, augment,
    )  # fmt: skip


def _is_generator_state(state: object) -> bool:
    """Whether ``state`` is a PCG64 ``bit_generator.state`` with every number in range."""
    inner = state.get("state") if isinstance(state, dict) else None
    return bool(
        isinstance(state, dict)
        and state.get("bit_generator") == "PCG64"
        and isinstance(inner, dict)
        and all(_is(inner.get(k), (int,)) and 0 <= inner[k] < MAX_STATE_INT for k in STATE_KEYS)
        and state.get("has_uint32") in (0, 1)
        and _is(state.get("uinteger"), (int,))
        and 0 <= state["uinteger"] < 1 << 32
    )


def _first_non_finite(value: object) -> str | None:
    """Where in a parsed description a number is ±inf (``1e999`` parses so), if anywhere."""
    stack: list[tuple[str, object]] = [("", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return where or "the description"
        if isinstance(item, dict):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(item))
    return None
