"""LaTeX for the report's sympy objects: matrix formulas, shapes, long lines.

:func:`tex` prints any sympy object the derivation makes (MatrixSymbols
named ``dW3``, transposes, Hadamard products, :class:`derive.matrix.Apply`
and :class:`derive.matrix.Ones` nodes, scalar expressions) in the report's
notation; :func:`tex_shapes` prints a matrix formula with the shape of every
factor under it; :func:`display` breaks a long equation into aligned lines.

Symbol and function names that are not plain identifiers go through
:func:`derive.report.escape.latex_escape` (sympy's own printer copies names
verbatim, so a name could otherwise inject LaTeX).
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import sympy as sp
from sympy.matrices.expressions import HadamardProduct, MatAdd, MatMul, MatrixExpr, MatrixSymbol, Transpose
from sympy.printing.latex import LatexPrinter

from derive.matrix import Apply, Ones
from derive.report.escape import latex_escape

__all__ = ["Grad", "function_tex", "tex", "tex_shapes", "tex_shape", "display", "align_rows", "visible_width", "name_tex"]

_MATRIX_NAME = re.compile(r"^(d?)([A-Za-z])(\d*|l)$")
_PLAIN_NAME = re.compile(r"^[A-Za-z]\d*$")
_PARTIAL_NAME = re.compile(r"^d([A-Za-z])/d([A-Za-z])(\d*)$")
_LONG_DIGITS = 9
# names printed as Greek letters: the L2 rate and the placeholder activations
# of deep networks (derive.chain names hidden layers f, g, h, k, phi, psi, chi)
_GREEK = frozenset({"lambda", "phi", "psi", "chi"})
_INDEXED_FN = re.compile(r"^([a-z])(\d+)$")


class Grad(MatrixExpr):
    """The true partial ``dJ/dX`` of the cost, shaped like ``X`` (chain-rule lines)."""

    def __new__(cls, of: MatrixSymbol) -> "Grad":
        return sp.Basic.__new__(cls, of)

    @property
    def of(self) -> MatrixSymbol:
        return self.args[0]

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.of.shape

    def _sympystr(self, printer: Any) -> str:
        return f"dJ/d{self.of.name}"


def name_tex(name: str) -> str:
    """``dW3`` -> ``\\mathrm{d}W_{3}``, ``A2`` -> ``A_{2}``, ``dL/dZ3`` -> a fraction."""
    match = _MATRIX_NAME.match(name)
    if match:
        d, letter, digits = match.groups()
        head = (r"\mathrm{d}" if d else "") + letter
        return f"{head}_{{{digits}}}" if digits else head
    match = _PARTIAL_NAME.match(name)
    if match:
        top, letter, digits = match.groups()
        sub = f"_{{{digits}}}" if digits else ""
        return rf"\frac{{\partial {top}}}{{\partial {letter}{sub}}}"
    return rf"\mathtt{{{latex_escape(name)}}}"


def function_tex(fn: str) -> str:
    """A placeholder activation's name: ``f`` as is, ``phi`` -> ``\\phi``, ``f5`` -> ``f_{5}``."""
    if fn in _GREEK:
        return "\\" + fn
    match = _INDEXED_FN.match(fn)
    return f"{match.group(1)}_{{{match.group(2)}}}" if match else fn


def _lead_positive(terms: list[Any]) -> list[Any]:
    """Stored order, except that a sum does not start with a minus sign when
    some term has none (``-Y + sigma`` prints as ``sigma - Y``)."""
    if len(terms) > 1 and tuple(sp.Add(*terms).args) != tuple(terms):
        return terms  # built with evaluate=False in a chosen order: keep it
    if terms and terms[0].could_extract_minus_sign():
        for i, t in enumerate(terms):
            if not t.could_extract_minus_sign():
                return [t] + terms[:i] + terms[i + 1 :]
    return terms


def _factor_rank(f: sp.Indexed) -> int:
    """Print order of indexed factors, as in the matrix forms: W, then the
    upstream gradient (G, D, dZ...), then activations and inputs."""
    name = str(f.base.label)
    if name.startswith("W"):
        return 0
    return 1 if name[0] in "GD" or name.startswith("d") else 2


