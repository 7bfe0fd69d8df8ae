"""Command line: ``backprop-derive COMMAND ...`` (also ``python -m derive``).

Each command is a module of :mod:`derive.cli` with a ``register(sub)``
function; :data:`COMMANDS` lists them in the order ``--help`` shows.

Exit codes: 0 when every check passes, 1 when a check finds a fault, 2 for
unusable input (a one-line message on stderr says what is wrong).
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from numeric.errors import BackpropDeriveError

__all__ = ["main", "COMMANDS"]


def _lazy(module: str) -> Callable[[argparse._SubParsersAction], None]:
    """A command registered by ``module.register``."""

    def add(sub: argparse._SubParsersAction) -> None:
        __import__(module, fromlist=["register"]).register(sub)

    return add


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _lazy("derive.cli.verify"),
    _lazy("derive.cli.report"),
    _lazy("derive.cli.check_activation"),
    _lazy("derive.cli.check_backprop"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backprop-derive",
        description="Symbolic-plus-numeric derivation checker for neural-network backpropagation.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args))
    except BackpropDeriveError as exc:
        print(f"backprop-derive: error: {exc}", file=sys.stderr)
        return 2
    except RecursionError:
        print("backprop-derive: error: the expression is nested too deeply for sympy", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("backprop-derive: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
