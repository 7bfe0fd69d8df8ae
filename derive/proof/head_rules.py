"""Level-2 proofs (index form, symbolic sizes) of the head and L2 rules.

Like :func:`derive.proof.index_form.index_rules`, each rule is restated
entry by entry with ``IndexedBase``/``Sum`` for *symbolic* q and m (written
``i + u`` and ``k + w`` with non-negative slacks, so that the entry (i, k)
is in range by construction), the cost is differentiated with sympy's
``diff`` (``KroneckerDelta`` factors, summed out by ``doit``), and the
result minus the claimed rule reduces to 0.

* softmax + CE: ``N dJ/dZ_ik = A_ik - Y_ik`` only under ``sum_r Y_rk = 1``;
  the proof substitutes that sum and records the residual without it.
* the softmax Jacobian: ``d A_ik / d Z_jk = A_ik (delta_ij - A_jk)``.
* identity + MSE and sigmoid + MSE under both conventions and reductions.
* sigmoid + BCE under the sum reduction, ``dJ/dZ_ik = sigma(Z_ik) - Y_ik``
  (the mean is :func:`~derive.proof.index_form.index_rules`' own rule).
* L2: ``dR/dW_ij = r W_ij`` (r = lambda/m or lambda), ``dR/db_i = 0``.
"""

from __future__ import annotations

import sympy as sp

from derive.activations import sigmoid
from derive.proof.index_form import IndexEquation, _Entry, _zero

__all__ = ["head_index_rules"]

_i, _j, _k, _r, _c, _s = sp.symbols("i j k r c s", integer=True, positive=True)
_u, _v, _w = sp.symbols("u v w", integer=True, nonnegative=True)
_HOW = ("sympy: N times the diff of the cost (symbolic sizes, KroneckerDelta summed out) "
        "minus the index form reduces to 0")


def _softmax_ce(reduction: str) -> list[IndexEquation]:
    i, j, k, r, c, s, u, w = _i, _j, _k, _r, _c, _s, _u, _w
    Z, Y = sp.IndexedBase("Z"), sp.IndexedBase("Y")
    q, m = sp.symbols("q m", integer=True, positive=True)
    Q, M = i + u, k + w
    N = M if reduction == "mean" else 1

    def total(col: sp.Expr, size: sp.Expr) -> sp.Expr:
        return sp.Sum(sp.exp(Z[s, col]), (s, 1, size))

    J = -sp.Sum(Y[r, c] * (Z[r, c] - sp.log(total(c, Q))), (r, 1, Q), (c, 1, M)) / N
    derived = (N * sp.diff(J, Z[i, k])).doit()
    A_ik = sp.exp(Z[i, k]) / total(k, Q)
    claim = A_ik - Y[i, k]
    residual = derived - claim
    assumed = residual.replace(lambda e: isinstance(e, sp.Sum) and e.function == Y[r, k], lambda e: sp.S.One)
    ok = _zero(assumed) and not _zero(residual)  # needs the assumption, and holds under it
    shown = -sp.Sum(Y[r, c] * sp.log(sp.exp(Z[r, c]) / total(c, q)), (r, 1, q), (c, 1, m)) / (
        m if reduction == "mean" else 1)
    how = (f"{_HOW}, with sum_r Y_rk = 1 substituted; without it the residual is "
           f"{sp.sstr(sp.factor(residual.xreplace({Q: q})))}")
    lhs = (m if reduction == "mean" else 1) * _Entry(Z[i, k])
    out = [IndexEquation(f"softmax + CE ({reduction})", lhs, shown, sp.exp(Z[i, k]) / total(k, q) - Y[i, k], how, ok)]

    # the Jacobian, one column: d softmax(Z)_ik / d Z_jk
    size = i + j + u  # a size at least i and at least j
    A = sp.exp(Z[i, k]) / total(k, size)
    derived = sp.diff(A, Z[j, k]).doit()
    Aj = sp.exp(Z[j, k]) / total(k, size)
    claim = A * (sp.KroneckerDelta(i, j) - Aj)
    ok = _zero(derived - claim)
    out.append(IndexEquation("softmax Jacobian", sp.Derivative(sp.Symbol("A_ik"), sp.Symbol("Z_jk")), None,
                             sp.Symbol("A_ik") * (sp.KroneckerDelta(i, j) - sp.Symbol("A_jk")),
                             "sympy: diff of e^Z_ik / sum_s e^Z_sk (symbolic size) minus the index form is 0", ok))
    return out


