"""Figures: shared plumbing for every picture nudgenet draws.

Each lesson module draws its own figures from the numbers the library computes; this module
gives them one look and one way to be written: matplotlib's non-interactive Agg backend
(figures are files, no window or display is needed), readable sizes, and atomic saving as
PNG and, on request, SVG.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .files import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = ("png", "svg")
# Blue for negative, red for positive: how weights and nudges are coloured everywhere.
DIVERGING = "RdBu_r"


def figure(nrows: int = 1, ncols: int = 1, *, size: tuple[float, float] = (6.4, 4.4),
           **kwargs: Any) -> tuple[Figure, Any]:  # fmt: skip
    """A new figure and its axes, detached from any GUI (safe in threads and servers)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, **kwargs)
    return fig, axes


def save(
    fig: Figure, path: str | os.PathLike[str], formats: Iterable[str] = ("png",)
) -> list[Path]:
    """Write ``fig`` to ``path`` in each format (the suffix is replaced), atomically.

    Returns the paths written. A partial file never replaces a good one: each is written to a
    temporary file in the same folder and renamed.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ConfigError(
            f"cannot write the figure {path}: the folder {path.parent} does not exist",
            help="create the folder first",
        )
    written = []
    for fmt in formats:
        if fmt not in FORMATS:
            raise ConfigError(
                f"unknown figure format {fmt!r}; choose from {', '.join(FORMATS)}",
                help="figures are written as png, and with --svg as svg too",
            )
        target = path.with_suffix(f".{fmt}")
        with atomic_write(target) as f:
            fig.savefig(f, format=fmt, dpi=120)
        written.append(target)
    return written
