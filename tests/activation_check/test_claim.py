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