def _mse(head: str, mse: str, reduction: str) -> IndexEquation:
    i, k, r, c, u, w = _i, _k, _r, _c, _u, _w
    Z, Y = sp.IndexedBase("Z"), sp.IndexedBase("Y")
    Q, M = i + u, k + w
    q, m = sp.symbols("q m", integer=True, positive=True)
    N = M if reduction == "mean" else 1
    denom = 2 * N if mse == "half" else (Q * M if reduction == "mean" else 1)
    out_fn = sigmoid if head == "sigmoid-mse" else (lambda e: e)
    J = sp.Sum((out_fn(Z[r, c]) - Y[r, c]) ** 2, (r, 1, Q), (c, 1, M)) / denom
    derived = (N * sp.diff(J, Z[i, k])).doit()
    scale = sp.S.One if mse == "half" else (2 / Q if reduction == "mean" else sp.Integer(2))
    A = out_fn(Z[i, k])
    claim = scale * (A - Y[i, k]) * (A * (1 - A) if head == "sigmoid-mse" else 1)
    ok = _zero(derived - claim)
    shown_scale = scale.xreplace({Q: q})
    a, y = sp.Symbol("A_ik"), sp.Symbol("Y_ik")
    shown = shown_scale * (a - y) * (a * (1 - a) if head == "sigmoid-mse" else 1)
    lhs = (m if reduction == "mean" else 1) * _Entry(Z[i, k])
    return IndexEquation(f"{head} ({mse}, {reduction})", lhs, None, shown, _HOW, ok)


def _l2(convention: str) -> list[IndexEquation]:
    i, j, r, s, u, v = _i, _j, _r, _s, _u, _v
    W, b = sp.IndexedBase("W"), sp.IndexedBase("b")
    lam = sp.Symbol("lambda", positive=True)
    m = sp.Symbol("m", integer=True, positive=True)
    coef = lam / (2 * m) if convention == "lambda/2m" else lam / 2
    R = coef * sp.Sum(W[r, s] ** 2, (r, 1, i + u), (s, 1, j + v))
    rate = 2 * coef
    ok_w = _zero(sp.diff(R, W[i, j]).doit() - rate * W[i, j])
    ok_b = _zero(sp.diff(R, b[i]).doit())
    how = "sympy: diff of the penalty (symbolic sizes) minus the index form is 0"
    return [
        IndexEquation(f"L2 ({convention}): weight", _Entry(W[i, j]), None, rate * W[i, j], how, ok_w),
        IndexEquation(f"L2 ({convention}): bias", _Entry(b[i]), None, sp.S.Zero, how, ok_b),
    ]


def _bce_sum() -> IndexEquation:
    """sigmoid + BCE with the cost summed over the examples (N = 1)."""
    i, k, r, c, u, w = _i, _k, _r, _c, _u, _w
    Z, Y = sp.IndexedBase("Z"), sp.IndexedBase("Y")
    q, m = sp.symbols("q m", integer=True, positive=True)
    term = Y[r, c] * sp.log(sigmoid(Z[r, c])) + (1 - Y[r, c]) * sp.log(1 - sigmoid(Z[r, c]))
    J = -sp.Sum(term, (r, 1, i + u), (c, 1, k + w))
    claim = sigmoid(Z[i, k]) - Y[i, k]
    ok = _zero(sp.diff(J, Z[i, k]).doit() - claim)
    shown = -sp.Sum(term, (r, 1, q), (c, 1, m))
    how = "sympy: diff of the summed BCE (symbolic sizes) minus the index form simplifies to 0"
    return IndexEquation("sigmoid + BCE (sum)", _Entry(Z[i, k]), sp.Derivative(shown, Z[i, k]), claim, how, ok)


def head_index_rules() -> list[IndexEquation]:
    """Every head and L2 rule in index form, proven for symbolic sizes.

    Example:
        >>> rules = head_index_rules()
        >>> all(r.ok for r in rules), len(rules) >= 12
        (True, True)
    """
    out: list[IndexEquation] = [_bce_sum()]
    out += _softmax_ce("mean")
    out += _softmax_ce("sum")[:1]  # the Jacobian does not depend on the reduction
    for head in ("identity-mse", "sigmoid-mse"):
        for mse in ("half", "torch"):
            for reduction in ("mean", "sum"):
                out.append(_mse(head, mse, reduction))
    for convention in ("lambda/2m", "lambda/2"):
        out += _l2(convention)
    return out
