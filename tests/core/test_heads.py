"""Every head: its rule, scalar derivation, exact and index-form proofs, and
each proof's negative control (a wrong rule or a dropped assumption fails)."""

from __future__ import annotations

import numpy as np
import pytest

import derive
import numeric
from derive.chain import SymbolicNetwork, as_symbolic, derive_backward
from derive.proof import head_index_rules, prove_exact, prove_symbolic
from derive.scalar import (
    head_derivations,
    l2_derivative,
    mse_simplification,
    softmax_ce_simplification,
    softmax_jacobian,
)
from derive.steps import Step, scalar_equal
from numeric import Network
from numeric.compare import compare_gradients, draw_network_problem

HEADS = numeric.HEADS


def test_derive_network_is_numeric_network():
    assert derive.Network is numeric.Network
    assert derive.SymbolicNetwork is SymbolicNetwork
    assert as_symbolic(Network()) == derive.ARTICLE
    deep = as_symbolic(Network(widths=(2, 3, 4, 5, 6), activations=("relu",) * 3, head="identity-mse"))
    assert deep.widths == ("d", "n", "p", "r", "q") and deep.activations == ("f", "g", "h")


@pytest.mark.parametrize(
    ("head", "rule", "dZ"),
    [
        ("sigmoid-bce", "sigmoid + BCE", "A2 - Y"),
        ("softmax-ce", "softmax + CE", "A2 - Y"),
        ("identity-mse", "identity + MSE", "A2 - Y"),
        ("sigmoid-mse", "sigmoid + MSE", "(A2 - Y) * sigma'(Z2)"),
    ],
    ids=list(HEADS),
)
def test_head_rule_opens_the_backward_pass(head, rule, dZ):
    from derive.matrix import plain

    step = derive_backward(Network(widths=(3, 4, 2), activations=("relu",), head=head)).steps[0]
    assert step.rule == rule and plain(step.rhs) == dZ


def test_conventions_change_the_formulas():
    from derive.matrix import plain

    net = Network(widths=(3, 2), activations=(), head="identity-mse", mse="torch", reduction="mean",
                  l2=0.1, l2_convention="lambda/2")
    steps = {str(s.lhs): plain(s.rhs) for s in derive_backward(net).steps}
    assert steps["dZ1"] == "2 (A1 - Y) / q"
    assert steps["dW1"] == "lambda W1 + dZ1 X^T / m"
    steps = {str(s.lhs): plain(s.rhs) for s in derive_backward(
        Network(widths=(3, 2), activations=(), head="identity-mse", mse="torch", reduction="sum")).steps}
    assert steps["dZ1"] == "2 (A1 - Y)" and steps["dW1"] == "dZ1 X^T" and steps["db1"] == "dZ1 1_m"


# ------------------------------------------------------------ scalar facts
@pytest.mark.parametrize(
    "build",
    [softmax_jacobian, softmax_ce_simplification, mse_simplification,
     lambda: mse_simplification(mse="torch"), lambda: mse_simplification(head="sigmoid-mse", reduction="sum"),
     l2_derivative, lambda: l2_derivative(convention="lambda/2")],
    ids=["softmax-jacobian", "softmax-ce", "mse-half", "mse-torch", "sigmoid-mse-sum", "l2-m", "l2-plain"],
)
def test_scalar_derivations_hold_step_by_step(build):
    d = build()
    assert d.ok and all(s.verified for s in d.steps) and len(d.steps) >= 4


def test_softmax_ce_collapse_needs_the_sum_to_one_assumption():
    d = softmax_ce_simplification()
    assumption = next(s for s in d.steps if s.rule.startswith("ASSUMPTION"))
    assert "sum_i y_i = 1" in assumption.rule
    # negative control: without the assumption the collapsed form is not the derivative
    assert not scalar_equal(assumption.lhs, assumption.rhs)


