"""Check a custom activation function: its derivative, its NumPy code, and backprop through it.

:func:`check_activation` reads the pipeline in order:

1. **resolve** the activation (catalog name, sympy expression, or text read by
   :mod:`derive.parser`, never ``eval``);
2. **split** it into smooth pieces at the breakpoints of Piecewise, Abs,
   Max/Min, sign and Heaviside, and classify each breakpoint (kink, jump or
   smooth join) with its left and right derivatives;
3. **differentiate** each piece (simplified within a small time budget) and
   look for ``f'`` written in terms of the output ``a = f(z)``;
4. evaluate ``f`` and ``f'`` in **high precision** (mpmath, at a precision
   sized to the result and confirmed by a second evaluation) on a grid,
   hypothesis-drawn points and the extremes 0, +-1e-8, +-1, +-30, +-700,
   +-800, +-1e4;
5. judge the **claimed derivative** (symbolic: proven equal or a
   counterexample; NumPy callable: the worst points) and the **soundness** of
   the user's NumPy value and derivative (overflow, NaN or inf where the true
   value is finite, relative error above 1e-6);
6. run the **network end to end**: derived gradients vs ``numeric.backward``
   (fed the user's callables) vs central differences.

Every sympy step that can run away has a time limit; the :class:`StepTimeout`
names the step (see :func:`time_limit`: ``SIGALRM`` on the main thread, a
watchdog thread elsewhere; neither can cut short one long C call).
mpmath's precision is process-global: do not run checks in parallel threads.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import signal
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

import mpmath
import numpy as np
import sympy as sp

import numeric
from derive.activations import CATALOG, activation_expr, numpy_function, sigmoid, softplus, z
from derive.lambdified import gradient_function
from numeric.activations import Activation
from numeric.compare import compare_gradients, draw_problem
from numeric.errors import BackpropDeriveError, InputError
from numeric.gradcheck import numerical_gradient

__all__ = [
    "check_activation",
    "ActivationReport",
    "StepTimeout",
    "time_limit",
    "Breakpoint",
    "PointError",
    "Finding",
    "ClaimVerdict",
    "CallableCheck",
    "NetworkCheck",
    "EXTREMES",
    "RTOL",
]

EXTREMES: tuple[float, ...] = (0.0, 1e-8, -1e-8, 1.0, -1.0, 30.0, -30.0, 700.0, -700.0, 800.0, -800.0,
                               1e4, -1e4)
"""Points always checked: the issue's extremes plus +-800 (where naive softplus fails)."""
RTOL = 1e-6
"""Largest relative error accepted from a NumPy implementation (true values
below 1e-300 in magnitude are compared in absolute terms)."""
KINK_MARGIN = 1e-6
"""Points within ``KINK_MARGIN * max(1, |b|)`` of a breakpoint ``b`` are left out of
derivative comparisons (and reported)."""
_FLOOR = 1e-300
_CLAIM_RTOL = 1e-9  # two high-precision values that differ by more are different
_GRID = np.unique(np.concatenate([np.linspace(-8.0, 8.0, 33), np.logspace(-6, 4, 11), -np.logspace(-6, 4, 11)]))
_NICE = (1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, 0.0, 5.0, -5.0)
_A = sp.Symbol("a", real=True)
_FMAX = np.finfo(np.float64).max


# ================================================================ time limits
class StepTimeout(BackpropDeriveError, TimeoutError):
    """A step of the check did not finish within its time limit.

    Attributes:
        step: the step's name, e.g. ``"piecewise split"``.
        seconds: the limit that was exceeded.
    """

    def __init__(self, step: str, seconds: float) -> None:
        self.step, self.seconds = step, seconds
        super().__init__(f"step '{step}' did not finish within {seconds:g} s "
                         "(the expression is too complex; simplify it or raise time_limit)")


class _Expired(BaseException):
    """Raised inside a timed block (a BaseException, so ``except Exception`` in
    sympy cannot swallow it); turned into :class:`StepTimeout` at the block's edge."""


_REFIRE = 0.05  # seconds between repeated interrupts, in case one was swallowed