class _ReportPrinter(LatexPrinter):
    """sympy's LatexPrinter with the report's matrix notation."""

    def __init__(self, shapes: bool = False, order: str | None = "none") -> None:
        # order "none": sums print in their stored order, so terms built with
        # evaluate=False (the BCE) read as written
        super().__init__({"mul_symbol": None, "fold_short_frac": False, "order": order})
        self._shapes = shapes

    def _print(self, expr: Any, **kwargs: Any) -> str:
        # Apply and Ones carry their own _latex, which sympy would prefer
        if isinstance(expr, Apply):
            return self._print_Apply(expr)
        if isinstance(expr, Ones):
            return self._print_Ones(expr)
        return super()._print(expr, **kwargs)

    # -- names ----------------------------------------------------------
    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        if _PLAIN_NAME.match(expr.name) or expr.name in {"alpha", "beta", "sigma", "pi"} | _GREEK:
            return super()._print_Symbol(expr)
        return name_tex(expr.name)

    def _print_Dummy(self, expr: sp.Dummy) -> str:
        return expr.name if _PLAIN_NAME.match(expr.name) else r"k"

    def _print_MatrixSymbol(self, expr: MatrixSymbol) -> str:
        return self._brace(expr, name_tex(expr.name))

    def _print_Function(self, expr: Any, exp: Any = None) -> str:
        name = type(expr).__name__
        if isinstance(type(expr), sp.core.function.UndefinedFunction) and name in _GREEK:
            args = ", ".join(self._print(a) for a in expr.args)
            out = rf"\{name}\left({args}\right)"
            return f"{out}^{{{exp}}}" if exp is not None else out
        if isinstance(type(expr), sp.core.function.UndefinedFunction) and not _PLAIN_NAME.match(name):
            args = ", ".join(self._print(a) for a in expr.args)
            out = rf"\mathtt{{{latex_escape(name)}}}\left({args}\right)"
            return f"{out}^{{{exp}}}" if exp is not None else out
        return super()._print_Function(expr, exp)

    def _print_log(self, expr: Any, exp: Any = None) -> str:
        r"""``\log Y`` for a single symbol or entry (no double parentheses around ``(A_3)_{ik}``)."""
        arg = expr.args[0]
        if isinstance(arg, (sp.Symbol, sp.Indexed)) and exp is None:
            return rf"\log {self._print(arg)}"
        return super()._print_log(expr, exp) if hasattr(super(), "_print_log") else super()._print_Function(expr, exp)

    def _print_Float(self, expr: sp.Float) -> str:
        return super()._print_Float(sp.Float(expr, 10))

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        name = expr.base.label.name if hasattr(expr.base.label, "name") else str(expr.base.label)
        idx = [self._print(x) for x in expr.indices]
        sub = "".join(idx) if all(len(x) == 1 for x in idx) else ",".join(idx)
        head = name_tex(name)
        if any(ch.isdigit() for ch in name):
            head = rf"\left({head}\right)"
        return f"{head}_{{{sub}}}"

    def _prime(self, fn: Any, arg: Any, order: int) -> str | None:
        if isinstance(fn, sp.core.function.UndefinedFunction) and _PLAIN_NAME.match(fn.__name__):
            return rf"{fn.__name__}{chr(39) * order}\left({self._print(arg)}\right)"
        return None

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        inner = expr.expr
        if (
            isinstance(inner, sp.core.function.AppliedUndef)
            and len(inner.args) == 1
            and len(expr.variable_count) == 1
            and expr.variable_count[0][0] == inner.args[0]
        ):
            out = self._prime(type(inner), inner.args[0], int(expr.variable_count[0][1]))
            if out:
                return out
        return self._upright_derivative(expr)

    def _upright_derivative(self, expr: sp.Derivative) -> str:
        r"""``\frac{\mathrm{d}}{\mathrm{d}z}`` (one variable) or ``\partial`` (several),
        the report's one notation for differentials."""
        count = sum(int(c) for _, c in expr.variable_count)
        several = len(expr.expr.free_symbols) > 1 or len(expr.variable_count) > 1
        d = r"\partial" if several else r"\mathrm{d}"
        top = f"{d}^{{{count}}}" if count > 1 else d
        bottom = " ".join(
            f"{d} {self._print(v)}" + (f"^{{{int(c)}}}" if int(c) > 1 else "") for v, c in expr.variable_count
        )
        inner = self._print(expr.expr)
        if isinstance(expr.expr, (sp.Add, sp.Mul)) and not isinstance(expr.expr, sp.Pow):
            inner = rf"\left({inner}\right)"
        return rf"\frac{{{top}}}{{{bottom}}} {inner}"

    def _print_Sum(self, expr: sp.Sum) -> str:
        r"""Every sum as ``\sum_{i=1}^{n}``, one sign per index, in the order the limits were written."""
        order = "ijrkc"  # row indices before column indices, whatever order they were written in
        limits = sorted(expr.limits, key=lambda lim: order.find(str(lim[0])) % 10)
        heads = "".join(
            rf"\sum_{{{self._print(i)}={self._print(lo)}}}^{{{self._print(hi)}}} " for i, lo, hi in limits
        )
        inner = self._print(expr.function)
        if isinstance(expr.function, sp.Add):
            inner = rf"\left[{inner}\right]"
        return heads + inner

    def _print_Subs(self, subs: sp.Subs) -> str:
        expr, old, new = subs.args
        if isinstance(expr, sp.Derivative) and len(old) == 1 and isinstance(expr.expr, sp.core.function.AppliedUndef):
            if expr.expr.args == (old[0],) and len(expr.variable_count) == 1:
                out = self._prime(type(expr.expr), new[0], int(expr.variable_count[0][1]))
                if out:
                    return out
        return super()._print_Subs(subs)

    def _print_Mul(self, expr: sp.Mul) -> str:
        factors = sp.Mul.make_args(expr)
        sums = [f for f in factors if isinstance(f, sp.Sum)]
        indexed = [f for f in factors if isinstance(f, sp.Indexed)]
        if len(sums) == 1:
            coeff = sp.Mul(*(f for f in factors if f is not sums[0]))
            head = self._print(coeff) if coeff not in (1, -1) else ("-" if coeff == -1 else "")
            return rf"{head}\,{self._print(sums[0])}" if head not in ("", "-") else head + self._print(sums[0])
        def is_factor(f: Any) -> bool:  # an entry, a delta, a derivative or an entry-valued function
            return isinstance(f, (sp.Indexed, sp.Derivative, sp.Subs, sp.KroneckerDelta)) or (
                isinstance(f, sp.Function) and any(isinstance(a, sp.Indexed) for a in f.args)
            ) or type(f).__name__ == "_Entry"

        if (indexed or any(isinstance(f, sp.KroneckerDelta) for f in factors)) and all(is_factor(f) for f in factors):
            # one operand order: weights, the upstream gradient, deltas, activations and inputs
            def rank(f: Any) -> int:
                if isinstance(f, sp.Indexed):
                    return {0: 0, 1: 1, 2: 4}[_factor_rank(f)]
                if isinstance(f, sp.KroneckerDelta):
                    return 3
                if type(f).__name__ == "_Entry":
                    return 1  # an entry of the upstream gradient
                if isinstance(f, (sp.Derivative, sp.Subs)):
                    return 2  # an activation's derivative: after the gradient
                return 5  # log, sigma, ... of an entry: after the entries

            return r"\,".join(self._print(f) for f in sorted(factors, key=rank))
        if indexed and all(not isinstance(f, sp.Number) for f in factors):
            rest = [f for f in factors if not isinstance(f, sp.Indexed)]
            head = r"\,".join(self._print(f) for f in sorted(indexed, key=_factor_rank))
            if len(rest) == 1 and isinstance(rest[0], sp.Add):  # Mul of one factor is that sum: keep its parentheses
                return head + r"\," + rf"\left({self._print(rest[0])}\right)"
            return head + r"\," + super()._print_Mul(sp.Mul(*rest, evaluate=False)) if rest else head
        return super()._print_Mul(expr)

    def _print_Add(self, expr: sp.Add, order: Any = None) -> str:
        terms = _lead_positive(list(sp.Add.make_args(expr)))
        if len(terms) == 2 and all(t.has(sp.log) for t in terms):
            # the cross-entropy's terms as the cost is written: Y log A + (1 - Y) log(1 - A)
            terms = sorted(terms, key=lambda t: any(isinstance(f, sp.Add) for f in sp.Mul.make_args(t)))
        return super()._print_Add(sp.Add(*terms, evaluate=False), order="none")

    # -- matrix algebra -------------------------------------------------
    def _brace(self, expr: Any, body: str) -> str:
        if not self._shapes:
            return body
        return rf"\underbrace{{{body}}}_{{{tex_shape(expr.shape)}}}"

    def _print_Transpose(self, expr: Transpose) -> str:
        arg = expr.arg
        inner = name_tex(arg.name) if isinstance(arg, MatrixSymbol) else rf"\left({self._print(arg)}\right)"
        return self._brace(expr, rf"{inner}^{{\top}}")

    def _print_Apply(self, expr: Apply) -> str:
        name = r"\sigma" if expr.fn == "sigma" else function_tex(expr.fn)
        plain = _ReportPrinter(False)
        return self._brace(expr, rf"{name}{chr(39) * expr.order}\left({plain._print(expr.arg)}\right)")

    def _print_Ones(self, expr: Ones) -> str:
        rows, cols = expr.shape
        body = rf"\mathbf{{1}}_{{{self._print(cols)}}}^{{\top}}" if rows == 1 else rf"\mathbf{{1}}_{{{self._print(rows)}}}"
        return self._brace(expr, body)

    def _print_Grad(self, expr: Grad) -> str:
        of = _ReportPrinter(False)._print(expr.of)
        return self._brace(expr, rf"\frac{{\partial J}}{{\partial {of}}}")

    def _print_MatMul(self, expr: MatMul) -> str:
        scalars = [a for a in expr.args if not isinstance(a, MatrixExpr)]
        mats = [a for a in expr.args if isinstance(a, MatrixExpr)]
        parts = []
        for a in mats:
            body = self._print(a)
            parts.append(rf"\left({body}\right)" if isinstance(a, (MatAdd, HadamardProduct)) else body)
        body = r"\,".join(parts)
        coeff = sp.Mul(*scalars)
        if coeff == 1:
            return body
        if coeff == -1:
            return "-" + body
        return rf"{self._print(coeff)}\,{body}"

    def _print_HadamardProduct(self, expr: HadamardProduct) -> str:
        out = []
        # one operand order everywhere: the upstream gradient first, the activation's derivative last
        for a in sorted(expr.args, key=lambda t: isinstance(t, Apply)):
            body = self._print(a)
            if isinstance(a, (MatMul, MatAdd)):
                body = rf"\left({body}\right)"
                if self._shapes:
                    body = rf"\underbrace{{{body}}}_{{{tex_shape(a.shape)}}}"
            out.append(body)
        return r" \odot ".join(out)

    def _print_MatAdd(self, expr: MatAdd) -> str:
        terms = sorted(expr.args, key=lambda t: self._print(t).startswith("-"))
        out = self._print(terms[0])
        for t in terms[1:]:
            s = self._print(t)
            out += f" - {s[1:]}" if s.startswith("-") else f" + {s}"
        return out


