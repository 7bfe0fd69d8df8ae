"""The report's later sections: verification, training, errata, figures.

Pure rendering, like :mod:`derive.report.latex`.  The only numbers printed
are exact (counts, shapes, seeds, tolerances) or computed in fixed-order
arithmetic (the step-size sweep, the training run); measurements that go
through BLAS (the numeric comparisons of level 3) are shown as pass/fail
against their tolerance, because their last digits depend on the CPU kernel
and the thread count.
"""

from __future__ import annotations

from typing import Any, Sequence

from sympy.matrices.expressions import MatrixSymbol

from derive.proof.index_form import INDEX_CHECK_SHAPE
from derive.report.errata import Erratum
from derive.report.escape import latex_escape
from derive.report.layout import align, caption_table, sci
from derive.report.network import NetworkReport
from derive.report.plots import activation_panels, figure, sweep_plot
from derive.report.texprint import tex
from derive.verify import TOLERANCES

__all__ = ["verification_section", "errata_section", "figures_section", "training_section", "sci"]


def _t(text: str) -> str:
    return latex_escape(text)


def _mark(ok: bool | None) -> str:
    return r"\ok{}" if ok else r"\failed{}"


def _g(name: str) -> str:
    return tex(MatrixSymbol(name, 1, 1))


# ------------------------------------------------------------ verification
def _proof_table(report: NetworkReport) -> str:
    rows = []
    for p in report.proofs:
        dims = ", ".join(str(v) for v in p.shape.values())
        rows.append(f"  $({dims})$ & {p.entries} & {_mark(p.ok)} \\\\")
    return caption_table(
        "Level 1: the exact proofs, one per shape $(d, n, p, q, m)$; entries compared over all six gradients.",
        "tab:level1",
        "\\begin{tabular}{@{}lrl@{}}\\toprule\n  $(d, n, p, q, m)$ & entries compared & result \\\\\\midrule\n"
        + "\n".join(rows) + "\n\\bottomrule\\end{tabular}",
    )


def _numeric_table(report: NetworkReport) -> str:
    comparisons = list(report.numeric[0].errors) if report.numeric else []
    grads = list(report.numeric[0].errors[comparisons[0]]) if comparisons else []
    lines = []
    for gname in grads:
        cells = [_mark(all(chk.errors[c][gname] <= TOLERANCES[c] for chk in report.numeric)) for c in comparisons]
        lines.append(f"  ${_g(gname)}$ & " + " & ".join(cells) + " \\\\")
    tol = " & ".join(f"${sci(TOLERANCES[c])}$" for c in comparisons)
    head = " & ".join(_t(c) for c in comparisons)
    return caption_table(
        "Level 3: for each gradient, whether the max-norm relative error stays below the tolerance at every "
        "shape. The errors themselves are rounding-sized and their last digits depend on the BLAS kernel and "
        "thread count, so they are not printed here (\\texttt{backprop-derive verify} prints them).",
        "tab:numeric",
        "\\begin{tabular}{@{}l" + ">{\\centering\\arraybackslash}p{3.3cm}" * len(comparisons) + "@{}}\\toprule\n"
        f"  gradient & {head} \\\\\\midrule\n" + "\n".join(lines) + "\n"
        f"  \\midrule tolerance & {tol} \\\\\n\\bottomrule\\end{{tabular}}",
    )


def verification_section(report: NetworkReport) -> str:
    """Proof levels 1-3, each with its evidence right after its statement."""
    n_scalar = sum(len(d.steps) for d in report.scalar)
    n_chain = sum(len(c.lines) for c in report.chains)
    dims = ", ".join(f"{k}={v}" for k, v in INDEX_CHECK_SHAPE.items())
    level1 = [c.name for c in report.chains if not c.name.startswith("dA")]
    shapes = "; ".join(
        f"$i = {i}$: $({', '.join(str(s) for s in chk.shape)})$" for i, chk in enumerate(report.numeric)
    )
    out = [
        "\\section{Verification}\\label{sec:verification}",
        "Proof levels, strongest first: exact at concrete shapes (level 1), shape-generic in index notation "
        "(level 2), numeric (level 3).",
        "\\subsection{The steps on the page}",
        "\\begin{itemize}\n"
        f"\\item {_mark(all(d.ok for d in report.scalar))} The scalar facts (Sections~\\ref{{sec:sigmoid}} "
        f"and~\\ref{{sec:bce}}): {n_scalar} steps, each an equality that sympy reduces to 0.\n"
        f"\\item {_mark(all(c.ok for c in report.chains))} The matrix-form chains of "
        f"Section~\\ref{{sec:backward}}: {n_chain} lines; each substitution redone by sympy and each chain "
        "ends at the derived formula.\n"
        f"\\item {_mark(all(r.ok for r in report.index_forms))} The index forms of "
        + ", ".join(f"${_g(r.name)}$" for r in report.index_forms)
        + f": equal to the matrix forms entry by entry, exactly, at $({dims})$.\n\\end{{itemize}}",
        "\\subsection{Level 1: exact at concrete shapes}",
        f"{_mark(all(p.ok for p in report.proofs))} For "
        + ", ".join(f"${_g(n)}$" for n in level1)
        + ": every entry of every matrix is a sympy symbol, $f$ and $g$ are \\emph{undefined} functions "
        "(so the proof holds for every differentiable activation), and sympy's \\texttt{diff} of the cost "
        "minus the formula expands to exactly 0, at each shape of Table~\\ref{tab:level1}.",
        _proof_table(report),
        "\\subsection{Level 2: shape-generic}",
        f"{_mark(all(r.ok for r in report.rules))} The five backward rules in index form "
        "(Section~\\ref{sec:rules}), for symbolic sizes, with sympy's \\texttt{diff} and "
        "the Kronecker delta $\\delta$; with the chain rule they cover every size.",
        "\\subsection{Level 3: numeric}",
        f"{_mark(all(c.ok for c in report.numeric))} For $f$ = \\texttt{{{_t(report.f.name)}}}, "
        f"$g$ = \\texttt{{{_t(report.g.name)}}}: the lambdified formulas against the hand-written NumPy "
        "backprop (package \\texttt{numeric}, which never imports sympy), central differences and the complex "
        f"step, in float64. The report's seed is $s = {report.seed}$; the problem of shape number $i$ draws its "
        f"parameters, inputs and 0/1 targets with seed $s + i$, where {shapes} as $(d, n, p, q, m)$. "
        "Table~\\ref{tab:numeric} gives the verdicts.",
        _numeric_table(report),
    ]
    if report.custom:
        out.append(
            "The activations are not in the catalog, so the hand-written backprop runs on the lambdified "
            "activation and its derivative, and the complex step is not used."
        )
    if report.sweep is not None:
        out.append(
            f"{_mark(report.sweep.lambdified_ok)} The lambdified gradient also agrees with the 40-digit reference "
            "of Figure~\\ref{fig:steps} to a relative $10^{-9}$."
        )
    return "\n\n".join(out)