def _alarm_usable() -> bool:
    return (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGALRM) is not None)


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Main thread: a SIGALRM timer (an outer timer is honoured and re-armed)."""
    start = time.monotonic()
    old_delay, old_interval = signal.getitimer(signal.ITIMER_REAL)
    outer_deadline = start + old_delay if old_delay else math.inf
    previous = signal.getsignal(signal.SIGALRM)

    def handler(signum: int, frame: Any) -> None:
        if time.monotonic() >= outer_deadline and callable(previous):
            previous(signum, frame)  # an outer alarm (e.g. pytest-timeout) was due first
        signal.setitimer(signal.ITIMER_REAL, _REFIRE)  # again, should this one be swallowed
        raise _Expired

    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, min(seconds, old_delay) if old_delay else seconds)
    try:
        yield
    finally:
        while True:  # a signal landing here must not leave our handler armed
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
                break
            except _Expired:
                continue
        if old_delay:
            left = outer_deadline - time.monotonic()
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3), old_interval)


@contextlib.contextmanager
def _watchdog(seconds: float) -> Iterator[None]:
    """Any thread (CPython): a timer thread injects :class:`_Expired` into this
    thread with ``PyThreadState_SetAsyncExc``, again every 50 ms until the block ends."""
    import ctypes

    tid = ctypes.c_ulong(threading.get_ident())
    inject = ctypes.pythonapi.PyThreadState_SetAsyncExc
    lock = threading.Lock()
    state = {"done": False, "fired": False}

    def fire() -> None:
        with lock:
            if state["done"]:
                return
            state["fired"] = True
            inject(tid, ctypes.py_object(_Expired))
            again = threading.Timer(_REFIRE, fire)
            again.daemon = True
            again.start()

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        while True:  # an interrupt landing here must not leave the watchdog running
            try:
                with lock:
                    state["done"] = True
                    timer.cancel()
                    if state["fired"]:
                        inject(tid, None)  # drop an interrupt that has not been delivered yet
                break
            except _Expired:
                continue


@contextlib.contextmanager
def time_limit(step: str, seconds: float | None) -> Iterator[None]:
    """Raise :class:`StepTimeout` naming ``step`` if the block runs longer than ``seconds``.

    On the main thread (POSIX) a ``SIGALRM`` timer interrupts the block; an
    outer ``SIGALRM`` timer is honoured and re-armed afterwards.  On other
    threads a watchdog thread injects the interrupt asynchronously (CPython's
    ``PyThreadState_SetAsyncExc``).  Either way the interrupt arrives between
    bytecodes: sympy (pure Python) stops promptly, one long C call (a huge
    integer power, say) cannot be cut short.  The interrupt is repeated every
    50 ms until the block ends, in case code such as a gc callback swallowed
    it.  ``None`` or ``0`` means no limit.

    Example:
        >>> with time_limit("nothing", 1.0):
        ...     pass
    """
    if not seconds:
        yield
        return
    ctx = _alarm(seconds) if _alarm_usable() else _watchdog(seconds)
    try:
        with ctx:
            yield
    except _Expired:
        raise StepTimeout(step, seconds) from None


_time_limit = time_limit  # check_activation's keyword of the same name shadows it


# ================================================================ result types
def _f(x: Any) -> str:
    """A float for humans: 10 significant digits."""
    if x is None:
        return "undefined"
    if isinstance(x, (sp.Basic,)):
        try:
            x = float(x)
        except (TypeError, ValueError):
            return str(x)
    if isinstance(x, complex):
        return f"{x.real:.10g}{x.imag:+.10g}j"
    return f"{float(x):.10g}"


def _show(e: Any) -> str:
    """An expression for humans: long exact constants shown to 10 digits."""
    if isinstance(e, sp.Basic):
        long = {r: sp.Float(r, 10) for r in e.atoms(sp.Rational) if len(str(r)) > 14}
        e = e.xreplace(long) if long else e
    return str(e)


def _jsonable(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, (np.floating, np.integer)):
        return _jsonable(x.item())
    if isinstance(x, sp.Basic):
        return str(x)
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


@dataclass(frozen=True)
class PointError:
    """One compared point: the input, the value obtained, the true value, and the relative error."""

    z: float
    got: float
    want: float
    rel_error: float

    def __str__(self) -> str:
        return f"z = {_f(self.z)}: got {_f(self.got)}, true {_f(self.want)} (relative error {self.rel_error:.2g})"


@dataclass(frozen=True)
class Finding:
    """A fault of a NumPy callable: its kind, the smallest |z| showing it, and how many points show it."""

    kind: str  # error shape nan inf overflow invalid divide inaccurate kink
    z: float
    got: Any
    want: Any
    count: int
    detail: str = ""

    def __str__(self) -> str:
        where = f"z = {_f(self.z)}"
        more = f" (and {self.count - 1} more point{'s' if self.count > 2 else ''})" if self.count > 1 else ""
        if self.kind == "shape":
            return f"shape: {self.detail}"
        if self.kind == "kink":
            return f"kink: at {where} it returns {_f(self.got)}, outside the one-sided derivatives ({self.detail})"
        if self.kind == "error":
            return f"error: {self.detail} at {where}{more}"
        text = f"{self.kind}: at {where} it returns {_f(self.got)}, true value {_f(self.want)}"
        return text + (f" ({self.detail})" if self.detail else "") + more


@dataclass
class Breakpoint:
    """A point where the piecewise definition of f changes.

    ``kind`` is ``"kink"`` (continuous, left and right derivatives differ),
    ``"jump"`` (not continuous) or ``"smooth"`` (the pieces join with equal
    derivatives, so f is differentiable there).
    """

    z: sp.Expr
    kind: str
    value: sp.Expr
    left_value: sp.Expr
    right_value: sp.Expr
    left_derivative: sp.Expr
    right_derivative: sp.Expr

    def __str__(self) -> str:
        b = _show(self.z)
        if self.kind == "jump":
            return (f"z = {b}: jump, f(z-) = {_show(self.left_value)}, f(z) = {_show(self.value)}, "
                    f"f(z+) = {_show(self.right_value)}")
        if self.kind == "kink":
            return (f"z = {b}: kink, left derivative {_show(self.left_derivative)}, "
                    f"right derivative {_show(self.right_derivative)}")
        return f"z = {b}: pieces join smoothly (f' = {_show(self.left_derivative)} from both sides)"

    def to_dict(self) -> dict[str, Any]:
        return _jsonable({k: getattr(self, k) for k in ("z", "kind", "value", "left_value", "right_value",
                                                         "left_derivative", "right_derivative")})


@dataclass
class ClaimVerdict:
    """The verdict on the claimed derivative.

    ``status`` is ``"proven"`` (symbolically equal on every piece),
    ``"equal numerically"`` (agrees in high precision at every point, no
    symbolic proof found in time), ``"agrees"`` (a NumPy callable within
    :data:`RTOL`) or ``"counterexample"``.
    """

    kind: str  # "symbolic" or "numpy"
    claim: str
    status: str
    points: int
    counterexample: PointError | None = None
    worst: list[PointError] = field(default_factory=list)
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "counterexample"

    def __str__(self) -> str:
        head = f"claimed derivative {self.claim}: "
        if self.status == "proven":
            return head + f"proven equal to f' ({self.detail})"
        if self.status == "equal numerically":
            return head + f"equal to f' in high precision at {self.points} points; {self.detail}"
        if self.status == "agrees":
            worst = f" (worst: {self.worst[0]})" if self.worst else ""
            return head + f"agrees with f' within {RTOL:g} at {self.points} points{worst}"
        return head + f"WRONG: {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        return _jsonable({"kind": self.kind, "claim": self.claim, "status": self.status, "ok": self.ok,
                          "points": self.points, "detail": self.detail,
                          "counterexample": vars(self.counterexample) if self.counterexample else None,
                          "worst": [vars(w) for w in self.worst]})


@dataclass
class CallableCheck:
    """A NumPy callable compared with the high-precision truth at many points."""

    name: str
    against: str  # "f" or "f'"
    points: int
    findings: list[Finding] = field(default_factory=list)
    worst: list[PointError] = field(default_factory=list)
    excluded: list[float] = field(default_factory=list)
    at_breakpoints: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def __str__(self) -> str:
        what = "value" if self.against == "f" else "derivative"
        head = f"{self.name} (NumPy {what}): "
        if self.ok:
            w = self.worst[0] if self.worst else None
            worst = f"; worst relative error {w.rel_error:.1e} at z = {_f(w.z)}" if w else ""
            text = head + f"sound at {self.points} points{worst}"
        else:
            text = head + "UNSOUND: " + "; ".join(str(f) for f in self.findings)
        if self.excluded:
            text += (f" [breakpoints excluded with margin {KINK_MARGIN:g}: "
                     f"{', '.join(_f(b) for b in self.excluded)}]")
        if self.at_breakpoints:
            text += " [" + "; ".join(self.at_breakpoints) + "]"
        return text

    def to_dict(self) -> dict[str, Any]:
        return _jsonable({"name": self.name, "against": self.against, "points": self.points, "ok": self.ok,
                          "findings": [dict(vars(f), message=str(f)) for f in self.findings],
                          "worst": [vars(w) for w in self.worst], "excluded_kinks": self.excluded,
                          "at_breakpoints": self.at_breakpoints})


@dataclass
class NetworkCheck:
    """Derived gradients vs ``numeric.backward`` vs central differences on one random problem."""

    f: str
    g: str
    shape: tuple[int, ...]
    seed: int
    errors: dict[str, float] = field(default_factory=dict)
    tolerances: dict[str, float] = field(default_factory=dict)
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and all(self.errors[k] <= self.tolerances[k] for k in self.errors)

    def __str__(self) -> str:
        head = f"network f={self.f}, g={self.g}, (d, n, p, q, m)={self.shape}: "
        if self.error:
            return head + f"FAILED: {self.error}"
        parts = [f"{k} {v:.1e} (tol {self.tolerances[k]:.0e}){'' if v <= self.tolerances[k] else ' FAILED'}"
                 for k, v in self.errors.items()]
        return head + ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable({"f": self.f, "g": self.g, "shape": list(self.shape), "seed": self.seed, "ok": self.ok,
                          "errors": self.errors, "tolerances": self.tolerances, "error": self.error})


@dataclass
class ActivationReport:
    """Everything :func:`check_activation` found; ``ok`` is the verdict and ``faults`` the reasons."""

    activation: str
    expression: sp.Expr
    params: dict[str, str]
    derivative: sp.Expr
    output_form: sp.Expr | None
    output_form_note: str
    breakpoints: list[Breakpoint]
    problems: list[str] = field(default_factory=list)
    claim: ClaimVerdict | None = None
    numpy_checks: list[CallableCheck] = field(default_factory=list)
    network: list[NetworkCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def faults(self) -> list[str]:
        """One line per fault, each with the input that shows it."""
        out = list(self.problems)
        if self.claim is not None and not self.claim.ok:
            out.append(f"claimed derivative {self.claim.claim} is wrong: {self.claim.detail}")
        ce = self.claim.counterexample if self.claim is not None and self.claim.kind == "numpy" else None
        for c in self.numpy_checks:
            out += [f"NumPy {c.name}: {f}" for f in c.findings
                    if not (c.name == "derivative" and ce is not None and f.z == ce.z)]
        out += [str(n) for n in self.network if not n.ok]
        return out

    @property
    def ok(self) -> bool:
        return not self.faults

    def __str__(self) -> str:
        lines = [f"check_activation: {self.activation}" + (f"  (params {self.params})" if self.params else "")]
        lines.append(f"  f(z)  = {_show(self.expression)}")
        lines.append(f"  f'(z) = {_show(self.derivative)}")
        lines.append("  f' from the output a = f(z): "
                     + (f"{_show(self.output_form)}  ({self.output_form_note})" if self.output_form is not None
                        else self.output_form_note))
        kinks = [b for b in self.breakpoints if b.kind != "smooth"]
        lines.append("  non-differentiable points: " + ("none" if not kinks else ""))
        lines += [f"    {b}" for b in kinks]
        lines += [f"  smooth join: {b}" for b in self.breakpoints if b.kind == "smooth"]
        if self.claim is not None:
            lines.append(f"  {self.claim}")
        lines += [f"  {c}" for c in self.numpy_checks]
        lines += [f"  {c}" for c in self.network]
        lines += [f"  note: {n}" for n in self.notes]
        if self.faults:
            lines.append("FAULTS:")
            lines += [f"  - {f}" for f in self.faults]
        total = self.timings.get("total", 0.0)
        lines.append(f"RESULT: {'PASS' if self.ok else 'FAIL'} ({total:.2f} s)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite floats become the strings "inf", "-inf", "nan")."""
        return _jsonable({
            "activation": self.activation, "expression": self.expression, "params": self.params,
            "ok": self.ok, "faults": self.faults, "derivative": self.derivative,
            "output_form": self.output_form, "output_form_note": self.output_form_note,
            "breakpoints": [b.to_dict() for b in self.breakpoints], "problems": self.problems,
            "claim": self.claim.to_dict() if self.claim else None,
            "numpy_checks": [c.to_dict() for c in self.numpy_checks],
            "network": [n.to_dict() for n in self.network], "notes": self.notes, "timings": self.timings,
        })


