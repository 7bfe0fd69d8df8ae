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
still the verdict; output that cannot be written (a full disk) is one line
"cannot write the output", exit 2.  Ctrl-C at any moment, imports included,
is one line "interrupted", exit 130.

A value that starts with '-' (``check-activation "-log(1+exp(-x))"``,
``--derivative -2*x``, ``--widths -1,3,2``) is taken as a value, not as an
unknown option (see :func:`_shield_values`).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable, NoReturn, Sequence, TextIO

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
    is still its verdict.  Any other ``OSError`` (a full disk, ``> /dev/full``)
    is kept in :attr:`failed` and the output is dropped the same way;
    :func:`main` then says so in one line and exits 2.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.broken = False
        self.failed: OSError | None = None

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
        except OSError as exc:
            self.failed = exc
            self._gone()
        return len(text)

    def flush(self) -> None:
        if self.broken:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._gone()
        except OSError as exc:
            self.failed = exc
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
    """Run the command line; returns the exit code (0 pass, 1 fault, 2 unusable input,
    130 interrupted: one line on stderr whenever Ctrl-C comes, imports included)."""
    real = sys.stdout
    quiet = _QuietPipe(real)
    sys.stdout = quiet  # type: ignore[assignment]
    try:
        try:
            code = _main(argv)
        finally:
            quiet.flush()
    except KeyboardInterrupt:
        print("backprop-derive: interrupted", file=sys.stderr)
        code = 130
    finally:
        sys.stdout = real
    if quiet.failed is not None and code != 130:
        print(f"backprop-derive: error: cannot write the output: {_one_line(quiet.failed)}", file=sys.stderr)
        return 2
    return code


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


_EXPRESSION_CHARS = frozenset("()*/+^,.<>=&|!%[] \t\n")


def _looks_like_a_value(token: str, options: frozenset[str]) -> bool:
    """Whether ``token``, which starts with '-', is a value rather than an option.

    A formula (``-log(1+exp(-x))``, ``-x``), a negative number (``-1e-3``) or a
    list (``-1,3,2``) is a value.  ``-h`` and a slip for a long option
    (``-json``, ``-seed``: the start of one of ``options``) are left to argparse,
    unless they have characters that no option has.
    """
    if len(token) < 2 or not token.startswith("-") or token.startswith("--"):
        return False
    if any(c in _EXPRESSION_CHARS for c in token) or not token[1].isalpha():
        return True
    word = token[1:]
    return not token.startswith("-h") and not any(name.startswith(word) for name in options)


def _long_options(parser: argparse.ArgumentParser) -> frozenset[str]:
    """The long option names (without ``--``) of ``parser`` and its commands."""
    names: set[str] = set()
    for action in parser._actions:
        names.update(o[2:] for o in action.option_strings if o.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                names |= _long_options(sub)
    return frozenset(names)


def _shield_values(argv: list[str], options: frozenset[str]) -> tuple[list[str], dict[str, str]]:
    """``argv`` with a space before every value that starts with '-', so that
    argparse takes it as a value (EXPR, ``--derivative -2*x``, ``--widths -1,3,2``)
    instead of an unknown option; and the map back to the text as typed."""
    out: list[str] = []
    shielded: dict[str, str] = {}
    for i, token in enumerate(argv):
        if token == "--":  # everything after it is positional already
            out.extend(argv[i:])
            break
        if _looks_like_a_value(token, options):
            shielded[" " + token] = token
            token = " " + token
        out.append(token)
    return out, shielded


def _unshield(args: argparse.Namespace, shielded: dict[str, str]) -> None:
    """Give the values back as typed (the options' ``type=`` functions strip blanks themselves)."""
    for key, value in vars(args).items():
        if isinstance(value, str) and value in shielded:
            setattr(args, key, shielded[value])
        elif isinstance(value, list):
            setattr(args, key, [shielded.get(v, v) if isinstance(v, str) else v for v in value])


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    words, shielded = _shield_values(list(sys.argv[1:] if argv is None else argv), _long_options(parser))
    try:
        args = parser.parse_args(words)
    except SystemExit as exc:  # --help (0) or a bad option (2, one line already printed)
        return _exit_code(exc)
    _unshield(args, shielded)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    # numpy loads with numeric: here, inside main(), where Ctrl-C is one line
    from numeric.errors import BackpropDeriveError

    try:
        return int(args.run(args))
    except BackpropDeriveError as exc:
        print(f"backprop-derive: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except RecursionError:
        print("backprop-derive: error: the expression is nested too deeply for sympy", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a bug of ours: still one line, never a traceback
        print(f"backprop-derive: internal error (please report it): {type(exc).__name__}: "
              f"{' '.join(str(exc).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
