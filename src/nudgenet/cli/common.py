"""What every command group shares: flags read from the option table, list parsers, output.

Each option's choices and range come from :mod:`nudgenet.options`, so ``--help`` states the
same list and interval as the library's errors. A number is checked as it is parsed, with the
table's words (and NaN or infinity is refused for every number), so that a bad value stops
the command before any work; a mistake found while parsing raises the library's
:class:`ConfigError` and reads, and exits, like the same mistake made anywhere else. Every
file or folder a command will write is checked before the work that fills it (``check_*``).
Output is either a text report or one strict JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .. import options
from .._json import finite
from ..constraints import Choice, Range
from ..data import DATASET_CHOICES
from ..errors import ConfigError, NudgenetError, OutputError
from ..files import check_folder, check_writable
from ..layout import SEED_SIZES
from ..plots import save

MAX_SEEDS = 10_000  # a range of seeds wider than this is a typo, and would fill the memory
# No setting of nudgenet means anything beyond this size, and float64 arithmetic on numbers
# near its limit (1.8e308) overflows with warnings instead of answering.
MAX_MAGNITUDE = 1e100

# --------------------------------------------------------------------------- flags


def add_option(
    p: argparse.ArgumentParser,
    option: Choice | Range,
    default: Any,
    *,
    flag: str | None = None,
    help: str | None = None,
) -> None:
    """Add ``--NAME`` for ``option``: its choices, or its number type and interval in the help."""
    text = help or option.help
    if isinstance(option, Choice):
        p.add_argument(flag or f"--{option.name}", choices=option.values, default=default,
                       help=text)  # fmt: skip
        return
    p.add_argument(
        flag or f"--{option.name}",
        type=int if option.integer else float,
        action=_InRange,
        option=option,
        default=default,
        help=f"{text}; in {option.interval()}",
    )


def add_augment(p: argparse.ArgumentParser) -> None:
    """Add ``--augment [KIND]``: alone it means both distortions, affine and elastic."""
    p.add_argument(
        "--augment", nargs="?", const="both", default="none", choices=options.AUGMENT.values,
        metavar="KIND",
        help=f"{options.AUGMENT.help}; KIND is one of {', '.join(options.AUGMENT.values)} "
        "(alone: both)",
    )  # fmt: skip


def add_deskew(p: argparse.ArgumentParser) -> None:
    """Add ``--deskew``: learn from, and be measured on, digits sheared upright."""
    p.add_argument(
        "--deskew", action="store_true", default=False,
        help="shear every training and test digit upright by its moments first, as predict "
        "does to your own images (the model remembers it, and evaluate measures it so)",
    )  # fmt: skip


class _TableAction(argparse.Action):
    """An argparse action that checks its value against an option of the table."""

    def __init__(self, option_strings: list[str], dest: str, *, option: Choice | Range,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(option_strings, dest, **kwargs)
        self.option = option


class _InRange(_TableAction):
    """Store a number once its :class:`Range` holds it; else raise the table's ConfigError.

    Checked while parsing, so ``--seed -1`` stops the command before it loads any data;
    the library checks the same range again where the value enters.
    """

    option: Range

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        flag = option_string or self.dest
        try:
            self.option.check(values)
        except ConfigError as exc:
            if flag == f"--{self.option.name}":
                raise
            # The table names its own flag; this one (--seed-epochs) reads the same range.
            raise ConfigError(
                f"{flag} must be {_bound(self.option, values)}, got {values!r}",
                help=self.option.hint or f"give {flag} a value in {self.option.interval()}",
            ) from exc
        if not self.option.integer:
            check_magnitude(flag, values)
        setattr(namespace, self.dest, values)


def _bound(option: Range, value: Any) -> str:
    """The end of ``option``'s interval that ``value`` is past, in words; else the interval."""

    def show(end: float) -> str:
        return str(int(end)) if option.integer else f"{end:g}"

    if isinstance(value, int | float) and math.isfinite(value):
        if option.low is not None and value < option.low and not option.low_open:
            return f"at least {show(option.low)}"
        if option.high is not None and value > option.high and not option.high_open:
            return f"at most {show(option.high)}"
    return f"in {option.interval()}"


