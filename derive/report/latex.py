"""Pure rendering: checked sympy objects in, the report's LaTeX text out.

Nothing here computes or checks anything; every displayed equation is
printed from a sympy object that :mod:`derive.report.network` (or the
modules it calls) has checked.  Plain text from outside the project
(activation names and expressions) always goes through
:func:`derive.report.escape.latex_escape`.

One notation throughout: upright d for differentials and gradient names,
the upstream gradient before the activation's derivative in every product,
sums written ``\\sum_{i=1}^{q}`` rows before columns, and the cost written
one way (:func:`cost_tex`).  A justification used by many lines is stated
once and referenced by a tag.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import sympy as sp
from sympy.matrices.expressions import MatrixSymbol

from derive.chain import ARTICLE, Network
from derive.proof.index_form import IndexEquation
from derive.report.activation_info import ActivationInfo
from derive.report.errata import bce_terms
from derive.report.escape import latex_escape
from derive.report.matrix_chain import MatrixChain
from derive.report.network import NetworkReport
from derive.report.layout import PREAMBLE, align as _align, caption_table, document
from derive.report.texprint import Grad, tex, tex_shape, tex_shapes
from derive.steps import Derivation

__all__ = [
    "PREAMBLE",
    "render_network",
    "render_derivation",
    "render_chain",
    "render_index",
    "render_activation_section",
    "cost_tex",
    "document",
    "caption_table",
]

# ------------------------------------------------------------------ helpers
def _t(text: str) -> str:
    """Escaped plain text."""
    return latex_escape(text)


def _mark(ok: bool | None) -> str:
    return r"\ok{}" if ok else r"\failed{}"


def cost_tex(y: Any, a: Any, *, sums: str = "") -> str:
    """The cost as the report always writes it: ``-\\frac{1}{m} [sums] [Y log A + (1 - Y) log(1 - A)]``."""
    return f"-\\frac{{1}}{{m}}{sums}\\left[{tex(bce_terms(y, a))}\\right]"


def _scaled_sum(expr: Any) -> str | None:
    """``c (a/b + ...)`` printed as a coefficient times a bracket, not as one
    fraction with fractions inside (``-\\frac{1}{m}\\left(\\frac{Y}{A_3} - ...\\right)``)."""
    if not isinstance(expr, sp.Mul):
        return None
    sums = [f for f in expr.args if isinstance(f, sp.Add)]
    rest = [f for f in expr.args if not isinstance(f, sp.Add)]
    if len(sums) != 1 or not rest or not all(f.is_number or isinstance(f, (sp.Symbol, sp.Pow)) for f in rest):
        return None
    inner = sums[0]
    if not any(sp.fraction(t)[1] != 1 for t in sp.Add.make_args(inner)):
        return None
    coeff = sp.Mul(*rest)
    if coeff.could_extract_minus_sign() and all(t.could_extract_minus_sign() for t in sp.Add.make_args(inner)[1:]):
        coeff, inner = -coeff, -inner
    head = tex(coeff)
    return f"{head}\\left({tex(inner)}\\right)"


def _product(expr: Any) -> str | None:
    """An unevaluated product of several factors, printed factor by factor
    (sympy's printer would merge ``(1/v)(e/v)`` back into one fraction)."""
    def composite(f: Any) -> bool:  # a sum, a product or one over a sum: sympy would merge two of them
        return isinstance(f, (sp.Add, sp.Mul)) or (
            isinstance(f, sp.Pow) and bool(f.exp.is_negative) and isinstance(f.base, sp.Add))

    if isinstance(expr, sp.Mul) and len(expr.args) >= 2 and sum(composite(f) for f in expr.args) >= 2:
        parts = []
        for f in expr.args:
            body = _scaled_sum(f) or tex(f)
            parts.append(rf"\left({body}\right)" if isinstance(f, sp.Add) or body.startswith("-") else body)
        return r" \cdot ".join(parts)
    return None


# ------------------------------------------------------- scalar derivations
# the justification of each step of derive.scalar, as mathematics
_NOTES: dict[str, str] = {
    "definition": r"definition of $\sigma$",
    "quotient rule: (u/v)' = (u'v - uv')/v^2": (
        r"quotient rule $\left(\frac{u}{v}\right)' = \frac{u'v - u v'}{v^{2}}$ with $u = 1$, $v = 1 + e^{-z}$"
    ),
    "derivative of 1 + e^-z is -e^-z": r"$\frac{\mathrm{d}}{\mathrm{d}z}\left(1 + e^{-z}\right) = -e^{-z}$",
    "split the fraction": r"split into two factors, $\frac{e^{-z}}{v^{2}} = \frac{1}{v} \cdot \frac{e^{-z}}{v}$",
    "e^-z/(1 + e^-z) = 1 - 1/(1 + e^-z)": r"$\frac{e^{-z}}{1 + e^{-z}} = 1 - \frac{1}{1 + e^{-z}}$",
    "name A = sigma(z)": r"name $A = \sigma(z) = \frac{1}{1 + e^{-z}}$",
    "per-entry BCE term of the mean cost": r"the term of the cost $J$ that holds this entry of $Z_3$",
    "per-entry BCE term of the summed cost": (
        r"the term of the cost $J$ (summed over the examples, $N = 1$) that holds this entry of $Z_3$"),
    "1 dJ/dZ (the dZ convention)": (
        r"$\mathrm{d}Z_3 = \frac{\partial J}{\partial Z_3}$ under the sum reduction (Section~\ref{sec:notation})"),
    "d log(u) = du / u": r"$\frac{\mathrm{d}}{\mathrm{d}u} \log u = \frac{1}{u}$, for both logarithms",
    "sigmoid derivative": r"$\sigma' = A\,(1 - A)$, Section~\ref{sec:sigmoid}",
    "chain rule: dL/dZ3 = dL/dA3 dA3/dZ3": (
        r"chain rule $\frac{\partial L}{\partial Z_3} = \frac{\partial L}{\partial A_3}\,\frac{\mathrm{d}A_3}{\mathrm{d}Z_3}$, "
        r"with [2] and [3]"
    ),
    "distribute A3(1 - A3)": r"distribute $A_3\,(1 - A_3)$",
    "expand: the Y A3 terms cancel": r"expand: the terms $\pm Y A_3$ cancel",
    "m dJ/dZ3 (the article's dZ3)": r"$\mathrm{d}Z_3 = m\,\frac{\partial J}{\partial Z_3}$ (the convention of Section~\ref{sec:notation})",
}


_CHECKS: dict[str, str] = {
    "substitute A = 1/(1 + e^-z)": r"checked by substituting $A = \frac{1}{1 + e^{-z}}$ back",
    "m times the previous line": r"$m$ times the line before",
    "1 times the previous line": r"the line before",
    "sympy: lhs - rhs, in exp form, simplifies to 0": (
        r"sympy simplifies the difference of the two sides, written with $\exp$, to $0$"),
    "sympy: the difference reduces to 0 (sigmoid in exp form where it appears)": (
        r"sympy reduces the difference of the two sides to $0$ (with $\sigma$ written through $\exp$ where it appears)"),
}


def _note(rule: str) -> str:
    return _NOTES.get(rule, _t(rule))


def render_derivation(d: Derivation) -> str:
    """A step-by-step scalar derivation as one chain of equalities, numbered;
    the justification of each step as mathematics, and how sympy checked them
    (said once when it is the same for every step).

    A step whose left side is a quantity already on the page continues the
    chain; a named quantity (``L``) is written by its name when it is
    differentiated.
    """
    names: dict[Any, str] = {}
    for step in d.steps:
        if isinstance(step.lhs, sp.Symbol) and step.check == "definition":
            names[step.rhs] = step.lhs.name
    common, _ = Counter(s.check for s in d.steps if s.check != "definition").most_common(1)[0] if any(
        s.check != "definition" for s in d.steps) else ("", 0)
    rows: list[tuple[str, Any, str | None]] = []
    seen: list[Any] = []
    for k, step in enumerate(d.steps, start=1):
        lhs = step.lhs
        if isinstance(lhs, sp.Derivative) and lhs.expr in names:
            (var, _count), = lhs.variable_count
            lhs_tex = rf"\frac{{\partial {names[lhs.expr]}}}{{\partial {tex(var)}}}"
        else:
            lhs_tex = tex(lhs)
        rhs: Any = step.rhs
        if step.check == "definition" and isinstance(step.lhs, sp.Symbol) and step.rhs.has(sp.log):
            y, a = sp.Symbol("Y", real=True), sp.Symbol("A3", positive=True)
            m = sp.Symbol("m", positive=True, integer=True)
            if sp.expand(step.rhs + bce_terms(y, a) / m) == 0:
                rhs = cost_tex(y, a)
            elif sp.expand(step.rhs + bce_terms(y, a)) == 0:  # the sum reduction: N = 1
                rhs = f"-\\left[{tex(bce_terms(y, a))}\\right]"
        rhs = (_product(rhs) or _scaled_sum(rhs) or rhs) if not isinstance(rhs, str) else rhs
        cont = bool(seen) and any(lhs == s for s in seen)
        rows.append(("" if cont else lhs_tex, rhs, f"[{k}]"))
        seen.extend([step.lhs, step.rhs])
    items = []
    for k, s in enumerate(d.steps, start=1):
        extra = ""
        if s.check not in ("definition", common):
            parts = [p.strip() for p in s.check.split("; ") if p.strip() and p.strip() != common]
            extra = " (" + "; ".join(_CHECKS.get(p, _t(p)) for p in parts) + ")"
        mark = "" if s.verified else " \\failed{}"
        items.append(f"  \\item[{{[{k}]}}] {_note(s.rule)}{extra}.{mark}")
    checked = all(s.verified for s in d.steps)
    how = f"\\checked{{{_mark(checked)} every step except definitions: {_CHECKS.get(common, _t(common))}.}}" if common else ""
    return _align(rows) + "\n\\begin{itemize}\\small\n" + "\n".join(items) + "\n\\end{itemize}\n" + how


# ------------------------------------------------------------ matrix chains
# each line of a matrix chain cites one of these justifications (stated once in Section 5)
CHAIN_TAGS: dict[str, str] = {
    "D": r"definition of the gradient, in the convention of Section~\ref{sec:notation}",
    "R": r"the operation's rule in matrix form; its index form is proven in Section~\ref{sec:rules}",
    "C": r"the convention $\frac{\partial J}{\partial Z} = \frac{1}{m}\,\mathrm{d}Z$ (or $\frac{\partial J}{\partial A} = \frac{1}{m}\,\mathrm{d}A$)",
    "S": r"substitute the result of the subsection before",
    "B": r"sigmoid with cross-entropy, Section~\ref{sec:bce}: $\frac{\partial J}{\partial Z_3} = \frac{1}{m}\,(A_3 - Y)$",
}


def _chain_tag(reason: str) -> str:
    if reason.startswith("definition"):
        return "D"
    if "matrix form of its index form" in reason:
        return "R"
    if reason.startswith("convention"):
        return "C"
    if reason.startswith("substitute"):
        return "S"
    if reason.startswith("entrywise BCE"):
        return "B"
    return "?"


def render_chain(chain: MatrixChain, *, tag_of: Any = None) -> str:
    """One backward formula: its chain of equalities, each line tagged with the
    justification it uses (:data:`CHAIN_TAGS`, or ``tag_of(reason)``), then the
    shape of every factor."""
    tag_of = tag_of or _chain_tag
    rows: list[tuple[str, Any, str | None]] = []
    for k, line in enumerate(chain.lines, start=1):
        tag = f"({tag_of(line.reason)})" + ("" if line.ok else r" \failed{}")
        rows.append((tex(chain.lhs) if k == 1 else "", line.expr, tag))
    shapes = f"\\[\n  {tex_shapes(chain.lhs)} = {tex_shapes(chain.result)}\n\\]"
    return _align(rows) + "\nWith the shape of every factor:\n" + shapes


def render_index(eq: IndexEquation, *, with_chain: bool = True, check: bool = True) -> str:
    """An index-form equation (with its chain-rule sum when there is one)."""
    rows: list[tuple[str, Any, str | None]] = [
        (tex(eq.lhs), eq.chain if (with_chain and eq.chain is not None) else eq.rhs, None)
    ]
    if with_chain and eq.chain is not None:
        rows.append(("", eq.rhs, None))
    out = _align(rows)
    if check or not eq.ok:
        out += f"\n\\checked{{{_mark(eq.ok)} {_t(eq.check)}.}}"
    return out


# ---------------------------------------------------------- the activations
def render_activation_section(info: ActivationInfo, *, label: str | None = None) -> str:
    """f, f', kinks and the derivative in terms of the output, for one activation."""
    r = info.role
    name = _t(info.name)
    out = [f"\\subsection{{${r}$ = \\texttt{{{name}}}}}" + (f"\\label{{{label}}}" if label else "")]
    out.append(_align([(f"{r}(z)", info.expr, None), (f"{r}'(z)", info.deriv, None)]))
    out.append(
        f"\\checked{{${r}'$ is sympy's \\texttt{{diff}} of ${r}$; the same expression is lambdified for the "
        "numeric checks of Section~\\ref{sec:verification}.}"
    )
    if info.kinks:
        rows = []
        for k in info.kinks:
            kind = ("jump ($" + r + "$ is not continuous)" if k.jump
                    else "kink (not differentiable)" if k.is_kink else "break point, differentiable")
            rows.append(f"  ${tex(k.at)}$ & ${tex(k.left)}$ & ${tex(k.right)}$ & {kind} \\\\")
        out.append(caption_table(
            f"Break points of ${r}$, with the one-sided derivatives.", f"tab:kinks-{r}",
            "\\begin{tabular}{@{}llll@{}}\\toprule\n"
            f"  $z$ & left ${r}'$ & right ${r}'$ & kind \\\\\\midrule\n" + "\n".join(rows) + "\n"
            "\\bottomrule\\end{tabular}",
        ))
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
        where = "on each side of every break point" if info.kinks else "for every real $z$"
        out.append(f"\\checked{{{_mark(info.output_ok)} sympy: substituting $a = {r}(z)$ gives ${r}'(z)$ "
                   f"exactly, {where}.}}")
    elif info.collision is not None:
        z1, z2 = info.collision
        out.append(
            f"Derivative in terms of the output $a = {r}(z)$: there is none, since ${r}$ is not one-to-one: "
            f"${r}({z1:.4f}) = {r}(z_2)$ for $z_2 \\approx {z2:.4f}$, while ${r}'({z1:.4f}) \\ne {r}'(z_2)$ "
            f"(found by bisection with the lambdified ${r}$ and ${r}'$)."
        )
    else:
        out.append(f"Derivative in terms of the output $a = {r}(z)$: {_t(info.output_check)}.")
    return "\n".join(out)


# -------------------------------------------------------------- sections
def _notation(net: Network) -> str:
    rows = [("X", "inputs, one example per column"), ("Y", "targets in $[0, 1]$")]
    meaning = {1: "first hidden layer, activation $f$", 2: "second hidden layer, activation $g$",
               net.depth: "output layer, sigmoid $\\sigma$"}
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
        (tex(MatrixSymbol("dZl", rows_l, m)), sp.MatMul(m, Grad(Zl)), None),
        (tex(MatrixSymbol("dWl", rows_l, m)), Grad(Wl), None),
        (tex(MatrixSymbol("dbl", rows_l, m)), Grad(bl), None),
    ]
    table = caption_table(
        "The symbols of the network, their shapes and meanings.", "tab:notation",
        "\\begin{tabular}{@{}lll@{}}\\toprule\n  symbol & shape & meaning \\\\\\midrule\n"
        + "\n".join(out_rows) + "\n\\bottomrule\\end{tabular}",
    )
    return (
        "\\section{The network and its notation}\\label{sec:notation}\n"
        f"A binary classifier with {net.depth - 1} hidden layers; the widths follow the article's shape table, "
        "one letter per layer, and $m$ is the number of examples (one per column), Table~\\ref{tab:notation}.\n"
        + table + "\n"
        "Biases broadcast over the $m$ columns, written $b\\,\\mathbf{1}_m^{\\top}$, where $\\mathbf{1}_m$ is the "
        "column of $m$ ones. $\\sigma(z) = 1/(1 + e^{-z})$ is the sigmoid, $\\odot$ the elementwise product, and "
        "$\\mathrm{d}$ (upright) marks a differential or a gradient's name. "
        "$q > 1$ is multi-label binary cross-entropy and changes nothing below. "
        "\\textbf{Gradient convention} (the article's): the gradients with respect to $Z$ (and $A$) are scaled "
        "by $m$, while those of the parameters are the true partial derivatives of the mean cost $J$ "
        "(Section~\\ref{sec:forward}); for every layer $l$,\n"
        + _align(conv_rows)
        + "\n($\\mathrm{d}Z\\,\\mathbf{1}_m$ sums each row, keeping the column shape.)"
    )


