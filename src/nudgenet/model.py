"""A trained network on disk: θ plus a JSON description, in one ``.npz`` file.

The file holds two arrays: ``theta`` (the flat parameter vector) and ``meta`` (a JSON
string: format name and version, architecture, cost, training settings and the per-epoch
history). It is read with ``allow_pickle=False``, so loading a file never runs code, and it
is written to a temporary file first and then renamed over the target, so a crash or a
full disk never leaves half a model where a good one was.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._types import Matrix, Vector
from ._version import __version__
from .cost import COSTS
from .errors import ModelFileError, NudgenetError
from .files import atomic_write
from .network import Network, predict, probabilities

FORMAT = "nudgenet-model"
FORMAT_VERSION = 1


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

    def __post_init__(self) -> None:
        self.network.layout.check(self.theta)
        if self.snapshots is not None and (
            self.snapshots.ndim != 2 or self.snapshots.shape[1] != self.n_params
        ):
            raise ModelFileError(
                f"θ snapshots must have shape (k, {self.n_params}), got {self.snapshots.shape}"
            )
        if self.step_costs is not None and self.step_costs.ndim != 1:
            raise ModelFileError(f"step costs must be 1-D, got shape {self.step_costs.shape}")

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
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model atomically to ``path`` (conventionally ending in .npz)."""
        path = Path(path)
        meta = json.dumps(self.describe(), sort_keys=True)
        directory = path.parent if str(path.parent) else Path(".")
        if not directory.is_dir():
            raise ModelFileError(
                f"cannot save the model to {path}: the folder {directory} does not exist",
                help="create the folder first or choose another --out",
            )
        extras = {
            name: array
            for name, array in (("step_costs", self.step_costs), ("snapshots", self.snapshots))
            if array is not None
        }
        with atomic_write(path) as f:
            np.savez(f, theta=self.theta, meta=np.array(meta), **extras)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read a model written by :meth:`save`; anything else raises ModelFileError."""
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(
                f"no model file at {path}",
                help="train one with `nudgenet train --out PATH`",
            )
        if not zipfile.is_zipfile(path):
            raise ModelFileError(
                f"{path} is not a readable nudgenet model file: it is not a whole .npz archive",
                help="it may be truncated or from another program; retrain it or copy it again",
            )
        try:
            # Open the file ourselves: np.load leaks its handle when the archive is broken.
            with open(path, "rb") as f, np.load(f, allow_pickle=False) as archive:
                missing = {"theta", "meta"} - set(archive.files)
                if missing:
                    raise ModelFileError(
                        f"{path} is an .npz archive but not a nudgenet model: it lacks "
                        f"{', '.join(sorted(missing))}",
                        help="load a file written by `nudgenet train --out`",
                    )
                theta = archive["theta"]
                meta_text = str(archive["meta"])
                extras = {k: archive[k] for k in ("step_costs", "snapshots") if k in archive}
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise ModelFileError(
                f"{path} is not a readable nudgenet model file ({exc})",
                help="it may be truncated or from another program; retrain it or copy it again",
            ) from exc
        return cls._from_parts(path, theta, meta_text, extras)

    @classmethod
    def _from_parts(
        cls, path: Path, theta: NDArray[Any], meta_text: str, extras: dict[str, NDArray[Any]]
    ) -> Model:
        try:
            meta = json.loads(meta_text)
        except json.JSONDecodeError as exc:
            raise ModelFileError(f"{path}: its description is not valid JSON ({exc})") from exc
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ModelFileError(f"{path} is not a nudgenet model (no format {FORMAT!r})")
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
            raise ModelFileError(f"{path}: the description lacks {', '.join(absent)}")
        sizes = meta["sizes"]
        if not (isinstance(sizes, list) and all(type(n) is int for n in sizes)):
            raise ModelFileError(
                f"{path}: invalid architecture: sizes must be a list of integers, got {sizes!r}"
            )
        try:
            network = Network(tuple(sizes), meta["activation"], meta["output"])
        except NudgenetError as exc:
            raise ModelFileError(f"{path}: invalid architecture: {exc.message}") from exc
        if meta["cost"] not in COSTS:
            raise ModelFileError(f"{path}: unknown cost {meta['cost']!r}")
        if theta.ndim != 1 or len(theta) != network.n_params or theta.dtype.kind != "f":
            raise ModelFileError(
                f"{path}: θ has shape {theta.shape} and dtype {theta.dtype}, but sizes "
                f"{meta['sizes']} need {network.n_params} floats"
            )
        if not np.all(np.isfinite(theta)):
            raise ModelFileError(f"{path}: θ contains NaN or infinite values")
        return cls(
            network,
            theta,
            meta["cost"],
            settings=meta.get("settings", {}),
            history=meta.get("history", []),
            **extras,
        )
