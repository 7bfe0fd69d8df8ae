"""Framework-independent checking: running the checks, and the diagnosis of each difference.

A framework module (:mod:`~derive.frameworks.torch_check`,
:mod:`~derive.frameworks.jax_check`) supplies a :class:`Runner`: forward,
backward with a given upstream gradient, second derivative, and its own
structural checks (broadcasting, in-place).  :func:`run_checks` runs them on
each dtype's grid and turns every difference from the truth
(:mod:`~derive.frameworks.reference`) into a named :class:`Finding`.

The grid and the tolerances are :mod:`~derive.frameworks.grading`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from derive.frameworks.grading import (
    ROUNDING,
    Graded,
    close,
    default_tolerances,
    grade,
    grid,
    near_breaks,
    ordinary,
    pick,
)
from derive.frameworks.limit import DEFAULT_CALL_LIMIT, CallTimeout, Limited
from derive.frameworks.reference import Truth, values
from derive.frameworks.report import Finding, FrameworkReport, fmt

__all__ = ["Runner", "UserError", "run_checks", "grid", "default_tolerances"]

class UserError(Exception):
    """The user's function raised (or returned something unusable); the text says what."""


class Runner(Protocol):
    """What a framework module provides to :func:`run_checks`.

    Each method takes NumPy arrays of one dtype, runs the user's function in
    that dtype, returns NumPy arrays, and raises :class:`UserError` (or
    anything) when the user's code fails.  ``second`` returns a string (the
    reason) when the function does not claim second derivatives.
    """

    framework: str

    def forward(self, xs: np.ndarray) -> np.ndarray: ...

    def backward(self, xs: np.ndarray, g: np.ndarray) -> np.ndarray: ...

    def second(self, xs: np.ndarray, g: np.ndarray, v: np.ndarray) -> np.ndarray | str: ...

    def structure(self, xs: np.ndarray, g: np.ndarray, want_y: np.ndarray, want_gx: np.ndarray,
                  close: Callable[..., np.ndarray], want_ones: np.ndarray) -> list[Finding]: ...


