"""Golden tests of the scalar derivations (derive.scalar): every step's rule,
sides, how it was checked and the verdict, for each head, MSE convention,
reduction and L2 convention.  These lines are what the reports print, so
any change to them is a visible change; the verdicts are sympy's.

Written to kill the mutants that survived ``python tools/mutate.py --area core``.
"""

from __future__ import annotations

import pytest

import numeric
from derive import scalar

BUILDERS = {
    "sigmoid_derivative": scalar.sigmoid_derivative,
    "bce_simplification": scalar.bce_simplification,
    "softmax_jacobian": scalar.softmax_jacobian,
    "softmax_ce": scalar.softmax_ce_simplification,
    **{f"{h}-{c}-{r}": (lambda h=h, c=c, r=r: scalar.mse_simplification(head=h, mse=c, reduction=r))
       for h in ("identity-mse", "sigmoid-mse") for c in ("half", "torch") for r in ("mean", "sum")},
    **{f"l2-{c}": (lambda c=c: scalar.l2_derivative(convention=c)) for c in ("lambda/2m", "lambda/2")},
}

GOLDEN = {
    'sigmoid_derivative': ('sigmoid derivative (quotient rule)', [
        ('definition', 'Derivative(sigmoid(z), z)', 'Derivative(1/(1 + exp(-z)), z)', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ("quotient rule: (u/v)' = (u'v - uv')/v^2", 'Derivative(1/(1 + exp(-z)), z)', '-Derivative(1 + exp(-z), z)/(1 + exp(-z))**2', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('derivative of 1 + e^-z is -e^-z', 'Derivative(1/(1 + exp(-z)), z)', 'exp(-z)/(1 + exp(-z))**2', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('split the fraction', 'Derivative(1/(1 + exp(-z)), z)', '(exp(-z)/(1 + exp(-z)))/(1 + exp(-z))', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('e^-z/(1 + e^-z) = 1 - 1/(1 + e^-z)', 'Derivative(1/(1 + exp(-z)), z)', '(1 - 1/(1 + exp(-z)))/(1 + exp(-z))', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('name A = sigma(z)', 'Derivative(sigmoid(z), z)', 'A*(1 - A)', 'substitute A = 1/(1 + e^-z); sympy: lhs - rhs, in exp form, simplifies to 0', True),
    ]),
    'bce_simplification': ('BCE through the sigmoid (chain rule)', [
        ('per-entry BCE term of the mean cost', 'L', '(-Y*log(A3) - (1 - Y)*log(1 - A3))/m', 'definition', True),
        ('d log(u) = du / u', 'Derivative((-Y*log(A3) - (1 - Y)*log(1 - A3))/m, A3)', '((1 - Y)/(1 - A3) - Y/A3)/m', 'sympy: the difference reduces to 0 (sigmoid in exp form where it appears)', True),
        ('sigmoid derivative', 'Derivative(sigmoid(Z3), Z3)', 'A3*(1 - A3)', 'sympy: the difference reduces to 0 (sigmoid in exp form where it appears)', True),
        ('chain rule: dL/dZ3 = dL/dA3 dA3/dZ3', 'dL/dZ3', '(A3*(1 - A3))*(((1 - Y)/(1 - A3) - Y/A3)/m)', 'sympy: the difference reduces to 0 (sigmoid in exp form where it appears)', True),
        ('distribute A3(1 - A3)', '(A3*(1 - A3))*(((1 - Y)/(1 - A3) - Y/A3)/m)', '(A3*(1 - Y) - Y*(1 - A3))/m', 'sympy: the difference reduces to 0 (sigmoid in exp form where it appears)', True),
        ('expand: the Y A3 terms cancel', '(A3*(1 - Y) - Y*(1 - A3))/m', '(A3 - Y)/m', 'sympy: the difference reduces to 0 (sigmoid in exp form where it appears)', True),
        ("m dJ/dZ3 (the article's dZ3)", 'dZ3', 'A3 - Y', 'm times the previous line; sympy: lhs - rhs, in exp form, simplifies to 0', True),
    ]),
    'softmax_jacobian': ('softmax Jacobian (quotient rule, q = 3)', [
        ('definition a1 = e^z1 / sum_j e^zj', 'a1', 'exp(z1)/(exp(z1) + exp(z2) + exp(z3))', 'definition', True),
        ("quotient rule: (u/v)' = (u'v - uv')/v^2", 'Derivative(exp(z1)/(exp(z1) + exp(z2) + exp(z3)), z1)', '((exp(z1) + exp(z2) + exp(z3))*exp(z1) - exp(2*z1))/(exp(z1) + exp(z2) + exp(z3))**2', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('split the fraction', 'Derivative(exp(z1)/(exp(z1) + exp(z2) + exp(z3)), z1)', '(exp(z1)/(exp(z1) + exp(z2) + exp(z3)))*(1 - exp(z1)/(exp(z1) + exp(z2) + exp(z3)))', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('definition a1 = e^z1 / sum_j e^zj', 'a1', 'exp(z1)/(exp(z1) + exp(z2) + exp(z3))', 'definition', True),
        ("quotient rule: (u/v)' = (u'v - uv')/v^2", 'Derivative(exp(z1)/(exp(z1) + exp(z2) + exp(z3)), z2)', '-exp(z1)*exp(z2)/(exp(z1) + exp(z2) + exp(z3))**2', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('split the fraction', 'Derivative(exp(z1)/(exp(z1) + exp(z2) + exp(z3)), z2)', '(exp(z1)/(exp(z1) + exp(z2) + exp(z3)))*(-exp(z2)/(exp(z1) + exp(z2) + exp(z3)))', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('name a_j = softmax(z)_j', 'da_i/dz_k', '(KroneckerDelta(i, k) - a[k])*a[i]', 'every (i, k) at q = 3: sympy: lhs - rhs, in exp form, simplifies to 0', True),
    ]),
    'softmax_ce': ('cross-entropy through the softmax (q = 3; every column of Y sums to 1)', [
        ('per-example CE term of the mean cost', 'L', '(-y1*log(exp(z1)/(exp(z1) + exp(z2) + exp(z3))) - y2*log(exp(z2)/(exp(z1) + exp(z2) + exp(z3))) - y3*log(exp(z3)/(exp(z1) + exp(z2) + exp(z3))))/m', 'definition', True),
        ('log of a quotient: log a_i = z_i - log sum_j e^zj', '(-y1*log(exp(z1)/(exp(z1) + exp(z2) + exp(z3))) - y2*log(exp(z2)/(exp(z1) + exp(z2) + exp(z3))) - y3*log(exp(z3)/(exp(z1) + exp(z2) + exp(z3))))/m', '(-y1*(z1 - log(exp(z1) + exp(z2) + exp(z3))) - y2*(z2 - log(exp(z1) + exp(z2) + exp(z3))) - y3*(z3 - log(exp(z1) + exp(z2) + exp(z3))))/m', 'sympy: the difference with logs of positive quotients expanded reduces to 0', True),
        ('chain rule with the softmax Jacobian', 'Derivative((-y1*log(exp(z1)/(exp(z1) + exp(z2) + exp(z3))) - y2*log(exp(z2)/(exp(z1) + exp(z2) + exp(z3))) - y3*log(exp(z3)/(exp(z1) + exp(z2) + exp(z3))))/m, z1)', '(-y1*(1 - exp(z1)/(exp(z1) + exp(z2) + exp(z3))) + y2*exp(z1)/(exp(z1) + exp(z2) + exp(z3)) + y3*exp(z1)/(exp(z1) + exp(z2) + exp(z3)))/m', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('collect: sum_i y_i a_k - y_k', 'Derivative((-y1*log(exp(z1)/(exp(z1) + exp(z2) + exp(z3))) - y2*log(exp(z2)/(exp(z1) + exp(z2) + exp(z3))) - y3*log(exp(z3)/(exp(z1) + exp(z2) + exp(z3))))/m, z1)', '(-y1 + (y1 + y2 + y3)*exp(z1)/(exp(z1) + exp(z2) + exp(z3)))/m', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('ASSUMPTION sum_i y_i = 1 (one-hot or label smoothing)', 'Derivative((-y1*log(exp(z1)/(exp(z1) + exp(z2) + exp(z3))) - y2*log(exp(z2)/(exp(z1) + exp(z2) + exp(z3))) - y3*log(exp(z3)/(exp(z1) + exp(z2) + exp(z3))))/m, z1)', '(-y1 + exp(z1)/(exp(z1) + exp(z2) + exp(z3)))/m', 'every k = 1..3, with y_3 = 1 - (y_1 + ... + y_2) substituted: sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ("m dJ/dZ (the article's convention)", 'dZ_k', 'a_k - y_k', 'm times the previous line', True),
    ]),
    'identity-mse-half-mean': ('identity-mse: squared error, convention half, reduction mean', [
        ('per-entry term of the cost', 'L', '(A - Y)**2/(2*m)', 'definition', True),
        ('power rule: d (a - y)^2 / da = 2 (a - y)', 'Derivative((A - Y)**2/(2*m), A)', '(2*A - 2*Y)/(2*m)', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('identity output: A = Z, dA/dZ = 1', 'dL/dZ', '(2*A - 2*Y)/(2*m)', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('m dJ/dZ (the dZ convention)', 'dZ', 'A - Y', 'm times the previous line; sympy: lhs - rhs, in exp form, simplifies to 0', True),
    ]),
    'identity-mse-half-sum': ('identity-mse: squared error, convention half, reduction sum', [
        ('per-entry term of the cost', 'L', '(A - Y)**2/2', 'definition', True),
        ('power rule: d (a - y)^2 / da = 2 (a - y)', 'Derivative((A - Y)**2/2, A)', 'A - Y', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('identity output: A = Z, dA/dZ = 1', 'dL/dZ', 'A - Y', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('1 dJ/dZ (the dZ convention)', 'dZ', 'A - Y', '1 times the previous line; sympy: lhs - rhs, in exp form, simplifies to 0', True),
    ]),
    'identity-mse-torch-mean': ('identity-mse: squared error, convention torch, reduction mean', [
        ('per-entry term of the cost', 'L', '(A - Y)**2/(m*q)', 'definition', True),
        ('power rule: d (a - y)^2 / da = 2 (a - y)', 'Derivative((A - Y)**2/(m*q), A)', '(2*A - 2*Y)/(m*q)', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('identity output: A = Z, dA/dZ = 1', 'dL/dZ', '(2*A - 2*Y)/(m*q)', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('m dJ/dZ (the dZ convention)', 'dZ', '(2/q)*(A - Y)', 'm times the previous line; sympy: lhs - rhs, in exp form, simplifies to 0', True),
    ]),
    'identity-mse-torch-sum': ('identity-mse: squared error, convention torch, reduction sum', [
        ('per-entry term of the cost', 'L', '(A - Y)**2', 'definition', True),
        ('power rule: d (a - y)^2 / da = 2 (a - y)', 'Derivative((A - Y)**2, A)', '2*A - 2*Y', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('identity output: A = Z, dA/dZ = 1', 'dL/dZ', '2*A - 2*Y', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('1 dJ/dZ (the dZ convention)', 'dZ', '2*(A - Y)', '1 times the previous line; sympy: lhs - rhs, in exp form, simplifies to 0', True),
    ]),
    'sigmoid-mse-half-mean': ('sigmoid-mse: squared error, convention half, reduction mean', [
        ('per-entry term of the cost', 'L', '(A - Y)**2/(2*m)', 'definition', True),
        ('power rule: d (a - y)^2 / da = 2 (a - y)', 'Derivative((A - Y)**2/(2*m), A)', '(2*A - 2*Y)/(2*m)', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('sigmoid derivative', 'Derivative(sigmoid(Z), Z)', '(1 - sigmoid(Z))*sigmoid(Z)', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('chain rule: dL/dZ = dL/dA dA/dZ', 'dL/dZ', 'A*(1 - A)*(2*A - 2*Y)/(2*m)', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('m dJ/dZ (the dZ convention)', 'dZ', 'A*(1 - A)*(A - Y)', 'm times the previous line; sympy: lhs - rhs, in exp form, simplifies to 0', True),
    ]),
    'sigmoid-mse-half-sum': ('sigmoid-mse: squared error, convention half, reduction sum', [
        ('per-entry term of the cost', 'L', '(A - Y)**2/2', 'definition', True),
        ('power rule: d (a - y)^2 / da = 2 (a - y)', 'Derivative((A - Y)**2/2, A)', 'A - Y', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('sigmoid derivative', 'Derivative(sigmoid(Z), Z)', '(1 - sigmoid(Z))*sigmoid(Z)', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('chain rule: dL/dZ = dL/dA dA/dZ', 'dL/dZ', 'A*(1 - A)*(A - Y)', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('1 dJ/dZ (the dZ convention)', 'dZ', 'A*(1 - A)*(A - Y)', '1 times the previous line; sympy: lhs - rhs, in exp form, simplifies to 0', True),
    ]),
    'sigmoid-mse-torch-mean': ('sigmoid-mse: squared error, convention torch, reduction mean', [
        ('per-entry term of the cost', 'L', '(A - Y)**2/(m*q)', 'definition', True),
        ('power rule: d (a - y)^2 / da = 2 (a - y)', 'Derivative((A - Y)**2/(m*q), A)', '(2*A - 2*Y)/(m*q)', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('sigmoid derivative', 'Derivative(sigmoid(Z), Z)', '(1 - sigmoid(Z))*sigmoid(Z)', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('chain rule: dL/dZ = dL/dA dA/dZ', 'dL/dZ', 'A*(1 - A)*(2*A - 2*Y)/(m*q)', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('m dJ/dZ (the dZ convention)', 'dZ', '(2/q)*(A*(1 - A)*(A - Y))', 'm times the previous line; sympy: lhs - rhs, in exp form, simplifies to 0', True),
    ]),
    'sigmoid-mse-torch-sum': ('sigmoid-mse: squared error, convention torch, reduction sum', [
        ('per-entry term of the cost', 'L', '(A - Y)**2', 'definition', True),
        ('power rule: d (a - y)^2 / da = 2 (a - y)', 'Derivative((A - Y)**2, A)', '2*A - 2*Y', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('sigmoid derivative', 'Derivative(sigmoid(Z), Z)', '(1 - sigmoid(Z))*sigmoid(Z)', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('chain rule: dL/dZ = dL/dA dA/dZ', 'dL/dZ', 'A*(1 - A)*(2*A - 2*Y)', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('1 dJ/dZ (the dZ convention)', 'dZ', '2*(A*(1 - A)*(A - Y))', '1 times the previous line; sympy: lhs - rhs, in exp form, simplifies to 0', True),
    ]),
    'l2-lambda/2m': ('L2 term, convention (lambda/2m) sum ||W_l||^2', [
        ('the term of the penalty that holds the weight w', 'R', 'lambda*w**2/(2*m)', 'definition', True),
        ('biases are not regularised: dR/db', 'Derivative(lambda*w**2/(2*m), b)', '0', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('power rule: dR/dw', 'Derivative(lambda*w**2/(2*m), w)', 'lambda*w/m', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('added to dW (a true partial, no factor m)', 'Derivative(lambda*w**2/(2*m), w)', 'lambda*w/m', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
    ]),
    'l2-lambda/2': ('L2 term, convention (lambda/2) sum ||W_l||^2', [
        ('the term of the penalty that holds the weight w', 'R', 'lambda*w**2/2', 'definition', True),
        ('biases are not regularised: dR/db', 'Derivative(lambda*w**2/2, b)', '0', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('power rule: dR/dw', 'Derivative(lambda*w**2/2, w)', 'lambda*w', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
        ('added to dW (a true partial, no factor m)', 'Derivative(lambda*w**2/2, w)', 'lambda*w', 'sympy: lhs - rhs, in exp form, simplifies to 0', True),
    ]),
}


@pytest.mark.parametrize("name", list(GOLDEN))
def test_scalar_derivation_reads_as_recorded(name):
    title, steps = GOLDEN[name]
    d = BUILDERS[name]()
    assert d.title == title
    assert [(s.rule, str(s.lhs), str(s.rhs), s.check, s.verified) for s in d.steps] == steps
    assert d.ok


@pytest.mark.parametrize(("kw", "titles"), [
    (dict(), ["sigmoid derivative (quotient rule)", "BCE through the sigmoid (chain rule)"]),
    (dict(head="softmax-ce", q=3), ["softmax Jacobian (quotient rule, q = 3)",
                                    "cross-entropy through the softmax (q = 3; every column of Y sums to 1)"]),
    (dict(head="identity-mse", mse="torch", reduction="sum"),
     ["identity-mse: squared error, convention torch, reduction sum"]),
    (dict(head="sigmoid-mse", l2=0.5, l2_convention="lambda/2"),
     ["sigmoid derivative (quotient rule)", "sigmoid-mse: squared error, convention half, reduction mean",
      "L2 term, convention (lambda/2) sum ||W_l||^2"]),
    (dict(l2=1.0), ["sigmoid derivative (quotient rule)", "BCE through the sigmoid (chain rule)",
                    "L2 term, convention (lambda/2m) sum ||W_l||^2"]),
], ids=["article", "softmax", "mse-torch-sum", "sigmoid-mse-l2", "bce-l2"])
def test_head_derivations_are_the_heads_facts(kw, titles):
    q = kw.pop("q", 1)
    net = numeric.Network((2, 3, max(q, 2) if kw.get("head") == "softmax-ce" else q), ("tanh",), **kw)
    ds = scalar.head_derivations(net)
    assert [d.title for d in ds] == titles
    assert all(d.ok for d in ds)


def test_mse_defaults_are_identity_half_mean():
    d = scalar.mse_simplification()
    title, steps = GOLDEN["identity-mse-half-mean"]
    assert d.title == title
    assert [(s.rule, str(s.lhs), str(s.rhs), s.check, s.verified) for s in d.steps] == steps
    assert scalar.l2_derivative().title == GOLDEN["l2-lambda/2m"][0]


def test_head_derivations_take_any_object_with_a_head():
    from types import SimpleNamespace

    titles = [d.title for d in scalar.head_derivations(SimpleNamespace(head="identity-mse"))]
    assert titles == ["identity-mse: squared error, convention half, reduction mean"]
    assert [d.title for d in scalar.head_derivations(SimpleNamespace())] == [
        "sigmoid derivative (quotient rule)", "BCE through the sigmoid (chain rule)"]


@pytest.mark.parametrize("fn", [scalar.bce_simplification, scalar.softmax_ce_simplification])
def test_head_derivations_follow_the_reduction(fn):
    import sympy as sp

    mean, summed = fn(), fn(reduction="sum")
    assert mean.ok and summed.ok
    m = sp.Symbol("m", positive=True, integer=True)
    assert not any(m in getattr(s.rhs, "free_symbols", set()) for s in summed.steps)  # no 1/m anywhere
    assert any(m in getattr(s.rhs, "free_symbols", set()) for s in mean.steps)
    assert summed.steps[-1].rule == "1 dJ/dZ (the dZ convention)" and summed.steps[-1].verified
    assert str(summed.result.rhs) == str(mean.result.rhs)  # dZ = A - Y either way
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum'"):
        fn(reduction="average")


def test_head_derivations_use_the_network_reduction():
    net = numeric.Network(widths=(3, 2, 1), activations=("tanh",), head="sigmoid-bce", reduction="sum")
    bce = [d for d in scalar.head_derivations(net) if d.title.startswith("BCE")][0]
    assert bce.title.endswith("sum reduction") and bce.steps[0].rule == "per-entry BCE term of the summed cost"
