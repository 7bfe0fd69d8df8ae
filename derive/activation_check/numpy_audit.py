"""Numerical soundness of a user's NumPy callable.

Owns :func:`_check_callable`: the callable is run on the whole array and on
each point alone under ``np.errstate``, compared with the high-precision
reference, and its faults (errors, wrong shape, NaN, inf, overflow, invalid or
divide warnings, relative error above :data:`RTOL`, a value at a kink outside
the one-sided derivatives) are reported once each, at the smallest ``|z|``.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import mpmath
import numpy as np

from derive.activation_check.mpref import _Reference
from derive.activation_check.sampling import _near
from derive.activation_check.results import RTOL, Breakpoint, CallableCheck, Finding, PointError, _f, _show

_FLOOR = 1e-300  # true values smaller in magnitude are compared in absolute terms


def _rel_error(got: float, want: Any) -> float:
    """Relative error of a float64 result against a high-precision value (NaN: inf; an
    infinity counts as exact only against an infinite value of the same sign)."""
    if math.isnan(got):
        return math.inf
    if math.isinf(got):
        return 0.0 if (mpmath.isinf(want) and (got > 0) == (want > 0)) else math.inf
    return float(abs(mpmath.mpf(got) - want) / max(abs(want), mpmath.mpf(_FLOOR)))


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


def _check_callable(fn: Callable[..., Any], name: str, against: str, ref: _Reference,
                    xs: np.ndarray, breaks: Sequence[float], kinks: Sequence[Breakpoint]) -> CallableCheck:
    """Compare a NumPy callable with the high-precision truth (``ref``) at every point.

    Derivatives skip the points within :data:`KINK_MARGIN` of a breakpoint and are
    then checked at each kink against the one-sided derivatives.  Each kind of fault
    is reported once, at the smallest ``|z|`` that shows it, with a count.
    """
    is_derivative = against == "f'"
    check = CallableCheck(name, against, 0)
    excluded = breaks if is_derivative else [float(b.z) for b in kinks if b.kind == "jump"]
    check.excluded = sorted(excluded)
    try:
        with np.errstate(all="ignore"):
            vec = np.asarray(fn(xs.copy()))
        if vec.shape != xs.shape:
            check.findings.append(Finding("shape", float(xs[0]), None, None, 1,
                                          f"returns shape {vec.shape} for input shape {xs.shape}"))
    except Exception as exc:
        check.findings.append(Finding("error", float(xs[0]), None, None, 1,
                                      f"raises {type(exc).__name__}: {exc} on an array of {xs.size} points"))
    hits: dict[str, list[tuple[float, Any, Any, str]]] = {}
    errors: list[PointError] = []
    for x in xs:
        x = float(x)
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
        elif math.isinf(got):
            hits.setdefault("inf", []).append((x, got, wantf, ", ".join(sorted(flags))))
        elif "overflow" in flags:
            hits.setdefault("overflow", []).append((x, got, wantf, "numpy reported overflow in an intermediate step"))
        elif rel > RTOL:
            hits.setdefault("inaccurate", []).append((x, got, wantf, f"relative error {rel:.2g} > {RTOL:g}"))
        for flag in ("invalid", "divide"):
            if flag in flags and not math.isnan(got) and not math.isinf(got):
                hits.setdefault(flag, []).append((x, got, wantf, f"numpy reported {flag} in an intermediate step"))
        if not math.isnan(got):
            errors.append(PointError(x, got, wantf, rel))
    for kind in ("error", "nan", "inf", "overflow", "invalid", "divide", "inaccurate"):
        if kind in hits:
            x, got, wantf, detail = min(hits[kind], key=lambda h: (abs(h[0]), h[0]))
            check.findings.append(Finding(kind, x, got, wantf, len(hits[kind]), detail))
    check.worst = sorted(errors, key=lambda e: -e.rel_error)[:3]
    if is_derivative:
        for b in kinks:
            got, _, err = _call_point(fn, float(b.z))
            if b.kind == "kink":
                lo, hi = sorted((float(b.left_derivative), float(b.right_derivative)))
                ok = got is not None and lo - 1e-9 * max(1, abs(lo)) <= got <= hi + 1e-9 * max(1, abs(hi))
                sides = f"left {_f(b.left_derivative)}, right {_f(b.right_derivative)}"
                check.at_breakpoints.append(f"at the kink z = {_show(b.z)} it returns "
                                            f"{_f(got) if not err else err} ({sides})")
                if not ok:
                    check.findings.append(Finding("kink", float(b.z), got, None, 1, sides))
    return check
