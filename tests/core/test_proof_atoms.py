"""The level-1 proof's zero test (atoms) and its renamings, and the proof at
sizes where they matter, with negative controls."""

from __future__ import annotations

import pytest
import sympy as sp

import derive
from derive.activations import sigmoid
from derive.chain import derive_backward
from derive.proof._atoms import Atoms, sub
from derive.proof._renaming import EXAMPLES, Renaming
from derive.proof.exact import prove_exact
from derive.steps import Step

x, y, z, w = sp.symbols("x y z w")
f, g = sp.Function("f"), sp.Function("g")


@pytest.mark.parametrize("expr", [
    (x + y) ** 2 - x**2 - 2 * x * y - y**2,
    f(x * (y + 1)) - f(x * y + x),  # arguments equal as polynomials: one atom
    g(f(x + y) * (z + 1)) * w - w * g(z * f(y + x) + f(x + y)),  # nested
    sp.exp(x + y) / (1 + sp.exp(x)) - sp.exp(y + x) * (sp.exp(x) + 1) ** -1,
    sp.Rational(1, 3) * f(x) + sp.Rational(2, 3) * f(x) - f(x),
], ids=["square", "same-argument", "nested", "inverse", "rationals"])
def test_identities_are_shown_zero(expr):
    assert Atoms().is_zero(expr)


@pytest.mark.parametrize("expr", [
    f(x) - f(y),
    f(x + y) - f(x) - f(y),
    f(x) * g(x) - g(x) * f(x) + x * 10**-30,  # a tiny term is not zero
    sp.pi * f(x) - 3 * f(x),  # pi is a variable of its own
], ids=["other-argument", "not-linear", "tiny", "pi"])
def test_non_identities_are_not_shown_zero(expr):
    """Negative controls: a non-zero expression is never reported as 0."""
    assert not Atoms().is_zero(expr)


def test_a_true_identity_the_atoms_cannot_see_is_not_shown_zero():
    """sigma(x) + sigma(-x) = 1 needs what sigma is: "not shown", and the
    proof then falls back on the full expansion."""
    assert not Atoms().is_zero(sigmoid(x) + sigmoid(-x) - 1)


def test_renaming_a_polynomial_renames_inside_atoms():
    atoms = Atoms()
    p = atoms.poly(f(x + y) * z + g(f(x)))
    swapped = atoms.rename(p, {x: z, z: x}, "x<->z")
    assert not sub(swapped, atoms.poly(f(z + y) * x + g(f(z))))
    assert sub(swapped, p)


def test_renaming_checks_invariance_on_the_expression():
    a, b, c = sp.symbols("a b c")
    ren = Renaming([(sp.Matrix([a, b, c]), 1, None), (sp.Matrix([[a, b]]), None, EXAMPLES)])
    assert ren.rename({1: 2}) == {a: c, c: a}
    assert ren.invariant(a + b + c, 1, 1) and ren.invariant(f(a) * f(b), 1, 1)
    assert not ren.invariant(a + 2 * b, 1, 1)  # negative control
    assert ren.maps(f(a) + c, f(b) + c, EXAMPLES, 1) and not ren.maps(f(a) + c, f(b) + a, EXAMPLES, 1)


def _with(target: str, change) -> derive.Derivation:
    d = derive_backward()
    d.steps = [Step(s.rule, s.lhs, change(s.rhs) if str(s.lhs) == target else s.rhs) for s in d.steps]
    return d


def test_a_formula_right_at_the_first_entry_only_fails_elsewhere():
    """dW2 + (W2 - W2^T) is right on the diagonal (so at entry (0, 0), where
    sympy differentiates) and wrong off it: every entry is compared."""
    net = derive.ARTICLE
    W2 = net.mat("W", 2)
    r = prove_exact((1, 2, 2, 1, 2), backward=_with("dW2", lambda e: e + W2 - W2.T))
    assert not r.ok
    assert sorted(where for name, where, _ in r.failures) == [(0, 1), (1, 0)]
    assert {name for name, _, _ in r.failures} == {"dW2"}


@pytest.mark.slow
def test_the_article_at_size_four_proves_quickly():
    import time

    start = time.process_time()
    r = prove_exact((4, 4, 4, 4, 4))
    assert r.ok and r.entries == 16 * 3 + 4 * 3 + 3 * 16
    assert time.process_time() - start < 60  # about 2 s; generous for a loaded machine


@pytest.mark.slow
def test_a_wrong_formula_at_size_three_fails():
    """Negative control where the renamings are used: f'(A1) for f'(Z1)."""
    from sympy.matrices.expressions import HadamardProduct

    from derive.matrix import Apply

    net = derive.ARTICLE
    d = _with("dZ1", lambda e: HadamardProduct(net.mat("W", 2).T * net.mat("dZ", 2), Apply("f", net.mat("A", 1), 1)))
    r = prove_exact((3, 3, 3, 3, 3), backward=d)
    assert not r.ok and {name for name, _, _ in r.failures} == {"dZ1", "dW1", "db1"}
