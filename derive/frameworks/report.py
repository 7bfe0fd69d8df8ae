"""What a framework check found: :class:`Finding` and :class:`FrameworkReport`.

A finding names the faulty piece (:data:`PIECES`), its severity (FAIL, WARNING,
note), the dtype, and a counterexample input.  The report keeps every finding,
worst first, in a fixed order, so its text is byte-identical on every run
(nothing in it depends on time or machine load).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Finding", "FrameworkReport", "PIECES", "SEVERITIES"]

SEVERITIES = ("FAIL", "WARNING", "note")
# The pieces a finding can blame, in report order.
PIECES = (
    "call",
    "forward",
    "upstream-gradient factor",
    "backward",
    "kink",
    "dtype",
    "second derivative",
    "in-place",
    "broadcasting",
    "kink convention",
)
_DTYPES = ("float64", "float32", "")


def fmt(x: float | None) -> str:
    """A float as short, exact-enough, deterministic text (``-0.0`` kept)."""
    if x is None:
        return "-"
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    return f"{x:.6g}"


def _json(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


@dataclass(frozen=True)
class Finding:
    """One fault (or harmless difference) of the implementation.

    Attributes:
        severity: ``"FAIL"`` (wrong), ``"WARNING"`` (accuracy loss) or ``"note"``.
        piece: what is faulty, one of :data:`PIECES`.
        dtype: ``"float64"``, ``"float32"`` or ``""`` (not dtype-specific).
        message: what is wrong, in one sentence.
        x: the counterexample input (None when the fault has no single input).
        upstream: the upstream gradient used at ``x`` (backward checks).
        got, want: the implementation's value and the truth at ``x``.
        count: how many checked points show the fault.
        total: how many points were checked for it.
    """

    severity: str
    piece: str
    dtype: str
    message: str
    x: float | None = None
    upstream: float | None = None
    got: float | None = None
    want: float | None = None
    count: int = 1
    total: int = 1

    def sort_key(self) -> tuple[Any, ...]:
        return (SEVERITIES.index(self.severity), PIECES.index(self.piece), _DTYPES.index(self.dtype),
                self.message, -1.0 if self.x is None else abs(self.x))

    def __str__(self) -> str:
        where = f" [{self.dtype}]" if self.dtype else ""
        lines = [f"{self.severity:<7} {self.piece}{where}: {self.message}"]
        if self.x is not None:
            at = f"x = {fmt(self.x)}"
            if self.upstream is not None:
                at += f", upstream gradient {fmt(self.upstream)}"
            vals = f": got {fmt(self.got)}, want {fmt(self.want)}" if self.want is not None or self.got is not None else ""
            lines.append(f"        counterexample: {at}{vals}")
        if self.total > 1:
            lines.append(f"        seen at {self.count} of {self.total} points checked")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {k: _json(getattr(self, k)) for k in (
            "severity", "piece", "dtype", "message", "x", "upstream", "got", "want", "count", "total")}


@dataclass
class FrameworkReport:
    """The verdict of :func:`~derive.frameworks.check_torch_activation` / ``check_jax_activation``.

    Attributes:
        framework: ``"torch"`` or ``"jax"``.
        name: the implementation's name (its ``__qualname__``).
        activation: the activation's expression, as text.
        findings: every finding, worst first.
        checked: the checks that ran, in order.
        dtypes: the dtypes checked.
        kinks: the kinks checked (locations).
        tolerances: dtype -> (relative tolerance, absolute floor).
        points: number of inputs on each dtype's grid.
    """

    framework: str
    name: str
    activation: str
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    dtypes: list[str] = field(default_factory=list)
    kinks: list[float] = field(default_factory=list)
    tolerances: dict[str, tuple[float, float]] = field(default_factory=dict)
    points: int = 0

    @property
    def ok(self) -> bool:
        """True when no finding is a FAIL (warnings and notes do not fail)."""
        return not any(f.severity == "FAIL" for f in self.findings)

    @property
    def pieces(self) -> list[str]:
        """The pieces blamed by FAIL findings, in report order, without repeats."""
        out: list[str] = []
        for f in self.findings:
            if f.severity == "FAIL" and f.piece not in out:
                out.append(f.piece)
        return out

    def sort(self) -> None:
        self.findings.sort(key=Finding.sort_key)

    def __str__(self) -> str:
        verdict = "PASS" if self.ok else "FAIL"
        counts = {s: sum(f.severity == s for f in self.findings) for s in SEVERITIES}
        extra = ", ".join(f"{n} {s if n == 1 else s + 's'}".replace("FAILs", "FAILs")
                          for s, n in counts.items() if n)
        lines = [f"check_{self.framework}_activation({self.name}) against f(z) = {self.activation}: "
                 f"{verdict}{' (' + extra + ')' if extra else ''}"]
        lines += ["  " + str(f).replace("\n", "\n  ") for f in self.findings]
        kinks = ", ".join(fmt(k) for k in self.kinks) or "none"
        lines.append(f"  checked: {', '.join(self.checked)}")
        lines.append(f"  dtypes: {', '.join(self.dtypes)}; {self.points} inputs each from the whole float range "
                     f"(zeros, subnormals, tiny, moderate, huge); kinks at z = {kinks}")
        for dt, (rel, floor) in self.tolerances.items():
            lines.append(f"  tolerance {dt}: |yours - truth| <= {rel:.1e} * (|f| + |z f'|) + {floor:.1e} "
                         "(f: the value compared, f' its derivative: rounding of z moves f by z f')")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``json.dumps(report.to_dict())``)."""
        return {
            "framework": self.framework, "name": self.name, "activation": self.activation, "ok": self.ok,
            "pieces": self.pieces, "findings": [f.to_dict() for f in self.findings],
            "checked": list(self.checked), "dtypes": list(self.dtypes),
            "kinks": [_json(k) for k in self.kinks], "points": self.points,
            "tolerances": {k: list(v) for k, v in self.tolerances.items()},
        }