def _short_numbers(expr: Any) -> Any:
    """Rationals with many digits (selu's constants) as 10-digit floats."""
    if not isinstance(expr, sp.Basic):
        return expr
    long = {
        r: sp.Float(r, 10)
        for r in expr.atoms(sp.Rational)
        if max(len(str(abs(r.p))), len(str(r.q))) > _LONG_DIGITS
    }
    return expr.xreplace(long) if long else expr


def tex(expr: Any, *, order: str | None = "none") -> str:
    """LaTeX of a sympy object in the report's notation.

    Example:
        >>> n, m = sp.symbols("n m")
        >>> tex(MatrixSymbol("dZ2", n, m) * MatrixSymbol("A1", n, m).T / m)
        '\\\\frac{1}{m}\\\\,\\\\mathrm{d}Z_{2}\\\\,A_{1}^{\\\\top}'
    """
    return _ReportPrinter(False, order).doprint(_short_numbers(expr))


def tex_shapes(expr: Any) -> str:
    """Like :func:`tex`, with ``\\underbrace{...}_{rows \\times cols}`` under every factor."""
    return _ReportPrinter(True).doprint(_short_numbers(expr))


def tex_shape(shape: Sequence[Any]) -> str:
    """``(q, m)`` -> ``q \\times m``."""
    return r" \times ".join(_ReportPrinter(False).doprint(s) for s in shape)


