"""Call the user's backward on one case and compare every gradient with the truth.

:func:`run_case` hands the case's arrays to the user's code in its layout
(:mod:`derive.backprop_check.layout`), through a caller (a
:class:`~derive.backprop_check.sandbox.Sandbox`, or in-process for a plain
function), reads back what came, and lists the gradients that are wrong;
:class:`Finding` is what :mod:`derive.backprop_check.localise` then says about each.

Tolerance: an entry is right when ``|yours - truth| <= rtol * S`` (``S``: the
entry's rounding bound, see :class:`~derive.backprop_check.reference.Reference`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from derive.backprop_check.layout import Layout, Unreadable
from derive.backprop_check.reference import Case, Reference
from derive.backprop_check.sandbox import InProcess
from numeric.compare import GRAD_NAMES

__all__ = ["LAYERS", "GRADS", "DZS", "ORDER", "grads_of", "dzs_of", "order_of", "Finding", "CaseResult", "run_case",
           "ratio_tolerance"]

# The article's network (DESIGN.md) is the reference: every layer-count assumption of
# the checker derives from LAYERS, so a network description (issue 12) changes it in one place.
LAYERS = len(GRAD_NAMES) // 2  # 3
GRADS: tuple[str, ...] = GRAD_NAMES  # dW1 db1 dW2 db2 dW3 db3
DZS: tuple[str, ...] = tuple(f"dZ{layer}" for layer in range(LAYERS, 0, -1))  # dZ3 dZ2 dZ1
ORDER: tuple[str, ...] = tuple(k for layer in range(LAYERS, 0, -1)
                               for k in (f"dZ{layer}", f"dW{layer}", f"db{layer}"))  # backprop order


def grads_of(layers: int) -> tuple[str, ...]:
    """``dW1 db1 ... dWL dbL`` for ``layers`` layers."""
    return tuple(k for layer in range(1, layers + 1) for k in (f"dW{layer}", f"db{layer}"))


def dzs_of(layers: int) -> tuple[str, ...]:
    """``dZL ... dZ1``."""
    return tuple(f"dZ{layer}" for layer in range(layers, 0, -1))


def order_of(layers: int) -> tuple[str, ...]:
    """Backprop order: ``dZL dWL dbL ... dZ1 dW1 db1``."""
    return tuple(k for layer in range(layers, 0, -1) for k in (f"dZ{layer}", f"dW{layer}", f"db{layer}"))


_UNDERFLOW = 1e-290  # differences below this are underflow (values near the smallest normal), not errors


# ------------------------------------------------------------------ findings
@dataclass
class Finding:
    """What is wrong with one gradient (or dZ, or the call itself: ``name`` "backward").

    Attributes:
        kind: short tag (``"missing 1/m"``, ``"transposed"``, ``"keepdims"``,
            ``"sign flipped"``, ``"stale cache"``...).
        message: one readable sentence.
        worst: up to three ``(index, yours, truth)`` of the largest errors.
        rel_error: max-norm relative error (``inf`` for a wrong shape).
        case: the case it was seen on.
    """

    name: str
    kind: str
    message: str
    worst: list[tuple[tuple[int, ...], float, float]] = field(default_factory=list)
    rel_error: float = math.inf
    case: Case | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "message": self.message,
            "worst": [{"index": list(i), "yours": y, "truth": t} for i, y, t in self.worst],
            "rel_error": None if math.isinf(self.rel_error) else self.rel_error,
            "case": None if self.case is None else {"label": self.case.label, "shape": list(self.case.shape),
                                                     "seed": self.case.seed, "offset": self.case.offset,
                                                     "soft": self.case.soft},
        }


@dataclass
class CaseResult:
    """The user's backward on one case: what it returned and what is wrong."""

    case: Case
    ref: Reference
    output: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    unusable: str | None = None
    mutated: list[str] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    convention: list[str] = field(default_factory=list)
    issue: Finding | None = None
    findings: dict[str, Finding] = field(default_factory=dict)
    layout: Layout = field(default_factory=Layout)
    error_kind: str = ""
    where: str = ""
    skipped: bool = False
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No problem found (a case never run, after the call limit stopped the checker, counts as none)."""
        return self.skipped or (self.error is None and self.unusable is None and self.issue is None and not self.mutated
                and not self.bad)


def _as_array(value: Any) -> np.ndarray | None:
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001 - ragged lists and other junk
        return None
    return arr if arr.dtype.kind in "biuf" else None


def _is_bad(value: Any, truth: np.ndarray, scale: np.ndarray, rtol: float) -> bool:
    arr = _as_array(value)
    if arr is None or arr.shape != truth.shape or not np.all(np.isfinite(arr)):
        return True
    return bool(np.any(np.abs(arr.astype(np.float64) - truth) > rtol * scale + _UNDERFLOW))


def run_case(backward: Callable[..., Any] | Any, case: Case, ref: Reference, *, rtol: float = 1e-12,
             layout: Layout | None = None) -> CaseResult:
    """Call ``backward`` on the case's arrays (in ``layout``) and compare with ``ref``.

    ``backward`` is a plain function (called in this process) or a caller
    with a ``call`` method (a :class:`~derive.backprop_check.sandbox.Sandbox`).
    Whatever the function does (raises, exits, returns junk) is recorded,
    never raised.
    """
    layout = layout or Layout()
    res = CaseResult(case, ref, layout=layout)
    caller = backward if hasattr(backward, "call") else InProcess(backward)
    params, X, Y, names = layout.to_user(case.params, case.X, case.Y)
    call = caller.call(params, X, Y, names)
    if call.kind == "skipped":
        res.skipped = True
        return res
    if call.kind != "ok":
        res.error, res.error_kind, res.where = call.error, call.kind, call.where
        return res
    res.mutated = list(call.mutated)
    try:
        out = layout.read(call.output, len(case.params) // 2)
    except Unreadable as exc:
        res.unusable = str(exc)
        return res
    res.raw = dict(out)
    res.output = {k: layout.from_user(k, v, ref.truth[k].shape) if isinstance(v, np.ndarray) and k in ref.truth
                  else v for k, v in out.items()}
    out = res.output
    misshaped = {k for k, v in res.raw.items() if k in ref.truth and isinstance(v, np.ndarray)
                 and not layout.fits(k, v.shape, ref.truth[k].shape)}
    grads, dzs, m = grads_of(case.depth), dzs_of(case.depth), case.m
    for name in grads + tuple(k for k in dzs if k in out):
        if name not in out or name in misshaped or _is_bad(out[name], ref.truth[name], ref.scale[name], rtol):
            res.bad.append(name)
    dz_bad = [k for k in res.bad if k.startswith("dZ")]
    if dz_bad and m > 1 and ref.net.reduction == "mean" and all(
        _per_example(out[k], ref.truth[k], ref.scale[k], rtol, m) for k in dzs if k in out
    ):
        res.convention, res.bad = dz_bad, [k for k in res.bad if k not in dz_bad]
    return res


def _per_example(value: Any, truth: np.ndarray, scale: np.ndarray, rtol: float, m: int) -> bool:
    """``value`` is dJ/dZ, ``truth / m`` (the convention of autograd): exactly 1/m times the truth, or
    within tolerance of it entry by entry (a dZ near 0 is right in either convention)."""
    if _scalar(value, truth, scale, rtol) == 1.0 / m:
        return True
    arr = _as_array(value)
    return arr is not None and not _is_bad(arr.astype(np.float64) * m, truth, scale, rtol)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b))


def _scalar(value: Any, truth: np.ndarray, scale: np.ndarray, rtol: float) -> float | None:
    """``c`` when ``value`` is exactly ``c * truth`` with ``c`` not 1 (recognised
    ratios snapped to their exact value), else None.

    "Exactly" is up to the rounding the dtype allows: the fitted ``c`` of
    float32 code is only good to about its eps, so a ratio is recognised
    within :func:`ratio_tolerance` of ``rtol``."""
    G = _as_array(value)
    if G is None or G.shape != truth.shape or not np.all(np.isfinite(G)):
        return None
    tt = float(np.sum(truth * truth))
    if tt == 0.0:
        return None
    c = float(np.sum(G * truth)) / tt
    off = float(np.max(np.abs(G - truth)))
    if abs(c - 1.0) <= 1e-6 or float(np.max(np.abs(G - c * truth))) > 1e-6 * off + rtol * float(np.max(scale)):
        return None
    m = truth.shape[1] if truth.ndim == 2 else 1
    for snap in (-1.0, float(m), 1.0 / m):
        if abs(c - snap) <= ratio_tolerance(rtol) * abs(snap):
            return snap
    return c


def ratio_tolerance(rtol: float) -> float:
    """How close a fitted constant factor must be to a named one (1/m, m, -1, 2...) to be it:
    1e-9 at float64's tolerance, ``rtol`` at a coarser one (float32's 4.9e-4, still far below
    the gaps between the named factors)."""
    return max(1e-9, rtol)