# ================================================================ splitting into smooth pieces
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


def _split(expr: sp.Expr) -> _Split:
    e = sp.piecewise_fold(_unfold(expr))
    if not isinstance(e, sp.Piecewise):
        return _Split((), (e,), ())
    remaining: sp.Set = sp.S.Reals
    sets: list[tuple[sp.Expr, sp.Set]] = []
    for val, cond in e.args:
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

    mids = ([breaks[0] - 1] if breaks else [sp.Integer(0)]) + [
        (a + b) / 2 for a, b in zip(breaks, breaks[1:])] + ([breaks[-1] + 1] if breaks else [])
    pieces = [owner(m) for m in mids]
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


_SIMPLE_CACHE: dict[sp.Expr, tuple[sp.Expr, bool]] = {}


def _simplest(expr: sp.Expr, budget: float, notes: list[str], what: str) -> sp.Expr:
    """The shortest of ``expr``, ``factor(expr)`` and ``simplify(expr)``, trying for at
    most ``budget`` seconds (results are cached: a warm check does not pay again)."""
    if expr in _SIMPLE_CACHE:
        best, stopped = _SIMPLE_CACHE[expr]
    else:
        best, stopped = expr, False
        for attempt in (sp.factor, sp.simplify):
            try:
                with time_limit(f"simplify {what}", budget):
                    cand = attempt(expr)
            except StepTimeout:
                stopped = True
                break
            except (TypeError, ValueError, NotImplementedError, sp.PolynomialError):
                continue
            if sp.count_ops(cand) < sp.count_ops(best):
                best = cand
        if len(_SIMPLE_CACHE) > 512:
            _SIMPLE_CACHE.clear()
        _SIMPLE_CACHE[expr] = (best, stopped)
    if stopped:
        notes.append(f"simplification of {what} stopped after {budget:g} s; the shortest form found is shown")
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


