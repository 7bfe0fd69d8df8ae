"""The verdict of :func:`~derive.backprop_check.check.check_backprop`: every
finding kept, worst first, saturation told apart, and where the chain diverges.

:func:`summarise` turns the results of all cases into a
:class:`BackpropReport`:

* every distinct kind of error of each gradient over all cases is kept,
  worst first: a wrong shape, a non-finite value or a failed call; then
  wrong values (max-norm relative error >= 1e-3; a named cause such as
  "f'(A) instead of f'(Z)" before a generic "scaled" or "wrong values");
  then small errors (precision); larger errors first within each class.
  ``findings[name]`` is the worst, ``all_findings[name]`` the full list;
* a gradient that is right at every case where it is finite, and non-finite
  only where the outputs saturate (``A3`` exactly 1 or 0 in the dtype the
  code runs in), is "formulas right; numerically unstable at saturated
  outputs", with the likely cause and the usual fix.  It is still a FAIL:
  NaN in training is a bug;
* localisation (the first layer from the output with a wrong gradient) uses
  only finite evidence, so a NaN that spreads through every layer cannot
  move it.

``to_dict()`` schema (version :data:`SCHEMA`): ``findings`` maps each wrong
name to its worst finding (as in version 1), ``all_findings`` maps it to the
list of all its findings, worst first; each finding is ``{name, kind,
message, worst: [{index, yours, truth}], rel_error (null: infinite), case:
{label, shape, seed, offset, soft}}`` (``soft``: the case had soft targets,
as ``smallest.soft``).  Indices and shapes are in the user's layout.  A
report on a network description (any but the article's shape without
widths) has a ``network`` object.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from derive.backprop_check.layout import Layout
from derive.backprop_check.localise import Case, CaseResult, Finding, formulas
from derive.backprop_check.reference import ARTICLE, is_classic
from derive.backprop_check.run import dzs_of, order_of

__all__ = ["SCHEMA", "CONVENTION", "BackpropReport", "summarise"]

SCHEMA = 2
CONVENTION = "dZl = m dJ/dZl; dWl, dbl are the true partial derivatives of the mean BCE J"
_SHAPE_ONLY = {"keepdims"}  # right values in a wrong shape: not where the chain goes wrong


def _num(x: float) -> str:
    """A number as plain text (``nan``, ``0.25``), never ``np.float64(...)``."""
    return f"{float(x):.6g}"


@dataclass
class BackpropReport:
    """What :func:`check_backprop` found; ``ok`` is the verdict.

    Attributes:
        ok: True when every gradient matched on every case.
        wrong: the wrong gradients (and dZ's), in backprop order.
        findings: name -> its worst :class:`~derive.backprop_check.localise.Finding`,
            plus ``"backward"`` for the call itself (it raised, exited, timed
            out, or modified its inputs).
        all_findings: name -> every distinct finding, worst first.
        diverges_at: the first layer, going backwards from the output, where
            the user's result differs from the truth on finite evidence (None when ok).
        divergence: that statement as a sentence.
        smallest: the smallest case that shows the bug, and how it was found.
    """

    name: str
    f: str
    g: str
    ok: bool
    wrong: list[str] = field(default_factory=list)
    findings: dict[str, Finding] = field(default_factory=dict)
    all_findings: dict[str, list[Finding]] = field(default_factory=dict)
    diverges_at: int | None = None
    divergence: str = ""
    smallest: Case | None = None
    smallest_how: str = ""
    returns_dZ: bool = False
    notes: list[str] = field(default_factory=list)
    probes: list[str] = field(default_factory=list)
    examples: int = 0
    search: str = ""
    rtol: float = 1e-12
    seconds: float = 0.0
    layout: Layout = field(default_factory=Layout)
    call_limit: float = 10.0
    network: Any = ARTICLE

    @property
    def L(self) -> int:
        """The number of layers of the network checked."""
        return self.network.depth

    @property
    def formulas(self) -> dict[str, str]:
        return formulas(self.L, self.network)

    @property
    def described(self) -> bool:
        """The report names a network description: one that is not the article's shape, or has widths
        (a three-layer description keeps its widths in the header and the JSON's ``network``)."""
        return not is_classic(self.network) or self.network.widths is not None

    @property
    def convention(self) -> str:
        if is_classic(self.network):
            return CONVENTION
        n = "m " if self.network.reduction == "mean" else ""
        return (f"dZl = {n}dJ/dZl; dWl, dbl are the true partial derivatives of J "
                f"({self.network.describe()})")

    def _head(self) -> str:
        lay = self.layout
        how = "" if lay == Layout() else ", " + ", ".join(
            x for x in (f"layout={lay.layout}" if lay.layout != "columns" else "",
                        f"params_as={lay.params_as}" if lay.params_as != "dict" else "",
                        f"dtype={lay.dtype}" if lay.dtype != "float64" else "") if x)
        if self.described:
            return f"check_backprop({self.name}), network {self.network.describe()}{how}: "
        return f"check_backprop({self.name}), f={self.f}, g={self.g}{how}: "

    def __str__(self) -> str:
        head = self._head()
        if self.ok:
            count = "six" if self.L == 3 else str(2 * self.L)
            what = f"all {count} gradients" + (f" and dZ1..dZ{self.L}" if self.returns_dZ else "")
            lines = [head + f"ok -- {what} match the derived ones"]
        else:
            call = self.findings.get("backward")
            what = f"wrong: {', '.join(self.wrong)}" if self.wrong else f"the call itself ({call.kind if call else '?'})"
            lines = [head + f"FAILED -- {what}"]
            if self.divergence:
                lines.append(f"  {self.divergence}")
            for name, fds in self.all_findings.items():
                for i, fd in enumerate(fds):
                    lines += self._finding_lines(name, fd, first=i == 0)
            if self.smallest is not None:
                lines.append(f"  smallest failing shape ({self.smallest_how}): {self.smallest.describe()}")
        lines += [f"  note: {n}" for n in self.notes]
        engine, _, why = self.search.partition(" (")
        plural = "" if self.examples == 1 else "s"
        lines.append(f"  checked {len(self.probes)} probes ({', '.join(self.probes)}) and {self.examples} "
                     f"{engine} example{plural}{' (' + why if why else ''}")
        lines.append(f"  tolerance: |yours - truth| <= {self.rtol:.0e} S per entry (S: its rounding bound, "
                     "the magnitude of the terms it sums)")
        if self.layout.rowwise:
            lines.append(f"  shapes, indices and formulas are in your layout ({self.layout.layout}: one example "
                         "per row)")
        lines.append(f"  convention: {self.convention}")
        return "\n".join(lines)

    def _finding_lines(self, name: str, fd: Finding, *, first: bool) -> list[str]:
        label = name if first else " " * len(name) + " also"
        lines = [f"  {label}: {fd.message}  [{fd.kind}]"]
        steps = self.formulas
        if first and name in steps:
            lines.append(f"      expected {self.layout.formula(name, steps[name])}")
        if fd.worst and first:
            cells = "; ".join(f"{list(i)}: {_num(y)} vs {_num(t)}" for i, y, t in fd.worst)
            lines.append(f"      worst entries [index]: yours vs truth: {cells}")
        if fd.case is not None:
            rel = "" if math.isinf(fd.rel_error) else f", max relative error {fd.rel_error:.3g}"
            lines.append(f"      seen at {fd.case.label}: {fd.case.describe()}{rel}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``json.dumps(report.to_dict(), allow_nan=False)`` works); schema in the module docstring."""
        return {
            "schema": SCHEMA,
            "name": self.name, "f": self.f, "g": self.g, "ok": self.ok, "wrong": list(self.wrong),
            "layout": self.layout.layout, "params_as": self.layout.params_as, "dtype": self.layout.dtype,
            "findings": {k: _clean(v.to_dict()) for k, v in self.findings.items()},
            "all_findings": {k: [_clean(fd.to_dict()) for fd in v] for k, v in self.all_findings.items()},
            "diverges_at": self.diverges_at, "divergence": self.divergence,
            "smallest": None if self.smallest is None else {
                "shape": list(self.smallest.shape), "seed": self.smallest.seed, "scale": self.smallest.scale,
                "offset": self.smallest.offset, "soft": self.smallest.soft, "how": self.smallest_how},
            "returns_dZ": self.returns_dZ, "notes": list(self.notes), "probes": list(self.probes),
            "examples": self.examples, "search": self.search, "rtol": self.rtol, "call_limit": self.call_limit,
            "convention": self.convention,
            **({} if not self.described else {"network": {
                "widths": None if self.network.widths is None else list(self.network.widths),
                "depth": self.L, "activations": [str(a) for a in self.network.activations],
                "head": self.network.head, "reduction": self.network.reduction, "mse": self.network.mse,
                "l2": float(self.network.l2), "l2_convention": self.network.l2_convention}}),
        }


def _clean(value: Any) -> Any:
    """Non-finite floats as strings ("nan", "inf"), so the JSON is strict."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


# ------------------------------------------------------------------ summary
def _saturated(res: CaseResult, dtype: str) -> str:
    """``"1"`` / ``"0"`` when the case's outputs hit exactly 1 / 0 in ``dtype``, else ``""``."""
    with np.errstate(all="ignore"):
        A3 = np.asarray(res.ref.cache[f"A{res.case.depth}"]).astype(dtype)
    if np.any(A3 == 1.0):
        return "1"
    if np.any(A3 == 0.0):
        return "0"
    return ""


def _layer_text(text: str, L: int, head: str) -> str:
    """An output-layer sentence written for A3/dZ3/dA3, said for layer ``L`` and the head."""
    if L != 3:
        text = re.sub(r"\b(d?[AZ])3\b", lambda mo: f"{mo.group(1)}{L}", text)
    if head == "softmax-ce":
        text = text.replace("(sigmoid and BCE together)", "(softmax and CE together)")
    return text


def _unstable(fd: Finding, where: str) -> Finding:
    net = fd.case.network if fd.case is not None else ARTICLE
    L = fd.case.depth if fd.case is not None else 3
    found = _unstable3(fd, where)
    found.message = _layer_text(found.message, L, net.head)
    return found


def _unstable3(fd: Finding, where: str) -> Finding:
    if where == "1":
        cause = ("a division by 1 - A3, e.g. dA3 = -(Y/A3 - (1 - Y)/(1 - A3)), which is 0/0 or x/0 where "
                 "A3 = 1.0 exactly")
    else:
        cause = "a division by A3, e.g. dA3 = -(Y/A3 - (1 - Y)/(1 - A3)), which is x/0 where A3 = 0.0 exactly"
    return Finding(fd.name, "unstable at saturation",
                   f"formulas right; numerically unstable at saturated outputs: right wherever it is finite, "
                   f"but {fd.message.removeprefix('holds ')} where A3 = {where}.0 exactly. Likely cause: {cause}. "
                   "Usual fix: start from dZ3 = A3 - Y (sigmoid and BCE together), never from dA3",
                   fd.worst, fd.rel_error, fd.case)


_GENERIC = {1: {"values", "scaled", "offset"}, 2: {"precision"}}  # what an error looks like, not why


def _key(item: tuple[int, Finding]) -> tuple[float, int, int]:
    """Worst first: shapes, non-finite values and failed calls (infinite error); then wrong values
    (max-norm relative error >= 1e-3); then non-finite values at saturated outputs of a gradient
    that is also wrong where finite; then small errors.  Within a class a named cause goes before a
    generic description, then the order the cases were run in (probes with distinct sizes first,
    where a ratio names one size; the shrunk case last, where sizes coincide)."""
    order, fd = item
    rel = fd.rel_error if not math.isnan(fd.rel_error) else math.inf
    size = 1.5 if fd.kind == "nonfinite at saturation" else 0 if math.isinf(rel) else 1 if rel >= 1e-3 else 2
    return size, int(fd.kind in _GENERIC.get(int(size), ())), order


def _worse(a: Finding, b: Finding) -> bool:
    """``a`` is a larger error than ``b`` (infinite first)."""
    ra = a.rel_error if not math.isnan(a.rel_error) else math.inf
    rb = b.rel_error if not math.isnan(b.rel_error) else math.inf
    return ra > rb


def summarise(report: BackpropReport, results: list[CaseResult], failing: list[CaseResult],
              extra: list[CaseResult] | tuple[CaseResult, ...] = ()) -> None:
    """Fill ``report`` from the diagnosed ``failing`` cases (probes first, then the search's).

    ``extra`` are failing extra probes (a larger batch, soft targets): a finding of theirs is
    kept only for a name and kind that no case of ``failing`` shows, so that what the main
    probes say, at their smaller sizes, is not replaced by a larger but no more telling case."""
    failing, extra = list(failing), list(extra)
    is_extra = [False] * len(failing) + [True] * len(extra)
    failing = failing + extra
    conventions = sorted({k for r in results for k in r.convention})
    if conventions:
        report.notes.append(f"{', '.join(conventions)} are dJ/dZ, 1/m of the article's convention dZ = m dJ/dZ "
                            "(not an error: the gradients do not depend on it)")
    if not failing:
        return
    report.ok = False
    order = list(order_of(report.L))
    finite_wrong: set[str] = set()
    for name in ["backward", *order]:
        seen: dict[str, Finding] = {}
        nonfinite_at: list[tuple[Finding, str]] = []
        for res, backup in zip(failing, is_extra):
            fd = res.findings.get(name)
            if fd is None or (backup and fd.kind in seen and fd.kind != "nonfinite"):
                continue  # (a non-finite value anywhere counts: it decides "unstable at saturation")
            if fd.kind == "nonfinite":
                nonfinite_at.append((fd, _saturated(res, report.layout.dtype)))
            else:
                finite_wrong.add(name)
            if fd.kind not in seen or _worse(fd, seen[fd.kind]):
                seen[fd.kind] = fd  # each kind where it is worst (an epsilon shows at confident outputs)
        if not seen:
            continue
        if nonfinite_at and all(w for _, w in nonfinite_at):
            fd, where = nonfinite_at[0]
            seen.pop("nonfinite")
            if name in finite_wrong:  # wrong anyway; the saturation adds a second problem
                seen["nonfinite at saturation"] = Finding(
                    fd.name, "nonfinite at saturation",
                    _layer_text(f"{fd.message} where A3 = {where}.0 exactly (also numerically unstable: a division by "
                                f"{'1 - A3' if where == '1' else 'A3'}?)", report.L, report.network.head),
                    fd.worst, fd.rel_error, fd.case)
            else:
                seen["unstable at saturation"] = _unstable(fd, where)
        kinds = list(seen)
        fds = [fd for _, fd in sorted(((kinds.index(k), v) for k, v in seen.items()), key=_key)]
        for fd in fds:  # products written the way the user's code writes them
            fd.message = report.layout.say(fd.message)
        report.all_findings[name] = fds
        report.findings[name] = fds[0]
    report.wrong = [k for k in order if k in report.findings]
    _localise(report, finite_wrong)
    report.divergence = report.layout.say(report.divergence)
    smallest = min(failing, key=lambda r: (sum(r.case.shape), r.case.shape))
    report.smallest = smallest.case
    report.smallest_how = {"hypothesis example": "hypothesis shrinking", "reduced example": "greedy shape reduction",
                           "random example": "seeded random search"}.get(smallest.case.label, "smallest failing probe")


def _localise(report: BackpropReport, finite_wrong: set[str]) -> None:
    """Where the chain diverges, from finite evidence only."""
    wrong = {k for k in report.wrong if k in finite_wrong
             and any(fd.kind not in _SHAPE_ONLY for fd in report.all_findings[k])}
    dzs = [k for k in dzs_of(report.L) if k in wrong]
    layers = [int(k[-1]) for k in report.wrong if k in wrong and k[:2] in ("dW", "db", "dZ")]
    shape_only = [k for k in report.wrong if k in finite_wrong and k not in wrong]
    nonfinite_only = [k for k in report.wrong if k not in finite_wrong]
    if not layers:
        if "backward" in report.findings:
            report.divergence = "the call itself is the problem (see 'backward' below)"
        elif shape_only:
            report.divergence = f"every value is right; only the shape of {', '.join(shape_only)} is wrong"
        elif nonfinite_only:
            unstable = all(report.findings[k].kind == "unstable at saturation" for k in nonfinite_only)
            report.divergence = ("every finite value is right: " +
                                 ("the formulas are right, but the gradients are NaN or inf where the outputs "
                                  "saturate (numerically unstable; see below)" if unstable else
                                  f"{', '.join(nonfinite_only)} are non-finite on some cases (see below)"))
        return
    top = max(layers)
    report.diverges_at = top
    above = [str(layer) for layer in range(report.L, 1, -1) if layer > top]
    right = f"; layer{'s' if len(above) > 1 else ''} {' and '.join(above)} {'are' if len(above) > 1 else 'is'} right" \
        if above else ""
    if above and any(k in nonfinite_only for k in report.wrong if int(k[-1]) > top):
        right += " wherever finite"
    if shape_only:
        right += f" (apart from the shape of {', '.join(shape_only)})"
    if report.returns_dZ:
        if f"dZ{top}" in dzs:
            step = report.formulas[f"dZ{top}"]
            report.divergence = (f"diverges at layer {top} going backwards: dZ{top} is the first wrong dZ "
                                 f"(check {step}){right}")
        else:
            report.divergence = (f"diverges at layer {top} going backwards: dZ{top} is right, so the error is in "
                                 f"{' / '.join(report.formulas[k] for k in (f'dW{top}', f'db{top}') if k in wrong)}{right}")
    else:
        report.divergence = (f"diverges at layer {top} going backwards (the first layer from the output with a "
                             f"wrong gradient; return dZ1..dZ{report.L} too to pin down the step){right}")
