"""Comparing gradients, and drawing test problems that stay clear of kinks."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from numeric._validate import PARAM_NAMES
from numeric.activations import get_activation
from numeric.description import Network
from numeric.general import check_problem, forward_any
from numeric.network import forward

__all__ = [
    "relative_error",
    "compare_gradients",
    "draw_problem",
    "kink_distance",
    "draw_network_problem",
    "network_kink_distance",
]

GRAD_NAMES: tuple[str, ...] = tuple("d" + k for k in PARAM_NAMES)


def relative_error(actual: Any, expected: Any) -> float:
    """Max-norm relative error ``max|a - e| / max|e|`` of one gradient.

    Measured against the largest entry of ``expected``, so entries that are
    zero by cancellation do not blow the figure up.  Shapes must match
    exactly (no broadcasting): a mismatch gives ``inf``.
    """
    a, e = np.asarray(actual), np.asarray(expected)
    if a.shape != e.shape:
        return float("inf")
    scale = float(np.max(np.abs(e))) if e.size else 0.0
    err = float(np.max(np.abs(a - e))) if e.size else 0.0
    if scale == 0.0:
        return err
    return err / scale


def compare_gradients(
    actual: Mapping[str, Any], expected: Mapping[str, Any], names: Sequence[str] = GRAD_NAMES
) -> dict[str, float]:
    """Relative error of each named gradient (``inf`` when missing or misshaped)."""
    return {k: relative_error(actual[k], expected[k]) if k in actual else float("inf") for k in names}


def kink_distance(params: Mapping[str, Any], X: Any, f: Any, g: Any) -> float:
    """Smallest distance from any pre-activation (Z1 for f, Z2 for g) to a
    kink or rough point of its activation (``inf`` when there is none)."""
    cache = forward(params, X, f, g)
    best = np.inf
    for Z, act in ((cache["Z1"], get_activation(f)), (cache["Z2"], get_activation(g))):
        for k in act.kinks + act.rough:
            best = min(best, float(np.min(np.abs(Z - k))))
    return float(best)


def draw_problem(
    d: int,
    n: int,
    p: int,
    q: int = 1,
    m: int = 4,
    *,
    f: Any = "swish",
    g: Any = "leaky_relu",
    seed: int = 0,
    kink_margin: float = 1e-3,
    scale: float = 1.0,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Random parameters, inputs and 0/1 targets whose pre-activations keep
    ``kink_margin`` away from every kink of f and g.

    Draws again (with the next seed) until the margin holds, so finite
    differences never straddle a kink.

    Raises:
        RuntimeError: no draw in 1000 met the margin (the margin is too big).
    """
    rng = np.random.default_rng(seed)
    for _ in range(1000):
        params = {
            "W1": rng.standard_normal((n, d)) * scale / np.sqrt(d),
            "b1": 0.5 * rng.standard_normal((n, 1)),
            "W2": rng.standard_normal((p, n)) * scale / np.sqrt(n),
            "b2": 0.5 * rng.standard_normal((p, 1)),
            "W3": rng.standard_normal((q, p)) * scale / np.sqrt(p),
            "b3": 0.5 * rng.standard_normal((q, 1)),
        }
        X = rng.standard_normal((d, m))
        Y = (rng.random((q, m)) < 0.5).astype(np.float64)
        if kink_distance(params, X, f, g) > kink_margin:
            return params, X, Y
    raise RuntimeError(f"no draw kept pre-activations {kink_margin} away from the kinks")


def network_kink_distance(params: Mapping[str, Any], X: Any, net: Network) -> float:
    """Smallest distance from a hidden pre-activation to a kink or rough point
    of its activation (``inf`` when there is none)."""
    P, Xa, _ = check_problem(params, X, None, net)
    cache = forward_any(P, Xa, net)
    best = np.inf
    for layer, spec in enumerate(net.activations, start=1):
        act = get_activation(spec)
        for k in act.kinks + act.rough:
            best = min(best, float(np.min(np.abs(cache[f"Z{layer}"].real - k))))
    return float(best)


def draw_network_problem(
    net: Network,
    m: int = 4,
    *,
    widths: Sequence[int] | None = None,
    seed: int = 0,
    kink_margin: float = 1e-3,
    scale: float = 1.0,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Random parameters, inputs and targets fitting ``net``'s head
    (0/1 for sigmoid-bce, one-hot for softmax-ce, normal for the MSE heads),
    with every hidden pre-activation ``kink_margin`` away from the kinks.

    Args:
        widths: the widths when ``net`` leaves them open.

    Raises:
        RuntimeError: no draw in 1000 met the margin.
    """
    sizes = tuple(widths) if widths is not None else net.widths
    if sizes is None or len(sizes) != net.depth + 1:
        raise ValueError(f"give {net.depth + 1} widths for this network")
    rng = np.random.default_rng(seed)
    q = sizes[-1]
    for _ in range(1000):
        params: dict[str, np.ndarray] = {}
        for layer in range(1, net.depth + 1):
            rows, cols = sizes[layer], sizes[layer - 1]
            params[f"W{layer}"] = rng.standard_normal((rows, cols)) * scale / np.sqrt(cols)
            params[f"b{layer}"] = 0.5 * rng.standard_normal((rows, 1))
        X = rng.standard_normal((sizes[0], m))
        if net.head == "sigmoid-bce":
            Y = (rng.random((q, m)) < 0.5).astype(np.float64)
        elif net.head == "softmax-ce":
            Y = np.zeros((q, m))
            Y[rng.integers(0, q, m), np.arange(m)] = 1.0
        else:
            Y = rng.standard_normal((q, m))
        if network_kink_distance(params, X, net) > kink_margin:
            return params, X, Y
    raise RuntimeError(f"no draw kept pre-activations {kink_margin} away from the kinks")