# ================================================================ high-precision reference
_GUARD = mpmath.mpf(1e5)  # beyond this, exp-like functions saturate (exp(1e5) ~ 1e43429)


def _big(x: Any) -> bool:
    return abs(x) > _GUARD


def _mp_exp(x: Any) -> Any:
    if isinstance(x, mpmath.mpf) and _big(x):
        return mpmath.inf if x > 0 else mpmath.mpf(0)
    return mpmath.exp(x)


def _mp_sinh(x: Any) -> Any:
    if isinstance(x, mpmath.mpf) and _big(x):
        return mpmath.inf if x > 0 else -mpmath.inf
    return mpmath.sinh(x)


def _mp_cosh(x: Any) -> Any:
    if isinstance(x, mpmath.mpf) and _big(x):
        return mpmath.inf
    return mpmath.cosh(x)


def _mp_tanh(x: Any) -> Any:
    if isinstance(x, mpmath.mpf) and _big(x):
        return mpmath.mpf(1 if x > 0 else -1)
    return mpmath.tanh(x)


def _mp_sigmoid(x: Any) -> Any:
    if isinstance(x, mpmath.mpf) and _big(x):
        return mpmath.mpf(1 if x > 0 else 0)
    return 1 / (1 + mpmath.exp(-x))


def _mp_softplus(x: Any) -> Any:
    if isinstance(x, mpmath.mpf) and _big(x):
        return x if x > 0 else mpmath.mpf(0)
    return mpmath.log1p(mpmath.exp(x))


def _mp_pow(base: Any, exponent: Any) -> Any:
    if isinstance(base, mpmath.mpf) and isinstance(exponent, mpmath.mpf) and base > 0:
        return _mp_exp(exponent * mpmath.log(base))
    return mpmath.power(base, exponent)


_MP_NAMESPACE: dict[str, Any] = {
    "exp": _mp_exp, "sinh": _mp_sinh, "cosh": _mp_cosh, "tanh": _mp_tanh,
    "sigmoid": _mp_sigmoid, "softplus": _mp_softplus, "gpow": _mp_pow,
    "Heaviside": lambda x, h0=0.5: mpmath.mpf(h0) if x == 0 else mpmath.mpf(1 if x > 0 else 0),
}
_gpow = sp.Function("gpow")


def _mp_function(expr: sp.Expr) -> Callable[[Any], Any]:
    """``expr`` lambdified for mpmath, with exp-like functions guarded against runaway sizes."""
    guarded = expr.replace(lambda e: e.is_Pow and not e.exp.is_number, lambda e: _gpow(e.base, e.exp))
    return sp.lambdify(z, guarded, modules=[_MP_NAMESPACE, "mpmath"])


@dataclass(frozen=True)
class _Ref:
    """A high-precision value, or why there is none (problem: "not real", "undefined", "uncertain")."""

    value: Any = None
    problem: str = ""
    detail: str = ""

    @property
    def usable(self) -> bool:
        return not self.problem

    @property
    def in_float_range(self) -> bool:
        return self.usable and abs(self.value) <= _FMAX


_MAX_DPS = 4000


def _agree(a: Any, b: Any) -> bool:
    if mpmath.isinf(a) or mpmath.isinf(b):
        return a == b
    return abs(a - b) <= mpmath.mpf(10) ** -20 * abs(b)


def _at(fn: Callable[[Any], Any], x: float, dps: int) -> Any:
    """``fn(x)`` at ``dps`` digits: an mpf, or a :class:`_Ref` saying why there is none."""
    with mpmath.workdps(dps):
        try:
            v = fn(mpmath.mpf(x))
        except ZeroDivisionError:
            return _Ref(None, "undefined", "division by zero")
        except Exception as exc:  # noqa: BLE001 - any failure of the evaluation means "undefined here"
            return _Ref(None, "undefined", f"{type(exc).__name__}: {exc}")
        if isinstance(v, mpmath.mpc):
            if v.imag != 0:
                return _Ref(None, "not real", f"f(z) = {complex(v)}")
            v = v.real
        v = +mpmath.mpf(v)
    if mpmath.isnan(v):
        return _Ref(None, "undefined", "NaN")
    return v


def _evaluate(fn: Callable[[Any], Any], x: float) -> _Ref:
    """``fn(x)`` to 20 correct digits.

    A first evaluation at 30 digits gives the size of the result; the working
    precision then covers that size (down to 1e-330, the float64 range) and
    intermediates up to ``exp(|x|)``, so that terms absorbed at low precision
    (``log(1 + exp(-316))``) are kept.  Two evaluations 20 digits apart must
    agree, else the precision doubles (up to 4000 digits).
    """
    v = _at(fn, x, 30)
    if isinstance(v, _Ref):
        return v
    small = 330 if v == 0 else (min(330, int(-mpmath.log10(abs(v)))) if 0 < abs(v) < 1 else 0)
    dps = 30 + small + int(min(abs(x), 1000.0) / 2.3)
    while dps <= _MAX_DPS:
        a = v if dps <= 40 else _at(fn, x, dps)  # a moderate result: the 30-digit value will do
        b = _at(fn, x, dps + 20)
        for r in (a, b):
            if isinstance(r, _Ref):
                return r
        if (a == 0 and b == 0) or _agree(a, b):
            return _Ref(b)
        dps *= 2
    return _Ref(None, "uncertain", f"no two precisions up to {_MAX_DPS} digits agreed")


def _const_ref(c: sp.Expr) -> _Ref:
    try:
        v = complex(sp.N(c, 40))
    except (TypeError, ValueError) as exc:
        return _Ref(None, "undefined", str(exc))
    if np.isnan(v):
        return _Ref(None, "undefined", "NaN")
    if v.imag != 0:
        return _Ref(None, "not real", f"f(z) = {v}")
    with mpmath.workdps(40):
        return _Ref(mpmath.mpf(sp.N(c, 40)) if np.isfinite(v.real) else mpmath.mpf(v.real))