class Finite(argparse.Action):
    """Store a number, or a tuple of them, refusing NaN and ±infinity with a ConfigError.

    ``float()`` reads "nan" and "inf" as numbers, and none of nudgenet's settings means
    anything at either: refused here, they never reach a computation that would warn.
    """

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        check_magnitude(option_string or self.dest, values)
        setattr(namespace, self.dest, values)


def check_magnitude(flag: str, values: float | tuple[float, ...]) -> None:
    """Refuse NaN, ±infinity and numbers beyond ±:data:`MAX_MAGNITUDE` given to ``flag``."""
    numbers = values if isinstance(values, tuple) else (values,)
    if not all(math.isfinite(x) for x in numbers):
        raise ConfigError(
            f"{flag} must be finite, got {_text(values)}",
            help=f"give {flag} ordinary numbers; nan and inf mean nothing here",
        )
    if any(abs(x) > MAX_MAGNITUDE for x in numbers):
        raise ConfigError(
            f"{flag} must be at most {MAX_MAGNITUDE:g} in size, got {_text(values)}",
            help="numbers that large overflow the arithmetic; no setting needs them",
        )


class OutputPath(argparse.Action):
    """Store a path to write to, refusing an empty one (which would mean the current folder)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        flag = option_string or self.dest
        if not str(values).strip():
            raise ConfigError(
                f"{flag} was given an empty name",
                help=f"give {flag} a file or folder name, e.g. {flag} {self.default or 'out'}",
            )
        setattr(namespace, self.dest, Path(values))


def _text(values: Any) -> str:
    if isinstance(values, tuple):
        return ",".join(f"{x:g}" for x in values)
    return f"{values:g}"


def add_choices(
    p: argparse.ArgumentParser,
    option: Choice,
    default: Sequence[str] | None,
    *,
    flag: str,
    help: str,
) -> None:
    """Add ``flag A,B,...``: a comma-separated list of ``option``'s names, each one checked."""
    p.add_argument(flag, action=_ChoiceList, option=option, default=default,
                   metavar=f"{option.name.upper()},...",
                   help=f"{help}; from {', '.join(option.values)}")  # fmt: skip


class _ChoiceList(_TableAction):
    """Store a comma-separated list of names, each checked against its :class:`Choice`.

    An unknown name raises the table's :class:`ConfigError` out of ``parse_args``, so it
    reads (and exits, with status 1) like the same mistake made through the library.
    """

    option: Choice

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        names = tuple(part.strip() for part in str(values).split(",") if part.strip())
        for name in names:
            if name not in self.option.values:
                raise ConfigError(
                    f"unknown {self.option.name} {name!r}; choose from "
                    f"{', '.join(self.option.values)}",
                    help=f"e.g. {option_string or self.dest} {','.join(self.option.values[:2])}",
                )
        setattr(namespace, self.dest, names)


def add_network(
    p: argparse.ArgumentParser, *, init: str, sizes: tuple[int, ...] = SEED_SIZES
) -> None:
    """The architecture's flags: --sizes, --activation, --output, --cost and --init."""
    p.add_argument("--sizes", type=layer_sizes, default=sizes, help="layer sizes, input first")
    add_option(p, options.ACTIVATION, "sigmoid")
    add_option(p, options.OUTPUT, "sigmoid")
    add_option(p, options.COST, "quadratic")
    add_option(p, options.INIT, init)


def add_data(
    p: argparse.ArgumentParser,
    what: str,
    default: str | None = "mini",
    *,
    otherwise: str = "the model's own training data",
) -> None:
    """Add ``--data``: a named data set or a folder of IDX files (``otherwise``: when None)."""
    p.add_argument(
        "--data",
        default=default,
        metavar="|".join(DATASET_CHOICES) + "|PATH",
        help=f"{what}: the embedded subset of MNIST (mini), full MNIST or Fashion-MNIST "
        "(downloaded once into the cache, $NUDGENET_DATA), or a folder of the four IDX files"
        + ("" if default else f"; default: {otherwise}"),
    )


def add_json(p: argparse.ArgumentParser) -> None:
    """Add ``--json``: one JSON object on stdout instead of the text report."""
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


# --------------------------------------------------------------------------- argparse types


