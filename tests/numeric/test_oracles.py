"""numeric.gradcheck and numeric.oracles: central differences, Richardson,
complex step and directional checks, per dtype, each shown able to fail."""

from __future__ import annotations

import ast
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import numeric
from numeric.compare import compare_gradients, draw_problem
from numeric.gradcheck import METHODS, default_step, numerical_gradient, tolerance
from numeric.oracles import check_gradients, directional_check
from numeric.strategies import activation_pairs, problems

ANALYTIC = [k for k, a in numeric.ACTIVATIONS.items() if a.analytic]


def _wrong(grads, name="db1", factor=2.0):
    return {**grads, name: grads[name] * factor}


@pytest.fixture(scope="module")
def problem():
    return draw_problem(3, 4, 5, 2, 6, seed=1)


# ---------------------------------------------------------------- tolerances and steps
@pytest.mark.parametrize("method, f64, f32", [
    ("central", 3.7e-08, 2.4e-02), ("richardson", 3.0e-10, 2.9e-03), ("complex", 2.2e-13, 1.2e-04),
])
def test_tolerances_follow_dtype_and_method(method, f64, f32):
    """The table in tolerance()'s docstring: 1000 eps^order."""
    assert tolerance(method).rtol == pytest.approx(f64, rel=0.05)
    assert tolerance(method, np.float32).rtol == pytest.approx(f32, rel=0.05)
    assert tolerance(method).atol == tolerance(method).rtol


def test_steps_are_per_entry_and_per_method():
    x = np.array([0.5, -3.0, 100.0])
    eps = np.finfo(float).eps
    np.testing.assert_allclose(default_step(x), np.cbrt(eps) * np.array([1.0, 3.0, 100.0]))
    np.testing.assert_allclose(default_step(x, method="richardson"), eps ** 0.2 / 8 * np.array([1.0, 3.0, 100.0]))
    assert np.all(default_step(x, method="complex") == 1e-20)
    assert float(default_step(1.0, np.float32)) > 500 * float(default_step(1.0))  # (eps32 / eps64)^(1/3) = 812


def test_bad_method_and_dtype_are_refused(problem):
    P, X, Y = problem
    with pytest.raises(ValueError, match="method must be one of central, richardson, complex"):
        numerical_gradient(P, X, Y, method="forward")
    with pytest.raises(ValueError, match="dtype must be float64 or float32"):
        check_gradients(P, X, Y, dtype=np.float16)
    with pytest.raises(ValueError, match="complex step needs analytic activations"):
        numerical_gradient(P, X, Y, "gelu", "tanh", method="complex")
    with pytest.raises(ValueError, match="directions must be a positive int"):
        directional_check(P, X, Y, directions=0)


# ---------------------------------------------------------------- every-entry oracles
@pytest.mark.parametrize("method", METHODS)
def test_numerical_gradient_agrees_with_backward(problem, method):
    P, X, Y = problem
    errors = compare_gradients(numerical_gradient(P, X, Y, method=method), numeric.backward(P, X, Y))
    assert max(errors.values()) < {"central": 1e-7, "richardson": 1e-9, "complex": 1e-13}[method]


@pytest.mark.parametrize("method", METHODS)
def test_check_gradients_passes_and_fails(problem, method):
    P, X, Y = problem
    report = check_gradients(P, X, Y, method=method)
    assert report.ok, str(report)
    assert report.evaluations == sum(v.size for v in P.values()) * {"central": 2, "richardson": 4, "complex": 1}[method]
    bad = check_gradients(P, X, Y, method=method, grads=_wrong(numeric.backward(P, X, Y)))
    assert bad.failures == ["db1"], str(bad)


def test_per_parameter_report_has_worst_entry_step_and_estimate(problem):
    P, X, Y = problem
    report = check_gradients(P, X, Y, method="richardson")
    c = report.checks["dW1"]
    assert c.where.startswith("(") and c.rel_error < 1e-9 and c.error_estimate is not None
    assert c.step == pytest.approx(float(default_step(P["W1"][ast.literal_eval(c.where)], method="richardson")))
    assert c.evaluations == 4 * P["W1"].size
    text = str(report)
    assert "gradient check (richardson, every entry, float64" in text and "estimate " in text and "dW1" in text
    assert json.loads(json.dumps(report.to_dict()))["checks"]["db3"]["ok"] is True


