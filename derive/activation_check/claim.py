"""The verdict on a claimed derivative.

Owns :func:`_claim_symbolic` (a claim given as an expression: a
counterexample found in high precision, readable points first, else a sympy
proof on every piece) and :func:`_claim_numpy` (a claim given as a NumPy
callable: its soundness check, and a counterexample when the formula itself
is wrong rather than its numerics).
"""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING, Any, Callable

import mpmath
import numpy as np
import sympy as sp
from sympy.functions.elementary.hyperbolic import HyperbolicFunction

from derive.activation_check.mpref import _Reference
from derive.activation_check.numpy_audit import _FLOOR, _check_callable
from derive.activation_check.pieces import _interior_points, _split, _unfold
from derive.activation_check.results import (
    RTOL,
    CallableCheck,
    ClaimVerdict,
    PointError,
    _f,
)
from derive.activation_check.sampling import _NICE, _near, _neighbours
from derive.activations import sigmoid, softplus, z

if TYPE_CHECKING:  # pragma: no cover
    from derive.activation_check.analysis import _Analysis

_CLAIM_RTOL = 1e-13
"""Two high-precision values of a claim and f' that differ by more than this, relative to
f' (floored at :data:`_FLOOR`), are different.  Both sides are computed to 20 correct
digits, so the tolerance is not for their rounding: it admits a claim whose float
constants are f's own written back with 15 or 16 digits (0.5 ulp of float64 is 1.1e-16),
and refuses one written with 12 (1/sqrt(2 pi) as 0.398942280401 differs by 1.1e-12) or a
term of 1e-10 added (an earlier 1e-9 let both pass as "equal")."""
_CLAIM_MARGIN = 1e-12
"""Claim points within this relative distance of a breakpoint of f are left out: a
breakpoint stored as a float (log(2) as 0.6931471805599453) may lie 1 ulp from the exact
one, and the claim's own breakpoint may round to either side.  Both sides are evaluated in
high precision on their own pieces, so the much wider margin of NumPy code
(:data:`KINK_MARGIN`, 1e-6) is not needed here, and hid a claim wrong on (0, 1e-7)."""
_LARGE = (1e5, 1e6, 1e8, 1e10, 1e15, 1e20, 1e50, 1e100, 1e200, 1e300)
"""Magnitudes where a claim is also compared (both signs): the seeded points stop at 1e4."""


def _constant_points(*exprs: sp.Expr) -> list[float]:
    """The numbers written in the expressions, with their negatives and reciprocals, as
    sample points: a term such as exp(-1e6 (z - 3.21)**2) or (z/1e6)**6 differs from 0
    only near, or beyond, a number the user wrote."""
    out: set[float] = set()
    for e in exprs:
        for a in e.atoms(sp.Number):
            try:
                c = abs(float(a))
            except (TypeError, ValueError, OverflowError):
                continue
            if 1e-300 < c < 1e300 and c != 1.0:
                out.update({c, -c, 1.0 / c, -1.0 / c})
    return sorted(out)


def _exp_form(expr: sp.Expr) -> sp.Expr:
    """sigmoid(u) -> exp(u)/(exp(u) + 1) and softplus(u) -> log(exp(u) + 1): the forms sympy's
    diff produces from the plain definitions, so that equal derivatives cancel quickly."""
    expr = expr.replace(lambda n: isinstance(n, sigmoid), lambda n: sp.exp(n.args[0]) / (sp.exp(n.args[0]) + 1))
    return expr.replace(lambda n: isinstance(n, softplus), lambda n: sp.log(sp.exp(n.args[0]) + 1))


def _hyperbolic_exp(fn: sp.Expr) -> sp.Expr:
    """One hyperbolic function as exponentials, each of tanh, sech, coth, csch with a single
    exp(2u) or exp(u) so that products of them expand to few terms."""
    u = fn.args[0]
    t = sp.exp(2 * u)
    if isinstance(fn, sp.tanh):
        return (t - 1) / (t + 1)
    if isinstance(fn, sp.coth):
        return (t + 1) / (t - 1)
    if isinstance(fn, sp.sech):
        return 2 * sp.exp(u) / (t + 1)
    if isinstance(fn, sp.csch):
        return 2 * sp.exp(u) / (t - 1)
    return fn.rewrite(sp.exp)