def _forward(report: NetworkReport, net: Network) -> str:
    rows = [(tex(s.lhs), s.rhs, None) for s in report.forward.steps]
    i, k = sp.symbols("i k", integer=True, positive=True)
    Y, A3 = sp.IndexedBase("Y"), sp.IndexedBase(f"A{net.depth}")
    q = tex(net.size(net.depth))
    cost = cost_tex(Y[i, k], A3[i, k], sums=f"\\sum_{{i=1}}^{{{q}}} \\sum_{{k=1}}^{{m}} ")
    return (
        "\\section{Forward propagation and the cost}\\label{sec:forward}\n"
        + _align(rows)
        + "\nThe cost is the mean binary cross-entropy over the $m$ examples (summed over the $q$ outputs):\n"
        + f"\\begin{{equation}}\\label{{eq:cost}}\n  J = {cost}\n\\end{{equation}}"
        + "\n\\checked{these are definitions. The exact proofs of Section~\\ref{sec:verification} build the cost "
        "from exactly these forward equations, and the numeric checks evaluate it stably from the logits, as "
        f"the sum of $\\log(1 + e^{{Z_{net.depth}}}) - Y \\odot Z_{net.depth}$ over all entries, divided by $m$.}}"
    )


def _scalar(report: NetworkReport) -> str:
    sig, bce = report.scalar
    return (
        "\\section{The sigmoid derivative, by the quotient rule}\\label{sec:sigmoid}\n"
        "From $\\sigma(z) = 1/(1 + e^{-z})$ to $\\sigma' = A\\,(1 - A)$, with $A = \\sigma(z)$:\n"
        + render_derivation(sig)
        + "\n\n\\section{The cross-entropy simplification}\\label{sec:bce}\n"
        "One entry of the cost~\\eqref{eq:cost}, $L$, with $A_3 = \\sigma(Z_3)$ and $Y$ the entry's target; "
        "no other term of $J$ depends on this entry of $Z_3$.\n"
        + render_derivation(bce)
    )


