"""Regressions from the second adversarial round on ``check_activation``.

Each defect has a negative control: the wrong input is called wrong, a right
variant is still called right.
"""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import sympy as sp

from derive.activation_check.check import StepTimeout, check_activation
from derive.cli.check_activation import register
from numeric.errors import InputError


def _sigmoid(x):
    return 0.5 * (1 + np.tanh(x / 2))  # stable at both ends


def _silu_d(x):
    s = _sigmoid(x)
    return s * (1 + x * (1 - s))


def _cli(argv):
    parser = argparse.ArgumentParser(prog="backprop-derive")
    register(parser.add_subparsers())
    args = parser.parse_args(["check-activation", *argv])
    return args.run(args)


# ------------------------------------------------------------------ wrong values at large |z|
_SLOW = (pytest.mark.slow,)  # over ~1 s: a lighter sibling of each stays in the default run
WRONG_FAR = [  # (activation, which, callable, an input where it is wrong)
    pytest.param("x*sigmoid(x)", "derivative", lambda x: np.where(x < -1e5, -1.0, _silu_d(x)), -1e6, id="silu' -1"),
    pytest.param("x*sigmoid(x)", "derivative", lambda x: np.where(np.abs(x) > 2e4, 0.5, _silu_d(x)), None,
                 id="silu' 0.5", marks=_SLOW),
    pytest.param("x*sigmoid(x)", "numpy_value", lambda x: np.where(x < -1e5, 1.0, x * _sigmoid(x)), -1e6, id="silu 1"),
    pytest.param("log(1+exp(x))", "numpy_value", lambda x: np.where(x > 1e5, 2 * x, np.logaddexp(0.0, x)), 1e6,
                 id="softplus 2z", marks=_SLOW),
]


@pytest.mark.parametrize("activation, which, fn, at", WRONG_FAR)
def test_a_wrong_value_at_a_large_input_is_a_fault_not_a_precision_warning(activation, which, fn, at):
    report = check_activation(activation, network=False, points=5, **{which: fn})
    assert not report.ok, str(report)
    if which == "derivative":
        assert report.claim.status == "counterexample"
        if at is not None:
            assert report.claim.counterexample.z == at
    else:
        check = next(c for c in report.numpy_checks if c.name == which)
        wrong = next(f for f in check.findings if f.kind == "wrong")
        assert wrong.z == at and "a wrong formula, not rounding" in str(wrong)


def test_right_formulas_losing_precision_stay_warnings():
    """Negative controls: the same large inputs with right code pass; a right formula that
    cancels (naive SquarePlus: 0 at z = -1e8 where the truth is 1e-8) is a warning, not wrong;
    1 - tanh(z)**2 (0 at z = 30, truth 3.5e-26) passes."""
    right = check_activation("x*sigmoid(x)", derivative=_silu_d, numpy_value=lambda x: x * _sigmoid(x),
                             network=False, points=5)
    assert right.ok and not right.all_warnings, str(right)
    naive = check_activation("(z + sqrt(z**2 + 4))/2", numpy_value=lambda x: (x + np.sqrt(x * x + 4)) / 2,
                             network=False, points=5)
    check = naive.numpy_checks[0]
    assert not any(f.kind == "wrong" for f in check.findings), str(check)
    assert any(w.kind == "inaccurate" for w in check.warnings)
    tanh = check_activation("tanh", derivative=lambda x: 1 - np.tanh(x) ** 2, network=False, points=5)
    assert tanh.ok and tanh.claim.status == "agrees", str(tanh)


@pytest.mark.slow
def test_a_hanging_numpy_callable_is_named_not_the_expression():
    def hang(x):
        while True:
            pass

    with pytest.raises(StepTimeout, match="the NumPy callable numpy_value did not return within the limit") as exc:
        check_activation("tanh", numpy_value=hang, network=False, points=5, time_limit=0.5)
    assert "too complex" not in str(exc.value) and exc.value.step == "NumPy checks"


# ------------------------------------------------------------------ output form: a fixed budget
@pytest.mark.parametrize("activation", ["tanh(2*tanh(x))", "tanh(tanh(tanh(tanh(x))))",
                                        pytest.param("tanh(z)**3", marks=_SLOW),
                                        pytest.param("exp(tanh(z))", marks=_SLOW)])
def test_nested_hyperbolic_output_form_is_not_searched(activation):
    """Decided by the structure of f (never wall time): the same note on any machine under any load."""
    report = check_activation(activation, network=False, points=5)
    assert report.ok and report.output_form is None
    assert report.output_form_note.startswith("not searched: a tanh sits inside another function or power")
    assert "not searched" in str(report) and "StepTimeout" not in str(report)


@pytest.mark.parametrize("activation, form", [("tanh(z/2)", "1/2 - a**2/2"),
                                              pytest.param("softplus", "1 - exp(-a)", marks=_SLOW),
                                              ("atan(z)", "cos(a)**2"), ("exp(z) - 1", "a + 1")])
def test_outermost_functions_keep_their_output_form(activation, form):
    report = check_activation(activation, network=False, points=5)
    assert str(report.output_form) == form, report.output_form_note


# ------------------------------------------------------------------ parameters are never the variable
@pytest.mark.parametrize("activation, params, match", [
    ("where(x>0, x, alpha*(exp(x)-1))", {"x": 1}, "parameter 'x' is the variable's name"),
    ("2*x", {"x": 1}, "parameter 'x' is the variable's name"),
    ("alpha*2 + beta", {"alpha": 1, "beta": 2}, r"every name in the formula is a parameter \(alpha, beta\)"),
    (sp.Symbol("t") * 2, {"t": 1}, "parameter 't' is the variable's name"),
])
def test_a_parameter_naming_the_variable_is_an_input_error(activation, params, match):
    with pytest.raises(InputError, match=match):
        check_activation(activation, params=params, network=False, points=5)


def test_a_parameter_naming_the_variable_exits_2_on_the_cli(capsys):
    assert _cli(["where(x>0, x, alpha*(exp(x)-1))", "--param", "x=1", "--no-network"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "parameter 'x' is the variable's name" in err and err.count("\n") == 1
    # negative control: the real parameter is accepted
    assert _cli(["where(x>0, x, alpha*(exp(x)-1))", "--param", "alpha=1", "--no-network"]) == 0
    assert "RESULT: PASS" in capsys.readouterr().out


# ------------------------------------------------------------------ sympy input in another symbol
def test_a_sympy_claim_in_another_symbol_is_an_input_error():
    with pytest.raises(InputError, match="claimed derivative is written in 'y', but the activation's variable is 'x'"):
        check_activation(sp.sympify("x**2/2 + x"), derivative=sp.sympify("y + 1"), network=False, points=5)
    right = check_activation(sp.sympify("x**2/2 + x"), derivative=sp.sympify("x + 1"), network=False, points=5)
    assert right.ok and right.claim.status == "proven"
    wrong = check_activation(sp.sympify("x**2/2 + x"), derivative=sp.sympify("x + 2"), network=False, points=5)
    assert not wrong.ok and wrong.claim.status == "counterexample"


def test_a_sympy_lambda_is_an_input_error():
    x = sp.Symbol("x")
    with pytest.raises(InputError, match="the activation is a sympy Lambda; pass its body"):
        check_activation(sp.Lambda(x, x**2), network=False, points=5)
    with pytest.raises(InputError, match="the claimed derivative is a sympy Lambda"):
        check_activation(x**2, derivative=sp.Lambda(x, 2 * x), network=False, points=5)
    assert check_activation(sp.Lambda(x, x**2).expr, network=False, points=5).variable == "x"  # its body is fine
