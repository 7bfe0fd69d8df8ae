"""A catalog of classic backprop bugs, each a wrong ``backward(params, X, Y)``.

Every function is written the way a user would write the article's
pseudocode, for f = swish and g = leaky_relu (alpha 0.01), with its own
activations (not numeric's), and differs from :func:`correct_backward` by
one classic mistake.

``CATALOG`` maps a name to ``(backward, wrong, kind)``:

* ``wrong``: the gradients check_backprop must name (exactly these);
* ``kind``: a phrase the report must contain for them (in the finding of
  every named gradient, or of the call itself), or None where no more than
  "wrong values" can be said.

Importable by tests (``from bug_catalog import CATALOG``) and benchmarks.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["CATALOG", "correct_backward", "forward"]

Grads = dict[str, np.ndarray]
ALL = ("dW1", "db1", "dW2", "db2", "dW3", "db3")
BELOW_3 = ("dW1", "db1", "dW2", "db2")


# ---------------------------------------------------------------- the user's own network
def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def swish(z: np.ndarray) -> np.ndarray:
    return z * sigmoid(z)


def swish_d(z: np.ndarray) -> np.ndarray:
    s = sigmoid(z)
    return s + z * s * (1.0 - s)


def leaky(z: np.ndarray) -> np.ndarray:
    return np.where(z > 0, z, 0.01 * z)


def leaky_d(z: np.ndarray) -> np.ndarray:
    return np.where(z > 0, 1.0, 0.01)


def forward(P: Mapping[str, np.ndarray], X: np.ndarray) -> dict[str, np.ndarray]:
    Z1 = P["W1"] @ X + P["b1"]
    A1 = swish(Z1)
    Z2 = P["W2"] @ A1 + P["b2"]
    A2 = leaky(Z2)
    Z3 = P["W3"] @ A2 + P["b3"]
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2, "Z3": Z3, "A3": sigmoid(Z3)}


def _layer(dZ: np.ndarray, A_prev: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    return dZ @ A_prev.T / m, np.sum(dZ, axis=1, keepdims=True) / m


def _pack(dZ3: np.ndarray, dZ2: np.ndarray, dZ1: np.ndarray, c: Mapping[str, np.ndarray],
          X: np.ndarray) -> Grads:
    m = X.shape[1]
    out: Grads = {}
    for layer, dZ, A in ((1, dZ1, X), (2, dZ2, c["A1"]), (3, dZ3, c["A2"])):
        out[f"dW{layer}"], out[f"db{layer}"] = _layer(dZ, A, m)
    return out


def correct_backward(P: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray) -> Grads:
    """The article's pseudocode with its errors fixed (no bug)."""
    c = forward(P, X)
    dZ3 = c["A3"] - Y
    dZ2 = (P["W3"].T @ dZ3) * leaky_d(c["Z2"])
    dZ1 = (P["W2"].T @ dZ2) * swish_d(c["Z1"])
    return _pack(dZ3, dZ2, dZ1, c, X)


# ---------------------------------------------------------------- the bugs
def missing_transpose(P, X, Y):
    c = forward(P, X)
    dZ3 = c["A3"] - Y
    dZ2 = (P["W3"] @ dZ3) * leaky_d(c["Z2"])  # W3 where W3^T belongs: runs only when p == q
    dZ1 = (P["W2"].T @ dZ2) * swish_d(c["Z1"])
    return _pack(dZ3, dZ2, dZ1, c, X)


def wrong_operand_order(P, X, Y):
    G = correct_backward(P, X, Y)
    c, m = forward(P, X), X.shape[1]
    G["dW3"] = c["A2"] @ (c["A3"] - Y).T / m  # A2 dZ3^T: the transpose of dZ3 A2^T
    return G


def missing_1_over_m(P, X, Y):
    c = forward(P, X)
    dZ3 = c["A3"] - Y
    dZ2 = (P["W3"].T @ dZ3) * leaky_d(c["Z2"])
    dZ1 = (P["W2"].T @ dZ2) * swish_d(c["Z1"])
    G = _pack(dZ3, dZ2, dZ1, c, X)
    G["dW2"] = dZ2 @ c["A1"].T  # forgot / m
    return G


