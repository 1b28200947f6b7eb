"""Named constraints on option values: a choice from a list, or a number in an interval.

The classes behind :mod:`nudgenet.options`, in the base layer so that the core modules that
own a range (η in :mod:`nudgenet.schedules`) can declare it where it belongs.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError


@dataclass(frozen=True)
class Choice:
    """An option whose value is one name from a fixed list."""

    name: str  # as the command line spells it, without the dashes
    values: tuple[str, ...]
    help: str  # one line for --help and the API docs

    def check(self, value: Any) -> str:
        """``value`` if it is one of :attr:`values`; else a :class:`ConfigError`.

        Examples
        --------
        >>> Choice("activation", ("sigmoid", "tanh"), "hidden layers").check("tanh")
        'tanh'
        """
        if value not in self.values:
            raise ConfigError(
                f"unknown {self.name} {value!r}; choose one of {', '.join(self.values)}",
                help=f"--{self.name} takes one of: {', '.join(self.values)}",
            )
        return str(value)


@dataclass(frozen=True)
class Range:
    """An option whose value is a number in an interval (``None`` leaves that end open).

    ``integer`` options take whole numbers only; every option takes finite numbers only.
    """

    name: str
    low: float | None
    high: float | None
    help: str
    integer: bool = False
    low_open: bool = False  # the interval excludes ``low``
    high_open: bool = False  # the interval excludes ``high``
    hint: str = ""  # what to do when a value is refused
    label: str = ""  # how a message names it, when not by its flag ("the learning rate")
    must: str = ""  # how a message states the interval, when words say it better

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a finite number of the right kind inside the interval."""
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if self.integer and not isinstance(value, numbers.Integral):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (
            self.high is not None and (value >= self.high if self.high_open else value > self.high)
        )

    def check(self, value: Any) -> Any:
        """``value`` if :meth:`contains` it; else a :class:`ConfigError` stating the interval.

        Examples
        --------
        >>> momentum = Range("momentum", 0.0, 1.0, "classical momentum", high_open=True)
        >>> momentum.check(0.9)
        0.9
        >>> momentum.check(1.0)
        Traceback (most recent call last):
        ...
        nudgenet.errors.ConfigError: momentum must be in [0, 1), got 1.0
        help: give --momentum a value in [0, 1)
        """
        if not self.contains(value):
            kind = "a whole number in " if self.integer else "in "
            must = self.must or kind + self.interval()
            raise ConfigError(
                f"{self.label or self.name} must be {must}, got {value!r}",
                help=self.hint or f"give --{self.name} a value in {self.interval()}",
            )
        return value

    def interval(self) -> str:
        """The interval in the usual notation, e.g. ``[0, 1)`` or ``(0, ∞)``."""
        left = "(" if self.low_open or self.low is None else "["
        right = ")" if self.high_open or self.high is None else "]"
        low = "-∞" if self.low is None else self._show(self.low)
        high = "∞" if self.high is None else self._show(self.high)
        return f"{left}{low}, {high}{right}"

    def _show(self, end: float) -> str:
        return str(int(end)) if self.integer else f"{end:g}"

    def bounds(self, high: float | None = None) -> dict[str, float]:
        """The interval as pydantic ``Field`` keywords (``gt``/``ge``/``lt``/``le``).

        ``high`` narrows the upper end, for a boundary that affords less (the web page).
        """
        out: dict[str, float] = {}
        if self.low is not None:
            out["gt" if self.low_open else "ge"] = self.low
        top, top_open = self.high, self.high_open
        if high is not None and (top is None or high < top):
            top, top_open = high, False
        if top is not None:
            out["lt" if top_open else "le"] = top
        return out
