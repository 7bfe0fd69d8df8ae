"""numeric.network: shapes, the stable cost, input errors, the article's errata."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import numeric
from numeric import NonFiniteError, ShapeError, TargetRangeError, UnknownActivationError
from numeric.gradcheck import numerical_gradient

D, N, P, Q, M = 5, 4, 3, 2, 6


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    params = numeric.init_params(D, N, P, Q, seed=1)
    return params, rng.standard_normal((D, M)), (rng.random((Q, M)) < 0.5).astype(float)


def test_shapes_follow_the_table(problem):
    params, X, Y = problem
    assert {k: v.shape for k, v in params.items()} == {
        "W1": (N, D), "b1": (N, 1), "W2": (P, N), "b2": (P, 1), "W3": (Q, P), "b3": (Q, 1),
    }
    cache = numeric.forward(params, X)
    assert {k: v.shape for k, v in cache.items()} == {
        "Z1": (N, M), "A1": (N, M), "Z2": (P, M), "A2": (P, M), "Z3": (Q, M), "A3": (Q, M),
    }
    grads = numeric.backward(params, X, Y)
    assert {k: v.shape for k, v in grads.items()} == {"d" + k: v.shape for k, v in params.items()}


def test_init_params_default_q_is_one_and_seeded():
    a, b = numeric.init_params(4, 3, 2), numeric.init_params(4, 3, 2)
    assert a["W3"].shape == (1, 2)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        numeric.init_params(4, 0, 2)


def test_backward_matches_central_differences(problem):
    params, X, Y = problem
    grads = numeric.backward(params, X, Y)
    fd = numerical_gradient(params, X, Y)
    for k in grads:
        np.testing.assert_allclose(grads[k], fd[k], rtol=1e-6, atol=1e-9)


def test_return_dZ_is_m_times_dJ_dZ(problem):
    params, X, Y = problem
    grads = numeric.backward(params, X, Y, return_dZ=True)
    cache = numeric.forward(params, X)
    np.testing.assert_allclose(grads["dZ3"], cache["A3"] - Y)
    np.testing.assert_allclose(grads["dW3"], grads["dZ3"] @ cache["A2"].T / M)


def _logit_problem(z3: float, y: float):
    params = {"W1": np.zeros((1, 1)), "b1": np.zeros((1, 1)), "W2": np.zeros((1, 1)),
              "b2": np.zeros((1, 1)), "W3": np.zeros((1, 1)), "b3": np.array([[z3]])}
    return params, np.zeros((1, 1)), np.array([[y]])


@pytest.mark.parametrize("z3", [-1e4, -800.0, -40.0, 0.0, 40.0, 800.0, 1e4])
@pytest.mark.parametrize("y", [0.0, 1.0])
def test_cost_is_stable_from_logits(z3, y):
    params, X, Y = _logit_problem(z3, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            J = numeric.cost(params, X, Y, "identity", "identity")
    # exact BCE of sigmoid(z): softplus(z) - y z, via log1p for small tails
    expected = max(z3, 0.0) + np.log1p(np.exp(-abs(z3))) - y * z3
    assert np.isfinite(J)
    assert J == pytest.approx(expected, rel=1e-15, abs=1e-300)


def test_cost_of_confident_right_answer_is_tiny_not_zero():
    params, X, Y = _logit_problem(40.0, 1.0)
    assert numeric.cost(params, X, Y) == pytest.approx(np.exp(-40.0), rel=1e-12)


def test_cost_is_the_mean_over_examples(problem):
    params, X, Y = problem
    per_example = [numeric.cost(params, X[:, [j]], Y[:, [j]]) for j in range(M)]
    assert numeric.cost(params, X, Y) == pytest.approx(np.mean(per_example), rel=1e-13)


# ----------------------------------------------------------------- errata
def test_article_unparenthesised_loss_is_negated_bce_for_y0():
    """The article's `-y*log(A3) + (1-y)*log(1-A3)` flips the sign of the y=0 term."""
    a3, y = 0.3, 0.0
    article = -y * np.log(a3) + (1 - y) * np.log(1 - a3)
    params, X, Y = _logit_problem(np.log(a3 / (1 - a3)), y)
    assert article == pytest.approx(-numeric.cost(params, X, Y, "identity", "identity"), rel=1e-12)
    assert article < 0  # a loss that is negative: clearly wrong


