"""Forward, cost and backward for any :class:`numeric.Network` description.

Written by hand from the definitions, layer by layer, without sympy: the
independent implementation the symbolic side is checked against for every
depth, head, reduction and L2 convention.  ``numeric.forward``, ``cost`` and
``backward`` call these when given ``network=``; the article's network keeps
its faster hand-fused path (:mod:`numeric.network`).

Backward, with ``N = m`` (reduction mean) or ``N = 1`` (sum) and
``dZ_l = N dJ/dZ_l``::

    dZ_L = A_L - Y                          sigmoid-bce, softmax-ce, identity-mse (half)
    dZ_L = c (A_L - Y) [* A_L (1 - A_L)]    mse: c = 1 (half), 2/q (torch, mean), 2 (torch, sum);
                                            the bracket for sigmoid-mse
    dW_l = dZ_l A_{l-1}^T / N + r W_l       r = lambda/m (lambda/2m) or lambda (lambda/2)
    db_l = dZ_l 1 / N
    dZ_{l-1} = (W_l^T dZ_l) * f_{l-1}'(Z_{l-1})
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from numeric._validate import as_array
from numeric.activations import ACTIVATIONS, Activation, get_activation
from numeric.description import Network
from numeric.errors import InputError, NonFiniteError, ShapeError, TargetRangeError

__all__ = ["check_problem", "forward_any", "cost_any", "backward_any", "output_scale", "l2_rate"]

_softplus = ACTIVATIONS["softplus"].value
_sigmoid = ACTIVATIONS["sigmoid"].value


# ------------------------------------------------------------ inputs
def _one_hot(name: str, labels: np.ndarray, q: int, m: int) -> np.ndarray:
    flat = labels.reshape(-1)
    if flat.size != m:
        raise ShapeError(f"{name} holds {flat.size} integer labels but X has m = {m} examples")
    bad = (flat < 0) | (flat >= q)
    if bad.any():
        i = int(np.argmax(bad))
        raise TargetRangeError(f"{name}[{i}] = {int(flat[i])} is not a class label in 0..{q - 1}")
    out = np.zeros((q, m))
    out[flat.astype(np.intp), np.arange(m)] = 1.0
    return out


def _targets(Y: Any, net: Network, q: int, m: int) -> np.ndarray:
    """Y as a (q, m) array; integer labels become one-hot for softmax-ce."""
    raw = np.asarray(Y)
    if net.head == "softmax-ce" and raw.dtype.kind in "iu" and (raw.ndim == 1 or raw.shape == (1, m)):
        return _one_hot("Y", raw, q, m)
    Ya = as_array("Y", Y)
    if Ya.shape != (q, m):
        hint = "; it looks transposed" if Ya.shape == (m, q) else ""
        raise ShapeError(f"Y has shape {Ya.shape}, expected {(q, m)} (q x m, one target column per example{hint})")
    real = Ya.real
    if net.head in ("sigmoid-bce", "softmax-ce"):
        outside = (real < 0) | (real > 1)
        if outside.any():
            bad = tuple(int(i) for i in np.argwhere(outside)[0])
            raise TargetRangeError(f"Y must lie in [0, 1] for {net.head}; Y{list(bad)} = {float(real[bad]):.12g}")
    if net.head == "softmax-ce":
        # the rule dZ = A - Y needs every column to sum to 1 (one-hot or
        # label smoothing); the sum of q entries in [0, 1] is exact to q
        # roundings of Y's dtype, hence the tolerance.
        sums = real.sum(axis=0)
        tol = 4 * q * float(np.finfo(real.dtype if real.dtype.kind == "f" else np.float64).eps)
        off = np.abs(sums - 1) > tol
        if off.any():
            j = int(np.argmax(off))
            raise TargetRangeError(
                f"softmax-ce needs each column of Y to sum to 1 (one-hot, or label smoothing); "
                f"column {j} sums to {float(sums[j]):.12g}"
            )
    return Ya


def check_problem(
    params: Mapping[str, Any], X: Any, Y: Any | None, net: Network
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray | None]:
    """Validate parameters, inputs and targets against the description.

    Raises:
        InputError: a missing parameter, non-numeric data.
        ShapeError: a shape that disagrees with the widths or its neighbours.
        NonFiniteError: NaN or infinity anywhere.
        TargetRangeError: targets the head cannot take.
    """
    if not isinstance(params, Mapping):
        raise InputError(f"params must be a mapping with keys {list(net.parameter_names())}")
    names = net.parameter_names()
    missing = [k for k in names if k not in params]
    if missing:
        raise InputError(f"params is missing {missing}; a depth-{net.depth} network needs {list(names)}")
    P = {k: as_array(k, params[k]) for k in names}
    Xa = as_array("X", X)
    if 0 in Xa.shape:
        raise ShapeError(f"X has shape {Xa.shape}: the batch needs at least one example (m >= 1) and d >= 1")
    widths = net.widths_from(P)
    m = Xa.shape[1]
    if Xa.shape[0] != widths[0]:
        hint = "; it looks transposed" if Xa.shape == (m, widths[0]) or Xa.shape[1] == widths[0] else ""
        raise ShapeError(f"X has shape {Xa.shape}, expected ({widths[0]}, m) (d x m, one example per column{hint})")
    for layer in range(1, net.depth + 1):
        rows, cols = widths[layer], widths[layer - 1]
        for name, shape in ((f"W{layer}", (rows, cols)), (f"b{layer}", (rows, 1))):
            if P[name].shape != shape:
                hint = "; it looks transposed" if P[name].shape == shape[::-1] else ""
                raise ShapeError(f"{name} has shape {P[name].shape}, expected {shape}{hint}")
    if net.head == "softmax-ce" and widths[-1] < 2:
        raise InputError("softmax-ce needs at least 2 outputs (q >= 2); for one output use sigmoid-bce")
    Ya = _targets(Y, net, widths[-1], m) if Y is not None else None
    return P, Xa, Ya


def _acts(net: Network) -> list[Activation]:
    return [get_activation(a) for a in net.activations]


# ------------------------------------------------------------ forward
def _softmax(Z: np.ndarray) -> np.ndarray:
    """Column-wise softmax, shifted by each column's (real) maximum."""
    E = np.exp(Z - np.max(Z.real, axis=0, keepdims=True))
    return E / np.sum(E, axis=0, keepdims=True)