@pytest.mark.parametrize(
    ("mse", "reduction", "expected"),
    [("half", "mean", "A - Y"), ("torch", "mean", "(2/q)*(A - Y)"), ("torch", "sum", "2*(A - Y)"),
     ("half", "sum", "A - Y")],
    ids=["half-mean", "torch-mean", "torch-sum", "half-sum"],
)
def test_mse_conventions_give_their_factor(mse, reduction, expected):
    assert str(mse_simplification(mse=mse, reduction=reduction).result.rhs) == expected


def test_head_derivations_follow_the_network():
    titles = [d.title for d in head_derivations(Network(head="softmax-ce", widths=(2, 3, 4, 3),
                                                         l2=0.1))]
    assert titles[0].startswith("softmax Jacobian") and titles[-1].startswith("L2 term")


# ------------------------------------------------------------ level 2
def test_head_index_rules_are_proven():
    rules = head_index_rules()
    assert all(r.ok for r in rules), [r.name for r in rules if not r.ok]
    names = {r.name for r in rules}
    assert {"softmax + CE (mean)", "softmax Jacobian", "identity-mse (torch, mean)", "sigmoid-mse (half, sum)",
            "L2 (lambda/2m): weight", "L2 (lambda/2): bias"} <= names
    softmax = next(r for r in rules if r.name == "softmax + CE (mean)")
    assert "without it the residual is" in softmax.check and "Sum(Y[r, k]" in softmax.check


@pytest.mark.slow
def test_prove_symbolic_for_a_network_lists_its_head():
    proof = prove_symbolic(Network(widths=(3, 2), activations=(), head="identity-mse", mse="torch"))
    assert proof.ok
    assert [r.name for r in proof.rules][-1] == "identity-mse (torch, mean)"
    assert "sigmoid + BCE" not in str(proof)


# ------------------------------------------------------------ level 1
@pytest.mark.parametrize("head", HEADS)
def test_exact_proof_depth_one_every_head(head):
    net = Network(widths=(3, 2), activations=(), head=head, l2=0.2)
    r = prove_exact(net=net)
    assert r.ok and r.entries == 2 * 3 + 2 + 2 * 2
    assert r.assumptions == (("every column of Y sums to 1",) if head == "softmax-ce" else ())


def _tampered(net, rule, change):
    d = derive_backward(net)
    d.steps = [Step(s.rule, s.lhs, change(s.rhs) if s.rule == rule else s.rhs) for s in d.steps]
    return d


@pytest.mark.parametrize(
    ("head", "rule", "change"),
    [
        ("softmax-ce", "softmax + CE", lambda e: 2 * e),
        ("identity-mse", "identity + MSE", lambda e: e / 2),
        ("sigmoid-mse", "sigmoid + MSE", lambda e: e.args[0]),  # the sigma' factor dropped
        ("sigmoid-bce", "affine: weight + L2", lambda e: e.args[1]),  # the L2 term dropped
    ],
    ids=["softmax-doubled", "mse-halved", "sigmoid-mse-no-derivative", "l2-dropped"],
)
def test_exact_proof_fails_on_a_wrong_rule(head, rule, change):
    net = Network(widths=(3, 2), activations=(), head=head, l2=0.2)
    assert not prove_exact(net=net, backward=_tampered(net, rule, change)).ok


def test_exact_proof_fails_without_the_softmax_assumption(monkeypatch):
    import derive.proof.exact as exact

    net = Network(widths=(3, 2), activations=(), head="softmax-ce")
    monkeypatch.setattr(exact, "sum_to_one", lambda Y: {})
    r = prove_exact(net=net)
    assert not r.ok and r.failures[0][0] == "dW1"


@pytest.mark.slow
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("widths", [(3, 2), (2, 4, 3), (2, 4, 3, 5), (2, 4, 3, 5, 6)], ids=["L1", "L2", "L3", "L4"])
def test_exact_proof_every_head_depths_one_to_four(head, widths):
    net = Network(widths=widths, activations=("relu",) * (len(widths) - 2), head=head, l2=0.1)
    assert prove_exact(net=net, m=2).ok


