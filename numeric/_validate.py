"""Input checks for the network functions: shapes, dtypes, finiteness, targets.

Nothing is broadcast silently: every array must have exactly the 2-D shape of
the shape table in DESIGN.md, and a mismatch names the array and both shapes.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from numeric.errors import InputError, NonFiniteError, ShapeError, TargetRangeError

PARAM_NAMES: tuple[str, ...] = ("W1", "b1", "W2", "b2", "W3", "b3")


def as_array(name: str, value: Any, *, finite: bool = True) -> np.ndarray:
    """Return ``value`` as a 2-D float or complex array, or raise.

    Integer and boolean arrays become float64; float32, float64 and complex
    arrays keep their dtype (float32 runs are supported, complex input is
    what the complex-step check feeds in).
    """
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - numpy refuses ragged input
        raise InputError(f"{name} is not an array: {exc}") from exc
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind not in "fc":
        raise InputError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ShapeError(
            f"{name} must be a 2-D array, got shape {arr.shape}"
            + (" (a bias is a column: reshape(-1, 1))" if arr.ndim == 1 else "")
        )
    if finite and not np.all(np.isfinite(arr)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise NonFiniteError(f"{name} holds a non-finite value {arr[bad].item()!r} at index {bad}")
    return arr


def raise_non_finite(X: np.ndarray) -> None:
    """Raise for a non-finite ``W1 X + b1``, naming X's entry when X is the cause.

    The backward pass checks ``W1 X + b1`` (a NaN or infinity in X always
    reaches it) instead of scanning all of X on every call; the full scan of
    X runs only here, when something is already wrong.
    """
    as_array("X", X)  # raises NonFiniteError naming X's entry, if it is X
    raise NonFiniteError("W1 X + b1 overflows float64: the inputs or weights are too large")


def _vote(*sizes: int) -> int:
    """The most common size; ties go to the first."""
    return max(sizes, key=lambda s: (sizes.count(s), -sizes.index(s)))


def _expect(name: str, arr: np.ndarray, shape: tuple[int, int], meaning: str) -> None:
    if arr.shape != shape:
        hint = "; it looks transposed" if arr.shape == shape[::-1] else ""
        raise ShapeError(f"{name} has shape {arr.shape}, expected {shape} ({meaning}{hint})")


def check_network(
    params: Mapping[str, Any], X: Any, Y: Any | None = None, *, scan_X: bool = True
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray | None]:
    """Validate parameters, inputs and (optionally) targets together.

    With ``scan_X=False`` the finiteness scan of X (the largest array) is left
    to the caller, which must then check ``W1 X + b1`` (a NaN or infinity in
    X always reaches that product) and call :func:`raise_non_finite`.

    Returns:
        The parameters as arrays, X as an array, and Y as an array or None.

    Raises:
        InputError: a missing parameter, non-numeric data.
        ShapeError: any shape that disagrees with the shape table.
        NonFiniteError: NaN or infinity anywhere.
        TargetRangeError: a target outside [0, 1].
    """
    if not isinstance(params, Mapping):
        raise InputError(f"params must be a mapping with keys {PARAM_NAMES}, got {type(params).__name__}")
    missing = [k for k in PARAM_NAMES if k not in params]
    if missing:
        raise InputError(f"params is missing {missing}; it needs {list(PARAM_NAMES)}")
    P = {k: as_array(k, params[k]) for k in PARAM_NAMES}
    Xa = as_array("X", X, finite=scan_X)
    Ya = as_array("Y", Y) if Y is not None else None
    # Each width is carried by several arrays; take the majority so that the
    # error blames the odd one out (a transposed W2, not its neighbours).
    d = _vote(P["W1"].shape[1], Xa.shape[0])
    n = _vote(P["W1"].shape[0], P["b1"].shape[0], P["W2"].shape[1])
    p = _vote(P["W2"].shape[0], P["b2"].shape[0], P["W3"].shape[1])
    q = _vote(P["W3"].shape[0], P["b3"].shape[0], *([Ya.shape[0]] if Ya is not None else []))
    m = Xa.shape[1]
    if m == 0 or 0 in Xa.shape:
        raise ShapeError(f"X has shape {Xa.shape}: the batch needs at least one example (m >= 1) and d >= 1")
    _expect("W1", P["W1"], (n, d), "n x d")
    _expect("X", Xa, (d, m), "d x m, one example per column")
    _expect("b1", P["b1"], (n, 1), "n x 1")
    _expect("W2", P["W2"], (p, n), "p x n")
    _expect("b2", P["b2"], (p, 1), "p x 1")
    _expect("W3", P["W3"], (q, p), "q x p")
    _expect("b3", P["b3"], (q, 1), "q x 1")
    if Ya is not None:
        _expect("Y", Ya, (q, m), "q x m, one target column per example")
        real = Ya.real
        if np.any((real < 0) | (real > 1)):
            bad = tuple(int(i) for i in np.argwhere((real < 0) | (real > 1))[0])
            raise TargetRangeError(
                f"Y must lie in [0, 1] for the binary cross-entropy; Y{list(bad)} = {float(real[bad]):.12g}"
            )
    return P, Xa, Ya
