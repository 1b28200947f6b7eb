"""The ``nudgenet`` command line: a thin layer over the library.

Each subcommand parses flags that map one to one onto library arguments, calls the library,
and renders what comes back: results on stdout (or one JSON object with ``--json``),
progress and errors on stderr. Expected errors print one ``error:`` line (plus a ``help:``
line) and exit with status 1; usage errors exit with 2, as argparse does.

The subcommands live in one module per group, each with a ``register(commands)``; this
module only puts them together and turns errors into exit statuses.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .._version import __version__
from ..errors import NudgenetError
from . import descent, gradcheck, inside, model, pictures, serve, sweep, train

# In the order `nudgenet --help` lists them: train, then the saved model, then the lessons.
GROUPS = (train, model, gradcheck, pictures, inside, descent, serve, sweep)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        # Inside the try: a list flag refuses an unknown name with the library's own error.
        args = parser.parse_args(argv)
        return int(args.run(args))
    except BrokenPipeError:
        # The reader (e.g. `| head`) left early: not an error worth a traceback.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except NudgenetError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.help:
            print(f"help: {exc.help}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


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