def _hyperbolic_exp_form(expr: sp.Expr) -> sp.Expr:
    """:func:`_exp_form`, then every hyperbolic function (tanh, sech, ...) written with real
    exponentials: a rational function of exponentials (``exp(2*log(u))`` is ``u**2``), so that
    identities such as sech(u)**2 = 1 - tanh(u)**2 become polynomial cancellation.  Trig
    functions are left alone (the last form of :data:`_FORMS` rewrites them, through ``I``)."""
    return _exp_form(expr).replace(lambda n: isinstance(n, HyperbolicFunction), _hyperbolic_exp)


def _expand_work(expr: sp.Expr) -> int:
    """An upper estimate of the work of ``expand(expr)``: the number of terms a term-by-term
    multiplication would produce, summed over every sum, product and integer power in the
    tree (a product multiplies the term counts of its factors, ``(a + b)**n`` counts its
    multinomial terms).  Read from the tree alone, so it costs nothing; capped just above
    :data:`EXPAND_BUDGET` so that the arithmetic stays small."""
    return _expand_size(expr)[1]


def _expand_size(expr: sp.Expr) -> tuple[int, int]:
    """(terms of the expansion, work to get there) for :func:`_expand_work`."""
    cap = EXPAND_BUDGET + 1
    if expr.is_Atom:
        return 1, 1
    if expr.is_Add or expr.is_Mul:
        sizes = [_expand_size(a) for a in expr.args]
        terms = sum(t for t, _ in sizes) if expr.is_Add else math.prod(min(t, cap) for t, _ in sizes)
        terms = min(terms, cap)
        return terms, min(sum(w for _, w in sizes) + terms, cap)
    if expr.is_Pow and expr.exp.is_Integer:
        base_terms, work = _expand_size(expr.base)
        n = abs(int(expr.exp))
        terms = 1 if base_terms == 1 else (cap if n > 64 else min(math.comb(base_terms + n - 1, n), cap))
        return (terms if expr.exp > 0 else 1), min(work + terms, cap)
    work = sum(_expand_size(a)[1] for a in expr.args if isinstance(a, sp.Expr))
    return 1, min(work + 1, cap)


def _numerator_vanishes(expr: sp.Expr, budget: list[int]) -> bool:
    """True when the numerator of ``expr`` over a common denominator expands to 0 (a rational
    function is 0 where defined iff its numerator is identically 0; products of exponentials
    combine as exp(a)*exp(b) = exp(a + b)).  The expansion is paid for from ``budget[0]``
    by its estimated work (:func:`_expand_work`) and not tried when that is more than is
    left: a deterministic bound, whatever the expression."""
    numer = expr.as_numer_denom()[0]
    work = _expand_work(numer)
    if work > budget[0]:
        return False
    budget[0] -= work
    return sp.expand(numer) == 0


_FORMS: tuple[Callable[[sp.Expr], sp.Expr], ...] = (
    lambda e: e,
    _exp_form,
    _hyperbolic_exp_form,
    lambda e: _hyperbolic_exp_form(e).rewrite(sp.exp),  # trig too, through exp(I*z)
)
PROOF_MAX_OPS = 400
"""The zero-test of claim - f' is tried only on differences of at most this many operations
(sympy's ``count_ops``), and only by the fixed rewritings in :data:`_FORMS` followed by an
expansion of the numerator bounded by :data:`EXPAND_BUDGET`.  A fixed, deterministic
budget (never wall time), so the verdict "proven" or "equal numerically" is the same on
every machine.  ``simplify`` and ``cancel`` are not used: their cost does not follow the
size of their input (on the 27-operation difference of Mish's derivative with and without
``softplus``, ``simplify``'s ``trigsimp`` factors over Q(i) for 10-30 s; ``cancel`` turns
exp(z/2), exp(2*z/3), ... into powers of exp(z/60) of high degree)."""
EXPAND_BUDGET = 150_000
"""Estimated work (:func:`_expand_work`) that the numerator expansions of one zero-test may
use in all: about a second of sympy at worst (measured: an estimate of 110,000 for a
numerator that does not vanish expands in 0.4 s; 2.7 million took 11 s)."""


