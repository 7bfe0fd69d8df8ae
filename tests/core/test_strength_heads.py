"""Strength tests for the heads of derive (derive.heads, the symbolic network
of derive.chain, and gradient_function for a description): the formulas in
plain notation, exact proofs at tiny shapes, and agreement of the generated
NumPy code with numeric's hand-written generic pass.

Written to kill the mutants that survived ``python tools/mutate.py --area core``.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import derive
import numeric
from derive.chain import SymbolicNetwork, as_symbolic, derive_forward, formulas, placeholders
from derive.heads import sum_to_one
from derive.matrix import plain
from derive.proof.exact import prove_exact

W = (2, 3, 2)  # d, n, q: one hidden layer keeps the proofs small


def _net(**kw) -> numeric.Network:
    return numeric.Network(W, ("tanh",), **kw)


@pytest.mark.parametrize(("kw", "dZ2", "dW2", "db2"), [
    ({}, "A2 - Y", "dZ2 A1^T / m", "dZ2 1_m / m"),
    (dict(head="softmax-ce"), "A2 - Y", "dZ2 A1^T / m", "dZ2 1_m / m"),
    (dict(head="identity-mse"), "A2 - Y", "dZ2 A1^T / m", "dZ2 1_m / m"),
    (dict(head="identity-mse", mse="torch"), "2 (A2 - Y) / q", "dZ2 A1^T / m", "dZ2 1_m / m"),
    (dict(head="identity-mse", mse="torch", reduction="sum"), "2 (A2 - Y)", "dZ2 A1^T", "dZ2 1_m"),
    (dict(head="sigmoid-mse"), "(A2 - Y) * sigma'(Z2)", "dZ2 A1^T / m", "dZ2 1_m / m"),
    (dict(head="sigmoid-mse", mse="torch"), "(2 (A2 - Y) / q) * sigma'(Z2)", "dZ2 A1^T / m", "dZ2 1_m / m"),
    (dict(l2=0.5), "A2 - Y", "lambda W2 / m + dZ2 A1^T / m", "dZ2 1_m / m"),
    (dict(l2=0.5, l2_convention="lambda/2", reduction="sum"), "A2 - Y", "lambda W2 + dZ2 A1^T", "dZ2 1_m"),
], ids=["bce", "softmax", "mse-half", "mse-torch", "mse-torch-sum", "sigmoid-mse", "sigmoid-mse-torch",
        "l2", "l2-lambda/2-sum"])
def test_formulas_of_each_head(kw, dZ2, dW2, db2):
    got = {k: plain(v) for k, v in formulas(_net(**kw)).items()}
    assert (got["dZ2"], got["dW2"], got["db2"]) == (dZ2, dW2, db2)
    assert got["dZ1"] == "(W2^T dZ2) * f'(Z1)"


@pytest.mark.parametrize(("head", "out"), [("sigmoid-bce", "sigma(Z2)"), ("softmax-ce", "softmax(Z2)"),
                                           ("identity-mse", "Z2"), ("sigmoid-mse", "sigma(Z2)")])
def test_forward_output_of_each_head(head, out):
    steps = derive_forward(_net(head=head)).steps
    assert plain(steps[-1].rhs) == out and str(steps[-1].lhs) == "A2"


@pytest.mark.parametrize("kw", [
    dict(head="softmax-ce"), dict(head="identity-mse", mse="torch"),
    dict(head="sigmoid-mse", mse="torch", reduction="sum"), dict(l2=0.5, l2_convention="lambda/2"),
    dict(head="identity-mse", reduction="sum", l2=1.0),
], ids=["softmax", "mse-torch", "sigmoid-mse-torch-sum", "bce-l2", "mse-sum-l2"])
def test_every_head_proves_exactly_at_a_tiny_shape(kw):
    r = prove_exact((1, 1, 2, 2), _net(**kw))
    assert r.ok, str(r)
    assert r.entries == 1 + 1 + 2 + 2 + (1 + 2) * 2


def test_the_softmax_proof_states_its_assumption():
    r = prove_exact((1, 1, 2, 2), _net(head="softmax-ce"))
    assert "assuming every column of Y sums to 1" in str(r)
    assert "assuming" not in str(prove_exact((1, 1, 2, 2), _net()))


@pytest.mark.parametrize(("target", "wrong"), [
    ("dZ2", lambda net: net.mat("A", 2) - net.mat("Y") * 2),
    ("dW2", lambda net: net.mat("dZ", 2) * net.A(1).T / net.m),  # L2 term dropped
], ids=["softmax-Y-doubled", "l2-dropped"])
def test_a_wrong_head_or_l2_rule_does_not_prove(target, wrong):
    from derive.chain import derive_backward
    from derive.steps import Step

    plain_net = _net(head="softmax-ce", l2=0.5)
    sym = as_symbolic(plain_net)
    d = derive_backward(sym)
    d.steps = [Step(s.rule, s.lhs, wrong(sym) if str(s.lhs) == target else s.rhs) for s in d.steps]
    r = prove_exact((1, 1, 2, 2), plain_net, backward=d)
    assert not r.ok and target in {name for name, _, _ in r.failures}


CONFIGS = [dict(head="softmax-ce"), dict(head="identity-mse", mse="torch"),
           dict(head="sigmoid-mse", reduction="sum", l2=0.3), dict(l2=0.7, l2_convention="lambda/2"),
           dict(head="identity-mse", mse="torch", reduction="sum")]


@pytest.mark.parametrize("kw", CONFIGS, ids=["softmax", "mse-torch", "sigmoid-mse-sum-l2", "bce-l2", "mse-torch-sum"])
def test_generated_code_of_a_description_matches_numeric(kw):
    net = numeric.Network((3, 4, 3, 3), ("swish", "tanh"), **kw)
    rng = np.random.default_rng(21)
    P = numeric.init_params((3, 4, 3, 3), seed=3)
    X = rng.standard_normal((3, 6))
    if net.head == "softmax-ce":
        Y = np.eye(3)[:, rng.integers(0, 3, 6)]
    elif net.head == "sigmoid-bce":
        Y = (rng.random((3, 6)) < 0.5).astype(float)
    else:
        Y = rng.standard_normal((3, 6))
    got = derive.gradient_function(network=net)(P, X, Y, return_dZ=True)
    want = numeric.backward(P, X, Y, network=net, return_dZ=True)
    assert sorted(got) == sorted(want)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-11, atol=1e-14, err_msg=k)


def test_symbolic_view_of_descriptions():
    assert as_symbolic() is derive.chain.ARTICLE
    sym = as_symbolic(numeric.Network((5, 4, 3, 2, 1), ("relu", "tanh", "elu"), head="identity-mse",
                                      reduction="sum", mse="torch", l2=0.1, l2_convention="lambda/2"))
    assert sym == SymbolicNetwork(("d", "n", "p", "r", "q"), ("f", "g", "h"), "identity-mse", "sum", "torch",
                                  True, "lambda/2")
    deep = as_symbolic(numeric.Network(None, ("relu",) * 9))
    assert deep.widths == ("d", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9", "q")
    assert deep.activations == tuple(f"f{i}" for i in range(1, 10))
    seven = as_symbolic(numeric.Network(None, ("relu",) * 7))
    assert seven.widths == ("d", "n", "p", "r", "s", "t", "u", "v", "q")
    assert seven.activations == ("f", "g", "h", "k", "phi", "psi", "chi")
    with pytest.raises(TypeError, match=r"^expected a numeric.Network or SymbolicNetwork, got tuple$"):
        as_symbolic(("d", "q"))
    assert placeholders(numeric.Network(None, ("relu", "tanh"))) == {"f": "relu", "g": "tanh"}


def test_symbolic_network_scalars():
    m, q, lam = sp.Symbol("m", integer=True, positive=True), sp.Symbol("q", integer=True, positive=True), \
        sp.Symbol("lambda", positive=True)
    art = SymbolicNetwork()
    assert (art.N, art.l2_rate, art.output_scale, art.depth) == (m, 0, 1, 3)
    assert SymbolicNetwork(reduction="sum").N == 1
    assert SymbolicNetwork(l2=True).l2_rate == lam / m
    assert SymbolicNetwork(l2=True, l2_convention="lambda/2").l2_rate == lam
    assert SymbolicNetwork(head="identity-mse", mse="torch").output_scale == 2 / q
    assert SymbolicNetwork(head="sigmoid-mse", mse="torch", reduction="sum").output_scale == 2
    assert SymbolicNetwork(head="softmax-ce", mse="torch").output_scale == 1
    with pytest.raises(ValueError) as info:
        SymbolicNetwork(head="tanh-bce")
    assert str(info.value) == ("head must be one of ('sigmoid-bce', 'softmax-ce', 'identity-mse', 'sigmoid-mse'), "
                               "got 'tanh-bce'")


def test_sum_to_one_rewrites_the_last_row():
    Y = sp.Matrix(3, 2, lambda i, j: sp.Symbol(f"y{i}{j}"))
    sub = sum_to_one(Y)
    assert sub == {sp.Symbol("y20"): 1 - sp.Symbol("y00") - sp.Symbol("y10"),
                   sp.Symbol("y21"): 1 - sp.Symbol("y01") - sp.Symbol("y11")}
    assert all(sp.expand(sum(Y[:, j]).subs(sub)) == 1 for j in range(2))


def test_gradient_function_refuses_what_is_not_a_description():
    with pytest.raises(numeric.InputError, match=r"^network must be a numeric.Network, got dict$"):
        derive.gradient_function(network={"widths": (2, 3, 1)})


def test_operations_of_the_chain_are_immutable_values():
    import dataclasses

    from derive.chain import Affine, Elementwise
    from derive.heads import HEAD_OPS

    ops = [Affine(1), Elementwise(1, "f"), *(cls(2) for cls in HEAD_OPS.values())]
    for op in ops:
        assert hash(op) == hash(dataclasses.replace(op)) and op == dataclasses.replace(op)
        with pytest.raises(dataclasses.FrozenInstanceError):
            op.layer = 5
    assert len(set(ops)) == len(ops)
