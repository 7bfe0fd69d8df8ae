"""f' written in terms of the output ``a = f(z)``.

Owns :func:`_output_form`: when f is monotone, the function h with
``h(f(z)) = f'(z)`` on each piece (by substitution or by inverting the
piece), assembled into one expression in ``a`` and checked in high precision;
when f is not monotone, a witness (two inputs with the same output and
different slopes) showing that no such h exists.

The form is optional (a nicer display of f'), so its search is bounded by the
structure of f alone, never by wall time: a piece is inverted only when
:func:`_search_budget` allows it, otherwise the note says "not searched" and
why.  The same input gives the same form, or the same note, on any machine
under any load.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import mpmath
import numpy as np
import sympy as sp

from derive.activation_check.mpref import _mp_function, _Reference
from derive.activation_check.pieces import _limit, _plain, _simplest, _Split
from derive.activation_check.sampling import _near
from derive.activation_check.results import _f
from derive.activations import sigmoid, z

_A = sp.Symbol("a", real=True)


def _witness(xs: Sequence[float], fv: Sequence[Any], dv: Sequence[Any], f_ref: _Reference,
             d_ref: _Reference) -> str:
    """Two inputs with the same output and different slopes, found around the first extremum."""
    signs = [0 if d == 0 else (1 if d > 0 else -1) for d in dv]
    nz = [i for i, s in enumerate(signs) if s != 0]
    moderate = [i for i in nz if abs(xs[i]) >= 1e-3]  # prefer a witness at a readable scale
    pair = next(((i, j) for cand in (moderate, nz) for i, j in zip(cand, cand[1:])
                 if signs[i] != signs[j]), None)
    if pair is None:
        return ""
    i, j = pair
    s = signs[j]  # F = s f has a minimum between xs[i] and xs[j]

    def F(x: float) -> Any:
        r = f_ref(x)
        if not r.usable:
            raise ArithmeticError
        return s * r.value

    try:
        lo, hi = xs[i], xs[j]
        for _ in range(100):  # golden-section search for the minimum
            a, b = lo + 0.382 * (hi - lo), lo + 0.618 * (hi - lo)
            if F(a) < F(b):
                hi = b
            else:
                lo = a
        m = (lo + hi) / 2
        z1, other = (xs[i], xs[j]) if F(xs[i]) <= F(xs[j]) else (xs[j], xs[i])
        target = F(z1)
        lo, hi = m, other  # F rises from F(m) < target to F(other) >= target
        for _ in range(100):
            mid = (lo + hi) / 2
            if F(mid) < target:
                lo = mid
            else:
                hi = mid
    except ArithmeticError:
        return ""
    z2 = hi
    d1, d2 = d_ref(z1), d_ref(z2)
    if not (d1.usable and d2.usable) or abs(d2.value - d1.value) <= 1e-6 * max(abs(d1.value), abs(d2.value)):
        return ""
    return (f"f({z1:.6g}) = f({z2:.6g}) = {_f(s * target)} but f'({z1:.6g}) = {_f(d1.value)} "
            f"and f'({z2:.6g}) = {_f(d2.value)}")


def _image(expr: sp.Expr, lo: sp.Expr, hi: sp.Expr, lo_closed: bool, hi_closed: bool, increasing: bool) -> sp.Set:
    a = _limit(expr, lo, "+")
    b = _limit(expr, hi, "-")
    if not increasing:
        a, b, lo_closed, hi_closed = b, a, hi_closed, lo_closed
    if a == b:
        return sp.FiniteSet(a)
    return sp.Interval(a, b, not (lo_closed and a.is_finite), not (hi_closed and b.is_finite))


class _NotSearched(Exception):
    """The fixed budget rules out inverting a piece; the message says why."""


_PERIODIC_OR_HYPERBOLIC = (sp.sin, sp.cos, sp.tan, sp.sec, sp.csc, sp.cot,
                           sp.sinh, sp.cosh, sp.tanh, sp.sech, sp.csch, sp.coth)


def _shell(expr: sp.Expr) -> sp.Expr:
    """``expr`` without its outer affine layers: ``c*u + d`` -> ``u`` while one term or factor has z."""
    while (expr.is_Add or expr.is_Mul) and sum(a.has(z) for a in expr.args) == 1:
        expr = next(a for a in expr.args if a.has(z))
    return expr


def _search_budget(target: sp.Expr) -> str:
    """Why ``solve`` is not tried on ``target`` ("" when it is).

    sympy's ``solve`` rewrites a hyperbolic or trigonometric function in exponentials
    unless it is the outermost operation; below another function or a power its work
    grows steeply with the nesting (measured: ``tanh(2*tanh(z))`` 0.4 s,
    ``tanh(tanh(tanh(z)))`` 3 s, ``tanh(z)**3`` 10 s, four nested tanh over 30 s), and the
    forms it finds there are pages long.  So the search takes only pieces where every
    such function of z is the outermost operation (up to constant factors and offsets):
    ``tanh(z/2)``, ``atan(z)``, ``tanh(exp(z))`` are searched, ``exp(tanh(z))`` is not.
    """
    if sp.count_ops(target) > SOLVE_MAX_OPS:
        return f"the piece has more than {SOLVE_MAX_OPS} operations (a fixed budget, not a time limit)"
    top = _shell(target)
    inner = [n for n in sp.preorder_traversal(target)
             if isinstance(n, _PERIODIC_OR_HYPERBOLIC) and n.has(z) and n != top]
    if inner:
        return (f"a {inner[0].func.__name__} sits inside another function or power, where inverting it "
                "grows steeply with the nesting (a fixed budget, not a time limit)")
    return ""


SOLVE_MAX_OPS = 40
"""``solve`` (inverting a piece) is tried only on pieces of at most this many
operations, and only where z occurs once or the piece is a rational function of
degree <= 2 (:func:`_solvable`): a fixed, deterministic budget instead of a time limit."""


def _output_form(split: _Split, dpieces: Sequence[sp.Expr], xs: np.ndarray, f_ref: _Reference,
                 d_ref: _Reference, *,
                 piece_form: Callable[[sp.Expr, sp.Expr], sp.Expr | None] | None = None,
                 ) -> tuple[sp.Expr | None, str]:
    """f' in terms of a (or None) and a note saying how it was checked or why there is none.

    ``piece_form`` finds h on one monotone piece (default :func:`_piece_output_form`;
    the pipeline passes its own name for it, so a test can substitute a wrong one).
    """
    piece_form = piece_form or _piece_output_form
    fb = split.fbreaks
    pts = [float(x) for x in xs if not _near(float(x), fb)]
    vals = [(x, f_ref(x), d_ref(x)) for x in pts]
    vals = [(x, f.value, d.value) for x, f, d in vals if f.in_float_range and d.in_float_range]
    if not vals:
        return None, "none: f is not real and finite on the sample points"
    xs_ok, fv, dv = zip(*vals)
    if all(d == 0 for d in dv):
        return sp.Integer(0), "f' = 0 wherever it exists"
    if any(d > 0 for d in dv) and any(d < 0 for d in dv):
        w = _witness(xs_ok, fv, dv, f_ref, d_ref)
        why = w or "f rises on some inputs and falls on others"
        return None, f"none: f is not monotone, so one output a comes from inputs with different slopes ({why})"
    forms: list[tuple[sp.Set, sp.Expr]] = []
    edges = [-sp.oo, *split.breaks, sp.oo]
    for k, (e, de) in enumerate(zip(split.pieces, dpieces)):
        lo_closed = k > 0 and split.at[k - 1] == e
        hi_closed = k < len(split.breaks) and split.at[k] == e
        if not e.has(z):
            forms.append((sp.FiniteSet(e), sp.Integer(0)))
            continue
        try:
            h = piece_form(e, de)
        except _NotSearched as why:
            where = "" if len(split.pieces) == 1 else f" on the piece {e}"
            return None, f"not searched{where}: {why}"
        if h is None:
            where = "" if len(split.pieces) == 1 else f" on the piece {e}"
            return None, ("f is monotone, so f' is a function of a, but sympy's fixed search found no closed form"
                          + where)
        dm = d_ref(_mid(edges[k], edges[k + 1]))
        increasing = not (dm.usable and dm.value < 0)
        forms.append((_image(e, edges[k], edges[k + 1], lo_closed, hi_closed, increasing), h))
    try:
        forms.sort(key=lambda t: float(t[0].inf))
    except (TypeError, ValueError):
        return None, "not found: the image of a piece is not a number sympy can order"
    hs = [_simplest(h) for _, h in forms]
    if len(set(hs)) == 1:
        form = hs[0]
    else:
        args = [(h, s.as_relational(_A)) for (s, _), h in zip(forms[:-1], hs[:-1])]
        form = sp.Piecewise(*args, (hs[-1], sp.true))
    # check: h(f(z)) = f'(z) at moderate points
    h_fn = _mp_function(form, _A)
    checked = 0
    with mpmath.workdps(40):
        for x, f, d in vals:
            if abs(x) > 10:
                continue
            try:
                hv = mpmath.mpf(h_fn(f))
            except (ArithmeticError, ValueError, TypeError):
                return None, "not found: the candidate could not be evaluated"
            if abs(hv - d) > 1e-12 * max(abs(d), 1):
                return None, f"not found: the candidate {form} disagrees with f' at z = {_f(x)}"
            checked += 1
    return form, f"checked at {checked} points"


def _mid(lo: sp.Expr, hi: sp.Expr) -> float:
    """A point inside the interval (lo, hi), either end possibly infinite."""
    if lo.is_finite and hi.is_finite:
        return float((lo + hi) / 2)
    if hi.is_finite:
        return float(hi) - 1.0
    if lo.is_finite:
        return float(lo) + 1.0
    return 0.0


def _solvable(target: sp.Expr) -> bool:
    """The fixed search inverts only what sympy inverts in closed form quickly: z occurring
    once (an inverse function chain), or a rational function of degree at most 2."""
    if target.count(z) == 1:
        return True
    if target.is_rational_function(z):
        num, den = sp.fraction(sp.together(target))
        try:
            return max(sp.degree(num, z), sp.degree(den, z)) <= 2
        except sp.PolynomialError:
            return False
    return False


def _piece_output_form(e: sp.Expr, de: sp.Expr) -> sp.Expr | None:
    """h with h(e(z)) = e'(z) on a monotone piece, by substitution or by inverting e
    (raises :class:`_NotSearched` when :func:`_search_budget` rules the inversion out)."""
    if not de.has(z):
        return de
    h = de.subs(e, _A)
    if not h.has(z):
        return h
    target = _plain(e)
    if not _solvable(target):
        return None
    why = _search_budget(target)
    if why:
        raise _NotSearched(why)
    try:
        sols = sp.solve(sp.Eq(target, _A), z, check=False, simplify=False)  # our own check below
    except (NotImplementedError, ValueError, TypeError, RecursionError):  # deep nesting
        return None
    for sol in sols if isinstance(sols, list) else []:
        cand = de.subs(z, sol)
        if cand.has(z) or sol.has(sp.zoo, sp.nan) or cand.has(sp.zoo, sp.nan):
            continue
        # keep the branch that inverts e on the real line: sol(e(x0)) = x0 at a test point,
        # evaluated in mpmath (sympy's evalf of such expressions can take minutes)
        try:
            with mpmath.workdps(30):
                x0 = mpmath.mpf(1) / 3
                back = _mp_function(sol, _A)(_mp_function(target)(x0))
                if abs(mpmath.mpc(back) - x0) < mpmath.mpf("1e-20"):
                    return cand.rewrite(sp.exp) if cand.has(sigmoid) else cand
        except (TypeError, ValueError, ArithmeticError, NameError, AttributeError, KeyError):
            continue
    return None
