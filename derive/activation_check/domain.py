"""Where f is undefined, infinite, discontinuous or non-differentiable inside its smooth pieces.

:mod:`derive.activation_check.pieces` finds the breakpoints *between* pieces
(Piecewise, abs, max, min, sign, heaviside).  This module looks *inside*
each piece, anywhere on the real line, for the points where a formula can
go wrong: a denominator or a negative power's base that vanishes, a log or
log1p argument at 0 (or -1), a square root's (or any fractional power's)
base at 0, tan/sec/cot/csc/coth/csch poles, the edges of asin, acos, acosh,
atanh, and the jumps of floor and ceil.

Each *guard* (an expression that vanishes at such a point) is solved on the
piece's interval: exactly for a polynomial guard of moderate degree with
rational coefficients (sympy's real roots), otherwise by a fixed,
deterministic scan for sign changes refined by bisection in high precision,
and for local minima of |guard| refined by golden-section search (a zero
that touches 0 without a sign change, as ``sin(z) - 1`` at pi/2).
Each point found is then classified from one-sided values in 50-digit
arithmetic at distances 1e-10, 1e-20 and 1e-30 (relative): a pole, a jump,
a point where f has no limit, a removable gap (undefined but with a limit),
an edge of the real domain, a kink, an infinite slope, or nothing at all.
Everything here is deterministic: no wall-clock budget changes a result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import mpmath
import numpy as np
import sympy as sp

from derive.activation_check.pieces import _Split
from derive.activation_check.results import Breakpoint
from derive.activations import z

__all__ = ["_interior_singularities"]

_MAX_POINTS = 12
"""Most singular points reported per activation (the first ones by |z|)."""
_MAX_EXACT_DEGREE = 12
_SCAN = np.unique(np.concatenate([np.linspace(-10.0, 10.0, 401), np.logspace(-6, 8, 57), -np.logspace(-6, 8, 57)]))
_STEPS = (mpmath.mpf("1e-10"), mpmath.mpf("1e-20"), mpmath.mpf("1e-30"))
_DPS = 60


_PLAIN_NAMESPACE = {
    "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
    "softplus": lambda x: mpmath.log1p(mpmath.exp(x)),
    "Heaviside": lambda x, h0=0.5: mpmath.mpf(h0) if x == 0 else mpmath.mpf(1 if x > 0 else 0),
}


def _mp_plain(expr: sp.Expr) -> Callable[[Any], Any]:
    """``expr`` for mpmath without saturation (exp(1e6) is a number, never 0 or inf), so
    that no zero or pole appears where there is none."""
    return sp.lambdify(z, expr, modules=[_PLAIN_NAMESPACE, "mpmath"])


def _guards(expr: sp.Expr) -> list[sp.Expr]:
    """Expressions in z whose real zeros are the candidate singular points of ``expr``."""
    out: list[sp.Expr] = []
    for node in sp.preorder_traversal(expr):
        if not isinstance(node, sp.Basic) or not node.has(z):
            continue
        args = node.args
        if node.is_Pow:
            base, exp = args
            if base.has(z) and (not exp.is_Integer or exp.is_negative):
                out.append(base)
        elif isinstance(node, sp.log):
            out.append(args[0])
        elif type(node).__name__ == "log1p":
            out.append(args[0] + 1)
        elif isinstance(node, (sp.tan, sp.sec)):
            out.append(sp.cos(args[0]))
        elif isinstance(node, (sp.cot, sp.csc)):
            out.append(sp.sin(args[0]))
        elif isinstance(node, (sp.coth, sp.csch)):
            out.append(args[0])
        elif isinstance(node, (sp.asin, sp.acos, sp.atanh)):
            out += [args[0] - 1, args[0] + 1]
        elif isinstance(node, sp.acosh):
            out.append(args[0] - 1)
        elif isinstance(node, (sp.floor, sp.ceiling)):
            out.append(sp.sin(sp.pi * args[0]))
    return [g for g in dict.fromkeys(out) if g.has(z)]


def _inside(x: Any, lo: sp.Expr, hi: sp.Expr) -> bool:
    v = float(x)
    return (lo == -sp.oo or v > float(lo)) and (hi == sp.oo or v < float(hi))


def _exact_roots(guard: sp.Expr) -> list[sp.Expr] | None:
    """Exact real roots of a polynomial guard with rational coefficients, else None."""
    if not guard.is_polynomial(z):
        return None
    poly = sp.Poly(guard, z)
    if poly.degree() < 1 or poly.degree() > _MAX_EXACT_DEGREE or not all(c.is_Rational for c in poly.all_coeffs()):
        return None
    return list(dict.fromkeys(poly.real_roots()))


def _scan_roots(guard: sp.Expr, lo: sp.Expr, hi: sp.Expr) -> list[sp.Expr]:
    """Zeros of ``guard`` on (lo, hi): sign changes on a fixed grid, refined by bisection."""
    fn = _mp_plain(guard)

    def value(x: Any) -> Any:
        try:
            v = fn(mpmath.mpf(x))
        except (ArithmeticError, ValueError, TypeError):
            return None
        if isinstance(v, mpmath.mpc):
            return None if v.imag else v.real
        return v if mpmath.isfinite(v) else None

    xs = [float(x) for x in _SCAN if _inside(x, lo, hi)]
    with mpmath.workdps(20):
        vals = [value(x) for x in xs]
    brackets = []
    for (a, va), (b, vb) in zip(zip(xs, vals), zip(xs[1:], vals[1:])):
        if va is None or vb is None or vb == 0:
            continue
        if va == 0 or (va > 0) != (vb > 0):
            brackets.append((a, b, va))
    if vals and vals[-1] == 0:
        brackets.append((xs[-1], xs[-1], 0))
    brackets.sort(key=lambda t: (min(abs(t[0]), abs(t[1])), t[0]))
    roots: list[sp.Expr] = []
    with mpmath.workdps(_DPS):
        for a, b, va in brackets[:_MAX_POINTS]:
            if va == 0:
                roots.append(_snap(mpmath.mpf(a)))
                continue
            ma, mb = mpmath.mpf(a), mpmath.mpf(b)
            for _ in range(190):  # to about 57 digits
                mid = (ma + mb) / 2
                vm = value(mid)
                if vm is None:
                    break
                if (vm > 0) == (va > 0):
                    ma = mid
                else:
                    mb = mid
            roots.append(_snap((ma + mb) / 2))
        roots += _touching_roots(value, xs, vals, _MAX_POINTS - len(roots))
    return roots


def _touching_roots(value: Callable[[Any], Any], xs: list[float], vals: list[Any], room: int) -> list[sp.Expr]:
    """Zeros where ``guard`` touches 0 without changing sign (``sin(z) - 1`` at pi/2): each
    local minimum of |guard| on the grid is refined by golden-section search, and is a
    root when |guard| falls below 1e-40 of its size on the grid."""
    out: list[sp.Expr] = []
    triples = [(xs[i - 1], xs[i + 1], vals[i]) for i in range(1, len(xs) - 1)
               if None not in (vals[i - 1], vals[i], vals[i + 1]) and vals[i] != 0
               and abs(vals[i]) < abs(vals[i - 1]) and abs(vals[i]) < abs(vals[i + 1])
               and (vals[i - 1] > 0) == (vals[i] > 0) == (vals[i + 1] > 0)]
    triples.sort(key=lambda t: (abs(t[2]), min(abs(t[0]), abs(t[1]))))
    for a, b, vm in triples[:max(0, room)]:
        lo, hi = mpmath.mpf(a), mpmath.mpf(b)
        size = max(abs(vm), mpmath.mpf("1e-300"))
        for _ in range(160):  # golden section on |guard|, to about 1e-33 of the bracket
            c, d = hi - (hi - lo) * mpmath.mpf("0.618033988749894848"), lo + (hi - lo) * mpmath.mpf("0.618033988749894848")
            vc, vd = value(c), value(d)
            if vc is None or vd is None:
                break
            if abs(vc) < abs(vd):
                hi = d
            else:
                lo = c
        mid = (lo + hi) / 2
        vmid = value(mid)
        if vmid is not None and abs(vmid) <= mpmath.mpf("1e-40") * max(size, 1):
            out.append(_snap(mid))
    return out


def _snap(x: Any) -> sp.Expr:
    """A root found numerically: exact when it is a small fraction (floor's integers), else 50 digits."""
    frac = sp.Rational(mpmath.nstr(x, 50)).limit_denominator(1000)
    if abs(mpmath.mpf(frac.p) / frac.q - x) <= mpmath.mpf("1e-40") * max(1, abs(x)):
        return frac
    return sp.Float(mpmath.nstr(x, 50), 50)


def _candidates(split: _Split, dpieces: Sequence[sp.Expr]) -> list[tuple[int, sp.Expr]]:
    """(piece index, point) for every candidate point strictly inside a piece."""
    edges = [-sp.oo, *split.breaks, sp.oo]
    found: dict[float, tuple[int, sp.Expr]] = {}
    for k, (piece, dpiece) in enumerate(zip(split.pieces, dpieces)):
        lo, hi = edges[k], edges[k + 1]
        for guard in dict.fromkeys(_guards(piece) + _guards(dpiece)):
            roots = _exact_roots(guard)
            if roots is None:
                roots = _scan_roots(guard, lo, hi)
            for r in roots:
                if _inside(r, lo, hi):
                    found.setdefault(float(r), (k, r))
    return [found[x] for x in sorted(found, key=lambda x: (abs(x), x))][:_MAX_POINTS]


@dataclass(frozen=True)
class _Side:
    """f (or f') approaching a point from one side: its limit, or why there is none."""

    status: str  # "limit", "infinite", "none" (oscillates), "not real"
    value: Any = None

    def show(self) -> sp.Expr:
        if self.status == "infinite":
            return sp.oo if self.value > 0 else -sp.oo
        if self.status == "limit":
            return _nice(self.value)
        return sp.nan


def _nice(v: Any) -> sp.Expr:
    """A high-precision value for humans: an exact small fraction when it is one, else 12 digits."""
    if abs(v) < mpmath.mpf("1e-25"):
        return sp.Integer(0)
    if abs(v) > 1e15:
        return sp.Float(mpmath.nstr(v, 12), 12)
    frac = sp.Rational(mpmath.nstr(v, 30)).limit_denominator(1000)
    if abs(mpmath.mpf(frac.p) / frac.q - v) <= mpmath.mpf("1e-25") * abs(v):
        return frac
    return sp.Float(mpmath.nstr(v, 12), 12)


def _approach(fn: Callable[[Any], Any], p: Any, side: int) -> _Side:
    scale = max(mpmath.mpf(1), abs(p))
    vals = []
    for h in _STEPS:
        try:
            v = fn(p + side * h * scale)
        except (ArithmeticError, ValueError, TypeError):
            return _Side("none")
        if isinstance(v, mpmath.mpc):
            if v.imag:
                return _Side("not real")
            v = v.real
        vals.append(mpmath.mpf(v))
    a, b, c = vals
    if abs(c - b) <= mpmath.mpf("1e-9") * max(1, abs(c)):
        return _Side("limit", c)
    if abs(c) > abs(b) > abs(a) and abs(c) > 10 and (c > 0) == (b > 0):
        return _Side("infinite", c)
    return _Side("none")


def _at(fn: Callable[[Any], Any], expr: sp.Expr, p: sp.Expr) -> Any:
    """f exactly at p: a float-like value, or None when f is undefined or not real there."""
    if p.is_Rational or p.is_Integer or isinstance(p, sp.CRootOf) or p.is_algebraic:
        try:
            v = expr.subs(z, p)
        except (ArithmeticError, ValueError, TypeError):
            return None
        if v.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or v.is_extended_real is False:
            return None
        try:
            return mpmath.mpf(sp.N(v, _DPS))
        except (TypeError, ValueError):
            pass
    try:
        v = fn(mpmath.mpf(sp.N(p, _DPS)))
    except (ArithmeticError, ValueError, TypeError):
        return None
    if isinstance(v, mpmath.mpc):
        return None if v.imag else v.real
    return v if mpmath.isfinite(v) else None


def _same(a: Any, b: Any) -> bool:
    return abs(a - b) <= mpmath.mpf("1e-9") * max(1, abs(a), abs(b))


def _classify(piece: sp.Expr, dpiece: sp.Expr, p: sp.Expr) -> Breakpoint | None:
    """What happens at p inside one smooth piece (None: nothing, f is smooth there)."""
    f, d = _mp_plain(piece), _mp_plain(dpiece)
    with mpmath.workdps(_DPS):
        P = mpmath.mpf(sp.N(p, _DPS))
        left, right = _approach(f, P, -1), _approach(f, P, +1)
        value = _at(f, piece, p)
        dl, dr = _approach(d, P, -1), _approach(d, P, +1)
    show = (lambda s: s.show())
    val = sp.nan if value is None else _nice(value)
    if "infinite" in (left.status, right.status):
        val = sp.nan  # a numerically found pole: the value there is not a number
    if "not real" in (left.status, right.status):
        kind = "edge"
    elif "infinite" in (left.status, right.status):
        kind = "pole"
    elif "none" in (left.status, right.status):
        kind = "no limit"
    elif not _same(left.value, right.value):
        kind = "jump"
    elif value is None or not _same(value, left.value):
        kind = "removable"
    elif dl.status == "limit" and dr.status == "limit":
        if _same(dl.value, dr.value):
            return None
        kind = "kink"
    else:
        kind = "kink"  # continuous with an infinite or oscillating slope
    return Breakpoint(p, kind, val, show(left), show(right), show(dl), show(dr))


def _interior_singularities(split: _Split, dpieces: Sequence[sp.Expr]) -> list[Breakpoint]:
    """Every point inside a smooth piece where f or f' is not smooth, sorted by z."""
    out = []
    for k, p in _candidates(split, dpieces):
        b = _classify(split.pieces[k], dpieces[k], p)
        if b is not None:
            out.append(b)
    return sorted(out, key=lambda b: float(b.z))
