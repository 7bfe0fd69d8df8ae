"""Check a custom activation function: its derivative, its NumPy code, and backprop through it.

:func:`check_activation` reads the pipeline in order:

1. **resolve** the activation (catalog name, sympy expression, or text read by
   :mod:`derive.expr.parser`, never ``eval``);
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

This module owns the pipeline (resolving the input, the analysis of f and
its cache, the faults of f itself) and re-exports the public names; the
steps live in their own modules:

* :mod:`derive.activation_check.results`: the report and its parts (``str``, ``to_dict``);
* :mod:`derive.timeout`: :class:`StepTimeout`, :func:`time_limit`, step timings;
* :mod:`derive.activation_check.pieces`: smooth pieces, breakpoints, one-sided derivatives;
* :mod:`derive.activation_check.mpref`: high-precision (mpmath) reference values;
* :mod:`derive.activation_check.sampling`: the grid, the extremes and hypothesis-drawn points;
* :mod:`derive.activation_check.numpy_audit`: numerical soundness of a NumPy callable;
* :mod:`derive.activation_check.claim`: the verdict on a claimed derivative;
* :mod:`derive.activation_check.output_form`: f' in terms of the output ``a = f(z)``;
* :mod:`derive.activation_check.network_check`: backprop through the network, end to end.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Callable, Mapping

import mpmath
import numpy as np
import sympy as sp

import numeric
from derive.activation_check.analysis import _Analysis
from derive.activation_check.claim import _claim_numpy, _claim_symbolic
from derive.activation_check.mpref import _evaluate, _mp_function, _Ref, _Reference  # noqa: F401 - _evaluate, _mp_function: tests
from derive.activation_check.network_check import _network
from derive.activation_check.numpy_audit import _check_callable
from derive.activation_check.output_form import _output_form, _piece_output_form  # a test patches _piece_output_form here
from derive.activation_check.pieces import (  # noqa: F401 - benchmarks/ clear _SIMPLE_CACHE
    _SIMPLE_CACHE,
    _assemble,
    _breakpoints,
    _is_finite_number,
    _simplest,
    _split,
    _Split,
    _unfold,
)
from derive.activation_check.sampling import EXTREMES, _base_points, _near, _points, _readable
from derive.timeout import StepTimeout, _budget, _Steps, time_limit
from derive.activation_check.results import (  # noqa: F401 - KINK_MARGIN: re-exported
    KINK_MARGIN,
    RTOL,
    ActivationReport,
    Breakpoint,
    CallableCheck,
    ClaimVerdict,
    Finding,
    NetworkCheck,
    PointError,
    _f,
)
from derive.activations import CATALOG, numpy_function, z
from derive.expr import activation_expr
from derive.expr.parser import parse_number
from numeric.activations import Activation
from numeric.errors import InputError

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
        from derive.expr.parser import parse_activation

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
            or a string parsed safely by :func:`derive.expr.parser.parse_activation`.
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
    # exact, bounded numbers (never text that sympy would eval); float() of them is safe
    given = dict(params or {})
    params = {k: parse_number(v, name=f"parameter {k}") for k, v in given.items()}
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
        activation=label, expression=expr, params={k: str(v) for k, v in given.items()},
        derivative=an.derivative, output_form=an.form, output_form_note=an.form_note, breakpoints=an.bps,
        problems=problems, claim=verdict, numpy_checks=checks, network=nets, notes=notes, timings=steps.timings,
    )


def _short_label(label: str) -> str:
    return label if len(label) <= 40 else label[:37] + "..."


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
        # _piece_output_form is looked up in this module at call time: a test patches it here
        form, form_note = _output_form(split, dpieces, base, f_ref, d_ref, _budget(limit, 0.4), notes,
                                       piece_form=_piece_output_form)
    steps.timings["output form"] = time.perf_counter() - t0
    an = _Analysis(split, dpieces, bps, _assemble(split, simple), f_ref, d_ref, form, form_note, notes,
                   steps.timings, base)
    _ANALYSES[key] = an
    while len(_ANALYSES) > 64:
        _ANALYSES.popitem(last=False)
    return an


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
