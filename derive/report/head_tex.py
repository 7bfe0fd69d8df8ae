"""The head's scalar derivations as mathematics (softmax, cross-entropy, MSE, L2).

:func:`render_steps` prints one :class:`derive.steps.Derivation` of
:mod:`derive.scalar` as a numbered chain of equalities with each step's
justification as LaTeX (:data:`NOTES`), like
:func:`derive.report.latex.render_derivation` does for the sigmoid and the
binary cross-entropy.  A definition repeated by the derivation (the softmax
entry, once per Jacobian entry shown) is printed once.  Pure rendering.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import sympy as sp

from derive.report.escape import latex_escape
from derive.report.latex import _product, _scaled_sum
from derive.report.layout import align
from derive.report.texprint import tex
from derive.steps import Derivation

__all__ = ["NOTES", "render_steps"]

_SUMS = r"\sum_{j=1}^{q} e^{z_{j}}"

# rule text of derive.scalar -> its justification as mathematics
NOTES: dict[str, str] = {
    # softmax Jacobian
    "definition a1 = e^z1 / sum_j e^zj": (
        r"definition of the softmax, $a_{1} = e^{z_{1}} / " + _SUMS + r"$ (written out for $q = 3$)"),
    "quotient rule: (u/v)' = (u'v - uv')/v^2": (
        r"quotient rule $\left(\frac{u}{v}\right)' = \frac{u'v - u v'}{v^{2}}$ with $u = e^{z_{1}}$, $v = "
        + _SUMS + r"$: $\frac{\partial u}{\partial z_{k}} = \delta_{1k}\,e^{z_{1}}$ and "
        r"$\frac{\partial v}{\partial z_{k}} = e^{z_{k}}$"),
    "split the fraction": (
        r"split into two factors, $\frac{u}{v}\left(\delta_{1k} - \frac{e^{z_{k}}}{v}\right) = "
        r"a_{1}\,(\delta_{1k} - a_{k})$"),
    "name a_j = softmax(z)_j": (
        r"name $a_{j} = \operatorname{softmax}(z)_{j}$; the same steps for every entry $(i, k)$ give the "
        r"Jacobian"),
    # cross-entropy through the softmax
    "per-example CE term of the mean cost": (
        r"the terms of the cost~\eqref{eq:cost} that hold one example (one column; $q = 3$ written out)"),
    "log of a quotient: log a_i = z_i - log sum_j e^zj": (
        r"$\log a_{i} = z_{i} - \log " + _SUMS + r"$, the log of a quotient of positive numbers"),
    "chain rule with the softmax Jacobian": (
        r"chain rule $\frac{\partial L}{\partial z_{1}} = \sum_{i=1}^{q} \frac{\partial L}{\partial a_{i}}\,"
        r"\frac{\partial a_{i}}{\partial z_{1}}$ with $\frac{\partial L}{\partial a_{i}} = -\frac{y_{i}}{m\,a_{i}}$ "
        r"and the Jacobian above"),
    "collect: sum_i y_i a_k - y_k": r"collect: $\frac{1}{m}\left(a_{1} \sum_{i=1}^{q} y_{i} - y_{1}\right)$",
    "per-example CE term of the summed cost": (
        r"the terms of the cost~\eqref{eq:cost} that hold one example (one column; $q = 3$ written out), "
        r"summed over the examples ($N = 1$)"),
    "chain rule with the softmax Jacobian, N = 1": (
        r"chain rule $\frac{\partial L}{\partial z_{1}} = \sum_{i=1}^{q} \frac{\partial L}{\partial a_{i}}\,"
        r"\frac{\partial a_{i}}{\partial z_{1}}$ with $\frac{\partial L}{\partial a_{i}} = -\frac{y_{i}}{a_{i}}$ "
        r"and the Jacobian above"),
    "collect: sum_i y_i a_k - y_k, N = 1": r"collect: $a_{1} \sum_{i=1}^{q} y_{i} - y_{1}$",
    "ASSUMPTION sum_i y_i = 1 (one-hot or label smoothing)": (
        r"\textbf{assumption:} $\sum_{i=1}^{q} y_{i} = 1$, every column of $Y$ sums to 1 (one-hot labels, or "
        r"label smoothing); without it the collapse does not hold"),
    "m dJ/dZ (the article's convention)": (
        r"$\mathrm{d}Z = m\,\frac{\partial J}{\partial Z}$, entry $k$ (Section~\ref{sec:notation})"),
    # squared error
    "per-entry term of the cost": r"the term of the cost~\eqref{eq:cost} that holds this entry",
    "power rule: d (a - y)^2 / da = 2 (a - y)": (
        r"power rule $\frac{\mathrm{d}}{\mathrm{d}A}\left(A - Y\right)^{2} = 2\,(A - Y)$"),
    "sigmoid derivative": r"$\sigma' = \sigma\,(1 - \sigma)$, Section~\ref{sec:sigmoid}",
    "chain rule: dL/dZ = dL/dA dA/dZ": (
        r"chain rule $\frac{\partial L}{\partial Z} = \frac{\partial L}{\partial A}\,\frac{\mathrm{d}A}{\mathrm{d}Z}$ "
        r"with $\frac{\mathrm{d}A}{\mathrm{d}Z} = A\,(1 - A)$"),
    "identity output: A = Z, dA/dZ = 1": (
        r"identity output: $A = Z$, so $\frac{\mathrm{d}A}{\mathrm{d}Z} = 1$ and "
        r"$\frac{\partial L}{\partial Z} = \frac{\partial L}{\partial A}$"),
    "m dJ/dZ (the dZ convention)": r"$\mathrm{d}Z = m\,\frac{\partial J}{\partial Z}$ (Section~\ref{sec:notation})",
    "1 dJ/dZ (the dZ convention)": (
        r"$\mathrm{d}Z = \frac{\partial J}{\partial Z}$ under the sum reduction (Section~\ref{sec:notation})"),
    # L2
    "the term of the penalty that holds the weight w": (
        r"the term of the L2 penalty that holds one weight $w$, an entry of some $W_{l}$"),
    "biases are not regularised: dR/db": r"biases are not regularised: no term of the penalty holds a bias $b$",
    "power rule: dR/dw": r"power rule",
    "added to dW (a true partial, no factor m)": (
        r"added to $\mathrm{d}W_{l}$ as it is: $\mathrm{d}W_{l}$ is a true partial derivative, with no factor $m$"),
}

_CHECKS: dict[str, str] = {
    "sympy: lhs - rhs, in exp form, simplifies to 0": (
        r"sympy simplifies the difference of the two sides, written with $\exp$, to $0$"),
    "sympy: the difference with logs of positive quotients expanded reduces to 0": (
        r"sympy reduces the difference, with the logs of positive quotients expanded, to $0$"),
    "m times the previous line": r"$m$ times the line before",
    "1 times the previous line": r"the line before",
}

# names the derivations give their results -> LaTeX
_NAMES: dict[str, str] = {
    "da_i/dz_k": r"\frac{\partial a_{i}}{\partial z_{k}}",
    "dZ_k": r"\mathrm{d}Z_{k}",
}
_ENTRIES = {sp.Symbol("a_k"): sp.IndexedBase("a")[sp.Symbol("k")],
            sp.Symbol("y_k"): sp.IndexedBase("y")[sp.Symbol("k")]}


_S = sp.Symbol("S", positive=True)


def _is_partition_sum(e: Any) -> bool:
    """``e^{z_1} + ... + e^{z_q}``: the softmax's denominator."""
    return isinstance(e, sp.Add) and len(e.args) >= 2 and all(
        isinstance(t, sp.exp) and isinstance(t.args[0], sp.Symbol) and t.args[0].name.startswith("z")
        for t in e.args)