def _is_zero(expr: sp.Expr) -> bool:
    """True when ``expr`` is shown to be 0 by a fixed sequence of cheap rewritings: each form
    in :data:`_FORMS` (as is, sigmoid/softplus as exponentials, hyperbolic functions as
    exponentials, trig functions too) is compared with 0, then
    its numerator is expanded within :data:`EXPAND_BUDGET` (an estimate of the work,
    shared by all forms).  Only for expressions of at most :data:`PROOF_MAX_OPS` operations.  False means "not proven", never
    "different": the caller has already compared the two sides in high precision."""
    if sp.count_ops(expr) > PROOF_MAX_OPS:
        return False
    budget = [EXPAND_BUDGET]
    for form in _FORMS:
        try:
            rewritten = form(expr)
            if rewritten == 0 or _numerator_vanishes(rewritten, budget):
                return True
        except (TypeError, ValueError, NotImplementedError, ZeroDivisionError, sp.PolynomialError):
            continue
    return False


def _claim_symbolic(claim: sp.Expr, an: "_Analysis", xs: np.ndarray) -> ClaimVerdict:
    """Counterexample (at high precision, readable points first), else a proof on every piece."""
    f_split, d_ref, dpieces, bps = an.split, an.d_ref, an.dpieces, an.bps
    avoid = an.avoid
    label = str(claim)
    c_split = _split(claim)
    c_ref = _Reference(c_split, [_unfold(p) for p in c_split.pieces], [_unfold(p) for p in c_split.at])
    fb, cb = f_split.fbreaks, c_split.fbreaks
    all_breaks = sorted(set(fb) | set(cb))
    extra = _neighbours(all_breaks)
    extra += [(a + b) / 2 for a, b in zip(all_breaks, all_breaks[1:])]
    extra += [s * x for x in _LARGE for s in (1.0, -1.0)]
    extra += _constant_points(claim, *f_split.pieces)
    pts = np.unique(np.concatenate([xs, np.asarray(extra + list(cb), dtype=np.float64)]))
    bad: list[PointError] = []
    n = 0
    for x in pts:
        x = float(x)
        if _near(x, avoid, _CLAIM_MARGIN):
            continue
        want = d_ref(x)
        if not want.usable:
            continue
        got = c_ref(x)
        if not got.usable and abs(x) > 1e4 and got.problem != "not real":
            continue  # mpmath's own limit far out (erfc(1e200) is NaN there), not the claim's
        n += 1
        if not got.usable:
            bad.append(PointError(x, math.nan, float(want.value), math.inf))
            continue
        rel = float(abs(got.value - want.value) / max(abs(want.value), mpmath.mpf(_FLOOR)))
        if rel > _CLAIM_RTOL:
            bad.append(PointError(x, float(got.value), float(want.value), rel))
    if bad:
        clear = [e for e in bad if e.rel_error > 1e-6] or bad  # shown: a plain difference, if there is one
        nice = [e for e in clear if e.z in _NICE]
        ce = min(nice, key=lambda e: _NICE.index(e.z)) if nice else min(clear, key=lambda e: (abs(e.z), e.z))
        small = (f" (relative difference {ce.rel_error:.2g}: a constant written with too few digits?)"
                 if ce.rel_error < 1e-6 else "")
        return ClaimVerdict("symbolic", label, "counterexample", n, ce, sorted(bad, key=lambda e: -e.rel_error)[:3],
                            f"at z = {_f(ce.z)} the claim gives {_f(ce.got)} but f'({_f(ce.z)}) = {_f(ce.want)}"
                            + small)
    for b in bps:  # where f's pieces join smoothly, the claim must equal f' there
        if b.kind != "smooth" or not b.left_derivative.is_finite:
            continue
        got, want = c_ref(float(b.z)), float(b.left_derivative)
        if not got.usable or abs(float(got.value) - want) > _CLAIM_RTOL * max(abs(want), _FLOOR):
            g = float(got.value) if got.usable else math.nan
            return ClaimVerdict("symbolic", label, "counterexample", n, PointError(float(b.z), g, want, math.inf),
                                detail=f"at z = {b.z}, where the pieces of f join smoothly, it gives {_f(g)} "
                                       f"but f'({b.z}) = {b.left_derivative}")
    for b in bps:  # at a kink the claim must lie between the one-sided derivatives
        if b.kind != "kink" or not all(v.is_finite for v in (b.left_derivative, b.right_derivative)):
            continue
        got = c_ref(float(b.z))
        lo, hi = sorted((b.left_derivative, b.right_derivative), key=lambda v: float(v))
        if not got.usable or not (float(lo) - 1e-12 <= float(got.value) <= float(hi) + 1e-12):
            g = float(got.value) if got.usable else math.nan
            return ClaimVerdict("symbolic", label, "counterexample", n,
                                PointError(float(b.z), g, float(lo), math.inf),
                                detail=f"at the kink z = {b.z} it gives {_f(g)}, outside the left and right "
                                       f"derivatives {lo} and {hi}")
    # no counterexample: try to prove equality on every interval of the common partition
    proven = True
    for m in _interior_points(all_breaks, 0.0):
        fk = bisect.bisect_left(fb, m)
        diff = _unfold(c_split.expr_at(m)) - dpieces[fk]
        if not diff.has(z) and diff.is_real and diff.is_zero is False:  # a constant, nonzero: a disproof
            g = c_ref(float(m))
            return ClaimVerdict("symbolic", label, "counterexample", n,
                                PointError(float(m), float(g.value) if g.usable else math.nan,
                                           float(d_ref(float(m)).value), math.inf),
                                detail=f"between the breakpoints around z = {_f(float(m))}, claim - f' is the "
                                       f"constant {diff}")
        if not _is_zero(diff):
            proven = False
            break
    if proven:
        where = "on every piece" if all_breaks else "everywhere"
        return ClaimVerdict("symbolic", label, "proven", n, detail=f"sympy reduces claim - f' to 0 {where}"
                            + (", apart from the kinks" if any(b.kind == "kink" for b in bps) else ""))
    return ClaimVerdict("symbolic", label, "equal numerically", n,
                        detail=f"equal to f' within a relative {_CLAIM_RTOL:g} at {n} points in high precision; "
                               "sympy's fixed proof strategy did not reduce claim - f' to 0 (not a counterexample)")


