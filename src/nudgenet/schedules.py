"""Learning-rate schedules: pure functions from the step number k to the rate η_k.

A rate too small crawls, one too large overshoots or diverges; a schedule starts large to
travel fast and shrinks to settle into the valley. Each schedule is a callable ``k -> η``
(k counts parameter updates from 0), so it can be plotted before any training.

* ``constant``      η_k = η
* ``step``          η_k = η · factor^⌊k / every⌋                 (drops in stairs)
* ``exponential``   η_k = η · final^(k / total)                    (smooth, to final·η)
* ``inverse-time``  η_k = η / (1 + k / every)                      (η/2 after ``every`` steps)
* ``cosine``        η_k = final·η + (1 − final)·η · ½(1 + cos(π k / total))
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .constraints import Range
from .errors import ConfigError

Schedule = Callable[[int], float]
SCHEDULES = ("constant", "step", "exponential", "inverse-time", "cosine")
LEARNING_RATE = Range(
    "lr",
    0.0,
    None,
    "learning rate η",
    low_open=True,
    label="the learning rate",
    must="a positive finite number",
    hint="try 0.1 to 3 for the seed network with sigmoid outputs",
)


def constant(lr: float) -> Schedule:
    """η_k = η for every step."""
    return lambda k: lr


def step(lr: float, every: int, factor: float = 0.5) -> Schedule:
    """η_k = η · factor^⌊k / every⌋: multiply by ``factor`` every ``every`` steps."""
    every = max(1, int(every))
    return lambda k: lr * factor ** (k // every)


def exponential(lr: float, total: int, final: float = 0.01) -> Schedule:
    """η_k = η · final^(k / total): shrinks smoothly to ``final``·η after ``total`` steps."""
    total = max(1, int(total))
    return lambda k: lr * final ** (min(k, total) / total)


def inverse_time(lr: float, every: int) -> Schedule:
    """η_k = η / (1 + k / every): halved after ``every`` steps, a third after twice that."""
    every = max(1, int(every))
    return lambda k: lr / (1.0 + k / every)


def cosine(lr: float, total: int, final: float = 0.0) -> Schedule:
    """Half a cosine wave from η down to ``final``·η over ``total`` steps."""
    total = max(1, int(total))

    def rate(k: int) -> float:
        progress = min(k, total) / total
        return lr * (final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * progress)))

    return rate


def make_schedule(name: str, lr: float, *, total_steps: int, steps_per_epoch: int) -> Schedule:
    """The schedule called ``name`` with the defaults the command line uses.

    ``step`` halves η at each quarter of training; ``exponential`` ends at η/100;
    ``inverse-time`` halves η after the first epoch; ``cosine`` ends at 0.

    Examples
    --------
    >>> s = make_schedule("step", 1.0, total_steps=8, steps_per_epoch=2)
    >>> [s(k) for k in range(8)]
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125]
    """
    check_learning_rate(lr)
    return build_schedule(name, lr, total_steps=total_steps, steps_per_epoch=steps_per_epoch)


def build_schedule(name: str, lr: float, *, total_steps: int, steps_per_epoch: int) -> Schedule:
    """:func:`make_schedule` for an η already checked where it entered (training settings)."""
    if name == "constant":
        return constant(lr)
    if name == "step":
        return step(lr, every=math.ceil(total_steps / 4))
    if name == "exponential":
        return exponential(lr, total=total_steps)
    if name == "inverse-time":
        return inverse_time(lr, every=steps_per_epoch)
    if name == "cosine":
        return cosine(lr, total=total_steps)
    raise ConfigError(
        f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}",
        help=f"--schedule takes one of: {', '.join(SCHEDULES)}",
    )


SHAPED_BY_LENGTH = ("step", "exponential", "cosine")
"""The schedules whose every η depends on the run's total number of steps (the others
depend on the step alone): a run of these cannot be lengthened and stay the same run."""


def check_learning_rate(lr: float) -> None:
    """Raise :class:`ConfigError` unless η is a positive finite number."""
    LEARNING_RATE.check(lr)
