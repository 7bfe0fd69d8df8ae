"""A catalog of backprop bugs for the heads and L2, as plain backward functions.

Each entry is a hand-written NumPy backward for a :class:`numeric.Network`
with one slip that real code makes; :func:`correct_backward` is the same
code without a slip (the false-alarm control).  Every function has the
signature ``backward(params, X, Y, net) -> {"dW1": ..., "db1": ..., ...}``
(column layout: X is d x m, Y is q x m).

Sources of the slips (paraphrased, no code copied): the softmax Jacobian's
off-diagonal terms and CE-on-probabilities (cs231n notes on softmax;
PyTorch forum threads on ``CrossEntropyLoss`` after a ``softmax``), the L2
term on the bias and the lambda/m factor (deeplearning.ai course, week 1
"regularization" assignment), Nielsen's quadratic-cost delta
(``neuralnetworksanddeeplearning.com`` chapter 2/3), PyTorch ``MSELoss``
mean over all entries.

``SIGNATURE[name]`` is the set of gradient kinds (``"dW"``, ``"db"``) that
the slip changes, used to check that the comparison points at the right
place.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from numeric import Network, get_activation

Backward = Callable[[Mapping[str, np.ndarray], np.ndarray, np.ndarray, Network], dict[str, np.ndarray]]


def _softmax(Z: np.ndarray) -> np.ndarray:
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def _sigmoid(Z: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(Z / 2) + 1)


def _generic(P: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray, net: Network, *,
             slip: str | None = None) -> dict[str, np.ndarray]:
    """A straightforward backward with an optional named slip."""
    L, m = net.depth, X.shape[1]
    acts = [get_activation(a) for a in net.activations]
    Zs, As = {}, {0: X}
    for l in range(1, L + 1):
        Zs[l] = P[f"W{l}"] @ As[l - 1] + P[f"b{l}"]
        if l < L:
            As[l] = acts[l - 1].value(Zs[l])
    Z = Zs[L]
    q = Z.shape[0]
    if net.head in ("sigmoid-bce", "sigmoid-mse"):
        A = _sigmoid(Z)
    elif net.head == "softmax-ce":
        A = _softmax(Z) if slip != "softmax_replaced_by_sigmoid" else _sigmoid(Z)
    else:
        A = Z
    N = m if net.reduction == "mean" else 1
    c = 1.0
    if net.head.endswith("mse") and net.mse == "torch" and slip != "mse_torch_missing_2_over_q":
        c = 2.0 / q if net.reduction == "mean" else 2.0
    if slip == "mse_half_with_factor_2":
        c = 2.0 * c
    dZ = c * (A - Y)
    if net.head == "sigmoid-mse" and slip != "sigmoid_mse_missing_sigmoid_prime":
        dZ = dZ * A * (1 - A)
    if net.head == "identity-mse" and slip == "identity_mse_with_sigmoid_derivative":
        dZ = dZ * _sigmoid(Z) * (1 - _sigmoid(Z))
    if slip == "softmax_missing_jacobian_cross_terms":
        dZ = Y * A - Y  # only the diagonal a_k(1 - a_k) of the Jacobian: -y_k (1 - a_k)
    if slip == "ce_on_probabilities_as_logits":
        dZ = _softmax(A) - Y  # the probabilities fed where logits were expected
    rate = net.l2 / m if net.l2_convention == "lambda/2m" else net.l2
    if slip == "l2_convention_mixed":
        rate = net.l2 if net.l2_convention == "lambda/2m" else net.l2 / m
    if slip == "l2_missing_factor_2":
        rate = rate / 2
    if slip == "l2_forgotten":
        rate = 0.0
    norm_w = N if slip != "sum_reduction_for_mean" else 1
    out: dict[str, np.ndarray] = {}
    for l in range(L, 0, -1):
        out[f"dW{l}"] = dZ @ As[l - 1].T / norm_w + rate * P[f"W{l}"]
        out[f"db{l}"] = dZ.sum(axis=1, keepdims=True) / norm_w
        if slip == "l2_added_to_bias":
            out[f"db{l}"] = out[f"db{l}"] + rate * P[f"b{l}"]
        if l > 1:
            at = As[l - 1] if slip == "derivative_at_activation" else Zs[l - 1]
            dZ = (P[f"W{l}"].T @ dZ) * acts[l - 2].derivative(at)
    return {k: out[k] for k in net.gradient_names()}


def correct_backward(P: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray, net: Network) -> dict[str, np.ndarray]:
    """The same code without a slip: must never be flagged."""
    return _generic(P, X, Y, net)


def _bug(slip: str) -> Backward:
    def backward(P: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray, net: Network) -> dict[str, np.ndarray]:
        return _generic(P, X, Y, net, slip=slip)

    backward.__name__ = slip
    return backward


# name -> (the head it belongs to, extra Network options that make the slip matter, what it changes)
CATALOG: dict[str, tuple[str, dict[str, Any], frozenset[str]]] = {
    "softmax_missing_jacobian_cross_terms": ("softmax-ce", {}, frozenset({"dW", "db"})),
    "ce_on_probabilities_as_logits": ("softmax-ce", {}, frozenset({"dW", "db"})),
    "softmax_replaced_by_sigmoid": ("softmax-ce", {}, frozenset({"dW", "db"})),
    "sum_reduction_for_mean": ("softmax-ce", {}, frozenset({"dW", "db"})),
    "mse_torch_missing_2_over_q": ("identity-mse", {"mse": "torch"}, frozenset({"dW", "db"})),
    "mse_half_with_factor_2": ("identity-mse", {}, frozenset({"dW", "db"})),
    "identity_mse_with_sigmoid_derivative": ("identity-mse", {}, frozenset({"dW", "db"})),
    "sigmoid_mse_missing_sigmoid_prime": ("sigmoid-mse", {}, frozenset({"dW", "db"})),
    "l2_forgotten": ("sigmoid-bce", {"l2": 0.5}, frozenset({"dW"})),
    "l2_added_to_bias": ("sigmoid-bce", {"l2": 0.5}, frozenset({"db"})),
    "l2_convention_mixed": ("softmax-ce", {"l2": 0.5}, frozenset({"dW"})),
    "l2_missing_factor_2": ("identity-mse", {"l2": 0.5, "l2_convention": "lambda/2"}, frozenset({"dW"})),
    "derivative_at_activation": ("sigmoid-bce", {}, frozenset({"dW", "db"})),
}

BUGS: dict[str, Backward] = {name: _bug(name) for name in CATALOG}
