"""Pure rendering: checked sympy objects in, the report's LaTeX text out.

Nothing here computes or checks anything; every displayed equation is
printed from a sympy object that :mod:`derive.report.network` (or the
modules it calls) has checked, and each comes with the text saying how.
Plain text from outside the project (activation names and expressions)
always goes through :func:`derive.report.escape.latex_escape`.

Values that depend on floating point (relative errors, plotted numbers) are
printed as ``\\meas{...}`` or between ``% measured-begin`` and
``% measured-end`` lines, so a staleness check can compare the generator's
text without depending on the machine's rounding.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import sympy as sp
from sympy.matrices.expressions import MatrixSymbol

from derive.chain import ARTICLE, Network
from derive.report.activation_info import ActivationInfo, a
from derive.report.errata import Erratum, bce_terms
from derive.report.escape import latex_escape
from derive.report.figures import Curve, StepSweep
from derive.proof.index_form import INDEX_CHECK_SHAPE, IndexEquation
from derive.report.matrix_chain import MatrixChain
from derive.report.network import NetworkReport
from derive.report.texprint import Grad, align_rows, tex, tex_shape, tex_shapes
from derive.steps import Derivation
from derive.verify import TOLERANCES

__all__ = [
    "PREAMBLE",
    "render_network",
    "render_derivation",
    "render_chain",
    "render_index",
    "render_activation_section",
    "render_numeric_table",
    "render_erratum",
    "document",
]

MEASURED_BEGIN = "% measured-begin"
MEASURED_END = "% measured-end"
_WIDTH = 62  # glyphs per displayed line before it is broken

PREAMBLE = r"""\documentclass[10pt,a4paper]{article}
\usepackage[T1]{fontenc}
\usepackage{lmodern}
\usepackage[margin=2.2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{booktabs}
\usepackage{array}
\usepackage{graphicx}
\usepackage{xcolor}
\usepackage{pgfplots}
\pgfplotsset{compat=1.18}
\usepackage[hidelinks,pdfcreator={backprop-derive},pdfproducer={backprop-derive}]{hyperref}
\ifdefined\pdftrailerid\pdftrailerid{}\fi
\newcommand{\meas}[1]{#1}
\newcommand{\checked}[1]{\par\noindent{\small\textit{Checked:} #1}\par\smallskip}
\newcommand{\fitline}[1]{\resizebox{\ifdim\width>0.8\linewidth 0.8\linewidth\else\width\fi}{!}{$\displaystyle #1$}}
\newcommand{\ok}{\textcolor{green!45!black}{\textbf{ok}}}
\newcommand{\failed}{\textcolor{red!75!black}{\textbf{FAILED}}}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.45em}
\allowdisplaybreaks
\setcounter{tocdepth}{1}
"""


# ------------------------------------------------------------------ helpers
def _t(text: str) -> str:
    """Escaped plain text."""
    return latex_escape(text)


def _mark(ok: bool | None) -> str:
    return r"\ok{}" if ok else r"\failed{}"


def document(title: str, body: Iterable[str]) -> str:
    """Wrap body parts in the preamble; ``title`` is LaTeX (escape first)."""
    head = PREAMBLE + f"\\title{{{title}}}\n\\author{{backprop-derive}}\n\\date{{}}\n"
    return head + "\\begin{document}\n\\maketitle\n\n" + "\n\n".join(body) + "\n\n\\end{document}\n"


def _align(rows: Sequence[tuple[str, Any, str | None]]) -> str:
    """An ``align*`` of ``(lhs, rhs, tag)`` rows; an empty lhs continues the chain."""
    out: list[str] = []
    for lhs, rhs, tag in rows:
        lines = align_rows(lhs, rhs, width=_WIDTH)
        if tag:
            lines[-1] += f" \\tag*{{{tag}}}"
        out.extend(lines)
    return "\\begin{align*}\n  " + " \\\\\n  ".join(out) + "\n\\end{align*}"


# ------------------------------------------------------- scalar derivations
def render_derivation(d: Derivation) -> str:
    """A step-by-step scalar derivation: the chain of equalities, numbered,
    then what each step did and how sympy checked it.

    Consecutive steps that share a side are printed as one chain.
    """
    rows: list[tuple[str, Any, str | None]] = []
    prev = None
    for k, step in enumerate(d.steps, start=1):
        cont = prev is not None and (step.lhs == prev.rhs or step.lhs == prev.lhs)
        rows.append(("" if cont else tex(step.lhs), step.rhs, f"[{k}]"))
        prev = step
    items = "\n".join(
        f"  \\item[{{{_mark(s.verified)} [{k}]}}] {_t(s.rule)}. \\emph{{{_t(s.check or 'unchecked')}}}."
        for k, s in enumerate(d.steps, start=1)
    )
    return _align(rows) + "\n\\begin{itemize}\\small\n" + items + "\n\\end{itemize}"


# ------------------------------------------------------------ matrix chains
def render_chain(chain: MatrixChain) -> str:
    """One backward formula: its chain of equalities, the reason for each
    line, and the final formula with the shape of every factor."""
    rows: list[tuple[str, Any, str | None]] = []
    for k, line in enumerate(chain.lines, start=1):
        rows.append((tex(chain.lhs) if k == 1 else "", line.expr, f"[{k}]"))
    items = "\n".join(
        f"  \\item[{{{_mark(line.ok)} [{k}]}}] {_t(line.reason)}. \\emph{{{_t(line.check)}}}."
        for k, line in enumerate(chain.lines, start=1)
    )
    shapes = f"\\[\n  {tex_shapes(chain.lhs)} = {tex_shapes(chain.result)}\n\\]"
    return (
        _align(rows)
        + "\n\\begin{itemize}\\small\n"
        + items
        + "\n\\end{itemize}\nWith the shape of every factor:\n"
        + shapes
    )


def render_index(eq: IndexEquation, *, with_chain: bool = True) -> str:
    """An index-form equation (with its chain-rule sum when there is one)."""
    rows: list[tuple[str, Any, str | None]] = [(tex(eq.lhs), eq.chain if (with_chain and eq.chain is not None) else eq.rhs, None)]
    if with_chain and eq.chain is not None:
        rows.append(("", eq.rhs, None))
    return _align(rows) + f"\n\\checked{{{_mark(eq.ok)} {_t(eq.check)}.}}"


# ---------------------------------------------------------- the activations
def _fmt_point(x: Any) -> str:
    return tex(x)


def render_activation_section(info: ActivationInfo, *, label: str | None = None) -> str:
    """f, f', kinks and the derivative in terms of the output, for one activation."""
    r = info.role
    name = _t(info.name)
    zlhs = f"{r}(z)"
    out = [f"\\subsection{{{r} = \\texttt{{{name}}}}}"]
    if label:
        out[0] += f"\\label{{{label}}}"
    out.append(_align([(zlhs, info.expr, None), (f"{r}'(z)", info.deriv, None)]))
    out.append(
        f"\\checked{{{r}' is sympy's \\texttt{{diff}} of {r}; the same expression is lambdified for the "
        "numeric checks of Section~\\ref{sec:verification}.}"
    )
    if info.kinks:
        rows = []
        for k in info.kinks:
            kind = "kink (not differentiable)" if k.is_kink else "break point, differentiable"
            rows.append(
                f"  ${_fmt_point(k.at)}$ & ${tex(k.left)}$ & ${tex(k.right)}$ & {kind} \\\\"
            )
        out.append(
            "\\begin{center}\\small\\begin{tabular}{@{}llll@{}}\\toprule\n"
            f"  $z$ & left ${r}'$ & right ${r}'$ & kind \\\\\\midrule\n" + "\n".join(rows) + "\n"
            "\\bottomrule\\end{tabular}\\end{center}"
        )
        out.append(
            "\\checked{break points from the conditions of sympy's \\texttt{Piecewise} and the arguments of "
            "\\texttt{Abs}; one-sided derivatives as sympy limits. At a kink the project uses the "
            "left-hand value (the branch $z \\le 0$).}"
        )
    else:
        out.append(f"No break points (no \\texttt{{Piecewise}} or \\texttt{{Abs}} in ${r}$), so no kinks.")
    if info.output_form is not None:
        out.append(f"In terms of the output $a = {r}(z)$:")
        out.append(_align([(f"{r}'", info.output_form, None)]))
        out.append(f"\\checked{{{_mark(info.output_ok)} {_t(info.output_check)}.}}")
    else:
        out.append(f"Derivative in terms of the output $a = {r}(z)$: {_t(info.output_check)}.")
    return "\n".join(out)


# ----------------------------------------------------------- verification
def _sci(x: float) -> str:
    if x == 0:
        return "0"
    mant, exp = f"{x:.1e}".split("e")
    return f"{mant}\\times 10^{{{int(exp)}}}"


def render_numeric_table(report: NetworkReport) -> str:
    """Booktabs table: worst relative error per parameter over all numeric shapes."""
    comparisons = list(report.numeric[0].errors) if report.numeric else []
    grads = list(report.numeric[0].errors[comparisons[0]]) if comparisons else []
    head = " & ".join(_t(c) for c in comparisons)
    lines = []
    for gname in grads:
        cells = []
        for c in comparisons:
            worst = max(chk.errors[c][gname] for chk in report.numeric)
            cells.append(f"$\\meas{{{_sci(worst)}}}$")
        sym = tex(MatrixSymbol(gname, 1, 1))
        lines.append(f"  ${sym}$ & " + " & ".join(cells) + " \\\\")
    tol = " & ".join(f"${_sci(TOLERANCES[c])}$" for c in comparisons)
    shapes = "; ".join(f"$({', '.join(str(s) for s in chk.shape)})$ seed {chk.seed}" for chk in report.numeric)
    return (
        "\\begin{table}[htbp]\\centering\\small\n"
        f"\\caption{{Worst max-norm relative error per gradient over the shapes $(d, n, p, q, m)$ = {shapes} "
        "(float64; the problem of shape $i$ uses seed $s + i$).}\\label{tab:numeric}\n"
        "\\begin{tabular}{@{}l" + ">{\\raggedright\\arraybackslash}p{3.3cm}" * len(comparisons) + "@{}}\\toprule\n"
        f"  gradient & {head} \\\\\\midrule\n" + "\n".join(lines) + "\n"
        f"  \\midrule tolerance & {tol} \\\\\n"
        "\\bottomrule\\end{tabular}\n\\end{table}"
    )


def _render_proofs(report: NetworkReport) -> str:
    rows = []
    for p in report.proofs:
        dims = ", ".join(str(v) for v in p.shape.values())
        rows.append(f"  $({dims})$ & {p.entries} & {_mark(p.ok)} \\\\")
    return (
        "\\begin{center}\\small\\begin{tabular}{@{}lrl@{}}\\toprule\n"
        "  $(d, n, p, q, m)$ & entries compared & result \\\\\\midrule\n"
        + "\n".join(rows)
        + "\n\\bottomrule\\end{tabular}\\end{center}"
    )


def _verification(report: NetworkReport) -> str:
    n_scalar = sum(len(d.steps) for d in report.scalar)
    n_chain = sum(len(c.lines) for c in report.chains)
    dims = ", ".join(f"{k}={v}" for k, v in INDEX_CHECK_SHAPE.items())
    level1 = [c.name for c in report.chains if not c.name.startswith("dA")]
    items = [
        f"\\item {_mark(all(d.ok for d in report.scalar))} The scalar facts (Sections~\\ref{{sec:sigmoid}} "
        f"and~\\ref{{sec:bce}}): {n_scalar} steps, each an equality that sympy reduces to 0.",
        f"\\item {_mark(all(r.ok for r in report.rules))} \\textbf{{Level 2, shape-generic}}: the five backward "
        "rules in index form (Section~\\ref{sec:rules}), for symbolic sizes, with sympy's \\texttt{diff} "
        "and \\texttt{KroneckerDelta}.",
        f"\\item {_mark(all(r.ok for r in report.index_forms))} The index forms of "
        + ", ".join(f"${tex(MatrixSymbol(r.name, 1, 1))}$" for r in report.index_forms)
        + f": equal to the matrix forms entry by entry, exactly, at $({dims})$.",
        f"\\item {_mark(all(c.ok for c in report.chains))} The matrix-form chains of "
        f"Section~\\ref{{sec:backward}}: {n_chain} lines; each substitution redone by sympy and each chain "
        "ends at the derived formula.",
        f"\\item {_mark(all(p.ok for p in report.proofs))} \\textbf{{Level 1, exact at concrete shapes}}: "
        + ", ".join(f"${tex(MatrixSymbol(n, 1, 1))}$" for n in level1)
        + ". Every entry of every matrix is a sympy symbol, $f$ and $g$ are \\emph{undefined} functions "
        "(so the proof holds for every differentiable activation), and sympy's \\texttt{diff} of the cost "
        "minus the formula expands to exactly 0, at each shape below.",
        f"\\item {_mark(all(c.ok for c in report.numeric))} \\textbf{{Level 3, numeric}} for "
        f"$f$ = \\texttt{{{_t(report.f.name)}}}, $g$ = \\texttt{{{_t(report.g.name)}}}: the lambdified "
        "formulas against the hand-written NumPy backprop (package \\texttt{numeric}, which never imports "
        "sympy), central differences and the complex step (Table~\\ref{tab:numeric}).",
    ]
    note = ""
    if report.custom:
        note = (
            "\n\nThe activations are not in the catalog, so the hand-written backprop runs on the lambdified "
            "activation and its derivative, and the complex step is not used."
        )
    return (
        "\\section{Verification}\\label{sec:verification}\n"
        "Proof levels, strongest first: exact at concrete shapes (1), shape-generic in index notation (2), "
        "numeric (3).\n\\begin{itemize}\n" + "\n".join(items) + "\n\\end{itemize}\n"
        + _render_proofs(report) + note + "\n\n" + render_numeric_table(report)
    )


# ----------------------------------------------------------------- errata
def render_erratum(e: Erratum) -> str:
    """One erratum: the printed formula, the verdict, the computed evidence."""
    verdict = {"wrong": "wrong", "misleading": "misleading", "confirmed": "confirmed"}[e.verdict]
    out = [f"\\subsection{{{_t(e.title)}: {verdict}}}"]
    out.append(f"As printed: \\texttt{{{_t(e.printed)}}}")
    if e.printed_expr is not None and e.correct_expr is not None:
        out.append(_align([("\\text{printed}", e.printed_expr, None), ("\\text{correct}", e.correct_expr, None)]))
    rows = "\n".join(f"  {_t(k)} & \\texttt{{{_t(v)}}} \\\\" for k, v in e.evidence)
    out.append(
        "\\begin{center}\\small\\begin{tabular}{@{}>{\\raggedright\\arraybackslash}p{0.56\\linewidth}"
        ">{\\raggedright\\arraybackslash}p{0.38\\linewidth}@{}}\\toprule\n"
        "  computed by the project & value \\\\\\midrule\n" + rows + "\n\\bottomrule\\end{tabular}\\end{center}"
    )
    out.append(f"\\checked{{{_mark(e.ok)} the computation shows what the verdict says.}}")
    return "\n".join(out)


# ---------------------------------------------------------------- figures
def _table(points: Iterable[tuple[float, float]]) -> str:
    return "\n".join(f"{x:.6g} {y:.6g}" for x, y in points)


def _curve_plot(role: str, curves: tuple[Curve, Curve]) -> str:
    plots = []
    for curve, style, legend in ((curves[0], "blue, thick", f"${role}$"), (curves[1], "red, thick, dashed", f"${role}'$")):
        for i, seg in enumerate(curve.segments):
            forget = "" if i == len(curve.segments) - 1 else ", forget plot"
            plots.append(
                f"\\addplot[{style}{forget}] table {{\n{MEASURED_BEGIN}\n{_table(seg)}\n{MEASURED_END}\n}};"
            )
        plots.append(f"\\addlegendentry{{{legend}}}")
    return (
        "\\begin{tikzpicture}\n\\begin{axis}[width=0.47\\linewidth, height=5.2cm, xlabel={$z$}, "
        "grid=major, legend pos=north west, legend style={font=\\small}, tick label style={font=\\small}]\n"
        + "\n".join(plots)
        + "\n\\end{axis}\n\\end{tikzpicture}"
    )


def _sweep_plot(s: StepSweep) -> str:
    floor = 1e-17

    def series(values: Sequence[float]) -> str:
        return _table((h, max(v, floor)) for h, v in zip(s.steps, values))

    plots = [
        ("black, mark=*, mark size=1pt", "forward difference", s.forward),
        ("blue, mark=square*, mark size=1pt", "central difference", s.central),
    ]
    if s.complex is not None:
        plots.append(("red, mark=triangle*, mark size=1.2pt", "complex step", s.complex))
    body = "\n".join(
        f"\\addplot[{style}] table {{\n{MEASURED_BEGIN}\n{series(vals)}\n{MEASURED_END}\n}};\n\\addlegendentry{{{name}}}"
        for style, name, vals in plots
    )
    return (
        "\\begin{tikzpicture}\n\\begin{loglogaxis}[width=0.8\\linewidth, height=6.5cm, xlabel={step $h$}, "
        "ylabel={relative error}, grid=major, x dir=reverse, ymin=1e-17, ymax=1e2, "
        "legend style={font=\\small, at={(0.5,-0.22)}, anchor=north, legend columns=3}]\n"
        + body
        + "\n\\end{loglogaxis}\n\\end{tikzpicture}"
    )


def _figures(report: NetworkReport) -> str:
    out = ["\\section{Figures}\\label{sec:figures}"]
    out.append(
        "\\begin{figure}[htbp]\\centering\n"
        + _curve_plot("f", report.curves["f"])
        + "\\hfill\n"
        + _curve_plot("g", report.curves["g"])
        + f"\n\\caption{{Left: $f$ = \\texttt{{{_t(report.f.name)}}} and $f'$. Right: $g$ = "
        f"\\texttt{{{_t(report.g.name)}}} and $g'$. Sampled from the lambdified sympy expressions of "
        "Section~\\ref{sec:activations}; a jump of the derivative at a kink is drawn as a jump.}\n"
        "\\label{fig:activations}\n\\end{figure}"
    )
    s = report.sweep
    if s is not None:
        entry = tex(MatrixSymbol("d" + s.param, 1, 1))
        shape = ", ".join(str(x) for x in s.shape)
        h, err = s.best_central
        out.append(
            "\\begin{figure}[htbp]\\centering\n"
            + _sweep_plot(s)
            + f"\n\\caption{{Relative error of one gradient entry, $({entry})_{{{s.index[0] + 1}{s.index[1] + 1}}}$, "
            f"against the step $h$, at $(d, n, p, q, m) = ({shape})$, seed {s.seed}; the reference is the "
            "lambdified formula. Truncation error falls as $h$ (forward) or $h^2$ (central and complex step) "
            "until rounding takes over for the differences; the complex step has no subtraction and stays "
            f"at rounding level. Best central difference: $\\meas{{{_sci(err)}}}$ at $h = \\meas{{{_sci(h)}}}$. "
            "Errors of exactly 0 are drawn at $10^{-17}$.}\n\\label{fig:steps}\n\\end{figure}"
        )
    return "\n".join(out)


# -------------------------------------------------------------- sections
def _notation(net: Network) -> str:
    rows = [("X", "inputs, one example per column"), ("Y", "targets in $[0, 1]$")]
    meaning = {1: "first hidden layer, activation $f$", 2: "second hidden layer, activation $g$", 3: "output layer, sigmoid"}
    out_rows = []
    for sym, text in rows:
        M = net.mat(sym)
        out_rows.append(f"  ${tex(M)}$ & ${tex_shape(M.shape)}$ & {text} \\\\")
    for layer in range(1, net.depth + 1):
        W, b = net.mat("W", layer), net.mat("b", layer)
        Z, A = net.mat("Z", layer), net.mat("A", layer)
        out_rows.append(
            f"  ${tex(W)}$, ${tex(b)}$ & ${tex_shape(W.shape)}$, ${tex_shape(b.shape)}$ & {meaning.get(layer, '')} \\\\"
        )
        out_rows.append(f"  ${tex(Z)}$, ${tex(A)}$ & ${tex_shape(Z.shape)}$ & pre-activation and activation \\\\")
    m = net.m
    rows_l = sp.Symbol("r_l", integer=True, positive=True)
    Zl, Wl, bl = (MatrixSymbol(x, rows_l, m) for x in ("Zl", "Wl", "bl"))
    conv_rows = [
        (tex(MatrixSymbol("dZl", rows_l, m)), MatMul_(m, Grad(Zl)), None),
        (tex(MatrixSymbol("dWl", rows_l, m)), Grad(Wl), None),
        (tex(MatrixSymbol("dbl", rows_l, m)), Grad(bl), None),
    ]
    return (
        "\\section{The network and its notation}\\label{sec:notation}\n"
        "A binary classifier with two hidden layers; the widths follow the article's shape table, one letter per "
        "layer, and $m$ is the number of examples (one per column).\n"
        "\\begin{center}\\small\\begin{tabular}{@{}lll@{}}\\toprule\n  symbol & shape & meaning \\\\\\midrule\n"
        + "\n".join(out_rows)
        + "\n\\bottomrule\\end{tabular}\\end{center}\n"
        "Biases broadcast over the $m$ columns, written $b\\,\\mathbf{1}_m^{\\top}$. "
        "$q > 1$ is multi-label binary cross-entropy and changes nothing below. "
        "\\textbf{Gradient convention} (the article's): the gradients with respect to $Z$ (and $A$) are scaled "
        "by $m$, while those of the parameters are the true partial derivatives of the mean cost $J$; "
        "for every layer $l$,\n"
        + _align(conv_rows)
        + "\n$\\odot$ is the elementwise product and $\\mathbf{1}_m$ the column of $m$ ones "
        "($\\mathrm{d}Z\\,\\mathbf{1}_m$ sums each row, keeping the column shape)."
    )


def MatMul_(*args: Any) -> Any:  # noqa: N802 - sympy-style constructor
    from sympy.matrices.expressions import MatMul

    return MatMul(*args)


def _forward(report: NetworkReport, net: Network) -> str:
    rows = [(tex(s.lhs), s.rhs, None) for s in report.forward.steps]
    i, k = sp.symbols("i k", integer=True, positive=True)
    Y, A3 = sp.IndexedBase("Y"), sp.IndexedBase("A3")
    q, m = net.size(net.depth), net.m
    cost = -sp.Sum(bce_terms(Y[i, k], A3[i, k]), (i, 1, q), (k, 1, m)) / m
    cost_tex = _align([("J", cost, None)])
    return (
        "\\section{Forward propagation and the cost}\\label{sec:forward}\n"
        + _align(rows)
        + "\nThe cost is the mean binary cross-entropy over the $m$ examples (summed over the $q$ outputs):\n"
        + cost_tex
        + "\n\\checked{these are definitions. The exact proofs of Section~\\ref{sec:verification} build the cost "
        "from exactly these forward equations, and the numeric checks evaluate it stably from the logits, as "
        "$\\operatorname{softplus}(Z_3) - Y \\odot Z_3$ summed and divided by $m$.}"
    )


def _backward(report: NetworkReport) -> str:
    out = [
        "\\section{Backward propagation, layer by layer}\\label{sec:backward}",
        "The backward pass applies one rule per operation of the forward chain, from the cost back to the "
        "input: sigmoid with BCE gives $\\mathrm{d}Z_3$; each affine layer $Z = W A + b\\,\\mathbf{1}_m^{\\top}$ "
        "gives $\\mathrm{d}W$, $\\mathrm{d}b$ and the upstream $\\mathrm{d}A$; each activation $A = f(Z)$ gives "
        "$\\mathrm{d}Z$. The rules are proven first in index form for symbolic sizes; the matrix forms below are "
        "their restatements, and every final formula is also proven exactly and checked numerically "
        "(Section~\\ref{sec:verification}).",
        "\\subsection{The rules in index form}\\label{sec:rules}",
        "Here $G = m\\,\\partial J/\\partial Z$ is the upstream gradient in the article's convention, "
        "$D = m\\,\\partial J/\\partial A$, and $\\delta$ is the Kronecker delta.",
    ]
    for rule in report.rules:
        out.append(f"\\paragraph{{{_t(rule.name)}.}}")
        out.append(render_index(rule))
    forms = {e.name: e for e in report.index_forms}
    for chain in report.chains:
        if chain.name.startswith("dA"):
            title = f"${tex(chain.lhs)}$ (intermediate)"
        else:
            title = f"${tex(chain.lhs)}$"
        out.append(f"\\subsection{{{title}}}")
        out.append(render_chain(chain))
        if chain.name in forms:
            out.append("In index form:")
            out.append(render_index(forms[chain.name], with_chain=False))
    return "\n".join(out)


def _scalar(report: NetworkReport) -> str:
    sig, bce = report.scalar
    return (
        "\\section{The sigmoid derivative, by the quotient rule}\\label{sec:sigmoid}\n"
        "From $\\sigma(z) = 1/(1 + e^{-z})$ to $\\sigma' = A(1 - A)$, with $A = \\sigma(z)$:\n"
        + render_derivation(sig)
        + "\n\n\\section{The BCE simplification}\\label{sec:bce}\n"
        "One entry of the cost, $L$, with $A_3 = \\sigma(Z_3)$; no other term of $J$ depends on this entry of $Z_3$.\n"
        + render_derivation(bce)
    )


def _activations(report: NetworkReport) -> str:
    return (
        "\\section{The activations}\\label{sec:activations}\n"
        + render_activation_section(report.f)
        + "\n\n"
        + render_activation_section(report.g)
    )


def _errata(report: NetworkReport) -> str:
    return (
        "\\section{Errata of the source article}\\label{sec:errata}\n"
        "Each formula as the article prints it, the project's verdict, and a counterexample the project "
        "computes (sympy for identities, NumPy float64 for rounding).\n"
        + "\n\n".join(render_erratum(e) for e in report.errata)
    )


def render_network(report: NetworkReport, net: Network = ARTICLE) -> str:
    """The whole network report as LaTeX text (deterministic: no dates, no timings)."""
    f, g = _t(report.f.name), _t(report.g.name)
    title = (
        "Backpropagation, derived and checked\\\\[0.3em]\\large the article's 3-layer network with "
        f"$f$ = \\texttt{{{f}}}, $g$ = \\texttt{{{g}}}"
    )
    status = "every check passed" if report.ok else "SOME CHECKS FAILED: " + _t("; ".join(report.failures()))
    intro = (
        "\\begin{abstract}\nThe derivation of the gradients of a small neural network, step by step. Every "
        "displayed equation is printed from the sympy object that the project checked, and each step says how "
        f"it was checked. Status: {status}. The derivation holds for any differentiable $f$ and $g$; the "
        f"activations \\texttt{{{f}}} and \\texttt{{{g}}} instantiate it in "
        "Sections~\\ref{sec:activations}, \\ref{sec:verification} and~\\ref{sec:figures}.\n\\end{abstract}"
    )
    body = [
        intro,
        "\\tableofcontents",
        _notation(net),
        _forward(report, net),
        _scalar(report),
        _backward(report),
        _activations(report),
        _verification(report),
        _errata(report),
        _figures(report),
    ]
    return document(title, body)


del a
