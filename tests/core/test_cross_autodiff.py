"""Independent cross-check: HIPS autograd differentiates the same network.

autograd shares no code with either side of this project: the network and
its activations are written again below in ``autograd.numpy`` and
differentiated by autograd's reverse mode.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import derive
import numeric
from numeric.compare import compare_gradients, draw_problem

ag = pytest.importorskip("autograd", reason="autograd is in the test extra: pip install -e '.[test]'")
anp = pytest.importorskip("autograd.numpy")
from autograd.extend import defvjp, primitive  # noqa: E402

_erf_elementwise = np.frompyfunc(math.erf, 1, 1)


@primitive
def ag_erf(x):
    """erf for autograd without scipy: math.erf, with the textbook derivative."""
    return np.asarray(_erf_elementwise(x), dtype=np.float64)


defvjp(ag_erf, lambda ans, x: lambda g: g * 2.0 / np.sqrt(np.pi) * np.exp(-(x**2)))


def _sigmoid(x):
    return 0.5 * (anp.tanh(x / 2) + 1)


def _softplus(x):
    return anp.logaddexp(0.0, x)


AG_ACTIVATIONS = {
    "sigmoid": _sigmoid,
    "tanh": anp.tanh,
    "relu": lambda x: anp.where(x > 0, x, 0.0),
    "leaky_relu": lambda x: anp.where(x > 0, x, 0.01 * x),
    "swish": lambda x: x * _sigmoid(x),
    "gelu": lambda x: 0.5 * x * (1 + ag_erf(x / np.sqrt(2))),
    "gelu_tanh": lambda x: 0.5 * x * (1 + anp.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
    "elu": lambda x: anp.where(x > 0, x, anp.exp(anp.minimum(x, 0)) - 1),
    "selu": lambda x: 1.0507009873554805 * anp.where(x > 0, x, 1.6732632423543772 * (anp.exp(anp.minimum(x, 0)) - 1)),
    "softplus": _softplus,
    "mish": lambda x: x * anp.tanh(_softplus(x)),
    "softsign": lambda x: x / (1 + anp.abs(x)),
    "identity": lambda x: x,
}


def _ag_cost(f, g):
    F, G = AG_ACTIVATIONS[f], AG_ACTIVATIONS[g]

    def cost(flat, X, Y):
        W1, b1, W2, b2, W3, b3 = flat
        A2 = G(anp.dot(W2, F(anp.dot(W1, X) + b1)) + b2)
        Z3 = anp.dot(W3, A2) + b3
        m = X.shape[1]
        return anp.sum(_softplus(Z3) - Y * Z3) / m  # BCE from logits

    return cost


def test_catalog_is_covered():
    assert set(AG_ACTIVATIONS) == set(numeric.ACTIVATIONS)


@pytest.mark.parametrize("f", list(AG_ACTIVATIONS))
@pytest.mark.parametrize("shape", [(3, 4, 2, 1, 5), (5, 3, 4, 3, 8)], ids=["q=1", "q=3"])
def test_autograd_agrees_to_1e_9(f, shape):
    g = "leaky_relu" if f != "leaky_relu" else "tanh"
    params, X, Y = draw_problem(*shape, f=f, g=g, seed=7)
    names = ["W1", "b1", "W2", "b2", "W3", "b3"]
    flat = [params[k] for k in names]
    grads = ag.grad(_ag_cost(f, g))(flat, X, Y)
    expected = {"d" + k: v for k, v in zip(names, grads)}
    errors = compare_gradients(derive.gradient_function(f, g)(params, X, Y), expected)
    assert max(errors.values()) <= 1e-9, errors
    errors = compare_gradients(numeric.backward(params, X, Y, f, g), expected)
    assert max(errors.values()) <= 1e-9, errors


def test_autograd_check_detects_a_wrong_gradient():
    """Negative control: the same comparison fails when one gradient is off."""
    params, X, Y = draw_problem(3, 4, 2, 1, 5, seed=7)
    names = ["W1", "b1", "W2", "b2", "W3", "b3"]
    grads = ag.grad(_ag_cost("swish", "leaky_relu"))([params[k] for k in names], X, Y)
    expected = {"d" + k: v for k, v in zip(names, grads)}
    wrong = dict(numeric.backward(params, X, Y))
    wrong["db2"] = wrong["db2"] * X.shape[1]  # the 1/m forgotten
    assert compare_gradients(wrong, expected)["db2"] > 1e-3