# ----------------------------------------------------------------- errata
def render_erratum(e: Erratum, number: int) -> str:
    """One erratum: the printed formula, the verdict, the computed evidence."""
    out = [f"\\subsection{{{_t(e.title)}: {e.verdict}}}"]
    out.append(f"As printed: \\texttt{{{_t(e.printed)}}}")
    if e.printed_expr is not None and e.correct_expr is not None:
        out.append(align([("\\text{printed}", e.printed_expr, None), ("\\text{correct}", e.correct_expr, None)]))
    rows = "\n".join(f"  {_t(k)} & \\texttt{{{_t(v)}}} \\\\" for k, v in e.evidence)
    out.append(caption_table(
        f"Erratum {number}: what the project computes.", f"tab:erratum-{number}",
        "\\begin{tabular}{@{}>{\\raggedright\\arraybackslash}p{0.56\\linewidth}"
        ">{\\raggedright\\arraybackslash}p{0.38\\linewidth}@{}}\\toprule\n"
        "  computed by the project & value \\\\\\midrule\n" + rows + "\n\\bottomrule\\end{tabular}",
    ))
    out.append(f"\\checked{{{_mark(e.ok)} the computation shows what the verdict says.}}")
    return "\n".join(out)


def errata_tex(intro: str, errata: Sequence[Erratum]) -> str:
    """The errata section: ``intro``, then each erratum rendered (both kinds of report)."""
    return ("\\section{Errata of the source article}\\label{sec:errata}\n" + intro + "\n"
            + "\n\n".join(render_erratum(e, i) for i, e in enumerate(errata, start=1)))


def errata_section(report: NetworkReport) -> str:
    return errata_tex("Each formula as the article prints it, the project's verdict, and a counterexample the "
                      "project computes (sympy for identities, float64 for rounding).", report.errata)


# ---------------------------------------------------------------- figures
def figures_section(report: NetworkReport) -> str:
    out = ["\\section{Figures}\\label{sec:figures}"]
    out.append(figure(
        activation_panels("f", report.curves["f"]) + "\n\n\\medskip\n" + activation_panels("g", report.curves["g"]),
        f"Top: $f$ = \\texttt{{{_t(report.f.name)}}} and its derivative $f'$. Bottom: $g$ = "
        f"\\texttt{{{_t(report.g.name)}}} and $g'$. Sampled from the sympy expressions of "
        "Section~\\ref{sec:activations} (evaluated with mpmath); a jump of the derivative at a kink is drawn "
        "as a jump.",
        "fig:activations",
    ))
    s = report.sweep
    if s is None:
        out.append("No step-size figure: every entry of the gradient of the sweep's problem is exactly 0, so "
                   "a relative error is undefined.")
    else:
        entry = f"(\\mathrm{{d}}{s.param[0]}_{{{s.param[1:]}}})_{{{s.index[0] + 1}{s.index[1] + 1}}}"
        shape = ", ".join(str(x) for x in s.shape)
        h, err = s.best
        cs = ("; the complex step $\\operatorname{Im} J(\\theta + i h)/h$, with $\\theta$ the swept entry and "
              "$i^2 = -1$, has no subtraction and stays at "
              "rounding level") if s.complex is not None else ""
        out.append(figure(
            sweep_plot(s),
            f"Relative error of the largest gradient entry, ${entry} = {s.exact}\\ldots$, against the step $h$ "
            "(forward difference $(J(\\theta + h) - J(\\theta))/h$, central $(J(\\theta + h) - J(\\theta - h))/(2h)$), "
            f"at $(d, n, p, q, m) = ({shape})$, seed {s.seed}. The differences are computed in 53-bit (float64) "
            "arithmetic in a fixed order (mpmath), the reference is the derivative at 40 significant digits, "
            "so the figure is the same on every machine. Truncation error falls as $h$ (forward) or $h^2$ "
            "(central) until rounding, of relative size $\\varepsilon/h$ with $\\varepsilon = 2^{-52}$, takes "
            f"over{cs}. Best central difference: ${sci(err)}$ at $h = {sci(h)}$ (dashed line). "
            "Errors of exactly 0 are drawn at $10^{-17}$.",
            "fig:steps",
        ))
    return "\n\n".join(out)


def training_section(training: Any) -> str:
    """The digits section (rendered by :mod:`derive.report.training`)."""
    from derive.report.training import render_training

    return render_training(training)
