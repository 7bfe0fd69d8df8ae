"""Command line: ``backprop-derive COMMAND ...`` (also ``python -m derive``).

Each command is a module of :mod:`derive.cli` with a ``register(sub)``
function; :data:`COMMANDS` lists them in the order ``--help`` shows.  Shared
option validators (seeds, positive numbers, width lists) are in
:mod:`derive.cli.options`.

Exit codes: 0 when every check passes, 1 when a check finds a fault, 2 for
unusable input, including a bad option (one line on stderr says what is
wrong, never a traceback; an unexpected error of the checker itself is also
one line, exit 2, asking for a report).  Output piped into a reader that closes early
(``backprop-derive verify | head -1``) ends quietly, and the exit code is
still the verdict.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable, NoReturn, Sequence, TextIO

from numeric.errors import BackpropDeriveError

__all__ = ["main", "COMMANDS", "build_parser"]


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
    _lazy("derive.cli.train"),
]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit 2.

    Subcommand parsers are of the same class (argparse makes them with
    ``type(parent)``), so every command gets this behaviour.
    """

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {text} (see {self.prog} --help)\n")


class _QuietPipe:
    """``sys.stdout`` that stops writing, silently, once the reader has gone.

    On the first ``BrokenPipeError`` the real stream's descriptor is pointed
    at ``os.devnull`` (so that Python's final flush cannot fail either) and
    everything after is dropped; the command carries on and its exit code
    is still its verdict.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.broken = False

    def _gone(self) -> None:
        self.broken = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # not a real file (e.g. captured in tests)
            pass

    def write(self, text: str) -> int:
        if self.broken:
            return len(text)
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._gone()
            return len(text)

    def flush(self) -> None:
        if self.broken:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._gone()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="backprop-derive",
        description="Symbolic-plus-numeric derivation checker for neural-network backpropagation.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    return code if isinstance(code, int) else 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 pass, 1 fault, 2 unusable input)."""
    real = sys.stdout
    quiet = _QuietPipe(real)
    sys.stdout = quiet  # type: ignore[assignment]
    try:
        return _main(argv)
    finally:
        quiet.flush()
        sys.stdout = real


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a bad option (2, one line already printed)
        return _exit_code(exc)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args))
    except BackpropDeriveError as exc:
        print(f"backprop-derive: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except RecursionError:
        print("backprop-derive: error: the expression is nested too deeply for sympy", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("backprop-derive: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug of ours: still one line, never a traceback
        print(f"backprop-derive: internal error (please report it): {type(exc).__name__}: "
              f"{' '.join(str(exc).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