class _Reference:
    """High-precision evaluation of a split function (piece by piece)."""

    def __init__(self, split: _Split, pieces: Sequence[sp.Expr] | None = None,
                 at: Sequence[sp.Expr] | None = None) -> None:
        self.fbreaks = split.fbreaks
        self.pieces = [self._compile(p) for p in (pieces if pieces is not None else split.pieces)]
        self.at = [self._compile(p) for p in (at if at is not None else split.at)]
        self._cache: dict[float, _Ref] = {}

    @staticmethod
    def _compile(expr: sp.Expr) -> Callable[[float], _Ref]:
        if not expr.has(z):
            ref = _const_ref(expr)
            return lambda x: ref
        fn = _mp_function(expr)
        return lambda x: _evaluate(fn, x)

    def __call__(self, x: float) -> _Ref:
        x = float(x)
        if x in self._cache:
            return self._cache[x]
        k = bisect.bisect_left(self.fbreaks, x)
        if k < len(self.fbreaks) and self.fbreaks[k] == x:
            ref = self.at[k](x)
        else:
            ref = self.pieces[k](x)
        self._cache[x] = ref
        return ref


def _rel_error(got: float, want: Any) -> float:
    if math.isnan(got):
        return math.inf
    if math.isinf(got):
        return 0.0 if (mpmath.isinf(want) and (got > 0) == (want > 0)) else math.inf
    return float(abs(mpmath.mpf(got) - want) / max(abs(want), mpmath.mpf(_FLOOR)))


def _near(x: float, breaks: Sequence[float], margin: float = KINK_MARGIN) -> bool:
    return any(abs(x - b) <= margin * max(1.0, abs(b)) for b in breaks)


# ================================================================ sample points
def _rng_points(n: int, seed: int, avoid: Sequence[float]) -> list[float]:
    """The same mixture as :func:`numeric.strategies.activation_points`, from numpy's RNG."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 3, n)
    moderate = rng.uniform(-10, 10, n)
    spread = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-8, 4, n)
    anywhere = rng.uniform(-1e4, 1e4, n)
    pts = np.select([kind == 0, kind == 1], [moderate, spread], anywhere)
    return [float(p) for p in pts if not _near(float(p), avoid)]


def _hypothesis_points(n: int, seed: int, avoid: Sequence[float], notes: list[str]) -> list[float]:
    """``n`` points drawn by hypothesis (by numpy's RNG without hypothesis, or inside a
    running hypothesis test, where a nested ``@given`` is not allowed)."""
    try:
        from hypothesis import HealthCheck, Phase, Verbosity, currently_in_test_context, given, settings
        from hypothesis import seed as hseed

        from numeric.strategies import activation_points
    except ImportError:  # pragma: no cover - hypothesis is in the test extra
        notes.append("hypothesis is not installed; random points drawn with numpy instead")
        return _rng_points(n, seed, avoid)
    if currently_in_test_context():
        notes.append("called inside a hypothesis test; random points drawn with numpy instead")
        return _rng_points(n, seed, avoid)
    drawn: list[float] = []

    @hseed(seed)
    @settings(max_examples=n, database=None, deadline=None, derandomize=False, print_blob=False,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
              verbosity=Verbosity.quiet)
    @given(activation_points(avoid=tuple(avoid), margin=KINK_MARGIN))
    def collect(x: float) -> None:
        drawn.append(x)

    collect()
    return drawn


def _base_points(breaks: Sequence[float]) -> np.ndarray:
    """The deterministic points: a grid, the extremes, and each breakpoint and its neighbours."""
    near = [b + s * 1e-3 * max(1.0, abs(b)) for b in breaks for s in (-1, 1)]
    return np.unique(np.asarray([*_GRID, *EXTREMES, *near, *breaks], dtype=np.float64))


def _points(breaks: Sequence[float], n_drawn: int, seed: int, notes: list[str]) -> np.ndarray:
    """The base points plus ``n_drawn`` hypothesis-drawn ones (away from the breakpoints)."""
    drawn = _hypothesis_points(n_drawn, seed, breaks, notes) if n_drawn > 0 else []
    return np.unique(np.concatenate([_base_points(breaks), np.asarray(drawn, dtype=np.float64)]))


# ================================================================ checks of NumPy callables
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


# ================================================================ the claimed derivative
def _exp_form(expr: sp.Expr) -> sp.Expr:
    """sigmoid(u) -> exp(u)/(exp(u) + 1) and softplus(u) -> log(exp(u) + 1): the forms sympy's
    diff produces from the plain definitions, so that equal derivatives cancel quickly."""
    expr = expr.replace(lambda n: isinstance(n, sigmoid), lambda n: sp.exp(n.args[0]) / (sp.exp(n.args[0]) + 1))
    return expr.replace(lambda n: isinstance(n, softplus), lambda n: sp.log(sp.exp(n.args[0]) + 1))


_ZERO_TESTS: tuple[Callable[[sp.Expr], sp.Expr], ...] = (
    lambda e: e,
    sp.expand,
    lambda e: sp.cancel(_exp_form(e)),
    lambda e: sp.expand(_exp_form(e)),
    lambda e: sp.together(e.rewrite(sp.exp)),
    sp.simplify,
    lambda e: sp.simplify(e.rewrite(sp.exp)),
)


def _is_zero(expr: sp.Expr, budget: float) -> bool | None:
    """True when sympy reduces ``expr`` to 0 (cheap rewritings first) within ``budget`` seconds;
    None on timeout, False when every rewriting leaves something."""
    try:
        with time_limit("symbolic proof", budget):
            for test in _ZERO_TESTS:
                try:
                    if test(expr) == 0:
                        return True
                except (TypeError, ValueError, NotImplementedError, sp.PolynomialError):
                    continue
            return False
    except StepTimeout:
        return None


def _claim_symbolic(claim: sp.Expr, an: "_Analysis", xs: np.ndarray, budget: float) -> ClaimVerdict:
    """Counterexample (at high precision, readable points first), else a proof on every piece."""
    f_split, d_ref, dpieces, bps = an.split, an.d_ref, an.dpieces, an.bps
    label = str(claim)
    c_split = _split(claim)
    c_ref = _Reference(c_split, [_unfold(p) for p in c_split.pieces], [_unfold(p) for p in c_split.at])
    fb, cb = f_split.fbreaks, c_split.fbreaks
    all_breaks = sorted(set(fb) | set(cb))
    extra = [b + s * 1e-3 * max(1.0, abs(b)) for b in all_breaks for s in (-1, 1)]
    extra += [(a + b) / 2 for a, b in zip(all_breaks, all_breaks[1:])]
    pts = np.unique(np.concatenate([xs, np.asarray(extra + list(cb), dtype=np.float64)]))
    bad: list[PointError] = []
    n = 0
    for x in pts:
        x = float(x)
        if _near(x, fb):
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
        if b.kind != "kink":
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
    mids = ([all_breaks[0] - 1.0] if all_breaks else [0.0]) + [
        (a + b) / 2 for a, b in zip(all_breaks, all_breaks[1:])] + ([all_breaks[-1] + 1.0] if all_breaks else [])
    for m in mids:
        fk = bisect.bisect_left(fb, m)
        diff = _unfold(c_split.expr_at(m)) - dpieces[fk]
        result = _is_zero(diff, budget)
        if not result:
            proven = False
            break
    if proven:
        where = "on every piece" if all_breaks else "everywhere"
        return ClaimVerdict("symbolic", label, "proven", n, detail=f"sympy reduces claim - f' to 0 {where}"
                            + (", apart from the kinks" if any(b.kind == "kink" for b in bps) else ""))
    return ClaimVerdict("symbolic", label, "equal numerically", n,
                        detail=f"no symbolic proof found within {budget:g} s (not a counterexample)")


_MODERATE = 10.0  # a claimed NumPy derivative that fails for |z| <= 10 has the wrong formula


def _claim_counterexample(fn: Callable[..., Any], check: CallableCheck, d_ref: _Reference, xs: np.ndarray,
                          breaks: Sequence[float]) -> Finding | None:
    """The finding that shows a NumPy derivative has the wrong formula (not just poor numerics):
    an error, a wrong shape, a kink value outside the one-sided derivatives, or a failure at a
    moderate input, preferring a readable point."""
    for f in check.findings:
        if f.kind in ("error", "shape", "kink"):
            return f
    bad = []
    for x in xs:
        x = float(x)
        if abs(x) > _MODERATE or _near(x, breaks):
            continue
        want = d_ref(x)
        if not want.in_float_range:
            continue
        got, _, err = _call_point(fn, x)
        if err or got is None:
            continue
        rel = _rel_error(got, want.value)
        if rel > RTOL:
            bad.append((x, got, float(want.value), rel))
    if not bad:
        return None
    x = _readable([b[0] for b in bad])
    _, got, want, rel = next(b for b in bad if b[0] == x)
    return Finding("inaccurate", x, got, want, len(bad), f"relative error {rel:.2g}")


# ================================================================ f' in terms of the output
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


def _output_form(split: _Split, dpieces: Sequence[sp.Expr], xs: np.ndarray, f_ref: _Reference,
                 d_ref: _Reference, budget: float, notes: list[str]) -> tuple[sp.Expr | None, str]:
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
    try:
        with time_limit("derivative in terms of the output", budget):
            for k, (e, de) in enumerate(zip(split.pieces, dpieces)):
                lo_closed = k > 0 and split.at[k - 1] == e
                hi_closed = k < len(split.breaks) and split.at[k] == e
                if not e.has(z):
                    forms.append((sp.FiniteSet(e), sp.Integer(0)))
                    continue
                h = _piece_output_form(e, de)
                if h is None:
                    where = "" if len(split.pieces) == 1 else f" on the piece {e}"
                    return None, ("f is monotone, so f' is a function of a, but sympy found no closed form"
                                  + where)
                dm = d_ref(_mid(edges[k], edges[k + 1]))
                increasing = not (dm.usable and dm.value < 0)
                forms.append((_image(e, edges[k], edges[k + 1], lo_closed, hi_closed, increasing), h))
    except StepTimeout as exc:
        notes.append(str(exc))
        return None, f"not found: the search stopped after {budget:g} s"
    forms.sort(key=lambda t: float(t[0].inf))
    hs = [_simplest(h, budget / 4, notes, "f' in terms of a") for _, h in forms]
    if len(set(hs)) == 1:
        form = hs[0]
    else:
        args = [(h, s.as_relational(_A)) for (s, _), h in zip(forms[:-1], hs[:-1])]
        form = sp.Piecewise(*args, (hs[-1], sp.true))
    # check: h(f(z)) = f'(z) at moderate points
    h_fn = sp.lambdify(_A, form.replace(lambda n: n.is_Pow and not n.exp.is_number,
                                        lambda n: _gpow(n.base, n.exp)), modules=[_MP_NAMESPACE, "mpmath"])
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


def _piece_output_form(e: sp.Expr, de: sp.Expr) -> sp.Expr | None:
    """h with h(e(z)) = e'(z) on a monotone piece, by substitution or by inverting e."""
    if not de.has(z):
        return de
    h = de.subs(e, _A)
    if not h.has(z):
        return h
    target = _plain(e)
    try:
        sols = sp.solve(sp.Eq(target, _A), z)
    except (NotImplementedError, ValueError, TypeError):
        return None
    for sol in sols if isinstance(sols, list) else []:
        cand = de.subs(z, sol)
        if cand.has(z):
            continue
        # keep the branch that inverts e on the real line: e(sol(e(x))) = e(x) at a test point
        x0 = sp.Rational(1, 3)
        back = sol.subs(_A, target.subs(z, x0))
        try:
            if abs(complex(sp.N(back - x0, 30))) < 1e-20:
                return cand.rewrite(sp.exp) if cand.has(sigmoid) else cand
        except (TypeError, ValueError):
            continue
    return None


