"""NumPy evaluation of elementwise activations, shared by :mod:`derive.lambdified`
and :mod:`derive.codegen`: the elementwise printer, the sigmoid-pair ``cse``,
the fused value-and-derivative function, and a description's activation as
a sympy expression.  (Moved unchanged out of :mod:`derive.lambdified`, so
that the generated code can use them without an import circle.)
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import sympy as sp

from derive.activations import NUMPY_NAMESPACE, derivative_expr, sigmoid, stable_form, z
from derive.expr import activation_expr
from derive.matrix import NumPyMatrixPrinter
from derive.steps import scalar_equal
from numeric._blocks import row_blocks, scratch
from numeric.errors import InputError

__all__: list[str] = []


# ------------------------------------------------- elementwise hot path
class _ElementwisePrinter(NumPyMatrixPrinter):
    """Prints ``x**-1`` as ``1/x``, and a two-branch Piecewise as ``where``,
    or, when both branches are finite linear functions of z (relu,
    leaky_relu and their derivatives), as the blend ``b + (a - b) * cond``,
    which is exact there and several times faster than a masked select."""

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        if len(expr.args) == 2 and expr.args[1].cond == sp.true:
            (a, cond), (b, _) = expr.args
            if all(_finite_linear(e) for e in (a, b)):
                return f"({self._print(b)} + {self.parenthesize(sp.expand(a - b), 1000)} * {self._print(cond)})"
            return f"where({self._print(cond)}, {self._print(a)}, {self._print(b)})"
        return super()._print_Piecewise(expr)

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        if expr.exp == -1:
            return f"1/{self.parenthesize(expr.base, 1000)}"
        return super()._print_Pow(expr, rational=rational)


def _finite_linear(e: sp.Expr) -> bool:
    """``c0 + c1 z`` with finite numeric c0, c1 (no overflow, no NaN for finite z)."""
    if not e.free_symbols <= {z} or not e.is_polynomial(z):
        return False
    poly = sp.Poly(e, z)
    return poly.degree() <= 1 and all(c.is_finite for c in poly.all_coeffs())


def _sigmoid_cse(exprs: list[sp.Expr]) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
    """``cse`` for lambdify that computes each sigmoid pair from one exp.

    For every argument u, ``E = exp(-max(u, -700))``, ``s = 1/(1 + E)`` is
    sigma(u) and ``c = E s`` is sigma(-u) = 1 - sigma(u) without cancellation.
    Then sympy's own ``cse`` shares the rest (f and f' share their work).
    """
    args: dict[sp.Expr, tuple[sp.Symbol, sp.Symbol]] = {}
    pre: list[tuple[sp.Symbol, sp.Expr]] = []

    def pair(u: sp.Expr) -> tuple[sp.Symbol, sp.Symbol]:
        if u not in args:
            k = len(args)
            E, s_, c = sp.symbols(f"_E{k} _s{k} _c{k}")
            pre.extend([(E, _expneg(u)), (s_, 1 / (1 + E)), (c, E * s_)])
            args[u] = (s_, c)
        return args[u]

    def rewrite(e: sp.Expr) -> sp.Expr:
        a = e.args[0]
        return pair(-a)[1] if a.could_extract_minus_sign() else pair(a)[0]

    reduced = [e.replace(lambda x: isinstance(x, sigmoid), rewrite) for e in exprs]
    more, reduced = sp.cse(reduced)
    return pre + list(more), reduced


class _expneg(sp.Function):
    """``exp(-max(u, -700))``: finite for every float64 ``u``."""

    nargs = 1


_FAST_NAMESPACE = dict(NUMPY_NAMESPACE, _expneg=lambda u: np.exp(-np.maximum(u, -700.0)))


def _value_and_derivative(expr: sp.Expr) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """One NumPy function returning ``(f(z), f'(z))``, sharing their work."""
    pair = [stable_form(expr), stable_form(derivative_expr(expr))]
    printer = _ElementwisePrinter({"fully_qualified_modules": False, "inline": True,
                                   "allow_unknown_functions": True, "user_functions": {}})
    fn = sp.lambdify(z, pair, modules=[_FAST_NAMESPACE, "numpy"], printer=printer,
                     cse=_sigmoid_cse, docstring_limit=0)

    def block(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(over="ignore", under="ignore"):
            a, d = fn(x)
        return a, d

    def both(x: np.ndarray, key: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """f and f' of a 2-D array, row block by row block (in cache, threaded).

        With a ``key`` the results are per-thread scratch arrays, overwritten
        by the next call with that key (the gradient function never returns them).
        """
        dtype = np.result_type(x, np.float64)
        if key is None:
            a, d = np.empty(x.shape, dtype), np.empty(x.shape, dtype)
        else:
            a, d = scratch(("derive", key, "f"), x.shape, dtype), scratch(("derive", key, "f'"), x.shape, dtype)

        def work(rows: slice) -> None:
            a[rows], d[rows] = block(x[rows])  # constants broadcast on assignment

        row_blocks(*x.shape, work)
        return a, d

    return both


def _symbolic_activation(spec: Any) -> sp.Expr:
    """A description's activation as a sympy expression in z.

    A ``(value, derivative)`` pair of expressions (or expression text) is
    accepted when sympy confirms that the derivative is the value's
    derivative; a pair of NumPy callables cannot be derived from.
    """
    if isinstance(spec, tuple):
        if len(spec) == 2 and all(isinstance(e, (str, sp.Expr)) for e in spec):
            value, claimed = activation_expr(spec[0]), activation_expr(spec[1])
            if not scalar_equal(derivative_expr(value), claimed):
                raise InputError(f"the derivative {spec[1]!r} is not the derivative of {spec[0]!r}")
            return value
        raise InputError(
            "gradient_function derives f' itself: give the activation as a catalog name, an expression, "
            "or a (value, derivative) pair of expressions; a pair of NumPy callables only works in numeric"
        )
    name = getattr(spec, "name", None)
    if name is not None and not isinstance(spec, (str, sp.Basic)):  # a numeric.Activation
        params = dict(getattr(spec, "params", {}) or {})
        return activation_expr(name, **params)
    return activation_expr(spec)
