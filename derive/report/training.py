"""The report's training section and the ``train`` command's figure.

Renders a :class:`derive.train.TrainingResult`.  The loss values come from
float64 training through NumPy (and so BLAS); they are printed with four
significant digits, far coarser than the ~1e-16 relative differences a
different BLAS kernel or thread count makes, and the rounding-level
comparisons are printed as bounds with their verdicts, never as measured
digits.  Wall time is never printed here.
"""

from __future__ import annotations

from derive.report.escape import latex_escape
from derive.report.figures import fmt
from derive.report.layout import caption_table, sci
from derive.report.plots import figure, line_plot
from derive.train import FD_TOL, SAME_TOL, TrainingResult

__all__ = ["render_training", "loss_plot", "loss_csv", "DIGITS"]

DIGITS = 4  # significant digits of every printed loss


def _mark(ok: bool) -> str:
    return r"\ok{}" if ok else r"\failed{}"


def _pow(x: float) -> str:
    return sci(x)


def loss_plot(result: TrainingResult) -> str:
    """Both loss curves (derived solid, numeric dashed) on a log axis."""
    every = max(1, len(result.loss_derived) // 60)
    pts = lambda losses: [(str(e), fmt(v, DIGITS)) for e, v in enumerate(losses) if e % every == 0 or e == len(losses) - 1]  # noqa: E731
    return line_plot(
        [
            ("blue, very thick", "derived gradients (sympy, lambdified)", pts(result.loss_derived)),
            ("orange, thick, densely dashed", "hand-written gradients (\\texttt{numeric})", pts(result.loss_numeric)),
        ],
        xlabel="epoch (full-batch gradient-descent step)",
        ylabel="training cost $J$",
        log_y=True,
    )


def loss_csv(result: TrainingResult) -> str:
    """``epoch,loss_derived,loss_numeric`` with six significant digits."""
    lines = ["epoch,loss_derived,loss_numeric"]
    lines += [f"{e},{fmt(a, 6)},{fmt(b, 6)}" for e, (a, b) in enumerate(zip(result.loss_derived, result.loss_numeric))]
    return "\n".join(lines) + "\n"


def render_training(result: TrainingResult) -> str:
    """The section: data, set-up, both loss curves, held-out accuracy, gradient checks."""
    c = result.config
    n, p = c.hidden
    final = fmt(result.loss_derived[-1], DIGITS)
    rows = []
    for ck in result.checkpoints:
        when = "initialisation" if ck.epoch == 0 else ("end" if ck.epoch == c.epochs else "mid-training")
        rows.append(
            f"  {ck.epoch} ({when}) & ${fmt(ck.loss, DIGITS)}$ & {ck.saturated} of {ck.outputs} & {ck.fd_examples} & "
            f"{_mark(ck.derived_vs_numeric <= SAME_TOL)} & {_mark(ck.derived_vs_central <= FD_TOL)} & "
            f"{_mark(ck.numeric_vs_central <= FD_TOL)} \\\\"
        )
    table_body = (
        "\\begin{tabular}{@{}lrrrccc@{}}\\toprule\n"
        "  epoch & cost $J$ & saturated & central on & derived vs & derived vs & \\texttt{numeric} vs \\\\\n"
        "  & & outputs & examples & \\texttt{numeric} & central & central \\\\\\midrule\n" + "\n".join(rows) + "\n"
        f"  \\midrule tolerance & & & & ${_pow(SAME_TOL)}$ & ${_pow(FD_TOL)}$ & ${_pow(FD_TOL)}$ \\\\\n"
        "\\bottomrule\\end{tabular}"
    )
    same = result.max_loss_diff <= SAME_TOL * max(1.0, max(result.loss_derived))
    return "\n\n".join([
        "\\section{Training on handwritten digits}\\label{sec:training}",
        "The article's motivating task: tell a handwritten 0 from a 1. The data are the 360 images of 0s and 1s "
        "among the 8$\\times$8 digits of the UCI optical-recognition data set (E. Alpaydin and C. Kaynak, "
        "CC BY 4.0, in the copy scikit-learn ships; vendored with its attribution in "
        "\\texttt{derive/data}). Each pixel, 0 to 16, is divided by 16, so $d = 64$; every fourth image is held "
        f"out, leaving $m = {result.n_train}$ training and {result.n_test} held-out images. The network is the "
        f"one derived above with $n = {n}$, $p = {p}$, $q = 1$, $f$ = \\texttt{{{latex_escape(c.f)}}} and "
        f"$g$ = \\texttt{{{latex_escape(c.g)}}}, started from \\texttt{{numeric.init\\_params}} with seed {c.seed} "
        f"and trained by full-batch gradient descent: each parameter $\\theta$ (every $W_l$ and $b_l$) "
        f"becomes $\\theta - \\eta\\,\\mathrm{{d}}\\theta$, with its gradient $\\mathrm{{d}}\\theta$ over all "
        f"{result.n_train} training images and the learning rate $\\eta = {fmt(c.rate, 6)}$, for {c.epochs} epochs.",
        "Two runs start from the same parameters: one steps with the derived gradients (the lambdified "
        "formulas of Section~\\ref{sec:backward}), the other with the hand-written backprop of the package "
        "\\texttt{numeric}. Figure~\\ref{fig:training} shows both costs; "
        + f"{_mark(same)} they agree to within ${_pow(SAME_TOL)}$ at every epoch (rounding), "
        f"and at every step the two gradients agree to a relative ${_pow(SAME_TOL)}$ "
        f"({_mark(result.max_grad_diff <= SAME_TOL)}).",
        figure(
            loss_plot(result),
            f"Training cost $J$ per epoch on the {result.n_train} training images, with the derived and with "
            f"the hand-written gradients (printed to {DIGITS} significant digits; the curves lie on each other).",
            "fig:training",
        ),
        f"After {c.epochs} epochs the cost is ${final}$; the network classifies "
        f"{result.test_correct} of the {result.n_test} held-out images correctly "
        f"(output above $\\frac{{1}}{{2}}$ read as a 1) and {result.train_correct} of the {result.n_train} "
        f"training images; the run with the hand-written gradients classifies the held-out images the same way "
        f"({_mark(result.test_correct == result.test_correct_numeric)}).",
        "Table~\\ref{tab:training} checks the gradients at initialisation, mid-training and the end, where "
        "outputs saturate (an output within $10^{-4}$ of 0 or 1 counts as saturated) and most real bugs show: "
        "the derived gradient against \\texttt{numeric.backward}, and both against central differences of "
        "the cost, each as the largest max-norm relative error over the six gradients. The central differences "
        "use the training images whose hidden pre-activations all keep $10^{-3}$ from a kink of $f$ or $g$ "
        "(column ``central on''): a difference across a kink measures neither one-sided derivative.",
        caption_table(
            "Gradient checks during training, on the training set; each mark says whether the error stays "
            "below the tolerance of its column.",
            "tab:training",
            table_body,
        ),
    ])
