"""Pure rendering of the report of any description (:mod:`derive.report.general`).

The sections follow the network: its notation and shape table from the
widths, the forward pass and the head's cost, the head's scalar derivation
(and the L2 term's), the backward pass with one subsection per layer, the
activations, the three proof levels, the article's errata (only for the
article's shape of network) and the activation figures.  The same notation
as the article's report (:mod:`derive.report.latex`): upright d, the
upstream gradient before the activation's derivative, the cost written one
way (:func:`cost_text`).  Numbers printed are exact (widths, counts, seeds,
tolerances) or pass marks.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import sympy as sp
from sympy.matrices.expressions import MatrixSymbol

from derive.report.general import GeneralReport, shortest_number
from derive.report.head_tex import render_steps
from derive.report.latex import (
    render_activation_section,
    render_chain,
    render_derivation,
    render_index,
)
from derive.report.layout import align, caption_table, document
from derive.report.sections import _mark, _t
from derive.report.texprint import Grad, function_tex, tex, tex_shape
from derive.report.verification_tex import (
    errata_section,
    figures_section,
    verification_section,
)

__all__ = ["render_general", "cost_text", "GENERAL_TAGS"]

_HEAD_TEXT = {
    "sigmoid-bce": ("sigmoid with binary cross-entropy", "sigmoid $\\sigma$"),
    "softmax-ce": ("softmax with cross-entropy", "softmax"),
    "identity-mse": ("identity output with mean squared error", "identity"),
    "sigmoid-mse": ("sigmoid with mean squared error", "sigmoid $\\sigma$"),
}

# each line of a matrix chain cites one of these justifications (stated once)
GENERAL_TAGS: dict[str, str] = {
    "D": r"definition of the gradient, in the convention of Section~\ref{sec:notation}",
    "R": r"the operation's rule in matrix form; its index form is proven in Section~\ref{sec:rules}",
    "C": r"the convention $\frac{\partial J}{\partial Z} = \frac{1}{N}\,\mathrm{d}Z$ (or "
         r"$\frac{\partial J}{\partial A} = \frac{1}{N}\,\mathrm{d}A$)",
    "S": r"substitute the result of the subsection before",
    "H": r"the head's rule, derived entry by entry in Section~\ref{sec:head}",
    "L": r"the affine weight rule (R) plus the gradient of the L2 term, Section~\ref{sec:head-l2}",
}


def _latex_number(value: float) -> str:
    """``value`` exactly, in the fewest digits, for math mode: ``0.1234567``, ``1 \\cdot 10^{-5}``."""
    text = shortest_number(value)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return f"{mantissa} \\cdot 10^{{{int(exponent)}}}"


def _tag(reason: str) -> str:
    if reason.startswith("definition"):
        return "D"
    if reason.startswith("L2"):
        return "L"
    if "matrix form of its index form" in reason:
        return "R"
    if reason.startswith("convention"):
        return "C"
    if reason.startswith("substitute"):
        return "S"
    if reason.startswith("entrywise"):
        return "H"
    return "?"


def _N(report: GeneralReport) -> str:
    return "m" if report.network.reduction == "mean" else "1"


# ------------------------------------------------------------------ cost
def cost_text(report: GeneralReport) -> str:
    """The cost J of the description (head, reduction, MSE convention, L2) as LaTeX."""
    net, L = report.network, report.symbolic.depth
    q = tex(report.symbolic.size(L))
    mean = net.reduction == "mean"
    sums = f"\\sum_{{i=1}}^{{{q}}} \\sum_{{k=1}}^{{m}} "
    A, Y = f"(A_{{{L}}})_{{ik}}", "Y_{ik}"
    inv = "\\frac{1}{m}" if mean else ""
    if net.head == "sigmoid-bce":
        body = f"-{inv}{sums}\\left[{Y} \\log {A} + (1 - {Y}) \\log(1 - {A})\\right]"
    elif net.head == "softmax-ce":
        body = f"-{inv}{sums}{Y} \\log {A}"
    else:
        if net.mse == "half":
            coef = "\\frac{1}{2m}" if mean else "\\frac{1}{2}"
        else:
            coef = f"\\frac{{1}}{{{q}\\,m}}" if mean else ""
        body = f"{coef}{sums}\\left({A} - {Y}\\right)^{{2}}"
    if net.l2:
        rate = "\\frac{\\lambda}{2m}" if net.l2_convention == "lambda/2m" else "\\frac{\\lambda}{2}"
        body += f" + {rate} \\sum_{{l=1}}^{{{L}}} \\lVert W_{{l}} \\rVert_{{F}}^{{2}}"
    return body


# -------------------------------------------------------------- sections
def _meaning(report: GeneralReport, layer: int) -> str:
    sym, net = report.symbolic, report.network
    if layer == sym.depth:
        return f"output layer, {_HEAD_TEXT[net.head][1]}"
    fn = function_tex(sym.activations[layer - 1])
    return f"hidden layer {layer}, ${fn}$ = \\texttt{{{_t(net.activations[layer - 1])}}}"


def _notation(report: GeneralReport) -> str:
    sym, net = report.symbolic, report.network
    sizes = {sym.size(i): w for i, w in enumerate(net.widths)}

    def numbers(M: MatrixSymbol) -> str:
        r, c = (sp.sympify(s, strict=True).subs(sizes) for s in M.shape)  # sizes are ints or Symbols, never text
        return f"${tex(r)} \\times {tex(c)}$"

    rows = []
    head_y = "targets, each column sums to 1" if net.head == "softmax-ce" else "targets"
    for name, text in (("X", "inputs, one example per column"), ("Y", head_y)):
        M = sym.mat(name)
        rows.append(f"  ${tex(M)}$ & ${tex_shape(M.shape)}$ & {numbers(M)} & {text} \\\\")
    for layer in range(1, sym.depth + 1):
        W, b = sym.mat("W", layer), sym.mat("b", layer)
        Z, A = sym.mat("Z", layer), sym.mat("A", layer)
        rows.append(f"  ${tex(W)}$, ${tex(b)}$ & ${tex_shape(W.shape)}$, ${tex_shape(b.shape)}$ & "
                    f"{numbers(W)}, {numbers(b)} & {_meaning(report, layer)} \\\\")
        rows.append(f"  ${tex(Z)}$, ${tex(A)}$ & ${tex_shape(Z.shape)}$ & {numbers(Z)} & "
                    "pre-activation and activation \\\\")
    widths = ", ".join(f"${tex(sym.size(i))} = {w}$" for i, w in enumerate(net.widths))
    table = caption_table(
        f"The symbols of the network, their shapes, the shapes of this network ({widths}) and their meanings.",
        "tab:notation",
        "\\begin{tabular}{@{}llll@{}}\\toprule\n  symbol & shape & here & meaning \\\\\\midrule\n"
        + "\n".join(rows) + "\n\\bottomrule\\end{tabular}",
    )
    N = sym.N
    rows_l = sp.Symbol("r_l", integer=True, positive=True)
    Zl, Wl, bl = (MatrixSymbol(x, rows_l, sym.m) for x in ("Zl", "Wl", "bl"))
    conv = align([
        (tex(MatrixSymbol("dZl", rows_l, sym.m)), Grad(Zl) if N == 1 else sp.MatMul(N, Grad(Zl)), None),
        (tex(MatrixSymbol("dWl", rows_l, sym.m)), Grad(Wl), None),
        (tex(MatrixSymbol("dbl", rows_l, sym.m)), Grad(bl), None),
    ])
    hidden = sym.depth - 1
    layers = f"{hidden} hidden layer{'s' if hidden != 1 else ''}" if hidden else "no hidden layer"
    reduction = (
        "the cost is the mean over the $m$ examples, so $N = m$"
        if net.reduction == "mean" else "the cost is the sum over the $m$ examples (reduction sum), so $N = 1$"
    )
    return (
        "\\section{The network and its notation}\\label{sec:notation}\n"
        f"A network of depth $L = {sym.depth}$ ({layers}) with the head {_HEAD_TEXT[net.head][0]}; one letter "
        "per layer width, and $m$ is the number of examples (one per column), Table~\\ref{tab:notation}.\n"
        + table + "\n"
        "Biases broadcast over the $m$ columns, written $b\\,\\mathbf{1}_m^{\\top}$, where $\\mathbf{1}_m$ is the "
        "column of $m$ ones. $\\odot$ is the elementwise product, and $\\mathrm{d}$ (upright) marks a "
        "differential or a gradient's name. "
        f"\\textbf{{Gradient convention}}: {reduction}; the gradients with respect to $Z$ (and $A$) are scaled "
        "by $N$, while those of the parameters are the true partial derivatives of the cost $J$ "
        "(Section~\\ref{sec:forward}); for every layer $l$,\n"
        + conv
        + "\n($\\mathrm{d}Z\\,\\mathbf{1}_m$ sums each row, keeping the column shape.)"
    )


def _forward(report: GeneralReport) -> str:
    net, L = report.network, report.symbolic.depth
    rows = [(tex(s.lhs), s.rhs, None) for s in report.forward.steps]
    extra = []
    if net.head == "softmax-ce":
        extra.append(
            f"The softmax acts on each column: $(A_{{{L}}})_{{ik}} = e^{{(Z_{{{L}}})_{{ik}}}} / "
            f"\\sum_{{j=1}}^{{q}} e^{{(Z_{{{L}}})_{{jk}}}}$. "
            "\\textbf{Assumption:} every column of $Y$ sums to 1 (one-hot labels, or label smoothing); the "
            "head's rule holds only then (Section~\\ref{sec:head}), and the numeric side refuses a $Y$ that "
            "breaks it.")
    if net.head.endswith("mse"):
        extra.append(f"MSE convention \\texttt{{{_t(net.mse)}}}: "
                     + ("$\\frac{1}{2N}$ times the sum of squares (the course convention)." if net.mse == "half"
                        else "the mean over all $q\\,m$ entries, as PyTorch's \\texttt{MSELoss}"
                        + (" (under the sum reduction: the plain sum of squares)." if net.reduction == "sum"
                           else ".")))
    if net.l2:
        extra.append(
            f"L2 term, convention \\texttt{{{_t(net.l2_convention)}}}, with rate $\\lambda$ (here "
            f"$\\lambda = {_latex_number(net.l2)}$); $\\lVert W \\rVert_F^2$ is the sum of the squared entries. The biases "
            "are not regularised.")
    return (
        "\\section{Forward propagation and the cost}\\label{sec:forward}\n"
        + align(rows)
        + "\nThe cost, summed over the $q$ outputs and the $m$ examples:\n"
        + f"\\begin{{equation}}\\label{{eq:cost}}\n  J = {cost_text(report)}\n\\end{{equation}}\n"
        + " ".join(extra)
        + "\n\\checked{these are definitions. The exact proofs of Section~\\ref{sec:verification} build the cost "
        "from exactly these forward equations; the numeric checks evaluate it stably (from the logits).}"
    )


_HEAD_SECTIONS = {  # derivation title prefix -> (subsection title, label, text before it)
    "sigmoid derivative": ("The sigmoid derivative, by the quotient rule", "sec:sigmoid",
                           "From $\\sigma(z) = 1/(1 + e^{-z})$ to $\\sigma' = A\\,(1 - A)$, with $A = \\sigma(z)$:"),
    "BCE": ("The cross-entropy simplification", "sec:bce",
            "One entry of the cost~\\eqref{eq:cost}, $L$, with $A_3 = \\sigma(Z_3)$ standing for the output "
            "layer and $Y$ the entry's target; no other term of $J$ depends on this entry."),
    "softmax Jacobian": ("The softmax Jacobian", "sec:head-jacobian",
                         "For one column $z$ of $Z_L$ and $a = \\operatorname{softmax}(z)$, written out for $q = 3$ "
                         "outputs (every entry checked):"),
    "cross-entropy": ("The cross-entropy through the softmax", "sec:head-ce",
                      "For one example (one column): the collapse to $a - y$ \\emph{uses} that the column of $Y$ "
                      "sums to 1."),
    "identity-mse": ("The squared error", "sec:head-mse", ""),
    "sigmoid-mse": ("The squared error through the sigmoid", "sec:head-mse", ""),
    "L2": ("The L2 term", "sec:head-l2", "Each weight's share of the penalty, and the biases' (none):"),
}


def _head_key(title: str) -> str:
    for key in _HEAD_SECTIONS:
        if title.startswith(key) or (key == "BCE" and "BCE" in title and "mse" not in title):
            return key
    return ""


def _head(report: GeneralReport) -> str:
    net = report.network
    out = [f"\\section{{The head: {_HEAD_TEXT[net.head][0]}}}\\label{{sec:head}}",
           "The scalar facts behind the output layer's rule" + (" and the L2 term" if net.l2 else "")
           + ", derived from the definitions step by step; each step is an equality that sympy checks."]
    for d in report.head:
        key = _head_key(d.title)
        title, label, intro = _HEAD_SECTIONS.get(key, (_t(d.title), "", ""))
        if key in ("identity-mse", "sigmoid-mse"):
            intro = (f"One entry of the cost~\\eqref{{eq:cost}}, $L$, under the convention \\texttt{{{_t(net.mse)}}} "
                     f"and the reduction \\texttt{{{_t(net.reduction)}}}:")
        out.append(f"\\subsection{{{title}}}" + (f"\\label{{{label}}}" if label else ""))
        if intro:
            out.append(intro)
        article_style = key in ("sigmoid derivative", "BCE")
        out.append(render_derivation(d) if article_style else render_steps(d))
    return "\n".join(out)


def _layer_title(report: GeneralReport, layer: int) -> str:
    sym, net = report.symbolic, report.network
    if layer == sym.depth:
        return f"Layer {layer}: the output layer ({_HEAD_TEXT[net.head][0]})"
    fn = function_tex(sym.activations[layer - 1])
    return f"Layer {layer}: hidden, ${fn}$ = \\texttt{{{_t(net.activations[layer - 1])}}}"


_INDEX_NAME = re.compile(r"^([A-Za-z])_([a-z])([a-z])$")


def _indexed(expr: Any) -> Any:
    """Symbols named like ``A_ik`` as entries ``A_{ik}`` (display only)."""
    if not isinstance(expr, sp.Basic):
        return expr
    reps = {}
    for sym in expr.free_symbols:
        match = _INDEX_NAME.match(getattr(sym, "name", ""))
        if match:
            i, k = (sp.Symbol(x, integer=True, positive=True) for x in match.group(2, 3))
            reps[sym] = sp.IndexedBase(match.group(1))[i, k]
    return expr.xreplace(reps)


def _render_rule(rule: Any, common_check: str) -> str:
    """One level-2 rule: the affine and elementwise rules with their
    chain-rule sums, a head rule as its cost then its result."""
    if rule.chain is None or rule.name.startswith("softmax + CE"):
        lhs = rule.lhs
        if isinstance(lhs, sp.Derivative) and len(lhs.variable_count) == 1:
            (var, _count), = lhs.variable_count
            lhs_tex = rf"\frac{{\partial {tex(_indexed(lhs.expr))}}}{{\partial {tex(_indexed(var))}}}"
        else:
            lhs_tex = tex(lhs)
        rows = [("J", rule.chain, None)] if rule.chain is not None else []
        rows.append((lhs_tex, _indexed(rule.rhs), None))
        out = align(rows)
        if rule.check != common_check or not rule.ok:
            out += f"\n\\checked{{{_mark(rule.ok)} {_t(rule.check)}.}}"
        return out
    return render_index(rule, check=rule.check != common_check)


def _backward(report: GeneralReport) -> str:
    used = {_tag(line.reason) for c in report.chains for line in c.lines}
    tags = "\n".join(f"  \\item[({k})] {v}." for k, v in GENERAL_TAGS.items() if k in used)
    rule_check = Counter(r.check for r in report.rules).most_common(1)[0][0] if report.rules else ""
    out = [
        "\\section{Backward propagation, layer by layer}\\label{sec:backward}",
        "The backward pass applies one rule per operation of the forward chain, from the cost back to the "
        "input: the head gives $\\mathrm{d}Z_L$; each affine layer $Z = W A + b\\,\\mathbf{1}_m^{\\top}$ gives "
        "$\\mathrm{d}W$, $\\mathrm{d}b$ and the upstream $\\mathrm{d}A$; each activation $A = f(Z)$ gives "
        "$\\mathrm{d}Z$. The rules are proven in index form for symbolic sizes (Section~\\ref{sec:rules}). "
        "Each line of a chain cites one of these justifications:\n\\begin{itemize}\\small\n" + tags
        + "\n\\end{itemize}\nEvery line after (D) and (R) was redone by sympy, and every chain ends at the "
        "formula that is also proven exactly and checked numerically in Section~\\ref{sec:verification}.",
        "\\subsection{The rules in index form}\\label{sec:rules}",
        "Here $G$ is the upstream gradient $m\\,\\partial J/\\partial Z$, $D = m\\,\\partial J/\\partial A$, and "
        "$\\delta$ is the Kronecker delta; the affine and elementwise rules are written for the mean reduction "
        "($N = m$; under the sum the same steps hold with $N = 1$). "
        f"\\checked{{{_mark(all(r.ok for r in report.rules))} for each rule, {_t(rule_check)}.}}",
    ]
    for rule in report.rules:
        out.append(f"\\paragraph{{{_t(rule.name)}.}}")
        out.append(_render_rule(rule, rule_check))
    forms = {e.name: e for e in report.index_forms}
    for layer in range(report.symbolic.depth, 0, -1):
        out.append(f"\\subsection{{{_layer_title(report, layer)}}}\\label{{sec:layer-{layer}}}")
        for chain in report.chains:
            index = int(chain.name[2:])  # dA_{l-1} is computed by layer l
            if index != (layer - 1 if chain.name.startswith("dA") else layer):
                continue
            title = f"${tex(chain.lhs)}$" + (" (passed to the layer below)" if chain.name.startswith("dA") else "")
            out.append(f"\\paragraph{{{title}.}}")
            out.append(render_chain(chain, tag_of=_tag))
            if chain.name in forms:
                out.append("In index form (equal to the matrix form entry by entry, Section~\\ref{sec:verification}):")
                out.append(render_index(forms[chain.name], with_chain=False, check=False))
    return "\n".join(out)


def _activations(report: GeneralReport) -> str:
    out = ["\\section{The activations}\\label{sec:activations}"]
    for roles, info in report.activations:
        section = render_activation_section(info)
        if len(roles) > 1:  # one subsection for every hidden layer that uses it: name them all in its title
            names = ", ".join(f"${function_tex(r)}$" for r in roles)
            section = section.replace(f"\\subsection{{${info.role}$ = ", f"\\subsection{{{names} = ", 1)
        out.append(section)
        if len(roles) > 1:
            others = ", ".join(f"${function_tex(r)}$" for r in roles[1:])
            out.append(f"The same activation stands for {others}: the formulas above hold for "
                       f"{'each of them' if len(roles) > 2 else 'it'} with its own name.")
    return "\n\n".join(out)


def render_general(report: GeneralReport) -> str:
    """The whole report of a description as LaTeX text (deterministic: no
    dates, no timings, no number that depends on BLAS or the thread count)."""
    net = report.network
    widths = "-".join(str(w) for w in net.widths)
    acts = ", ".join(_t(a) for a in net.activations) or "no hidden layer"
    title = ("Backpropagation, derived and checked\\\\[0.3em]\\large a " + widths + " network, "
             + acts + ", head \\texttt{" + _t(net.head) + "}")
    status = "every check passed" if report.ok else "SOME CHECKS FAILED: " + _t("; ".join(report.failures()))
    intro = (
        "\\begin{abstract}\nThe derivation of the gradients of a feed-forward network, step by step, following "
        "its description: the head's scalar facts, one subsection per layer, and three levels of proof. Every "
        "displayed equation is printed from the sympy object that the project checked, and each step says how "
        f"it was checked. Status: {status}.\n\\end{{abstract}}"
    )
    body = [intro, "\\tableofcontents", _notation(report), _forward(report), _head(report), _backward(report)]
    if report.activations:
        body.append(_activations(report))
    body.append(verification_section(report))
    if report.errata:
        body.append(errata_section(report))
    if report.activations:
        body.append(figures_section(report))
    plain_acts = ", ".join(_t(a) for a in net.activations)
    return document(
        title,
        body,
        pdf_title=f"Backpropagation, derived and checked: {widths} network, {_t(net.head)}",
        subject=f"Gradients of a {widths} network with head {_t(net.head)}, derived with sympy, proven and checked",
        keywords="backpropagation, gradient, chain rule, sympy, finite differences, complex step, "
                 + _t(net.head) + (", " + plain_acts if plain_acts else ""),
    )
