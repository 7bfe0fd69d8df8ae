"""``backprop-derive verify``: derive, prove (levels 1 and 2) and check the gradients as text."""

from __future__ import annotations

import argparse

from derive.cli.options import seed as seed_type
from numeric.errors import BackpropDeriveError

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
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
    p.add_argument("--seed", type=seed_type, default=0, help="seed of the random problems (default 0)")
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