def _claim_numpy(fn: Callable[..., Any], an: "_Analysis", xs: np.ndarray, *, rtol: float = RTOL,
                 atol: float | None = None) -> tuple[ClaimVerdict, CallableCheck]:
    """Verdict on a claimed derivative given as a NumPy callable, and its graded soundness check.

    The claim is wrong when the check finds an error, a wrong shape, a kink value outside
    the one-sided derivatives or a wrong value at a moderate input (a wrong formula);
    lost precision elsewhere is a warning of the check, not a wrong claim.
    """
    fb = an.avoid
    check = _check_callable(fn, "derivative", "f'", an.d_ref, xs, fb, an.bps, rtol=rtol, atol=atol)
    bad = next((f for f in check.findings if f.kind in ("error", "shape", "kink", "wrong")), None)
    detail = ""
    if bad is not None:
        detail = (f"at z = {_f(bad.z)} it returns {_f(bad.got)} but f'({_f(bad.z)}) = {_f(bad.want)}"
                  if bad.kind == "wrong" else str(bad))
    verdict = ClaimVerdict("numpy", getattr(fn, "__name__", "callable"), "counterexample" if bad else "agrees",
                           check.points, PointError(bad.z, bad.got, bad.want, math.inf) if bad else None,
                           check.worst, detail, rtol=rtol)
    return verdict, check
