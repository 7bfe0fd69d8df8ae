"""The article's 3-layer network in NumPy: parameters, forward, cost, backward.

This is the independent, hand-written implementation that the symbolic side
(``derive``) is checked against.  Shapes follow DESIGN.md::

    X (d, m)  W1 (n, d) b1 (n, 1)  W2 (p, n) b2 (p, 1)  W3 (q, p) b3 (q, 1)  Y (q, m)

Gradient convention: ``dZl = m * dJ/dZl``; ``dWl`` and ``dbl`` are the true
partial derivatives of the mean binary cross-entropy ``J``.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from numeric._blocks import row_blocks, scratch
from numeric._validate import PARAM_NAMES, check_network, raise_non_finite
from numeric.activations import ACTIVATIONS, Activation, get_activation
from numeric.errors import NonFiniteError

__all__ = ["init_params", "forward", "cost", "backward", "ActivationSpec"]

ActivationSpec = Any  # a catalog name, an Activation, or a (value, derivative) pair

_softplus = ACTIVATIONS["softplus"].value
_sigmoid = ACTIVATIONS["sigmoid"].value


def init_params(d: int, n: int, p: int, q: int = 1, *, seed: int = 0) -> dict[str, np.ndarray]:
    """Random parameters for the network, in float64.

    Weights are drawn from N(0, 1/fan_in); biases are small (N(0, 0.01)) so
    that they take part in every check.

    Example:
        >>> P = init_params(784, 128, 64, seed=1)
        >>> P["W1"].shape, P["b3"].shape
        ((128, 784), (1, 1))
    """
    for name, v in (("d", d), ("n", n), ("p", p), ("q", q)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for layer, (rows, cols) in enumerate(((n, d), (p, n), (q, p)), start=1):
        out[f"W{layer}"] = rng.standard_normal((rows, cols)) / np.sqrt(cols)
        out[f"b{layer}"] = 0.1 * rng.standard_normal((rows, 1))
    return {k: out[k] for k in PARAM_NAMES}


def _forward(P: Mapping[str, np.ndarray], X: np.ndarray, fa: Activation, ga: Activation) -> dict[str, np.ndarray]:
    Z1 = P["W1"] @ X + P["b1"]
    A1 = fa.value(Z1)
    Z2 = P["W2"] @ A1 + P["b2"]
    A2 = ga.value(Z2)
    Z3 = P["W3"] @ A2 + P["b3"]
    A3 = _sigmoid(Z3)
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2, "Z3": Z3, "A3": A3}


def _activate(
    Z: np.ndarray, b: np.ndarray, act: Activation, layer: int
) -> tuple[np.ndarray, np.ndarray, bool]:
    """``A = act(Z + b)`` and ``act'(Z + b)`` in one blocked pass; ``Z`` is
    used as scratch, A and dA are per-thread scratch arrays (never returned).
    Also says whether ``Z + b`` was finite everywhere."""
    dtype = np.result_type(Z, np.float64)
    A, dA = scratch(("A", layer), Z.shape, dtype), scratch(("dA", layer), Z.shape, dtype)
    kernel = act.fused if Z.dtype == np.float64 else None

    def work(rows: slice) -> bool:
        z = Z[rows]
        z += b[rows]
        if not np.isfinite(z).all():
            return False  # the caller raises; nothing to compute
        with np.errstate(over="ignore", under="ignore"):
            if kernel is not None:
                kernel(z, A[rows], dA[rows])  # f and f' from one exp (swish)
            else:
                A[rows], dA[rows] = act.value(z), act.derivative(z)
        return True

    return A, dA, all(row_blocks(*Z.shape, work))


def _product(W: np.ndarray, A: np.ndarray, key: str) -> np.ndarray:
    """``W @ A`` into a per-thread scratch array (a pre-activation the
    backward pass consumes and never returns)."""
    dtype = np.result_type(W, A)
    if dtype.kind not in "fc":
        return W @ A
    return np.matmul(W, A, out=scratch(key, (W.shape[0], A.shape[1]), dtype))


def _multiply_and_sum(G: np.ndarray, D: np.ndarray) -> np.ndarray:
    """``G *= D`` in place, block by block, returning G's row sums as a column."""

    def work(rows: slice) -> np.ndarray:
        g = G[rows]
        g *= D[rows]
        return np.sum(g, axis=1)

    sums = row_blocks(*G.shape, work)
    return np.concatenate(sums).reshape(-1, 1) if sums else np.zeros((G.shape[0], 1), G.dtype)


