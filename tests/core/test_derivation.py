"""The recorded derivation: scalar facts, the reverse pass, the shape table."""

from __future__ import annotations

import pytest
import sympy as sp

import derive
from derive.activations import sigmoid
from derive.chain import SymbolicNetwork, derive_backward, derive_forward
from derive.matrix import plain
from derive.steps import Derivation, scalar_equal


def test_sigmoid_derivative_steps_are_each_confirmed():
    d = derive.sigmoid_derivative()
    assert d.ok
    assert [s.rule.split(":")[0] for s in d.steps] == [
        "definition", "quotient rule", "derivative of 1 + e^-z is -e^-z", "split the fraction",
        "e^-z/(1 + e^-z) = 1 - 1/(1 + e^-z)", "name A = sigma(z)",
    ]
    A = sp.Symbol("A", real=True)
    assert d.result.rhs == A * (1 - A)
    assert all(s.check for s in d.steps)


def test_bce_simplification_reaches_A3_minus_Y_over_m():
    d = derive.bce_simplification()
    assert d.ok
    a, y, m = sp.Symbol("A3", positive=True), sp.Symbol("Y", real=True), sp.Symbol("m", positive=True, integer=True)
    assert sp.simplify(d.steps[-2].rhs - (a - y) / m) == 0
    assert str(d.result.lhs) == "dZ3" and d.result.rhs == a - y
    assert any("chain rule" in s.rule for s in d.steps)


@pytest.mark.parametrize(
    "lhs, rhs",
    [
        (sp.Derivative(sigmoid(sp.Symbol("z")), sp.Symbol("z")), sigmoid(sp.Symbol("z")) * (1 + sigmoid(sp.Symbol("z")))),
        (sp.Symbol("x") ** 2 - 1, (sp.Symbol("x") - 1) ** 2),
    ],
    ids=["sigmoid' = s(1+s)", "x^2-1 = (x-1)^2"],
)
def test_scalar_equal_rejects_a_wrong_step(lhs, rhs):
    """Negative control: the step checker can fail."""
    assert not scalar_equal(lhs, rhs)
    d = Derivation("wrong")
    d.add("bogus", lhs, rhs)
    assert not d.verify(scalar_equal, "sympy").ok


def test_reverse_pass_records_every_step_in_order():
    steps = derive_backward().steps
    assert [str(s.lhs) for s in steps] == [
        "dZ3", "dW3", "db3", "dA2", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1",
    ]
    assert [plain(s.rhs) for s in steps if not str(s.lhs).startswith("dA")] == [
        "A3 - Y",
        "dZ3 A2^T / m", "dZ3 1_m / m",
        "(W3^T dZ3) * g'(Z2)", "dZ2 A1^T / m", "dZ2 1_m / m",
        "(W2^T dZ2) * f'(Z1)", "dZ1 X^T / m", "dZ1 1_m / m",
    ]
    assert {s.rule for s in steps} == {"sigmoid + BCE", "affine: weight", "affine: bias", "affine: input", "elementwise"}


def test_shape_table():
    """Every symbol has the shape of DESIGN.md's table, and so has every gradient."""
    net = derive.ARTICLE
    d, n, p, q, m = (sp.Symbol(s, integer=True, positive=True) for s in "dnpqm")
    expected = {"X": (d, m), "Y": (q, m), "W1": (n, d), "b1": (n, 1), "W2": (p, n), "b2": (p, 1),
                "W3": (q, p), "b3": (q, 1)}
    for name, shape in expected.items():
        sym = net.mat(name) if name in "XY" else net.mat(name[0], int(name[1]))
        assert sym.shape == shape, name
    for s in derive_forward().steps + derive_backward().steps:
        assert s.lhs.shape == s.rhs.shape, s
    grads = {str(s.lhs): s.rhs.shape for s in derive_backward().steps}
    for name, shape in expected.items():
        if name not in "XY":
            assert grads["d" + name] == shape


def test_any_depth_gives_a_chain_of_rules():
    net = SymbolicNetwork(("d", "h1", "h2", "h3", "q"), ("f", "g", "h"))
    names = [str(s.lhs) for s in derive_backward(net).steps]
    assert names[0] == "dZ4" and names[-1] == "db1" and "dZ2" in names
    with pytest.raises(ValueError, match="hidden layers need as many activations"):
        SymbolicNetwork(("d", "n", "q"), ("f", "g"))


@pytest.mark.parametrize("widths, acts", [
    (("d", "n\n    import os", "q"), ("f",)),  # a name that would be a line of the generated code
    (("d", "n=print(1) or 3;x", "q"), ("f",)),
    (("d", "n", "q"), ("f(z) or __import__('os')",)),
    (("d", "lambda", "q"), ("f",)),  # a keyword
    (("d", 3, "q"), ("f",)),
], ids=["newline", "statement", "call", "keyword", "not text"])
def test_symbolic_names_must_be_identifiers(widths, acts):
    """Width and activation names reach sympy and the source that derive.codegen compiles."""
    with pytest.raises(ValueError, match="must be a Python identifier"):
        SymbolicNetwork(widths, acts)