def one_over_m_twice(P, X, Y):
    c, m = forward(P, X), X.shape[1]
    dZ3 = (c["A3"] - Y) / m  # dJ/dZ3 ...
    G = correct_backward(P, X, Y)
    G["db3"] = np.sum(dZ3, axis=1, keepdims=True) / m  # ... and / m again
    return G


def db_wrong_axis(P, X, Y):
    c, m = forward(P, X), X.shape[1]
    dZ3 = c["A3"] - Y
    dZ2 = (P["W3"].T @ dZ3) * leaky_d(c["Z2"])
    G = correct_backward(P, X, Y)
    G["db2"] = np.sum(dZ2, axis=0, keepdims=True) / m  # over the units, not the examples
    return G


def db_without_keepdims(P, X, Y):
    c, m = forward(P, X), X.shape[1]
    dZ3 = c["A3"] - Y
    dZ2 = (P["W3"].T @ dZ3) * leaky_d(c["Z2"])
    dZ1 = (P["W2"].T @ dZ2) * swish_d(c["Z1"])
    G = _pack(dZ3, dZ2, dZ1, c, X)
    G["db1"] = np.sum(dZ1, axis=1) / m  # shape (n,): W - lr * db broadcasts to (n, n)
    return G


def f_prime_of_A(P, X, Y):
    c = forward(P, X)
    dZ3 = c["A3"] - Y
    dZ2 = (P["W3"].T @ dZ3) * leaky_d(c["Z2"])
    dZ1 = (P["W2"].T @ dZ2) * swish_d(c["A1"])  # f'(A1) instead of f'(Z1)
    return _pack(dZ3, dZ2, dZ1, c, X)


def derivative_dropped(P, X, Y):
    c = forward(P, X)
    dZ3 = c["A3"] - Y
    dZ2 = P["W3"].T @ dZ3  # * g'(Z2) forgotten
    dZ1 = (P["W2"].T @ dZ2) * swish_d(c["Z1"])
    return _pack(dZ3, dZ2, dZ1, c, X)


def wrong_layer_derivative(P, X, Y):
    c = forward(P, X)
    dZ3 = c["A3"] - Y
    dZ2 = (P["W3"].T @ dZ3) * swish_d(c["Z2"])  # f' in layer 2, whose activation is g
    dZ1 = (P["W2"].T @ dZ2) * swish_d(c["Z1"])
    return _pack(dZ3, dZ2, dZ1, c, X)


def stale_cache(P, X, Y):
    G = correct_backward(P, X, Y)
    c, m = forward(P, X), X.shape[1]
    G["dW3"] = (c["A3"] - Y) @ c["A1"].T / m  # A1 where A2 belongs
    return G


def inplace_cache(P, X, Y):
    """Reuses the cached A1 buffer for f'(Z1), then reads 'A1' for dW2."""
    c = forward(P, X)
    dZ3 = c["A3"] - Y
    dZ2 = (P["W3"].T @ dZ3) * leaky_d(c["Z2"])
    fprime = c["A1"]
    fprime[...] = swish_d(c["Z1"])  # overwrites the cache in place
    dZ1 = (P["W2"].T @ dZ2) * fprime
    G = _pack(dZ3, dZ2, dZ1, c, X)  # dW2 = dZ2 A1^T now uses f'(Z1)
    G.update(dZ1=dZ1, dZ2=dZ2, dZ3=dZ3)
    return G


def inplace_weight_update(P, X, Y):
    """Updates W3 in place (a fused SGD step) before propagating through it."""
    c, m = forward(P, X), X.shape[1]
    dZ3 = c["A3"] - Y
    dW3, db3 = _layer(dZ3, c["A2"], m)
    P["W3"] -= 0.1 * dW3
    dZ2 = (P["W3"].T @ dZ3) * leaky_d(c["Z2"])
    dZ1 = (P["W2"].T @ dZ2) * swish_d(c["Z1"])
    G = _pack(dZ3, dZ2, dZ1, c, X)
    G["dW3"], G["db3"] = dW3, db3
    return G