def forward(
    params: Mapping[str, Any], X: Any, f: ActivationSpec = "swish", g: ActivationSpec = "leaky_relu"
) -> dict[str, np.ndarray]:
    """Forward propagation; returns the cache ``Z1 A1 Z2 A2 Z3 A3``.

    Example:
        >>> P = init_params(4, 3, 2)
        >>> forward(P, np.ones((4, 5)))["A3"].shape
        (1, 5)
    """
    P, Xa, _ = check_network(params, X)
    return _forward(P, Xa, get_activation(f), get_activation(g))


def _bce_from_logits(Z3: np.ndarray, Y: np.ndarray) -> Any:
    # -[y log s(z) + (1-y) log(1-s(z))] = softplus(z) - y z, exact and stable
    # for any |z| (no log of 0, no overflow).  The article's `A3 += epsilon`
    # is not needed.
    m = Z3.shape[1]
    return np.sum(_softplus(Z3) - Y * Z3) / m


def cost(
    params: Mapping[str, Any], X: Any, Y: Any, f: ActivationSpec = "swish", g: ActivationSpec = "leaky_relu"
) -> Any:
    """Mean binary cross-entropy ``J``, computed stably from the logits Z3.

    Returns a Python float (a complex number when complex input is given, for
    the complex-step check).

    Example:
        >>> P = init_params(2, 2, 2)
        >>> round(cost(P, np.zeros((2, 1)), np.ones((1, 1))), 6) > 0
        True
    """
    P, Xa, Ya = check_network(params, X, Y)
    cache = _forward(P, Xa, get_activation(f), get_activation(g))
    J = _bce_from_logits(cache["Z3"], Ya)
    return complex(J) if np.iscomplexobj(J) else float(J)


def backward(
    params: Mapping[str, Any],
    X: Any,
    Y: Any,
    f: ActivationSpec = "swish",
    g: ActivationSpec = "leaky_relu",
    *,
    return_dZ: bool = False,
) -> dict[str, np.ndarray]:
    """Backpropagation: the gradients ``dW1 db1 dW2 db2 dW3 db3`` of :func:`cost`.

    This is the article's pseudocode with its errors fixed: matrix products
    for dW, elementwise products for dZ, ``keepdims`` for db, and the
    derivative of the *corrected* BCE, ``dZ3 = A3 - Y``.

    Args:
        return_dZ: also return ``dZ1 dZ2 dZ3`` (in the ``m * dJ/dZ`` convention).

    Example:
        >>> P = init_params(3, 4, 2, q=2)
        >>> G = backward(P, np.ones((3, 5)), np.zeros((2, 5)))
        >>> G["dW1"].shape, G["db3"].shape
        ((4, 3), (2, 1))
    """
    P, Xa, Ya = check_network(params, X, Y, scan_X=False)
    fa, ga = get_activation(f), get_activation(g)
    m = Xa.shape[1]
    with np.errstate(invalid="ignore", over="ignore"):  # a non-finite X is reported below, by name
        Z1 = _product(P["W1"], Xa, "Z1")
    A1, dA1, finite = _activate(Z1, P["b1"], fa, 1)  # Z1 is consumed: backward needs A1, f'(Z1)
    if not finite:
        raise_non_finite(Xa)
    with np.errstate(invalid="ignore", over="ignore"):
        Z2 = _product(P["W2"], A1, "Z2")
    A2, dA2, finite = _activate(Z2, P["b2"], ga, 2)
    if not finite:
        raise NonFiniteError("W2 A1 + b2 overflows float64: the weights are too large")
    Z3 = P["W3"] @ A2
    Z3 += P["b3"]
    dZ3 = _sigmoid(Z3)
    dZ3 -= Ya  # dZ3 = A3 - Y
    dZ2 = P["W3"].T @ dZ3
    db2 = _multiply_and_sum(dZ2, dA2)  # dZ2 = (W3^T dZ3) * g'(Z2), elementwise
    dZ1 = P["W2"].T @ dZ2
    db1 = _multiply_and_sum(dZ1, dA1)  # dZ1 = (W2^T dZ2) * f'(Z1)
    grads = {"db1": db1 / m, "db2": db2 / m, "db3": np.sum(dZ3, axis=1, keepdims=True) / m}
    for layer, dZ, A_prev in ((1, dZ1, Xa), (2, dZ2, A1), (3, dZ3, A2)):
        dW = dZ @ A_prev.T
        dW /= m
        grads[f"dW{layer}"] = dW
    out = {k: grads[k] for k in ("dW1", "db1", "dW2", "db2", "dW3", "db3")}
    if return_dZ:
        out.update(dZ1=dZ1, dZ2=dZ2, dZ3=dZ3)
    return out
