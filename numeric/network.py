"""The article's 3-layer network in NumPy: parameters, forward, cost, backward.

This is the independent, hand-written implementation that the symbolic side
(``derive``) is checked against.  Shapes follow DESIGN.md::

    X (d, m)  W1 (n, d) b1 (n, 1)  W2 (p, n) b2 (p, 1)  W3 (q, p) b3 (q, 1)  Y (q, m)

Gradient convention: ``dZl = m * dJ/dZl``; ``dWl`` and ``dbl`` are the true
partial derivatives of the mean binary cross-entropy ``J``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from numeric._blocks import row_blocks, scratch
from numeric._validate import PARAM_NAMES, check_network, raise_non_finite
from numeric.activations import ACTIVATIONS, Activation, get_activation
from numeric.description import Network
from numeric.errors import InputError, NonFiniteError
from numeric.general import backward_any, check_problem, cost_any, forward_any

__all__ = ["init_params", "forward", "cost", "backward", "ActivationSpec"]

ActivationSpec = Any  # a catalog name, an Activation, or a (value, derivative) pair

_softplus = ACTIVATIONS["softplus"].value
_sigmoid = ACTIVATIONS["sigmoid"].value


def init_params(
    d: int | Sequence[int] | Network, n: int | None = None, p: int | None = None, q: int = 1, *, seed: int = 0
) -> dict[str, np.ndarray]:
    """Random parameters, in float64: ``init_params(widths, seed=)`` for any
    depth (widths input first, or a :class:`Network` with widths), or the
    article's ``init_params(d, n, p, q=1, seed=)``.

    Weights are drawn from N(0, 1/fan_in); biases are small (N(0, 0.01)) so
    that they take part in every check.

    Example:
        >>> P = init_params(784, 128, 64, seed=1)
        >>> P["W1"].shape, P["b3"].shape
        ((128, 784), (1, 1))
        >>> sorted(init_params((5, 4, 3, 2, 10)))[:3]
        ['W1', 'W2', 'W3']
    """
    if isinstance(d, Network) or isinstance(d, (tuple, list)):
        if n is not None or p is not None:
            raise InputError("init_params(widths, seed=...) takes the widths as one sequence")
        widths = d.widths if isinstance(d, Network) else tuple(d)
        if widths is None:
            raise InputError("this Network leaves its widths open; pass the widths: init_params((d, n, ..., q))")
    else:
        widths = (d, n, p, q)
        if n is None or p is None:
            raise InputError("init_params needs the widths: init_params((d, n, ..., q)) or init_params(d, n, p, q)")
    for i, v in enumerate(widths):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            name = "dnpq"[i] if len(widths) == 4 else f"widths[{i}]"
            raise InputError(f"{name} must be a positive integer, got {v!r}")
    if len(widths) < 2:
        raise InputError(f"widths need an input and an output width, got {tuple(widths)}")
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for layer in range(1, len(widths)):
        rows, cols = int(widths[layer]), int(widths[layer - 1])
        out[f"W{layer}"] = rng.standard_normal((rows, cols)) / np.sqrt(cols)
        out[f"b{layer}"] = 0.1 * rng.standard_normal((rows, 1))
    return out


def _network(network: Network | None, f: Any, g: Any) -> Network | None:
    """The description to use on the generic path, or None for the article's fast path."""
    if network is None:
        return None
    if not isinstance(network, Network):
        raise InputError(f"network must be a numeric.Network, got {type(network).__name__}")
    if f is not None or g is not None:
        raise InputError("give the activations in the Network, not as f= and g= as well")
    return network


def _fast(net: Network | None, params: Mapping[str, Any], X: Any) -> bool:
    """True for the article's network: its fused path, after checking any
    fixed widths against the arrays."""
    if net is None:
        return True
    if not net.is_article:
        return False
    if net.widths is not None:
        shapes = [np.shape(params.get(k)) for k in PARAM_NAMES if isinstance(params, Mapping)]
        have = [np.shape(X)[:1]] + [s[:1] for s in shapes[0::2]]
        if [tuple(h) for h in have] != [(w,) for w in net.widths]:
            return False  # the generic path names the array that disagrees
    return True


