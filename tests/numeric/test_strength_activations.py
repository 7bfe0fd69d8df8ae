"""Strength tests for numeric.activations: the fused kernels, the fast-path
conditions, value_and_derivative, repr, derivative_from_output's contract and
the wording of the errors.

Written to kill the mutants that survived a sampled mutation run
(``python tools/mutate.py --area numeric``); each test states a behaviour.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from numeric.activations import ACTIVATIONS, Activation, get_activation
from numeric.errors import InputError, UnknownActivationError

Z = np.concatenate([np.linspace(-8.0, 8.0, 161), [-1e4, -750.0, -30.0, 30.0, 750.0, 1e4]])


def _separately(act: Activation, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return act.value(z), act.derivative(z)


# ---- fused kernels against value and derivative --------------------------

FUSED_CASES = [
    ("sigmoid", {}), ("tanh", {}), ("relu", {}), ("identity", {}),
    ("swish", {}), ("swish", {"beta": 0.5}), ("swish", {"beta": 2.0}), ("swish", {"beta": 3.7}),
    ("leaky_relu", {}), ("leaky_relu", {"alpha": 0.3}), ("leaky_relu", {"alpha": 1.0}),
    ("leaky_relu", {"alpha": 1.5}), ("leaky_relu", {"alpha": 2.0}), ("leaky_relu", {"alpha": -0.5}),
    ("leaky_relu", {"alpha": 0.0}),
    ("elu", {}), ("softplus", {}), ("gelu", {}),  # no kernel: the two functions are used
]
FUSED_IDS = [name + "".join(f"({k}={v})" for k, v in p.items()) for name, p in FUSED_CASES]


@pytest.mark.parametrize(("name", "params"), FUSED_CASES, ids=FUSED_IDS)
def test_value_and_derivative_equals_the_two_functions(name: str, params: dict) -> None:
    act = get_activation(name, **params)
    value, deriv = _separately(act, Z)
    a, d = act.value_and_derivative(Z.copy())
    np.testing.assert_allclose(a, value, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(d, deriv, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("beta", [0.5, 2.0, 3.7], ids=["beta=0.5", "beta=2", "beta=3.7"])
def test_swish_with_beta_has_the_textbook_derivative(beta: float) -> None:
    # swish_beta(z) = z sigma(beta z); d/dz = sigma(beta z) + beta z sigma(beta z)(1 - sigma(beta z))
    # (Ramachandran, Zoph, Le, "Searching for activation functions", 2017)
    z = np.linspace(-6.0, 6.0, 121)
    s = 1.0 / (1.0 + np.exp(-beta * z))
    act = get_activation("swish", beta=beta)
    a, d = act.value_and_derivative(z.copy())
    np.testing.assert_allclose(a, z * s, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(d, s + beta * z * s * (1.0 - s), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("alpha", [1.25, 1.5, 2.0], ids=["1.25", "1.5", "2"])
def test_leaky_relu_with_alpha_above_one_is_not_max(alpha: float) -> None:
    # for alpha > 1, max(z, alpha z) is alpha z for z > 0: the activation is z there
    act = get_activation("leaky_relu", alpha=alpha)
    z = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    want_a = np.array([-2.0 * alpha, -0.5 * alpha, 0.0, 0.5, 2.0])
    want_d = np.array([alpha, alpha, alpha, 1.0, 1.0])
    for a, d in (act.value_and_derivative(z.copy()), _separately(act, z)):
        np.testing.assert_array_equal(a, want_a)
        np.testing.assert_array_equal(d, want_d)


@pytest.mark.parametrize("alpha", [-0.5, 0.0, 0.3, 1.0], ids=["-0.5", "0", "0.3", "1"])
def test_leaky_relu_values_at_and_around_the_kink(alpha: float) -> None:
    act = get_activation("leaky_relu", alpha=alpha)
    z = np.array([-3.0, -1e-300, 0.0, 1e-300, 3.0])
    a, d = act.value_and_derivative(z.copy())
    np.testing.assert_array_equal(a, [-3.0 * alpha, -1e-300 * alpha, 0.0, 1e-300, 3.0])
    np.testing.assert_array_equal(d, [alpha, alpha, alpha, 1.0, 1.0])


@pytest.mark.parametrize(("name", "params"), [
    ("relu", {}), ("leaky_relu", {}), ("leaky_relu", {"alpha": 0.2}), ("leaky_relu", {"alpha": 1.5}),
    ("elu", {"alpha": 0.5}), ("selu", {}),
], ids=["relu", "leaky_relu", "leaky_relu(0.2)", "leaky_relu(1.5)", "elu(0.5)", "selu"])
def test_complex_step_at_a_kink_follows_the_kink_convention(name: str, params: dict) -> None:
    # the linear branch is chosen by Re z > 0, so at z = 0 + ih the complex step gives the left derivative
    act = get_activation(name, **params)
    h = 1e-20
    at_zero = act.value(np.array([0.0 + 1j * h]))
    assert at_zero.imag[0] / h == pytest.approx(float(act.derivative(0.0)), rel=1e-12)
    assert abs(at_zero.real[0]) < 1e-30  # O(h^2)


def test_sigmoid_and_tanh_kernels_keep_both_tails() -> None:
    z = np.array([-745.0, -700.0, -40.0, 40.0, 700.0, 745.0])
    for name in ("sigmoid", "tanh"):
        act = ACTIVATIONS[name]
        a, d = act.value_and_derivative(z.copy())
        value, deriv = _separately(act, z)
        # the kernel clamps z at -700 (exp(-z) stays finite): below, sigmoid is ~1e-304, not less
        np.testing.assert_allclose(a, value, rtol=1e-13, atol=1e-300)
        np.testing.assert_allclose(d, deriv, rtol=1e-12, atol=1e-300)


def test_value_and_derivative_keeps_its_input_unless_told() -> None:
    z = np.linspace(-3.0, 3.0, 13)
    before = z.copy()
    a, d = ACTIVATIONS["swish"].value_and_derivative(z)
    np.testing.assert_array_equal(z, before)  # overwrite=False: input intact
    a2, d2 = ACTIVATIONS["swish"].value_and_derivative(z, overwrite=True)
    np.testing.assert_array_equal(a2, a)
    np.testing.assert_array_equal(d2, d)
    assert not np.array_equal(z, before)  # the kernel used z as scratch


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.complex128], ids=["float32", "int", "complex"])
def test_value_and_derivative_of_other_dtypes_uses_the_two_functions(dtype: type) -> None:
    z = np.array([-2, -1, 1, 2]).astype(dtype)
    for name in ("swish", "leaky_relu", "sigmoid"):
        act = ACTIVATIONS[name]
        a, d = act.value_and_derivative(z)
        value, deriv = _separately(act, z)
        np.testing.assert_array_equal(a, value)
        np.testing.assert_array_equal(d, deriv)


def test_value_and_derivative_under_strict_errstate() -> None:
    z = np.array([-1e4, -800.0, -1e-8, 0.0, 1e-8, 800.0, 1e4])
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        for act in ACTIVATIONS.values():
            a, d = act.value_and_derivative(z.copy())
            assert np.all(np.isfinite(a)) and np.all(np.isfinite(d)), act.name


def test_value_and_derivative_of_a_custom_pair() -> None:
    act = get_activation((np.sin, np.cos))
    z = np.linspace(-1.0, 1.0, 5)
    a, d = act.value_and_derivative(z)
    np.testing.assert_array_equal(a, np.sin(z))
    np.testing.assert_array_equal(d, np.cos(z))


# ---- derivative_from_output: when given, it is exact -----------------------

@pytest.mark.parametrize(("name", "params"), [
    ("elu", {"alpha": -0.5}), ("elu", {"alpha": -2.0}), ("elu", {"alpha": 0.0}),
    ("selu", {"scale": 1.0, "alpha": -1.0}), ("selu", {"scale": -1.0, "alpha": 1.0}),
    ("selu", {"scale": 0.0, "alpha": 1.0}), ("leaky_relu", {"alpha": -0.5}),
    ("leaky_relu", {"alpha": 0.0}),
], ids=["elu-0.5", "elu-2", "elu0", "selu-alpha", "selu-scale", "selu-scale0", "leaky-0.5", "leaky0"])
def test_derivative_from_output_is_none_or_exact_for_any_parameters(name: str, params: dict) -> None:
    act = get_activation(name, **params)
    z = np.linspace(-3.0, 3.0, 61)
    if act.derivative_from_output is not None:
        np.testing.assert_allclose(act.derivative_from_output(act.value(z)), act.derivative(z),
                                   rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("name", "params"), [
    ("elu", {"alpha": -0.5}), ("selu", {"scale": 1.0, "alpha": -1.0}),
    ("selu", {"scale": -1.0, "alpha": 1.0}), ("leaky_relu", {"alpha": -0.5}),
], ids=["elu-0.5", "selu-alpha", "selu-scale", "leaky-0.5"])
def test_no_output_formula_where_the_output_does_not_give_the_branch(name: str, params: dict) -> None:
    # a negative alpha (or scale) makes f(z) > 0 on both sides of 0: f' cannot be read from f
    assert get_activation(name, **params).derivative_from_output is None


def test_elu_like_output_formula_on_the_negative_branch() -> None:
    for act in (get_activation("elu", alpha=0.5), get_activation("selu", scale=2.0, alpha=0.3)):
        scale, alpha = act.params.get("scale", 1.0), act.params["alpha"]
        z = np.array([-5.0, -1.0, -0.1, 0.0, 0.1, 1.0])
        np.testing.assert_allclose(act.derivative_from_output(act.value(z)),
                                   np.where(z > 0, scale, scale * alpha * np.exp(z)), rtol=1e-14)


def test_softsign_and_softplus_output_formulas() -> None:
    z = np.linspace(-4.0, 4.0, 17)
    ss = ACTIVATIONS["softsign"]
    np.testing.assert_allclose(ss.derivative_from_output(ss(z)), 1.0 / (1.0 + np.abs(z)) ** 2, rtol=1e-14)
    sp = ACTIVATIONS["softplus"]
    np.testing.assert_allclose(sp.derivative_from_output(sp(z)), 1.0 / (1.0 + np.exp(-z)), rtol=1e-14)


# ---- repr and parameters ---------------------------------------------------

@pytest.mark.parametrize(("act", "text"), [
    (ACTIVATIONS["tanh"], "Activation('tanh')"),
    (get_activation("leaky_relu", alpha=0.2), "Activation('leaky_relu', alpha=0.2)"),
    (get_activation("selu", scale=2, alpha=0.5), "Activation('selu', scale=2.0, alpha=0.5)"),
    (ACTIVATIONS["swish"], "Activation('swish', beta=1.0)"),
], ids=["no-params", "one", "two-in-catalog-order", "default"])
def test_repr_is_short_and_names_the_parameters(act: Activation, text: str) -> None:
    assert repr(act) == text


def test_parameters_override_defaults_and_keep_the_others() -> None:
    act = get_activation("selu", alpha=0.5)
    assert act.params["alpha"] == 0.5
    assert act.params["scale"] == ACTIVATIONS["selu"].params["scale"]
    assert get_activation("swish", beta="2.5").params == {"beta": 2.5}  # a numeric string is a number
    assert get_activation("leaky_relu", alpha=np.float32(0.25)).params["alpha"] == 0.25


def test_default_parameters_of_the_catalog() -> None:
    assert ACTIVATIONS["leaky_relu"](np.array([-100.0]))[0] == -1.0  # alpha = 0.01
    assert ACTIVATIONS["swish"].params == {"beta": 1.0}
    assert ACTIVATIONS["elu"].params == {"alpha": 1.0}
    assert ACTIVATIONS["elu"](np.array([-50.0]))[0] == pytest.approx(-1.0, abs=1e-15)


def test_kinks_and_rough_points() -> None:
    assert {n for n, a in ACTIVATIONS.items() if a.kinks} == {"relu", "leaky_relu", "elu", "selu"}
    assert all(a.kinks == (0.0,) for a in ACTIVATIONS.values() if a.kinks)
    assert [n for n, a in ACTIVATIONS.items() if a.rough] == ["softsign"]
    assert ACTIVATIONS["softsign"].rough == (0.0,)


# ---- error wording ----------------------------------------------------------

def test_non_numeric_input_is_refused_with_its_dtype() -> None:
    with pytest.raises(TypeError, match=r"^activations take numeric arrays, not dtype <U1$"):
        ACTIVATIONS["tanh"](np.array(["a"]))


@pytest.mark.parametrize("which", ["value", "derivative"])
def test_gelu_complex_error_names_the_alternative(which: str) -> None:
    with pytest.raises(TypeError, match=r"^gelu \(erf-based\) has no complex implementation; "
                                        r"use 'gelu_tanh' for the complex step, or real input$"):
        getattr(ACTIVATIONS["gelu"], which)(np.array([1j]))


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: get_activation("relux"), UnknownActivationError,
     "unknown activation 'relux'; known: sigmoid, tanh, relu, leaky_relu, swish, gelu, gelu_tanh, "
     "elu, selu, softplus, mish, softsign, identity"),
    (lambda: get_activation("elu", alpha=1.0, beta=2.0, gamma=1.0), InputError,
     "elu got unknown parameter(s) beta, gamma; accepted: alpha"),
    (lambda: get_activation("relu", alpha=1.0), InputError,
     "relu got unknown parameter(s) alpha; accepted: none"),
    (lambda: get_activation("swish", beta=None), InputError,
     "swish parameter beta must be a real number, got None"),
    (lambda: get_activation("swish", beta=float("inf")), InputError,
     "swish parameter beta must be finite, got inf"),
    (lambda: get_activation((np.sin, np.cos), alpha=1.0), InputError,
     "parameters apply only to a catalog name, not to tuple"),
], ids=["unknown-name", "unknown-params", "no-params", "not-a-number", "not-finite", "pair-with-params"])
def test_error_messages_read_exactly(call, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        call()
    assert str(info.value) == message


def test_type_error_lists_the_accepted_kinds() -> None:
    with pytest.raises(TypeError) as info:
        get_activation(3.5)  # type: ignore[arg-type]
    assert str(info.value) == (
        "activation must be a catalog name (one of sigmoid, tanh, relu, leaky_relu, swish, gelu, "
        "gelu_tanh, elu, selu, softplus, mish, softsign, identity), an Activation, or a pair "
        "(value, derivative) of callables; got 3.5")


def test_a_list_pair_is_accepted_and_a_triple_is_not() -> None:
    assert get_activation([np.sin, np.cos]).name == "custom"
    with pytest.raises(TypeError, match="pair"):
        get_activation((np.sin, np.cos, np.tan))  # type: ignore[arg-type]
