"""Proof level 1: exact at concrete shapes, with negative controls."""

from __future__ import annotations

import time

import pytest
from sympy.matrices.expressions import HadamardProduct

import derive
from derive.chain import SymbolicNetwork, derive_backward
from derive.matrix import Apply, Ones
from derive.proof.exact import PROOF_SHAPES, prove_exact
from derive.steps import Derivation, Step


def test_default_shapes_include_q_and_m_above_one():
    assert any(q > 1 and m > 1 for (_, _, _, q, m) in PROOF_SHAPES)
    assert any(len({d, n, p}) == 3 or len(set(s)) >= 3 for s in PROOF_SHAPES for d, n, p, *_ in [s])


def test_every_default_shape_proves_exactly():
    start = time.perf_counter()
    results = [prove_exact(s) for s in PROOF_SHAPES]
    elapsed = time.perf_counter() - start
    for r in results:
        assert r.ok, str(r)
        d, n, p, q, m = r.shape.values()
        # every parameter entry and every dZ entry was compared
        assert r.entries == n * d + n + p * n + p + q * p + q + (n + p + q) * m
    print(f"level-1 proofs of {len(results)} shapes took {elapsed:.2f} s")  # shown with -s


def _tampered(target: str, rhs_of) -> Derivation:
    d = derive_backward()
    d.steps = [Step(s.rule, s.lhs, rhs_of(s) if str(s.lhs) == target else s.rhs) for s in d.steps]
    return d


net = derive.ARTICLE


@pytest.mark.parametrize(
    "target, rhs_of, wrong",
    [
        ("dW2", lambda s: s.rhs * net.m, "dW2"),  # missing 1/m
        ("db1", lambda s: net.mat("dZ", 1) * Ones(net.m, 1), "db1"),  # missing 1/m on the bias
        (
            "dZ1",  # f'(A1) instead of f'(Z1)
            lambda s: HadamardProduct(net.mat("W", 2).T * net.mat("dZ", 2), Apply("f", net.mat("A", 1), 1)),
            "dZ1",
        ),
        ("dZ3", lambda s: net.mat("Y") - net.mat("A", 3), "dZ3"),  # sign flipped
        ("dZ2", lambda s: net.mat("W", 3).T * net.mat("dZ", 3), "dZ2"),  # g' dropped
    ],
    ids=["missing 1/m", "bias missing 1/m", "f'(A) for f'(Z)", "sign flipped", "g' dropped"],
)
def test_proof_fails_on_a_wrong_formula(target, rhs_of, wrong):
    """Negative controls: a tampered derivation does not prove."""
    r = prove_exact((1, 2, 1, 1, 2), backward=_tampered(target, rhs_of))
    assert not r.ok
    assert wrong in {name for name, _, _ in r.failures}


@pytest.mark.parametrize("shape", [(1, 2, 1, 1, 3), (1, 2, 2, 1, 2)], ids=["m != n", "m == n"])
def test_missing_transpose_fails(shape):
    """dW2 = dZ2 A1 / m: a shape error when m != n, wrong values when m == n."""
    r = prove_exact(shape, backward=_tampered("dW2", lambda s: net.mat("dZ", 2) * net.mat("A", 1) / net.m))
    assert not r.ok
    assert [name for name, _, _ in r.failures] [:1] == ["dW2"]


def test_deeper_network_proves():
    r = prove_exact((2, 1, 2, 2, 1, 2), SymbolicNetwork(("d", "n", "p", "r", "q"), ("f", "g", "h")))
    assert r.ok, str(r)


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match=r"a shape gives \['d', 'n', 'p', 'q', 'm'\]"):
        prove_exact((1, 1, 1))
    with pytest.raises(ValueError, match="sizes must be positive"):
        prove_exact((1, 0, 1, 1, 1))


def test_verify_lists_proof_level_2_with_its_rules():
    from derive.proof import prove_symbolic
    from derive.verify import verify

    proof = prove_symbolic()
    assert proof.ok
    names = [r.name for r in proof.rules]
    assert names == ["affine: weight", "affine: bias", "affine: input", "elementwise", "sigmoid + BCE"]
    text = verify(proof_shapes=[(1, 1, 1, 1, 2)], numeric_shapes=[(2, 2, 2, 1, 3)]).render()
    level2 = text.split("Proof level 2")[1].split("Proof level 3")[0]
    for name in names:
        assert f"  {name}: proven" in level2


def test_symbolic_proof_fails_when_a_rule_fails():
    """Negative control: one unproven rule makes the level-2 verdict fail and say so."""
    from dataclasses import replace

    from derive.proof import SymbolicProof, prove_symbolic

    proof = prove_symbolic()
    broken = SymbolicProof((replace(proof.rules[0], ok=False),) + proof.rules[1:], proof.layers)
    assert not broken.ok
    assert "affine: weight: NOT PROVEN" in str(broken)
