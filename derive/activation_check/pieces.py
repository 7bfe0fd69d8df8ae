"""f split into smooth pieces, and what happens where the pieces meet.

Owns the piecewise analysis of :func:`derive.activation_check.check.check_activation`:
Abs, Max/Min, sign and Heaviside unfolded into Piecewise (:func:`_unfold`),
the split into smooth pieces with f's value at each breakpoint
(:class:`_Split`), one-sided limits, the classification of each breakpoint
as a kink, a jump or a smooth join with its left and right derivatives
(:func:`_breakpoints`), and the simplification (within a fixed operation
budget) and reassembly of the derivative for display (:func:`_simplest`,
:func:`_assemble`).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import sympy as sp

from derive.activation_check.results import Breakpoint
from derive.activations import sigmoid, softplus, z
from numeric.errors import InputError

_NONSMOOTH = (sp.Abs, sp.Max, sp.Min, sp.sign, sp.Heaviside)
_MAX_PIECES = 64


def _unfold(expr: sp.Expr) -> sp.Expr:
    """Abs, Max, Min, sign and Heaviside written as Piecewise (their kinks become explicit)."""
    return expr.replace(lambda n: isinstance(n, _NONSMOOTH), lambda n: n.rewrite(sp.Piecewise))


@dataclass(frozen=True)
class _Split:
    """f as smooth pieces: ``pieces[k]`` holds on the open interval left of
    ``breaks[k]`` (the last one right of the last break); ``at[k]`` gives f at
    ``breaks[k]`` itself."""

    breaks: tuple[sp.Expr, ...]
    pieces: tuple[sp.Expr, ...]
    at: tuple[sp.Expr, ...]

    @property
    def fbreaks(self) -> list[float]:
        return [float(b) for b in self.breaks]

    def expr_at(self, x: float) -> sp.Expr:
        fb = self.fbreaks
        k = bisect.bisect_left(fb, x)
        if k < len(fb) and fb[k] == x:
            return self.at[k]
        return self.pieces[k]


def _interior_points(breaks: Sequence[Any], origin: Any) -> list[Any]:
    """One point inside each interval that the sorted ``breaks`` cut the line into:
    1 left of the first, the midpoints, 1 right of the last (``origin`` when there
    are no breaks).  Works for sympy numbers and floats alike."""
    if not breaks:
        return [origin]
    return [breaks[0] - 1] + [(a + b) / 2 for a, b in zip(breaks, breaks[1:])] + [breaks[-1] + 1]


_PERIODIC = (sp.sin, sp.cos, sp.tan, sp.sec, sp.csc, sp.cot)


def _check_condition(cond: sp.Basic) -> None:
    """Refuse, before sympy tries (a deterministic bound), a condition whose solution set
    sympy cannot find quickly: each comparison must be a rational function of z, or have
    z occur once and no periodic function (``sec(z) >= 3`` has infinitely many pieces)."""
    for rel in cond.atoms(sp.Rel):
        g = rel.lhs - rel.rhs
        if not g.has(z) or g.is_rational_function(z):
            continue
        if g.count(z) == 1 and not g.has(*_PERIODIC):
            continue
        raise InputError(f"cannot tell for which z the condition {rel} holds: only conditions on rational "
                         "functions of z, or on z inside one chain of non-periodic functions, are split")


def _split(expr: sp.Expr) -> _Split:
    e = sp.piecewise_fold(_unfold(expr))
    if not isinstance(e, sp.Piecewise):
        return _Split((), (e,), ())
    remaining: sp.Set = sp.S.Reals
    sets: list[tuple[sp.Expr, sp.Set]] = []
    for val, cond in e.args:
        _check_condition(cond)
        try:
            s = cond.as_set().intersect(remaining)
        except (NotImplementedError, TypeError, ValueError) as exc:
            raise InputError(f"cannot tell for which z the condition {cond} holds ({exc})") from None
        remaining = remaining - s
        sets.append((val, s))
    if remaining != sp.S.EmptySet:
        raise InputError(f"the piecewise definition leaves f undefined for z in {remaining}")
    points: set[sp.Expr] = set()
    for _, s in sets:
        points |= {b for b in s.boundary if b.is_finite}
    if len(points) >= _MAX_PIECES:
        raise InputError(f"f has {len(points)} breakpoints; at most {_MAX_PIECES - 1} are supported")
    breaks = sorted(points, key=lambda b: float(b))

    def owner(x: sp.Expr) -> sp.Expr:
        for val, s in sets:
            if s.contains(x) == sp.true:
                return val
        raise InputError(f"cannot tell which piece of the definition holds at z = {x}")

    pieces = [owner(m) for m in _interior_points(breaks, sp.Integer(0))]
    at = [owner(b) for b in breaks]
    # drop breaks where nothing changes
    kb, kp, ka = [], [pieces[0]], []
    for b, a, right in zip(breaks, at, pieces[1:]):
        if right == kp[-1] and a == right:
            continue
        kb.append(b)
        ka.append(a)
        kp.append(right)
    return _Split(tuple(kb), tuple(kp), tuple(ka))


def _is_finite_number(v: sp.Expr) -> bool:
    return bool(v.is_number and v.is_finite and v.is_extended_real)


def _plain(expr: sp.Expr) -> sp.Expr:
    """sigmoid and softplus written with exp and log (for limit and solve)."""
    return expr.rewrite(sp.exp) if expr.has(sigmoid, softplus) else expr


def _limit(expr: sp.Expr, point: sp.Expr, direction: str) -> sp.Expr:
    """``expr`` at ``point`` (substitution when finite, else a one-sided limit)."""
    if point.is_finite:
        v = expr.subs(z, point)
        if _is_finite_number(v):
            return v
    return sp.limit(_plain(expr), z, point, direction)


def _same(x: sp.Expr, y: sp.Expr) -> bool:
    """Two constants are equal (to 40 digits; equal infinities count as equal)."""
    if x == y:
        return True
    try:
        fx, fy = complex(sp.N(x, 40)), complex(sp.N(y, 40))
    except (TypeError, ValueError):
        return False
    if not (np.isfinite(fx) and np.isfinite(fy)):
        return fx == fy
    return abs(fx - fy) <= 1e-30 * max(1.0, abs(fx), abs(fy))


def _breakpoints(split: _Split, dpieces: Sequence[sp.Expr]) -> list[Breakpoint]:
    out = []
    for k, b in enumerate(split.breaks):
        left, right = split.pieces[k], split.pieces[k + 1]
        fl, fr, fb = _limit(left, b, "-"), _limit(right, b, "+"), split.at[k].subs(z, b)
        dl, dr = _limit(dpieces[k], b, "-"), _limit(dpieces[k + 1], b, "+")
        if not (_same(fl, fr) and _same(fl, fb)):
            kind = "jump"
        elif _same(dl, dr) and _is_finite_number(dl):
            kind = "smooth"
        else:
            kind = "kink"
        out.append(Breakpoint(b, kind, fb, fl, fr, dl, dr))
    return out


_SIMPLE_CACHE: dict[sp.Expr, sp.Expr] = {}
SIMPLIFY_MAX_OPS = 5
"""``simplify`` is tried only on expressions of at most this many operations
(``factor`` up to 24 times as many): a fixed, deterministic budget, so the
derivative shown is the same text on every machine and under any load."""


FACTOR_MAX_DEGREE = 24
"""``factor`` is skipped when an exponential or a fractional power would be a generator of
higher degree than this (exp(z/97) and exp(z/89) together are powers of exp(z/8633), of
degree 89 and 97: factoring those runs for minutes).  Read from the tree, deterministic."""


def _generator_degree(expr: sp.Expr) -> int:
    """The highest degree of the common generator that sympy's polynomials would use for the
    exponentials exp(c*g) and powers b**c (c rational) of ``expr``: max |c| * lcm of the
    denominators of the c's that share the same g (or b)."""
    coeffs: dict[sp.Expr, list[sp.Rational]] = {}
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.exp):
            c, g = node.args[0].as_coeff_Mul()
        elif node.is_Pow and node.exp.is_Rational:
            c, g = node.exp, node.base
        else:
            continue
        if c.is_Rational:
            coeffs.setdefault(g, []).append(abs(c))
    degree = 1
    for cs in coeffs.values():
        lcm = math.lcm(*(int(c.q) for c in cs))
        if lcm > 10**6:
            return lcm
        degree = max(degree, max(int(c * lcm) for c in cs))
    return degree


