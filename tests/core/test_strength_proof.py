"""Strength tests for the proofs (derive.proof: exact at concrete shapes,
index form for symbolic sizes), the chain of rules and the scalar facts.

Each test states a behaviour; they were written to kill the mutants that
survived ``python tools/mutate.py --area core``.  The proofs run at the
smallest shapes that still have q > 1 or m > 1, so the file stays quick.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import sympy as sp

import derive
from derive.chain import derive_backward
from derive.matrix import Ones
from derive.proof import INDEX_CHECK_SHAPE, SymbolicProof, prove_symbolic
from derive.proof.exact import ExactProof, prove_exact
from derive.steps import Derivation, Step

net = derive.ARTICLE


@pytest.fixture(scope="module")
def symbolic() -> SymbolicProof:
    return prove_symbolic()


def _tampered(target: str, rhs) -> Derivation:
    d = derive_backward()
    d.steps = [Step(s.rule, s.lhs, rhs if str(s.lhs) == target else s.rhs) for s in d.steps]
    return d


# ---- level 1 -------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(1, 1, 1, 2, 2), (2, 1, 1, 1, 2)], ids=["q=2,m=2", "d=2,m=2"])
def test_exact_proof_counts_every_entry(shape):
    r = prove_exact(shape)
    d, n, p, q, m = shape
    assert r.ok and not r.failures
    assert r.shape == dict(zip("dnpqm", shape))
    assert r.entries == n * d + n + p * n + p + q * p + q + (n + p + q) * m
    assert re.fullmatch(rf"exact at \(d={d}, n={n}, p={p}, q={q}, m={m}\): {r.entries} entries proven "
                        r"in \d+\.\d\d s", str(r))


def test_default_proof_shapes_are_valid_article_shapes():
    from derive.proof.exact import PROOF_SHAPES

    assert PROOF_SHAPES and all(len(s) == 5 and min(s) >= 1 for s in PROOF_SHAPES)
    assert (1, 1, 1, 1, 1) in PROOF_SHAPES  # the smallest case is always proven
    assert len(set(PROOF_SHAPES)) == len(PROOF_SHAPES)


def test_exact_proof_takes_a_mapping():
    assert prove_exact({"d": 1, "n": 1, "p": 1, "q": 1, "m": 2, "extra": 9}).shape == {
        "d": 1, "n": 1, "p": 1, "q": 1, "m": 2}


def test_an_exact_proof_without_entries_is_no_proof():
    assert not ExactProof({"d": 1}, 0.0, 0).ok
    assert ExactProof({"d": 1}, 0.0, 1).ok
    assert not ExactProof({"d": 1}, 0.0, 1, [("dW1", (0, 0), "x")]).ok


def test_failed_exact_proof_names_the_entry_and_the_residual():
    r = prove_exact((1, 1, 1, 1, 2), backward=_tampered("db3", net.mat("dZ", 3) * Ones(net.m, 1) / net.m * 2))
    assert not r.ok
    name, where, residual = r.failures[0]
    assert (name, where) == ("db3", (0, 0))
    assert residual and residual != "0"
    assert str(r).startswith("exact at (d=1, n=1, p=1, q=1, m=2): ") and "FAILED at [('db3', (0, 0)" in str(r)


def test_a_formula_that_does_not_evaluate_is_a_failure_not_a_crash():
    # dW3 = dZ3 A2 / m (transpose missing): (1 x 2)(1 x 2) does not multiply
    r = prove_exact((1, 1, 1, 1, 2), backward=_tampered("dW3", net.mat("dZ", 3) * net.A(2) / net.m))
    assert not r.ok
    assert r.failures[0][:2] == ("dW3", (-1, -1))
    assert r.failures[0][2].startswith("formula does not evaluate")


def test_a_formula_of_the_wrong_shape_is_a_failure():
    # db3 = dZ3^T 1 / m ... has shape (m, 1) instead of (q, 1)
    wrong = net.mat("dZ", 3).T * Ones(1, 1) / net.m
    r = prove_exact((1, 1, 1, 1, 2), backward=_tampered("db3", wrong))
    assert not r.ok
    assert ("db3", (-1, -1), "shape (2, 1) != (1, 1)") in r.failures


@pytest.mark.parametrize(("shape", "message"), [
    ((1, 1, 1, 1), "a shape gives ['d', 'n', 'p', 'q', 'm'], got (1, 1, 1, 1)"),
    ((1, 1, 1, 1, 1, 1), "a shape gives ['d', 'n', 'p', 'q', 'm'], got (1, 1, 1, 1, 1, 1)"),
    ((1, 1, 0, 1, 1), "sizes must be positive, got {'p': 0}"),
    ((1, 1, 1, 1, -2), "sizes must be positive, got {'m': -2}"),
], ids=["short", "long", "zero", "negative"])
def test_bad_proof_shapes_read_exactly(shape, message):
    with pytest.raises(ValueError) as info:
        prove_exact(shape)
    assert str(info.value) == message


# ---- level 2 -------------------------------------------------------------------

def test_every_rule_and_layer_is_proven(symbolic):
    assert symbolic.ok
    assert [e.name for e in symbolic.rules] == ["affine: weight", "affine: bias", "affine: input",
                                                 "elementwise", "sigmoid + BCE"]
    assert [e.name for e in symbolic.layers] == ["dW3", "db3", "dW2", "db2", "dW1", "db1"]
    assert all(e.ok is True for e in symbolic.rules + symbolic.layers)


def test_symbolic_proof_text(symbolic):
    lines = str(symbolic).splitlines()
    assert lines[0].startswith("affine: weight: proven (sympy: diff of the entry")
    assert lines[4] == ("sigmoid + BCE: proven (sympy: m times the diff of the mean BCE (symbolic sizes) "
                        "minus the index form simplifies to 0)")
    assert lines[5] == ("per-layer index forms (dW3, db3, dW2, db2, dW1, db1): equal to the matrix form "
                        "entry by entry at d=2, n=3, p=2, q=2, m=3")
    assert INDEX_CHECK_SHAPE == {"d": 2, "n": 3, "p": 2, "q": 2, "m": 3}


def test_a_differing_layer_or_no_rules_fails(symbolic):
    bad_layer = SymbolicProof(symbolic.rules, (replace(symbolic.layers[2], ok=False),) + symbolic.layers[3:])
    assert not bad_layer.ok
    assert str(bad_layer).splitlines()[-1].endswith("DIFFER: dW2")
    assert not SymbolicProof((), symbolic.layers).ok


def test_index_forms_are_the_textbook_sums(symbolic):
    i, j, k = sp.symbols("i j k", integer=True, positive=True)
    m = sp.Symbol("m", integer=True, positive=True)
    dZ3, A2 = sp.IndexedBase("dZ3"), sp.IndexedBase("A2")
    dW3 = symbolic.layers[0]
    assert dW3.rhs == sp.Sum(dZ3[i, k] * A2[j, k], (k, 1, m)) / m
    assert symbolic.layers[1].rhs == sp.Sum(dZ3[i, k], (k, 1, m)) / m
    G, A = sp.IndexedBase("G"), sp.IndexedBase("A")
    weight = symbolic.rules[0]
    assert weight.rhs == sp.Sum(G[i, k] * A[j, k], (k, 1, m)) / m


# ---- the chain of rules --------------------------------------------------------

def test_network_description_errors_read_exactly():
    from derive.chain import Network

    with pytest.raises(ValueError) as info:
        Network(("d",), ())
    assert str(info.value) == "a network needs an input width and an output width"
    with pytest.raises(ValueError) as info:
        Network(("d", "n", "q"), ())
    assert str(info.value) == "1 hidden layers need as many activations, got ()"
    assert Network(("d", "q"), ()).depth == 1


def test_a_single_layer_network_is_logistic_regression():
    from derive.chain import Network, formulas
    from derive.matrix import plain

    one = Network(("d", "q"), ())
    assert {k: plain(v) for k, v in formulas(one).items()} == {
        "dZ1": "A1 - Y", "dW1": "dZ1 X^T / m", "db1": "dZ1 1_m / m"}
    assert prove_exact((2, 1, 2), one).ok


def test_formulas_leave_out_the_dA_steps():
    from derive.chain import formulas
    from derive.matrix import plain

    assert {k: plain(v) for k, v in formulas().items()} == {
        "dZ3": "A3 - Y", "dW3": "dZ3 A2^T / m", "db3": "dZ3 1_m / m",
        "dZ2": "(W3^T dZ3) * g'(Z2)", "dW2": "dZ2 A1^T / m", "db2": "dZ2 1_m / m",
        "dZ1": "(W2^T dZ2) * f'(Z1)", "dW1": "dZ1 X^T / m", "db1": "dZ1 1_m / m"}


# ---- the scalar facts ----------------------------------------------------------

def test_sigmoid_derivative_is_confirmed_step_by_step():
    d = derive.sigmoid_derivative()
    assert d.ok and len(d.steps) == 6
    assert all(s.verified is True for s in d.steps)
    assert d.steps[-1].check.startswith("substitute A = 1/(1 + e^-z); sympy:")
    assert str(d.steps[-1].lhs) == "Derivative(sigmoid(z), z)"


def test_bce_collapse_is_confirmed_step_by_step():
    d = derive.bce_simplification()
    assert d.ok and len(d.steps) == 7
    assert all(s.verified is True for s in d.steps)
    assert d.steps[0].check == "definition"
    assert d.steps[-1].check.startswith("m times the previous line; sympy:")
    a, y = sp.Symbol("A3", positive=True), sp.Symbol("Y", real=True)
    m = sp.Symbol("m", positive=True, integer=True)
    assert d.steps[-2].rhs == (a - y) / m
    assert [s.rule for s in d.steps][3] == "chain rule: dL/dZ3 = dL/dA3 dA3/dZ3"


# ---- which rules a description's level-2 proof covers -----------------------------

_HEAD_RULES = ["softmax + CE (mean)", "softmax Jacobian", "softmax + CE (sum)",
               *(f"{h}-mse ({c}, {r})" for h in ("identity", "sigmoid") for c in ("half", "torch")
                 for r in ("mean", "sum")),
               "L2 (lambda/2m): weight", "L2 (lambda/2m): bias", "L2 (lambda/2): weight", "L2 (lambda/2): bias"]
_BASE = ["affine: weight", "affine: bias", "affine: input", "elementwise", "sigmoid + BCE"]


def _named(name: str):
    from derive.proof import IndexEquation

    return IndexEquation(name, None, None, None, "stub", True)


@pytest.mark.parametrize(("kw", "extra"), [
    (dict(), []),
    (dict(head="softmax-ce"), ["softmax + CE (mean)", "softmax Jacobian"]),
    (dict(head="softmax-ce", reduction="sum", l2=1.0), ["softmax Jacobian", "softmax + CE (sum)",
                                                        "L2 (lambda/2m): weight", "L2 (lambda/2m): bias"]),
    (dict(head="identity-mse", mse="torch", reduction="sum"), ["identity-mse (torch, sum)"]),
    (dict(head="sigmoid-mse"), ["sigmoid-mse (half, mean)"]),
    (dict(l2=0.5, l2_convention="lambda/2"), ["L2 (lambda/2): weight", "L2 (lambda/2): bias"]),
], ids=["article", "softmax", "softmax-sum-l2", "mse-torch-sum", "sigmoid-mse", "bce-l2"])
def test_a_descriptions_level_2_proof_takes_exactly_its_rules(monkeypatch, kw, extra):
    import numeric
    import derive.proof as proof

    monkeypatch.setattr(proof, "index_rules", lambda: [_named(n) for n in _BASE])
    monkeypatch.setattr(proof, "head_index_rules", lambda: [_named(n) for n in _HEAD_RULES])
    monkeypatch.setattr(proof, "layer_index_forms", lambda *a, **k: [_named("dW1")])
    got = [r.name for r in proof.prove_symbolic(numeric.Network(None, ("tanh",), **kw)).rules]
    base = _BASE if kw.get("head", "sigmoid-bce") == "sigmoid-bce" else _BASE[:-1]
    assert got == base + extra


# ---- prove_exact's options ---------------------------------------------------------

def test_exact_proof_of_a_description_takes_its_widths():
    import numeric

    net = numeric.Network((2, 1, 2), ("tanh",), head="identity-mse", mse="torch", l2=0.5)
    r = prove_exact(net=net)
    assert r.ok and r.shape == {"d": 2, "n": 1, "q": 2, "m": 2}
    assert prove_exact(net=net, m=1).shape["m"] == 1
    assert r.statement() == "exact at (d=2, n=1, q=2, m=2): 13 entries proven"  # 2 + 1 + 2 + 2 + 2 + 4
    assert str(r).startswith(r.statement() + " in ") and str(r).endswith(" s")
    with pytest.raises(ValueError) as info:
        prove_exact(net=numeric.Network(None, ("tanh",)))
    assert str(info.value) == "give the shape, or a numeric.Network with widths"
    with pytest.raises(ValueError, match="give the shape"):
        prove_exact()


@pytest.mark.parametrize("through_logits", [True, False], ids=["through-logits", "whole-cost"])
def test_both_ways_of_differentiating_prove(through_logits):
    import numeric

    for kw in (dict(l2=0.5), dict(head="softmax-ce")):
        net = numeric.Network((1, 1, 2), ("tanh",), **kw)
        r = prove_exact(net=net, through_logits=through_logits)
        assert r.ok, str(r)
        wrong = derive_backward(net)
        wrong.steps = [Step(s.rule, s.lhs, s.rhs * 2 if str(s.lhs) == "dW1" else s.rhs) for s in wrong.steps]
        bad = prove_exact(net=net, backward=wrong, through_logits=through_logits)
        assert [name for name, _, _ in bad.failures][:1] == ["dW1"]


def test_a_long_residual_is_cut_to_200_characters():
    wrong = _tampered("dW1", net.mat("dZ", 1) * net.A(0).T * 3 / net.m)  # a residual with many terms
    r = prove_exact((2, 2, 1, 1, 1), backward=wrong)
    texts = [text for name, _, text in r.failures if name == "dW1"]
    assert texts and max(len(t) for t in texts) == 200


RULES_GOLDEN = [
    ('affine: weight', '_Entry(W[i, j])', 'Sum(KroneckerDelta(i, r)*_Entry(Z[r, c])*A[j, c], (r, 1, n), (c, 1, m))', 'Sum(A[j, k]*G[i, k], (k, 1, m))/m', '\\frac{\\partial J}{\\partial {W}_{i,j}}'),
    ('affine: bias', '_Entry(b[i])', 'Sum(KroneckerDelta(i, r)*_Entry(Z[r, c]), (r, 1, n), (c, 1, m))', 'Sum(G[i, k], (k, 1, m))/m', '\\frac{\\partial J}{\\partial {b}_{i}}'),
    ('affine: input', 'm*_Entry(A[j, k])', 'm*Sum(KroneckerDelta(c, k)*_Entry(Z[r, c])*W[r, j], (c, 1, m), (r, 1, n))', 'Sum(G[r, k]*W[r, j], (r, 1, n))', 'm \\frac{\\partial J}{\\partial {A}_{j,k}}'),
    ('elementwise', 'm*_Entry(Z[i, k])', 'Sum(KroneckerDelta(c, k)*KroneckerDelta(i, r)*Derivative(f(Z[r, c]), Z[r, c])*D[r, c], (r, 1, n), (c, 1, m))', 'Derivative(f(Z[i, k]), Z[i, k])*D[i, k]', 'm \\frac{\\partial J}{\\partial {Z}_{i,k}}'),
    ('sigmoid + BCE', 'm*_Entry(Z[i, k])', 'm*Derivative(-Sum((1 - Y[r, c])*log(1 - sigmoid(Z[r, c])) + log(sigmoid(Z[r, c]))*Y[r, c], (r, 1, q), (c, 1, m))/m, Z[i, k])', 'sigmoid(Z[i, k]) - Y[i, k]', 'm \\frac{\\partial J}{\\partial {Z}_{i,k}}'),
]
LAYERS_GOLDEN = [
    ('dW3', 'dW3[i, j]', 'None', 'Sum(A2[j, k]*dZ3[i, k], (k, 1, m))/m', 'sympy: equals the matrix form entry by entry, exactly, at (d=2, n=3, p=2, q=2, m=3)'),
    ('db3', 'db3[i]', 'None', 'Sum(dZ3[i, k], (k, 1, m))/m', 'sympy: equals the matrix form entry by entry, exactly, at (d=2, n=3, p=2, q=2, m=3)'),
    ('dW2', 'dW2[i, j]', 'None', 'Sum(A1[j, k]*dZ2[i, k], (k, 1, m))/m', 'sympy: equals the matrix form entry by entry, exactly, at (d=2, n=3, p=2, q=2, m=3)'),
    ('db2', 'db2[i]', 'None', 'Sum(dZ2[i, k], (k, 1, m))/m', 'sympy: equals the matrix form entry by entry, exactly, at (d=2, n=3, p=2, q=2, m=3)'),
    ('dW1', 'dW1[i, j]', 'None', 'Sum(X[j, k]*dZ1[i, k], (k, 1, m))/m', 'sympy: equals the matrix form entry by entry, exactly, at (d=2, n=3, p=2, q=2, m=3)'),
    ('db1', 'db1[i]', 'None', 'Sum(dZ1[i, k], (k, 1, m))/m', 'sympy: equals the matrix form entry by entry, exactly, at (d=2, n=3, p=2, q=2, m=3)'),
]


def test_index_rules_and_layers_read_as_recorded(symbolic):
    """What verify and the report print for level 2: entry, chain-rule sum, index form."""
    import sympy as sp

    assert [(r.name, str(r.lhs), str(r.chain), str(r.rhs), sp.latex(r.lhs)) for r in symbolic.rules] == RULES_GOLDEN
    assert [(r.name, str(r.lhs), str(r.chain), str(r.rhs), r.check) for r in symbolic.layers] == LAYERS_GOLDEN


def test_per_layer_forms_of_a_deeper_network_alternate_their_check_sizes():
    import numeric
    from derive.proof.index_form import layer_index_forms

    forms = layer_index_forms(numeric.Network(None, ("tanh", "relu", "elu"), head="identity-mse"))
    assert [e.name for e in forms] == ["dW4", "db4", "dW3", "db3", "dW2", "db2", "dW1", "db1"]
    assert all(e.ok for e in forms)
    assert {e.check for e in forms} == {
        "sympy: equals the matrix form entry by entry, exactly, at (d=2, n=3, p=2, r=3, q=2, m=3)"}
