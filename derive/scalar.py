"""The scalar facts behind the output layer, derived step by step.

* :func:`sigmoid_derivative`: from ``sigma(z) = 1 / (1 + e^-z)`` by the
  quotient rule to ``sigma'(z) = A (1 - A)`` with ``A = sigma(z)``.
* :func:`bce_simplification`: from the per-entry BCE term, by the chain rule
  through the sigmoid, to ``dJ/dZ3 = (A3 - Y) / m``.
* :func:`softmax_jacobian`, :func:`softmax_ce_simplification`: the softmax
  Jacobian and the cross-entropy collapse to ``A - Y``, which needs (and
  states) that every column of Y sums to 1.
* :func:`mse_simplification`: the squared error under each convention.
* :func:`l2_derivative`: the weight-decay term.

Every step is an equality that sympy confirms (:func:`derive.steps.scalar_equal`).
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from derive.activations import sigmoid
from derive.steps import Derivation, Step, scalar_equal

__all__ = [
    "sigmoid_derivative",
    "bce_simplification",
    "softmax_jacobian",
    "softmax_ce_simplification",
    "mse_simplification",
    "l2_derivative",
    "head_derivations",
]

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


def _normaliser(reduction: str) -> tuple[sp.Expr, bool]:
    """``N`` of the ``dZ = N dJ/dZ`` convention: ``m`` for the mean over the
    examples, ``1`` for their sum; and whether the reduction is the mean."""
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    mean = reduction == "mean"
    return (sp.Symbol("m", positive=True, integer=True) if mean else sp.S.One), mean


def bce_simplification(*, reduction: str = "mean") -> Derivation:
    """The BCE and sigmoid derivatives collapse to ``dJ/dZ3 = (A3 - Y) / N``.

    Works on one entry: ``J`` holds the term ``L = -(1/N)[y log a + (1 - y)
    log(1 - a)]`` for ``a = sigma(z)``, and no other term depends on ``z``;
    ``N = m`` for the mean cost, ``1`` for the sum (``reduction="sum"``).

    Example:
        >>> d = bce_simplification()
        >>> d.ok, str(d.result.rhs)
        (True, 'A3 - Y')
        >>> str(bce_simplification(reduction="sum").steps[0].rhs)
        '-Y*log(A3) - (1 - Y)*log(1 - A3)'
    """
    z = sp.Symbol("Z3", real=True)
    y = sp.Symbol("Y", real=True)
    a = sp.Symbol("A3", positive=True)
    m, mean = _normaliser(reduction)
    L = -(y * sp.log(a) + (1 - y) * sp.log(1 - a)) / m
    dL_da = -(y / a - (1 - y) / (1 - a)) / m
    d = Derivation("BCE through the sigmoid (chain rule)" + ("" if mean else ", sum reduction"))
    term = "per-entry BCE term of the mean cost" if mean else "per-entry BCE term of the summed cost"
    d.add(term, sp.Symbol("L"), L)  # a definition, marked below
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
    if mean:
        d.steps.append(Step("m dJ/dZ3 (the article's dZ3)", sp.Symbol("dZ3"), a - y,
                            "m times the previous line; " + _HOW, ok))
    else:
        d.steps.append(Step("1 dJ/dZ (the dZ convention)", sp.Symbol("dZ3"), a - y,
                            "1 times the previous line; " + _HOW, ok))
    return d


# ------------------------------------------------------------ the other heads
_Q = 3  # softmax derivations are written out for q = 3 outputs (every entry checked)


def _softmax_parts(q: int = _Q) -> tuple[list[sp.Symbol], list[sp.Expr], sp.Expr]:
    zs = list(sp.symbols(f"z1:{q + 1}", real=True))
    S = sp.Add(*[sp.exp(v) for v in zs])
    return zs, [sp.exp(v) / S for v in zs], S


def softmax_jacobian(q: int = _Q) -> Derivation:
    """``d a_i / d z_k = a_i (delta_ik - a_k)`` for ``a = softmax(z)``, by the
    quotient rule; every step checked for every (i, k) at ``q`` outputs.

    The steps are shown for a diagonal entry (i = k = 1) and an off-diagonal
    one (i = 1, k = 2); the last step is checked for all q^2 entries.

    Example:
        >>> softmax_jacobian().ok
        True
    """
    zs, a, S = _softmax_parts(q)
    A = sp.symbols(f"a1:{q + 1}", positive=True)
    d = Derivation(f"softmax Jacobian (quotient rule, q = {q})")
    for i, k in ((0, 0), (0, 1)):
        lhs = sp.Derivative(a[i], zs[k])
        delta = sp.KroneckerDelta(i, k)
        d.add(f"definition a{i + 1} = e^z{i + 1} / sum_j e^zj", sp.Symbol(f"a{i + 1}"), a[i])
        d.add("quotient rule: (u/v)' = (u'v - uv')/v^2", lhs,
              (delta * sp.exp(zs[i]) * S - sp.exp(zs[i]) * sp.exp(zs[k])) / S**2)
        d.add("split the fraction", lhs,
              sp.Mul(sp.exp(zs[i]) / S, delta - sp.exp(zs[k]) / S, evaluate=False))
    subs = {A[j]: a[j] for j in range(q)}

    def equal(lhs: sp.Expr, rhs: sp.Expr) -> bool:
        if isinstance(lhs, sp.Symbol):  # a definition
            return True
        return scalar_equal(lhs, rhs)

    d.verify(equal, _HOW)
    d.steps = [Step(s.rule, s.lhs, s.rhs, "definition" if isinstance(s.lhs, sp.Symbol) else s.check, s.verified)
               for s in d.steps]
    ok = all(
        scalar_equal(sp.Derivative(a[i], zs[k]), (A[i] * (sp.KroneckerDelta(i, k) - A[k])).subs(subs))
        for i in range(q) for k in range(q)
    )
    i_, k_ = sp.symbols("i k", integer=True)
    a_ = sp.IndexedBase("a")
    d.steps.append(Step("name a_j = softmax(z)_j", sp.Symbol("da_i/dz_k"),
                        a_[i_] * (sp.KroneckerDelta(i_, k_) - a_[k_]),
                        f"every (i, k) at q = {q}: " + _HOW, ok))
    return d


def softmax_ce_simplification(q: int = _Q, *, reduction: str = "mean") -> Derivation:
    """The cross-entropy through the softmax collapses to ``dZ = A - Y``,
    *using* that the targets of an example sum to 1.

    Per example, ``L = -(1/N) sum_i y_i log a_i`` (``N = m`` for the mean
    cost, ``1`` for the sum).  Through the Jacobian,
    ``dL/dz_k = -(1/N) sum_i y_i (delta_ik - a_k) = (a_k sum_i y_i - y_k) / N``;
    only with ``sum_i y_i = 1`` is this ``(a_k - y_k) / N``.  Checked for
    every k at ``q`` outputs; the last steps are checked with
    ``y_q = 1 - (y_1 + ... + y_{q-1})`` substituted.

    Example:
        >>> d = softmax_ce_simplification()
        >>> d.ok, str(d.result.rhs)
        (True, 'a_k - y_k')
    """
    zs, a, S = _softmax_parts(q)
    ys = list(sp.symbols(f"y1:{q + 1}", real=True))
    m, mean = _normaliser(reduction)
    L = -sp.Add(*[ys[i] * sp.log(a[i]) for i in range(q)]) / m
    lse = -sp.Add(*[ys[i] * (zs[i] - sp.log(S)) for i in range(q)]) / m
    k = 0  # shown for k = 1, checked for every k below
    jac = -sp.Add(*[ys[i] / a[i] * a[i] * (sp.KroneckerDelta(i, k) - a[k]) for i in range(q)]) / m
    collected = (a[k] * sp.Add(*ys) - ys[k]) / m
    ones = {ys[-1]: 1 - sp.Add(*ys[:-1])}
    d = Derivation(f"cross-entropy through the softmax (q = {q}; every column of Y sums to 1"
                   + ("" if mean else "; sum reduction") + ")")
    d.add("per-example CE term of the mean cost" if mean else "per-example CE term of the summed cost",
          sp.Symbol("L"), L)
    d.add("log of a quotient: log a_i = z_i - log sum_j e^zj", L, lse)
    d.add("chain rule with the softmax Jacobian" + ("" if mean else ", N = 1"), sp.Derivative(L, zs[k]), jac)
    d.add("collect: sum_i y_i a_k - y_k" + ("" if mean else ", N = 1"), sp.Derivative(L, zs[k]), collected)
    d.add("ASSUMPTION sum_i y_i = 1 (one-hot or label smoothing)", sp.Derivative(L, zs[k]), (a[k] - ys[k]) / m)

    def equal(lhs: sp.Expr, rhs: sp.Expr) -> bool:
        if lhs == sp.Symbol("L"):
            return True
        if rhs == (a[k] - ys[k]) / m:  # holds only under the assumption
            return all(scalar_equal(sp.Derivative(L, zs[j]).doit().subs(ones), ((a[j] - ys[j]) / m).subs(ones))
                       for j in range(q))
        if isinstance(lhs, sp.Derivative):
            return scalar_equal(lhs, rhs)
        return _log_equal(lhs, rhs)

    d.verify(equal, _HOW)
    hows = ["definition", "sympy: the difference with logs of positive quotients expanded reduces to 0",
            _HOW, _HOW, f"every k = 1..{q}, with y_{q} = 1 - (y_1 + ... + y_{q - 1}) substituted: " + _HOW]
    d.steps = [Step(s.rule, s.lhs, s.rhs, how, True if how == "definition" else s.verified)
               for s, how in zip(d.steps, hows)]
    if mean:
        d.steps.append(Step("m dJ/dZ (the article's convention)", sp.Symbol("dZ_k"),
                            sp.Symbol("a_k") - sp.Symbol("y_k"), "m times the previous line", d.ok))
    else:
        d.steps.append(Step("1 dJ/dZ (the dZ convention)", sp.Symbol("dZ_k"),
                            sp.Symbol("a_k") - sp.Symbol("y_k"), "1 times the previous line", d.ok))
    return d


def _log_equal(lhs: sp.Expr, rhs: sp.Expr) -> bool:
    """Equality of expressions with logs of positive quotients (real z)."""
    diff = sp.expand_log(sp.sympify(lhs, strict=True) - sp.sympify(rhs, strict=True), force=True)
    return sp.simplify(sp.expand(diff)) == 0


def mse_simplification(*, head: str = "identity-mse", mse: str = "half", reduction: str = "mean") -> Derivation:
    """The squared error's derivative under one convention, to ``dZ = N dJ/dZ``.

    ``mse="half"``: per entry ``L = (a - y)^2 / (2N)``; ``mse="torch"``: ``L =
    (a - y)^2 / (q m)`` (PyTorch ``MSELoss``, mean over all entries) or
    ``(a - y)^2`` under the sum reduction.  For ``sigmoid-mse`` the chain
    continues through ``a = sigma(z)``.

    Example:
        >>> str(mse_simplification(mse="torch").result.rhs)
        '(2/q)*(A - Y)'
    """
    z = sp.Symbol("Z", real=True)
    y = sp.Symbol("Y", real=True)
    a = sp.Symbol("A", real=True)
    m, q = sp.symbols("m q", positive=True, integer=True)
    N = m if reduction == "mean" else sp.S.One
    denom = 2 * N if mse == "half" else (q * m if reduction == "mean" else sp.S.One)
    L = (a - y) ** 2 / denom
    dL_da = 2 * (a - y) / denom
    d = Derivation(f"{head}: squared error, convention {mse}, reduction {reduction}")
    d.add("per-entry term of the cost", sp.Symbol("L"), L)
    d.add("power rule: d (a - y)^2 / da = 2 (a - y)", sp.Derivative(L, a), dL_da)
    if head == "sigmoid-mse":
        s = sigmoid(z)
        d.add("sigmoid derivative", sp.Derivative(s, z), s * (1 - s))
        chained = dL_da * a * (1 - a)
        d.add("chain rule: dL/dZ = dL/dA dA/dZ", sp.Symbol("dL/dZ"), chained)
        final = _times(sp.expand(N * 2 / denom), (a - y) * a * (1 - a))
    else:
        d.add("identity output: A = Z, dA/dZ = 1", sp.Symbol("dL/dZ"), dL_da)
        final = _times(sp.expand(N * 2 / denom), a - y)

    def equal(lhs: sp.Expr, rhs: sp.Expr) -> bool:
        if lhs == sp.Symbol("L"):
            return True
        if lhs == sp.Symbol("dL/dZ"):
            out = sigmoid(z) if head == "sigmoid-mse" else z
            truth = sp.diff(L.subs(a, out), z)
            return scalar_equal(truth, rhs.subs(a, out))
        if isinstance(lhs, sp.Derivative) and lhs.expr == sigmoid(z):
            return scalar_equal(lhs, rhs)
        return scalar_equal(lhs, rhs)

    d.verify(equal, _HOW)
    d.steps[0] = Step(d.steps[0].rule, d.steps[0].lhs, d.steps[0].rhs, "definition", True)
    ok = scalar_equal(N * d.steps[-1].rhs, final)
    label = "m" if reduction == "mean" else "1"
    d.steps.append(Step(f"{label} dJ/dZ (the dZ convention)", sp.Symbol("dZ"), final,
                        f"{label} times the previous line; " + _HOW, ok))
    return d


def _times(c: sp.Expr, e: sp.Expr) -> sp.Expr:
    """``c e`` kept as a product (sympy would distribute an integer c)."""
    return e if c == 1 else sp.Mul(c, e, evaluate=False)


def l2_derivative(*, convention: str = "lambda/2m") -> Derivation:
    """The L2 term's gradient: ``(lambda/m) W`` or ``lambda W``; biases get nothing.

    Example:
        >>> str(l2_derivative().result.rhs)
        'lambda*w/m'
    """
    w, b = sp.symbols("w b", real=True)
    lam = sp.Symbol("lambda", positive=True)
    m = sp.Symbol("m", positive=True, integer=True)
    coef = lam / (2 * m) if convention == "lambda/2m" else lam / 2
    R = coef * w**2  # the one term of sum ||W||^2 that holds w
    d = Derivation(f"L2 term, convention ({convention}) sum ||W_l||^2")
    d.add("the term of the penalty that holds the weight w", sp.Symbol("R"), R)
    d.add("biases are not regularised: dR/db", sp.Derivative(R, b), sp.S.Zero)
    d.add("power rule: dR/dw", sp.Derivative(R, w), 2 * coef * w)
    d.add("added to dW (a true partial, no factor m)", sp.Derivative(R, w), sp.expand(2 * coef) * w)

    def equal(lhs: sp.Expr, rhs: sp.Expr) -> bool:
        return True if lhs == sp.Symbol("R") else scalar_equal(lhs, rhs)

    d.verify(equal, _HOW)
    d.steps[0] = Step(d.steps[0].rule, d.steps[0].lhs, d.steps[0].rhs, "definition", True)
    return d


def head_derivations(network: Any) -> list[Derivation]:
    """The scalar facts behind a network's head (and its L2 term), each checked step by step."""
    head = getattr(network, "head", "sigmoid-bce")
    mse = getattr(network, "mse", "half")
    reduction = getattr(network, "reduction", "mean")
    out: list[Derivation] = []
    if head in ("sigmoid-bce", "sigmoid-mse"):
        out.append(sigmoid_derivative())
    if head == "sigmoid-bce":
        out.append(bce_simplification(reduction=reduction))
    elif head == "softmax-ce":
        out += [softmax_jacobian(), softmax_ce_simplification(reduction=reduction)]
    else:
        out.append(mse_simplification(head=head, mse=mse, reduction=reduction))
    if getattr(network, "l2", 0):
        out.append(l2_derivative(convention=network.l2_convention))
    return out