@pytest.mark.parametrize("step, why", [(0.5, "truncation"), (1e-13, "roundoff")])
def test_negative_control_a_bad_step_fails(problem, step, why):
    P, X, Y = problem
    assert not check_gradients(P, X, Y, step=step).ok, why


def test_richardson_error_estimate_tracks_the_step(problem):
    P, X, Y = problem
    small = check_gradients(P, X, Y, method="richardson").checks["dW2"].error_estimate
    big = check_gradients(P, X, Y, method="richardson", step=0.1).checks["dW2"].error_estimate
    assert small < 1e-9 < big


@settings(max_examples=15)
@given(problems(max_d=3, max_n=3, max_p=3, max_q=2, max_m=4, kink_margin=1e-3,
                activations=activation_pairs(analytic_only=True)),
       st.sampled_from(METHODS))
def test_oracles_pass_on_drawn_problems(problem, method):
    report = check_gradients(problem.params, problem.X, problem.Y, problem.f, problem.g, method=method)
    assert report.ok, f"{problem}\n{report}"


# ---------------------------------------------------------------- directional checks
def test_directional_cost_does_not_grow_with_the_parameter_count():
    counts = {}
    for d in (4, 400):
        P, X, Y = draw_problem(d, 16, 8, 1, 3, seed=0)
        counts[d] = directional_check(P, X, Y, directions=2).evaluations
    assert counts[4] == counts[400] == 2 * 2 * 6
    P, X, Y = draw_problem(4, 3, 2, 1, 3, seed=0)
    assert check_gradients(P, X, Y).evaluations == 2 * sum(v.size for v in P.values())


@pytest.mark.parametrize("method", METHODS)
def test_directional_check_passes_and_catches_one_wrong_entry(method):
    P, X, Y = draw_problem(60, 20, 8, 2, 5, seed=4)
    G = numeric.backward(P, X, Y)
    assert directional_check(P, X, Y, method=method).ok
    one = {k: v.copy() for k, v in G.items()}
    one["dW1"][3, 17] *= 1.1  # one entry of 1200 off by 10%
    assert directional_check(P, X, Y, grads=one, method=method).failures == ["dW1"]


def test_directional_check_takes_a_backward_function():
    P, X, Y = draw_problem(3, 4, 2, 1, 5, seed=2)
    report = directional_check(P, X, Y, grads=lambda p, x, y: _wrong(numeric.backward(p, x, y), "dW3", -1.0))
    assert report.failures == ["dW3"] and report.checks["dW3"].where.startswith("direction")


# ---------------------------------------------------------------- float32
@pytest.mark.parametrize("method", METHODS)
def test_float32_oracles_pass_with_float32_tolerances(method):
    """float32 steps are large: the documented kink margin is 0.05."""
    P, X, Y = draw_problem(3, 4, 3, 2, 5, f="swish", g="leaky_relu", seed=5, kink_margin=0.05)
    report = check_gradients(P, X, Y, method=method, dtype=np.float32)
    assert report.ok and report.dtype == "float32", str(report)
    # ...but float64 tolerances are far too tight for a float32 oracle
    assert not check_gradients(P, X, Y, method=method, dtype=np.float32,
                               rtol=tolerance(method).rtol, atol=tolerance(method).atol).ok


@pytest.mark.parametrize("seed", range(3))
def test_float32_complex_step_is_the_most_accurate_float32_oracle(seed):
    """Documented float32 behaviour: differences reach ~1e-5, the complex step ~1e-7."""
    P, X, Y = draw_problem(3, 4, 3, 2, 5, seed=seed, kink_margin=0.05)
    worst = {m: max(c.rel_error for c in check_gradients(P, X, Y, method=m, dtype=np.float32).checks.values())
             for m in METHODS}
    assert worst["complex"] < 1e-6 and 3e-6 < min(worst["central"], worst["richardson"]) < 1e-3
