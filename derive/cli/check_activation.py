"""``backprop-derive check-activation EXPR``: check a custom activation from the shell.

Exit codes: 0 when the check passes, 1 when it finds a fault, 2 for unusable
input, with one line on stderr that says what is wrong and where (the
column, for a string that does not parse).

Example:
    $ backprop-derive check-activation "z*tanh(softplus(z))" \\
          --derivative "tanh(softplus(z)) + z*sigmoid(z)*(1 - tanh(softplus(z))**2)"
    $ backprop-derive check-activation leaky_relu --param alpha=0.2 --json
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from numeric.errors import BackpropDeriveError

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``check-activation`` subcommand to an argparse subparsers object."""
    p = sub.add_parser(
        "check-activation",
        help="check a custom activation, its derivative and backprop through it",
        description=(
            "Check an activation given as a catalog name or an expression in z "
            "(functions: exp log sqrt tanh sinh cosh erf abs sign max min sigmoid softplus, "
            "where(cond, a, b), piecewise((a, cond), ..., (b, True))): its derivative, the "
            "derivative in terms of the output, its kinks, a claimed derivative, and the "
            "network's gradients with it. Exit 0: pass, 1: fault found, 2: unusable input."
        ),
    )
    p.add_argument("expr", metavar="EXPR", help="catalog name or expression in z, e.g. 'z*sigmoid(z)'")
    p.add_argument("--derivative", metavar="EXPR", help="the claimed derivative, an expression in z")
    p.add_argument("--param", metavar="NAME=VALUE", action="append", default=[],
                   help="a named parameter, e.g. --param alpha=0.1 (repeatable)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--seed", type=int, default=0, help="seed of the random points and networks (default 0)")
    p.add_argument("--time-limit", type=float, default=5.0, metavar="SECONDS",
                   help="time allowed to each symbolic step (default 5)")
    p.add_argument("--no-network", action="store_true", help="skip the end-to-end network check")
    p.set_defaults(run=run)


def _params(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not name.strip() or not value.strip():
            raise BackpropDeriveError(f"--param expects NAME=VALUE, e.g. --param alpha=0.1; got {item!r}")
        out[name.strip()] = value.strip()  # the value is parsed as a number by derive.parser
    return out


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def run(args: argparse.Namespace) -> int:
    """Run the check; returns the exit code (0 pass, 1 fault, 2 unusable input)."""
    from derive.activation_check.check import check_activation
    from derive.expr.parser import ParseError

    try:
        params = _params(args.param)
        report = check_activation(args.expr, derivative=args.derivative, params=params, seed=args.seed,
                                  time_limit=args.time_limit, network=not args.no_network)
    except ParseError as exc:
        which = "--derivative" if args.derivative is not None and exc.text == args.derivative else "EXPR"
        print(f"backprop-derive check-activation: error in {which}: {_one_line(exc)}", file=sys.stderr)
        return 2
    except BackpropDeriveError as exc:
        print(f"backprop-derive check-activation: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    out: Any = json.dumps(report.to_dict(), indent=2, allow_nan=False) if args.json else str(report)
    print(out)
    return 0 if report.ok else 1