_FRAC = re.compile(r"\\frac\{([^{}]*)\}\{([^{}]*)\}")
_WRAPPED = re.compile(r"\\(?:operatorname|mathrm|mathtt|mathbf|text)\{([^{}]*)\}")
_SCRIPT = re.compile(r"[_^]\{([^{}]*)\}")
_NAMED = re.compile(r"\\(tanh|log|exp|sinh|cosh|sin|cos|erf|max|min)\b")
_SILENT = re.compile(r"\\(?:left|right|begin|end|underbrace|quad|qquad|limits|displaystyle)\b|\\[,;!]|[{}&]")


def visible_width(src: str) -> int:
    """A rough count of the glyphs a LaTeX math string shows (for line breaking).

    Fractions count as their wider part, sub- and superscripts as half.

    Example:
        >>> visible_width(r"\\tanh{\\left(z\\right)} + \\frac{1}{2}")
        9
    """
    prev = None
    while prev != src:
        prev = src
        src = _FRAC.sub(lambda mt: max(mt.group(1), mt.group(2), key=len), src)
        src = _WRAPPED.sub(lambda mt: mt.group(1), src)
        src = _SCRIPT.sub(lambda mt: "~" * ((len(mt.group(1).replace(" ", "")) + 1) // 2), src)
    src = _NAMED.sub(lambda mt: mt.group(1), src)
    src = _SILENT.sub("", src)
    src = re.sub(r"\\[A-Za-z]+", "x", src)
    src = re.sub(r"[_^]", "", src)
    return len(src.replace(" ", ""))


def _split_terms(expr: Any) -> list[str]:
    """The top-level terms of a sum as signed LaTeX pieces ('+ a', '- b')."""
    if isinstance(expr, sp.Add):
        ordered = _lead_positive(list(sp.Add.make_args(expr)))
        out = []
        for i, t in enumerate(ordered):
            s = tex(t)
            if i == 0:
                out.append(s)
            elif s.startswith("-"):
                out.append("- " + s[1:].lstrip())
            else:
                out.append("+ " + s)
        return out
    return [tex(expr)]


def align_rows(lhs: str, rhs: Any, *, width: int = 58) -> list[str]:
    """Rows of an ``align*`` for ``lhs = rhs``, broken at the top-level
    ``+``/``-`` of ``rhs`` when wider than ``width`` glyphs.

    An empty ``lhs`` continues the previous row's chain (``&= rhs``).  A
    single term too wide to break is scaled to the line width (``\fitline``,
    defined in the report's preamble).

    Example:
        >>> align_rows("y", sp.Symbol("x") + 1)
        ['y &= 1 + x']
    """
    pieces = _split_terms(rhs) if not isinstance(rhs, str) else [rhs]
    lines: list[str] = []
    current = ""
    budget = width - visible_width(lhs)
    for piece in pieces:
        if current and visible_width(current + piece) > budget:
            lines.append(current)
            current = piece
        else:
            current = f"{current} {piece}".strip()
    lines.append(current)
    if any(visible_width(line) > budget + 10 for line in lines):
        whole = tex(rhs) if not isinstance(rhs, str) else rhs
        return [f"{lhs} &= \\fitline{{{whole}}}".lstrip()]
    return [f"{lhs} &= {lines[0]}".lstrip()] + [f"&\\quad {line}" for line in lines[1:]]


def display(lhs: str, rhs: Any, *, width: int = 58, tag: str | None = None) -> str:
    """One displayed equation ``lhs = rhs`` (see :func:`align_rows`)."""
    rows = align_rows(lhs, rhs, width=width)
    if tag:
        rows[-1] += f" \\tag*{{{tag}}}"
    return "\\begin{align*}\n  " + " \\\\\n  ".join(rows) + "\n\\end{align*}"
