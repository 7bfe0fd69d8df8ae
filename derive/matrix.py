"""Matrix-expression nodes used by the derivation, and two ways to evaluate them.

sympy's ``MatrixSymbol`` algebra gives shape-generic formulas (``dW2 = dZ2
A1^T / m``), but it cannot differentiate through elementwise functions or
print them for NumPy.  Two small nodes fill that gap:

* :class:`Apply` -- ``f(Z)`` or ``f'(Z)`` elementwise, for a named function;
* :class:`Ones` -- the all-ones column ``1_m`` (or row ``1_m^T``), which
  writes bias broadcasting and bias sums as matrix products.

:func:`explicit` evaluates a formula at concrete shapes with sympy matrices
(for the exact proof); :class:`NumPyMatrixPrinter` prints it for
``sympy.lambdify`` (for the NumPy gradient function).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import sympy as sp
from sympy.matrices.expressions import (
    HadamardProduct,
    MatAdd,
    MatMul,
    MatrixExpr,
    MatrixSymbol,
    Transpose,
)
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from numeric._blocks import row_blocks

__all__ = ["Apply", "Ones", "Softmax", "explicit", "NumPyMatrixPrinter", "INPLACE_NAMESPACE", "plain"]


class Apply(MatrixExpr):
    """``fn(Z)`` (``order=0``) or ``fn'(Z)`` (``order=1``) applied elementwise.

    ``fn`` is a name (``"f"``, ``"g"``, ``"sigma"``); what it means is decided
    by whoever evaluates the formula.
    """

    def __new__(cls, fn: str | sp.Symbol, arg: MatrixExpr, order: int = 0) -> "Apply":
        fn = sp.Symbol(fn) if isinstance(fn, str) else fn
        return sp.Basic.__new__(cls, fn, arg, sp.Integer(order))

    @property
    def fn(self) -> str:
        return self.args[0].name

    @property
    def arg(self) -> MatrixExpr:
        return self.args[1]

    @property
    def order(self) -> int:
        return int(self.args[2])

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.arg.shape

    def _latex(self, printer: Any) -> str:
        name = r"\sigma" if self.fn == "sigma" else self.fn
        return f"{name}{chr(39) * self.order}\\left({printer._print(self.arg)}\\right)"

    def _sympystr(self, printer: Any) -> str:
        return f"{self.fn}{chr(39) * self.order}({printer._print(self.arg)})"


class Ones(MatrixExpr):
    """The all-ones matrix of shape ``(rows, cols)``; one side is 1."""

    def __new__(cls, rows: Any, cols: Any) -> "Ones":
        return sp.Basic.__new__(cls, sp.sympify(rows, strict=True), sp.sympify(cols, strict=True))

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[0], self.args[1]

    def _eval_transpose(self) -> "Ones":
        return Ones(self.args[1], self.args[0])

    def _latex(self, printer: Any) -> str:
        rows, cols = self.args
        if rows == 1:
            return rf"\mathbf{{1}}_{{{printer._print(cols)}}}^{{\top}}"
        return rf"\mathbf{{1}}_{{{printer._print(rows)}}}"

    def _sympystr(self, printer: Any) -> str:
        rows, cols = self.args
        return f"1_{cols}^T" if rows == 1 else f"1_{rows}"


class Softmax(MatrixExpr):
    """``softmax(Z)`` column by column: entry (i, j) is ``e^Z_ij / sum_k e^Z_kj``.

    Not elementwise (each entry depends on its whole column), so it is a node
    of its own: :func:`explicit` writes the quotient out, the NumPy printer
    calls a stable (max-shifted) column softmax.
    """

    def __new__(cls, arg: MatrixExpr) -> "Softmax":
        return sp.Basic.__new__(cls, arg)

    @property
    def arg(self) -> MatrixExpr:
        return self.args[0]

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.arg.shape

    def _latex(self, printer: Any) -> str:
        return rf"\operatorname{{softmax}}\left({printer._print(self.arg)}\right)"

    def _sympystr(self, printer: Any) -> str:
        return f"softmax({printer._print(self.arg)})"


def explicit_softmax(M: sp.Matrix) -> sp.Matrix:
    """Column-wise softmax of an explicit matrix, as exact quotients."""
    out = sp.zeros(M.rows, M.cols)
    for j in range(M.cols):
        col = [sp.exp(M[i, j]) for i in range(M.rows)]
        total = sp.Add(*col)
        for i in range(M.rows):
            out[i, j] = col[i] / total
    return out


def _np_softmax(Z: np.ndarray) -> np.ndarray:
    """Column softmax shifted by each column's (real) maximum: never overflows."""
    E = np.exp(Z - np.max(np.real(Z), axis=0, keepdims=True))
    E /= np.sum(E, axis=0, keepdims=True)
    return E


