"""Command line: ``backprop-derive COMMAND ...`` (also ``python -m derive``).

Exit codes: 0 when every check passes, 1 when a check finds a fault, 2 for
unusable input (a one-line message on stderr says what is wrong).
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from numeric.errors import BackpropDeriveError

__all__ = ["main", "COMMANDS"]


# ------------------------------------------------------------------ verify
def _add_verify(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="derive, prove and numerically check the network's gradients",
        description=(
            "Derive the backward formulas of the article's 3-layer network, prove them "
            "exactly at small shapes, and compare the lambdified formulas with the "
            "hand-written NumPy backprop, central differences and the complex step. "
            "Always checks f=swish, g=leaky_relu (the article's examples), plus the "
            "pair given by --f/--g."
        ),
    )
    p.add_argument("--f", metavar="NAME", help="first hidden activation (catalog name)")
    p.add_argument("--g", metavar="NAME", help="second hidden activation (catalog name)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random problems (default 0)")
    p.set_defaults(run=_run_verify)


def _run_verify(args: argparse.Namespace) -> int:
    import numeric
    from derive.verify import progress, verify

    pairs = [("swish", "leaky_relu")]
    if args.f or args.g:
        pair = (args.f or "swish", args.g or "leaky_relu")
        for name in pair:
            if name not in numeric.ACTIVATIONS:
                raise BackpropDeriveError(
                    f"unknown activation {name!r}; known: {', '.join(numeric.ACTIVATIONS)}"
                )
        if pair not in pairs:
            pairs.append(pair)
    report = verify(pairs, seed=args.seed, progress=progress)
    print(report.render())
    return 0 if report.ok else 1


def _lazy(module: str) -> Callable[[argparse._SubParsersAction], None]:
    """A command registered by ``module.register``."""

    def add(sub: argparse._SubParsersAction) -> None:
        __import__(module, fromlist=["register"]).register(sub)

    return add


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_verify,
    _lazy("derive.cmd_report"),
    _lazy("derive.cmd_check_activation"),
    _lazy("derive.cmd_check_backprop"),
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
