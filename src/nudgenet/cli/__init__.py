"""The ``nudgenet`` command line: one module per command group over the library."""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
