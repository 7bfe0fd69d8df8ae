"""``backprop-derive check-activation EXPR``: check a custom activation from the shell.

Exit codes: 0 when the check passes, 1 when it finds a fault, 2 for unusable
input, with one line on stderr that says what is wrong and where (the
column, for a string that does not parse).

Example:
    $ backprop-derive check-activation "x*tanh(softplus(x))" \\
          --derivative "tanh(softplus(x)) + x*sigmoid(x)*(1 - tanh(softplus(x))**2)"
    $ backprop-derive check-activation "x if x > 0 else alpha*x" --param alpha=0.2 --json
    $ backprop-derive check-activation swish --rtol 1e-8 --strict
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from derive.cli import options
from numeric.errors import BackpropDeriveError

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``check-activation`` subcommand to an argparse subparsers object."""
    p = sub.add_parser(
        "check-activation",
        help="check a custom activation, its derivative and backprop through it",
        description=(
            "Check an activation given as a catalog name or a formula in one variable (any name: "
            "z, x, t, ...), written as in Python/NumPy/PyTorch: + - * / ** ^, a if cond else b, "
            "where(cond, a, b), piecewise((a, cond), ..., (b, True)), conditions with < <= > >= == != "
            "and/or/not (or bracketed & |), functions exp log ln log1p expm1 sqrt, sin cos tan and "
            "inverses, sinh cosh tanh sech csch coth and inverses, erf erfc, abs sign floor ceil "
            "heaviside clip max min maximum minimum, every catalog name (leaky_relu(z, alpha=0.2)), "
            "with optional np./math./torch./F. prefixes. Checks its derivative, poles, jumps and kinks "
            "anywhere, a claimed derivative, and the network's gradients with it. "
            "Exit 0: pass (accuracy warnings are printed), 1: fault found, 2: unusable input."
        ),
    )
    p.add_argument("expr", metavar="EXPR", help="catalog name or formula, e.g. 'x*sigmoid(x)'")
    p.add_argument("--derivative", metavar="EXPR", help="the claimed derivative, in the same variable")
    p.add_argument("--param", metavar="NAME=VALUE", action="append", default=[],
                   help="a named parameter, e.g. --param alpha=0.1 (repeatable)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--seed", type=options.seed, default=0, help="seed of the random points and networks (default 0)")
    p.add_argument("--time-limit", type=options.positive_float, default=5.0, metavar="SECONDS",
                   help="safety net per symbolic step (default 5); the result never depends on it")
    p.add_argument("--rtol", type=_rtol, default=None, metavar="R",
                   help="relative tolerance of the NumPy checks (default 1e-6)")
    p.add_argument("--atol", type=_nonnegative_float, default=None, metavar="A",
                   help="absolute tolerance of the NumPy checks (default 1e-12 times f's scale)")
    p.add_argument("--strict", action="store_true", help="accuracy warnings count as faults (exit 1)")
    p.add_argument("--no-network", action="store_true", help="skip the end-to-end network check")
    p.add_argument("--torch", metavar="MODULE:NAME",
                   help="also check a PyTorch implementation, e.g. mypkg.acts:Isrlu.apply (needs the torch extra)")
    p.add_argument("--jax", metavar="MODULE:NAME",
                   help="also check a JAX implementation, e.g. mypkg.acts:isrlu (needs the jax extra)")
    p.add_argument("--call-limit", type=options.positive_float, default=60.0, metavar="SECONDS",
                   help="seconds each call of --torch/--jax code may take (default 60)")
    p.set_defaults(run=run)


def _rtol(text: str) -> float:
    value = options.finite_float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a relative tolerance in (0, 1) such as 1e-6, got {text.strip()!r}")
    return value


def _nonnegative_float(text: str) -> float:
    value = options.finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text.strip()!r}")
    return value


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
        if args.torch or args.jax:
            from derive.backprop_check.target import load_target  # the user's module is imported only then

            torch_fn = load_target(args.torch) if args.torch else None
            jax_fn = load_target(args.jax) if args.jax else None
        else:
            torch_fn = jax_fn = None
        report = check_activation(args.expr, derivative=args.derivative, params=params, seed=args.seed,
                                  time_limit=args.time_limit, network=not args.no_network,
                                  rtol=args.rtol, atol=args.atol, strict=args.strict,
                                  torch_function=torch_fn, jax_function=jax_fn, call_limit=args.call_limit)
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