def layer_sizes(text: str) -> tuple[int, ...]:
    """``--sizes 784,16,16,10`` as a tuple of positive integers (argparse ``type``)."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of layer sizes, e.g. 784,16,16,10"
        ) from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"need at least two positive sizes, got {text!r}")
    return sizes


def _number_list(kind: type, what: str, example: str) -> Any:
    """An argparse ``type`` reading ``example``-like comma-separated lists of ``kind``."""

    def parse(text: str) -> tuple[Any, ...]:
        try:
            return tuple(kind(part) for part in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a comma-separated list of {what}, e.g. {example}"
            ) from None

    parse.__doc__ = (
        f"``{example}`` as a tuple of {what} (argparse ``type``); the library checks each."
    )
    return parse


float_list = _number_list(float, "numbers", "0.01,0.1,1")
int_list = _number_list(int, "whole numbers", "10,100")


def parse_seeds(text: str) -> tuple[int, ...]:
    """``0-4`` (both ends included) or ``0,1,2``: the type of every ``--seeds`` option.

    Only the spelling is checked here; what the seeds are used for checks the rest.
    """
    try:
        if "-" in text and "," not in text:
            low, high = (int(part) for part in text.split("-"))
            if low > high:
                raise ValueError
            if high - low >= MAX_SEEDS:
                raise argparse.ArgumentTypeError(
                    f"at most {MAX_SEEDS:,} seeds at once, got {text!r}"
                )
            return tuple(range(low, high + 1))
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected seeds like 0-4 or 0,1,2, got {text!r}"
        ) from None


# --------------------------------------------------------------------------- outputs


def check_output(path: Path, flag: str) -> Path:
    """Fail now, naming ``flag``, if the file ``path`` could not be written later."""
    try:
        return check_writable(path)
    except OutputError as exc:
        raise OutputError(exc.message, help=f"{flag}: {exc.help}") from None


def check_output_folder(path: Path, flag: str, *, exists: bool = False) -> Path:
    """Fail now, naming ``flag``, if files could not be written into the folder ``path``."""
    try:
        return check_folder(path, exists=exists)
    except OutputError as exc:
        raise OutputError(exc.message, help=f"{flag}: {exc.help}") from None


def check_figure(path: Path | None, svg: bool, flag: str = "--plot") -> None:
    """Fail now if :func:`save_figure` could not write ``path`` (as PNG, and SVG with --svg)."""
    if path is None:
        return
    if path.name in ("", ".", ".."):
        raise OutputError(
            f"cannot write the figure {path}: it names a folder, not a file",
            help=f"give {flag} a file name, e.g. {flag} {path / 'figure.png'}",
        )
    for fmt in figure_formats(svg):
        check_output(path.with_suffix(f".{fmt}"), flag)


def add_output(p: argparse.ArgumentParser, flag: str, **kwargs: Any) -> None:
    """Add ``flag`` for a path the command writes (an empty one is refused)."""
    p.add_argument(flag, action=OutputPath, **kwargs)


def after_saving(exc: NudgenetError, saved: str) -> NudgenetError:
    """``exc`` with a help line saying what is safe already, for a failure after a save."""
    return type(exc)(exc.message, help=f"{saved}; {exc.help}" if exc.help else saved)


# --------------------------------------------------------------------------- output


def printer(quiet: bool) -> Any:
    """``print`` to stdout, or nothing when stdout is reserved for one JSON object."""
    return (lambda *_: None) if quiet else print


def print_json(obj: Any) -> None:
    """Print ``obj`` as strict JSON (non-finite floats become null), flushed at once."""
    print(json.dumps(finite(obj), indent=2, allow_nan=False))
    sys.stdout.flush()


def figure_formats(svg: bool) -> tuple[str, ...]:
    """The file formats of every figure: PNG, and SVG too with ``--svg``."""
    return ("png", "svg") if svg else ("png",)


def save_figure(
    path: Path | None, svg: bool, draw: Callable[..., Any], *inputs: Any, **keywords: Any
) -> list[Path]:
    """``draw(*inputs, **keywords)`` saved atomically as ``path`` (PNG, plus SVG with ``--svg``).

    Nothing is drawn when ``path`` is None (no ``--plot`` given): drawing costs more than
    the rest of most commands.
    """
    if path is None:
        return []
    return save(draw(*inputs, **keywords), path, figure_formats(svg))