def _simplest(expr: sp.Expr) -> sp.Expr:
    """The shortest of ``expr``, ``factor(expr)`` and ``simplify(expr)`` (each tried only
    within its operation-count budget; cached, so a warm check does not pay again)."""
    if expr in _SIMPLE_CACHE:
        return _SIMPLE_CACHE[expr]
    best = expr
    ops = sp.count_ops(expr)
    attempts = [a for a, limit in ((sp.factor, 24 * SIMPLIFY_MAX_OPS), (sp.simplify, SIMPLIFY_MAX_OPS))
                if ops <= limit]
    if _generator_degree(expr) > FACTOR_MAX_DEGREE:
        attempts = []
    for attempt in attempts:
        try:
            cand = attempt(expr)
        except (TypeError, ValueError, NotImplementedError, sp.PolynomialError):
            continue
        if sp.count_ops(cand) < sp.count_ops(best):
            best = cand
    if len(_SIMPLE_CACHE) > 512:
        _SIMPLE_CACHE.clear()
    _SIMPLE_CACHE[expr] = best
    return best


def _assemble(split: _Split, pieces: Sequence[sp.Expr], var: sp.Symbol = z) -> sp.Expr:
    """One Piecewise from per-interval expressions (break points go with ``split.at``)."""
    if not split.breaks:
        return pieces[0]
    args = []
    for k, b in enumerate(split.breaks):
        closed = split.at[k] == split.pieces[k]
        args.append((pieces[k], sp.Le(var, b) if closed else sp.Lt(var, b)))
    args.append((pieces[-1], sp.true))
    return sp.Piecewise(*args)