def sign_flipped(P, X, Y):
    c = forward(P, X)
    dZ3 = Y - c["A3"]
    dZ2 = (P["W3"].T @ dZ3) * leaky_d(c["Z2"])
    dZ1 = (P["W2"].T @ dZ2) * swish_d(c["Z1"])
    return _pack(dZ3, dZ2, dZ1, c, X)


def unparenthesised_loss(P, X, Y):
    """Differentiates the article's loss as printed: -y log(a) + (1 - y) log(1 - a)."""
    c = forward(P, X)
    A3 = c["A3"]
    dA3 = -Y / A3 - (1 - Y) / (1 - A3)
    dZ3 = dA3 * A3 * (1 - A3)
    dZ2 = (P["W3"].T @ dZ3) * leaky_d(c["Z2"])
    dZ1 = (P["W2"].T @ dZ2) * swish_d(c["Z1"])
    return _pack(dZ3, dZ2, dZ1, c, X)


def epsilon_shift(P, X, Y):
    c = forward(P, X)
    A3 = c["A3"]
    A3 += 1e-8  # the article's "prevent dividing by zero"
    dZ3 = A3 - Y
    dZ2 = (P["W3"].T @ dZ3) * leaky_d(c["Z2"])
    dZ1 = (P["W2"].T @ dZ2) * swish_d(c["Z1"])
    return _pack(dZ3, dZ2, dZ1, c, X)


def bias_gradient_dropped(P, X, Y):
    G = correct_backward(P, X, Y)
    del G["db2"]
    return G


def bias_gradient_zero(P, X, Y):
    G = correct_backward(P, X, Y)
    G["db3"] = np.zeros_like(P["b3"])
    return G


def float32_gradients(P, X, Y):
    P32 = {k: v.astype(np.float32) for k, v in P.items()}
    return {k: v.astype(np.float64) for k, v in
            correct_backward(P32, X.astype(np.float32), Y.astype(np.float32)).items()}


def sigmoid_derivative_twice(P, X, Y):
    c = forward(P, X)
    A3 = c["A3"]
    dZ3 = (A3 - Y) * A3 * (1 - A3)  # sigma' on top of A3 - Y
    dZ2 = (P["W3"].T @ dZ3) * leaky_d(c["Z2"])
    dZ1 = (P["W2"].T @ dZ2) * swish_d(c["Z1"])
    return _pack(dZ3, dZ2, dZ1, c, X)


def pre_activation_for_activation(P, X, Y):
    G = correct_backward(P, X, Y)
    c, m = forward(P, X), X.shape[1]
    G["dW3"] = (c["A3"] - Y) @ c["Z2"].T / m  # Z2 where A2 = g(Z2) belongs
    return G


def divided_by_d(P, X, Y):
    c = forward(P, X)
    m = X.shape[0]  # the number of features, not of examples
    dZ3 = c["A3"] - Y
    dZ2 = (P["W3"].T @ dZ3) * leaky_d(c["Z2"])
    dZ1 = (P["W2"].T @ dZ2) * swish_d(c["Z1"])
    out = {}
    for layer, dZ, A in ((1, dZ1, X), (2, dZ2, c["A1"]), (3, dZ3, c["A2"])):
        out[f"dW{layer}"], out[f"db{layer}"] = _layer(dZ, A, m)
    return out


def mean_over_all_outputs(P, X, Y):
    c = forward(P, X)
    dZ3 = (c["A3"] - Y) / Y.shape[0]  # the mean taken over q x m entries
    dZ2 = (P["W3"].T @ dZ3) * leaky_d(c["Z2"])
    dZ1 = (P["W2"].T @ dZ2) * swish_d(c["Z1"])
    return _pack(dZ3, dZ2, dZ1, c, X)


def product_rule_forgotten(P, X, Y):
    c = forward(P, X)
    dZ3 = c["A3"] - Y
    dZ2 = (P["W3"].T @ dZ3) * leaky_d(c["Z2"])
    dZ1 = (P["W2"].T @ dZ2) * sigmoid(c["Z1"])  # swish' taken as sigmoid: z sigma'(z) forgotten
    return _pack(dZ3, dZ2, dZ1, c, X)


