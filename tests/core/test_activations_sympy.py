"""derive.activations: the sympy catalog mirrors numeric's, and stable_form is exact."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import derive
import numeric
from derive.activations import numpy_function, stable_form, z
from derive.expr import activation_expr

GRID = np.concatenate([np.linspace(-40, 40, 801), [-700.0, -30.0, -1e-8, 0.0, 1e-8, 30.0, 700.0]])


def test_same_names_as_numeric():
    assert list(derive.CATALOG) == list(numeric.ACTIVATIONS)


@pytest.mark.parametrize("name", list(numeric.ACTIVATIONS))
def test_values_and_derivatives_match_numeric(name):
    expr = activation_expr(name)
    act = numeric.ACTIVATIONS[name]
    x = GRID if name != "gelu" else GRID[np.abs(GRID) < 40]
    for got, want in ((numpy_function(expr)(x), act.value(x)), (numpy_function(sp.diff(expr, z))(x), act.derivative(x))):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize(
    "expr",
    [1 - sp.tanh(z) ** 2, 1 + sp.tanh(3 * z), 1 - derive.sigmoid(z), 1 + sp.erf(z), 2 * sp.exp(z) - 2,
     z * (1 - sp.tanh(derive.softplus(z)) ** 2) + 5],
    ids=["sech2", "1+tanh", "1-sigmoid", "1+erf", "expm1", "nested"],
)
def test_stable_form_is_equal(expr):
    stable = stable_form(expr)
    assert stable != expr
    diff = (stable - expr).rewrite(sp.exp)
    x = np.linspace(-3, 3, 13)
    assert np.allclose(sp.lambdify(z, diff.rewrite(sp.erf), "mpmath")(0.7), 0, atol=1e-14)
    np.testing.assert_allclose(numpy_function(stable)(x), numpy_function(expr)(x), rtol=1e-12)


def test_stable_form_keeps_the_tails():
    x = np.array([-40.0, 40.0])
    assert np.all(numpy_function(sp.diff(sp.tanh(z), z))(x) > 0)  # 1 - tanh^2 would give 0
    assert numpy_function(sp.diff(derive.sigmoid(z), z))(np.array([40.0]))[0] == pytest.approx(np.exp(-40), rel=1e-12)


def test_parameters_and_errors():
    assert activation_expr("leaky_relu", alpha=0.2) == sp.Piecewise((z / 5, z <= 0), (z, True))
    with pytest.raises(derive.InputError, match="accepted: alpha"):
        activation_expr("leaky_relu", beta=1)
    with pytest.raises(derive.UnknownActivationError, match="known: sigmoid, tanh"):
        activation_expr("swishh")
    with pytest.raises(derive.InputError, match=r"depend on z only; give values for \['a'\]"):
        activation_expr(sp.Symbol("a") * z)
    with pytest.raises(TypeError, match="catalog name or a sympy expression"):
        activation_expr(3.0)


@pytest.mark.parametrize("expr, expected", [
    (sp.sign(z), sp.Integer(0)),
    (z * sp.sign(z), sp.sign(z)),
    (sp.Heaviside(z) * z, sp.Heaviside(z)),
    (sp.floor(z**2) + z, sp.Integer(1)),
    (sp.ceiling(z) * 0 + sp.tanh(z), 1 - sp.tanh(z) ** 2),
    (sp.Max(z, 0), sp.Heaviside(z)),
], ids=["sign", "z*sign", "heaviside", "floor", "ceiling", "max"])
def test_derivative_expr_is_the_almost_everywhere_derivative(expr, expected):
    """No DiracDelta or unevaluated floor derivative ever reaches generated code."""
    d = derive.activations.derivative_expr(expr)
    assert not d.has(sp.DiracDelta, sp.Derivative, sp.Subs)
    assert sp.simplify(d - expected) == 0
    x = np.array([-1.5, -0.5, 0.5, 1.5])
    assert np.all(np.isfinite(numpy_function(d)(x)))


def test_derivative_expr_keeps_smooth_derivatives_unchanged():
    """Negative control: a smooth activation's derivative is sympy's diff, untouched."""
    e = z * derive.sigmoid(z)
    assert derive.activations.derivative_expr(e) == sp.diff(e, z)
