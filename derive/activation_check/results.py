"""What :func:`derive.activation_check.check.check_activation` returns.

Owns the result types (:class:`ActivationReport` and the parts it is made
of: :class:`Breakpoint`, :class:`ClaimVerdict`, :class:`CallableCheck`,
:class:`NetworkCheck`, :class:`Finding`, :class:`PointError`), their text
(``str()``) and JSON (``to_dict()``) forms, and the two thresholds that text
quotes, :data:`RTOL` and :data:`KINK_MARGIN`.  The helpers ``_f`` and
``_show`` format numbers and expressions for humans throughout the check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

__all__ = [
    "ActivationReport",
    "Breakpoint",
    "PointError",
    "Finding",
    "ClaimVerdict",
    "CallableCheck",
    "NetworkCheck",
    "RTOL",
    "ATOL_SCALE",
    "KINK_MARGIN",
]

RTOL = 1e-6
"""Default relative tolerance for a NumPy implementation: ``|got - true| <=
rtol * |true| + atol`` at every point (see :data:`ATOL_SCALE` for ``atol``)."""
ATOL_SCALE = 1e-12
"""Default absolute tolerance, as a share of the function's scale (the median
``|f|`` or ``|f'|`` on an even grid from -8 to 8).  Why: NumPy values
feed sums with other activations of about that size, so an error below
1e-12 of it (some 4500 float64 roundings) cannot matter downstream, while a
purely relative measure would demand 16 correct digits of values that are
tiny only by cancellation (the erf-form GELU at z = -8 is 1e-15 with an
absolute error of 1e-16).  Scaling with the function keeps the measure
unit-free: 1e-10*z and 1e10*z are judged alike."""
WRONG = 1e-4
"""A relative error above this is a wrong formula, not lost precision, at a
moderate input (|z| <= 10), where rounding and cancellation in float64 stay
far below it while a missing term or factor shows at once; and at any input
where it is also beyond what rounding the true formula's intermediate terms
can cause (:mod:`derive.activation_check.numpy_audit`)."""
KINK_MARGIN = 1e-6
"""Points within ``KINK_MARGIN * max(1, |b|)`` of a breakpoint ``b`` are left out of
derivative comparisons (and reported)."""


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
    """An expression for humans: long exact constants and floats shown to 10 digits."""
    if isinstance(e, sp.Float):
        return _f(e)
    if isinstance(e, sp.Basic):
        long = {r: sp.Float(r, 10) for r in e.atoms(sp.Rational) if len(str(r)) > 14}
        long.update({r: sp.Float(r, 10) for r in e.atoms(sp.Float)})
        e = e.xreplace(long) if long else e
    return str(e)


def _bound(err: float) -> str:
    """A small error as a power-of-ten bound (``<= 1e-15``): the same text on every machine,
    where the last digits of a float64 rounding error are not."""
    if err == 0:
        return "0"
    if not math.isfinite(err):
        return _f(err)
    return f"<= 1e{math.ceil(math.log10(err)):+03d}"


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

    kind: str  # faults: error shape nan inf wrong kink; warnings: inaccurate; notes: overflow invalid divide
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
        if self.kind in ("overflow", "invalid", "divide"):
            return f"{self.kind}: numpy reported {self.kind} at {where}{more}, yet the result is right"
        text = f"{self.kind}: at {where} it returns {_f(self.got)}, true value {_f(self.want)}"
        return text + (f" ({self.detail})" if self.detail else "") + more


@dataclass
class Breakpoint:
    """A point where the piecewise definition of f changes.

    ``kind`` is ``"kink"`` (continuous, left and right derivatives differ or
    are infinite), ``"jump"`` (both one-sided limits exist and differ),
    ``"pole"`` (f tends to infinity), ``"no limit"`` (f oscillates without a
    limit), ``"removable"`` (f is undefined or different there, with equal
    one-sided limits), ``"edge"`` (f is not real on one side) or
    ``"smooth"`` (the pieces join with equal derivatives, so f is
    differentiable there).  Values are exact where sympy gives them, ``oo``
    for an infinite limit and ``nan`` for none.
    """

    z: sp.Expr
    kind: str
    value: sp.Expr
    left_value: sp.Expr
    right_value: sp.Expr
    left_derivative: sp.Expr
    right_derivative: sp.Expr

    @property
    def continuous(self) -> bool:
        """f is defined, finite and continuous here (a kink or a smooth join)."""
        return self.kind in ("kink", "smooth")

    def __str__(self) -> str:
        b = _show(self.z)
        sides = (f"f(z-) -> {_show(self.left_value)}, f(z) = {_show(self.value) if self.value != sp.nan else 'undefined'}, "
                 f"f(z+) -> {_show(self.right_value)}; f'(z-) -> {_show(self.left_derivative)}, "
                 f"f'(z+) -> {_show(self.right_derivative)}")
        if self.kind in ("pole", "no limit", "removable", "edge"):
            what = {"pole": "pole", "no limit": "no limit from at least one side", "removable": "removable gap",
                    "edge": "edge of the real domain"}[self.kind]
            return f"z = {b}: {what}, {sides}"
        if self.kind == "jump" and self.value == sp.nan:  # a jump inside a piece: f undefined there
            return f"z = {b}: jump, {sides}"
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
    rtol: float = RTOL

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
            return head + f"agrees with f' (no wrong value; rtol {self.rtol:g}) at {self.points} points{worst}"
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
    warnings: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)
    rtol: float = RTOL
    atol: float = 0.0

    @property
    def ok(self) -> bool:
        """No fault (warnings and notes do not count; ``strict`` in the report makes warnings count)."""
        return not self.findings

    def __str__(self) -> str:
        what = "value" if self.against == "f" else "derivative"
        head = f"{self.name} (NumPy {what}): "
        tol = f"rtol {self.rtol:g}, atol {self.atol:.3g}"
        if self.ok:
            w = self.worst[0] if self.worst else None
            worst = f"; relative error {_bound(w.rel_error)}" if w else ""
            text = head + f"sound at {self.points} points ({tol}){worst}"
            if self.warnings:
                text = head + f"right but imprecise at {self.points} points ({tol}): " + \
                    "; ".join(f"WARNING {w}" for w in self.warnings)
        else:
            text = head + "UNSOUND: " + "; ".join(str(f) for f in self.findings)
            if self.warnings:
                text += "; " + "; ".join(f"WARNING {w}" for w in self.warnings)
        if self.notes:
            text += " [note: " + "; ".join(str(n) for n in self.notes) + "]"
        if self.excluded:
            text += (f" [breakpoints excluded with margin {KINK_MARGIN:g}: "
                     f"{', '.join(_f(b) for b in self.excluded)}]")
        if self.at_breakpoints:
            text += " [" + "; ".join(self.at_breakpoints) + "]"
        return text

    def to_dict(self) -> dict[str, Any]:
        return _jsonable({"name": self.name, "against": self.against, "points": self.points, "ok": self.ok,
                          "rtol": self.rtol, "atol": self.atol,
                          "findings": [dict(vars(f), message=str(f)) for f in self.findings],
                          "warnings": [dict(vars(f), message=str(f)) for f in self.warnings],
                          "notes": [dict(vars(f), message=str(f)) for f in self.notes],
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
        # within tolerance: a bound, not the measured digits (they depend on the BLAS kernel and
        # would make the text differ between machines); a failure shows the measured error
        parts = [f"{k} {_bound(v)} (tol {self.tolerances[k]:.0e})" if v <= self.tolerances[k]
                 else f"{k} {v:.1e} > tol {self.tolerances[k]:.0e} FAILED" for k, v in self.errors.items()]
        return head + ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable({"f": self.f, "g": self.g, "shape": list(self.shape), "seed": self.seed, "ok": self.ok,
                          "errors": self.errors, "tolerances": self.tolerances, "error": self.error})


@dataclass
class ActivationReport:
    """Everything :func:`check_activation` found.

    ``ok`` is the verdict, ``faults`` the reasons, ``all_warnings`` the
    accuracy warnings (they fail the check only when ``strict``).  ``str()``
    and ``to_dict()`` are the same bytes for the same input on any machine:
    step timings are kept in ``timings`` but printed only on request.
    """

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
    warnings: list[str] = field(default_factory=list)
    strict: bool = False
    variable: str = "z"
    frameworks: list[Any] = field(default_factory=list)  # derive.frameworks.FrameworkReport, one per framework

    @property
    def faults(self) -> list[str]:
        """One line per fault, each with the input that shows it (warnings too when ``strict``)."""
        out = list(self.problems)
        if self.claim is not None and not self.claim.ok:
            out.append(f"claimed derivative {self.claim.claim} is wrong: {self.claim.detail}")
        ce = self.claim.counterexample if self.claim is not None and self.claim.kind == "numpy" else None
        for c in self.numpy_checks:
            out += [f"NumPy {c.name}: {f}" for f in c.findings
                    if not (c.name == "derivative" and ce is not None and f.z == ce.z)]
        out += [str(n) for n in self.network if not n.ok]
        out += [f"{r.framework} {r.name}: {f.piece}: {f.message}" for r in self.frameworks
                for f in r.findings if f.severity == "FAIL"]
        if self.strict:
            out += [f"(strict) {w}" for w in self.all_warnings]
        return out

    @property
    def all_warnings(self) -> list[str]:
        """Every accuracy warning: the report's own and each NumPy check's, one line each."""
        out = list(self.warnings)
        for c in self.numpy_checks:
            out += [f"NumPy {c.name}: {w}" for w in c.warnings]
        return out

    @property
    def ok(self) -> bool:
        return not self.faults

    def __str__(self) -> str:
        return self.text()

    def text(self, *, timings: bool = False) -> str:
        """The readable report; ``timings=True`` adds how long each step took (machine-dependent)."""
        var = "" if self.variable == "z" else f"  (variable {self.variable}, written z below)"
        lines = [f"check_activation: {self.activation}" + (f"  (params {self.params})" if self.params else "") + var]
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
        for r in self.frameworks:
            lines += [f"  {line}" for line in str(r).splitlines()]
        if self.faults:
            lines.append("FAULTS:")
            lines += [f"  - {f}" for f in self.faults]
        warnings = self.all_warnings
        if warnings and not self.strict:
            lines.append("WARNINGS (accuracy; not faults, strict=True makes them faults):")
            lines += [f"  - {w}" for w in warnings]
        if timings:
            lines.append("timings: " + ", ".join(f"{k} {v:.3f} s" for k, v in self.timings.items()))
        verdict = "PASS" if self.ok else "FAIL"
        if self.ok and warnings:
            verdict += f" with {len(warnings)} warning{'s' if len(warnings) > 1 else ''}"
        lines.append(f"RESULT: {verdict}")
        return "\n".join(lines)

    def to_dict(self, *, timings: bool = False) -> dict[str, Any]:
        """A JSON-ready dict (non-finite floats become the strings "inf", "-inf", "nan");
        ``timings=True`` adds the machine-dependent step timings."""
        out = {
            "activation": self.activation, "variable": self.variable, "expression": self.expression,
            "params": self.params, "ok": self.ok, "strict": self.strict, "faults": self.faults,
            "warnings": self.all_warnings, "derivative": self.derivative,
            "output_form": self.output_form, "output_form_note": self.output_form_note,
            "breakpoints": [b.to_dict() for b in self.breakpoints], "problems": self.problems,
            "claim": self.claim.to_dict() if self.claim else None,
            "numpy_checks": [c.to_dict() for c in self.numpy_checks],
            "network": [n.to_dict() for n in self.network], "notes": self.notes,
            "frameworks": [r.to_dict() for r in self.frameworks],
        }
        if timings:
            out["timings"] = self.timings
        return _jsonable(out)