def explicit(
    expr: Any,
    env: Mapping[MatrixSymbol, sp.Matrix],
    apply: Callable[[Apply, sp.Matrix], sp.Matrix],
    sizes: Mapping[sp.Symbol, int],
) -> Any:
    """Evaluate a matrix formula at concrete shapes, as an explicit sympy Matrix.

    Args:
        expr: the formula (MatrixSymbol, MatAdd, MatMul, Transpose,
            HadamardProduct, Apply, Ones, or a scalar).
        env: a concrete matrix for every MatrixSymbol in ``expr``.
        apply: evaluates an :class:`Apply` node given its evaluated argument.
        sizes: integer values of the size symbols (``m``, ``n``...).

    Raises:
        TypeError: a node this evaluator does not know.
    """
    rec = lambda e: explicit(e, env, apply, sizes)  # noqa: E731
    if isinstance(expr, MatrixSymbol):
        return env[expr]
    if isinstance(expr, Apply):
        return apply(expr, rec(expr.arg))
    if isinstance(expr, Softmax):
        return explicit_softmax(rec(expr.arg))
    if isinstance(expr, Ones):
        return sp.ones(*(int(sp.sympify(s, strict=True).subs(sizes)) for s in expr.shape))
    if isinstance(expr, Transpose):
        return rec(expr.arg).T
    if isinstance(expr, MatAdd):
        parts = [rec(a) for a in expr.args]
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return total
    if isinstance(expr, MatMul):
        out: Any = sp.S.One
        for a in expr.args:
            out = out * rec(a)
        return out
    if isinstance(expr, HadamardProduct):
        parts = [rec(a) for a in expr.args]
        out = parts[0]
        for part in parts[1:]:
            out = out.multiply_elementwise(part)
        return out
    if isinstance(expr, MatrixExpr):
        raise TypeError(f"explicit() cannot evaluate {type(expr).__name__}: {expr}")
    return sp.sympify(expr, strict=True).subs(sizes)


def _rows(other: Any, rows: slice, n: int) -> Any:
    shape = getattr(other, "shape", ())
    return other[rows] if len(shape) == 2 and shape[0] == n else other


def _iadd(fresh: Any, *others: Any) -> Any:
    """``fresh += others``, row block by row block on the worker threads."""

    def work(rows: slice) -> None:
        block = fresh[rows]
        for other in others:
            block += _rows(other, rows, fresh.shape[0])

    row_blocks(*fresh.shape, work)
    return fresh


def _imul(fresh: Any, *others: Any) -> Any:
    """``fresh *= others`` (elementwise), row block by row block."""

    def work(rows: slice) -> None:
        block = fresh[rows]
        for other in others:
            block *= _rows(other, rows, fresh.shape[0])

    row_blocks(*fresh.shape, work)
    return fresh


INPLACE_NAMESPACE: dict[str, Callable[..., Any]] = {
    "_iadd": _iadd, "_imul": _imul, "_mm": np.matmul, "_softmax": _np_softmax,
}


