"""The ``nudgenet`` command line: a thin layer over the library.

Each subcommand parses flags that map one to one onto library arguments, calls the library,
and renders what comes back: results on stdout (or one JSON object with ``--json``),
progress and errors on stderr. Expected errors print one ``error:`` line and one ``help:``
line (a general one when the error brings none) and exit with status 1, and so does an
``OSError`` no check foresaw; usage errors exit with 2, as argparse does. Text that cannot
be encoded for the terminal, such as a file name that is not valid UTF-8, is printed with
backslash escapes instead of stopping the command.

The subcommands live in one module per group, each with a ``register(commands)``; this
module only puts them together and turns errors into exit statuses.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence

from .._version import __version__
from ..errors import NudgenetError
from . import (
    backprop,
    curvature,
    descent,
    experiments,
    gradcheck,
    inside,
    interop,
    model,
    note,
    pictures,
    serve,
    sweep,
    train,
)

# In the order `nudgenet --help` lists them: train, then the saved model, then the lessons.
GROUPS = (
    train, model, interop, gradcheck, backprop, pictures, inside, descent, note, experiments,
    curvature, serve, sweep,
)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    _escape_unencodable(sys.stdout)
    _escape_unencodable(sys.stderr)
    parser = build_parser()
    try:
        # Inside the try: a list flag refuses an unknown name with the library's own error.
        args = parser.parse_args(argv)
        return _run(args)
    except BrokenPipeError:
        # The reader (e.g. `| head`) left early: not an error worth a traceback.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except NudgenetError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        print(f"help: {exc.help or general_help(parser, argv)}", file=sys.stderr)
        return 1
    except OSError as exc:
        # The file system refused something no check foresaw (a name too long to look
        # up, a folder that vanished): the user's to fix, so no traceback either.
        print(f"error: {os_error_text(exc)}", file=sys.stderr)
        print(
            "help: check the path: every folder on it must exist and be readable, and no "
            "part of it longer than 255 bytes",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    """Run the parsed command; NumPy's warnings of overflow become one ``warning:`` line.

    A value that would overflow is refused before computing where nudgenet knows of it;
    this is for the rest. When the command then fails with an error of its own, the error
    says what went wrong and the warnings are dropped. The web server is left alone: its
    threads would share the record.
    """
    if args.run is serve.run_serve:
        return int(args.run(args))
    caught: list[warnings.WarningMessage] = []
    failed = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default", RuntimeWarning)
            return int(args.run(args))
    except NudgenetError:
        failed = True
        raise
    finally:
        _replay(caught, failed)


def _replay(caught: list[warnings.WarningMessage], failed: bool) -> None:
    """Show the other warnings as they were; sum the numerical ones up, unless it failed."""
    numeric = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    for w in caught:
        if w not in numeric:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if numeric and not failed:
        more = f" (and {len(numeric) - 1} more)" if len(numeric) > 1 else ""
        print(
            f"warning: the arithmetic met trouble: {numeric[0].message}{more}; some numbers "
            "above may be nan or inf",
            file=sys.stderr,
        )


def os_error_text(exc: OSError) -> str:
    """``exc`` in words: what the system said, and about which file."""
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return reason
    name = os.fsdecode(exc.filename)
    shown = name if len(name) <= 80 else f"{name[:60]}…{name[-16:]}"
    return f"{reason}: {shown}"


def general_help(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> str:
    """The help line of an error that brings none: where the command's options are listed."""
    words = sys.argv[1:] if argv is None else list(argv)
    names = {
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    }
    command = next((w for w in words if w in names), None)
    if command is None:
        return "run 'nudgenet --help' for the commands, and 'nudgenet COMMAND --help' for options"
    return f"run 'nudgenet {command} --help' for its options and what each allows"


def _escape_unencodable(stream: object) -> None:
    """Make ``stream`` write backslash escapes for what its encoding cannot hold.

    A file name is whatever bytes the file system holds; Python decodes the undecodable
    ones to lone surrogates, which a strict UTF-8 stdout refuses with an exception. Escaped,
    the name is still told apart from every other, and the command finishes.
    """
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None and getattr(stream, "errors", None) == "strict":
        reconfigure(errors="backslashreplace")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="nudgenet",
        description="How a neural network learns: gradient descent on handwritten digits.",
    )
    parser.add_argument("--version", action="version", version=f"nudgenet {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(commands)
    return parser


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
