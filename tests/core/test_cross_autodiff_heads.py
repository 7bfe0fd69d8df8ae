"""HIPS autograd differentiates every head at depths 1 to 5.

The network and each head's cost are written again below in
``autograd.numpy`` from their textbook definitions (softmax as a quotient of
exponentials, the squared error as a sum of squares) and differentiated by
autograd's reverse mode; both the lambdified formulas and numeric.backward
must agree to 1e-9 (verify's tolerance for lambdified vs hand-written).
"""

from __future__ import annotations

import pytest

import derive
import numeric
from numeric import Network
from numeric.compare import compare_gradients, draw_network_problem

ag = pytest.importorskip("autograd", reason="autograd is in the test extra: pip install -e '.[test]'")
anp = pytest.importorskip("autograd.numpy")

_AG = {
    "tanh": anp.tanh,
    "swish": lambda x: x / (1 + anp.exp(-x)),
    "relu": lambda x: anp.where(x > 0, x, 0.0),
    "softplus": lambda x: anp.logaddexp(0.0, x),
}
_ACTS = ("tanh", "relu", "swish", "softplus")


def _sigmoid(x):
    return 1 / (1 + anp.exp(-x))


def _ag_cost(net: Network):
    def cost(flat, X, Y):
        A = X
        L = net.depth
        for l in range(1, L + 1):
            W, b = flat[2 * (l - 1)], flat[2 * l - 1]
            Z = anp.dot(W, A) + b
            A = _AG[net.activations[l - 1]](Z) if l < L else Z
        q, m = Z.shape
        N = m if net.reduction == "mean" else 1
        if net.head == "sigmoid-bce":
            S = _sigmoid(Z)
            J = -anp.sum(Y * anp.log(S) + (1 - Y) * anp.log(1 - S)) / N
        elif net.head == "softmax-ce":
            E = anp.exp(Z)
            J = -anp.sum(Y * anp.log(E / anp.sum(E, axis=0, keepdims=True))) / N
        else:
            out = _sigmoid(Z) if net.head == "sigmoid-mse" else Z
            sq = anp.sum((out - Y) ** 2)
            J = sq / (2 * N) if net.mse == "half" else (sq / (q * m) if net.reduction == "mean" else sq)
        rate = net.l2 / (2 * m) if net.l2_convention == "lambda/2m" else net.l2 / 2
        return J + rate * sum(anp.sum(flat[2 * i] ** 2) for i in range(L))

    return cost


def _autograd(net, P, X, Y):
    names = net.parameter_names()
    grads = ag.grad(_ag_cost(net))([P[k] for k in names], X, Y)
    return {"d" + k: v for k, v in zip(names, grads)}


CASES = [(head, depth) for head in numeric.HEADS for depth in (1, 2, 3, 4, 5)]


@pytest.mark.parametrize(("head", "depth"), CASES, ids=[f"{h}-L{d}" for h, d in CASES])
def test_autograd_agrees_every_head_and_depth(head, depth):
    widths = (4, 3, 5, 2, 4, 3)[:depth] + (3,)
    opts = [{}, {"mse": "torch", "l2": 0.2}, {"reduction": "sum", "l2": 0.5, "l2_convention": "lambda/2"}]
    net = Network(widths=widths, activations=tuple(_ACTS[i % 4] for i in range(depth - 1)), head=head,
                  **opts[depth % 3])
    P, X, Y = draw_network_problem(net, 5, seed=depth)
    expected = _autograd(net, P, X, Y)
    names = net.gradient_names()
    for got in (derive.gradient_function(net)(P, X, Y), numeric.backward(P, X, Y, network=net)):
        errors = compare_gradients(got, expected, names)
        assert max(errors.values()) <= 1e-9, errors


def test_autograd_comparison_detects_a_missing_l2_term():
    """Negative control: the forgotten lambda/m W term is far outside 1e-9."""
    net = Network(widths=(3, 4, 2), activations=("tanh",), head="softmax-ce", l2=0.1)
    P, X, Y = draw_network_problem(net, 5, seed=0)
    expected = _autograd(net, P, X, Y)
    wrong = numeric.backward(P, X, Y, network=Network(widths=(3, 4, 2), activations=("tanh",), head="softmax-ce"))
    assert compare_gradients(wrong, expected, net.gradient_names())["dW1"] > 1e-3
