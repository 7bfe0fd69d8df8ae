"""Strength tests for derive.lambdified: the generated NumPy gradient function
against the hand-written pass at extreme inputs, large (blocked) shapes,
kinks, caching, its source and its repr.

Each test states a behaviour; they were written to kill the mutants that
survived ``python tools/mutate.py --area core``.
"""

from __future__ import annotations

import ast

import warnings

import numpy as np
import pytest
import sympy as sp

import derive
import numeric
from derive.activations import z

KEYS = ("dW1", "db1", "dW2", "db2", "dW3", "db3")


def _problem(d=3, n=4, p=3, q=2, m=5, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    P = {"W1": rng.standard_normal((n, d)) * scale, "b1": rng.standard_normal((n, 1)),
         "W2": rng.standard_normal((p, n)) * scale, "b2": rng.standard_normal((p, 1)),
         "W3": rng.standard_normal((q, p)) * scale, "b3": rng.standard_normal((q, 1))}
    return P, rng.standard_normal((d, m)), (rng.random((q, m)) < 0.5).astype(float)


def _same(got, want, rtol=1e-10, atol=1e-13):
    assert set(want) <= set(got)
    for k in want:
        assert got[k].shape == want[k].shape, k
        np.testing.assert_allclose(got[k], want[k], rtol=rtol, atol=atol, err_msg=k)


PAIRS = [("swish", "leaky_relu"), ("sigmoid", "tanh"), ("relu", "elu"), ("gelu_tanh", "softsign"),
         ("selu", "identity"), ("mish", "softplus")]


@pytest.mark.parametrize(("f", "g"), PAIRS, ids=[f"{f}-{g}" for f, g in PAIRS])
def test_extreme_pre_activations_match_the_hand_written_pass(f, g):
    # pre-activations in the thousands: every branch and every tail is taken
    P, X, Y = _problem(seed=11)
    X = X * 1e3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = derive.gradient_function(f, g)(P, X, Y, return_dZ=True)
    want = numeric.backward(P, X, Y, f, g, return_dZ=True)
    for k in want:
        assert np.all(np.isfinite(got[k])), k
    _same(got, want, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(("f", "g"), [("swish", "leaky_relu"), ("elu", "sigmoid")], ids=["swish-leaky", "elu-sigmoid"])
def test_a_large_problem_runs_in_blocks_and_agrees(f, g):
    P, X, Y = _problem(d=3, n=700, p=250, q=2, m=200, seed=12, scale=0.3)
    _same(derive.gradient_function(f, g)(P, X, Y), numeric.backward(P, X, Y, f, g), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "selu"])
def test_kinks_take_the_left_value_and_branches_are_exact(name):
    # z exactly 0 in every pre-activation of layer 1: W1 = 0, b1 = 0
    P, X, Y = _problem(seed=13)
    P["W1"][:] = 0.0
    P["b1"][:] = 0.0
    _same(derive.gradient_function(name, name)(P, X, Y), numeric.backward(P, X, Y, name, name),
          rtol=1e-12, atol=1e-15)


def test_parametrised_activations_keep_their_parameters():
    from numeric.activations import get_activation

    swish2 = z / (1 + sp.exp(-2 * z))  # z sigma(2 z): swish with beta = 2, as a sympy expression
    P, X, Y = _problem(seed=14)
    got = derive.gradient_function(swish2, "tanh")(P, X, Y)
    want = numeric.backward(P, X, Y, get_activation("swish", beta=2.0), "tanh")
    _same(got, want, rtol=1e-11, atol=1e-14)


def test_results_are_fresh_arrays_and_inputs_stay_unchanged():
    grad_fn = derive.gradient_function("swish", "tanh")
    P, X, Y = _problem(seed=15)
    before = ({k: v.copy() for k, v in P.items()}, X.copy(), Y.copy())
    first = grad_fn(P, X, Y, return_dZ=True)
    kept = {k: v.copy() for k, v in first.items()}
    grad_fn(P, 2 * X, 1 - Y, return_dZ=True)
    for k in kept:
        np.testing.assert_array_equal(first[k], kept[k], err_msg=k)
    for k in P:
        np.testing.assert_array_equal(P[k], before[0][k])
    np.testing.assert_array_equal(X, before[1])
    np.testing.assert_array_equal(Y, before[2])


def test_return_dZ_adds_the_three_dZ_and_nothing_else():
    grad_fn = derive.gradient_function("tanh", "tanh")
    P, X, Y = _problem(seed=16)
    assert sorted(grad_fn(P, X, Y)) == sorted(KEYS)
    out = grad_fn(P, X, Y, return_dZ=True)
    assert sorted(out) == sorted(KEYS + ("dZ1", "dZ2", "dZ3"))
    cache = numeric.forward(P, X, "tanh", "tanh")
    np.testing.assert_allclose(out["dZ3"], cache["A3"] - Y, rtol=1e-13)


def test_gradient_functions_are_cached_per_pair():
    a = derive.gradient_function("tanh", "relu")
    assert derive.gradient_function("tanh", "relu") is a
    assert derive.gradient_function("relu", "tanh") is not a


def test_repr_and_source_of_a_gradient_function():
    grad_fn = derive.gradient_function("tanh", "identity")
    assert repr(grad_fn) == "GeneratedGradient(f=tanh(z), g=z)"
    ast.parse(grad_fn.source)  # real Python: the text that runs
    lines = [line.strip() for line in grad_fn.source.splitlines()]
    assert "numpy.matmul(W1, X, out=Z1)" in lines
    assert "numpy.matmul(W2.T, dZ2, out=dZ1)" in lines  # dA1 is inlined into dZ1
    assert "numpy.multiply(dZ1_, f_d_Z1_, out=dZ1_)" in lines
    assert "numpy.sum(dZ1_, axis=1, keepdims=True, out=db1_)" in lines
    assert not any(line.startswith("dA") for line in lines) and "f'(" not in grad_fn.source
    assert grad_fn.derivatives == {"f": 1 - sp.tanh(z) ** 2, "g": sp.Integer(1)}


def test_bad_inputs_are_refused_with_the_numeric_errors():
    grad_fn = derive.gradient_function("tanh", "tanh")
    P, X, Y = _problem(seed=17)
    with pytest.raises(numeric.ShapeError, match=r"W2 has shape \(4, 3\), expected \(3, 4\)"):
        grad_fn(dict(P, W2=P["W2"].T), X, Y)
    with pytest.raises(numeric.TargetRangeError):
        grad_fn(P, X, Y + 2.0)


@pytest.mark.parametrize("spec", [["tanh"], {"name": "tanh"}, bytearray(b"tanh")], ids=["list", "dict", "bytearray"])
def test_unhashable_specs_are_refused_not_cached(spec):
    with pytest.raises(TypeError, match=r"^an activation is a catalog name or a sympy expression in z, got "):
        derive.gradient_function(spec, "tanh")
    with pytest.raises(TypeError, match="an activation is a catalog name"):
        derive.gradient_function("tanh", spec)