def _article_pair(net: Network | None, f: Any, g: Any) -> tuple[Any, Any]:
    if net is not None:
        return net.activations
    return ("swish" if f is None else f), ("leaky_relu" if g is None else g)


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
    """``A = act(Z + b)`` and ``act'(Z + b)`` in one blocked pass; dA is a
    per-thread scratch array (never returned).  Also says whether ``Z + b``
    was finite everywhere.

    ``Z`` is a scratch product that the pass consumes.  With a fused float64
    kernel, A is written over ``Z`` through a per-thread block buffer that
    stays in cache: a separate A would be a third whole matrix, cold in cache
    after the matrix products, written on every call (measured: 5 to 10 % of
    the pass).  Otherwise A is a per-thread scratch array.
    """
    dtype = np.result_type(Z, np.float64)
    kernel = act.fused if Z.dtype == np.float64 else None
    A = Z if kernel is not None else scratch(("A", layer), Z.shape, dtype)
    dA = scratch(("dA", layer), Z.shape, dtype)

    def work(rows: slice) -> bool:
        z = Z[rows]
        z += b[rows]
        if not np.isfinite(z).all():
            return False  # the caller raises; nothing to compute
        with np.errstate(over="ignore", under="ignore"):
            if kernel is not None:
                a = scratch("block", z.shape, dtype)
                kernel(z, a, dA[rows])  # f and f' from one exp (swish); z is used as scratch
                np.copyto(z, a)  # A over the consumed Z
            else:
                A[rows], dA[rows] = act.value(z), act.derivative(z)
        return True

    return A, dA, all(row_blocks(*Z.shape, work))


def _product(W: np.ndarray, A: np.ndarray, key: str | None) -> np.ndarray:
    """``W @ A`` into a per-thread scratch array (a product the backward pass
    consumes and never returns), or a fresh array for ``key=None``.  A fresh
    1 MB result costs page faults on every call: at m = 1024 the product
    ``W2^T dZ2`` took 4 times as long into a fresh array as into a reused one."""
    dtype = np.result_type(W, A)
    if dtype.kind not in "fc" or key is None:
        return W @ A
    return np.matmul(W, A, out=scratch(key, (W.shape[0], A.shape[1]), dtype))


def _multiply_and_sum(G: np.ndarray, D: np.ndarray) -> np.ndarray:
    """``G *= D`` in place, block by block, returning G's row sums as a column."""

    def work(rows: slice) -> np.ndarray:
        g = G[rows]
        with np.errstate(under="ignore"):  # tiny f'(z) times a gradient: 0 is the right answer
            g *= D[rows]
        return np.sum(g, axis=1)

    sums = row_blocks(*G.shape, work)
    return np.concatenate(sums).reshape(-1, 1) if sums else np.zeros((G.shape[0], 1), G.dtype)


def forward(
    params: Mapping[str, Any],
    X: Any,
    f: ActivationSpec = None,
    g: ActivationSpec = None,
    *,
    network: Network | None = None,
) -> dict[str, np.ndarray]:
    """Forward propagation; returns the cache ``Z1 A1 ... ZL AL``.

    Args:
        f, g: the article's hidden activations (default swish, leaky_relu).
        network: any description instead (then no f, g).

    Example:
        >>> P = init_params(4, 3, 2)
        >>> forward(P, np.ones((4, 5)))["A3"].shape
        (1, 5)
    """
    net = _network(network, f, g)
    if not _fast(net, params, X):
        P, Xa, _ = check_problem(params, X, None, net)
        return forward_any(P, Xa, net)
    f, g = _article_pair(net, f, g)
    P, Xa, _ = check_network(params, X)
    return _forward(P, Xa, get_activation(f), get_activation(g))


def _bce_from_logits(Z3: np.ndarray, Y: np.ndarray) -> Any:
    # -[y log s(z) + (1-y) log(1-s(z))] = softplus(z) - y z, exact and stable
    # for any |z| (no log of 0, no overflow).  The article's `A3 += epsilon`
    # is not needed.
    m = Z3.shape[1]
    return np.sum(_softplus(Z3) - Y * Z3) / m


