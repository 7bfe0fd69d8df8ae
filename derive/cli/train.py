"""``backprop-derive train``: train the article's network on handwritten 0s and 1s.

Trains twice from one start, with the sympy-derived gradients and with the
hand-written ``numeric.backward`` (see :mod:`derive.train`), shows a
progress bar on stderr, and writes the loss curve as ``DIR/train-F-G.csv``
and as a pgfplots figure ``DIR/train-F-G.pdf`` (built with the report's
LaTeX machinery; skipped, and said so, without latexmk).

Wiring: ``derive.cli.COMMANDS`` lists :func:`register`.  Exit codes: 0 when
training ran and every gradient check held, 1 when a check failed or a file
could not be written, 2 for unusable options, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from derive.cli.options import int_list, positive_float, positive_int, seed

__all__ = ["register", "run_train"]

_BAR = 30


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand to the CLI's subparsers."""
    p = sub.add_parser(
        "train",
        help="train the article's network on handwritten 0s and 1s with the derived gradients",
        description=(
            "Train the article's network (8x8 digits, d = 64) to tell a handwritten 0 from a 1, twice from "
            "the same start: with the sympy-derived gradients and with the hand-written numeric.backward. "
            "Checks that the two agree at every step and against central differences at the start, the "
            "middle and the end; writes the loss curve as DIR/train-F-G.csv and DIR/train-F-G.pdf. "
            "The default run takes a few seconds."
        ),
    )
    p.add_argument("--f", metavar="NAME", default="swish", help="first hidden activation (default swish)")
    p.add_argument("--g", metavar="NAME", default="leaky_relu", help="second hidden activation (default leaky_relu)")
    p.add_argument("--hidden", metavar="N,P", type=int_list, default=[16, 8], help="hidden widths (default 16,8)")
    p.add_argument("--epochs", metavar="K", type=positive_int, default=60, help="gradient-descent steps (default 60)")
    p.add_argument("--rate", metavar="ETA", type=positive_float, default=0.5, help="learning rate (default 0.5)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the initial parameters (default 0)")
    p.add_argument("--out", metavar="DIR", default="reports", help="output directory (default reports/)")
    p.add_argument("--no-pdf", action="store_true", help="write the CSV only")
    p.set_defaults(run=run_train)


class _Bar:
    """A one-line progress bar on stderr (a line per tenth when stderr is not a terminal)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.shown = -1

    def __call__(self, epoch: int, epochs: int, loss: float) -> None:
        done = int(_BAR * epoch / epochs)
        text = f"[backprop-derive] train: [{'#' * done}{'.' * (_BAR - done)}] {epoch}/{epochs} epochs, cost {loss:.4g}"
        if self.tty:
            print("\r" + text, end="\n" if epoch == epochs else "", file=sys.stderr, flush=True)
        elif epoch * 10 // epochs != self.shown:
            self.shown = epoch * 10 // epochs
            print(text, file=sys.stderr, flush=True)


def _on_disk(written: list[Path]) -> str:
    if not written:
        return "nothing was written (earlier files are unchanged)"
    return "written before that: " + ", ".join(str(p) for p in written) + " (other earlier files are unchanged)"


def run_train(args: argparse.Namespace) -> int:
    """Run the ``train`` command; returns the exit code."""
    from derive.report.build import ReportError, atomic_write, build_pdf, latexmk_available
    from derive.report.plots import standalone
    from derive.report.training import DIGITS, loss_csv, loss_plot
    from derive.train import TrainConfig, train
    from derive.verify import progress
    from numeric.errors import InputError

    if len(args.hidden) != 2:
        raise InputError(f"--hidden takes two widths N,P, got {len(args.hidden)}")
    config = TrainConfig(hidden=(args.hidden[0], args.hidden[1]), f=args.f, g=args.g, epochs=args.epochs,
                         rate=args.rate, seed=args.seed)
    out_dir = Path(args.out)
    stem = f"train-{args.f}-{args.g}"
    start = time.perf_counter()
    written: list[Path] = []
    progress(f"train: {config.epochs} epochs on the 0-vs-1 digits, derived and hand-written gradients")
    try:
        result = train(config, progress=_Bar())
        csv_path = out_dir / f"{stem}.csv"
        atomic_write(csv_path, loss_csv(result))
        written.append(csv_path)
        pdf = not args.no_pdf and latexmk_available()
        if not args.no_pdf and not pdf:
            progress("figure: skipped, latexmk is not installed (wrote the CSV only)")
        if pdf:
            progress(f"figure: latexmk -pdf {stem}.tex")
            from derive.report.escape import latex_escape

            title = f"Training cost: f = {latex_escape(args.f)}, g = {latex_escape(args.g)}"
            pdf_bytes, _ = build_pdf(standalone(loss_plot(result), title=title), stem)
            atomic_write(out_dir / f"{stem}.pdf", pdf_bytes)
            written.append(out_dir / f"{stem}.pdf")
    except ReportError as exc:
        print(f"backprop-derive: error: {exc}; {_on_disk(written)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"backprop-derive: interrupted; {_on_disk(written)}", file=sys.stderr)
        return 130
    last = result.checkpoints[-1]
    print(f"epochs {config.epochs}; final cost {result.loss_derived[-1]:.{DIGITS}g} (hand-written: "
          f"{result.loss_numeric[-1]:.{DIGITS}g}); held-out accuracy {result.test_correct}/{result.n_test}; "
          f"training accuracy {result.train_correct}/{result.n_train}")
    print(f"derived vs hand-written gradients, largest relative difference over the run: "
          f"{'below 1e-12' if result.max_grad_diff <= 1e-12 else f'{result.max_grad_diff:.1e} FAILED'}")
    for c in result.checkpoints:
        verdict = "ok" if c.ok else "FAILED"
        print(f"gradient check at epoch {c.epoch}: {c.saturated}/{c.outputs} outputs saturated; {verdict}")
    for path in written:
        print(path)
    progress(f"done in {time.perf_counter() - start:.1f} s (measured max |derived - numeric| relative "
             f"{result.max_grad_diff:.1e}, derived vs central at the end {last.derived_vs_central:.1e})")
    failures = result.failures()
    if failures:
        print("backprop-derive: error: " + "; ".join(failures), file=sys.stderr)
        return 1
    return 0
