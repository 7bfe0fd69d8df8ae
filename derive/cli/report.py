"""``backprop-derive report``: write the LaTeX derivation report (and its PDF).

Wiring: ``derive.cli.COMMANDS`` lists :func:`register`.  Exit codes: 0 when
the report was written and every check passed, 1 when a check failed or the
LaTeX build failed (nothing is overwritten then), 2 for unusable input (a
bare activation name outside the catalog, an output folder that cannot hold
the report), 130 when interrupted (SIGINT/SIGTERM).  Every error message says
what is on disk afterwards.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


from derive.cli import options
from derive.cli.options import finite_float, int_list, seed

# description options: head, reduction and conventions as numeric.Network names them
_HEADS = ("sigmoid-bce", "softmax-ce", "identity-mse", "sigmoid-mse")
_REDUCTIONS = ("mean", "sum")
_MSE = ("half", "torch")
_L2 = ("lambda/2m", "lambda/2")

__all__ = ["register", "run_report"]


def _progress(msg: str) -> None:
    from derive.verify import progress

    progress(msg)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand to the CLI's subparsers."""
    p = sub.add_parser(
        "report",
        help="write a LaTeX derivation report (and its PDF when latexmk is installed)",
        description=(
            "Derive, prove and check the gradients of the article's 3-layer network and write "
            "a step-by-step LaTeX report, DIR/network-F-G.tex, compiled to PDF beside it when "
            "latexmk is installed. Defaults: f=swish, g=leaky_relu. With --widths (and --activations, "
            "--head, ...), write the report of that network instead, DIR/network-WIDTHS-ACTIVATIONS-HEAD.tex. "
            "With --activation, write the report of one custom activation."
        ),
    )
    p.add_argument("--f", metavar="NAME|EXPR", default="swish", help="first hidden activation (default swish)")
    p.add_argument("--g", metavar="NAME|EXPR", default="leaky_relu", help="second hidden activation (default leaky_relu)")
    p.add_argument("--activation", metavar="EXPR", help="write the report of one custom activation instead")
    net = p.add_argument_group("any network (the report of a description instead of the article's network)")
    net.add_argument("--widths", type=int_list, metavar="D,N,...,Q",
                     help="layer widths, input first and output last, e.g. 64,32,10 (needed for a description)")
    net.add_argument("--activations", metavar="NAME[,NAME...]",
                     help="hidden activations (catalog names): one for every hidden layer, or one per hidden layer "
                          "(default relu)")
    net.add_argument("--head", choices=_HEADS, help="output layer and loss (default sigmoid-bce)")
    net.add_argument("--reduction", choices=_REDUCTIONS, help="mean over the batch (default) or sum")
    net.add_argument("--mse-convention", choices=_MSE,
                     help="MSE heads: half = (1/2m) sum (A - Y)^2 (default), torch = mean over all entries (MSELoss)")
    net.add_argument("--l2", type=finite_float, metavar="LAMBDA", help="L2 weight decay rate lambda >= 0 (default 0)")
    net.add_argument("--l2-convention", choices=_L2,
                     help="L2 term (lambda/2m) sum ||W||^2 (default) or (lambda/2) sum ||W||^2 (cs231n)")
    p.add_argument("--out", metavar="DIR", default="reports", help="output directory (default reports/)")
    p.add_argument("--no-pdf", action="store_true", help="write the .tex only")
    p.add_argument("--seed", type=seed, default=0, help="seed of the numeric problems (default 0)")
    p.set_defaults(run=run_report)


_DESCRIPTION = options.DESCRIPTION_OPTIONS


def network_from_args(args: argparse.Namespace) -> object | None:
    """The :class:`numeric.Network` the description options give, or None
    when none is given (the article's report).

    Raises:
        InputError: options that do not make a description (one line, exit 2).
    """
    from numeric.errors import InputError

    given = [k for k in _DESCRIPTION if getattr(args, k, None) is not None]
    if not given:
        return None
    option = "--" + given[0].replace("_", "-")
    if args.activation is not None:
        raise InputError(f"--activation writes the report of one activation; it does not take {option}")
    net = options.network_from_args(args, example="64,32,10")
    from derive.report.general import catalog_network

    return catalog_network(net)


def run_report(args: argparse.Namespace) -> int:
    """Run the ``report`` command; returns the exit code.

    The names and the output folder are checked before any work: a bare
    --f/--g/--activation name outside the catalog, or an --out that cannot
    hold DIR/STEM.tex and .pdf, exits 2 at once.
    """
    from derive.report.build import OutputPathError, ReportError, check_output, latexmk_available, write_report

    out_dir = Path(args.out)
    start = time.perf_counter()
    network = network_from_args(args)
    if network is not None:
        from derive.report.general import collect_general, report_name_of
        from derive.report.general_tex import render_general

        stem = report_name_of(network, seed=args.seed)
        check_output(out_dir, stem)
        general = collect_general(network, seed=args.seed, progress=_progress)
        failures = general.failures()
        ok = not failures
        _progress("render: LaTeX text")
        tex = render_general(general)
    elif args.activation is not None:
        from derive.report.activation_report import activation_report, activation_stem
        from derive.report.network import resolve

        resolve(args.activation)
        check_output(out_dir, activation_stem(args.activation, seed=args.seed))
        stem, tex, ok, failures = activation_report(args.activation, seed=args.seed, progress=_progress)
    else:
        from derive.report.latex import render_network
        from derive.report.network import collect_network, report_name, resolve

        resolve(args.f), resolve(args.g)
        stem = report_name(args.f, args.g, seed=args.seed)
        check_output(out_dir, stem)
        report = collect_network(args.f, args.g, seed=args.seed, progress=_progress)
        failures = report.failures()
        ok = not failures
        _progress("render: LaTeX text")
        tex = render_network(report)
    if not ok:
        _progress("FAILED: " + "; ".join(failures))
        print(f"backprop-derive: error: checks failed, nothing written: {'; '.join(failures)}", file=sys.stderr)
        return 1
    pdf = not args.no_pdf and latexmk_available()
    if not args.no_pdf and not pdf:
        _progress("compile: skipped, latexmk is not installed (writing the .tex only)")
    elif pdf:
        _progress(f"compile: latexmk -pdf {stem}.tex")
    try:
        written = write_report(tex, out_dir, stem, pdf=pdf)
    except ReportError as exc:
        print(f"backprop-derive: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2 if isinstance(exc, OutputPathError) else 1
    except KeyboardInterrupt:
        from derive.report.pair import describe_pair

        print(f"backprop-derive: interrupted; {describe_pair(out_dir, stem)}", file=sys.stderr)
        return 130
    from derive.report.pair import StaleReportError, read_pair

    try:  # read back what is on disk, as every reader does
        read_pair(out_dir, stem)
    except StaleReportError as exc:
        print(f"backprop-derive: error: the report on disk does not check out after writing: {exc}", file=sys.stderr)
        return 1
    if written.removed_pdf:
        _progress(f"removed {out_dir / (stem + '.pdf')}: it showed an earlier .tex (--no-pdf run)")
    _progress(f"done in {time.perf_counter() - start:.1f} s")
    print(written.tex)
    if written.pdf is not None:
        print(written.pdf)
    return 0
