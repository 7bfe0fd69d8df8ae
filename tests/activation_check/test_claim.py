"""The symbolic zero-test of claim - f': bounded by fixed budgets, never by wall time."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derive.activation_check.check import check_activation
from derive.activation_check.claim import EXPAND_BUDGET, _expand_work, _is_zero

z = sp.Symbol("z")

# README example: Mish (Misra 2019, arXiv:1908.08681) written with ln(1 + exp(x)), its
# derivative written with softplus, sigmoid and sech.  Sympy's simplify used to spend
# 10-30 s in trigsimp on claim - f' here, so a 5 s limit raised StepTimeout.
MISH = "x * tanh(ln(1 + exp(x)))"
MISH_DERIVATIVE = "tanh(softplus(x)) + x*sigmoid(x)*sech(softplus(x))**2"


def test_readme_mish_example_is_proven_within_the_time_limit():
    report = check_activation(MISH, derivative=MISH_DERIVATIVE,
                              numpy_value=lambda v: v * np.tanh(np.logaddexp(0.0, v)), time_limit=5)
    assert report.ok, str(report)
    assert report.claim.status == "proven", str(report)


@pytest.mark.parametrize("claim", [
    "tanh(softplus(x)) + x*sech(softplus(x))**2",  # the sigmoid factor dropped
    "tanh(softplus(x)) + x*sigmoid(x)*sech(softplus(x))",  # the square dropped
], ids=["no-sigmoid", "no-square"])
def test_miscopied_mish_derivative_fails_with_a_counterexample(claim):
    report = check_activation(MISH, derivative=claim, network=False, time_limit=5)
    assert not report.ok
    assert report.claim.status == "counterexample"
    assert report.claim.counterexample is not None


IDENTITIES = [
    ("sech2", sp.sech(z) ** 2 - (1 - sp.tanh(z) ** 2)),
    ("sech2-of-log", sp.sech(sp.log(sp.exp(z) + 1)) ** 2 + sp.tanh(sp.log(sp.exp(z) + 1)) ** 2 - 1),
    ("double-angle", sp.sin(2 * z) - 2 * sp.sin(z) * sp.cos(z)),
    ("pythagoras", sp.sin(z) ** 2 + sp.cos(z) ** 2 - 1),
    ("cosh-double", sp.cosh(2 * z) - sp.cosh(z) ** 2 - sp.sinh(z) ** 2),
    ("tanh-product", sp.diff(sp.tanh(z / 2) * sp.tanh(2 * z / 3) * sp.tanh(3 * z / 4), z)
     - sum(sp.sech(a) ** 2 * sp.diff(a, z) * sp.Mul(*[sp.tanh(b) for b in (z / 2, 2 * z / 3, 3 * z / 4) if b != a])
           for a in (z / 2, 2 * z / 3, 3 * z / 4))),
]


@pytest.mark.parametrize("expr", [e for _, e in IDENTITIES], ids=[n for n, _ in IDENTITIES])
def test_identities_are_reduced_to_zero(expr):
    assert _is_zero(expr)


NONZERO = [  # negative controls: near misses of the identities above
    ("sech-not-squared", sp.sech(z) - (1 - sp.tanh(z) ** 2)),
    ("double-angle-half", sp.sin(2 * z) - sp.sin(z) * sp.cos(z)),
    ("pythagoras-minus", sp.sin(z) ** 2 - sp.cos(z) ** 2 - 1),
]


@pytest.mark.parametrize("expr", [e for _, e in NONZERO], ids=[n for n, _ in NONZERO])
def test_nonzero_differences_are_not_called_zero(expr):
    assert not _is_zero(expr)


def test_expansion_beyond_the_budget_is_not_attempted():
    # the numerator of a product of six tanh's in exponential form would expand to
    # millions of terms: refused by the estimate, deterministically (no wall time)
    args = [z * (k + 1) / (k + 2) for k in range(6)]
    f = sp.Mul(*[sp.tanh(a) for a in args])
    big = sp.Mul(*[(sp.exp(2 * a) + 1) ** 8 for a in args])  # 9**6 terms
    assert _expand_work(big) > EXPAND_BUDGET
    claim = sum(sp.sech(a) ** 2 * sp.diff(a, z) * sp.Mul(*[sp.tanh(b) for b in args if b != a]) for a in args)
    assert _is_zero(claim - sp.diff(f, z)) is False  # not proven (too large), not a hang


def test_unprovable_true_claim_is_equal_numerically():
    # erf + erfc = 1 is outside the fixed rewritings: a PASS in high precision, not a proof
    report = check_activation("z", derivative="erf(z) + erfc(z)", network=False, time_limit=5)
    assert report.ok, str(report)
    assert report.claim.status == "equal numerically"


def test_unprovable_false_claim_still_has_a_counterexample():
    report = check_activation("z", derivative="erf(z) + erfc(2*z)", network=False, time_limit=5)
    assert not report.ok
    assert report.claim.status == "counterexample"


def test_exponentials_of_coprime_rates_do_not_stall_the_simplify_step():
    # exp(z/97)*exp(z/89) and exp(z/83) share the generator exp(z/8633**...): factor() on
    # that ran for minutes; the degree bound skips it (deterministically) instead
    report = check_activation("exp(z/97)*exp(z/89)/(1 + exp(z/83))", network=False, time_limit=5)
    assert report.ok, str(report)


def test_generator_degree_bound():
    from derive.activation_check.pieces import FACTOR_MAX_DEGREE, _generator_degree
    assert _generator_degree(sp.exp(z / 3) / (1 + sp.exp(z / 2))) == 3  # exp(z/6)**2, **3
    assert _generator_degree(sp.exp(z / 97) * sp.exp(z / 89)) > FACTOR_MAX_DEGREE


# Second adversarial round (2026-11-30): claims that were wrong somewhere the sampling did
# not look, each beside the right claim for the same f (the negative control's twin).
WRONG_WHERE_UNSAMPLED = [
    # ELU with alpha = 1 (Clevert et al. 2015, arXiv:1511.07289): the pieces join smoothly
    # at 0, where f'(0) = 1; the claim's value there was never compared.
    ("where(x>0, x, exp(x)-1)", "where(x==0, 7, where(x>0, 1, exp(x)))", "where(x>0, 1, exp(x))"),
    # sinc written with its removable point (numpy.sinc's convention), f'(0) = 0
    ("where(x==0, 1, sin(x)/x)", "where(x==0, 1, (x*cos(x)-sin(x))/x**2)",
     "where(x==0, 0, (x*cos(x)-sin(x))/x**2)"),
    # ReLU: claims wrong only on (0, 1e-7), inside the old 1e-6 margin around the kink
    ("max(x,0)", "where(x>1e-7, 1, 0)", "heaviside(x, 0)"),
    ("max(x,0)", "where((x>0)&(x<1e-7), 5, heaviside(x,0))", "heaviside(x, 1)"),
    # a term of relative size 1e-10 (passed as "equal" under the old 1e-9 tolerance)
    ("atan(x)", "1/(1+x**2) + exp(-x**2)*1e-10", "1/(1+x**2)"),
    # wrong only beyond |z| = 1e4 (the seeded points stop there)
    ("x/(1+abs(x))", "(1 + (x/1e6)**6)/(1+abs(x))**2", "1/(1+abs(x))**2"),
    ("x*sigmoid(x)", "sigmoid(x)*(1+x*(1-sigmoid(x))) + exp(-(x-1e5)**2)", "sigmoid(x)*(1+x*(1-sigmoid(x)))"),
    # narrow bumps at a number the user wrote
    ("sin(x)", "cos(x) + 0.5*exp(-1e6*(x-3.21)**2)", "cos(x)"),
    ("tanh(x)", "sech(x)**2 + exp(-(x-20)**2*1e3)", "1 - tanh(x)**2"),
]


_IDS = ["elu-join", "sinc-join", "relu-1e-7", "relu-bump", "atan-1e-10", "softsign-1e6", "swish-1e5", "sin-bump",
        "tanh-bump"]
_DEFAULT = {"elu-join", "relu-1e-7", "atan-1e-10", "softsign-1e6"}  # one per kind; the rest in the slow run


@pytest.mark.parametrize("f, wrong, right", [
    pytest.param(*case, id=i, marks=() if i in _DEFAULT else pytest.mark.slow)
    for case, i in zip(WRONG_WHERE_UNSAMPLED, _IDS)])
def test_claim_wrong_off_the_sampled_points_fails_and_its_twin_passes(f, wrong, right):
    bad = check_activation(f, derivative=wrong, network=False, time_limit=20)
    assert not bad.ok and bad.claim.status == "counterexample", str(bad)
    good = check_activation(f, derivative=right, network=False, time_limit=20)
    assert good.ok, str(good)


def test_float_constants_written_back_in_full_pass_and_truncated_ones_fail():
    # SELU (Klambauer et al. 2017, arXiv:1706.02515) with the constants as PyTorch prints them;
    # the claim multiplies them out to the float64 product.
    selu = "1.0507009873554805*where(x>0, x, 1.6732632423543772*(exp(x)-1))"
    ok = check_activation(selu, derivative="where(x>0, 1.0507009873554805, 1.7580993408473766*exp(x))",
                          network=False, time_limit=20)
    assert ok.ok, str(ok)
    # GELU (Hendrycks & Gimpel 2016): 1/sqrt(2 pi) written with 12 digits
    gelu = "0.5*x*(1+erf(x/sqrt(2)))"
    bad = check_activation(gelu, derivative="0.5*erfc(-x/sqrt(2)) + x*exp(-x*x/2)*0.398942280401",
                           network=False, time_limit=20)
    assert not bad.ok and "too few digits" in bad.claim.detail, str(bad)


def test_numpy_code_wrong_only_beyond_1e5_fails():
    """The reference of log(1 + exp(z)) used to saturate at |z| > 1e5 (inf), so NumPy code
    returning NaN there was never compared; the right code still passes."""
    import derive

    bad = derive.check_activation("log(1+exp(x))", network=False,
                                  numpy_value=lambda v: np.where(v > 1e5, np.nan, np.logaddexp(0, v)))
    assert not bad.ok and "1000000" in str(bad), str(bad)
    bad = derive.check_activation("log1p(exp(x))", network=False,  # log1p, as NumPy users write it
                                  numpy_value=lambda v: np.where(v > 1e5, 0.0, np.logaddexp(0, v)))
    assert not bad.ok, str(bad)
    assert derive.check_activation("log(1+exp(x))", network=False, numpy_value=lambda v: np.logaddexp(0, v)).ok


def test_reference_keeps_exp_exact_only_where_its_size_costs_nothing():
    from derive.activation_check.mpref import _evaluate, _mp_function

    assert float(_evaluate(_mp_function(sp.log(1 + sp.exp(z))), 1e300).value) == 1e300
    assert float(_evaluate(_mp_function(z * sp.exp(z) / (1 + sp.exp(z))), 1e6).value) == 1e6
    # sin(exp(1e6)) would need 434,295 digits of pi: there exp still saturates (no value, fast)
    assert not _evaluate(_mp_function(sp.sin(sp.exp(z))), 1e6).usable
    # the wide guard is a finite number (2e308 typed as a float is inf: tanh(exp(1e10)) then
    # ran mpmath's tanh on 4e9 digits for 26 s)
    import mpmath

    from derive.activation_check.mpref import _WIDE_GUARD
    assert mpmath.isfinite(_WIDE_GUARD) and _WIDE_GUARD > 1.7976931348623157e308
