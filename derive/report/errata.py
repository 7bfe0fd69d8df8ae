"""The source article's errata, each with a counterexample the project computes.

Every item pairs a formula as printed in the article with the project's
verdict and a concrete computation that shows it (sympy for identities,
NumPy for floating-point behaviour).  Confirmed formulas are listed too.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

import numeric
from derive.activations import sigmoid

__all__ = ["Erratum", "errata", "bce_terms"]


@dataclass(frozen=True)
class Erratum:
    """One printed formula, the verdict, and the evidence.

    Attributes:
        title: short name.
        printed: the article's text of the formula (plain text; escape it).
        verdict: ``"wrong"``, ``"misleading"`` or ``"confirmed"``.
        printed_expr, correct_expr: sympy objects shown as equations, or None.
        evidence: (description, value) pairs; values are plain text.
        ok: True when the computation came out as the verdict says.
    """

    title: str
    printed: str
    verdict: str
    printed_expr: Any
    correct_expr: Any
    evidence: tuple[tuple[str, str], ...]
    ok: bool


def bce_terms(y: sp.Expr, a: sp.Expr) -> sp.Expr:
    """``y log a + (1 - y) log(1 - a)`` with its terms kept in this order for printing."""
    return sp.Add(sp.Mul(y, sp.log(a), evaluate=False), sp.Mul(1 - y, sp.log(1 - a), evaluate=False), evaluate=False)


def _g(x: float) -> str:
    return "nan" if np.isnan(x) else f"{x:.6g}"


def _loss_parentheses() -> Erratum:
    y, A = sp.Symbol("y", real=True), sp.Symbol("A3", positive=True)
    printed = sp.Add(-y * sp.log(A), (1 - y) * sp.log(1 - A), evaluate=False)
    correct = sp.Mul(-1, bce_terms(y, A), evaluate=False)
    flips = sp.simplify(printed.subs(y, 0) + correct.subs(y, 0)) == 0
    a = 0.8
    wrong_val = float(printed.subs({y: 0, A: sp.Rational(4, 5)}))
    right_val = float(correct.subs({y: 0, A: sp.Rational(4, 5)}))
    return Erratum(
        "Loss without parentheses",
        "loss = -y * log(A3) + (1 - y) * log(1 - A3)",
        "wrong",
        printed,
        correct,
        (
            ("sympy: printed(y=0) + correct(y=0) simplifies to 0", "yes" if flips else "no"),
            (f"printed loss at y = 0, A3 = {a}", _g(wrong_val)),
            (f"binary cross-entropy at y = 0, A3 = {a}", _g(right_val)),
        ),
        bool(flips and wrong_val < 0 < right_val),
    )


def _epsilon() -> Erratum:
    z3 = 40.0
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        A3 = numeric.ACTIVATIONS["sigmoid"].value(np.array([z3]))
        saturated = bool(A3[0] == 1.0)
        A3eps = A3 + 1e-8
        loss = float(-(0 * np.log(A3eps) + (1 - 0) * np.log(1 - A3eps))[0])
    stable = float(np.logaddexp(0.0, z3) - 0.0 * z3)
    J = sp.Symbol("z", real=True)
    exact = sp.log(1 + sp.exp(J)).subs(J, 40)
    return Erratum(
        "Adding epsilon to A3",
        "epsilon = 1e-8; A3 += epsilon",
        "wrong",
        None,
        None,
        (
            (f"float64 sigmoid(Z3) at Z3 = {z3:g} equals 1.0 exactly", "yes" if saturated else "no"),
            ("1 - (A3 + epsilon) in float64", _g(float(1 - A3eps[0]))),
            ("the article's loss at y = 0 (log of a negative number)", _g(loss)),
            ("the project's cost from the logits, softplus(Z3) - y Z3", _g(stable)),
            ("exact value log(1 + e^40) (sympy, 15 digits)", str(sp.N(exact, 15))),
        ),
        bool(saturated and np.isnan(loss) and abs(stable - float(exact)) < 1e-12),
    )


def _one_example_cost() -> Erratum:
    """Mean against summed cost, every printed number in fixed-order 53-bit
    arithmetic (or at 40 digits for the derivative), so the same on every machine."""
    import mpmath

    from derive.expr import activation_expr
    from derive.report.fixed import MpNetwork

    rng = np.random.default_rng(0)
    params = numeric.init_params(2, 2, 2, seed=0)
    X = rng.standard_normal((2, 4))
    Y = np.array([[1.0, 0.0, 1.0, 0.0]])
    m = X.shape[1]
    f, g = activation_expr("swish"), activation_expr("leaky_relu")
    whole = MpNetwork(f, g, params, X, Y)
    h = mpmath.mpf("1e-6")
    with mpmath.workprec(53):
        mean = whole.cost()
        total = mpmath.mpf(0)
        for k in range(m):
            total = total + MpNetwork(f, g, params, X[:, [k]], Y[:, [k]]).cost()
        ratio = total / mean
        fd = (whole.cost("b3", (0, 0), +h) - whole.cost("b3", (0, 0), -h)) / (2 * h)
    with mpmath.workdps(40):
        db3 = mpmath.diff(lambda t: whole.cost("b3", (0, 0), t), 0)
    mean, total, ratio, fd, db3 = (float(v) for v in (mean, total, ratio, fd, db3))
    yv, A = sp.Symbol("y", real=True), sp.Symbol("A3", positive=True)
    Ym, Am = sp.IndexedBase("Y"), sp.IndexedBase("A3")
    k, mm = sp.Symbol("k", integer=True, positive=True), sp.Symbol("m", integer=True, positive=True)
    printed = sp.Mul(-1, bce_terms(yv, A), evaluate=False)
    correct = -sp.Sum(bce_terms(Ym[k], Am[k]), (k, 1, mm)) / mm
    return Erratum(
        "Cost of one example",
        "J(theta) = -(y log(h(x)) + (1 - y) log(1 - h(x)))",
        "misleading",
        printed,
        correct,
        (
            (f"mean cost J over m = {m} examples", _g(mean)),
            ("sum of the one-example costs", _g(total)),
            ("sum / J", _g(ratio)),
            ("db3 = dJ/db3 of the mean cost (40 digits)", _g(db3)),
            ("central difference of the mean J in b3, h = 1e-6", _g(fd)),
        ),
        bool(abs(ratio - m) < 1e-12 and abs(fd - db3) < 1e-7),
    )


def _star_products() -> Erratum:
    params = numeric.init_params(3, 4, 2, seed=0)
    X = np.random.default_rng(1).standard_normal((3, 5))
    cache = numeric.forward(params, X)
    dZ3 = cache["A3"] - np.array([[1.0, 0.0, 1.0, 1.0, 0.0]])
    try:
        dZ3 * cache["A2"].T
        elementwise = "no error"
    except ValueError as exc:
        elementwise = "ValueError: " + " ".join(str(exc).split())
    W3 = params["W3"]
    try:
        (W3.T @ dZ3) @ cache["Z2"]
        matmul = "no error"
    except ValueError as exc:
        matmul = "ValueError: " + " ".join(str(exc).split())
    good = (dZ3 @ cache["A2"].T) / 5
    return Erratum(
        "One symbol * for two products",
        "dW3 = (dZ3 * A2.T) / m;  dZ2 = (W3.T * dZ3) * g_derivative(Z2)",
        "wrong",
        None,
        None,
        (
            ("dZ3 * A2.T as an elementwise product, shapes (1, 5) and (5, 2)", elementwise),
            ("(W3.T dZ3) @ g'(Z2) as a matrix product, shapes (2, 5) and (2, 5)", matmul),
            ("dZ3 @ A2.T / m (matrix product): shape", str(good.shape)),
        ),
        bool(elementwise != "no error" and matmul != "no error" and good.shape == (1, 2)),
    )


def _keepdims() -> Erratum:
    rng = np.random.default_rng(0)
    dZ1 = rng.standard_normal((4, 5))
    b1 = np.zeros((4, 1))
    no_keep = np.sum(dZ1, axis=1) / 5
    keep = np.sum(dZ1, axis=1, keepdims=True) / 5
    updated = b1 - 0.1 * no_keep
    return Erratum(
        "Sum(dZ, 1) without keepdims",
        "db1 = Sum(dZ1, 1) / m",
        "wrong",
        None,
        None,
        (
            ("shape of sum(dZ1, axis=1) / m for dZ1 of shape (4, 5)", str(no_keep.shape)),
            ("shape with keepdims=True", str(keep.shape)),
            ("shape of the update b1 - 0.1 db1 without keepdims (silent broadcast)", str(updated.shape)),
        ),
        bool(no_keep.shape == (4,) and keep.shape == (4, 1) and updated.shape == (4, 4)),
    )


def _layer_names() -> Erratum:
    return Erratum(
        "Layer widths named twice",
        "text: n input, p and q hidden, 1 output; shape table: X (d, m), W1 (n, d), W2 (p, n), W3 (q, p)",
        "misleading",
        None,
        None,
        (
            ("widths this report uses (the shape table's)", "d, n, p, q"),
            ("proven shapes include q > 1 (multi-label output)", "yes"),
        ),
        True,
    )


def _confirmed() -> Erratum:
    z = sp.Symbol("z", real=True)
    s = sigmoid(z)
    ok = sp.simplify((sp.diff(s, z) - s * (1 - s)).rewrite(sp.exp)) == 0
    return Erratum(
        "The article's correct formulas",
        "dZ3 = A3 - y; dW = dZ A.T / m; db = Sum(dZ, 1) / m; sigmoid' = A3 (1 - A3)",
        "confirmed",
        None,
        None,
        (
            ("sigmoid' = A(1 - A) (sympy, Section 3)", "yes" if ok else "no"),
            ("dZ3 = A3 - Y and the dW, db formulas (with matrix products and keepdims)",
             "proven, Sections 5 and 7"),
        ),
        bool(ok),
    )


def errata() -> list[Erratum]:
    """Every erratum of the article, computed now.

    Example:
        >>> all(e.ok for e in errata())
        True
    """
    return [
        _loss_parentheses(),
        _epsilon(),
        _one_example_cost(),
        _star_products(),
        _keepdims(),
        _layer_names(),
        _confirmed(),
    ]
