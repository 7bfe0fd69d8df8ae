"""The verification, errata and figures sections of a description's report.

Part of :mod:`derive.report.general_tex` (which assembles the whole
document): the three proof levels with their tables, the article's errata
(only for the article's shape of network) and the activation figures.
Numbers printed are exact (widths, counts, seeds, tolerances) or pass marks.
"""

from __future__ import annotations

from derive.proof.index_form import INDEX_CHECK_SHAPE
from derive.report.general import GeneralReport
from derive.report.layout import caption_table, sci
from derive.report.plots import activation_panels, figure
from derive.report.sections import _g, _mark, _t, errata_tex
from derive.report.texprint import function_tex, tex
from derive.verify import TOLERANCES

__all__ = ["verification_section", "errata_section", "figures_section"]


def _shape_names(report: GeneralReport) -> str:
    return ", ".join([tex(report.symbolic.size(i)) for i in range(report.symbolic.depth + 1)] + ["m"])


def verification_section(report: GeneralReport) -> str:
    names = _shape_names(report)
    n_scalar = sum(len(d.steps) for d in report.head)
    n_chain = sum(len(c.lines) for c in report.chains)
    dims = ", ".join(f"{k}={v}" for k, v in INDEX_CHECK_SHAPE.items())
    if report.index_forms and " at " in report.index_forms[0].check:  # where C's forms were checked
        dims = report.index_forms[0].check.rsplit(" at ", 1)[-1].strip("()")
    grads = [c.name for c in report.chains if not c.name.startswith("dA")]
    assumptions = sorted({a for p in report.proofs for a in p.assumptions})
    rows = "\n".join(
        f"  $({', '.join(str(v) for v in p.shape.values())})$ & {p.entries} & {_mark(p.ok)} \\\\"
        for p in report.proofs)
    level1 = caption_table(
        f"Level 1: the exact proofs, one per shape $({names})$; entries compared over every "
        f"$\\mathrm{{d}}Z_l$, $\\mathrm{{d}}W_l$ and $\\mathrm{{d}}b_l$ ({len(grads)} matrices).",
        "tab:level1",
        f"\\begin{{tabular}}{{@{{}}lrl@{{}}}}\\toprule\n  $({names})$ & entries compared & result \\\\\\midrule\n"
        + rows + "\n\\bottomrule\\end{tabular}",
    )
    comparisons = list(report.numeric[0].errors) if report.numeric else []
    lines = []
    for gname in report.network.gradient_names():
        cells = [_mark(all(chk.errors[c][gname] <= TOLERANCES[c] for chk in report.numeric if c in chk.errors))
                 for c in comparisons]
        lines.append(f"  ${_g(gname)}$ & " + " & ".join(cells) + " \\\\")
    tol = " & ".join(f"${sci(TOLERANCES[c])}$" for c in comparisons)
    level3 = caption_table(
        "Level 3: for each gradient, whether the max-norm relative error stays below the tolerance at every "
        "shape. The errors themselves are rounding-sized and their last digits depend on the BLAS kernel and "
        "thread count, so they are not printed here (\\texttt{backprop-derive verify} prints them).",
        "tab:numeric",
        "\\begin{tabular}{@{}l" + ">{\\centering\\arraybackslash}p{3.3cm}" * len(comparisons) + "@{}}\\toprule\n"
        f"  gradient & {' & '.join(_t(c) for c in comparisons)} \\\\\\midrule\n" + "\n".join(lines) + "\n"
        f"  \\midrule tolerance & {tol} \\\\\n\\bottomrule\\end{{tabular}}",
    )
    shapes = "; ".join(f"$i = {i}$: $({', '.join(str(s) for s in c.shape)})$" for i, c in enumerate(report.numeric))
    funcs = ", ".join(f"${function_tex(f)}$" for f in report.symbolic.activations)
    undefined = (f"the activations {funcs} are \\emph{{undefined}} functions (so the proof holds for every "
                 "differentiable activation), " if funcs else "")
    assumed = (" The proof assumes " + "; ".join(_t(a) for a in assumptions)
               + ": the last row of $Y$ is written as 1 minus the sum of the others.") if assumptions else ""
    own, own_note = tuple(report.network.widths), ""
    if not any(tuple(c.shape[:-1]) == own for c in report.numeric):
        own_note = (f" The network's own widths $({', '.join(map(str, own))})$ are not drawn: a layer has more than "
                   "64 weights, the limit of the numeric checks, so the problems have small widths of the same "
                   "depth; levels 1 and 2 cover every size.")
    complex_note = "" if "lambdified vs complex step" in comparisons else (
        " The complex step is not used: some activation is not analytic (a kink).")
    return "\n\n".join([
        "\\section{Verification}\\label{sec:verification}",
        "Proof levels, strongest first: exact at concrete shapes (level 1), shape-generic in index notation "
        "(level 2), numeric (level 3).",
        "\\subsection{The steps on the page}",
        "\\begin{itemize}\n"
        f"\\item {_mark(all(d.ok for d in report.head))} The scalar facts of Section~\\ref{{sec:head}}: "
        f"{n_scalar} steps, each an equality that sympy checks.\n"
        f"\\item {_mark(all(c.ok for c in report.chains))} The matrix-form chains of "
        f"Section~\\ref{{sec:backward}}: {n_chain} lines; each substitution redone by sympy and each chain "
        "ends at the derived formula.\n"
        f"\\item {_mark(all(r.ok for r in report.index_forms))} The index forms of "
        + ", ".join(f"${_g(r.name)}$" for r in report.index_forms)
        + f": equal to the matrix forms entry by entry, exactly, at $({dims})$.\n\\end{{itemize}}",
        "\\subsection{Level 1: exact at concrete shapes}",
        f"{_mark(all(p.ok for p in report.proofs))} For every gradient: every entry of every matrix is a sympy "
        f"symbol, {undefined}and sympy's \\texttt{{diff}} of the cost minus the formula expands to exactly 0, "
        "at each shape of Table~\\ref{tab:level1} (small widths of the same depth, all different, so that a "
        f"missing transpose or mean cannot hide).{assumed}",
        level1,
        "\\subsection{Level 2: shape-generic}",
        f"{_mark(all(r.ok for r in report.rules))} The {len(report.rules)} backward rules of "
        "Section~\\ref{sec:rules} (the affine and elementwise rules, the head's"
        + (" and the L2 term's" if report.network.l2 else "") + "), for symbolic sizes, with sympy's "
        "\\texttt{diff} and the Kronecker delta $\\delta$; with the chain rule they cover every size and depth.",
        "\\subsection{Level 3: numeric}",
        f"{_mark(all(c.ok for c in report.numeric))} The lambdified formulas against the hand-written NumPy "
        "backprop (package \\texttt{numeric}, which never imports sympy), central differences and the complex "
        f"step, in float64. The report's seed is $s = {report.seed}$; the problem of shape number $i$ draws its "
        f"parameters, inputs and targets with seed $s + i$, where {shapes} as $({names})$."
        f"{own_note}{complex_note} Table~\\ref{{tab:numeric}} gives the verdicts.",
        level3,
    ])


def errata_section(report: GeneralReport) -> str:
    return errata_tex("This network has the article's shape (two hidden layers, sigmoid with mean binary "
                      "cross-entropy), so the article's errata apply. Each formula as the article prints it, the "
                      "project's verdict, and a counterexample the project computes.", report.errata)


def figures_section(report: GeneralReport) -> str:
    out = ["\\section{Figures}\\label{sec:figures}"]
    for n, (roles, info) in enumerate(report.activations, start=1):
        role = function_tex(roles[0])
        out.append(figure(
            activation_panels(role, report.curves[info.name]),
            f"${role}$ = \\texttt{{{_t(info.name)}}} and its derivative ${role}'$, sampled from the sympy "
            "expressions of Section~\\ref{sec:activations} (evaluated with mpmath); a jump of the derivative at a "
            "kink is drawn as a jump.",
            f"fig:activation-{n}",
        ))
    return "\n\n".join(out)