# ================================================================ the network end to end
def _network(spec: Any, label: str, hand: Activation, *, seed: int, user_numpy: bool) -> list[NetworkCheck]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(2):
        shape = (int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 5)),
                 int(rng.integers(1, 3)), int(rng.integers(2, 6)))
        check = NetworkCheck(label, label, shape, seed + i)
        tol_hand = RTOL if user_numpy else 1e-9
        check.tolerances = {"derived vs numeric.backward": tol_hand, "derived vs central differences": RTOL,
                            "numeric.backward vs central differences": RTOL}
        try:
            with np.errstate(all="ignore"):
                params, X, Y = draw_problem(*shape, f=hand, g=hand, seed=seed + i, kink_margin=1e-3)
                derived = gradient_function(spec, spec)(params, X, Y)
                manual = numeric.backward(params, X, Y, hand, hand)
                central = numerical_gradient(params, X, Y, hand, hand, method="central")
        except StepTimeout:
            raise
        except Exception as exc:  # the user's callables may raise anything
            check.error = f"{type(exc).__name__}: {exc}"
            out.append(check)
            continue
        bad = [k for k, v in {**derived, **manual}.items() if not np.all(np.isfinite(v))]
        if bad:
            with np.errstate(all="ignore"):
                cache = numeric.forward(params, X, hand, hand)
            worst = {k: float(np.max(np.abs(v))) for k, v in cache.items() if k[0] in "ZA"}
            check.error = (f"gradients {sorted(set(bad))} are not finite; the activation overflows float64 on "
                           f"this problem (largest |entries|: "
                           + ", ".join(f"{k} {_f(v)}" for k, v in worst.items()) + ")")
            out.append(check)
            continue
        for key, (a, b) in {"derived vs numeric.backward": (derived, manual),
                            "derived vs central differences": (derived, central),
                            "numeric.backward vs central differences": (manual, central)}.items():
            errs = compare_gradients(a, b)
            worst = max(errs.values())
            check.errors[key] = math.inf if math.isnan(worst) else worst
        out.append(check)
    return out


