"""The grid of inputs and the grading of a framework's values against the truth.

Tolerances (why they look like this): the input ``x`` is exact, but any
floating-point formula for ``f`` rounds ``x``-derived intermediates, which moves
the result by about ``eps |x f'(x)|`` besides the ``eps |f(x)|`` of rounding
the result itself.  So a value ``v`` of order-k derivative is accepted when
``|v - truth| <= rtol (|f^(k)| + |x f^(k+1)|) + floor`` with ``rtol = 64 eps``
of the dtype (1.4e-14 for float64, 7.6e-6 for float32) and ``floor`` the
smallest normal number (results below it may be flushed to zero, as XLA does).
A larger error that is still below ``1024 rtol`` times the size of the O(1)
terms a formula combines (``max(1, |f|, |x f'|)``, times the upstream
gradient: rounding of those terms, amplified by the formula), or below about
``sqrt(eps)`` relative, is a rounding loss from cancellation or an
approximation: a WARNING (numerically unstable, not wrong).  Anything beyond,
or NaN/inf where the truth is finite, is a FAIL, except for
``|x| > sqrt(largest float)``, where ``x*x`` overflows in any formula: there a
wrong or non-finite value is an overflow WARNING.  A wrong
formula (sign, factor, side, output for input) is off by O(1) at ordinary
inputs, far beyond every one of these bounds.

Subnormal inputs next to a kink at 0 may be flushed to zero by the platform
(XLA on CPU does): a value equal to one of the legitimate derivatives at 0 is
accepted there, with a note.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from derive.frameworks.reference import Truth

__all__ = ["APPROX", "EPS_FACTOR", "ROUNDING", "Graded", "close", "default_tolerances", "grade", "grid",
           "near_breaks", "ordinary", "pick"]

EPS_FACTOR = 64.0
# Relative error still counted as accuracy loss (WARNING), not a wrong formula: about
# the square root of eps.  A wrong formula (sign, factor, side, constant) is off by far
# more; an approximation such as torch's softplus threshold (x > 20 -> x) by less.
APPROX = {"float64": 2.0**-30, "float32": 2.0**-14}
# Rounding of O(1) terms, amplified by the formula (terms like x**3 tanh'(u) in a
# second derivative), stays below 1024 tolerances of the unit scale: a WARNING.
ROUNDING = 1024.0


def default_tolerances(dtype: str) -> tuple[float, float]:
    """``(rtol, floor)`` for a dtype: 64 eps and the smallest normal number."""
    fi = np.finfo(np.dtype(dtype))
    return EPS_FACTOR * float(fi.eps), float(fi.tiny)


# ---------------------------------------------------------------- the grid

def _nice(dtype: str) -> list[float]:
    fi = np.finfo(np.dtype(dtype))
    sub = float(np.nextafter(np.array(0, dtype=dtype), np.array(1, dtype=dtype)))
    small = [sub, float(fi.tiny), 2.0**-100, 2.0**-30, 2.0**-12]
    if dtype == "float64":
        small = [sub, float(fi.tiny), 2.0**-700, 2.0**-300] + small[2:]
    moderate = [0.125, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0, 30.0, 50.0, 100.0,
                200.0, 500.0, 745.0, 1000.0, 1e4]
    huge = [2.0**64, 2.0**100, float(fi.max)]
    if dtype == "float64":
        huge = [2.0**64, 2.0**127, 2.0**300, 2.0**700, float(fi.max)]
    pos = small + moderate + huge
    return [0.0, -0.0] + [s * v for v in pos for s in (1.0, -1.0)]


def grid(dtype: str, truth: Truth, seed: int) -> tuple[np.ndarray, set[float]]:
    """The inputs for one dtype and the set of "nice" (fixed-grid) values among them.

    The whole float range (zeros of both signs, subnormals, the smallest
    normal, tiny, moderate, huge, the largest float), 16 seeded moderate
    points on a 2^-8 lattice (exact in float32 and float64, so both dtypes
    share reference values), and each kink with its neighbours (1 ulp,
    2^-20 and 2^-10 away, relative).
    """
    nice = _nice(dtype)
    rng = np.random.default_rng(seed)
    core = [float(np.round(v * 256) / 256) for v in rng.uniform(-6.0, 6.0, 16)]
    near: list[float] = []
    dt = np.dtype(dtype)
    for b in truth.breaks:
        c = float(np.array(b, dtype=dt))
        if not math.isfinite(c):
            continue
        scale = max(1.0, abs(c))
        near += [c, float(np.nextafter(dt.type(c), dt.type(np.inf))), float(np.nextafter(dt.type(c), dt.type(-np.inf)))]
        near += [c + s * scale * 2.0**-k for k in (20, 10) for s in (1.0, -1.0)]
    seen: set[tuple[float, bool]] = set()
    pts: list[float] = []
    for v in nice + core + near:
        v = float(np.array(v, dtype=dt))
        key = (v, math.copysign(1.0, v) < 0)
        if math.isfinite(v) and key not in seen:
            seen.add(key)
            pts.append(v)
    pts.sort(key=lambda v: (v, math.copysign(1.0, v)))
    return np.array(pts, dtype=dt), {float(np.array(v, dtype=dt)) for v in nice}


# ---------------------------------------------------------------- grading

@dataclass
class Graded:
    ok: np.ndarray
    warn: np.ndarray
    fail: np.ndarray
    valid: np.ndarray


def grade(got: np.ndarray, want: np.ndarray, cond: np.ndarray, unit: np.ndarray, dtype: str,
           rtol: float, floor: float, xs: Any = 0.0) -> Graded:
    """Per point: within tolerance, rounding loss (WARNING), or wrong (FAIL); ``valid``: truth defined."""
    got = np.asarray(got, dtype=np.float64)
    big = float(np.finfo(np.dtype(dtype)).max)
    want = np.where(np.abs(want) > big, np.sign(want) * np.inf, want)
    valid = ~np.isnan(want)
    with np.errstate(all="ignore"):
        err = np.abs(got - want)
        cond = np.nan_to_num(np.abs(cond), nan=0.0)
        tight = rtol * (np.abs(np.where(np.isfinite(want), want, 0.0)) + cond) + floor
        size = np.abs(np.where(np.isfinite(want), want, 0.0))
        loose = np.maximum(ROUNDING * rtol * np.maximum(np.maximum(np.abs(unit), size), cond),
                           APPROX[dtype] * (size + cond)) + floor
        inf_ok = np.isinf(want) & (got == want)
        fin = np.isfinite(want) & np.isfinite(got)
        ok = inf_ok | (fin & (err <= tight))
        warn = fin & ~ok & (err <= loose)
        # beyond sqrt(max), x*x and the like overflow in any formula: a loss, not a wrong formula
        huge = np.isfinite(want) & (np.abs(xs) > math.sqrt(big))
        warn |= huge & ~ok
    fail = valid & ~ok & ~warn
    return Graded(ok & valid, warn & valid, fail, valid)


def close(got: Any, want: Any, cond: Any, unit: Any, dtype: str, rtol: float, floor: float) -> np.ndarray:
    """True where ``got`` is acceptable (ok or rounding loss) against ``want``."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    cond, unit = np.broadcast_to(np.asarray(cond, np.float64), want.shape), np.broadcast_to(np.asarray(unit, np.float64), want.shape)
    g = grade(got, want, cond, unit, dtype, rtol, floor)
    return g.ok | g.warn


def pick(idx: np.ndarray, xs: np.ndarray, nice: set[float]) -> int:
    """The counterexample: an ordinary, fixed-grid input of smallest size if there is one."""
    def key(i: int) -> tuple[Any, ...]:
        x = float(xs[i])
        return (not (2.0**-4 <= abs(x) <= 16.0), x not in nice, abs(x), x < 0)
    return min((int(i) for i in idx), key=key)


def ordinary(xs: np.ndarray) -> np.ndarray:
    a = np.abs(xs.astype(np.float64))
    return (a >= 2.0**-10) & (a <= 2.0**10)


def near_breaks(xs: np.ndarray, breaks: Sequence[float], rel: float = 2.0**-9) -> np.ndarray:
    x = xs.astype(np.float64)
    out = np.zeros(x.shape, bool)
    for b in breaks:
        out |= np.abs(x - b) <= rel * max(1.0, abs(b))
    return out
