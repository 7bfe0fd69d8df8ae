"""The truth a framework implementation is compared with: sympy derivatives, kinks, mpmath values.

:func:`truth_for` turns any activation spec (what :func:`derive.activation_expr`
takes) into a :class:`Truth`: the expression ``f`` and its first three
derivatives from ``sympy.diff`` (the third only scales the tolerance of the
second), and the kinks, located from the conditions of ``Piecewise``, the
arguments of ``Abs``/``sign``/``Heaviside`` and the branches of
``Max``/``Min``, each with its one-sided derivatives.

Values come from ``sympy.lambdify(..., modules="mpmath")`` at a precision that
adapts per point: the value is computed at 40, 80, 160, ... up to 1280 decimal
digits (160 for ``|x| > 1e4``, where anything cancelled further is
``exp(-|x|)``-small, below the float range) and accepted when two successive
precisions agree to 25 digits.  A zero
is never taken as agreement (``log(1 + exp(-200))`` is ``0`` at 40 digits but
1.4e-87 in truth), so cancellation cannot fake a value; a point whose value
stays zero up to 1280 digits is zero or far below the float range.  Values are
cached per expression and point, so checking a correct and a buggy
implementation of one activation costs one reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import mpmath
import sympy as sp

__all__ = ["Kink", "Truth", "truth_for", "values"]

_LADDER = (40, 80, 160, 320, 640, 1280)
_AGREE = mpmath.mpf(10) ** -25
_MAX_KINK_DEGREE = 4
# Beyond this |x|, a term cancelled away by more than 160 digits is exp(-|x|)-small
# or smaller: far below the float range, so 160 digits suffice (and exp(1e300) at
# 1280 digits would take seconds).
_HUGE = 1e4


def _mp_sigmoid(x: Any) -> Any:
    return 1 / (1 + mpmath.exp(-x))


def _mp_softplus(x: Any) -> Any:
    return mpmath.log1p(mpmath.exp(x)) if x < 0 else x + mpmath.log1p(mpmath.exp(-x))


def _mp_heaviside(x: Any, h0: Any = mpmath.mpf("0.5")) -> Any:
    return mpmath.mpf(1) if x > 0 else (mpmath.mpf(0) if x < 0 else h0)


_NAMESPACE = {"sigmoid": _mp_sigmoid, "softplus": _mp_softplus, "Heaviside": _mp_heaviside,
              "DiracDelta": lambda *a: mpmath.mpf(0)}


@dataclass(frozen=True)
class Kink:
    """A point where ``f'`` jumps (or ``f`` itself: ``jump``).

    Attributes:
        at: the location (a float64).
        left, right: the one-sided derivatives ``f'(at-)``, ``f'(at+)``.
        convention: the derivative the expression itself gives at ``at``
            (for the catalog's ``Piecewise((left, z <= 0), ...)`` the left one).
        jump: ``f`` is discontinuous there (no derivative at all).
    """

    at: float
    left: float
    right: float
    convention: float
    jump: bool = False


@dataclass(frozen=True)
class Truth:
    """An activation's exact description: ``derivs[k]`` is the k-th derivative (k = 0..3)."""

    key: str
    text: str
    derivs: tuple[sp.Expr, ...]
    kinks: tuple[Kink, ...]
    breaks: tuple[float, ...]
    funcs: tuple[Callable[[Any], Any], ...]
    swapped: Callable[[Any], Any] | None = None


_TRUTHS: dict[str, Truth] = {}
_VALUES: dict[tuple[str, int | str, float], float] = {}


def truth_for(activation: Any) -> Truth:
    """The :class:`Truth` of an activation spec (catalog name, sympy expression or text).

    Raises:
        InputError, UnknownActivationError, ParseError: from :func:`derive.activation_expr`.

    Example:
        >>> truth_for("relu").kinks[0].left, truth_for("relu").kinks[0].right
        (0.0, 1.0)
    """
    import derive  # the lazy package: no sympy-heavy import at module load, no circle

    expr = derive.activation_expr(activation)
    z = next((s for s in expr.free_symbols if s.name == "z"), sp.Symbol("z", real=True))
    key = sp.srepr(expr)
    if key in _TRUTHS:
        return _TRUTHS[key]
    derivs = [expr]
    for _ in range(3):
        derivs.append(sp.diff(derivs[-1], z))
    clean = [d.replace(lambda e: isinstance(e, sp.DiracDelta), lambda e: sp.S.Zero) for d in derivs]
    funcs = tuple(sp.lambdify(z, d, modules=[_NAMESPACE, "mpmath"]) for d in clean)
    breaks = _breakpoints(derivs[:3], z)
    truth = Truth(key, str(expr), tuple(derivs), (), tuple(breaks), funcs)
    kinks = tuple(k for k in (_kink(truth, b) for b in breaks) if k is not None)
    truth = Truth(key, str(expr), tuple(derivs), kinks, tuple(breaks), funcs, _swapped(clean[1], z) if kinks else None)
    _TRUTHS[key] = truth
    return truth


def _swapped(d1: sp.Expr, z: sp.Symbol) -> Callable[[Any], Any] | None:
    """``f'`` with the pieces of a two-piece ``Piecewise`` exchanged (a "wrong kink side" backward)."""
    folded = sp.piecewise_fold(d1)
    if not isinstance(folded, sp.Piecewise) or len(folded.args) != 2:
        return None
    (a, cond), (b, _) = folded.args
    return sp.lambdify(z, sp.Piecewise((b, cond), (a, True)), modules=[_NAMESPACE, "mpmath"])


def _breakpoints(exprs: list[sp.Expr], z: sp.Symbol) -> list[float]:
    """Real points where a piece changes: roots of the conditions and kink arguments."""
    cands: list[sp.Expr] = []
    for e in exprs:
        for pw in e.atoms(sp.Piecewise):
            for _, cond in pw.args:
                if isinstance(cond, sp.logic.boolalg.Boolean) and not isinstance(cond, (bool, sp.logic.boolalg.BooleanAtom)):
                    cands += [r.lhs - r.rhs for r in cond.atoms(sp.core.relational.Relational)]
        for fn in e.atoms(sp.Abs, sp.sign, sp.Heaviside):
            cands.append(fn.args[0])
        for fn in e.atoms(sp.Max, sp.Min):
            args = list(fn.args)
            cands += [a - b for i, a in enumerate(args) for b in args[i + 1:]]
    roots: set[float] = set()
    for u in cands:
        try:
            if not u.is_polynomial(z):
                continue
            poly = sp.Poly(u, z)
            if poly.degree() < 1 or poly.degree() > _MAX_KINK_DEGREE:
                continue
            for r in poly.nroots(n=30):
                c = complex(r)
                if abs(c.imag) <= 1e-12 * max(1.0, abs(c.real)) and math.isfinite(c.real):
                    roots.add(float(c.real) + 0.0)
        except Exception:  # an odd condition: no kink located there (the grid still probes)
            continue
    return sorted(roots)


def _kink(truth: Truth, at: float) -> Kink | None:
    f, d1 = truth.funcs[0], truth.funcs[1]
    with mpmath.workdps(80):
        c = mpmath.mpf(at)
        delta = mpmath.mpf(10) ** -40 * max(1, abs(c))
        try:
            left, right, conv = d1(c - delta), d1(c + delta), d1(c)
            jump = abs(f(c - delta) - f(c + delta)) > mpmath.mpf(10) ** -30 * max(1, abs(f(c)))
        except Exception:
            return None
        if any(isinstance(v, mpmath.mpc) for v in (left, right, conv)):
            return None
        if not jump and abs(left - right) <= mpmath.mpf(10) ** -30 * max(1, abs(left), abs(right)):
            return None  # f' is continuous there: a break of f'' only
        return Kink(at, _to_float(left), _to_float(right), _to_float(conv), bool(jump))


def _to_float(v: Any) -> float:
    try:
        return float(v)
    except (OverflowError, TypeError, ValueError):
        return math.nan


def _value(func: Callable[[Any], Any], x: float) -> float:
    """``func(x)`` as a float64, exact to rounding; NaN where undefined or not real."""
    prev = None
    for dps in (_LADDER if abs(x) <= _HUGE else _LADDER[:3]):
        with mpmath.workdps(dps):
            try:
                cur = func(mpmath.mpf(x))
            except (ZeroDivisionError, ValueError, OverflowError, TypeError):
                return math.nan
            if isinstance(cur, mpmath.mpc):
                if cur.imag != 0:
                    return math.nan
                cur = cur.real
            if not isinstance(cur, mpmath.mpf):
                try:
                    cur = mpmath.mpf(cur)
                except Exception:
                    return math.nan
            if mpmath.isnan(cur):
                return math.nan
            if mpmath.isinf(cur):
                return float(cur)
            if prev is not None and cur != 0 and abs(cur - prev) <= _AGREE * abs(cur):
                return float(cur)
            prev = cur
    return float(prev) if prev is not None else math.nan


def values(truth: Truth, order: int | str, xs: Any) -> list[float]:
    """The ``order``-th derivative at each float of ``xs`` (float64; ``inf`` beyond the range).

    ``order="swapped"`` gives ``f'`` with the sides of its kink exchanged.
    """
    func = truth.swapped if order == "swapped" else truth.funcs[int(order)]
    if func is None:
        return [math.nan for _ in xs]
    out = []
    for x in xs:
        x = float(x)
        k = (truth.key, order, x)
        if k not in _VALUES:
            _VALUES[k] = _value(func, x)
        out.append(_VALUES[k])
    return out
