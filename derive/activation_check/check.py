"""Check a custom activation function: its derivative, its NumPy code, and backprop through it.

:func:`check_activation` reads the pipeline in order:

1. **resolve** the activation (catalog name, sympy expression, or text read by
   :mod:`derive.expr.parser`, never ``eval``; any one variable name);
2. **split** it into smooth pieces at the breakpoints of Piecewise, Abs,
   Max/Min, sign and Heaviside, classify each breakpoint (kink, jump or
   smooth join) with its left and right limits and derivatives, and look
   **inside** every piece for poles, jumps (floor), points without a limit,
   removable gaps and edges of the real domain, anywhere on the line
   (:mod:`derive.activation_check.domain`);
3. **differentiate** each piece (simplified within a fixed operation budget)
   and look for ``f'`` written in terms of the output ``a = f(z)``;
4. evaluate ``f`` and ``f'`` in **high precision** (mpmath, at a precision
   sized to the result and confirmed by a second evaluation) on a grid,
   seeded random points (numpy's PCG64, the same on every machine) and the extremes;
5. judge the **claimed derivative** (symbolic: proven equal or a
   counterexample; NumPy callable: a wrong value at a moderate input) and
   the **soundness** of the user's NumPy value and derivative over the whole
   float64 range, graded fault / warning / note
   (:mod:`derive.activation_check.numpy_audit`);
6. run the **network end to end**: derived gradients vs ``numeric.backward``
   (fed the user's callables) vs central differences, with tolerances that
   scale (:mod:`derive.activation_check.network_check`).

Every step is bounded by fixed budgets (structure, operation counts, point
counts), so the same input gives the same report on any machine.  A
wall-clock limit remains as a safety net only: a step that runs past it
raises :class:`StepTimeout` naming the step (see :func:`time_limit`).
mpmath's precision is process-global: do not run checks in parallel threads.

This module owns the pipeline (resolving the input, the analysis of f and
its cache, the faults of f itself) and re-exports the public names; the
steps live in their own modules:

* :mod:`derive.activation_check.results`: the report and its parts (``str``, ``to_dict``);
* :mod:`derive.timeout`: :class:`StepTimeout`, :func:`time_limit`, step timings;
* :mod:`derive.activation_check.pieces`: smooth pieces, breakpoints, one-sided derivatives;
* :mod:`derive.activation_check.mpref`: high-precision (mpmath) reference values;
* :mod:`derive.activation_check.sampling`: the grid, the extremes and seeded random points;
* :mod:`derive.activation_check.numpy_audit`: numerical soundness of a NumPy callable;
* :mod:`derive.activation_check.claim`: the verdict on a claimed derivative;
* :mod:`derive.activation_check.output_form`: f' in terms of the output ``a = f(z)``;
* :mod:`derive.activation_check.network_check`: backprop through the network, end to end.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import OrderedDict
from typing import Any, Callable, Iterator, Mapping

import mpmath
import numpy as np
import sympy as sp

import numeric
from derive.activation_check.analysis import _Analysis
from derive.activation_check.domain import _interior_singularities
from derive.activation_check.inputs import _claim_expr, _options, _resolve
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
from derive.activation_check.sampling import EXTREMES, _audit_points, _base_points, _near, _points, _readable
from derive.timeout import StepTimeout, _Steps, time_limit
from derive.activation_check.results import (  # noqa: F401 - KINK_MARGIN: re-exported
    ATOL_SCALE,
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
    _show,
)
from derive.activations import derivative_expr, numpy_function, z
from derive.expr.parser import parse_number
from numeric.activations import Activation
from numeric.errors import BackpropDeriveError, InputError

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
    "ATOL_SCALE",
]


@contextlib.contextmanager
def _sealed(step: str) -> Iterator[None]:
    """sympy's own failures on an unusual formula (NotImplementedError from ``as_set``, a
    ValueError from a printer, ...) become one clean :class:`InputError` naming the step:
    user text never ends in a traceback."""
    try:
        yield
    except (BackpropDeriveError, StepTimeout):
        raise
    except (ValueError, TypeError, NotImplementedError, AttributeError, ArithmeticError, RecursionError,
            IndexError, KeyError) as exc:
        detail = " ".join(str(exc).split())[:160] or "no message"
        raise InputError(f"sympy could not analyse this activation (step '{step}': {type(exc).__name__}: "
                         f"{detail})") from None


_BROKEN = ("not real", "undefined", "jumps", "infinite at", "no limit", "not continuous", "not defined")


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
    rtol: float | None = None,
    atol: float | None = None,
    strict: bool = False,
    torch_function: Callable[..., Any] | None = None,
    jax_function: Callable[..., Any] | None = None,
    call_limit: float = 60.0,
) -> ActivationReport:
    """Check an activation, a claimed derivative, and NumPy code for both.

    Args:
        activation: a catalog name (``"swish"``), a sympy expression in one
            variable, or a string parsed safely by
            :func:`derive.expr.parser.parse_activation` (any one variable name).
        derivative: the claimed derivative: a string (in the activation's
            variable), a sympy expression, or a NumPy callable.  A callable is
            also checked for soundness.
        numpy_value, numpy_derivative: a NumPy implementation to check.  For a
            catalog name without them, ``numeric``'s own implementation is
            checked.
        params: values of named parameters (``{"alpha": 0.1}``).
        seed: seed of the random points (numpy's PCG64) and the random networks.
        points: how many random points are drawn (besides the fixed grid and extremes).
        time_limit: a safety net only, in seconds per symbolic step: every
            step is bounded by fixed budgets (operation counts), so the
            result never depends on the machine; a step that still runs past
            the limit raises :class:`StepTimeout` naming it (0: no limit).
        network: also check backprop through the 3-layer network.
        rtol, atol: tolerances of the NumPy checks, ``|got - true| <= rtol
            |true| + atol`` (default :data:`RTOL`, and ``atol`` =
            :data:`ATOL_SCALE` times the function's scale).
        strict: accuracy warnings count as faults.
        torch_function: a PyTorch implementation (e.g. ``MyAct.apply``), checked
            by :func:`derive.frameworks.check_torch_activation` (torch is
            imported only then; needs the ``torch`` extra).
        jax_function: a JAX implementation (``custom_vjp``/``custom_jvp`` or
            plain), checked by :func:`derive.frameworks.check_jax_activation`.
        call_limit: seconds each call of those implementations may take.

    Returns:
        An :class:`ActivationReport`; ``report.ok`` is the verdict,
        ``report.faults`` the reasons, ``str(report)`` a readable summary
        (the same bytes for the same input on any machine).

    Raises:
        ParseError: a string is not a valid activation (the message names the column).
        InputError: other unusable input (unknown name, bad parameter, ...).
        TypeError, ValueError: an option of the wrong type or out of range.
        StepTimeout: a sympy step exceeded ``time_limit`` (names the step).

    Example:
        >>> report = check_activation("softplus", derivative="sigmoid(z)")
        >>> report.ok, str(report.output_form)
        (True, '1 - exp(-a)')
    """
    t_all = time.perf_counter()
    rtol = _options(rtol, atol, strict, seed, points, time_limit)
    # exact, bounded numbers (never text that sympy would eval); float() of them is safe
    given = dict(params or {})
    params = {k: parse_number(v, name=f"parameter {k}") for k, v in given.items()}
    for key, fn in (("numpy_value", numpy_value), ("numpy_derivative", numpy_derivative)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{key} must be a callable taking and returning NumPy arrays, got {type(fn).__name__}")
    steps = _Steps(time_limit)
    with steps("parse", limited=False):  # the parser bounds its own work (structure, sizes)
        label, expr, name, variable = _resolve(activation, params)
        claim_fn = derivative if callable(derivative) and not isinstance(derivative, sp.Basic) else None
        claim = _claim_expr(derivative, params, variable) if derivative is not None and claim_fn is None else None
    with _sealed("symbolic analysis"):
        an = _analyse(expr, time_limit)
    steps.timings.update(an.timings)
    notes = list(an.notes)
    with steps("sample points", limited=False):
        xs = _points(an.avoid, points, seed, notes)
    with steps("high-precision reference"):
        f_vals = {float(x): an.f_ref(float(x)) for x in xs}
    with _sealed("faults of f"):
        problems = _problems(expr, an, f_vals, xs)

    verdict = None
    if claim is not None:
        with steps("claimed derivative"), _sealed("claimed derivative"):
            verdict = _claim_symbolic(claim, an, xs)
    value_fn, deriv_fn = numpy_value, numpy_derivative
    value_name, deriv_name = "numpy_value", "numpy_derivative"
    if name is not None and value_fn is None and deriv_fn is None and claim_fn is None:
        cat = numeric.get_activation(name, **{k: float(v) for k, v in params.items()})
        value_fn, deriv_fn = cat.value, cat.derivative
        value_name = deriv_name = f"numeric.ACTIVATIONS[{name!r}]"
    checks: list[CallableCheck] = []
    running = ""  # the callable being run: named if it does not return in time
    try:
        with steps("NumPy checks"):
            audit = _audit_points(xs, an.avoid)
            if claim_fn is not None:
                running = "derivative"
                verdict, c = _claim_numpy(claim_fn, an, audit, rtol=rtol, atol=atol)
                checks.append(c)
                if deriv_fn is None:
                    deriv_fn, deriv_name = claim_fn, "derivative"
            if value_fn is not None:
                running = value_name
                checks.append(_check_callable(value_fn, value_name, "f", an.f_ref, audit, an.avoid, an.bps,
                                              rtol=rtol, atol=atol))
            if deriv_fn is not None and deriv_fn is not claim_fn:
                running = deriv_name
                checks.append(_check_callable(deriv_fn, deriv_name, "f'", an.d_ref, audit, an.avoid, an.bps,
                                              rtol=rtol, atol=atol))
    except StepTimeout as exc:
        raise _callable_timeout(exc, running) from None
    nets: list[NetworkCheck] = []
    broken = any(word in p for p in problems for word in _BROKEN)
    if network and not broken:
        with steps("network"):
            clean = _assemble(an.split, list(an.split.pieces))  # no nested Min/Max, no ITE conditions
            spec = name if name is not None and not params else clean
            kinks = tuple(float(b.z) for b in an.bps if b.kind != "smooth")
            rough = tuple(float(b.z) for b in an.bps if b.kind == "smooth")
            v = value_fn or numpy_function(clean)
            dv = deriv_fn or numpy_function(derivative_expr(clean))
            unit = _unit(an)
            if unit != 1:  # f / unit: the same relative errors, gradients of order one
                notes.append(f"network checked with f / {_f(unit)} (f's scale), so that its gradients stay "
                             "in float64 range; a constant factor changes no relative error")
                spec, v, dv = clean / unit, _divided(v, float(unit)), _divided(dv, float(unit))
            hand = Activation(name or "custom", v, dv, kinks=kinks, rough=rough)
            user = numpy_value is not None or numpy_derivative is not None or claim_fn is not None
            nets = _network(spec, _short_label(label), hand, seed=seed, user_numpy=user, rtol=rtol)
    elif network:
        notes.append("network check skipped: f is not defined, finite and continuous on all of R")
    steps.timings["total"] = time.perf_counter() - t_all
    report = ActivationReport(
        activation=label, expression=expr, params={k: str(v) for k, v in given.items()},
        derivative=an.derivative, output_form=an.form, output_form_note=an.form_note, breakpoints=an.bps,
        problems=problems, claim=verdict, numpy_checks=checks, network=nets, notes=notes, timings=steps.timings,
        strict=strict, variable=variable, warnings=_overflow_warning(f_vals),
    )
    for check, fn in (("check_torch_activation", torch_function), ("check_jax_activation", jax_function)):
        if fn is not None:
            import derive.frameworks as frameworks  # torch / jax load here only

            report.frameworks.append(getattr(frameworks, check)(report.expression, fn, seed=seed,
                                                                call_limit=call_limit))
    return report


def _callable_timeout(exc: StepTimeout, running: str) -> StepTimeout:
    """The NumPy checks run the user's own code: a timeout there is that code not returning
    (StepTimeout's own message blames the expression's complexity, right for sympy steps)."""
    who = f"the NumPy callable {running}" if running else "a NumPy callable"
    out = StepTimeout(exc.step, exc.seconds)
    out.args = (f"step '{exc.step}' did not finish within {exc.seconds:g} s: {who} did not return within "
                "the limit (check it for an endless loop or a very slow path, or raise time_limit)",)
    return out


def _overflow_warning(f_vals: Mapping[float, _Ref]) -> list[str]:
    """A warning when f itself leaves the float64 range at a moderate input (|z| <= 10)."""
    over = [x for x, r in f_vals.items() if abs(x) <= 10 and r.usable and not r.in_float_range]
    if not over:
        return []
    x = min(over, key=lambda v: (abs(v), v))
    return [f"f exceeds the float64 range at z = {_f(x)} (f = {mpmath.nstr(f_vals[x].value, 5)}): "
            "NumPy code cannot represent it there, so inputs must stay away from that region"]


def _unit(an: _Analysis) -> sp.Expr:
    """A power of ten near f's size (the largest finite |f| on an even grid from -8 to 8), or 1
    when that lies within 1e-3..1e3."""
    sizes = [abs(float(r.value)) for r in (an.f_ref(float(x)) for x in np.linspace(-8.0, 8.0, 33))
             if r.in_float_range]
    scale = max(sizes, default=1.0)
    if not (math.isfinite(scale) and scale > 0) or 1e-3 <= scale <= 1e3:
        return sp.Integer(1)
    return sp.Integer(10) ** int(round(math.log10(scale)))


def _divided(fn: Callable[[np.ndarray], np.ndarray], unit: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: np.asarray(fn(x)) / unit


def _short_label(label: str) -> str:
    return label if len(label) <= 40 else label[:37] + "..."


_ANALYSES: "OrderedDict[sp.Expr, _Analysis]" = OrderedDict()


def _analyse(expr: sp.Expr, limit: float | None) -> _Analysis:
    """Split f, differentiate, find every non-smooth point, f' in terms of a (LRU-cached).

    Every step is bounded by fixed budgets, so the result depends on ``expr``
    alone (``limit`` is the safety net that raises :class:`StepTimeout`).
    """
    if expr in _ANALYSES:
        _ANALYSES.move_to_end(expr)
        an = _ANALYSES[expr]
        return _Analysis(**{**vars(an), "timings": {"symbolic analysis (cached)": 0.0}})
    steps = _Steps(limit)
    notes: list[str] = []
    with steps("piecewise split"):
        split = _split(expr)
    with steps("differentiate"):
        dpieces = [derivative_expr(p) for p in split.pieces]
        dat = [derivative_expr(p) for p in split.at]
    with steps("breakpoints"):
        bps = _breakpoints(split, dpieces)
    with steps("singular points"):
        inner = _interior_singularities(split, dpieces)
    bps = sorted(bps + inner, key=lambda b: float(b.z))
    avoid = sorted({*split.fbreaks, *(float(b.z) for b in inner)})
    with steps("simplify"):
        simple = [_simplest(d) if d.has(z) else d for d in dpieces]
    base = _base_points(avoid)
    with steps("high-precision reference"):
        f_ref = _Reference(split)
        d_ref = _Reference(split, dpieces, dat)
        unreal = any(f_ref(float(x)).problem in ("not real", "undefined") for x in base)
    if unreal or any(not b.continuous for b in inner):
        form, form_note = None, "not looked for: f is not real, finite and continuous everywhere"
    else:
        with steps("output form"):
            try:  # optional: a sympy failure here costs the form, never the check
                # _piece_output_form is looked up in this module at call time: a test patches it here
                form, form_note = _output_form(split, dpieces, base, f_ref, d_ref, piece_form=_piece_output_form)
            except (ValueError, TypeError, NotImplementedError, AttributeError, ArithmeticError, KeyError,
                    IndexError, RecursionError) as exc:
                form, form_note = None, f"not found: sympy failed in the search ({type(exc).__name__})"
    an = _Analysis(split, dpieces, bps, _assemble(split, simple), f_ref, d_ref, form, form_note, notes,
                   steps.timings, base, avoid)
    _ANALYSES[expr] = an
    while len(_ANALYSES) > 64:
        _ANALYSES.popitem(last=False)
    return an


def _singular_problem(b: Breakpoint) -> str | None:
    sides = f"f(z-) -> {_show(b.left_value)}, f(z+) -> {_show(b.right_value)}"
    if b.kind == "pole":
        return f"f is infinite at z = {_show(b.z)}: a pole ({sides}); an activation must be finite on all of R"
    if b.kind == "no limit":
        return f"f has no limit at z = {_show(b.z)} ({sides}): it is not continuous there"
    if b.kind == "removable":
        at = "undefined" if b.value == sp.nan else f"{_show(b.value)}"
        return (f"f is not continuous at z = {_show(b.z)}: f(z) is {at} but both one-sided limits are "
                f"{_show(b.left_value)} (define it there, e.g. where(z == {_show(b.z)}, {_show(b.left_value)}, ...))")
    if b.kind == "edge":
        side = "below" if b.left_value == sp.nan else "above"
        return f"f is not real for z just {side} {_show(b.z)}: it is not defined on all of R ({sides})"
    if b.kind == "jump":
        return (f"f jumps at z = {_show(b.z)} (from {_show(b.left_value)} to {_show(b.right_value)}): "
                "it is not continuous")
    if b.kind == "kink" and not (_is_finite_number(b.left_derivative) and _is_finite_number(b.right_derivative)):
        return (f"f' is infinite at z = {_show(b.z)} (left {_show(b.left_derivative)}, "
                f"right {_show(b.right_derivative)})")
    return None


def _grouped(found: list[tuple[Breakpoint, str]], shown: int = 3) -> list[str]:
    """One line per singular point, the 3 nearest to 0 of each kind, then a count of the rest
    (floor(z) jumps at every integer)."""
    out: list[str] = []
    for kind in dict.fromkeys(b.kind for b, _ in found):
        same = sorted(((b, p) for b, p in found if b.kind == kind), key=lambda t: (abs(float(t[0].z)), float(t[0].z)))
        out += [p for _, p in same[:shown]]
        if len(same) > shown:
            rest = ", ".join(_show(b.z) for b, _ in same[shown:])
            out.append(f"... and the same ({kind}) at z = {rest}")
    return out


def _problems(expr: sp.Expr, an: _Analysis, f_vals: Mapping[float, _Ref], xs: np.ndarray) -> list[str]:
    """Faults of the activation itself: not real, undefined, constant, poles, jumps, infinite slopes."""
    out = []
    singular = [float(b.z) for b in an.bps if not b.continuous]
    for problem in ("not real", "undefined"):
        bad = [x for x, r in f_vals.items() if r.problem == problem and not _near(x, singular, 1e-3)]
        if bad:
            x = _readable(bad)
            out.append(f"f is {problem} at z = {_f(x)} ({f_vals[x].detail}; {len(bad)} of "
                       f"{len(f_vals)} points)")
    if not expr.has(z):
        out.append(f"f is constant ({expr}): f' = 0, so no gradient flows through it")
    elif all(not d.has(z) and d == 0 for d in an.dpieces):
        out.append("f is piecewise constant: f' = 0 wherever it exists, so no gradient flows through it")
    out += _grouped([(b, p) for b, p in ((b, _singular_problem(b)) for b in an.bps) if p])
    if not out:
        for x in xs:
            x = float(x)
            if _near(x, an.avoid):
                continue
            r = an.d_ref(x)
            if r.problem in ("not real", "undefined") or (r.usable and mpmath.isinf(r.value)
                                                          and f_vals[x].in_float_range):
                out.append(f"f' is not finite at z = {_f(x)} ({r.detail or _f(r.value)})")
                break
    return out
