"""Index forms of the backward rules, proven for symbolic sizes.

Each rule of :mod:`derive.chain` is restated entry by entry with sympy
``IndexedBase``/``Sum`` objects and proven once for *symbolic* sizes: the
cost's dependence on one entry is differentiated with sympy's ``diff``
(which produces ``KroneckerDelta`` factors), summed over every entry of the
upstream layer, and the result minus the claimed index form simplifies to 0.
Index ranges are made provable by writing each size as ``index + slack``
with a non-negative slack, so ``1 <= i <= n`` holds by construction.

:func:`layer_index_forms` instantiates the weight and bias rules for each
layer (``(dW3)_{ij} = (1/m) sum_k (dZ3)_{ik} (A2)_{jk}``) and checks each
one, entry by entry and exactly, against the matrix form at a concrete shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import sympy as sp
from sympy.matrices.expressions import MatrixSymbol

from derive.activations import sigmoid
from derive.chain import ARTICLE, SymbolicNetwork, as_symbolic, derive_backward
from derive.matrix import explicit

__all__ = ["IndexEquation", "index_rules", "layer_index_forms", "INDEX_CHECK_SHAPE"]

INDEX_CHECK_SHAPE: dict[str, int] = {"d": 2, "n": 3, "p": 2, "q": 2, "m": 3}

_i, _j, _k, _r, _c, _s = sp.symbols("i j k r c s", integer=True, positive=True)
_slack = sp.symbols("u v w", integer=True, nonnegative=True)


@dataclass(frozen=True)
class IndexEquation:
    """``lhs = chain = rhs`` in index notation, with how it was checked.

    Attributes:
        name: what the equation is (``"affine: weight"``, ``"dW3"``).
        lhs: the entry being computed (a sympy expression).
        chain: the chain-rule sum before simplification, or None.
        rhs: the index form.
        check: how it was checked.
        ok: the check's outcome.
    """

    name: str
    lhs: Any
    chain: Any
    rhs: Any
    check: str
    ok: bool


class _Entry(sp.Function):
    """``dJ/d(X)_{ij}`` as a printable node: ``_Entry(X[i, j])``."""

    nargs = 1

    def _latex(self, printer: Any) -> str:
        return rf"\frac{{\partial J}}{{\partial {printer._print(self.args[0])}}}"


def _zero(expr: sp.Expr) -> bool:
    return sp.simplify(sp.expand(expr.rewrite(sp.exp))) == 0


_HOW_SYMBOLIC = (
    "sympy: diff of the entry, summed over the upstream entries with symbolic sizes "
    "(KroneckerDelta), minus the index form simplifies to 0"
)


def _reduce(chain: sp.Expr, upstream: Mapping[Any, sp.Expr], sizes: Mapping[sp.Symbol, sp.Expr]) -> sp.Expr:
    """Evaluate a displayed chain-rule sum: upstream partials replaced, sizes
    written as ``index + slack``, sums done."""
    return chain.xreplace(dict(upstream)).xreplace(dict(sizes)).doit()


def index_rules() -> list[IndexEquation]:
    """The five backward rules in index form, each proven for symbolic sizes.

    ``G`` is the upstream gradient in the article's convention (``G = m
    dJ/dZ``), ``D = m dJ/dA``.  Each rule is checked twice: sympy's ``diff``
    of the forward equation, chained over every upstream entry, and the
    displayed chain-rule sum, each minus the index form, simplify to 0.

    Example:
        >>> all(rule.ok for rule in index_rules())
        True
    """
    i, j, k, r, c, s = _i, _j, _k, _r, _c, _s
    u, v, w = _slack
    W, A, b, G, Z, Y, D = (sp.IndexedBase(x) for x in ("W", "A", "b", "G", "Z", "Y", "D"))
    m, n, d = (sp.Symbol(x, integer=True, positive=True) for x in ("m", "n", "d"))
    delta = sp.KroneckerDelta
    out: list[IndexEquation] = []
    up = {_Entry(Z[r, c]): G[r, c] / m}

    def affine(dd: Any) -> sp.Expr:  # Z = W A + b 1^T, entry (r, c)
        return sp.Sum(W[r, s] * A[s, c], (s, 1, dd)) + b[r]

    def check(derived: sp.Expr, shown: sp.Expr, claim: sp.Expr, sizes: Mapping[sp.Symbol, sp.Expr]) -> bool:
        claim_c = claim.xreplace({k: c}).xreplace(dict(sizes))
        return _zero(derived.doit() - claim_c) and _zero(_reduce(shown, up, sizes) - claim_c)

    # weight: 1 <= i <= n, 1 <= j <= d
    sizes = {n: i + u, d: j + v}
    derived = sp.Sum(G[r, c] / m * sp.diff(affine(j + v), W[i, j]), (r, 1, i + u), (c, 1, m))
    shown = sp.Sum(_Entry(Z[r, c]) * delta(r, i) * A[j, c], (r, 1, n), (c, 1, m))
    claim = sp.Sum(G[i, k] * A[j, k], (k, 1, m)) / m
    out.append(IndexEquation("affine: weight", _Entry(W[i, j]), shown, claim, _HOW_SYMBOLIC,
                             check(derived, shown, claim, sizes)))

    # bias: 1 <= i <= n
    sizes = {n: i + u}
    derived = sp.Sum(G[r, c] / m * sp.diff(affine(d), b[i]), (r, 1, i + u), (c, 1, m))
    shown = sp.Sum(_Entry(Z[r, c]) * delta(r, i), (r, 1, n), (c, 1, m))
    claim = sp.Sum(G[i, k], (k, 1, m)) / m
    out.append(IndexEquation("affine: bias", _Entry(b[i]), shown, claim, _HOW_SYMBOLIC,
                             check(derived, shown, claim, sizes)))

    # input: m dJ/dA_jk, 1 <= j <= d, 1 <= k <= m (columns of A and Z are examples)
    sizes = {d: j + v, m: k + w}
    mm = k + w
    derived = mm * sp.Sum(G[r, c] / mm * sp.diff(affine(j + v), A[j, k]), (c, 1, mm), (r, 1, n))
    shown = m * sp.Sum(_Entry(Z[r, c]) * W[r, j] * delta(c, k), (c, 1, m), (r, 1, n))
    claim = sp.Sum(W[r, j] * G[r, k], (r, 1, n))
    ok = _zero(derived.doit() - claim) and _zero(_reduce(shown, up, sizes) - claim)
    out.append(IndexEquation("affine: input", m * _Entry(A[j, k]), shown, claim, _HOW_SYMBOLIC, ok))

    # elementwise A = f(Z): m dJ/dZ_ik = D_ik f'(Z_ik), D = m dJ/dA
    f = sp.Function("f")
    sizes = {n: i + u, m: k + w}
    derived = sp.Sum(D[r, c] * sp.diff(f(Z[r, c]), Z[i, k]), (r, 1, i + u), (c, 1, k + w))
    shown = sp.Sum(D[r, c] * delta(r, i) * delta(c, k) * sp.Derivative(f(Z[r, c]), Z[r, c]), (r, 1, n), (c, 1, m))
    claim = D[i, k] * sp.Derivative(f(Z[i, k]), Z[i, k])
    ok = _zero(derived.doit() - claim) and _zero(_reduce(shown, {}, sizes) - claim)
    out.append(IndexEquation("elementwise", m * _Entry(Z[i, k]), shown, claim, _HOW_SYMBOLIC, ok))

    # sigmoid + BCE: m dJ/dZ_ik = sigma(Z_ik) - Y_ik
    q = sp.Symbol("q", integer=True, positive=True)
    term = Y[r, c] * sp.log(sigmoid(Z[r, c])) + (1 - Y[r, c]) * sp.log(1 - sigmoid(Z[r, c]))
    J = -sp.Sum(term, (r, 1, i + u), (c, 1, k + w)) / (k + w)
    derived = (k + w) * sp.diff(J, Z[i, k])
    shown = -sp.Sum(term, (r, 1, q), (c, 1, m)) / m
    claim = sigmoid(Z[i, k]) - Y[i, k]
    ok = _zero(derived.doit() - claim)
    how = "sympy: m times the diff of the mean BCE (symbolic sizes) minus the index form simplifies to 0"
    out.append(IndexEquation("sigmoid + BCE", m * _Entry(Z[i, k]), sp.Derivative(shown, Z[i, k]) * m,
                             claim, how, ok))
    return out


def _entries(base: sp.IndexedBase, expr: sp.Expr, env: Mapping[sp.IndexedBase, sp.Matrix]) -> sp.Expr:
    """Replace ``base[a, b]`` (1-based) by the entries of concrete matrices."""
    return expr.replace(
        lambda e: isinstance(e, sp.Indexed) and e.base in env,
        lambda e: env[e.base][int(e.indices[0]) - 1, int(e.indices[1]) - 1],
    )


def layer_index_forms(
    net: Any = ARTICLE, *, shape: Mapping[str, int] | None = None
) -> list[IndexEquation]:
    """``(dW_l)_{ij}`` and ``(db_l)_i`` for every layer, each checked exactly
    against the matrix form at ``shape``.

    Example:
        >>> [e.name for e in layer_index_forms()][:2]
        ['dW3', 'db3']
    """
    i, j, k = _i, _j, _k
    net = as_symbolic(net)
    if shape is None:
        shape = dict(INDEX_CHECK_SHAPE) if net.widths == ARTICLE.widths else {
            w: 2 + (a % 2) for a, w in enumerate(net.widths)} | {"m": 3}
    m = net.m
    N = net.N
    sizes = {net.size(a): shape[w] for a, w in enumerate(net.widths)}
    sizes[m] = shape["m"]
    dims = ", ".join(f"{w}={shape[w]}" for w in (*net.widths, "m"))
    out: list[IndexEquation] = []
    for step in derive_backward(net).steps:
        name = str(step.lhs)
        if not (name.startswith("dW") or name.startswith("db")):
            continue
        layer = int(name[2:])
        dZ = sp.IndexedBase(f"dZ{layer}")
        prev = net.A(layer - 1)
        Ap = sp.IndexedBase(prev.name)
        target = sp.IndexedBase(name)
        if name.startswith("dW"):
            lhs, rhs = target[i, j], sp.Sum(dZ[i, k] * Ap[j, k], (k, 1, m)) / N
            if net.l2:
                rhs = rhs + net.l2_rate * sp.IndexedBase(f"W{layer}")[i, j]
        else:
            lhs, rhs = target[i], sp.Sum(dZ[i, k], (k, 1, m)) / N
        # the matrix form at concrete sizes, from symbol-filled matrices
        mats = {
            s: sp.Matrix(*(int(x.subs(sizes)) for x in s.shape), lambda a, b, s=s: sp.Symbol(f"{s.name}_{a}{b}"))
            for s in step.rhs.free_symbols
            if isinstance(s, MatrixSymbol)
        }
        matrix = explicit(step.rhs, mats, lambda node, M: M, sizes)
        env = {sp.IndexedBase(s.name): M for s, M in mats.items()}
        ok = True
        for a in range(matrix.rows):
            for bcol in range(matrix.cols):
                entry = rhs.subs({i: a + 1, j: bcol + 1, m: sizes[m]}).doit()
                Wl = sp.IndexedBase(f"W{layer}")
                value = _entries(dZ, _entries(Ap, entry, env), env)
                if Wl in env:
                    value = _entries(Wl, value, env)
                ok &= sp.expand(value - matrix[a, bcol]) == 0
        how = f"sympy: equals the matrix form entry by entry, exactly, at ({dims})"
        out.append(IndexEquation(name, lhs, None, rhs, how, bool(ok)))
    return out
