"""``backprop-derive check-backprop module:function``: check a user's backward.

Exit codes: 0 when the backward is right, 1 when check_backprop finds a bug
(including a call, or the import of the user's module, that raised, exited,
hung past ``--call-limit`` or crashed), 2 for unusable input (no such
module, file or function, a function that cannot be called as
``backward(params, X, Y)``, code in another layout than ``--layout``, an
unknown activation, a bad option...), with one line on stderr saying what
is wrong.  The user's module is imported in the checker's child process,
never in the command's own, so an exit or a crash at import time cannot end
the command.

Example:
    $ backprop-derive check-backprop mynet:backward --f relu --g tanh
    $ backprop-derive check-backprop path/to/mynet.py:Net.backward --json
    $ backprop-derive check-backprop cs231n_net:backward --layout rows --params pairs
    $ backprop-derive check-backprop mnist:backward --widths 784,128,10 --activations relu --head softmax-ce --l2 0.01
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any, Callable

from derive.cli import options
from numeric.errors import InputError

__all__ = ["register", "load_target", "run", "network_from_args"]

# the choices of derive.backprop_check.layout, spelled here so that building the parser
# (--help) imports no sympy; tests/cli/test_check_backprop_cli.py keeps them equal
LAYOUTS = ("columns", "rows", "linear")
PARAMS_AS = ("dict", "pairs")
DTYPES = ("float64", "float32")
# numeric.Network's names, spelled here for the same reason (the CLI test keeps them equal)
HEADS = ("sigmoid-bce", "softmax-ce", "identity-mse", "sigmoid-mse")
REDUCTIONS = ("mean", "sum")
MSE_CONVENTIONS = ("half", "torch")
L2_CONVENTIONS = ("lambda/2m", "lambda/2")
_DESCRIPTION = options.DESCRIPTION_OPTIONS


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``check-backprop`` subcommand to the CLI's subparsers."""
    p = sub.add_parser(
        "check-backprop",
        help="check a hand-written backward(params, X, Y) against the derived gradients",
        description=(
            "Import FUNCTION from MODULE (a module name importable from the current directory, "
            "or a path to a .py file), call it as backward(params, X, Y) on fixed probes and "
            "hypothesis-drawn problems, and compare dW1 db1 dW2 db2 dW3 db3 (and dZ1..dZ3 when "
            "returned) with the sympy-derived gradients. Prints which gradients are wrong, every way each "
            "is wrong (worst first), where the chain diverges, and the smallest shape that shows it. The "
            "function runs (and its module is imported) in a child process. Exit 0: right; 1: a bug was "
            "found (including a call, or the module's import, that raised, exited, hung or crashed); 2: "
            "unusable input (no such module or function, code in another layout than --layout, a bad option). "
            "With --widths (and --activations, --head, ...) backward implements that network instead of the "
            "article's and returns dW1 db1 ... dWL dbL."
        ),
    )
    p.add_argument("target", metavar="MODULE:FUNCTION",
                   help="e.g. mynet:backward, mynet.py:backward or pkg.mod:Net.backward")
    p.add_argument("--f", default="swish", metavar="NAME", help="first hidden activation (default swish)")
    p.add_argument("--g", default="leaky_relu", metavar="NAME", help="second hidden activation (default leaky_relu)")
    net = p.add_argument_group(
        "any network (instead of the article's: backward then returns dW1 db1 ... dWL dbL)")
    net.add_argument("--widths", type=options.int_list, metavar="D,N,...,Q",
                     help="layer widths, input first and output last, e.g. 784,128,10; they fix the depth L "
                          "(the check draws many shapes of that depth, and one probe at these widths)")
    net.add_argument("--activations", metavar="NAME[,NAME...]",
                     help="hidden activations (catalog names): one for every hidden layer, or one per hidden "
                          "layer (default relu)")
    net.add_argument("--head", choices=HEADS, help="output layer and loss (default sigmoid-bce)")
    net.add_argument("--reduction", choices=REDUCTIONS, help="mean over the batch (default) or sum")
    net.add_argument("--mse-convention", choices=MSE_CONVENTIONS,
                     help="MSE heads: half = (1/2m) sum ||a - y||^2 (default), torch = mean over all entries "
                          "(MSELoss)")
    net.add_argument("--l2", type=options.finite_float, metavar="LAMBDA",
                     help="L2 weight decay lambda >= 0 (default 0; biases not regularised)")
    net.add_argument("--l2-convention", choices=L2_CONVENTIONS,
                     help="lambda/2m: J + (lambda/2m) sum ||W||^2 (default, deeplearning.ai); lambda/2: "
                          "J + (lambda/2) sum ||W||^2 (cs231n)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--max-examples", type=options.nonnegative_int, default=60, metavar="N",
                   help="hypothesis examples after the fixed probes (default 60)")
    p.add_argument("--seed", type=options.seed, default=0, help="seed of the search (default 0)")
    p.add_argument("--at-kinks", action="store_true",
                   help="also probe pre-activations exactly at the kinks (expects the left-hand derivative)")
    p.add_argument("--layout", choices=LAYOUTS, default="columns",
                   help="columns: X is (d, m), W @ X + b (the article's, default); rows: X is (m, d), X @ W + b "
                        "with W (d, n); linear: X is (m, d), X @ W.T + b with W (n, d) as in torch.nn.Linear")
    p.add_argument("--params", choices=PARAMS_AS, default="dict",
                   help="how backward takes the parameters: dict (W1 b1 ... W3 b3, default) or pairs "
                        "(a list of (W, b))")
    p.add_argument("--dtype", choices=DTYPES, default="float64",
                   help="dtype of the arrays given to backward; float32 also uses float32 tolerances")
    p.add_argument("--call-limit", type=options.positive_float, default=10.0, metavar="SECONDS",
                   help="seconds each call of backward may take; after the first time-out it is not "
                        "called again (default 10)")
    p.add_argument("--time-limit", type=options.positive_float, default=3.0, metavar="SECONDS",
                   help="seconds for the search and shrinking; only stops the search, loudly (default 3)")
    p.set_defaults(run=run)


def load_target(target: str) -> Callable[..., Any]:
    """The callable named by ``module:attr``; see :func:`derive.backprop_check.target.load_target`.

    The command itself never imports the user's module in its own process:
    it passes the text to the checker, whose child process imports it.

    Example:
        >>> load_target("numeric.network:backward").__name__
        'backward'
    """
    from derive.backprop_check.target import load_target as _load

    return _load(target)


def network_from_args(args: argparse.Namespace) -> Any:
    """The :class:`numeric.Network` the description options give, or None (the article's network)."""
    return options.network_from_args(args, example="784,128,10")


def run(args: argparse.Namespace) -> int:
    """Run the check for parsed ``args``; returns the exit code (0 ok, 1 bug, 2 unusable input)."""
    from derive.backprop_check.check import check_backprop

    module, sep, attr = args.target.rpartition(":")
    if not sep or not module or not attr:
        raise InputError(f"expected MODULE:FUNCTION (e.g. mynet:backward), got {args.target!r}")
    if (module.endswith(".py") or os.sep in module or "/" in module) and not Path(module).is_file():
        raise InputError(f"no such file: {module}")
    network = network_from_args(args)
    report = check_backprop(args.target, network=network, f=args.f, g=args.g, layout=args.layout, params_as=args.params,
                            dtype=args.dtype, max_examples=args.max_examples, seed=args.seed,
                            at_kinks=args.at_kinks, call_limit=args.call_limit, time_limit=args.time_limit)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, allow_nan=False))
    else:
        print(report)
    return 0 if report.ok else 1
