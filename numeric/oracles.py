"""Per-parameter gradient checks against the numeric oracles of
:mod:`numeric.gradcheck`: every entry, or a few random directions.

:func:`check_gradients` checks every entry (``2 N`` cost evaluations for
``N`` parameters by central differences); :func:`directional_check` checks a
few random unit directions per parameter, so its cost (``2 k`` evaluations per
parameter for ``k`` directions) does not grow with the parameter's size.
Both return a :class:`GradCheckReport` with one :class:`ParamCheck` per
gradient: the worst entry (or direction), analytic vs numeric, relative
error, the step used, and Richardson's error estimate.

A gradient passes when
``max|analytic - numeric| <= rtol * max|numeric| + atol * max(1, J_abs)``,
with ``(rtol, atol)`` from :func:`numeric.gradcheck.tolerance` (per method
and dtype) and ``J_abs`` the mean of ``|softplus(Z3)| + |Y Z3|`` (the size of
the terms the cost sums, which sets its rounding error).

Example:
    >>> import numeric
    >>> P = numeric.init_params(3, 4, 2, seed=0)
    >>> X, Y = np.ones((3, 5)), np.zeros((1, 5))
    >>> check_gradients(P, X, Y, method="complex").ok
    True
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from numeric._validate import PARAM_NAMES
from numeric.errors import InputError
from numeric.gradcheck import (
    _COMPLEX_STEP,
    Tolerance,
    _Cost,
    _every_entry,
    _method,
    default_step,
    tolerance,
)
from numeric.network import backward

__all__ = ["check_gradients", "directional_check", "GradCheckReport", "ParamCheck"]


@dataclass(frozen=True)
class ParamCheck:
    """The check of one gradient: its worst entry (or worst direction).

    Attributes:
        name: ``dW1`` ... ``db3``.
        where: index of the worst entry, or ``"direction k"``.
        analytic, numeric: the two values there (directional derivatives
            for a directional check).
        abs_error: ``max |analytic - numeric|`` over the gradient.
        rel_error: ``abs_error / max |numeric|`` (max-norm relative error).
        allowed: the largest ``abs_error`` that passes.
        step: the step used at the worst entry.
        error_estimate: Richardson's truncation-error estimate (max), else None.
        evaluations: cost evaluations spent on this gradient.
    """

    name: str
    where: str
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float
    allowed: float
    step: float
    error_estimate: float | None
    evaluations: int

    @property
    def ok(self) -> bool:
        return bool(self.abs_error <= self.allowed)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "ok": self.ok}


@dataclass
class GradCheckReport:
    """Per-parameter results of one oracle; ``ok`` is the verdict.

    Example:
        >>> import numeric
        >>> P = numeric.init_params(2, 3, 2)
        >>> r = directional_check(P, np.ones((2, 4)), np.ones((1, 4)))
        >>> r.evaluations, r.ok
        (24, True)
    """

    method: str
    dtype: str
    kind: str  # "every entry" or "k random directions per parameter"
    tolerance: Tolerance
    checks: dict[str, ParamCheck] = field(default_factory=dict)
    evaluations: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks.values())

    @property
    def failures(self) -> list[str]:
        return [k for k, c in self.checks.items() if not c.ok]

    def __str__(self) -> str:
        head = (f"gradient check ({self.method}, {self.kind}, {self.dtype}; rtol {self.tolerance.rtol:.1e}, "
                f"atol {self.tolerance.atol:.1e}): {'ok' if self.ok else 'FAILED: ' + ', '.join(self.failures)}; "
                f"{self.evaluations} cost evaluations, {self.seconds:.3f} s")
        rows = [head, f"  {'grad':5s} {'worst at':>12s} {'analytic':>13s} {'numeric':>13s} "
                      f"{'abs error':>9s} {'allowed':>9s} {'rel error':>9s} {'step':>8s}"]
        for c in self.checks.values():
            est = f"  estimate {c.error_estimate:.1e}" if c.error_estimate is not None else ""
            rows.append(f"  {c.name:5s} {c.where:>12s} {c.analytic:13.6e} {c.numeric:13.6e} {c.abs_error:9.2e} "
                        f"{c.allowed:9.2e} {c.rel_error:9.2e} {c.step:8.1e}{est}{'' if c.ok else '  FAILED'}")
        return "\n".join(rows)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "dtype": self.dtype, "kind": self.kind, "ok": self.ok,
                "rtol": self.tolerance.rtol, "atol": self.tolerance.atol,
                "evaluations": self.evaluations, "seconds": self.seconds,
                "checks": {k: c.to_dict() for k, c in self.checks.items()}}


def _analytic(grads: Any, params: Mapping[str, Any], X: Any, Y: Any, f: Any, g: Any) -> dict[str, np.ndarray]:
    if grads is None:
        return backward(params, X, Y, f, g)
    if callable(grads):  # on copies: a backward that updates its inputs in place must not change ours
        grads = grads({k: np.array(v, copy=True) for k, v in params.items()}, np.array(X, copy=True),
                      np.array(Y, copy=True))
    if not isinstance(grads, Mapping):
        raise InputError(f"grads must be a mapping dW1 ... db3 or a backward function, got {type(grads).__name__}")
    missing = [f"d{k}" for k in PARAM_NAMES if f"d{k}" not in grads]
    if missing:
        raise InputError(f"grads is missing {missing}")
    out = {}
    for k in PARAM_NAMES:
        a = np.asarray(grads["d" + k])
        if a.shape != np.shape(params[k]):
            raise InputError(f"d{k} has shape {a.shape}, expected {np.shape(params[k])} (the shape of {k})")
        out["d" + k] = a.astype(np.float64)
    return out


def _tolerances(method: str, dtype: Any, rtol: float | None, atol: float | None) -> Tolerance:
    t = tolerance(method, dtype)
    return Tolerance(t.rtol if rtol is None else float(rtol), t.atol if atol is None else float(atol))


def check_gradients(
    params: Mapping[str, Any],
    X: Any,
    Y: Any,
    f: Any = "swish",
    g: Any = "leaky_relu",
    *,
    grads: Mapping[str, Any] | Callable[..., Mapping[str, Any]] | None = None,
    method: str = "central",
    dtype: Any = np.float64,
    step: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
) -> GradCheckReport:
    """Check every entry of every gradient against a numeric oracle.

    Args:
        grads: the analytic gradients ``dW1 ... db3``, or a function
            ``backward(params, X, Y)`` returning them; default
            :func:`numeric.backward`.
        method: ``"central"``, ``"richardson"`` or ``"complex"``.
        dtype: float64 or float32 (see the module notes on float32).
        step: one step for every entry instead of the per-entry default.
        rtol, atol: override :func:`tolerance`.

    Returns:
        A :class:`GradCheckReport`; its ``evaluations`` is ``2 N`` (central),
        ``4 N`` (Richardson) or ``N`` (complex) for ``N`` parameters.

    Example:
        >>> import numeric
        >>> P = numeric.init_params(2, 3, 2)
        >>> X, Y = np.ones((2, 4)), np.ones((1, 4))
        >>> check_gradients(P, X, Y, method="richardson").ok
        True
        >>> check_gradients(P, X, Y, step=0.5).ok   # negative control: far too big a step
        False
    """
    t0 = time.perf_counter()
    tol = _tolerances(_method(method), dtype, rtol, atol)
    analytic = _analytic(grads, params, X, Y, f, g)
    num, errs, steps, J = _every_entry(params, X, Y, f, g, method=method, step=step, dtype=dtype)
    floor = tol.atol * max(1.0, J.scale())
    report = GradCheckReport(method, str(J.dtype), "every entry", tol)
    for k, n in num.items():
        a, diff = analytic[k], np.abs(analytic[k] - n)
        idx = np.unravel_index(int(np.argmax(diff)), diff.shape)
        top = float(np.max(np.abs(n)))
        report.checks[k] = ParamCheck(
            k, str(tuple(int(i) for i in idx)), float(a[idx]), float(n[idx]), float(diff[idx]),
            float(diff[idx]) / top if top else float(diff[idx]), tol.rtol * top + floor,
            float(steps[k][idx]), float(np.max(errs[k])) if method == "richardson" else None,
            n.size * {"central": 2, "richardson": 4, "complex": 1}[method],
        )
    report.evaluations, report.seconds = J.evaluations, time.perf_counter() - t0
    return report


def _directions(shape: tuple[int, ...], k: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    for _ in range(k):
        v = rng.standard_normal(shape)
        yield v / np.linalg.norm(v)


def directional_check(
    params: Mapping[str, Any],
    X: Any,
    Y: Any,
    f: Any = "swish",
    g: Any = "leaky_relu",
    *,
    grads: Mapping[str, Any] | Callable[..., Mapping[str, Any]] | None = None,
    method: str = "central",
    directions: int = 2,
    dtype: Any = np.float64,
    seed: int = 0,
    rtol: float | None = None,
    atol: float | None = None,
) -> GradCheckReport:
    """Check each gradient along a few random unit directions.

    For each parameter ``W`` and random unit ``v`` shaped like it, the
    numeric derivative of ``t -> J(W + t v)`` at 0 is compared with
    ``<dW, v>``.  The cost is ``2 * directions`` evaluations per parameter
    (``directions`` for the complex step, ``4 *`` for Richardson), whatever
    the parameter's size; a wrong gradient is caught unless its error is
    orthogonal to every drawn direction, which has probability 0.

    Args:
        grads: analytic gradients or a backward function (default
            :func:`numeric.backward`).
        method: ``"central"``, ``"richardson"`` or ``"complex"``.
        directions: random directions per parameter (at least 1).
        seed: seed of the directions.

    Example:
        >>> import numeric
        >>> P = numeric.init_params(784, 16, 8, seed=0)
        >>> X, Y = np.ones((784, 3)), np.ones((1, 3))
        >>> directional_check(P, X, Y, directions=1).evaluations   # 2 x 6 parameters
        12
    """
    t0 = time.perf_counter()
    if isinstance(directions, bool) or not isinstance(directions, int) or directions < 1:
        raise ValueError(f"directions must be a positive int, got {directions!r}; e.g. directions=2")
    tol = _tolerances(_method(method), dtype, rtol, atol)
    analytic = _analytic(grads, params, X, Y, f, g)
    J = _Cost(params, X, Y, f, g, dtype, complex_=method == "complex")
    floor = tol.atol * max(1.0, J.scale())
    rng = np.random.default_rng(seed)
    report = GradCheckReport(method, str(J.dtype), f"{directions} random direction(s) per parameter", tol)
    for name in PARAM_NAMES:
        before, rows = J.evaluations, []
        for i, v in enumerate(_directions(J.base[name].shape, directions, rng)):
            a, n, h, est = _along(J, name, v, analytic["d" + name], method)
            diff = abs(a - n)
            allowed = tol.rtol * max(abs(n), abs(a)) + floor
            # zero tolerances: any difference ranks first (inf), none ranks last
            ratio = diff / allowed if allowed > 0 else (float("inf") if diff > 0 else 0.0)
            rows.append(((diff > allowed, ratio), i, a, n, diff, h, est))
        # a failing direction is reported before any passing one, then the worst ratio
        _, i, a, n, diff, h, est = max(rows, key=lambda r: r[0])
        report.checks["d" + name] = ParamCheck(
            "d" + name, f"direction {i}", a, n, diff, diff / abs(n) if n else diff,
            tol.rtol * max(abs(n), abs(a)) + floor, h, est, J.evaluations - before)
    report.evaluations, report.seconds = J.evaluations, time.perf_counter() - t0
    return report


def _along(J: _Cost, name: str, v: np.ndarray, grad: np.ndarray,
           method: str) -> tuple[float, float, float, float | None]:
    """Analytic and numeric derivative of ``J`` along ``v`` in parameter ``name``.

    The analytic side is ``<grad, delta>`` for the perturbation ``delta`` as
    stored (float32 rounds ``x + h v``), so both sides see the same step.
    Returns ``(analytic, numeric, step, error estimate or None)``.
    """
    work, base = J.P[name], J.base[name]
    if method == "complex":
        work[...] = base + 1j * _COMPLEX_STEP * v
        n = complex(J()).imag / _COMPLEX_STEP
        work[...] = base
        return float(np.sum(grad * v)), n, _COMPLEX_STEP, None

    def central(step: float) -> tuple[float, float]:
        work[...] = base + step * v
        dp, jp = work.astype(np.float64) - base, float(J())
        work[...] = base - step * v
        dm, jm = work.astype(np.float64) - base, float(J())
        work[...] = base
        return float(np.sum(grad * (dp - dm))) / (2 * step), (jp - jm) / (2 * step)

    h = float(default_step(np.max(np.abs(base)), J.dtype, method=method))
    a, n = central(h)
    if method == "central":
        return a, n, h, None
    a2, n2 = central(h / 2)
    return a2 + (a2 - a) / 3.0, n2 + (n2 - n) / 3.0, h, abs(n2 - n) / 3.0
