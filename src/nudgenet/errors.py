"""One small hierarchy of errors, each saying what was wrong and what to do.

Messages follow one template: *what* was wrong, *where*, what is allowed, what was got,
then a ``help:`` line with the remedy. The CLI prints ``error: <message>`` and exits
non-zero; library users catch :class:`NudgenetError`.
"""

from __future__ import annotations


class NudgenetError(Exception):
    """Base class of every error nudgenet raises on purpose."""

    def __init__(self, message: str, help: str | None = None) -> None:
        self.message = message
        self.help = help
        super().__init__(message if help is None else f"{message}\nhelp: {help}")


class ConfigError(NudgenetError, ValueError):
    """A setting is out of its allowed range or names an unknown choice."""


class ShapeError(NudgenetError, ValueError):
    """An array has the wrong shape or length for the network."""


class DataError(NudgenetError):
    """A data file is missing, corrupt, truncated or of the wrong format."""


class DownloadError(DataError):
    """A data set could not be fetched, or what was fetched fails its checksum."""


class ImageError(DataError):
    """An image file cannot be read or turned into a 28×28 input."""


class OutputError(NudgenetError, OSError):
    """A file cannot be written where it was asked for: a folder, read-only, a full disk…

    An ``OSError`` too, so that code which caught the file system's own error still does;
    :attr:`errno` is the system's error number when the system refused.
    """


class ModelFileError(NudgenetError):
    """A saved model file is unreadable, incomplete or not a nudgenet model."""


class DivergenceError(NudgenetError, ArithmeticError):
    """Gradient descent blew up: the cost became NaN/inf or exploded.

    ``step`` and ``cost`` say where, when known: the step that blew up and its cost, which
    no Step record carries (the run stops before yielding it), so a live chart can still
    show it.
    """

    def __init__(
        self, message: str, help: str | None = None, *, step: int | None = None,
        cost: float | None = None,
    ) -> None:  # fmt: skip
        super().__init__(message, help)
        self.step = step
        self.cost = cost


class MissingDependencyError(NudgenetError, ImportError):
    """An optional package that a feature needs (torch, scikit-learn, …) is not installed."""