def _backward(report: NetworkReport) -> str:
    tags = "\n".join(f"  \\item[({k})] {v}." for k, v in CHAIN_TAGS.items())
    rule_check = Counter(r.check for r in report.rules).most_common(1)[0][0] if report.rules else ""
    out = [
        "\\section{Backward propagation, layer by layer}\\label{sec:backward}",
        "The backward pass applies one rule per operation of the forward chain, from the cost back to the "
        "input: sigmoid with cross-entropy gives $\\mathrm{d}Z_3$; each affine layer "
        "$Z = W A + b\\,\\mathbf{1}_m^{\\top}$ gives $\\mathrm{d}W$, $\\mathrm{d}b$ and the upstream "
        "$\\mathrm{d}A$; each activation $A = f(Z)$ gives $\\mathrm{d}Z$. The rules are proven first in index "
        "form for symbolic sizes (Section~\\ref{sec:rules}); the matrix forms after it are their restatements. "
        "Each line of a chain cites one of these justifications:\n\\begin{itemize}\\small\n" + tags
        + "\n\\end{itemize}\nEvery line after (D) and (R) was redone by sympy (the substitution carried out, "
        "equal to the line before), and every chain ends at the formula that is also proven exactly and "
        "checked numerically in Section~\\ref{sec:verification}.",
        "\\subsection{The rules in index form}\\label{sec:rules}",
        "Here $G = m\\,\\partial J/\\partial Z$ is the upstream gradient in the article's convention, "
        "$D = m\\,\\partial J/\\partial A$, and $\\delta$ is the Kronecker delta. "
        f"\\checked{{{_mark(all(r.ok for r in report.rules))} for each rule, {_t(rule_check)}.}}",
    ]
    for rule in report.rules:
        out.append(f"\\paragraph{{{_t(rule.name)}.}}")
        out.append(render_index(rule, check=rule.check != rule_check))
    forms = {e.name: e for e in report.index_forms}
    for chain in report.chains:
        title = f"${tex(chain.lhs)}$" + (" (intermediate)" if chain.name.startswith("dA") else "")
        out.append(f"\\subsection{{{title}}}")
        out.append(render_chain(chain))
        if chain.name in forms:
            out.append("In index form (equal to the matrix form entry by entry, Section~\\ref{sec:verification}):")
            out.append(render_index(forms[chain.name], with_chain=False, check=False))
    return "\n".join(out)