# ================================================================ the pipeline
def _resolve(activation: Any, params: Mapping[str, Any]) -> tuple[str, sp.Expr, str | None]:
    if isinstance(activation, str):
        name = activation if activation in CATALOG else None
        return activation, activation_expr(activation, **params), name
    if isinstance(activation, sp.Basic):
        return str(activation), activation_expr(activation, **params), None
    raise TypeError("the activation must be a catalog name, a string such as 'z*tanh(softplus(z))', "
                    f"or a sympy expression in z; got {type(activation).__name__}")


def _claim_expr(derivative: Any, params: Mapping[str, Any]) -> sp.Expr:
    if isinstance(derivative, str):
        if derivative in CATALOG:
            raise InputError(f"the claimed derivative {derivative!r} is an activation name; "
                             "write the derivative as an expression in z")
        from derive.parser import parse_activation

        return parse_activation(derivative, params)
    return activation_expr(derivative, **params)


def check_activation(
    activation: Any,
    *,
    derivative: Any = None,
    numpy_value: Callable[[np.ndarray], np.ndarray] | None = None,
    numpy_derivative: Callable[[np.ndarray], np.ndarray] | None = None,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    points: int = 40,
    time_limit: float = 5.0,
    network: bool = True,
) -> ActivationReport:
    """Check an activation, a claimed derivative, and NumPy code for both.

    Args:
        activation: a catalog name (``"swish"``), a sympy expression in ``z``,
            or a string parsed safely by :func:`derive.parser.parse_activation`.
        derivative: the claimed derivative: a string, a sympy expression, or a
            NumPy callable.  A callable is also checked for soundness.
        numpy_value, numpy_derivative: a NumPy implementation to check.  For a
            catalog name without them, ``numeric``'s own implementation is
            checked.
        params: values of named parameters (``{"alpha": 0.1}``).
        seed: seed of the hypothesis-drawn points and the random networks.
        points: how many points hypothesis draws.
        time_limit: seconds allowed to each sympy step that can run away
            (:class:`StepTimeout` names the step); the optional searches for
            f' in terms of a and for a symbolic proof get 40 % of it (at least
            1 s) and, when they run out, say so in the report instead.
        network: also check backprop through the 3-layer network.

    Returns:
        An :class:`ActivationReport`; ``report.ok`` is the verdict,
        ``report.faults`` the reasons, ``str(report)`` a readable summary.

    Raises:
        ParseError: a string is not a valid activation (the message names the column).
        InputError: other unusable input (unknown name, bad parameter, ...).
        StepTimeout: a sympy step exceeded ``time_limit`` (names the step).

    Example:
        >>> report = check_activation("softplus", derivative="sigmoid(z)")
        >>> report.ok, str(report.output_form)
        (True, '1 - exp(-a)')
    """
    t_all = time.perf_counter()
    params = dict(params or {})
    for key, fn in (("numpy_value", numpy_value), ("numpy_derivative", numpy_derivative)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{key} must be a callable taking and returning NumPy arrays, got {type(fn).__name__}")
    steps = _Steps(time_limit)
    with steps("parse", limited=False):  # the parser bounds its own work (length, depth, sizes)
        label, expr, name = _resolve(activation, params)
        claim_fn = derivative if callable(derivative) and not isinstance(derivative, sp.Basic) else None
        claim = _claim_expr(derivative, params) if derivative is not None and claim_fn is None else None
    an = _analyse(expr, time_limit)
    steps.timings.update(an.timings)
    notes = list(an.notes)
    fb = an.split.fbreaks
    with steps("sample points", limited=False):
        xs = _points(fb, points, seed, notes)
    with steps("high-precision reference"):
        f_vals = {float(x): an.f_ref(float(x)) for x in xs}
    problems = _problems(expr, an, f_vals, xs)

    verdict = None
    if claim is not None:
        with steps("claimed derivative"):
            verdict = _claim_symbolic(claim, an, xs, _budget(time_limit, 0.4))
    value_fn, deriv_fn = numpy_value, numpy_derivative
    value_name, deriv_name = "numpy_value", "numpy_derivative"
    if name is not None and value_fn is None and deriv_fn is None and claim_fn is None:
        cat = numeric.get_activation(name, **{k: float(v) for k, v in params.items()})
        value_fn, deriv_fn = cat.value, cat.derivative
        value_name = deriv_name = f"numeric.ACTIVATIONS[{name!r}]"
    checks: list[CallableCheck] = []
    with steps("NumPy checks", limited=False):
        if claim_fn is not None:
            verdict, c = _claim_numpy(claim_fn, an, xs)
            checks.append(c)
            if deriv_fn is None:
                deriv_fn, deriv_name = claim_fn, "derivative"
        if value_fn is not None:
            checks.append(_check_callable(value_fn, value_name, "f", an.f_ref, xs, fb, an.bps))
        if deriv_fn is not None and deriv_fn is not claim_fn:
            checks.append(_check_callable(deriv_fn, deriv_name, "f'", an.d_ref, xs, fb, an.bps))
    nets: list[NetworkCheck] = []
    if network and not any("not real" in p or "undefined" in p for p in problems):
        with steps("network"):
            smooth_expr = _unfold(expr)
            spec = name if name is not None and not params else smooth_expr
            kinks = tuple(float(b.z) for b in an.bps if b.kind != "smooth")
            rough = tuple(float(b.z) for b in an.bps if b.kind == "smooth")
            v = value_fn or numpy_function(smooth_expr)
            dv = deriv_fn or numpy_function(sp.diff(smooth_expr, z))
            hand = Activation(name or "custom", v, dv, kinks=kinks, rough=rough)
            user = numpy_value is not None or numpy_derivative is not None or claim_fn is not None
            nets = _network(spec, _short_label(label), hand, seed=seed, user_numpy=user)
    elif network:
        notes.append("network check skipped: f is not real and finite everywhere")
    steps.timings["total"] = time.perf_counter() - t_all
    return ActivationReport(
        activation=label, expression=expr, params={k: str(v) for k, v in params.items()},
        derivative=an.derivative, output_form=an.form, output_form_note=an.form_note, breakpoints=an.bps,
        problems=problems, claim=verdict, numpy_checks=checks, network=nets, notes=notes, timings=steps.timings,
    )


def _short_label(label: str) -> str:
    return label if len(label) <= 40 else label[:37] + "..."


def _claim_numpy(fn: Callable[..., Any], an: "_Analysis", xs: np.ndarray) -> tuple[ClaimVerdict, CallableCheck]:
    """Verdict on a claimed derivative given as a NumPy callable, and its soundness check."""
    fb = an.split.fbreaks
    check = _check_callable(fn, "derivative", "f'", an.d_ref, xs, fb, an.bps)
    bad = _claim_counterexample(fn, check, an.d_ref, xs, fb)
    detail = ""
    if bad is not None:
        detail = (f"at z = {_f(bad.z)} it returns {_f(bad.got)} but f'({_f(bad.z)}) = {_f(bad.want)}"
                  if bad.kind == "inaccurate" and bad.want is not None else str(bad))
    verdict = ClaimVerdict("numpy", getattr(fn, "__name__", "callable"), "counterexample" if bad else "agrees",
                           check.points, PointError(bad.z, bad.got, bad.want, math.inf) if bad else None,
                           check.worst, detail)
    return verdict, check


def _budget(limit: float | None, share: float) -> float:
    """Seconds for an optional symbolic search: a share of the step limit, at least 1 s."""
    return max(1.0, share * limit) if limit else 60.0


class _Steps:
    """Runs named steps under the time limit and records how long each took."""

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str, limited: bool = True) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            if limited:
                with _time_limit(name, self.limit):
                    yield
            else:
                yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0


