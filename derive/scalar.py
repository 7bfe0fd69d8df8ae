"""The two scalar facts behind the output layer, derived step by step.

* :func:`sigmoid_derivative`: from ``sigma(z) = 1 / (1 + e^-z)`` by the
  quotient rule to ``sigma'(z) = A (1 - A)`` with ``A = sigma(z)``.
* :func:`bce_simplification`: from the per-entry BCE term, by the chain rule
  through the sigmoid, to ``dJ/dZ3 = (A3 - Y) / m``.

Every step is an equality that sympy confirms (:func:`derive.steps.scalar_equal`).
"""

from __future__ import annotations

import sympy as sp

from derive.activations import sigmoid
from derive.steps import Derivation, Step, scalar_equal

__all__ = ["sigmoid_derivative", "bce_simplification"]

_HOW = "sympy: lhs - rhs, in exp form, simplifies to 0"


def sigmoid_derivative() -> Derivation:
    """``d/dz 1/(1 + e^-z)`` to ``A (1 - A)``, by the quotient rule.

    Example:
        >>> d = sigmoid_derivative()
        >>> d.ok, str(d.result.rhs)
        (True, 'A*(1 - A)')
    """
    z = sp.Symbol("z", real=True)
    A = sp.Symbol("A", real=True)
    e = sp.exp(-z)
    u, v = sp.S.One, 1 + e
    d = Derivation("sigmoid derivative (quotient rule)")
    lhs = sp.Derivative(u / v, z)
    d.add("definition", sp.Derivative(sigmoid(z), z), lhs)
    d.add(
        "quotient rule: (u/v)' = (u'v - uv')/v^2",
        lhs,
        (sp.Mul(0, v, evaluate=False) - sp.Mul(u, sp.Derivative(v, z), evaluate=False)) / v**2,
    )
    d.add("derivative of 1 + e^-z is -e^-z", lhs, sp.Mul(e, sp.Pow(v, -2), evaluate=False))
    d.add("split the fraction", lhs, sp.Mul(u / v, e / v, evaluate=False))
    d.add(
        "e^-z/(1 + e^-z) = 1 - 1/(1 + e^-z)",
        lhs,
        sp.Mul(u / v, sp.Add(1, -u / v, evaluate=False), evaluate=False),
    )
    d.verify(scalar_equal, _HOW)
    # the last step renames 1/(1 + e^-z) as A; confirm by substituting back
    final = A * (1 - A)
    ok = scalar_equal(lhs, final.subs(A, 1 / (1 + e)))
    how = "substitute A = 1/(1 + e^-z); " + _HOW
    d.steps.append(Step("name A = sigma(z)", sp.Derivative(sigmoid(z), z), final, how, ok))
    return d


def bce_simplification() -> Derivation:
    """The BCE and sigmoid derivatives collapse to ``dJ/dZ3 = (A3 - Y) / m``.

    Works on one entry: ``J`` holds the term ``L = -(1/m)[y log a + (1 - y)
    log(1 - a)]`` for ``a = sigma(z)``, and no other term depends on ``z``.

    Example:
        >>> d = bce_simplification()
        >>> d.ok, str(d.result.rhs)
        (True, '(A3 - Y)/m')
    """
    z = sp.Symbol("Z3", real=True)
    y = sp.Symbol("Y", real=True)
    a = sp.Symbol("A3", positive=True)
    m = sp.Symbol("m", positive=True, integer=True)
    L = -(y * sp.log(a) + (1 - y) * sp.log(1 - a)) / m
    dL_da = -(y / a - (1 - y) / (1 - a)) / m
    d = Derivation("BCE through the sigmoid (chain rule)")
    d.add("per-entry BCE term of the mean cost", sp.Symbol("L"), L)  # a definition, marked below
    d.add("d log(u) = du / u", sp.Derivative(L, a), dL_da)
    d.add("sigmoid derivative", sp.Derivative(sigmoid(z), z), a * (1 - a))
    chained = sp.Mul(dL_da, a * (1 - a), evaluate=False)
    d.add("chain rule: dL/dZ3 = dL/dA3 dA3/dZ3", sp.Symbol("dL/dZ3"), chained)
    distributed = -(y * (1 - a) - (1 - y) * a) / m
    d.add("distribute A3(1 - A3)", chained, distributed)
    d.add("expand: the Y A3 terms cancel", distributed, (a - y) / m)

    def equal(lhs: sp.Expr, rhs: sp.Expr) -> bool:
        if lhs == sp.Symbol("dL/dZ3"):
            # the chain rule itself: diff of L(sigma(z)) wrt z, in exp form
            truth = sp.diff(L.subs(a, sigmoid(z)), z)
            return scalar_equal(truth, rhs.subs(a, sigmoid(z)))
        if isinstance(lhs, sp.Derivative) and lhs.expr == sigmoid(z):
            return scalar_equal(lhs, rhs.subs(a, sigmoid(z)))
        return scalar_equal(lhs, rhs)

    d.verify(equal, "sympy: the difference reduces to 0 (sigmoid in exp form where it appears)")
    d.steps[0] = Step(d.steps[0].rule, d.steps[0].lhs, d.steps[0].rhs, "definition", True)
    ok = scalar_equal(m * d.steps[-1].rhs, a - y)
    d.steps.append(Step("m dJ/dZ3 (the article's dZ3)", sp.Symbol("dZ3"), a - y, "m times the previous line; " + _HOW, ok))
    return d