def cost(
    params: Mapping[str, Any],
    X: Any,
    Y: Any,
    f: ActivationSpec = None,
    g: ActivationSpec = None,
    *,
    network: Network | None = None,
) -> Any:
    """The cost ``J``: the article's mean binary cross-entropy computed stably
    from the logits Z3, or the cost of ``network`` (its head, reduction and L2).

    Returns a Python float (a complex number when complex input is given, for
    the complex-step check).

    Example:
        >>> P = init_params(2, 2, 2)
        >>> round(cost(P, np.zeros((2, 1)), np.ones((1, 1))), 6) > 0
        True
    """
    net = _network(network, f, g)
    if not _fast(net, params, X):
        P, Xa, Ya = check_problem(params, X, Y, net)
        J = cost_any(P, Xa, Ya, net)
        return complex(J) if np.iscomplexobj(J) else float(J)
    f, g = _article_pair(net, f, g)
    P, Xa, Ya = check_network(params, X, Y)
    cache = _forward(P, Xa, get_activation(f), get_activation(g))
    J = _bce_from_logits(cache["Z3"], Ya)
    return complex(J) if np.iscomplexobj(J) else float(J)


def backward(
    params: Mapping[str, Any],
    X: Any,
    Y: Any,
    f: ActivationSpec = None,
    g: ActivationSpec = None,
    *,
    network: Network | None = None,
    return_dZ: bool = False,
) -> dict[str, np.ndarray]:
    """Backpropagation: the gradients ``dW1 db1 ... dWL dbL`` of :func:`cost`.

    With ``network=`` any description is handled (module
    :mod:`numeric.general`); without it, or for the article's network with
    open widths, the fused fast path below runs.

    This is the article's pseudocode with its errors fixed: matrix products
    for dW, elementwise products for dZ, ``keepdims`` for db, and the
    derivative of the *corrected* BCE, ``dZ3 = A3 - Y``.

    Args:
        f, g: the article's hidden activations (default swish, leaky_relu).
        network: any description instead (then no f, g).
        return_dZ: also return ``dZ1 ... dZL`` (in the ``N dJ/dZ`` convention).

    Example:
        >>> P = init_params(3, 4, 2, q=2)
        >>> G = backward(P, np.ones((3, 5)), np.zeros((2, 5)))
        >>> G["dW1"].shape, G["db3"].shape
        ((4, 3), (2, 1))
    """
    net = _network(network, f, g)
    if not _fast(net, params, X):
        P, Xa, Ya = check_problem(params, X, Y, net)
        return backward_any(P, Xa, Ya, net, return_dZ=return_dZ)
    f, g = _article_pair(net, f, g)
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
    Z3 = _product(P["W3"], A2, "Z3")
    Z3 += P["b3"]
    dZ3 = _sigmoid(Z3)
    dZ3 -= Ya  # dZ3 = A3 - Y
    dZ2 = _product(P["W3"].T, dZ3, None if return_dZ else "dZ2")  # returned dZ are fresh arrays
    db2 = _multiply_and_sum(dZ2, dA2)  # dZ2 = (W3^T dZ3) * g'(Z2), elementwise
    dZ1 = _product(P["W2"].T, dZ2, None if return_dZ else "dZ1")
    db1 = _multiply_and_sum(dZ1, dA1)  # dZ1 = (W2^T dZ2) * f'(Z1)
    with np.errstate(under="ignore"):  # a gradient below the smallest float64 is 0, correctly
        grads = {"db1": db1 / m, "db2": db2 / m, "db3": np.sum(dZ3, axis=1, keepdims=True) / m}
        for layer, dZ, A_prev in ((1, dZ1, Xa), (2, dZ2, A1), (3, dZ3, A2)):
            dW = dZ @ A_prev.T
            dW /= m
            grads[f"dW{layer}"] = dW
    out = {k: grads[k] for k in ("dW1", "db1", "dW2", "db2", "dW3", "db3")}
    if return_dZ:
        out.update(dZ1=dZ1, dZ2=dZ2, dZ3=dZ3)
    return out