@dataclass
class _Analysis:
    """What depends on f alone (cached per expression and time limit)."""

    split: _Split
    dpieces: list[sp.Expr]
    bps: list[Breakpoint]
    derivative: sp.Expr
    f_ref: _Reference
    d_ref: _Reference
    form: sp.Expr | None
    form_note: str
    notes: list[str]
    timings: dict[str, float]
    base: np.ndarray  # the deterministic points the output form was judged on


_ANALYSES: "OrderedDict[tuple[sp.Expr, float | None], _Analysis]" = OrderedDict()


def _analyse(expr: sp.Expr, limit: float | None) -> _Analysis:
    """Split f, differentiate, classify breakpoints, find f' in terms of a (LRU-cached)."""
    key = (expr, limit)
    if key in _ANALYSES:
        _ANALYSES.move_to_end(key)
        an = _ANALYSES[key]
        return _Analysis(**{**vars(an), "timings": {"symbolic analysis (cached)": 0.0}})
    steps = _Steps(limit)
    notes: list[str] = []
    with steps("piecewise split"):
        split = _split(expr)
    with steps("differentiate"):
        dpieces = [sp.diff(p, z) for p in split.pieces]
        dat = [sp.diff(p, z) for p in split.at]
    with steps("breakpoints"):
        bps = _breakpoints(split, dpieces)
    t0 = time.perf_counter()
    budget = min(limit, 0.15) if limit else 0.15  # display only: keep it cheap
    simple = [_simplest(d, budget / len(dpieces), notes, "f'") if d.has(z) else d for d in dpieces]
    steps.timings["simplify"] = time.perf_counter() - t0
    fb = split.fbreaks
    base = _base_points(fb)
    with steps("high-precision reference"):
        f_ref = _Reference(split)
        d_ref = _Reference(split, dpieces, dat)
        unreal = any(f_ref(float(x)).problem in ("not real", "undefined") for x in base)
    t0 = time.perf_counter()
    if unreal:
        form, form_note = None, "not looked for: f is not real and finite everywhere"
    else:
        form, form_note = _output_form(split, dpieces, base, f_ref, d_ref, _budget(limit, 0.4), notes)
    steps.timings["output form"] = time.perf_counter() - t0
    an = _Analysis(split, dpieces, bps, _assemble(split, simple), f_ref, d_ref, form, form_note, notes,
                   steps.timings, base)
    _ANALYSES[key] = an
    while len(_ANALYSES) > 64:
        _ANALYSES.popitem(last=False)
    return an


def _readable(xs: Sequence[float]) -> float:
    """The most readable of some points: a small integer or half, else one near 1 in size."""
    nice = [x for x in _NICE if x in xs]
    if nice:
        return nice[0]
    return min(xs, key=lambda x: (abs(math.log10(abs(x))) if x else 0.0, x))


def _problems(expr: sp.Expr, an: _Analysis, f_vals: Mapping[float, _Ref], xs: np.ndarray) -> list[str]:
    """Faults of the activation itself: not real, undefined, constant, jumps, infinite slopes."""
    out = []
    for problem in ("not real", "undefined"):
        bad = [x for x, r in f_vals.items() if r.problem == problem]
        if bad:
            x = _readable(bad)
            out.append(f"f is {problem} at z = {_f(x)} ({f_vals[x].detail}; {len(bad)} of "
                       f"{len(f_vals)} points)")
    if not expr.has(z):
        out.append(f"f is constant ({expr}): f' = 0, so no gradient flows through it")
    elif all(not d.has(z) and d == 0 for d in an.dpieces):
        out.append("f is piecewise constant: f' = 0 wherever it exists, so no gradient flows through it")
    for b in an.bps:
        if b.kind == "jump":
            out.append(f"f jumps at z = {b.z} (from {b.left_value} to {b.right_value}): it is not continuous")
        elif not (_is_finite_number(b.left_derivative) and _is_finite_number(b.right_derivative)):
            out.append(f"f' is infinite at z = {b.z} (left {b.left_derivative}, right {b.right_derivative})")
    if not out:
        for x in xs:
            x = float(x)
            if _near(x, an.split.fbreaks):
                continue
            r = an.d_ref(x)
            if r.problem in ("not real", "undefined") or (r.usable and mpmath.isinf(r.value)
                                                          and f_vals[x].in_float_range):
                out.append(f"f' is not finite at z = {_f(x)} ({r.detail or _f(r.value)})")
                break
    return out