def test_article_epsilon_shift_gives_nan_when_saturated():
    A3 = 1.0 / (1.0 + np.exp(-np.array([[40.0]])))  # == 1.0 in float64
    with np.errstate(invalid="ignore"):
        shifted = np.log(1 - (A3 + 1e-8))
    assert A3[0, 0] == 1.0 and np.isnan(shifted[0, 0])
    params, X, Y = _logit_problem(40.0, 0.0)
    assert numeric.cost(params, X, Y) == pytest.approx(40.0, rel=1e-12)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "mutate, error, match",
    [
        (lambda p, X, Y: p.update(b1=p["b1"].ravel()), ShapeError, r"b1 must be a 2-D array, got shape \(4,\)"),
        (lambda p, X, Y: p.update(W2=p["W2"].T), ShapeError, r"W2 has shape \(4, 3\), expected \(3, 4\)"),
        (lambda p, X, Y: p.update(b3=np.zeros((1, 1))), ShapeError, r"b3 has shape \(1, 1\), expected \(2, 1\)"),
        (lambda p, X, Y: p.update(W1=np.full((N, D), np.nan)), NonFiniteError, "W1 holds a non-finite value"),
        (lambda p, X, Y: p.pop("W3"), numeric.InputError, r"params is missing \['W3'\]"),
    ],
    ids=["1-D bias", "transposed W2", "b3 wrong rows", "NaN in W1", "missing W3"],
)
def test_bad_params_are_named(problem, mutate, error, match):
    params, X, Y = problem
    params = dict(params)
    mutate(params, X, Y)
    with pytest.raises(error, match=match):
        numeric.backward(params, X, Y)


def test_bad_inputs_and_targets_are_named(problem):
    params, X, Y = problem
    with pytest.raises(ShapeError, match=r"X has shape \(4, 6\), expected \(5, 6\)|W1 has shape"):
        numeric.forward(params, X[:4])
    with pytest.raises(ShapeError, match=r"Y has shape \(2, 5\), expected \(2, 6\)"):
        numeric.cost(params, X, Y[:, :5])
    with pytest.raises(TargetRangeError, match=r"Y must lie in \[0, 1\]"):
        numeric.cost(params, X, Y + 1.5)
    with pytest.raises(NonFiniteError, match="X holds a non-finite value inf"):
        numeric.forward(params, np.full_like(X, np.inf))
    with pytest.raises(UnknownActivationError, match="known: sigmoid, tanh, relu"):
        numeric.forward(params, X, f="swishh")


def test_activation_as_value_derivative_pair(problem):
    params, X, Y = problem
    pair = (np.tanh, lambda z: 1 - np.tanh(z) ** 2)
    a = numeric.backward(params, X, Y, f=pair, g=pair)
    b = numeric.backward(params, X, Y, f="tanh", g="tanh")
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-12)


def test_numeric_never_imports_sympy():
    import subprocess
    import sys

    code = "import sys, numeric, numeric.gradcheck, numeric.compare; print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_backward_names_a_non_finite_input_found_through_Z1(problem, bad):
    """backward scans W1 X + b1 rather than all of X; the error still names X's entry."""
    params, X, Y = problem
    X = X.copy()
    X[2, 3] = bad
    params = dict(params, W1=params["W1"].copy())
    params["W1"][:, 2] = 0.0  # even a zero column propagates: 0 * inf = nan
    with pytest.raises(NonFiniteError, match=r"X holds a non-finite value .* at index \(2, 3\)"):
        numeric.backward(params, X, Y)


def test_backward_reports_overflow_of_W1_X():
    params = numeric.init_params(2, 2, 2, seed=0)
    params["W1"][:] = 1e308
    with pytest.raises(NonFiniteError, match="W1 X \\+ b1 overflows float64"):
        numeric.backward(params, np.full((2, 3), 1e10), np.ones((1, 3)))


def test_backward_reports_overflow_of_the_second_layer():
    """Non-finite blocks are never returned as gradients (they are not computed)."""
    params = numeric.init_params(2, 3, 2, seed=0)
    params["W2"][:] = 1.7e308
    with pytest.raises(NonFiniteError, match=r"W2 A1 \+ b2 overflows float64"):
        numeric.backward(params, np.full((2, 4), 3.0), np.ones((1, 4)))


def test_an_empty_batch_is_refused():
    params = numeric.init_params(2, 3, 2, seed=0)
    with pytest.raises(ShapeError, match=r"at least one example"):
        numeric.backward(params, np.zeros((2, 0)), np.zeros((1, 0)))


def test_target_error_prints_a_plain_number():
    """A bad target is named with a plain number, never numpy's repr (``np.float64(2.0)``)."""
    P = numeric.init_params(2, 2, 2)
    with pytest.raises(numeric.TargetRangeError, match=r"Y\[0, 0\] = 2$"):
        numeric.backward(P, np.ones((2, 3)), np.full((1, 3), 2.0))
