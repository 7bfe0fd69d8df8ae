"""``backprop-derive report``: write the LaTeX derivation report (and its PDF).

Wiring: ``derive.cli.COMMANDS`` lists :func:`register`.  Exit codes: 0 when
the report was written and every check passed, 1 when a check failed or the
LaTeX build failed (nothing is overwritten then), 2 for unusable input, 130
when interrupted (SIGINT/SIGTERM).  Every error message says what is on disk
afterwards.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


from derive.cli.options import seed

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
            "latexmk is installed. Defaults: f=swish, g=leaky_relu. With --activation, write the "
            "report of one custom activation instead."
        ),
    )
    p.add_argument("--f", metavar="NAME|EXPR", default="swish", help="first hidden activation (default swish)")
    p.add_argument("--g", metavar="NAME|EXPR", default="leaky_relu", help="second hidden activation (default leaky_relu)")
    p.add_argument("--activation", metavar="EXPR", help="write the report of one custom activation instead")
    p.add_argument("--out", metavar="DIR", default="reports", help="output directory (default reports/)")
    p.add_argument("--no-pdf", action="store_true", help="write the .tex only")
    p.add_argument("--seed", type=seed, default=0, help="seed of the numeric problems (default 0)")
    p.set_defaults(run=run_report)


def run_report(args: argparse.Namespace) -> int:
    """Run the ``report`` command; returns the exit code."""
    from derive.report.build import ReportError, latexmk_available, write_report

    out_dir = Path(args.out)
    start = time.perf_counter()
    if args.activation is not None:
        from derive.report.activation_report import activation_report

        stem, tex, ok, failures = activation_report(args.activation, progress=_progress)
    else:
        from derive.report.latex import render_network
        from derive.report.network import collect_network, report_name

        report = collect_network(args.f, args.g, seed=args.seed, progress=_progress)
        failures = report.failures()
        ok = not failures
        _progress("render: LaTeX text")
        tex = render_network(report)
        stem = report_name(args.f, args.g)
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
        print(f"backprop-derive: error: {exc}", file=sys.stderr)
        return 1
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
