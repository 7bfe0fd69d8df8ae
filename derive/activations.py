"""Activations as sympy expressions in ``z``, mirroring :mod:`numeric`'s catalog.

``sigmoid`` and ``softplus`` are sympy ``Function`` subclasses: sigmoid's
derivative is ``sigmoid(z) (1 - sigmoid(z))`` and softplus's is
``sigmoid(z)``, so derivatives stay short and evaluate stably in NumPy.  Both
rewrite to their exp/log definitions (``expr.rewrite(sympy.exp)``).

Kinked activations are ``Piecewise((left, z <= 0), (right, True))``, so the
derivative sympy computes at exactly ``z = 0`` is the left-hand one, the same
convention as :data:`numeric.activations.KINK_CONVENTION`.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1


__all__ = [
    "z",
    "sigmoid",
    "softplus",
    "CATALOG",
    "derivative_expr",
    "numpy_function",
    "stable_form",
    "NUMPY_NAMESPACE",
]

z = sp.Symbol("z", real=True)


class sigmoid(sp.Function):
    """The logistic function ``1 / (1 + exp(-z))``; ``diff`` gives ``s (1 - s)``."""

    nargs = 1
    is_real = True

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    @classmethod
    def eval(cls, arg: sp.Expr) -> sp.Expr | None:
        if arg.is_zero:
            return sp.S.Half
        return None

    def _eval_rewrite_as_exp(self, arg: sp.Expr, **kwargs: Any) -> sp.Expr:
        return 1 / (1 + sp.exp(-arg))

    def _eval_is_positive(self) -> bool | None:
        return True if self.args[0].is_real else None

    def _latex(self, printer: Any, exp: Any = None) -> str:
        inner = rf"\sigma\left({printer._print(self.args[0])}\right)"
        return rf"{inner}^{{{exp}}}" if exp is not None else inner


class softplus(sp.Function):
    """``log(1 + exp(z))``; ``diff`` gives ``sigmoid(z)``."""

    nargs = 1
    is_real = True

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, arg: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.log(1 + sp.exp(arg))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def _latex(self, printer: Any, exp: Any = None) -> str:
        inner = rf"\operatorname{{softplus}}\left({printer._print(self.args[0])}\right)"
        return rf"{inner}^{{{exp}}}" if exp is not None else inner


def _num(value: float | str) -> sp.Expr:
    """An exact rational for a decimal parameter (0.01 -> 1/100)."""
    return sp.Rational(str(value))


def _kinked(left: sp.Expr, right: sp.Expr) -> sp.Expr:
    return sp.Piecewise((left, z <= 0), (right, True))


_SELU_SCALE = "1.0507009873554804934193349852946"
_SELU_ALPHA = "1.6732632423543772848170429916717"

# name -> (default parameters, builder(params) -> expression in z)
CATALOG: dict[str, tuple[dict[str, float | str], Callable[[Mapping[str, Any]], sp.Expr]]] = {
    "sigmoid": ({}, lambda P: sigmoid(z)),
    "tanh": ({}, lambda P: sp.tanh(z)),
    "relu": ({}, lambda P: _kinked(sp.S.Zero, z)),
    "leaky_relu": ({"alpha": 0.01}, lambda P: _kinked(_num(P["alpha"]) * z, z)),
    "swish": ({"beta": 1.0}, lambda P: z * sigmoid(_num(P["beta"]) * z)),
    "gelu": ({}, lambda P: z / 2 * (1 + sp.erf(z / sp.sqrt(2)))),
    "gelu_tanh": (
        {},
        lambda P: z / 2 * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (z + sp.Rational("0.044715") * z**3))),
    ),
    "elu": ({"alpha": 1.0}, lambda P: _kinked(_num(P["alpha"]) * (sp.exp(z) - 1), z)),
    "selu": (
        {"scale": _SELU_SCALE, "alpha": _SELU_ALPHA},
        lambda P: _num(P["scale"]) * _kinked(_num(P["alpha"]) * (sp.exp(z) - 1), z),
    ),
    "softplus": ({}, lambda P: softplus(z)),
    "mish": ({}, lambda P: z * sp.tanh(softplus(z))),
    "softsign": ({}, lambda P: z / (1 + sp.Abs(z))),
    "identity": ({}, lambda P: z),
}


def _is_step_derivative(node: sp.Basic) -> bool:
    """A derivative sympy leaves unevaluated for a step function (floor, ceiling)."""
    return isinstance(node, (sp.Derivative, sp.Subs)) and node.has(sp.floor, sp.ceiling)


def derivative_expr(expr: sp.Expr) -> sp.Expr:
    """``d expr / dz`` almost everywhere: sympy's ``diff``, with the Dirac deltas of
    jumps (sign, Heaviside) and the derivatives of floor and ceiling set to 0.

    A jump has no derivative at the jump and a zero one beside it; the
    activation checker reports every jump as a fault of f.  What remains is
    the derivative that generated NumPy code can evaluate (``DiracDelta``
    never reaches it).  No simplification.

    Example:
        >>> derivative_expr(z * sp.sign(z))
        sign(z)
    """
    d = sp.diff(expr, z)
    if d.has(sp.DiracDelta):
        d = d.replace(lambda n: isinstance(n, sp.DiracDelta), lambda n: sp.S.Zero)
    if d.has(sp.Derivative, sp.Subs):
        d = d.replace(_is_step_derivative, lambda n: sp.S.Zero)
        d = d.replace(lambda n: isinstance(n, sp.Subs) and n.expr == 0, lambda n: sp.S.Zero)
    return d


# ---------------------------------------------------------------- NumPy side
# derive's own NumPy kernels for the special functions it prints.  They are
# written independently of numeric/ so that a bug cannot hide in shared code.

def _np_sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(np.real(x) >= 0, 1 / (1 + e), e / (1 + e))


def _np_softplus(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _elementwise_math(fn: Callable[[float], float]) -> Callable[[np.ndarray], np.ndarray]:
    ufunc = np.frompyfunc(fn, 1, 1)
    return lambda x: np.asarray(ufunc(x), dtype=np.float64)


NUMPY_NAMESPACE: dict[str, Callable[..., Any]] = {
    "sigmoid": _np_sigmoid,
    "softplus": _np_softplus,
    "erf": _elementwise_math(math.erf),
    "erfc": _elementwise_math(math.erfc),
    "erfc_neg": _elementwise_math(lambda x: math.erfc(-x)),
}


class erfc_neg(sp.Function):
    """``erfc(-u)`` kept as one node (sympy would rewrite it as ``2 - erfc(u)``,
    which cancels); only :func:`stable_form` creates it, for NumPy evaluation."""

    nargs = 1

    def _eval_rewrite_as_erf(self, arg: sp.Expr, **kwargs: Any) -> sp.Expr:
        return 1 + sp.erf(arg)


def _stable_add(expr: sp.Add) -> sp.Expr:
    """Rewrite ``c + k F(u)`` patterns that cancel in floating point."""
    const, rest = expr.as_coeff_Add()
    if const == 0:
        return expr
    for term in sp.Add.make_args(rest):
        k, r = term.as_coeff_Mul()
        new = None
        if r.is_Pow and r.exp == 2 and isinstance(r.base, sp.tanh) and k == -const:
            u = r.base.args[0]  # 1 - tanh^2 = sech^2 = 4 s(2u) s(-2u)
            new = const * 4 * sigmoid(2 * u) * sigmoid(-2 * u)
        elif isinstance(r, sp.tanh) and abs(k) == abs(const):
            u = r.args[0]  # 1 +- tanh(u) = 2 s(+-2u)
            new = const * 2 * sigmoid(2 * u if k == const else -2 * u)
        elif isinstance(r, sigmoid) and k == -const:
            new = const * sigmoid(-r.args[0])  # 1 - s(u) = s(-u)
        elif isinstance(r, sp.erf) and abs(k) == abs(const):
            u = r.args[0]  # 1 +- erf(u) = erfc(-+u)
            new = const * (erfc_neg(u) if k == const else sp.erfc(u))
        elif isinstance(r, sp.exp) and k == -const:
            new = k * expm1(r.args[0])  # k e^u - k = k expm1(u)
        if new is not None:
            return sp.Add(*(t for t in sp.Add.make_args(rest) if t != term), new)
    return expr


def stable_form(expr: sp.Expr) -> sp.Expr:
    """An equal expression that evaluates without cancellation in float64.

    Rewrites ``1 - tanh(u)^2``, ``1 +- tanh(u)``, ``1 - sigmoid(u)``,
    ``1 +- erf(u)`` and ``k e^u - k`` into sigmoid, erfc and expm1 forms.
    Only NumPy evaluation uses it; proofs and reports keep the plain form.

    Example:
        >>> stable_form(1 - sp.tanh(z) ** 2)
        4*sigmoid(-2*z)*sigmoid(2*z)
    """
    prev = None
    while prev != expr:
        prev, expr = expr, expr.replace(lambda e: e.is_Add, _stable_add)
    return expr


def numpy_function(expr: sp.Expr) -> Callable[[np.ndarray], np.ndarray]:
    """Lambdify an expression in :data:`z` to an elementwise NumPy function.

    The result always returns an array of ``z``'s shape (constants broadcast).

    The expression is first put in :func:`stable_form`.

    Warning:
        ``lambdify`` uses ``exec`` on the printed expression; ``expr`` must
        be a sympy object built by this package, never raw user text.
    """
    fn = sp.lambdify(z, stable_form(expr), modules=[NUMPY_NAMESPACE, "numpy"], cse=True)

    def elementwise(x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", under="ignore"):  # unused Piecewise branches
            out = np.asarray(fn(x), dtype=np.result_type(x, np.float64))
        return out if out.shape == np.shape(x) else np.broadcast_to(out, np.shape(x)).copy()

    return elementwise