def relu_derivative_for_leaky(P, X, Y):
    c = forward(P, X)
    dZ3 = c["A3"] - Y
    dZ2 = (P["W3"].T @ dZ3) * (c["Z2"] > 0)  # relu' for leaky_relu: the alpha slope lost
    dZ1 = (P["W2"].T @ dZ2) * swish_d(c["Z1"])
    return _pack(dZ3, dZ2, dZ1, c, X)


def _accumulating() -> Callable[..., Grads]:
    last: dict[str, Any] = {"key": None, "acc": None}

    def accumulating_gradients(P, X, Y):
        """Adds into its stored gradients, reset only when the batch changes."""
        G = correct_backward(P, X, Y)
        key = (X.tobytes(), Y.tobytes(), *(P[k].tobytes() for k in sorted(P)))
        if key != last["key"]:
            last["key"], last["acc"] = key, {k: np.zeros_like(v) for k, v in G.items()}
        for k in G:
            last["acc"][k] += G[k]
        return {k: v.copy() for k, v in last["acc"].items()}

    return accumulating_gradients


def returns_dZ_wrong_dZ2(P, X, Y):
    """Returns its dZ's; the dropped g'(Z2) makes dZ2 the first wrong dZ going backwards."""
    c = forward(P, X)
    dZ3 = c["A3"] - Y
    dZ2 = P["W3"].T @ dZ3
    dZ1 = (P["W2"].T @ dZ2) * swish_d(c["Z1"])
    G = _pack(dZ3, dZ2, dZ1, c, X)
    G.update(dZ1=dZ1, dZ2=dZ2, dZ3=dZ3)
    return G


Entry = tuple[Callable[..., Any], tuple[str, ...], "str | None"]

CATALOG: dict[str, Entry] = {
    "missing transpose": (missing_transpose, BELOW_3, "missing transpose"),
    "wrong operand order": (wrong_operand_order, ("dW3",), "transposed"),
    "missing 1/m": (missing_1_over_m, ("dW2",), "missing 1/m"),
    "1/m twice": (one_over_m_twice, ("db3",), "1/m twice"),
    "db wrong axis": (db_wrong_axis, ("db2",), "wrong axis"),
    "db without keepdims": (db_without_keepdims, ("db1",), "keepdims"),
    "f'(A) instead of f'(Z)": (f_prime_of_A, ("dW1", "db1"), "f'(A) instead of f'(Z)"),
    "activation derivative dropped": (derivative_dropped, BELOW_3, "derivative dropped"),
    "wrong layer's derivative": (wrong_layer_derivative, BELOW_3, "wrong layer's derivative"),
    "stale cache (A1 for A2)": (stale_cache, ("dW3",), "stale cache"),
    "in-place mutation of a cached array": (inplace_cache, ("dW2",), "modified in place"),
    "in-place weight update": (inplace_weight_update, BELOW_3, "modified in place"),
    "sign flipped": (sign_flipped, ALL, "sign flipped"),
    "unparenthesised loss": (unparenthesised_loss, ALL, "unparenthesised loss"),
    "epsilon shift": (epsilon_shift, ALL, "epsilon shift"),
    "bias gradient dropped": (bias_gradient_dropped, ("db2",), "bias dropped"),
    "bias gradient zero": (bias_gradient_zero, ("db3",), "bias dropped"),
    "float32 gradients": (float32_gradients, ALL, "float32"),
    "sigmoid derivative twice": (sigmoid_derivative_twice, ALL, "sigmoid derivative twice"),
    "Z for A": (pre_activation_for_activation, ("dW3",), "Z instead of A"),
    "divided by d": (divided_by_d, ALL, "instead of m"),
    "mean over q x m": (mean_over_all_outputs, ALL, "q x m"),
    "product rule forgotten": (product_rule_forgotten, ("dW1", "db1"), None),
    "relu' for leaky_relu": (relu_derivative_for_leaky, BELOW_3, None),
    "accumulated gradients": (_accumulating(), (), "not repeatable"),
    "wrong dZ2 (dZ's returned)": (returns_dZ_wrong_dZ2, BELOW_3, "diverges at layer 2"),
}
