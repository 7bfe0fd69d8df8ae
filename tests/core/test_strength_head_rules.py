"""Golden test of the level-2 head and L2 rules (derive.proof.head_rules):
each rule's name, entry, displayed chain, index form, how it was checked and
its verdict, as ``verify`` and the report print them.

Written to kill the mutants that survived ``python tools/mutate.py --area core``.
The rules are proven once for the module (a few seconds).
"""

from __future__ import annotations

import pytest

from derive.proof import head_index_rules

GOLDEN = [
    ('sigmoid + BCE (sum)', '_Entry(Z[i, k])', 'Derivative(-Sum((1 - Y[r, c])*log(1 - sigmoid(Z[r, c])) + log(sigmoid(Z[r, c]))*Y[r, c], (r, 1, q), (c, 1, m)), Z[i, k])', 'sigmoid(Z[i, k]) - Y[i, k]', 'sympy: diff of the summed BCE (symbolic sizes) minus the index form simplifies to 0', True),
    ('softmax + CE (mean)', 'm*_Entry(Z[i, k])', '-Sum(log(exp(Z[r, c])/Sum(exp(Z[s, c]), (s, 1, q)))*Y[r, c], (r, 1, q), (c, 1, m))/m', 'exp(Z[i, k])/Sum(exp(Z[s, k]), (s, 1, q)) - Y[i, k]', 'sympy: N times the diff of the cost (symbolic sizes, KroneckerDelta summed out) minus the index form reduces to 0, with sum_r Y_rk = 1 substituted; without it the residual is (Sum(Y[r, k], (r, 1, q)) - 1)*exp(Z[i, k])/Sum(exp(Z[s, k]), (s, 1, q))', True),
    ('softmax Jacobian', 'Derivative(A_ik, Z_jk)', 'None', 'A_ik*(-A_jk + KroneckerDelta(i, j))', 'sympy: diff of e^Z_ik / sum_s e^Z_sk (symbolic size) minus the index form is 0', True),
    ('softmax + CE (sum)', '_Entry(Z[i, k])', '-Sum(log(exp(Z[r, c])/Sum(exp(Z[s, c]), (s, 1, q)))*Y[r, c], (r, 1, q), (c, 1, m))', 'exp(Z[i, k])/Sum(exp(Z[s, k]), (s, 1, q)) - Y[i, k]', 'sympy: N times the diff of the cost (symbolic sizes, KroneckerDelta summed out) minus the index form reduces to 0, with sum_r Y_rk = 1 substituted; without it the residual is (Sum(Y[r, k], (r, 1, q)) - 1)*exp(Z[i, k])/Sum(exp(Z[s, k]), (s, 1, q))', True),
    ('identity-mse (half, mean)', 'm*_Entry(Z[i, k])', 'None', 'A_ik - Y_ik', 'sympy: N times the diff of the cost (symbolic sizes, KroneckerDelta summed out) minus the index form reduces to 0', True),
    ('identity-mse (half, sum)', '_Entry(Z[i, k])', 'None', 'A_ik - Y_ik', 'sympy: N times the diff of the cost (symbolic sizes, KroneckerDelta summed out) minus the index form reduces to 0', True),
    ('identity-mse (torch, mean)', 'm*_Entry(Z[i, k])', 'None', '2*(A_ik - Y_ik)/q', 'sympy: N times the diff of the cost (symbolic sizes, KroneckerDelta summed out) minus the index form reduces to 0', True),
    ('identity-mse (torch, sum)', '_Entry(Z[i, k])', 'None', '2*A_ik - 2*Y_ik', 'sympy: N times the diff of the cost (symbolic sizes, KroneckerDelta summed out) minus the index form reduces to 0', True),
    ('sigmoid-mse (half, mean)', 'm*_Entry(Z[i, k])', 'None', 'A_ik*(1 - A_ik)*(A_ik - Y_ik)', 'sympy: N times the diff of the cost (symbolic sizes, KroneckerDelta summed out) minus the index form reduces to 0', True),
    ('sigmoid-mse (half, sum)', '_Entry(Z[i, k])', 'None', 'A_ik*(1 - A_ik)*(A_ik - Y_ik)', 'sympy: N times the diff of the cost (symbolic sizes, KroneckerDelta summed out) minus the index form reduces to 0', True),
    ('sigmoid-mse (torch, mean)', 'm*_Entry(Z[i, k])', 'None', '2*A_ik*(1 - A_ik)*(A_ik - Y_ik)/q', 'sympy: N times the diff of the cost (symbolic sizes, KroneckerDelta summed out) minus the index form reduces to 0', True),
    ('sigmoid-mse (torch, sum)', '_Entry(Z[i, k])', 'None', 'A_ik*(1 - A_ik)*(2*A_ik - 2*Y_ik)', 'sympy: N times the diff of the cost (symbolic sizes, KroneckerDelta summed out) minus the index form reduces to 0', True),
    ('L2 (lambda/2m): weight', '_Entry(W[i, j])', 'None', 'lambda*W[i, j]/m', 'sympy: diff of the penalty (symbolic sizes) minus the index form is 0', True),
    ('L2 (lambda/2m): bias', '_Entry(b[i])', 'None', '0', 'sympy: diff of the penalty (symbolic sizes) minus the index form is 0', True),
    ('L2 (lambda/2): weight', '_Entry(W[i, j])', 'None', 'lambda*W[i, j]', 'sympy: diff of the penalty (symbolic sizes) minus the index form is 0', True),
    ('L2 (lambda/2): bias', '_Entry(b[i])', 'None', '0', 'sympy: diff of the penalty (symbolic sizes) minus the index form is 0', True),
]


@pytest.fixture(scope="module")
def rules():
    return head_index_rules()


def test_head_rules_read_as_recorded(rules):
    got = [(r.name, str(r.lhs), str(r.chain), str(r.rhs), r.check, r.ok) for r in rules]
    assert [g[0] for g in got] == [g[0] for g in GOLDEN]
    for g, want in zip(got, GOLDEN):
        assert g == want, g[0]


def test_softmax_rule_needs_its_assumption(rules):
    softmax = [r for r in rules if r.name.startswith("softmax + CE")]
    assert len(softmax) == 2 and all(r.ok for r in softmax)
    assert all("without it the residual is (Sum(Y[r, k], (r, 1, q)) - 1)" in r.check for r in softmax)


def test_bce_sum_rule_is_the_summed_cost_and_a_mean_claim_fails():
    """Negative control for the sum-reduction BCE rule: the same differentiation of the
    *summed* cost against the mean rule's right side (divided by m) does not reduce to 0."""
    import sympy as sp

    from derive.activations import sigmoid
    from derive.proof.index_form import _zero

    i, k, r, c = sp.symbols("i k r c", integer=True, positive=True)
    u, w = sp.symbols("u w", integer=True, nonnegative=True)
    Z, Y = sp.IndexedBase("Z"), sp.IndexedBase("Y")
    term = Y[r, c] * sp.log(sigmoid(Z[r, c])) + (1 - Y[r, c]) * sp.log(1 - sigmoid(Z[r, c]))
    derived = sp.diff(-sp.Sum(term, (r, 1, i + u), (c, 1, k + w)), Z[i, k]).doit()
    assert _zero(derived - (sigmoid(Z[i, k]) - Y[i, k]))
    assert not _zero(derived - (sigmoid(Z[i, k]) - Y[i, k]) / (k + w))