def _output(Z: np.ndarray, head: str) -> np.ndarray:
    if head in ("sigmoid-bce", "sigmoid-mse"):
        return _sigmoid(Z)
    if head == "softmax-ce":
        return _softmax(Z)
    return Z.copy()


def forward_any(P: Mapping[str, np.ndarray], X: np.ndarray, net: Network) -> dict[str, np.ndarray]:
    """The cache ``Z1 A1 ... ZL AL`` (inputs already validated).

    Raises:
        NonFiniteError: a pre-activation overflows float64 (named, no warning first).
    """
    cache: dict[str, np.ndarray] = {}
    A = X
    acts = _acts(net)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # named below, not warned
        for layer in range(1, net.depth + 1):
            Z = P[f"W{layer}"] @ A + P[f"b{layer}"]
            if not np.all(np.isfinite(Z)):
                raise NonFiniteError(f"Z{layer} = W{layer} A{layer - 1} + b{layer} overflows float64: "
                                     "the inputs or weights are too large")
            A = acts[layer - 1].value(Z) if layer < net.depth else _output(Z, net.head)
            cache[f"Z{layer}"], cache[f"A{layer}"] = Z, A
    return cache


# ------------------------------------------------------------ cost
def _normaliser(net: Network, m: int) -> int:
    return m if net.reduction == "mean" else 1


def output_scale(net: Network, q: int) -> float:
    """``c`` in ``dZ_L = c (A_L - Y)`` for the MSE heads (1 for the others)."""
    if net.head.endswith("mse") and net.mse == "torch":
        return 2.0 / q if net.reduction == "mean" else 2.0
    return 1.0


def l2_rate(net: Network, m: int) -> float:
    """``r`` in ``dW_l += r W_l``: lambda/m or lambda."""
    return net.l2 / m if net.l2_convention == "lambda/2m" else net.l2


def _head_cost(Z: np.ndarray, A: np.ndarray, Y: np.ndarray, net: Network) -> Any:
    q, m = Z.shape
    N = _normaliser(net, m)
    if net.head == "sigmoid-bce":
        # -[y log s(z) + (1-y) log(1-s(z))] = softplus(z) - y z, stable for any z
        return np.sum(_softplus(Z) - Y * Z) / N
    if net.head == "softmax-ce":
        # -sum y log softmax(z) = sum y (logsumexp(z) - z), logsumexp shifted by the max
        top = np.max(Z.real, axis=0, keepdims=True)
        lse = np.log(np.sum(np.exp(Z - top), axis=0, keepdims=True)) + top
        return np.sum(Y * (lse - Z)) / N
    R = A - Y
    if net.mse == "half":
        return np.sum(R * R) / (2 * N)
    return np.sum(R * R) / (q * m if net.reduction == "mean" else 1)


def cost_any(P: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray, net: Network) -> Any:
    """J of validated inputs: the head's cost plus the L2 term."""
    cache = forward_any(P, X, net)
    L, m = net.depth, X.shape[1]
    J = _head_cost(cache[f"Z{L}"], cache[f"A{L}"], Y, net)
    if net.l2:
        coef = net.l2 / (2 * m) if net.l2_convention == "lambda/2m" else net.l2 / 2
        J = J + coef * sum(np.sum(P[f"W{layer}"] * P[f"W{layer}"]) for layer in range(1, L + 1))
    return J


# ------------------------------------------------------------ backward
def backward_any(
    P: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray, net: Network, *, return_dZ: bool = False
) -> dict[str, np.ndarray]:
    """The gradients ``dW1 db1 ... dWL dbL`` of :func:`cost_any` (inputs validated)."""
    L, m = net.depth, X.shape[1]
    N = _normaliser(net, m)
    acts = _acts(net)
    cache = forward_any(P, X, net)  # raises NonFiniteError for an overflowing Z
    with np.errstate(over="ignore", under="ignore"):
        A_L = cache[f"A{L}"]
        dZ = output_scale(net, A_L.shape[0]) * (A_L - Y)
        if net.head == "sigmoid-mse":
            dZ = dZ * (A_L * (1 - A_L))
        r = l2_rate(net, m)
        grads: dict[str, np.ndarray] = {}
        dZs = {f"dZ{L}": dZ}
        for layer in range(L, 0, -1):
            A_prev = X if layer == 1 else cache[f"A{layer - 1}"]
            dW = dZ @ A_prev.T / N
            if r:
                dW = dW + r * P[f"W{layer}"]
            grads[f"dW{layer}"] = dW
            grads[f"db{layer}"] = np.sum(dZ, axis=1, keepdims=True) / N
            if layer > 1:
                dZ = (P[f"W{layer}"].T @ dZ) * acts[layer - 2].derivative(cache[f"Z{layer - 1}"])
                dZs[f"dZ{layer - 1}"] = dZ
    out = {k: grads[k] for k in net.gradient_names()}
    if return_dZ:
        out.update({f"dZ{layer}": dZs[f"dZ{layer}"] for layer in range(1, L + 1)})
    return out
