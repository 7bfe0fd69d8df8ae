"""Tests of numeric._special (erf, erfc) and the numeric.activations catalog."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

from numeric._special import erf, erfc, normal_pdf
from numeric.activations import ACTIVATIONS, KINK_CONVENTION, Activation, get_activation
from numeric.errors import InputError, UnknownActivationError

TINY = np.finfo(np.float64).tiny
EPS = np.finfo(np.float64).eps

# ---- erf / erfc -----------------------------------------------------------

ERF_GRID = np.concatenate([
    np.linspace(-30.0, 30.0, 60_001),
    np.geomspace(1e-300, 30.0, 2_001),
    -np.geomspace(1e-300, 30.0, 2_001),
    [0.46875, np.nextafter(0.46875, 1.0), 4.0, np.nextafter(4.0, 5.0), 26.0, 26.55, 27.2],
])


def _assert_erf_close(x: np.ndarray) -> None:
    got, ref = np.atleast_1d(erf(x)), np.array([math.erf(v) for v in np.atleast_1d(x)])
    np.testing.assert_allclose(got, ref, rtol=1e-14, atol=0, err_msg="erf")


def _assert_erfc_close(x: np.ndarray) -> None:
    got, ref = np.atleast_1d(erfc(x)), np.array([math.erfc(v) for v in np.atleast_1d(x)])
    normal = ref >= TINY  # relative where representable, absolute where it underflows
    np.testing.assert_allclose(got[normal], ref[normal], rtol=1e-14, atol=0, err_msg="erfc")
    np.testing.assert_allclose(got[~normal], ref[~normal], rtol=0, atol=TINY, err_msg="erfc tail")


def test_erf_matches_math_on_dense_grid() -> None:
    _assert_erf_close(ERF_GRID)


def test_erfc_matches_math_on_dense_grid() -> None:
    _assert_erfc_close(ERF_GRID)


@given(st.floats(min_value=-30.0, max_value=30.0))
def test_erf_and_erfc_match_math_on_any_float(x: float) -> None:
    _assert_erf_close(np.array(x))
    _assert_erfc_close(np.array(x))


def test_erf_special_values() -> None:
    x = np.array([np.inf, -np.inf, np.nan, 0.0, 40.0, -40.0])
    np.testing.assert_array_equal(erf(x), [1.0, -1.0, np.nan, 0.0, 1.0, -1.0])
    np.testing.assert_array_equal(erfc(x), [0.0, 2.0, np.nan, 1.0, 0.0, 2.0])
    assert math.copysign(1.0, erf(-0.0)) == -1.0
    assert isinstance(erf(0.5), np.float64) and erf(np.ones((2, 3))).shape == (2, 3)


def test_erf_is_warning_free_under_strict_errstate() -> None:
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        erf(ERF_GRID), erfc(ERF_GRID), erfc(np.array([1e300, -1e300, np.inf, np.nan]))


def test_normal_pdf() -> None:
    x = np.linspace(-40.0, 40.0, 801)
    np.testing.assert_allclose(normal_pdf(x), np.exp(-x * x / 2) / math.sqrt(2 * math.pi),
                               rtol=1e-14, atol=0)
    assert normal_pdf(np.inf) == 0.0


# ---- derivative checkers (shared by the tests and the negative control) ---

def assert_matches_central_difference(act: Activation, z: np.ndarray, *,
                                      h: float = 1e-6, rtol: float = 1e-6) -> None:
    """Central difference vs ``act.derivative``; tolerance adds the FD roundoff."""
    zp, zm = z + h, z - h
    fd = (act.value(zp) - act.value(zm)) / (zp - zm)
    expected = act.derivative(z)
    roundoff = 16 * EPS * np.maximum(np.abs(act.value(zp)), np.abs(act.value(zm))) / h
    bad = np.abs(fd - expected) > rtol * np.abs(expected) + roundoff
    if np.any(bad):
        i = int(np.argmax(bad))
        raise AssertionError(f"{act.name}: derivative {expected[i]!r} but central "
                             f"difference {fd[i]!r} at z = {z[i]!r} "
                             f"({int(bad.sum())} of {bad.size} points differ)")


def _away_from_kinks(act: Activation, z: np.ndarray) -> np.ndarray:
    keep = np.ones(z.shape, dtype=bool)
    for kink in act.kinks:
        keep &= np.abs(z - kink) > 1e-3
    return z[keep]


CASES = list(ACTIVATIONS.values()) + [
    get_activation("leaky_relu", alpha=0.2),
    get_activation("swish", beta=1.7),
    get_activation("elu", alpha=0.5),
    get_activation("selu", scale=2.0, alpha=0.3),
]
IDS = [a.name + "".join(f"({k}={v})" for k, v in a.params.items()) if i >= len(ACTIVATIONS)
       else a.name for i, a in enumerate(CASES)]
ANALYTIC = [(a, i) for a, i in zip(CASES, IDS) if a.analytic]
FROM_OUTPUT = [(a, i) for a, i in zip(CASES, IDS) if a.derivative_from_output is not None]
GRID = np.linspace(-20.0, 20.0, 1601)


@pytest.mark.parametrize("act", CASES, ids=IDS)
def test_derivative_matches_central_difference(act: Activation) -> None:
    assert_matches_central_difference(act, _away_from_kinks(act, GRID))


@given(st.sampled_from(CASES), st.floats(min_value=-20.0, max_value=20.0))
def test_derivative_matches_central_difference_anywhere(act: Activation, z: float) -> None:
    points = _away_from_kinks(act, np.array([z]))
    if points.size:
        assert_matches_central_difference(act, points)


def test_negative_control_wrong_derivative_fails_the_check() -> None:
    sigmoid = ACTIVATIONS["sigmoid"]
    wrong = Activation("wrong_sigmoid", sigmoid.value,
                       lambda z: sigmoid(z) * (1.0 + sigmoid(z)))
    with pytest.raises(AssertionError, match="wrong_sigmoid: derivative"):
        assert_matches_central_difference(wrong, GRID)
    off_by_a_bit = Activation("tanh_off", np.tanh, lambda z: (1 - np.tanh(z) ** 2) * (1 + 1e-4))
    with pytest.raises(AssertionError, match="tanh_off"):
        assert_matches_central_difference(off_by_a_bit, GRID)


@pytest.mark.parametrize("act", [a for a, _ in ANALYTIC], ids=[i for _, i in ANALYTIC])
def test_complex_step_matches_derivative(act: Activation) -> None:
    z = _away_from_kinks(act, GRID)
    h = 1e-20
    out = act.value(z + 1j * h)
    assert out.dtype == np.complex128
    np.testing.assert_allclose(out.imag / h, act.derivative(z), rtol=1e-12, atol=0)
    np.testing.assert_allclose(out.real, act.value(z), rtol=1e-13, atol=1e-30)  # O(h^2)


def test_analytic_set_and_gelu_rejects_complex() -> None:
    assert [n for n, a in ACTIVATIONS.items() if not a.analytic] == ["gelu"]
    gelu = ACTIVATIONS["gelu"]
    with pytest.raises(TypeError, match="gelu.*complex"):
        gelu(np.array([1.0 + 1e-20j]))
    with pytest.raises(TypeError, match="gelu.*complex"):
        gelu.derivative(np.array([1.0 + 1e-20j]))


@pytest.mark.parametrize("act", [a for a, _ in FROM_OUTPUT], ids=[i for _, i in FROM_OUTPUT])
def test_derivative_from_output_equals_derivative(act: Activation) -> None:
    z = np.linspace(-3.0, 3.0, 601)  # includes 0: the kink convention must agree
    np.testing.assert_allclose(act.derivative_from_output(act.value(z)), act.derivative(z),
                               rtol=1e-12, atol=0)


def test_derivative_from_output_set() -> None:
    have = [n for n, a in ACTIVATIONS.items() if a.derivative_from_output is not None]
    assert have == ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "softplus",
                    "softsign", "identity"]
    assert get_activation("leaky_relu", alpha=-0.5).derivative_from_output is None


# ---- stability ------------------------------------------------------------

EXTREMES = np.array([-1e4, -700.0, -30.0, -1e-8, 0.0, 1e-8, 30.0, 700.0, 1e4])


@pytest.mark.parametrize("act", CASES, ids=IDS)
def test_finite_and_warning_free_at_extremes(act: Activation) -> None:
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        value, deriv = act.value(EXTREMES), act.derivative(EXTREMES)
        from_out = (act.derivative_from_output(value)
                    if act.derivative_from_output is not None else value)
    for arr in (value, deriv, from_out):
        assert arr.dtype == np.float64 and np.all(np.isfinite(arr))


def test_tails_are_accurate() -> None:
    sig, sp = ACTIVATIONS["sigmoid"], ACTIVATIONS["softplus"]
    np.testing.assert_allclose(sig(-700.0), math.exp(-700.0), rtol=1e-12)
    np.testing.assert_allclose(sig.derivative(-700.0), math.exp(-700.0), rtol=1e-12)
    np.testing.assert_allclose(sig.derivative(700.0), math.exp(-700.0), rtol=1e-12)
    np.testing.assert_allclose(sp(-700.0), math.exp(-700.0), rtol=1e-12)
    np.testing.assert_allclose(ACTIVATIONS["tanh"].derivative(30.0), 4 * math.exp(-60.0),
                               rtol=1e-12)
    np.testing.assert_allclose(ACTIVATIONS["gelu"](-30.0), -30 * math.erfc(30 / math.sqrt(2)) / 2,
                               rtol=1e-13)
    assert sig(-800.0) == 0.0 and sig(800.0) == 1.0 and sp(1e4) == 1e4


def test_real_input_gives_float64_and_scalars_stay_scalars() -> None:
    relu = ACTIVATIONS["relu"]
    assert relu(np.array([-1, 2])).dtype == np.float64
    assert isinstance(ACTIVATIONS["tanh"](0.5), np.float64)
    assert ACTIVATIONS["softsign"](np.ones((2, 3), dtype=np.float32)).dtype == np.float64


# ---- kink convention ------------------------------------------------------

SELU = ACTIVATIONS["selu"]


@pytest.mark.parametrize(("act", "expected"), [
    (ACTIVATIONS["relu"], 0.0),
    (ACTIVATIONS["leaky_relu"], 0.01),
    (get_activation("leaky_relu", alpha=0.2), 0.2),
    (ACTIVATIONS["elu"], 1.0),
    (get_activation("elu", alpha=0.5), 0.5),
    (SELU, SELU.params["scale"] * SELU.params["alpha"]),
], ids=["relu", "leaky_relu", "leaky_relu(alpha=0.2)", "elu", "elu(alpha=0.5)", "selu"])
def test_kink_convention_takes_left_value_at_zero(act: Activation, expected: float) -> None:
    assert KINK_CONVENTION == "left" and act.kinks == (0.0,)
    assert act.value(0.0) == 0.0
    assert act.derivative(0.0) == pytest.approx(expected, rel=1e-15)
    assert act.derivative(np.array([0.0 + 0.0j]))[0] == pytest.approx(expected, rel=1e-15)
    assert act.derivative_from_output(act.value(0.0)) == pytest.approx(expected, rel=1e-15)


# ---- get_activation -------------------------------------------------------

def test_catalog_order_and_defaults() -> None:
    assert list(ACTIVATIONS) == ["sigmoid", "tanh", "relu", "leaky_relu", "swish", "gelu",
                                 "gelu_tanh", "elu", "selu", "softplus", "mish", "softsign",
                                 "identity"]
    assert all(a.name == n for n, a in ACTIVATIONS.items())
    assert dict(ACTIVATIONS["selu"].params) == {"scale": 1.0507009873554804934193349852946,
                                                "alpha": 1.6732632423543772848170429916717}
    assert get_activation("tanh") is ACTIVATIONS["tanh"]
    assert get_activation("leaky_relu", alpha=0.2)(np.array([-1.0]))[0] == -0.2


def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(UnknownActivationError, match="'swishh'.*sigmoid, tanh, relu.*identity"):
        get_activation("swishh")


@pytest.mark.parametrize(("name", "params", "match"), [
    ("leaky_relu", {"beta": 1.0}, "beta.*accepted: alpha"),
    ("selu", {"gamma": 1.0}, "accepted: scale, alpha"),
    ("tanh", {"alpha": 1.0}, "accepted: none"),
    ("elu", {"alpha": "big"}, "real number"),
    ("elu", {"alpha": float("nan")}, "finite"),
], ids=["leaky_relu-beta", "selu-gamma", "tanh-alpha", "elu-string", "elu-nan"])
def test_bad_parameters_raise_input_error(name: str, params: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        get_activation(name, **params)


def test_pair_of_callables_and_instances() -> None:
    act = get_activation((np.sin, np.cos))
    assert (act.name, act.analytic, act.kinks, act.derivative_from_output) == (
        "custom", False, (), None)
    assert_matches_central_difference(act, GRID)
    assert get_activation(ACTIVATIONS["mish"]) is ACTIVATIONS["mish"]
    with pytest.raises(InputError, match="catalog name"):
        get_activation(ACTIVATIONS["mish"], alpha=1.0)


@pytest.mark.parametrize("spec", [42, None, (np.sin,), (np.sin, "cos")],
                         ids=["int", "none", "one-callable", "not-callable"])
def test_other_specs_raise_type_error(spec: object) -> None:
    with pytest.raises(TypeError, match="catalog name.*Activation.*pair"):
        get_activation(spec)  # type: ignore[arg-type]


def test_activation_is_frozen_and_params_read_only() -> None:
    act = get_activation("elu", alpha=0.5)
    with pytest.raises(AttributeError):
        act.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        act.params["alpha"] = 2.0  # type: ignore[index]
    assert hash(act) == hash(act)


def test_gelu_tanh_derivative_is_finite_over_the_whole_float_range():
    """Found by check_activation's float64-wide audit: inf * 0 gave NaN beyond |z| ~ 1e154."""
    act = get_activation("gelu_tanh")
    z = np.array([-np.finfo(float).max, -1e160, -1e100, 1e100, 1e160, np.finfo(float).max])
    with np.errstate(all="raise"):
        assert act.derivative(z).tolist() == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