def _abbreviate(expr: Any) -> tuple[Any, int]:
    """The softmax's denominator written ``S`` (display only: sympy checked the
    full expression); also returns the number of terms it had (0: none)."""
    if not isinstance(expr, sp.Basic):
        return expr, 0
    found = [e for e in sp.preorder_traversal(expr) if _is_partition_sum(e)]
    if not found:
        return expr, 0
    with sp.evaluate(False):  # keep products built unevaluated (a split fraction stays split)
        out = expr.xreplace({found[0]: _S})
    return out, len(found[0].args)


def _check_text(check: str) -> str:
    if check in _CHECKS:
        return _CHECKS[check]
    head, sep, rest = check.partition(": ")
    if sep and rest in _CHECKS:  # "every k = 1..3, with ... substituted: sympy ..."
        return latex_escape(head) + ": " + _CHECKS[rest]
    return latex_escape(check)


def _lhs_tex(lhs: Any, names: dict[Any, str]) -> str:
    if isinstance(lhs, sp.Symbol) and lhs.name in _NAMES:
        return _NAMES[lhs.name]
    if isinstance(lhs, sp.Derivative) and lhs.expr in names and len(lhs.variable_count) == 1:
        (var, _count), = lhs.variable_count
        return rf"\frac{{\partial {names[lhs.expr]}}}{{\partial {tex(var)}}}"
    return tex(lhs)


