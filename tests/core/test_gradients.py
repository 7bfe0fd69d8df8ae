"""Proof level 3: lambdified formulas vs hand-written backprop vs finite
differences vs the complex step, with negative controls."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import derive
import numeric
from numeric.compare import compare_gradients, draw_problem
from numeric.gradcheck import numerical_gradient
from numeric.strategies import activation_pairs, problems

CATALOG = list(numeric.ACTIVATIONS)
KINKED = [k for k, a in numeric.ACTIVATIONS.items() if a.kinks]
SMOOTH_ANALYTIC = [k for k, a in numeric.ACTIVATIONS.items() if a.analytic and not a.kinks]


def term_scale(params, X, Y, f, g):
    """A bound on the terms that the gradient entries sum: a difference of
    rounding size relative to *them* is no error, even when they cancel."""
    c = numeric.forward(params, X, f, g)
    data = max(1.0, *(float(np.max(np.abs(a))) for a in (X, c["A1"], c["A2"])))
    return float(np.max(np.abs(c["A3"] - Y))) * data


def assert_grads_close(actual, expected, rtol, label="", atol=0.0):
    """Entrywise ``|a - e| <= rtol |e| + max(atol, 1e-290, rtol * 1e-3 max|e|)`` per gradient.

    The small floor keeps entries that cancel to ~0 from demanding more than
    float64 can give; it is 1000 times tighter than ``rtol``.
    """
    for k, e in expected.items():
        a = actual[k]
        assert a.shape == e.shape, f"{label}{k}: shape {a.shape} != {e.shape}"
        floor = max(atol, 1e-290, rtol * 1e-3 * float(np.max(np.abs(e), initial=0.0)))
        np.testing.assert_allclose(a, e, rtol=rtol, atol=floor, err_msg=f"{label}{k}")


@settings(max_examples=60)
@given(problems(max_d=32, max_n=32, max_p=32, max_q=4, max_m=64))
def test_lambdified_matches_hand_written(problem):
    grad_fn = derive.gradient_function(problem.f, problem.g)
    expected = numeric.backward(problem.params, problem.X, problem.Y, problem.f, problem.g)
    atol = 1e-12 * term_scale(problem.params, problem.X, problem.Y, problem.f, problem.g)
    assert_grads_close(grad_fn(problem.params, problem.X, problem.Y), expected, 1e-9, f"{problem}: ", atol)


@pytest.mark.parametrize("f", CATALOG)
def test_every_catalog_activation_as_f_and_g(f):
    params, X, Y = draw_problem(4, 3, 5, 2, 6, f=f, g=f, seed=3)
    expected = numeric.backward(params, X, Y, f, f)
    assert_grads_close(derive.gradient_function(f, f)(params, X, Y), expected, 1e-9)


@settings(max_examples=25)
@given(problems(max_d=4, max_n=4, max_p=4, max_q=2, max_m=5, kink_margin=1e-3))
def test_both_agree_with_central_differences(problem):
    """Small shapes; kinked activations only away from the kink (margin 1e-3 >> step 6e-6).

    Central differences carry an absolute error of about eps^(2/3) |J|
    (roundoff over the step), so the tolerance is rtol 1e-6 plus an absolute
    1e-8 max(1, |J|).
    """
    P, X, Y, f, g = problem.params, problem.X, problem.Y, problem.f, problem.g
    fd = numerical_gradient(P, X, Y, f, g, method="central")
    atol = 1e-8 * max(1.0, abs(numeric.cost(P, X, Y, f, g)))
    assert_grads_close(numeric.backward(P, X, Y, f, g), fd, 1e-6, f"{problem} hand: ", atol)
    assert_grads_close(derive.gradient_function(f, g)(P, X, Y), fd, 1e-6, f"{problem} derived: ", atol)


@settings(max_examples=25)
@given(problems(max_d=4, max_n=4, max_p=4, max_q=3, max_m=5,
                activations=activation_pairs(analytic_only=True), kink_margin=1e-3))
def test_both_agree_with_the_complex_step(problem):
    """The complex step is exact to rounding, except that ``1e-20 i * x``
    underflows for |x| below ~1e-288: hence an absolute 1e-250; and entries
    that cancel are compared at rounding size of their terms (term_scale)."""
    P, X, Y, f, g = problem.params, problem.X, problem.Y, problem.f, problem.g
    cs = numerical_gradient(P, X, Y, f, g, method="complex")
    atol = max(1e-250, 1e-12 * term_scale(P, X, Y, f, g))
    assert_grads_close(numeric.backward(P, X, Y, f, g), cs, 1e-9, f"{problem} hand: ", atol)
    assert_grads_close(derive.gradient_function(f, g)(P, X, Y), cs, 1e-9, f"{problem} derived: ", atol)


@pytest.mark.parametrize("name", KINKED)
def test_kink_convention_at_exactly_zero(name):
    """At z = 0 both sides use the left derivative (numeric.activations.KINK_CONVENTION)."""
    expr = derive.activation_expr(name)
    derived = derive.activations.numpy_function(sp.diff(expr, derive.z))(np.array([0.0, -1e-300]))
    left = numeric.ACTIVATIONS[name].derivative(np.array([-1e-12]))
    hand = numeric.ACTIVATIONS[name].derivative(np.array([0.0]))
    assert numeric.activations.KINK_CONVENTION == "left"
    np.testing.assert_allclose(hand, left, rtol=1e-9)
    np.testing.assert_allclose(derived, np.repeat(left, 2), rtol=1e-9)


def test_kinked_network_at_exact_zero_pre_activation():
    """With Z1 exactly 0 (zero weights and biases), the convention decides the gradient."""
    params = numeric.init_params(2, 3, 2, seed=0)
    params["W1"][:] = 0.0
    params["b1"][:] = 0.0
    X, Y = np.ones((2, 4)), np.ones((1, 4))
    for f in KINKED:
        a = derive.gradient_function(f, "tanh")(params, X, Y)
        b = numeric.backward(params, X, Y, f, "tanh")
        assert_grads_close(a, b, 1e-12, f"{f}: ")


def test_sympy_expression_works_like_a_name():
    z = sp.Symbol("z")
    expr = z * sp.tanh(sp.log(1 + sp.exp(z)))  # mish written out
    params, X, Y = draw_problem(3, 4, 2, 1, 5, f="mish", g="tanh", seed=0)
    a = derive.gradient_function(expr, "tanh")(params, X, Y)
    b = numeric.backward(params, X, Y, "mish", "tanh")
    assert_grads_close(a, b, 1e-9)


def test_gradient_function_works_at_any_shape_without_recompiling():
    grad_fn = derive.gradient_function("swish", "leaky_relu")
    for shape in [(1, 1, 1, 1, 1), (7, 5, 3, 2, 11), (30, 2, 9, 4, 64)]:
        params, X, Y = draw_problem(*shape, seed=1)
        assert_grads_close(grad_fn(params, X, Y), numeric.backward(params, X, Y), 1e-9)
    assert derive.gradient_function("swish", "leaky_relu") is grad_fn
    assert "numpy.sum(" in grad_fn.source and "numpy.matmul(W1, X, out=Z1)" in grad_fn.source


def test_return_dZ_matches():
    params, X, Y = draw_problem(3, 4, 2, 2, 5, seed=2)
    a = derive.gradient_function()(params, X, Y, return_dZ=True)
    b = numeric.backward(params, X, Y, return_dZ=True)
    assert_grads_close(a, b, 1e-12)


# ---------------------------------------------------------- negative controls
def _wrong_backward(kind):
    def backward(params, X, Y, f="swish", g="leaky_relu"):
        fa, ga = numeric.get_activation(f), numeric.get_activation(g)
        c = numeric.forward(params, X, fa, ga)
        m = X.shape[1]
        W2, W3 = params["W2"], params["W3"]
        dZ3 = c["A3"] - Y
        dZ2 = (W3.T @ dZ3) * ga.derivative(c["Z2"])
        if kind == "f'(A) for f'(Z)":
            dZ1 = (W2.T @ dZ2) * fa.derivative(c["A1"])
        else:
            dZ1 = (W2.T @ dZ2) * fa.derivative(c["Z1"])
        out = {}
        for layer, dZ, A in ((1, dZ1, X), (2, dZ2, c["A1"]), (3, dZ3, c["A2"])):
            if kind == "missing transpose" and layer == 2:
                out["dW2"] = (A @ dZ.T) / m  # (n, p) instead of (p, n)
            else:
                out[f"dW{layer}"] = dZ @ A.T / (1 if kind == "missing 1/m" else m)
            out[f"db{layer}"] = dZ.sum(axis=1, keepdims=True) / m
        return out

    return backward


@pytest.mark.parametrize("kind", ["missing transpose", "missing 1/m", "f'(A) for f'(Z)"])
def test_comparison_fails_for_a_wrong_backward(kind):
    params, X, Y = draw_problem(3, 4, 5, 1, 6, seed=0)
    wrong = _wrong_backward(kind)(params, X, Y)
    truth = derive.gradient_function()(params, X, Y)
    with pytest.raises(AssertionError):
        assert_grads_close(wrong, truth, 1e-9)
    assert max(compare_gradients(wrong, truth).values()) > 1e-3


def test_the_correct_variant_of_the_control_passes():
    """The negative-control scaffold itself is right when no bug is injected."""
    params, X, Y = draw_problem(3, 4, 5, 1, 6, seed=0)
    assert_grads_close(_wrong_backward("none")(params, X, Y), derive.gradient_function()(params, X, Y), 1e-12)


@given(st.sampled_from(["missing transpose", "missing 1/m", "f'(A) for f'(Z)"]), st.integers(0, 50))
@settings(max_examples=20)
def test_finite_differences_also_catch_the_wrong_backward(kind, seed):
    params, X, Y = draw_problem(2, 3, 2, 1, 4, seed=seed)
    fd = numerical_gradient(params, X, Y)
    assert max(compare_gradients(_wrong_backward(kind)(params, X, Y), fd).values()) > 1e-4