class NumPyMatrixPrinter(NumPyPrinter):
    """NumPy printer for the derivation's formulas.

    ``G 1_m`` prints as ``sum(G, axis=1, keepdims=True)`` and ``b 1_m^T`` as
    plain ``b`` (NumPy broadcasting does the rest), so the generated code
    makes no ones-matrices.  A sum or elementwise product whose first operand
    is a fresh matrix product updates that product in place (``_iadd``,
    ``_imul`` of :data:`INPLACE_NAMESPACE`).  :class:`Apply` nodes must have
    been replaced by MatrixSymbols before printing.
    """

    def _print_MatMul(self, expr: MatMul) -> str:
        scalars = [a for a in expr.args if not isinstance(a, MatrixExpr)]
        mats = [a for a in expr.args if isinstance(a, MatrixExpr)]
        reduce_cols = broadcast_row = False
        if mats and isinstance(mats[-1], Ones):
            if mats[-1].shape[0] == 1:
                broadcast_row = True
            else:
                reduce_cols = True
            mats = mats[:-1]
        if len(mats) == 2 and not reduce_cols and not broadcast_row:
            code = f"_mm({self._print(mats[0])}, {self._print(mats[1])})"
        else:
            code = " @ ".join(self.parenthesize(m, 1000) for m in mats)
            if len(mats) > 1:
                code = f"({code})"
        if reduce_cols:
            code = f"{self._module_format(self._module + '.sum')}({code}, axis=1, keepdims=True)"
        del broadcast_row  # b 1^T is b itself under broadcasting
        if scalars:
            code = f"{self._print(sp.Mul(*scalars))} * {code}"
        return code

    @staticmethod
    def _fresh(expr: Any) -> bool:
        """A product of two or more matrices: NumPy returns a new array, which
        the generated code may then update in place."""
        return isinstance(expr, MatMul) and not any(isinstance(a, Ones) for a in expr.args) and (
            sum(isinstance(a, MatrixExpr) for a in expr.args) >= 2
            and all(isinstance(a, MatrixExpr) for a in expr.args)
        )

    def _print_MatAdd(self, expr: MatAdd) -> str:
        fresh = [a for a in expr.args if self._fresh(a)]
        if not fresh:
            return self._print_Add(expr)
        rest = [a for a in expr.args if a is not fresh[0]]
        return f"_iadd({self._print(fresh[0])}, {', '.join(self._print(a) for a in rest)})"

    def _print_HadamardProduct(self, expr: HadamardProduct) -> str:
        fresh = [a for a in expr.args if self._fresh(a)]
        if not fresh:
            return super()._print_HadamardProduct(expr)
        rest = [a for a in expr.args if a is not fresh[0]]
        return f"_imul({self._print(fresh[0])}, {', '.join(self._print(a) for a in rest)})"

    def _print_Softmax(self, expr: Softmax) -> str:
        return f"_softmax({self._print(expr.arg)})"

    def _print_Ones(self, expr: Ones) -> str:  # pragma: no cover - only inside MatMul
        raise TypeError("a bare ones-matrix cannot be printed; it must appear in a product")

    def _print_Apply(self, expr: Apply) -> str:  # pragma: no cover - replaced first
        raise TypeError(f"replace {expr} by a MatrixSymbol before printing")


class _PlainPrinter(StrPrinter):
    """Terminal notation: ``dZ2 A1^T / m``, ``(W3^T dZ3) o g'(Z2)``."""

    def _print_MatMul(self, expr: MatMul) -> str:
        scalars = [a for a in expr.args if not isinstance(a, MatrixExpr)]
        mats = [a for a in expr.args if isinstance(a, MatrixExpr)]
        body = " ".join(self.parenthesize(m, PRECEDENCE["Mul"], strict=False) for m in mats)
        coeff = sp.Mul(*scalars)
        if coeff == 1:
            return body
        num, den = sp.fraction(coeff)
        head = "" if num == 1 else ("-" if num == -1 else f"{self._print(num)} ")
        tail = "" if den == 1 else f" / {self._print(den)}"
        return f"{head}{body}{tail}"

    def _print_Transpose(self, expr: Transpose) -> str:
        return f"{self.parenthesize(expr.arg, PRECEDENCE['Pow'], strict=False)}^T"

    def _print_HadamardProduct(self, expr: HadamardProduct) -> str:
        return " * ".join(
            f"({self._print(a)})" if isinstance(a, (MatMul, MatAdd)) else self._print(a) for a in expr.args
        )

    def _print_MatAdd(self, expr: MatAdd) -> str:
        terms = sorted((self._print(a) for a in expr.args), key=lambda t: t.startswith("-"))
        out = terms[0]
        for t in terms[1:]:
            out += f" - {t[1:]}" if t.startswith("-") else f" + {t}"
        return out


def plain(expr: Any) -> str:
    """A formula in plain terminal notation (``*`` is the elementwise product).

    Example:
        >>> n, m = sp.symbols("n m")
        >>> dZ, A = MatrixSymbol("dZ2", n, m), MatrixSymbol("A1", n, m)
        >>> plain(dZ * A.T / m)
        'dZ2 A1^T / m'
    """
    return _PlainPrinter().doprint(expr)