def _short(exc: BaseException) -> str:
    if isinstance(exc, UserError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text if len(text) <= 160 else text[:157] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _call(fn: Callable[..., np.ndarray], n: int, *args: np.ndarray) -> tuple[np.ndarray | None, str, int | None]:
    """Call on the whole grid; if it raises, find a point that raises alone (an ordinary one if any)."""
    try:
        out = np.asarray(fn(*args))
        if out.shape != args[0].shape:
            return None, f"returned shape {out.shape} for input shape {args[0].shape}", None
        return out, "", None
    except (Exception, SystemExit) as exc:  # the user's code may raise (or exit) anything
        whole = _short(exc)
    x = np.abs(args[0].astype(np.float64))
    for i in sorted(range(n), key=lambda k: (not 2.0**-4 <= x[k] <= 16.0, x[k], k)):  # ordinary inputs first
        try:
            fn(*(a[i:i + 1] for a in args))
        except (Exception, SystemExit) as exc:
            return None, _short(exc), i
    return None, whole + " (on the whole array; every point alone is fine)", None


# ---------------------------------------------------------------- the checks

@dataclass
class _Ctx:
    runner: Runner
    truth: Truth
    dtype: str
    xs: np.ndarray
    nice: set[float]
    rtol: float
    floor: float
    report: FrameworkReport

    def add(self, severity: str, piece: str, message: str, i: int | None = None, *, got: Any = None,
            want: Any = None, g: Any = None, count: int = 1, total: int = 1) -> None:
        x = None if i is None else float(self.xs[i])
        self.report.findings.append(Finding(
            severity, piece, self.dtype, message, x, None if g is None else float(g),
            None if got is None else float(got), None if want is None else float(want), count, total))


def _t(ctx: _Ctx, order: int | str, xs: np.ndarray | None = None) -> np.ndarray:
    return np.array(values(ctx.truth, order, ctx.xs if xs is None else xs), dtype=np.float64)


def _check_forward(ctx: _Ctx) -> np.ndarray | None:
    xs = ctx.xs
    out, err, i = _call(ctx.runner.forward, len(xs), xs.copy())
    if out is None:
        _call_failed(ctx, "forward", err, i)
        return None
    if out.dtype != xs.dtype:
        ctx.add("FAIL", "dtype", f"forward returns {out.dtype} for {xs.dtype} input")
    f0, f1 = _t(ctx, 0), _t(ctx, 1)
    x64 = xs.astype(np.float64)
    with np.errstate(all="ignore"):
        gr = grade(out, f0, x64 * f1, np.ones_like(f0), ctx.dtype, ctx.rtol, ctx.floor, x64)
    _report_points(ctx, "forward", gr, out, f0, None, "wrong value: forward differs from f(x)",
                   "accuracy loss in forward (a cancellation in the formula; mathematically right)")
    return out


def _report_points(ctx: _Ctx, piece: str, gr: Graded, got: np.ndarray, want: np.ndarray, g: np.ndarray | None,
                   fail_msg: str, warn_msg: str, warn_piece: str = "") -> None:
    total = int(gr.valid.sum())
    for mask, sev, msg in ((gr.fail, "FAIL", fail_msg), (gr.warn, "WARNING", warn_msg)):
        piece = warn_piece or piece if sev == "WARNING" else piece
        idx = np.flatnonzero(mask)
        if idx.size:
            i = pick(idx, ctx.xs, ctx.nice)
            big = math.sqrt(float(np.finfo(ctx.xs.dtype).max))
            if sev == "WARNING" and abs(float(ctx.xs[i])) > big and not close(got[i], want[i], 0.0, 1.0, ctx.dtype,
                                                                               ctx.rtol * ROUNDING, ctx.floor):
                msg = (f"overflow: {piece} gives {fmt(float(got[i]))} where the truth is {fmt(float(want[i]))}, "
                       "for |x| beyond sqrt(largest float) (an intermediate such as x*x overflows)")
            elif sev == "WARNING":
                rel = abs(float(got[i]) - want[i]) / max(abs(want[i]), ctx.floor)
                msg = f"{msg}; relative error {rel:.2g}"
            ctx.add(sev, piece, msg, i, got=got[i], want=want[i], g=None if g is None else g[i],
                    count=int(idx.size), total=total)


def _diagnose(ctx: _Ctx, gx: np.ndarray, g: np.ndarray, bad: np.ndarray) -> tuple[str, str]:
    """Name the backward bug from the failing ordinary points: (piece, message)."""
    xs = ctx.xs
    sel = bad & ordinary(xs) & ~near_breaks(xs, ctx.truth.breaks)
    if sel.sum() < 3:  # too few points to tell one bug from another
        return "", ""
    with np.errstate(all="ignore"):
        return _hypotheses(ctx, gx, g, sel)


def _hypotheses(ctx: _Ctx, gx: np.ndarray, g: np.ndarray, sel: np.ndarray) -> tuple[str, str]:
    xs, dt = ctx.xs, ctx.dtype
    x64 = xs.astype(np.float64)
    f1, f2 = _t(ctx, 1), _t(ctx, 2)

    def fits(want: np.ndarray, cond: np.ndarray, unit: np.ndarray, got: np.ndarray = gx) -> bool:
        return bool(close(got[sel], want[sel], cond[sel], unit[sel], dt, ctx.rtol, ctx.floor).all())

    one = np.ones_like(f1)
    if fits(f1, x64 * f2, one):
        return ("upstream-gradient factor", "backward ignores the upstream gradient (grad_output): it returns "
                "f'(x) instead of grad_output * f'(x)")
    if fits(-g * f1, g * x64 * f2, g):
        return "backward", "sign slip: backward returns -grad_output * f'(x)"
    if fits(g * g * f1, g * g * x64 * f2, g * g):
        return "upstream-gradient factor", "the upstream gradient is applied twice: grad_output**2 * f'(x)"
    if ctx.truth.swapped is not None:
        sw = _t(ctx, "swapped")
        if fits(g * sw, np.zeros_like(sw), g):
            ks = ", ".join(f"{k.at:g}" for k in ctx.truth.kinks)
            return "backward", f"wrong kink side: each side of the kink at z = {ks} gets the other side's derivative"
    ys = _t(ctx, 0).astype(xs.dtype)
    if np.all(np.isfinite(ys[sel])) and not np.array_equal(ys[sel], xs[sel]):
        try:
            at_y = np.asarray(ctx.runner.backward(ys, g), dtype=np.float64)
            informative = not np.allclose(at_y[sel], gx[sel], rtol=1e-6, atol=0.0)
            if at_y.shape == xs.shape and informative and fits(g * f1, g * x64 * f2, g, at_y):
                return ("backward", "derivative from the output applied to the input: backward computes h(x) "
                        "where h(y) = f'(z) is written for the output y = f(z); pass the saved output instead of x")
        except (Exception, SystemExit):
            pass
    return "", ""


def _call_failed(ctx: _Ctx, piece: str, err: str, i: int | None) -> None:
    if err.startswith("in-place: "):
        ctx.add("FAIL", "in-place", err[len("in-place: "):], i)
    elif err.startswith("returned"):
        ctx.add("FAIL", "broadcasting", f"{piece} {err}", i)
    else:
        ctx.add("FAIL", piece, f"{piece} raised {err}", i)


def _check_backward(ctx: _Ctx, g: np.ndarray) -> np.ndarray | None:
    xs = ctx.xs
    out, err, i = _call(ctx.runner.backward, len(xs), xs.copy(), g.copy())
    if out is None:
        _call_failed(ctx, "backward", err, i)
        return None
    if out.dtype != xs.dtype:
        ctx.add("FAIL", "dtype", f"backward returns a {out.dtype} gradient for {xs.dtype} input")
    f1, f2 = _t(ctx, 1), _t(ctx, 2)
    g64 = g.astype(np.float64)
    x64 = xs.astype(np.float64)
    want = g64 * f1
    gr = grade(out, want, g64 * x64 * f2, g64, ctx.dtype, ctx.rtol, ctx.floor, x64)
    at_kink = np.zeros(xs.shape, bool)
    for k in ctx.truth.kinks:
        at_kink |= x64 == k.at
    gr = Graded(gr.ok & ~at_kink, gr.warn & ~at_kink, gr.fail & ~at_kink, gr.valid & ~at_kink)
    gr = _flushed(ctx, gr, np.asarray(out, np.float64), g64)
    near = near_breaks(xs, ctx.truth.breaks)
    far_fail = gr.fail & ~near
    piece, msg = _diagnose(ctx, np.asarray(out, np.float64), g64, gr.fail)
    if not far_fail.any() and gr.fail.any():
        ks = ", ".join(f"{b:g}" for b in ctx.truth.breaks)
        piece, msg = "kink", f"wrong next to the kink at z = {ks} (the derivative switches at the wrong place)"
    piece = piece or "backward"
    msg = msg or "wrong derivative: backward differs from grad_output * f'(x)"
    _report_points(ctx, piece, gr, out, want, g64, msg,
                   "accuracy loss in backward (a cancellation in the formula; mathematically right)", "backward")
    _check_kinks(ctx, np.asarray(out, np.float64), g64)
    return out


def _flushed(ctx: _Ctx, gr: Graded, gx: np.ndarray, g: np.ndarray) -> Graded:
    """Accept, with a note, a subnormal input treated as 0 next to a kink at 0 (flush-to-zero)."""
    kink0 = [k for k in ctx.truth.kinks if k.at == 0.0]
    if not kink0:
        return gr
    k = kink0[0]
    sub = (ctx.xs != 0) & (np.abs(ctx.xs) < np.finfo(ctx.xs.dtype).tiny)
    legit = np.zeros(ctx.xs.shape, bool)
    for d in {k.left, k.right, k.convention}:
        legit |= close(gx, g * d, 0.0, g, ctx.dtype, ctx.rtol, ctx.floor)
    flushed = gr.fail & sub & legit
    if not flushed.any():
        return gr
    i = int(np.flatnonzero(flushed)[0])
    ctx.add("note", "kink convention", "a subnormal input next to the kink at z = 0 is treated as 0 (the platform "
            "flushes subnormals to zero); its derivative is one of those at the kink, accepted", i,
            got=gx[i], g=g[i], count=int(flushed.sum()), total=int(sub.sum()))
    return Graded(gr.ok | flushed, gr.warn, gr.fail & ~flushed, gr.valid)


def _check_kinks(ctx: _Ctx, gx: np.ndarray, g: np.ndarray) -> None:
    x64 = ctx.xs.astype(np.float64)
    for k in ctx.truth.kinks:
        hits = np.flatnonzero(x64 == k.at)
        if not hits.size:
            continue
        i = int(hits[0])
        d = gx[i] / g[i]
        sides = [k.left, k.right]
        if k.jump:
            ctx.add("note", "kink convention", f"f jumps at z = {k.at:g}: no derivative exists there; yours is "
                    f"{d:.6g}", i, got=gx[i], g=g[i])
            continue

        def same(a: float) -> bool:
            return bool(close(d, a, 0.0, 1.0, ctx.dtype, ctx.rtol, ctx.floor))

        if not math.isfinite(d):
            ctx.add("FAIL", "kink", f"the derivative at the kink z = {k.at:g} is {d}; the one-sided derivatives are "
                    f"{k.left:.6g} (left) and {k.right:.6g} (right)", i, got=gx[i], want=g[i] * k.convention, g=g[i])
        elif same(k.convention):
            continue
        elif same(k.left) or same(k.right):
            side = "left" if same(k.left) else "right"
            conv = "left" if k.convention == k.left else ("right" if k.convention == k.right else "")
            ctx.add("note", "kink convention",
                    f"at the kink z = {k.at:g} yours gives the {side}-hand derivative {d:.6g}; the expression's "
                    f"convention is the {conv + '-hand ' if conv else ''}derivative {k.convention:.6g}. Both are "
                    "legitimate (a convention difference, not a bug)", i, got=gx[i], want=g[i] * k.convention, g=g[i])
        elif min(sides) < d < max(sides):
            ctx.add("note", "kink convention",
                    f"at the kink z = {k.at:g} yours gives {d:.6g}, between the one-sided derivatives "
                    f"{k.left:.6g} and {k.right:.6g} (a subgradient; a convention, not a bug)",
                    i, got=gx[i], want=g[i] * k.convention, g=g[i])
        else:
            ctx.add("FAIL", "kink", f"the derivative at the kink z = {k.at:g} is {d:.6g}: neither side "
                    f"({k.left:.6g} left, {k.right:.6g} right) nor between them", i,
                    got=gx[i], want=g[i] * k.convention, g=g[i])


def _check_second(ctx: _Ctx, g: np.ndarray, v: np.ndarray) -> None:
    xs = ctx.xs
    try:
        out = ctx.runner.second(xs.copy(), g.copy(), v.copy())
    except (Exception, SystemExit) as exc:
        err = _short(exc)
        if not err.startswith("in-place: "):
            ctx.add("FAIL", "second derivative", f"computing the second derivative raised {err}")
        elif not any(f.piece == "in-place" and f.dtype == ctx.dtype for f in ctx.report.findings):
            ctx.add("FAIL", "in-place", err[len("in-place: "):])  # else already reported by the backward check
        return
    if isinstance(out, str):
        ctx.add("note", "second derivative", f"not checked: {out}")
        return
    out = np.asarray(out, dtype=np.float64)
    if out.shape != xs.shape:
        ctx.add("FAIL", "second derivative", f"returned shape {out.shape} for input shape {xs.shape}")
        return
    x64 = xs.astype(np.float64)
    gv = g.astype(np.float64) * v.astype(np.float64)
    f2, f3 = _t(ctx, 2), _t(ctx, 3)
    want = gv * f2
    gr = grade(out, want, gv * x64 * f3, gv, ctx.dtype, ctx.rtol, ctx.floor, x64)
    keep = ~near_breaks(xs, ctx.truth.breaks)
    gr = Graded(gr.ok & keep, gr.warn & keep, gr.fail & keep, gr.valid & keep)
    _report_points(ctx, "second derivative", gr, out, want, gv,
                   "wrong second derivative (double backward) against f''(x) from sympy",
                   "accuracy loss in the second derivative")


def run_checks(runner: Runner, truth: Truth, report: FrameworkReport, *, dtypes: Sequence[str], seed: int,
               rtol: Any, atol: Any, call_limit: float = DEFAULT_CALL_LIMIT) -> FrameworkReport:
    """Run every check on every dtype and fill ``report`` (findings sorted worst first).

    Each call of the user's code may take ``call_limit`` seconds
    (:mod:`derive.frameworks.limit`); the first that does not return in time
    is a ``call`` FAIL naming it, and nothing is called after it.
    """
    runner = Limited(runner, call_limit=call_limit)
    for n, dtype in enumerate(dtypes):
        r, floor = default_tolerances(dtype)
        r = _per_dtype(rtol, dtype, r)
        floor = _per_dtype(atol, dtype, floor)
        report.tolerances[dtype] = (r, floor)
        xs, nice = grid(dtype, truth, seed)
        report.points = max(report.points, len(xs))
        ctx = _Ctx(runner, truth, dtype, xs, nice, r, floor, report)
        rng = np.random.default_rng([seed, 1])
        g = (rng.uniform(0.5, 2.0, len(xs)) * rng.choice([-1.0, 1.0], len(xs))).astype(dtype)
        v = (rng.uniform(0.5, 2.0, len(xs)) * rng.choice([-1.0, 1.0], len(xs))).astype(dtype)
        try:
            with np.errstate(all="ignore"):
                _check_dtype(ctx, g, v, r, floor)
        except CallTimeout as exc:
            rest = f"; {', '.join(dtypes[n + 1:])} not checked" if dtypes[n + 1:] else ""
            ctx.add("FAIL", "call", f"{exc.what} did not return within {exc.limit:g} s (call_limit): a hang? The "
                    f"checker stopped calling the function; the checks after this one did not run{rest}")
            break
    _dtype_only(report, dtypes)
    report.sort()
    return report


def _check_dtype(ctx: _Ctx, g: np.ndarray, v: np.ndarray, r: float, floor: float) -> None:
    dtype, xs = ctx.dtype, ctx.xs
    y = _check_forward(ctx)
    gx = _check_backward(ctx, g)
    _check_second(ctx, g, v)
    if y is None or gx is None or y.shape != xs.shape or gx.shape != xs.shape:
        return
    # the structural probes compare with the function's own 1-d results: only the layout may differ;
    # for the probes whose upstream gradient is ones, with its own backward of ones (a backward that
    # ignores grad_output is already named; it must not look like a broadcasting fault too)
    want_y, want_gx = np.asarray(y, np.float64), np.asarray(gx, np.float64)
    try:
        want_ones = np.asarray(ctx.runner.backward(xs.copy(), np.ones_like(g)), np.float64)
        if want_ones.shape != xs.shape:
            raise ValueError("shape")
    except (Exception, SystemExit):
        want_ones = want_gx / g
    try:
        found = ctx.runner.structure(xs, g, want_y, want_gx,
                                     lambda got, want, unit: close(got, want, 0.0, unit, dtype, r * 4, floor),
                                     want_ones)
    except (Exception, SystemExit) as exc:  # a structural probe itself broke on the user's code
        found = [Finding("FAIL", "call", dtype, f"the broadcasting/in-place probes raised {_short(exc)}")]
    ctx.report.findings += found


def _per_dtype(opt: Any, dtype: str, default: float) -> float:
    if opt is None:
        return default
    if isinstance(opt, dict):
        return float(opt.get(dtype, default))
    return float(opt)


def _dtype_only(report: FrameworkReport, dtypes: Sequence[str]) -> None:
    """A FAIL seen in float32 only (float64 clean for that piece) is a dtype fault: say so."""
    if "float32" not in dtypes or "float64" not in dtypes:
        return
    wide = {f.piece for f in report.findings if f.severity == "FAIL" and f.dtype == "float64"}
    out = []
    for f in report.findings:
        if f.severity == "FAIL" and f.dtype == "float32" and f.piece not in wide and f.piece not in ("dtype", "call"):
            f = Finding(f.severity, "dtype", f.dtype, f"float32 only (float64 passes): {f.piece}: {f.message}",
                        f.x, f.upstream, f.got, f.want, f.count, f.total)
        out.append(f)
    report.findings = out
