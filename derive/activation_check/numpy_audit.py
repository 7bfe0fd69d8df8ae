"""Numerical soundness of a user's NumPy callable, graded.

Owns :func:`_check_callable`: the callable is run on the whole array and on
each point alone under ``np.errstate``, over the whole float64 range (the
sample points plus :data:`derive.activation_check.sampling.AUDIT_EXTREMES`:
subnormals, +-0, up to +-1.8e308, and the neighbourhood of every
breakpoint), and compared with the high-precision reference.  Findings are
graded:

* **fault** (the check fails): an exception, a wrong shape, NaN or inf where
  the true value is finite, a *wrong* value (a wrong formula, shown at the
  most readable such input), a derivative at a kink outside the one-sided
  derivatives;
* **warning** (reported; a failure only with ``strict``): accuracy lost
  beyond ``|got - true| <= rtol |true| + atol``, with the worst relative
  error and where;
* **note**: NumPy reported overflow, invalid or divide but the result is right.

Wrong or lost precision?  A value off by more than :data:`WRONG` relative
(and ``atol``) is *wrong* when float64 rounding cannot explain it:

* at a moderate input (``|z| <= 10``) always: rounding there stays far below;
* at any other input when the error also exceeds :data:`ROUNDING_ULPS` ulps
  of the sizes of the formula's intermediate terms, weighted by how much each
  moves the result: ``eps * sum_n |n(z)| * |dE/dn(z)|`` over the nodes ``n`` of
  the true formula ``E`` (:class:`_RoundingBound`, evaluated in mpmath).  This
  is the first-order bound on what rounding every intermediate result of a
  right formula can do.  Cancellation of large terms is allowed for (naive
  SquarePlus ``(z + sqrt(z**2 + 4))/2`` returns 0 at ``z = -1e8`` where the
  truth is 1e-8: its terms are 1e8, so an error up to ~1e-7 is rounding, a
  warning), while ``-1`` where the truth is ~0 and no term of the formula is
  large (SiLU' at ``z = -1e6``), or ``2z`` for ``z``, is wrong: a fault.
  Where the bound cannot be formed (a formula over the operation budget),
  large inputs keep the warning.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import mpmath
import numpy as np
import sympy as sp

from derive.activation_check.mpref import _mp_function, _Reference
from derive.activation_check.results import (
    ATOL_SCALE,
    RTOL,
    WRONG,
    Breakpoint,
    CallableCheck,
    Finding,
    PointError,
    _f,
    _show,
)
from derive.activation_check.sampling import _NICE, _near, _readable
from derive.activations import z

_FLOOR = 1e-300  # relative errors of true values smaller than this are measured in absolute terms
_MODERATE = 10.0  # inputs where a float64 implementation of a right formula is accurate


def _rel_error(got: float, want: Any) -> float:
    """Relative error of a float64 result against a high-precision value (NaN: inf; an
    infinity counts as exact only against an infinite value of the same sign)."""
    if math.isnan(got):
        return math.inf
    if math.isinf(got):
        return 0.0 if (mpmath.isinf(want) and (got > 0) == (want > 0)) else math.inf
    return float(abs(mpmath.mpf(got) - want) / max(abs(want), mpmath.mpf(_FLOOR)))


ROUNDING_ULPS = 16
"""How many ulps of the formula's weighted intermediate terms (:class:`_RoundingBound`) an
error at a large input may reach and still count as lost precision, not a wrong value."""
BOUND_MAX_OPS = 120
"""The rounding bound is formed only for pieces of at most this many operations (sympy's
``count_ops``): a fixed budget, never wall time."""
_EPS = float(np.finfo(np.float64).eps)
_W = sp.Dummy("w")


class _RoundingBound:
    """``sum_n |n(x)| * |dE/dn(x)|`` over the nodes of the formula ``E`` in force at ``x``
    (each subexpression with ``z``, and each inexact constant): times eps, the first-order
    bound on the absolute error that rounding each intermediate result of ``E`` in float64
    can cause.  Non-finite terms (exp-like functions saturated by the reference's guards)
    are left out; ``None`` when the piece is over :data:`BOUND_MAX_OPS` operations."""

    def __init__(self, ref: _Reference) -> None:
        self.ref = ref
        self._compiled: dict[sp.Expr, list[tuple[Callable[[Any], Any], Callable[[Any], Any]]] | None] = {}

    def _terms(self, expr: sp.Expr) -> list[tuple[Callable[[Any], Any], Callable[[Any], Any]]] | None:
        if expr not in self._compiled:
            self._compiled[expr] = _node_terms(expr)
        return self._compiled[expr]

    def __call__(self, x: float) -> Any:
        terms = self._terms(self.ref.expr_at(x))
        if terms is None:
            return None
        total = mpmath.mpf(0)
        with mpmath.workdps(30):
            for node, slope in terms:
                try:
                    t = abs(mpmath.mpf(node(mpmath.mpf(x)))) * abs(mpmath.mpf(slope(mpmath.mpf(x))))
                except Exception:  # noqa: BLE001 - a node that cannot be evaluated here adds nothing
                    continue
                if mpmath.isfinite(t):
                    total += t
        return total  # an mpf: the sum may exceed the float64 range


def _node_terms(expr: sp.Expr) -> list[tuple[Callable[[Any], Any], Callable[[Any], Any]]] | None:
    """(n, dE/dn) lambdified for mpmath for each node n of ``expr`` (None: over budget)."""
    if not expr.has(z):
        return []
    if sp.count_ops(expr) > BOUND_MAX_OPS:
        return None
    nodes = [n for n in dict.fromkeys(sp.preorder_traversal(expr))
             if isinstance(n, sp.Expr) and not n.is_Integer and not _exact(n) and (n.has(z) or not n.is_Rational)]
    out = []
    try:
        for n in nodes:
            slope = sp.diff(expr.xreplace({n: _W}), _W).xreplace({_W: n})
            out.append((_mp_function(n), _mp_function(slope)))
    except (TypeError, ValueError, NotImplementedError, AttributeError, RecursionError, KeyError, NameError):
        return None
    return out


def _exact(n: sp.Expr) -> bool:
    """z itself, or z times a power of two (``-z``, ``z/2``): exact in float64, no rounding."""
    if n.is_Symbol:
        return True
    if not n.is_Mul or len(n.args) != 2 or not n.args[0].is_Rational or not n.args[1].is_Symbol:
        return False
    p, q = abs(n.args[0].p), n.args[0].q
    return p & (p - 1) == 0 and q & (q - 1) == 0


def _bound(ref: _Reference) -> _RoundingBound:
    """The rounding bound of the formula ``ref`` evaluates (built once, kept on ``ref``), so that
    a value off at a large input can be told wrong from rounded."""
    if ref.rounding is None:
        ref.rounding = _RoundingBound(ref)
    return ref.rounding


_SCALE_POINTS = np.linspace(-8.0, 8.0, 33)


def _scale(ref: _Reference, xs: Sequence[float] | None = None) -> float:
    """The function's scale: the median |value| on an even grid of moderate inputs
    (-8 to 8, step 0.5; 1 when all are 0).

    It sets the absolute tolerance (:data:`ATOL_SCALE`), so that the measure is
    unit-free: multiplying f by any constant multiplies the tolerance alike.
    ``xs`` is accepted for symmetry and ignored: the grid is fixed, so the
    scale never depends on the drawn points.
    """
    vals = []
    for x in _SCALE_POINTS:
        r = ref(float(x))
        if r.in_float_range and r.value != 0:
            vals.append(abs(float(r.value)))
    return float(np.median(vals)) if vals else 1.0


def _call_point(fn: Callable[..., Any], x: float) -> tuple[float | None, set[str], str]:
    """``fn`` at one point (as a 1-element array): value, floating-point flags, error."""
    flags: set[str] = set()

    def record(kind: str, flag: int) -> None:
        flags.add(kind.split()[0])

    try:
        with np.errstate(all="call", under="ignore", call=record):
            out = np.asarray(fn(np.array([x])), dtype=np.float64).reshape(-1)
    except Exception as exc:  # the user's code may raise anything
        return None, flags, f"raised {type(exc).__name__}: {exc}"
    if out.size != 1:
        return None, flags, f"returned {out.size} values for 1 input"
    return float(out[0]), flags, ""


def _whole_array(fn: Callable[..., Any], xs: np.ndarray, check: CallableCheck) -> None:
    try:
        with np.errstate(all="ignore"):
            vec = np.asarray(fn(xs.copy()))
        if vec.shape != xs.shape:
            check.findings.append(Finding("shape", float(xs[0]), None, None, 1,
                                          f"returns shape {vec.shape} for input shape {xs.shape}"))
    except Exception as exc:
        check.findings.append(Finding("error", float(xs[0]), None, None, 1,
                                      f"raises {type(exc).__name__}: {exc} on an array of {xs.size} points"))


def _check_callable(fn: Callable[..., Any], name: str, against: str, ref: _Reference,
                    xs: np.ndarray, breaks: Sequence[float], kinks: Sequence[Breakpoint], *,
                    rtol: float = RTOL, atol: float | None = None) -> CallableCheck:
    """Compare a NumPy callable with the high-precision truth (``ref``) at every point, graded.

    Derivatives skip the points within :data:`KINK_MARGIN` of a breakpoint and are
    then checked at each kink against the one-sided derivatives.  Each kind of
    fault is reported once (NaN/inf at the smallest ``|z|``, a wrong value at
    the most readable input), with a count; the accuracy warning gives the worst point.
    """
    is_derivative = against == "f'"
    atol_abs = atol if atol is not None else ATOL_SCALE * _scale(ref, xs)
    check = CallableCheck(name, against, 0, rtol=rtol, atol=atol_abs)
    excluded = breaks if is_derivative else [float(b.z) for b in kinks if not b.continuous]
    check.excluded = sorted(excluded)
    _whole_array(fn, xs, check)
    bound = _bound(ref)
    hits: dict[str, list[tuple[float, Any, Any, str]]] = {}
    errors: list[PointError] = []
    points = [float(x) for x in xs] + [-0.0]
    for x in points:
        if _near(x, excluded):
            continue
        want = ref(x)
        if not want.in_float_range:
            continue  # no finite float64 truth here (reported for f itself)
        got, flags, err = _call_point(fn, x)
        check.points += 1
        wantf = float(want.value)
        if err:
            hits.setdefault("error", []).append((x, None, wantf, err))
            continue
        rel = _rel_error(got, want.value)
        if math.isnan(got):
            hits.setdefault("nan", []).append((x, got, wantf, ", ".join(sorted(flags))))
            continue
        if math.isinf(got):
            if rel != 0.0:
                hits.setdefault("inf", []).append((x, got, wantf, ", ".join(sorted(flags))))
            continue
        diff = float(abs(mpmath.mpf(got) - want.value))
        if diff > rtol * abs(wantf) + atol_abs:
            if diff > WRONG * abs(wantf) + atol_abs and (abs(x) <= _MODERATE or _unexplained(bound, x, diff)):
                hits.setdefault("wrong", []).append((x, got, wantf, f"relative error {rel:.2g}"))
            else:
                hits.setdefault("inaccurate", []).append((x, got, wantf, f"relative error {rel:.2g}"))
        else:
            for flag in ("overflow", "invalid", "divide"):
                if flag in flags:
                    hits.setdefault(flag, []).append((x, got, wantf, ""))
        errors.append(PointError(x, got, wantf, rel))
    _grade(check, hits)
    check.worst = sorted(errors, key=lambda e: (-e.rel_error, abs(e.z)))[:3]
    if is_derivative:
        _at_kinks(fn, check, kinks)
    return check


def _unexplained(bound: _RoundingBound, x: float, diff: float) -> bool:
    """True when an error ``diff`` at a large input ``x`` is more than float64 rounding of the
    true formula can cause (:data:`ROUNDING_ULPS` ulps of its weighted terms)."""
    terms = bound(x)
    return terms is not None and diff > ROUNDING_ULPS * _EPS * float(min(terms, mpmath.mpf(1e300)))


def _grade(check: CallableCheck, hits: dict[str, list[tuple[float, Any, Any, str]]]) -> None:
    for kind in ("error", "nan", "inf"):
        if kind in hits:
            x, got, wantf, detail = min(hits[kind], key=lambda h: (abs(h[0]), h[0]))
            check.findings.append(Finding(kind, x, got, wantf, len(hits[kind]), detail))
    if "wrong" in hits:
        bad = hits["wrong"]
        x = _readable([h[0] for h in bad]) if any(h[0] in _NICE for h in bad) else \
            min((h[0] for h in bad), key=lambda v: (abs(math.log10(abs(v))) if v else 0.0, v))
        _, got, wantf, detail = next(h for h in bad if h[0] == x)
        check.findings.append(Finding("wrong", x, got, wantf, len(bad), detail + " (a wrong formula, not rounding)"))
    if "inaccurate" in hits:
        worst = max(hits["inaccurate"], key=lambda h: (_rel_error(h[1], mpmath.mpf(h[2])), -abs(h[0])))
        x, got, wantf, detail = worst
        check.warnings.append(Finding("inaccurate", x, got, wantf, len(hits["inaccurate"]),
                                      f"worst {detail} > rtol {check.rtol:g} (atol {check.atol:.3g})"))
    for kind in ("overflow", "invalid", "divide"):
        if kind in hits:
            x, got, wantf, _ = min(hits[kind], key=lambda h: (abs(h[0]), h[0]))
            check.notes.append(Finding(kind, x, got, wantf, len(hits[kind])))


def _at_kinks(fn: Callable[..., Any], check: CallableCheck, kinks: Sequence[Breakpoint]) -> None:
    """A derivative at a kink must lie between the one-sided derivatives (either convention)."""
    for b in kinks:
        if b.kind != "kink" or not all(v.is_finite for v in (b.left_derivative, b.right_derivative)):
            continue
        got, _, err = _call_point(fn, float(b.z))
        lo, hi = sorted((float(b.left_derivative), float(b.right_derivative)))
        ok = got is not None and lo - 1e-9 * max(1, abs(lo)) <= got <= hi + 1e-9 * max(1, abs(hi))
        sides = f"left {_f(b.left_derivative)}, right {_f(b.right_derivative)}"
        check.at_breakpoints.append(f"at the kink z = {_show(b.z)} it returns "
                                    f"{_f(got) if not err else err} ({sides})")
        if not ok:
            check.findings.append(Finding("kink", float(b.z), got, None, 1, sides))