def render_steps(d: Derivation) -> str:
    """One scalar derivation of a head (or the L2 term): numbered equalities,
    then each step's justification and how sympy checked it.

    A step whose left side is that of the step before continues the chain; a
    definition already printed is not printed again.
    """
    names: dict[Any, str] = {}
    for step in d.steps:
        if isinstance(step.lhs, sp.Symbol) and step.check == "definition" and not isinstance(step.rhs, str):
            names.setdefault(step.rhs, tex(step.lhs))
    checks = [s.check for s in d.steps if s.check != "definition"]
    common = Counter(checks).most_common(1)[0][0] if checks else ""
    rows: list[tuple[str, Any, str | None]] = []
    items: list[str] = []
    shown: set[tuple[Any, Any]] = set()
    previous: Any = None
    q = 0
    for k, step in enumerate(d.steps, start=1):
        if step.check == "definition" and (step.lhs, step.rhs) in shown:
            continue
        shown.add((step.lhs, step.rhs))
        rhs = step.rhs.xreplace(_ENTRIES) if isinstance(step.rhs, sp.Basic) else step.rhs
        rhs, terms = _abbreviate(rhs)
        q = q or terms
        if isinstance(rhs, sp.Basic):
            rhs = _product(rhs) or _scaled_sum(rhs) or rhs
        cont = previous is not None and step.lhs in previous
        rows.append(("" if cont else _lhs_tex(step.lhs, names), rhs, f"[{k}]"))
        previous = (step.lhs, step.rhs)
        extra = ""
        if step.check not in ("definition", common):
            parts = [p.strip() for p in step.check.split("; ") if p.strip() and p.strip() != common]
            extra = " (" + "; ".join(_check_text(p) for p in parts) + ")" if parts else ""
        mark = "" if step.verified else " \\failed{}"
        items.append(f"  \\item[{{[{k}]}}] {NOTES.get(step.rule, latex_escape(step.rule))}{extra}.{mark}")
    ok = all(s.verified for s in d.steps)
    verdict = r"\ok{}" if ok else r"\failed{}"
    how = f"\\checked{{{verdict} every step except definitions: {_check_text(common)}.}}" if common else ""
    where = f"with $S = \\sum_{{j=1}}^{{{q}}} e^{{z_{{j}}}}$ written for the softmax's denominator:\n" if q else ""
    return where + align(rows) + "\n\\begin{itemize}\\small\n" + "\n".join(items) + "\n\\end{itemize}\n" + how