@pytest.mark.slow
@pytest.mark.parametrize("head", HEADS)
def test_exact_proof_conventions_depth_two(head):
    for kw in ({"mse": "torch"}, {"reduction": "sum", "l2": 0.3, "l2_convention": "lambda/2"}):
        assert prove_exact(net=Network(widths=(2, 4, 3), activations=("relu",), head=head, **kw)).ok


# ------------------------------------------------------------ gradient_function and verify
@pytest.mark.parametrize("head", HEADS)
def test_gradient_function_of_a_description(head):
    net = Network(widths=(3, 4, 2, 3), activations=("tanh", "z * sigmoid(z)"), head=head, mse="torch",
                  reduction="sum", l2=0.1)
    hand = net.with_activations("tanh", "swish")
    P, X, Y = draw_network_problem(hand, 4, seed=5)
    G = derive.gradient_function(net)(P, X, Y, return_dZ=True)
    H = numeric.backward(P, X, Y, network=hand, return_dZ=True)
    assert max(compare_gradients(G, H, net.gradient_names() + ("dZ1", "dZ3")).values()) < 1e-12
    assert derive.gradient_function(network=net) is derive.gradient_function(net)  # cached


def test_gradient_function_refuses_bad_targets_and_pairs():
    net = Network(widths=(3, 2), activations=(), head="softmax-ce")
    P, X, Y = draw_network_problem(net, 3, seed=0)
    with pytest.raises(numeric.TargetRangeError, match="sum to 1"):
        derive.gradient_function(net)(P, X, Y * 0.5)
    pair = Network(widths=(3, 2, 2), activations=((np.tanh, lambda z: 1 - np.tanh(z) ** 2),))
    with pytest.raises(numeric.InputError, match="derives f' itself"):
        derive.gradient_function(pair)
    exprs = Network(widths=(3, 2, 2), activations=(("tanh(z)", "1 - tanh(z)**2"),))
    P, X, Y = draw_network_problem(Network(widths=(3, 2, 2), activations=("tanh",)), 3, seed=0)
    G = derive.gradient_function(exprs)(P, X, Y)
    H = numeric.backward(P, X, Y, network=Network(widths=(3, 2, 2), activations=("tanh",)))
    assert max(compare_gradients(G, H, exprs.gradient_names()).values()) < 1e-12
    with pytest.raises(numeric.InputError, match="is not the derivative of"):
        derive.gradient_function(Network(widths=(3, 2, 2), activations=(("tanh(z)", "1 - tanh(z)"),)))


def test_verify_a_small_network():
    from derive.verify import verify  # derive.verify is the module once it has been imported

    net = Network(widths=(3, 2), activations=(), head="softmax-ce", l2=0.1)
    report = verify(network=net, symbolic=False, numeric_shapes=[(3, 2, 4)])
    text = report.render()
    assert report.ok and "every column of Y sums to 1" in text and " s\n" not in text
    assert text.splitlines()[0] == "backprop-derive verify: widths 3-2, head softmax-ce, reduction mean, " \
        "l2 0.1 (lambda/2m sum ||W||^2, biases not regularised)"


def test_verify_fails_on_a_wrong_description_run(monkeypatch):
    # negative control: the numeric check compares with the hand-written side and must fail
    import importlib

    V = importlib.import_module("derive.verify")  # the module (derive.verify is also the function)
    net = Network(widths=(3, 2), activations=(), head="identity-mse", mse="torch")
    wrong = Network(activations=(), head="identity-mse", mse="half")  # widths open: fits any shape
    original = V.gradient_function
    monkeypatch.setattr(V, "gradient_function", lambda n: original(wrong))
    assert not V.check_numeric_network(net, (3, 3, 4)).ok  # q = 3: 2/q is not 1
    assert V.check_numeric_network(net, (3, 2, 4)).ok  # q = 2: the two conventions coincide
