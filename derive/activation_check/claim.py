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

from derive.activation_check.mpref import _Reference
from derive.activation_check.numpy_audit import _FLOOR, _check_callable
from derive.activation_check.pieces import _interior_points, _split, _unfold
from derive.activation_check.sampling import _NICE, _near, _neighbours
from derive.activation_check.results import RTOL, CallableCheck, ClaimVerdict, PointError, _f
from derive.activations import sigmoid, softplus

if TYPE_CHECKING:  # pragma: no cover
    from derive.activation_check.analysis import _Analysis

_CLAIM_RTOL = 1e-9  # two high-precision values that differ by more are different


def _exp_form(expr: sp.Expr) -> sp.Expr:
    """sigmoid(u) -> exp(u)/(exp(u) + 1) and softplus(u) -> log(exp(u) + 1): the forms sympy's
    diff produces from the plain definitions, so that equal derivatives cancel quickly."""
    expr = expr.replace(lambda n: isinstance(n, sigmoid), lambda n: sp.exp(n.args[0]) / (sp.exp(n.args[0]) + 1))
    return expr.replace(lambda n: isinstance(n, softplus), lambda n: sp.log(sp.exp(n.args[0]) + 1))


_CHEAP_TESTS: tuple[Callable[[sp.Expr], sp.Expr], ...] = (
    lambda e: e,
    sp.expand,
    lambda e: sp.cancel(_exp_form(e)),
    lambda e: sp.expand(_exp_form(e)),
    lambda e: sp.together(e.rewrite(sp.exp)),
)
_COSTLY_TESTS: tuple[Callable[[sp.Expr], sp.Expr], ...] = (
    sp.simplify,
    lambda e: sp.simplify(e.rewrite(sp.exp)),
)
PROOF_MAX_OPS = 120
"""``simplify`` is tried on a difference claim - f' only up to this many operations
(sympy's ``count_ops``): a fixed, deterministic budget (never wall time), so the
verdict "proven" or "equal numerically" is the same on every machine."""


def _is_zero(expr: sp.Expr) -> bool:
    """True when sympy reduces ``expr`` to 0 by a fixed sequence of rewritings (cheap ones
    first; ``simplify`` only for expressions of at most :data:`PROOF_MAX_OPS` operations)."""
    tests = _CHEAP_TESTS + (_COSTLY_TESTS if sp.count_ops(expr) <= PROOF_MAX_OPS else ())
    for test in tests:
        try:
            if test(expr) == 0:
                return True
        except (TypeError, ValueError, NotImplementedError, sp.PolynomialError):
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
    pts = np.unique(np.concatenate([xs, np.asarray(extra + list(cb), dtype=np.float64)]))
    bad: list[PointError] = []
    n = 0
    for x in pts:
        x = float(x)
        if _near(x, avoid):
            continue
        want = d_ref(x)
        if not want.usable:
            continue
        got = c_ref(x)
        n += 1
        if not got.usable:
            bad.append(PointError(x, math.nan, float(want.value), math.inf))
            continue
        rel = float(abs(got.value - want.value) / max(abs(want.value), mpmath.mpf(_FLOOR)))
        if rel > _CLAIM_RTOL:
            bad.append(PointError(x, float(got.value), float(want.value), rel))
    if bad:
        nice = [e for e in bad if e.z in _NICE]
        ce = min(nice, key=lambda e: _NICE.index(e.z)) if nice else min(bad, key=lambda e: (abs(e.z), e.z))
        return ClaimVerdict("symbolic", label, "counterexample", n, ce, sorted(bad, key=lambda e: -e.rel_error)[:3],
                            f"at z = {_f(ce.z)} the claim gives {_f(ce.got)} but f'({_f(ce.z)}) = {_f(ce.want)}")
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
        if not _is_zero(diff):
            proven = False
            break
    if proven:
        where = "on every piece" if all_breaks else "everywhere"
        return ClaimVerdict("symbolic", label, "proven", n, detail=f"sympy reduces claim - f' to 0 {where}"
                            + (", apart from the kinks" if any(b.kind == "kink" for b in bps) else ""))
    return ClaimVerdict("symbolic", label, "equal numerically", n,
                        detail="sympy's fixed proof strategy did not reduce claim - f' to 0 (not a counterexample)")


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