def _activations(report: NetworkReport) -> str:
    return (
        "\\section{The activations}\\label{sec:activations}\n"
        + render_activation_section(report.f)
        + "\n\n"
        + render_activation_section(report.g)
    )


def render_network(report: NetworkReport, net: Network = ARTICLE) -> str:
    """The whole network report as LaTeX text (deterministic: no dates, no
    timings, no number that depends on BLAS or the thread count)."""
    from derive.report.sections import errata_section, figures_section, training_section, verification_section

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
        "Sections~\\ref{sec:activations}, \\ref{sec:verification} and~\\ref{sec:figures}"
        + (", and Section~\\ref{sec:training} trains the network on handwritten digits" if report.training else "")
        + ".\n\\end{abstract}"
    )
    body = [
        intro,
        "\\tableofcontents",
        _notation(net),
        _forward(report, net),
        _scalar(report),
        _backward(report),
        _activations(report),
        verification_section(report),
    ]
    if report.training is not None:
        body.append(training_section(report.training))
    body += [errata_section(report), figures_section(report)]
    return document(
        title,
        body,
        pdf_title=f"Backpropagation, derived and checked: f = {f}, g = {g}",
        subject="Gradients of a 3-layer sigmoid/cross-entropy network, derived with sympy, proven and checked",
        keywords="backpropagation, gradient, chain rule, sympy, finite differences, complex step, " + f"{f}, {g}",
    )
