"""Layouts: no false alarm on correct code in any layout (hypothesis), and the
translation itself (derive.backprop_check.layout).

The one-off large run: ``CHECK_BACKPROP_LAYOUT_EXAMPLES=10000 python -m pytest
-m slow tests/backprop_check/test_layouts.py``; the default suite runs a few
examples of the same property.
"""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import derive
import numeric
from derive.backprop_check.layout import Layout, Unreadable
from derive.backprop_check.localise import Case, Reference, run_case
from numeric.strategies import problems

PAIRS = [("swish", "leaky_relu"), ("relu", "tanh"), ("gelu", "sigmoid"), ("mish", "elu"),
         ("softsign", "selu"), ("softplus", "gelu_tanh"), ("identity", "relu"), ("tanh", "swish")]
SLOW_EXAMPLES = int(os.environ.get("CHECK_BACKPROP_LAYOUT_EXAMPLES", "300"))


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def row_major_backward(params, X, Y, *, f, g, layout, returns):
    """A correct backward written for row-major data, not sharing numeric.backward's code."""
    if isinstance(params, list):
        params = {f"{w}{i + 1}": a for i, pair in enumerate(params) for w, a in zip("Wb", pair)}
    fa, ga = numeric.get_activation(f), numeric.get_activation(g)

    def mul(A, W):
        return A @ W if layout == "rows" else A @ W.T

    Z1 = mul(X, params["W1"]) + params["b1"]
    A1 = fa.value(Z1)
    Z2 = mul(A1, params["W2"]) + params["b2"]
    A2 = ga.value(Z2)
    A3 = sigmoid(mul(A2, params["W3"]) + params["b3"])
    m = X.shape[0]
    dZ3 = A3 - Y
    grads, dZ_next = {}, dZ3
    for layer, dZ, A_prev in ((3, dZ3, A2), (2, None, A1), (1, None, X)):
        if layer < 3:
            back = dZ_next @ params[f"W{layer + 1}"].T if layout == "rows" else dZ_next @ params[f"W{layer + 1}"]
            dZ = back * (ga if layer == 2 else fa).derivative(Z2 if layer == 2 else Z1)
        grads[f"W{layer}"] = A_prev.T @ dZ / m if layout == "rows" else dZ.T @ A_prev / m
        grads[f"b{layer}"] = dZ.sum(axis=0, keepdims=returns == "bias (1, n)") / m
        dZ_next = dZ
    if returns == "list of pairs":
        return [(grads[f"W{i}"], grads[f"b{i}"]) for i in (1, 2, 3)]
    if returns == "dW keys":
        return {"d" + k: v for k, v in grads.items()}
    return grads


def _no_false_alarm(problem, offset, layout, params_as, returns):
    params = {**problem.params, "b3": problem.params["b3"] + offset}
    case = Case("hypothesis", params, problem.X, problem.Y)
    ref = Reference(case, derive.gradient_function(problem.f, problem.g),
                    numeric.get_activation(problem.f), numeric.get_activation(problem.g))
    lay = Layout(layout, params_as)
    if layout == "columns":
        def backward(P, X, Y):
            if isinstance(P, list):
                P = {f"{w}{i + 1}": a for i, pair in enumerate(P) for w, a in zip("Wb", pair)}
            return numeric.backward(P, X, Y, problem.f, problem.g)
    else:
        def backward(P, X, Y):
            return row_major_backward(P, X, Y, f=problem.f, g=problem.g, layout=layout, returns=returns)
    res = run_case(backward, case, ref, layout=lay)
    assert res.ok, (problem, offset, layout, params_as, returns, res.bad, res.error, res.unusable)


_STRATEGY = (problems(max_d=6, max_n=6, max_p=6, max_q=3, max_m=7, weight_bound=3.0, kink_margin=1e-3,
                      activations=st.sampled_from(list(itertools.product(numeric.ACTIVATIONS, repeat=2)))),
             st.sampled_from([0.0, 0.0, 30.0, -30.0, 40.0]), st.sampled_from(["columns", "rows", "linear"]),
             st.sampled_from(["dict", "pairs"]), st.sampled_from(["W keys", "dW keys", "list of pairs",
                                                                  "bias (1, n)"]))


@settings(max_examples=25)
@given(*_STRATEGY)
def test_no_false_alarm_in_any_layout(problem, offset, layout, params_as, returns):
    """Every activation pair, confident and saturated outputs, every layout, params and return form."""
    _no_false_alarm(problem, offset, layout, params_as, returns)


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES)
@given(*_STRATEGY)
def test_no_false_alarm_in_any_layout_many_examples(problem, offset, layout, params_as, returns):
    """The same property over CHECK_BACKPROP_LAYOUT_EXAMPLES examples (default 300)."""
    _no_false_alarm(problem, offset, layout, params_as, returns)


