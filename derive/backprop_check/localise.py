"""Where and how a hand-written backprop goes wrong.

:func:`run_case` (in :mod:`derive.backprop_check.run`, re-exported here) calls a
user's ``backward(params, X, Y)`` on one problem and compares every gradient
(and dZ, when returned) with the derived truth; :func:`diagnose` then
explains each wrong one.  The explanations come from a
table, tried in order:

* shape: the truth transposed, a sum without ``keepdims``, a bias gradient
  summed over the wrong axis, a shape that would broadcast silently;
* an exact constant factor: ``-1`` (sign flipped), ``m`` (missing 1/m),
  ``1/m`` (1/m applied twice), ``m/d``, ``1/q``, or any other constant;
* the truth transposed (square gradients);
* a known classic bug (:data:`derive.known_bugs.VARIANTS`): the gradient the
  bug would give is computed and compared with the user's;
* a constant additive offset; an error at float32 rounding level;
* otherwise "wrong values", with the worst entries.

Tolerance: an entry is right when ``|yours - truth| <= rtol * S`` where ``S``
bounds how far rounding can move the entry, in units of eps: the backprop
run on absolute values, with every activation's error grown by its
sensitivity (``|A| + |f'(Z)| T``, ``T`` the size of the terms summed into
``Z``) and every derivative's by ``max(1, |f'|) (1 + T)``.  Rounding in a
correct float64 implementation stays below ``1e-14 S``; the default ``rtol``
is 1e-12.

Example:
    >>> import numeric, derive
    >>> case = make_case((3, 4, 2, 1, 5), seed=0)
    >>> ref = Reference(case, derive.gradient_function(), numeric.get_activation("swish"),
    ...                 numeric.get_activation("leaky_relu"))
    >>> run_case(lambda P, X, Y: numeric.backward(P, X, Y), case, ref).ok
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from derive.backprop_check.known_bugs import variants
from derive.backprop_check.reference import ARTICLE, Case, Reference, make_case
from derive.backprop_check.run import (
    DZS,
    GRADS,
    LAYERS,
    CaseResult,
    Finding,
    _as_array,
    _is_bad,
    _scalar,
    ratio_tolerance,
    run_case,
)
from numeric.compare import relative_error

__all__ = [
    "GRADS",
    "DZS",
    "FORMULAS",
    "formulas",
    "Case",
    "make_case",
    "Reference",
    "Finding",
    "CaseResult",
    "run_case",
    "diagnose",
]



def _act(layer: int) -> str:
    """The article's name of a hidden layer's activation: f, g, then f3, f4..."""
    return {1: "f", 2: "g"}.get(layer, f"f{layer}")


def _prev(layer: int) -> str:
    return "X" if layer == 1 else f"A{layer - 1}"


def _head_formula(net: Any, L: int) -> str:
    """dZ_L for the network's head, in the article's convention (dZ = N dJ/dZ)."""
    if net.head == "sigmoid-mse":
        return f"dZ{L} = (A{L} - Y) * A{L} (1 - A{L})" + (" * 2/q" if net.mse == "torch" else "")
    if net.head == "identity-mse" and net.mse == "torch":
        return f"dZ{L} = 2 (A{L} - Y) / q"
    return f"dZ{L} = A{L} - Y"


def formulas(layers: int, net: Any = None) -> dict[str, str]:
    """The backward formulas of DESIGN.md (article's layout) for ``layers`` layers and ``net``'s head,
    reduction and L2 (default: the article's sigmoid + BCE head)."""
    net = ARTICLE if net is None else net
    div = " / m" if net.reduction == "mean" else ""
    reg = "" if not net.l2 else (" + (lambda/m) W{l}" if net.l2_convention == "lambda/2m" else " + lambda W{l}")
    out = {f"dZ{layers}": _head_formula(net, layers)}
    for layer in range(layers, 0, -1):
        if layer < layers:
            act = _act(layer) if layers == 3 else f"f{layer}"
            out[f"dZ{layer}"] = f"dZ{layer} = (W{layer + 1}^T dZ{layer + 1}) * {act}'(Z{layer})"
        out[f"dW{layer}"] = f"dW{layer} = dZ{layer} {_prev(layer)}^T{div}" + reg.format(l=layer)
        out[f"db{layer}"] = f"db{layer} = sum(dZ{layer}, axis=1, keepdims){div}"
    return out


_PREV = {layer: _prev(layer) for layer in range(1, LAYERS + 1)}
FORMULAS: dict[str, str] = formulas(LAYERS)


# ------------------------------------------------------------------ explanations
def _ratio_story(c: float, shape: tuple[int, ...], name: str, tol: float = 1e-9) -> tuple[str, str] | None:
    d, hidden, q, m = shape[0], shape[1:-2], shape[-2], shape[-1]
    labels = ("n", "p") if len(hidden) == 2 else tuple(f"n{i}" for i in range(1, len(hidden) + 1))
    table: list[tuple[float, str, str]] = [(-1.0, "sign flipped", "the sign is flipped (exactly -1 times the truth)")]
    if m > 1:
        table += [
            (m, "missing 1/m", f"exactly m = {m} times too large: the 1/m is missing"),
            (1.0 / m, "1/m twice",
             f"exactly m = {m} times too small: 1/m applied twice" if not name.startswith("dZ") else
             f"exactly m = {m} times too small: it is dJ/d{name[1:]}; the article's convention is {name} = m dJ/d{name[1:]}"),
            (-float(m), "sign flipped", f"the sign is flipped and it is m = {m} times too large (missing 1/m)"),
            (-1.0 / m, "sign flipped", f"the sign is flipped and it is m = {m} times too small (1/m twice)"),
        ]
    for size, label in ((d, "d = X.shape[0]"), *zip(hidden, labels), (q, "q = Y.shape[0]")):
        if size not in (1, m):
            table.append((m / size, "wrong m", f"exactly m/{label.split()[0]} = {m}/{size} times the truth: "
                                                f"divided by {label} = {size} instead of m = {m}"))
    if q > 1:
        table.append((1.0 / q, "wrong m", f"exactly q = {q} times too small: averaged over all q x m entries of Y "
                                          "instead of the m examples"))
    table += [(2.0, "constant factor", "exactly 2 times too large (a factor 2 from a squared error kept?)"),
              (0.5, "constant factor", "exactly half the truth"),
              (4.0, "constant factor", "exactly 4 times too large (a factor 2 applied twice?)"),
              (0.25, "constant factor", "exactly a quarter of the truth")]
    for value, kind, text in table:
        if abs(c - value) <= tol * abs(value):
            return kind, text
    return None


def _worst(G: np.ndarray, T: np.ndarray, S: np.ndarray, k: int = 3) -> list[tuple[tuple[int, ...], float, float]]:
    with np.errstate(all="ignore"):
        err = np.abs(G - T) / np.where(S > 0, S, 1.0)
    err = np.where(np.isfinite(err), err, np.inf)
    order = np.argsort(-err, axis=None, kind="stable")[:k]
    return [(tuple(int(i) for i in np.unravel_index(j, G.shape)), float(G.flat[j]), float(T.flat[j]))
            for j in order if err.flat[j] > 0]


def _shape_story(name: str, G: np.ndarray, T: np.ndarray, res: CaseResult,
                 rtol: float) -> tuple[str, str]:
    """Explain a gradient whose shape differs from the truth's."""
    want, got = T.shape, G.shape
    tol = dict(rtol=1e-8, atol=rtol * float(np.max(res.ref.scale[name])))
    hazard = ""
    try:
        b = np.broadcast_shapes(got, want)
        if b != want:
            hazard = f"; an update {name[1:]} -= lr * {name} would broadcast silently to {b}"
    except ValueError:
        pass
    if got == want[::-1] and np.allclose(G, T.T, **tol):
        return "transposed", (f"has shape {got}, expected {want}: it is the truth transposed "
                              f"(operands of the product swapped, or a transpose missing){hazard}")
    if G.size == T.size and G.ndim > T.ndim and np.allclose(G.reshape(-1), T.reshape(-1), **tol):
        return "shape", (f"has shape {got}, expected {want}: the values are right but it has extra axes of "
                         f"size 1 (squeeze them){hazard}")
    if G.size == T.size and np.allclose(G.reshape(-1), T.reshape(-1), **tol):
        return "keepdims", (f"has shape {got}, expected {want}: the values are right but the sum lost its "
                            f"keepdims (use keepdims=True){hazard}")
    if name.startswith("db"):
        dZ = res.ref.truth["dZ" + name[2]]
        m = dZ.shape[1]
        for axis, keep in ((0, True), (0, False), (None, False), (None, True)):
            alt = np.sum(dZ, axis=axis, keepdims=keep) / m
            if alt.shape == got and np.allclose(G, alt, **tol):
                where = "axis 0 (the units)" if axis == 0 else "all axes"
                return "wrong axis", (f"has shape {got}, expected {want}: summed over {where} instead of "
                                      f"axis 1 (the examples){hazard}")
    for kind, text, grads in variants(res.ref, res.output):
        V = grads.get(name)
        if V is not None and V.shape == got and np.allclose(G, V, **tol):
            return kind, f"has shape {got}, expected {want}: {text}{hazard}"
    looks = " (it looks transposed)" if got == want[::-1] else ""
    return "shape", f"has shape {got}, expected {want}{looks}{hazard}"


def _swapped(name: str, G: np.ndarray, res: CaseResult) -> str:
    """When ``G`` is exactly another gradient's truth: the sentence that says so."""
    for other, T in res.ref.truth.items():
        if other == name or other[:2] != name[:2] or not np.any(T):
            continue
        raw = res.raw.get(name)
        raw = raw.astype(np.float64) if isinstance(raw, np.ndarray) and raw.dtype.kind in "biuf" else G
        V = res.layout.from_user(other, raw, T.shape) if res.layout.rowwise else G
        if V.shape != T.shape or not np.all(np.isfinite(V)):
            continue
        if np.allclose(V, T, rtol=1e-9, atol=0.0) and not (
                res.ref.truth[name].shape == T.shape and np.allclose(res.ref.truth[name], T)):
            return f"holds the value of {other} (gradients swapped between layers, or the wrong layer's cache?)"
    return ""


def _row_shape_story(name: str, G: np.ndarray, T: np.ndarray, res: CaseResult) -> tuple[str, str]:
    """A wrong shape in a row layout, said in the user's shapes."""
    lay = res.layout
    want, got = lay.user_shape(name, T.shape), G.shape
    if len(want) == 2 and got == want[::-1] and want[0] != want[1]:
        return "transposed", f"has shape {got}, expected {want}: it is transposed (operands of the product swapped?)"
    m = res.case.m
    if name.startswith("db") and got in ((m,), (1, m), (m, 1)) and m != T.shape[0]:
        return "wrong axis", (f"has shape {got}, expected {want}: summed over axis 1 (the units) instead of "
                              "axis 0 (the examples)")
    return "shape", f"has shape {got}, expected {want}"


def _closest_variant(name: str, G: np.ndarray, res: CaseResult, rtol: float) -> tuple[float, str, str] | None:
    """``(distance, kind, text)`` of the classic bug whose gradient is nearest to ``G`` (None if none applies)."""
    T, S = res.ref.truth[name], res.ref.scale[name]
    best: tuple[float, str, str] | None = None
    for kind, text, grads in variants(res.ref, res.output):
        V = grads.get(name)
        if V is None or V.shape != G.shape or not _is_bad(V, T, S, rtol):
            continue
        with np.errstate(all="ignore"):
            dist = float(np.max(np.abs(G - V)))
        if np.isfinite(dist) and (best is None or dist < best[0]):
            best = (dist, kind, text)
    return best


def _explain(name: str, value: Any, res: CaseResult, rtol: float) -> Finding:
    """One wrong gradient (or dZ): what kind of wrong, with the worst entries."""
    case, T, S = res.case, res.ref.truth[name], res.ref.scale[name]
    if value is None:
        kind = "bias dropped" if name.startswith("db") else "missing"
        return Finding(name, kind, "is missing from the returned dict" +
                       (": the bias gradient was dropped" if kind == "bias dropped" else ""), case=case)
    G = _as_array(value)
    if G is None:
        return Finding(name, "not an array", f"is not a real numeric array ({getattr(value, 'type_name', type(value).__name__)})", case=case)
    swapped = _swapped(name, G, res)
    raw = res.raw.get(name)
    if res.layout.rowwise and isinstance(raw, np.ndarray) and not res.layout.fits(name, raw.shape, T.shape):
        if swapped:
            return Finding(name, "swapped", swapped, case=case)
        kind, text = _row_shape_story(name, raw, T, res)
        return Finding(name, kind, text, case=case)
    if G.shape != T.shape:
        if swapped:
            return Finding(name, "swapped", swapped, case=case)
        kind, text = _shape_story(name, G, T, res, rtol)
        return Finding(name, kind, text, case=case)
    if not np.all(np.isfinite(G)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(G))[0])
        return Finding(name, "nonfinite", f"holds {float(G[bad])} at {list(res.layout.user_index(name, bad))}",
                       case=case)
    G = G.astype(np.float64)
    worst, rel = _worst(G, T, S), relative_error(G, T)
    worst = [(res.layout.user_index(name, i), y, t) for i, y, t in worst]
    tol_floor = rtol * float(np.max(S))

    def found(kind: str, text: str) -> Finding:
        return Finding(name, kind, text, worst, rel, case)

    diff = float(np.max(np.abs(G - T)))
    best = _closest_variant(name, G, res, rtol)
    if best is not None and best[0] <= 1e-6 * diff:  # a classic bug reproduces it exactly: the best explanation
        return found(best[1], best[2])
    if not np.any(G) and np.any(np.abs(T) > tol_floor):
        kind = "bias dropped" if name.startswith("db") else "dropped"
        return found(kind, "is all zeros: the gradient was dropped" +
                     (" (the bias gradient)" if name.startswith("db") else ""))
    c = _scalar(G, T, S, rtol)
    nonzero = int(np.sum(np.abs(T) > tol_floor))
    if c is not None:
        story = _ratio_story(c, case.shape, name, ratio_tolerance(rtol))
        if story:
            return found(*story)
        if nonzero >= 2:
            return found("scaled", f"is exactly {c:.6g} times the truth (a constant factor)")
    if swapped:
        return found("swapped", swapped)
    if T.ndim == 2 and T.shape[0] == T.shape[1] > 1 and not np.allclose(T, T.T) and np.allclose(
            G, T.T, rtol=1e-8, atol=tol_floor):
        return found("transposed", "equals the truth transposed (operands of the product swapped, "
                                   "or a transpose missing); square, so the shape did not show it")
    if best is not None and best[0] <= 1e-3 * diff:
        return found(best[1], best[2])
    if name.startswith("db"):  # square: a sum over the units has the shape of a sum over the examples
        dZ = res.ref.truth["dZ" + name[2:]]
        alt = np.sum(dZ, axis=0) / dZ.shape[1]
        if alt.size == G.size and np.allclose(G.ravel(), alt, rtol=1e-8, atol=tol_floor):
            return found("wrong axis", "is the sum over the units instead of over the examples (the wrong axis; "
                                       "the shapes agree because there are as many units as examples)")
    delta = G - T
    if T.size >= 2 and np.allclose(delta, delta.flat[0], rtol=1e-6, atol=0.0):
        return found("offset", f"is off by the same {float(np.mean(delta)):+.3g} in every entry "
                               "(an additive shift, like A3 += epsilon)")
    with np.errstate(all="ignore"):
        size = float(np.max(np.where(S > 0, np.abs(delta) / S, np.where(delta != 0, np.inf, 0.0))))
    if size <= 1e-4 and rel < 1e-2:  # small next to its bound AND to the gradient: rounding-sized
        single = "; returned as float32" if np.asarray(value).dtype == np.float32 else ""
        what = f"has a small error ({rel:.1e} max-norm relative, {size:.1e} of its rounding bound{single})"
        if size >= 1e-10:
            return found("float32", f"{what}: the size of float32 rounding (float32 eps = 1.2e-7); "
                                    "computed in single precision somewhere?")
        return found("precision", f"{what}: above the tolerance {rtol:.0e} but far below float32 rounding")
    return found("values", "has wrong values")


def diagnose(res: CaseResult, *, rtol: float = 1e-12) -> CaseResult:
    """Fill ``res.findings`` with an explanation of every wrong gradient and dZ.

    Example:
        >>> import numeric, derive
        >>> case = make_case((3, 4, 2, 1, 5))
        >>> ref = Reference(case, derive.gradient_function(), numeric.get_activation("swish"),
        ...                 numeric.get_activation("leaky_relu"))
        >>> def buggy(P, X, Y):
        ...     G = numeric.backward(P, X, Y)
        ...     return {**G, "db1": G["db1"] * X.shape[1]}
        >>> diagnose(run_case(buggy, case, ref)).findings["db1"].kind
        'missing 1/m'
    """
    case = res.case
    if res.error is not None:
        hint = ""
        if "matmul" in res.error or "shapes" in res.error or "broadcast" in res.error:
            hint = " (a product or sum with mismatched shapes: a missing or extra transpose?)"
        where = f" at {res.where}" if res.where else ""
        kind, text = {
            "timeout": ("timed out", res.error),
            "died": ("process ended", res.error),
        }.get(res.error_kind, ("exited" if res.error.startswith("SystemExit") else
                               "interrupted" if res.error.startswith("KeyboardInterrupt") else "raised",
                               f"raised {res.error}{hint}{where}"))
        res.findings["backward"] = Finding("backward", kind, text, case=case)
        return res
    if res.unusable is not None:
        res.findings["backward"] = Finding("backward", "bad return", res.unusable, case=case)
        return res
    if res.issue is not None:
        res.findings["backward"] = res.issue
    if res.mutated:
        res.findings["backward"] = Finding(
            "backward", "modified in place",
            f"modified its input {', '.join(res.mutated)} in place (an in-place update such as "
            f"`W -= lr * dW` or `A *= ...` before the gradient was propagated?); params, X and Y must not change",
            case=case)
    for name in res.bad:
        res.findings[name] = _explain(name, res.output.get(name), res, rtol)
    L = case.depth
    steps = formulas(L, case.network)
    for layer in range(1, L + 1):  # dW wrong but db right: the dZ is fine, the A_{l-1} is not
        fW, fb = res.findings.get(f"dW{layer}"), res.findings.get(f"db{layer}")
        dz_ok = f"dZ{layer}" in res.output and f"dZ{layer}" not in res.bad
        if fW is not None and fW.kind == "values" and fb is None and (dz_ok or f"dZ{layer}" not in res.output):
            prev = _prev(layer)
            sure = f"dZ{layer} is right" if dz_ok else f"db{layer} is right, so dZ{layer} probably is"
            fW.kind = "stale cache"
            fW.message = (f"has wrong values while {sure}: the {prev} in {steps[f'dW{layer}']} is not the "
                          f"forward {prev} (a stale cache, or a cached array modified in place?)")
    return res
