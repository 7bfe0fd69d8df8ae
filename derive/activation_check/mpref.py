"""High-precision reference values of f and f' (mpmath).

Owns the guarded mpmath namespace (exp-like functions saturate instead of
building numbers with 10^40000 digits), :func:`_mp_function` (an expression
lambdified for mpmath), :func:`_evaluate` (a value to 20 correct digits at a
precision sized to the result and confirmed by a second evaluation), and
:class:`_Reference`, which evaluates a split function piece by piece.
mpmath's precision is process-global: do not run checks in parallel threads.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import mpmath
import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.functions.elementary.piecewise import ExprCondPair

from derive.activation_check.pieces import _Split
from derive.activations import sigmoid, softplus, z

_FMAX = np.finfo(np.float64).max

_GUARD = mpmath.mpf(1e5)
"""Beyond this, exp-like functions saturate (exp(1e5) ~ 1e43429) in an expression where their
value feeds a function whose cost grows with the size of its argument (sin(exp(1e6)) takes
11 s in mpmath: the reduction mod 2 pi needs all of its 434,295 digits), or another exp."""
_WIDE_GUARD = mpmath.mpf("2e308")  # beyond float64: a string, 2e308 as a float is inf
"""The saturation point where every exp-like value feeds only functions of a cost independent
of its size (sums, products, powers, log, tanh, ...): mpmath keeps exponents exactly, so
log(1 + exp(1e300)) is evaluated to 1e300 at 30 digits in 0.2 ms.  Only arguments beyond the
float64 range (exp(x**2) at 1e200) saturate.  Without it, NumPy code returning NaN for
z > 1e5 was checked against a saturated reference (inf) and passed."""


_FAR = mpmath.mpf(1e4)


def _exp_far(x: Any) -> Any:
    """exp(x) as 2^n exp(r), r = x - n log 2 in [0, log 2): mpmath's own exp takes a slow path
    for large integer-valued arguments at high precision (12 ms at 1e300 and 465 digits,
    against 0.65 ms here), and every sample point beyond 2^53 is integer-valued."""
    with mpmath.extraprec(int(mpmath.mag(x)) + 10):
        n = mpmath.floor(x / mpmath.ln2)
        r = x - n * mpmath.ln2
    return mpmath.ldexp(mpmath.exp(r), int(n))


def _namespace(guard: Any) -> dict[str, Any]:
    """The mpmath functions with exp-like functions saturating beyond ``|x| > guard``,
    and computed through :func:`_exp_far` beyond 1e4."""

    def big(x: Any) -> bool:
        return isinstance(x, mpmath.mpf) and abs(x) > guard

    def far(x: Any) -> bool:
        return isinstance(x, mpmath.mpf) and abs(x) > _FAR

    def exp(x: Any) -> Any:
        if big(x):
            return mpmath.inf if x > 0 else mpmath.mpf(0)
        return _exp_far(x) if far(x) else mpmath.exp(x)

    def expm1(x: Any) -> Any:
        if big(x):
            return mpmath.inf if x > 0 else mpmath.mpf(-1)
        return _exp_far(x) - 1 if far(x) else mpmath.expm1(x)

    def sinh(x: Any) -> Any:
        if big(x):
            return mpmath.inf if x > 0 else -mpmath.inf
        if far(x):
            return (_exp_far(x) - _exp_far(-x)) / 2
        return mpmath.sinh(x)

    def cosh(x: Any) -> Any:
        if big(x):
            return mpmath.inf
        return (_exp_far(x) + _exp_far(-x)) / 2 if far(x) else mpmath.cosh(x)

    def tanh(x: Any) -> Any:
        if big(x):
            return mpmath.mpf(1 if x > 0 else -1)
        if far(x):
            return mpmath.sign(x) * (1 - 2 / (_exp_far(2 * abs(x)) + 1))
        return mpmath.tanh(x)

    def sigmoid(x: Any) -> Any:
        if big(x):
            return mpmath.mpf(1 if x > 0 else 0)
        return 1 / (1 + (_exp_far(-x) if far(x) else mpmath.exp(-x)))

    def softplus(x: Any) -> Any:
        if big(x):
            return x if x > 0 else mpmath.mpf(0)
        if far(x):
            return x + mpmath.log1p(_exp_far(-x)) if x > 0 else mpmath.log1p(_exp_far(x))
        return mpmath.log1p(mpmath.exp(x))

    def gpow(base: Any, exponent: Any) -> Any:
        if isinstance(base, mpmath.mpf) and isinstance(exponent, mpmath.mpf) and base > 0:
            return exp(exponent * mpmath.log(base))
        return mpmath.power(base, exponent)

    return {"exp": exp, "expm1": expm1, "sinh": sinh, "cosh": cosh, "tanh": tanh, "sigmoid": sigmoid,
            "softplus": softplus, "gpow": gpow,
            "Heaviside": lambda x, h0=0.5: mpmath.mpf(h0) if x == 0 else mpmath.mpf(1 if x > 0 else 0)}


_MP_NAMESPACE: dict[str, Any] = _namespace(_GUARD)
_MP_WIDE: dict[str, Any] = _namespace(_WIDE_GUARD)
_gpow = sp.Function("gpow")
_EXPLIKE = (sp.exp, expm1, sp.sinh, sp.cosh, _gpow)
_SIZE_FREE = (sp.Add, sp.Mul, sp.log, log1p, sp.tanh, sp.atan, sp.Abs, sp.Max, sp.Min, sp.Piecewise, sp.Heaviside,
              sp.sign, sp.erf, sp.erfc, sigmoid, softplus)
"""Functions whose mpmath cost does not grow with the size of their argument (a Pow with a
number as exponent, too).  An exp-like value inside anything else keeps :data:`_GUARD`."""


def _size_free(expr: sp.Basic, under_exp: bool = False) -> bool:
    """True when every exp-like subexpression of ``expr`` feeds only :data:`_SIZE_FREE`
    functions (and number powers) on its way to the top, and no exp-like function
    contains another."""
    if isinstance(expr, _EXPLIKE):
        return not under_exp and all(_size_free(a, True) for a in expr.args)
    if not expr.args:
        return True
    if not _has_explike(expr):
        return True
    if not (isinstance(expr, _SIZE_FREE) or (expr.is_Pow and expr.exp.is_number)
            or isinstance(expr, (sp.Rel, sp.logic.boolalg.Boolean, ExprCondPair))):
        return False
    return all(_size_free(a, under_exp) for a in expr.args)


def _has_explike(expr: sp.Basic) -> bool:
    return any(isinstance(n, _EXPLIKE) for n in sp.preorder_traversal(expr))


def _mp_function(expr: sp.Expr, var: sp.Symbol = z) -> Callable[[Any], Any]:
    """``expr`` lambdified (in ``var``) for mpmath, with exp-like functions guarded against
    runaway sizes: saturating beyond |x| > 1e5 where their value feeds a size-sensitive
    function, else only beyond the float64 range (:data:`_WIDE_GUARD`)."""
    guarded = expr.replace(lambda e: e.is_Pow and not e.exp.is_number, lambda e: _gpow(e.base, e.exp))
    namespace = _MP_WIDE if _size_free(guarded) else _MP_NAMESPACE
    return sp.lambdify(var, guarded, modules=[namespace, "mpmath"])


@dataclass(frozen=True)
class _Ref:
    """A high-precision value, or why there is none (problem: "not real", "undefined", "uncertain")."""

    value: Any = None
    problem: str = ""
    detail: str = ""

    @property
    def usable(self) -> bool:
        return not self.problem

    @property
    def in_float_range(self) -> bool:
        return self.usable and abs(self.value) <= _FMAX


_MAX_DPS = 4000


def _agree(a: Any, b: Any) -> bool:
    if mpmath.isinf(a) or mpmath.isinf(b):
        return a == b
    return abs(a - b) <= mpmath.mpf(10) ** -20 * abs(b)


def _at(fn: Callable[[Any], Any], x: float, dps: int) -> Any:
    """``fn(x)`` at ``dps`` digits: an mpf, or a :class:`_Ref` saying why there is none."""
    with mpmath.workdps(dps):
        try:
            v = fn(mpmath.mpf(x))
        except ZeroDivisionError:
            return _Ref(None, "undefined", "division by zero")
        except Exception as exc:  # noqa: BLE001 - any failure of the evaluation means "undefined here"
            return _Ref(None, "undefined", f"{type(exc).__name__}: {exc}")
        if isinstance(v, mpmath.mpc):
            if v.imag != 0:
                return _Ref(None, "not real", f"f(z) = {complex(v)}")
            v = v.real
        v = +mpmath.mpf(v)
    if mpmath.isnan(v):
        return _Ref(None, "undefined", "NaN")
    return v


def _evaluate(fn: Callable[[Any], Any], x: float) -> _Ref:
    """``fn(x)`` to 20 correct digits.

    A first evaluation at 30 digits gives the size of the result; the working
    precision then covers that size (down to 1e-330, the float64 range) and
    intermediates up to ``exp(|x|)``, so that terms absorbed at low precision
    (``log(1 + exp(-316))``) are kept.  Two evaluations 20 digits apart must
    agree, else the precision doubles (up to 4000 digits).
    """
    v = _at(fn, x, 30)
    if isinstance(v, _Ref):
        return v
    small = 330 if v == 0 else (min(330, int(-mpmath.log10(abs(v)))) if 0 < abs(v) < 1 else 0)
    dps = 30 + small + int(min(abs(x), 1000.0) / 2.3)
    while dps <= _MAX_DPS:
        a = v if dps <= 40 else _at(fn, x, dps)  # a moderate result: the 30-digit value will do
        b = _at(fn, x, dps + 20)
        for r in (a, b):
            if isinstance(r, _Ref):
                return r
        if (a == 0 and b == 0) or _agree(a, b):
            return _Ref(b)
        dps *= 2
    return _Ref(None, "uncertain", f"no two precisions up to {_MAX_DPS} digits agreed")


def _const_ref(c: sp.Expr) -> _Ref:
    try:
        v = complex(sp.N(c, 40))
    except (TypeError, ValueError) as exc:
        return _Ref(None, "undefined", str(exc))
    if np.isnan(v):
        return _Ref(None, "undefined", "NaN")
    if v.imag != 0:
        return _Ref(None, "not real", f"f(z) = {v}")
    with mpmath.workdps(40):
        return _Ref(mpmath.mpf(sp.N(c, 40)) if np.isfinite(v.real) else mpmath.mpf(v.real))


class _Reference:
    """High-precision evaluation of a split function (piece by piece)."""

    def __init__(self, split: _Split, pieces: Sequence[sp.Expr] | None = None,
                 at: Sequence[sp.Expr] | None = None) -> None:
        self.fbreaks = split.fbreaks
        self.formula = (list(split.fbreaks), list(pieces if pieces is not None else split.pieces),
                        list(at if at is not None else split.at))  # the expressions: breaks, pieces, values at breaks
        self.pieces = [self._compile(p) for p in self.formula[1]]
        self.at = [self._compile(p) for p in self.formula[2]]
        self.rounding: Any = None  # numpy_audit's rounding bound of this formula, built when first needed
        self._cache: dict[float, _Ref] = {}

    @staticmethod
    def _compile(expr: sp.Expr) -> Callable[[float], _Ref]:
        if not expr.has(z):
            ref = _const_ref(expr)
            return lambda x: ref
        fn = _mp_function(expr)
        return lambda x: _evaluate(fn, x)

    def __call__(self, x: float) -> _Ref:
        x = float(x)
        if x in self._cache:
            return self._cache[x]
        at, k = self._where(x)
        ref = (self.at if at else self.pieces)[k](x)
        self._cache[x] = ref
        return ref

    def _where(self, x: float) -> tuple[bool, int]:
        """(x is a breakpoint, the index of its breakpoint or of the piece it lies in)."""
        k = bisect.bisect_left(self.fbreaks, x)
        return k < len(self.fbreaks) and self.fbreaks[k] == x, k

    def expr_at(self, x: float) -> sp.Expr:
        """The expression in force at ``x`` (its piece, or the value at a breakpoint)."""
        at, k = self._where(float(x))
        return self.formula[2 if at else 1][k]