# ---------------------------------------------------------------- the translation
def test_to_user_shapes_per_layout():
    P = {"W1": np.arange(6.0).reshape(3, 2), "b1": np.ones((3, 1))}
    X, Y = np.zeros((2, 5)), np.zeros((1, 5))
    rows = Layout("rows").to_user(P, X, Y)
    assert rows[0]["W1"].shape == (2, 3) and rows[0]["b1"].shape == (3,) and rows[1].shape == (5, 2)
    linear = Layout("linear").to_user(P, X, Y)
    assert np.array_equal(linear[0]["W1"], P["W1"]) and linear[2].shape == (5, 1)
    pairs, _, _, names = Layout("columns", "pairs").to_user(P, X, Y)
    assert isinstance(pairs, list) and pairs[0][0].shape == (3, 2) and names["params[0][1]"] == "b1"
    assert Layout("rows", dtype="float32").to_user(P, X, Y)[1].dtype == np.float32


@pytest.mark.parametrize("output, message", [
    ({"dW1": 1, "W1": 2}, "both 'dW1' and 'W1' keys"),
    ({"grad": 1}, r"returned keys \['grad'\]"),
    ([1, 2, 3, 4], "a list of 4 items; expected 3 \\(dW, db\\) pairs or 6 arrays"),
    (None, "it returned NoneType"),
], ids=["ambiguous keys", "unknown keys", "wrong list length", "None"])
def test_unreadable_returns_are_refused_with_a_reason(output, message):
    with pytest.raises(Unreadable, match=message):
        Layout().read(output, 3)


def test_read_accepts_every_documented_form():
    flat = [np.full((1, 1), i) for i in range(6)]
    names = ["dW1", "db1", "dW2", "db2", "dW3", "db3"]
    assert list(Layout().read(flat, 3)) == names
    assert list(Layout().read([flat[i:i + 2] for i in (0, 2, 4)], 3)) == names
    assert set(Layout().read({"W1": 1, "b1": 2, "dZ1": 3}, 3)) == {"dW1", "db1", "dZ1"}


def test_a_wrong_shape_in_rows_is_said_in_the_users_shapes():
    """Negative control for the row layouts: a transposed dW is caught and shown as the user sees it."""
    problem_P = numeric.init_params(3, 4, 2, 1, seed=0)
    X = np.random.default_rng(0).normal(size=(3, 5))
    Y = (np.random.default_rng(1).random((1, 5)) > 0.5).astype(float)
    case = Case("c", problem_P, X, Y)
    ref = Reference(case, derive.gradient_function(), numeric.get_activation("swish"),
                    numeric.get_activation("leaky_relu"))

    def transposed(P, X, Y):
        G = row_major_backward(P, X, Y, f="swish", g="leaky_relu", layout="rows", returns="W keys")
        G["W2"] = G["W2"].T
        return G

    from derive.backprop_check.localise import diagnose

    res = diagnose(run_case(transposed, case, ref, layout=Layout("rows")))
    assert res.bad == ["dW2"] and res.findings["dW2"].kind == "transposed"
    assert "has shape (2, 4), expected (4, 2)" in res.findings["dW2"].message


@pytest.mark.parametrize("layout, text, said", [
    ("columns", "dZ1 = (W2^T dZ2) * f'(A1)", "dZ1 = (W2^T dZ2) * f'(A1)"),
    ("rows", "dZ1 = (W2^T dZ2) * f'(A1)", "dZ1 = (dZ2 @ W2.T) * f'(A1)"),
    ("linear", "dZ1 = (W2^T dZ2) * f'(A1)", "dZ1 = (dZ2 @ W2) * f'(A1)"),
    ("rows", "stale cache: dW3 = dZ3 A1^T / m", "stale cache: dW3 = A1.T @ dZ3 / m"),
    ("linear", "stale cache: dW3 = dZ3 A1^T / m", "stale cache: dW3 = dZ3.T @ A1 / m"),
    ("rows", "check db2 = sum(dZ2, axis=1, keepdims) / m", "check db2 = sum(dZ2, axis=0) / m"),
    ("linear", "W3 used where W3^T belongs (missing transpose): dZ2 = (W3 dZ3) * g'(Z2)",
     "W3.T used where W3 belongs (an extra transpose: nn.Linear weights are used as stored): "
     "dZ2 = (dZ3 @ W3.T) * g'(Z2)"),
])
def test_explanations_are_said_in_the_users_layout(layout, text, said):
    assert Layout(layout).say(text) == said
