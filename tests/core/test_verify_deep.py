"""Descriptions deeper than the article's: level-1 shapes that stay cheap, numeric shapes of
the description's own depth, and a clear refusal past the exact proof's depth budget.

Found by an adversarial run (2026-11-30): depth 6 hung for minutes at widths 2..8 and
grew to gigabytes; depth 9 and more was refused as "7 hidden layers but 8 activations"."""

from __future__ import annotations

import pytest

import derive
import numeric
from derive.verify import MAX_PROOF_DEPTH, network_numeric_shapes, network_proof_shape, verify


def _net(L: int, width: int = 3) -> numeric.Network:
    return numeric.Network(widths=(width,) * (L + 1), activations=("tanh",) * (L - 1), head="identity-mse")


@pytest.mark.parametrize("L", range(1, MAX_PROOF_DEPTH + 1))
def test_default_shapes_have_the_networks_depth(L):
    proof = network_proof_shape(_net(L))
    assert len(proof) == L + 2 and proof[-1] == 2 and proof[-2] >= 2  # widths..., q >= 2, m = 2
    assert max(proof[:-1]) <= (6 if L <= 4 else 3)  # thin: the proof's cost grows with the widths
    for shape in network_numeric_shapes(_net(L)):
        assert len(shape) == L + 2


def test_depth_over_the_budget_is_refused_in_one_line_before_any_work():
    with pytest.raises(derive.InputError, match=r"depth 13 is over 12.*proof_shapes=\[\]"):
        verify(network=_net(13))


def test_deep_network_checked_without_level_1_says_so():
    net = _net(9, width=2)
    report = verify(network=net, proof_shapes=[], symbolic=False, numeric_shapes=[(2,) * 10 + (3,)])
    assert report.ok, report.render()
    text = report.render()
    assert "not run (no shape given: proof_shapes=[])" in text and "level 1 (exact)" not in text
    assert "level 1 not run" in text


def test_deep_network_default_numeric_shapes_run():
    net = _net(9, width=2)
    shapes = network_numeric_shapes(net)
    report = verify(network=net, proof_shapes=[], symbolic=False, numeric_shapes=shapes[-1:])
    assert report.ok, report.render()


@pytest.mark.slow
def test_depth_7_is_proven_at_its_default_shape():
    report = verify(network=_net(7), symbolic=False, numeric_shapes=[(2,) * 8 + (3,)])
    assert report.ok and len(report.proofs) == 1 and report.proofs[0].ok, report.render()


@pytest.mark.slow
def test_a_wrong_formula_in_a_deep_network_is_not_proven():
    """Negative control at depth 7: a backward formula scaled by (1 + 1e-30) fails level 1."""
    import sympy as sp

    from derive.chain import as_symbolic, derive_backward
    from derive.proof import prove_exact
    from derive.steps import Step

    net = _net(7)
    sym = as_symbolic(net)
    shape = network_proof_shape(net)
    assert prove_exact(shape, sym).ok
    d = derive_backward(sym)
    target = str(d.steps[-1].lhs)  # dW1: the formula furthest down the chain
    d.steps = [Step(s.rule, s.lhs, s.rhs * (1 + sp.Rational(1, 10**30)) if str(s.lhs) == target else s.rhs)
               for s in d.steps]
    assert not prove_exact(shape, sym, backward=d).ok
