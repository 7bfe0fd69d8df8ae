"""``backprop-derive check-backprop module:function``: check a user's backward.

Exit codes: 0 when the backward is right, 1 when check_backprop finds a bug,
2 for unusable input (the target cannot be imported or called, an unknown
activation...), with one line on stderr saying what is wrong.

Example:
    $ backprop-derive check-backprop mynet:backward --f relu --g tanh
    $ backprop-derive check-backprop path/to/mynet.py:Net.backward --json
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

from derive.cli import options
from numeric.errors import InputError

__all__ = ["register", "load_target", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``check-backprop`` subcommand to the CLI's subparsers."""
    p = sub.add_parser(
        "check-backprop",
        help="check a hand-written backward(params, X, Y) against the derived gradients",
        description=(
            "Import FUNCTION from MODULE (a module name importable from the current directory, "
            "or a path to a .py file), call it as backward(params, X, Y) on fixed probes and "
            "hypothesis-drawn problems, and compare dW1 db1 dW2 db2 dW3 db3 (and dZ1..dZ3 when "
            "returned) with the sympy-derived gradients. Prints which gradients are wrong, how, "
            "and the smallest shape that shows it. Exit 0: right; 1: a bug was found; 2: unusable input."
        ),
    )
    p.add_argument("target", metavar="MODULE:FUNCTION",
                   help="e.g. mynet:backward, mynet.py:backward or pkg.mod:Net.backward")
    p.add_argument("--f", default="swish", metavar="NAME", help="first hidden activation (default swish)")
    p.add_argument("--g", default="leaky_relu", metavar="NAME", help="second hidden activation (default leaky_relu)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--max-examples", type=options.nonnegative_int, default=60, metavar="N",
                   help="hypothesis examples after the fixed probes (default 60)")
    p.add_argument("--seed", type=options.seed, default=0, help="seed of the search (default 0)")
    p.add_argument("--at-kinks", action="store_true",
                   help="also probe pre-activations exactly at the kinks (expects the left-hand derivative)")
    p.set_defaults(run=run)


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def load_target(target: str) -> Callable[..., Any]:
    """The callable named by ``module:attr`` (``attr`` may be dotted).

    ``module`` is a module name, importable with the current directory on
    ``sys.path``, or a path to a ``.py`` file.

    Raises:
        InputError: bad syntax, import failure, missing attribute, or not callable.

    Example:
        >>> load_target("numeric.network:backward").__name__
        'backward'
    """
    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        raise InputError(f"expected MODULE:FUNCTION (e.g. mynet:backward), got {target!r}")
    try:
        if module_name.endswith(".py") or os.sep in module_name or "/" in module_name:
            path = Path(module_name)
            if not path.is_file():
                raise InputError(f"no such file: {module_name}")
            spec = importlib.util.spec_from_file_location(f"_backprop_target_{path.stem}", path)
            if spec is None or spec.loader is None:
                raise InputError(f"cannot load {module_name} as a Python module")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path and "" not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any import-time failure is unusable input
        raise InputError(f"cannot import {module_name!r}: {_one_line(exc)}") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise InputError(f"{module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise InputError(f"{target} is a {type(obj).__name__}, not a function")
    return obj


def run(args: argparse.Namespace) -> int:
    """Run the check for parsed ``args``; returns the exit code (0 ok, 1 bug)."""
    from derive.backprop_check.check import check_backprop

    backward = load_target(args.target)
    report = check_backprop(backward, f=args.f, g=args.g, max_examples=args.max_examples, seed=args.seed,
                            at_kinks=args.at_kinks)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report)
    return 0 if report.ok else 1
