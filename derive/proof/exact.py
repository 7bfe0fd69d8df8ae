"""Proof level 1: exact at concrete shapes.

Every entry of every matrix is a sympy symbol and the hidden activations are
unspecified functions (f, with an unspecified derivative f'), so the proof
holds for every differentiable f and g.  The cost is built from the forward
equations, one piece per example (every head's cost is a sum over the
columns) plus the L2 term.  For each parameter entry, sympy's own ``diff`` of
the cost minus the matrix-form formula (evaluated at the same shapes) must be
exactly 0.  The dZ's are proven the same way, as ``m dJ/dZ`` with Z's entries
made free symbols.

Three things keep this fast without weakening it (about 2 s at d = n = p = q
= m = 4, where expanding everything took half a minute):

* sympy differentiates the cost of example 0 in W[0, 0] (and b[0], Z[0, 0]);
  the derivative in every other entry and for every other example follows by
  renaming symbols, after checking on the cost itself that the renaming
  (swapping two units of a layer, or two examples) leaves it unchanged
  (:mod:`derive.proof._renaming`); where a check fails, sympy differentiates
  that entry directly;
* the zero test turns both sides into exact sparse polynomials whose
  variables are the symbols and the applied functions ``f(u)``, ``f'(u)``,
  ``sigma(u)``, ``exp(u)``, ``log(u)``, ``1/u`` (:mod:`derive.proof._atoms`):
  the zero polynomial is a proof, with no nested expansion;
* an entry not shown 0 that way is decided the old way - sympy's diff of the
  whole cost in that entry and ``expand`` of the residual - so a failure is
  always confirmed by full expansion, never by the shortcut.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import sympy as sp
from sympy.core.function import ArgumentIndexError
from sympy.matrices.exceptions import ShapeError as MatrixShapeError

from derive.activations import sigmoid
from derive.chain import ARTICLE, SymbolicNetwork, as_symbolic, derive_backward, derive_forward
from derive.heads import HEAD_OPS, SoftmaxCE, sum_to_one
from numeric.description import Network as PlainNetwork
from derive.matrix import Apply, explicit
from derive.proof._atoms import Atoms, Poly, sub
from derive.proof._renaming import EXAMPLES, Renaming
from derive.steps import Derivation

__all__ = ["ExactProof", "prove_exact", "PROOF_SHAPES"]

# (d, n, p, q, m) proven by default: all proven in a few seconds in total.
PROOF_SHAPES: tuple[tuple[int, ...], ...] = (
    (1, 1, 1, 1, 1),
    (1, 1, 1, 2, 3),
    (2, 2, 2, 2, 2),
    (3, 2, 1, 2, 2),
    (2, 3, 2, 2, 3),
)

_XI = sp.Dummy("xi")

# an entry's derivative as a polynomial in atoms, and how to get it by sympy's diff alone
Truth = tuple[Poly, Callable[[], sp.Expr]]


@dataclass
class ExactProof:
    """Outcome of :func:`prove_exact` at one shape."""

    shape: dict[str, int]
    seconds: float
    entries: int
    failures: list[tuple[str, tuple[int, int], str]] = field(default_factory=list)
    assumptions: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.entries > 0 and not self.failures

    def statement(self) -> str:
        """What was proven, without the time taken (the same on any machine)."""
        dims = ", ".join(f"{k}={v}" for k, v in self.shape.items())
        verdict = "proven" if self.ok else f"FAILED at {self.failures[:3]}"
        assumed = f", assuming {'; '.join(self.assumptions)}" if self.assumptions else ""
        return f"exact at ({dims}): {self.entries} entries {verdict}{assumed}"

    def __str__(self) -> str:
        return f"{self.statement()} in {self.seconds:.2f} s"


def _symbols(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}_{j}"))


def _placeholder(name: str) -> type:
    """An unspecified activation ``name`` whose derivative is the unspecified
    function ``name'``.

    sympy's undefined ``Function("f")`` writes f'(u) as
    ``Subs(Derivative(f(xi), xi), xi, u)``, and builds each such object at the
    price of printing u (Subs orders its dummies by their text): most of the
    proof's time went there.  Here ``diff`` of ``f(u)`` is ``f'(u) du`` with
    ``f'`` a second unspecified function, which says the same (nothing is
    assumed of f or f' beyond f' being f's derivative) and costs nothing.
    """
    prime = sp.Function(f"{name}'")

    def fdiff(self: sp.Function, argindex: int = 1) -> sp.Expr:
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return prime(self.args[0])

    return type(name, (sp.Function,), {"nargs": 1, "fdiff": fdiff, "__module__": __name__})


def _apply_factory(net: SymbolicNetwork) -> Any:
    funcs: dict[str, Any] = {name: _placeholder(name) for name in net.activations}

    def apply(node: Apply, M: sp.Matrix) -> sp.Matrix:
        if node.fn == "sigma":
            if node.order == 0:
                return M.applyfunc(sigmoid)
            # sigma'(e) exactly as sympy's chain rule writes it: sigma(e) (1 - sigma(e))
            fprime = sp.diff(sigmoid(_XI), _XI)
            return M.applyfunc(lambda e: fprime.subs(_XI, e))
        F = funcs[node.fn]
        if node.order == 0:
            return M.applyfunc(F)
        return M.applyfunc(lambda e: F(e).fdiff(1))  # f'(e) as diff writes it

    return apply


def _log_once(cost: sp.Expr) -> sp.Expr:
    """The same cost with each log gathered into one term (``sum_i y_i (z_i -
    lse)`` becomes ``sum_i y_i z_i - (sum_i y_i) lse``), so that sympy's diff
    meets the log-sum-exp once instead of once per row: an identity
    (``expand`` and ``collect`` only), made before any derivative is taken."""
    logs = sorted(cost.atoms(sp.log), key=sp.default_sort_key)
    if not logs:
        return cost
    flat = sp.expand(cost, deep=False, log=False, power_exp=False, power_base=False, multinomial=False)
    return sp.collect(flat, logs)


def _shape_dict(net: SymbolicNetwork, shape: Sequence[int] | Mapping[str, int]) -> dict[str, int]:
    names = list(net.widths) + ["m"]
    if isinstance(shape, Mapping):
        dims = {k: int(shape[k]) for k in names}
    else:
        if len(shape) != len(names):
            raise ValueError(f"a shape gives {names}, got {tuple(shape)}")
        dims = dict(zip(names, (int(s) for s in shape)))
    bad = {k: v for k, v in dims.items() if v < 1}
    if bad:
        raise ValueError(f"sizes must be positive, got {bad}")
    return dims


def prove_exact(
    shape: Sequence[int] | Mapping[str, int] | None = None,
    net: Any = ARTICLE,
    *,
    backward: Derivation | None = None,
    m: int = 2,
    through_logits: bool | None = None,
) -> ExactProof:
    """Prove the backward formulas exactly at one concrete shape.

    The cost is the head's (:mod:`derive.heads`) plus the L2 term with a
    symbolic rate lambda.  For softmax + CE the last row of Y is written as
    ``1 - (sum of the other rows)`` on both sides: the rule ``dZ = A - Y``
    is proven under, and only under, the assumption that every column of Y
    sums to 1.

    Args:
        shape: ``(d, n, p, q, m)`` for the article's network (one size per
            width, then m), or a mapping of the same.  May be left out for a
            :class:`numeric.Network` with widths: its widths and ``m``.
        net: the network (any depth): a :class:`numeric.Network` (its
            activations become undefined functions) or a
            :class:`derive.chain.SymbolicNetwork`.
        backward: the derivation to check; defaults to
            :func:`derive.chain.derive_backward`.  Pass a tampered one to see
            the proof fail.
        m: the batch size when ``shape`` is left out.
        through_logits: differentiate the head's cost with the logits Z_L as
            free symbols and chain through Z_L(theta) (the total derivative,
            every factor by sympy's diff, entry by entry), instead of sympy's
            diff of the whole cost.  Both are exact; the second (the default,
            None or False) is the faster since the exponentials became atoms
            of the zero test.

    Returns:
        An :class:`ExactProof`; ``ok`` is True when every residual is 0.

    Example:
        >>> prove_exact((1, 1, 1, 1, 2)).ok
        True
    """
    if shape is None:
        if not isinstance(net, PlainNetwork) or net.widths is None:
            raise ValueError("give the shape, or a numeric.Network with widths")
        shape = (*net.widths, m)
    net = as_symbolic(net)
    dims = _shape_dict(net, shape)
    start = time.perf_counter()
    backward = backward if backward is not None else derive_backward(net)
    forward = derive_forward(net)
    sizes = {net.size(i): dims[w] for i, w in enumerate(net.widths)}
    sizes[net.m] = dims["m"]
    m = dims["m"]
    apply = _apply_factory(net)
    head = HEAD_OPS[net.head](net.depth)
    lam = net.lam

    base: dict[Any, sp.Matrix] = {}
    for name in net.parameter_names():
        sym = net.mat(name[0], int(name[1:]))
        base[sym] = _symbols(name, *(int(s.subs(sizes)) for s in sym.shape))
    for sym in (net.mat("X"), net.mat("Y")):
        base[sym] = _symbols(sym.name, *(int(s.subs(sizes)) for s in sym.shape))

    # softmax + CE: the rule needs every column of Y to sum to 1.  Y's last row
    # is replaced before anything is built; no derivative is taken in Y, so
    # this is the same as substituting into each residual.
    Y_symbols = base[net.mat("Y")]
    assume = sum_to_one(Y_symbols) if isinstance(head, SoftmaxCE) else {}
    if assume:
        base[net.mat("Y")] = base[net.mat("Y")].xreplace(assume)
    N = m if net.reduction == "mean" else 1

    def run(free_Z: int | None) -> tuple[dict[Any, sp.Matrix], list[sp.Expr], sp.Matrix | None]:
        """The forward pass, the cost as a list of pieces that sum to J (one
        per example: every head's cost is a sum over the columns; then L2),
        and the backward formulas, at concrete shapes."""
        env = dict(base)
        zeta = None
        for step in forward.steps:
            if free_Z is not None and step.lhs == net.mat("Z", free_Z):
                zeta = _symbols(f"Z{free_Z}", *(int(s.subs(sizes)) for s in step.lhs.shape))
                env[step.lhs] = zeta
            else:
                env[step.lhs] = explicit(step.rhs, env, apply, sizes)
        L = net.depth
        Z, A, Y = env[net.mat("Z", L)], env[net.mat("A", L)], env[net.mat("Y")]
        pieces = [head.explicit_cost(Z[:, k], A[:, k], Y[:, k], net, sizes) for k in range(m)]
        if isinstance(head, SoftmaxCE):
            pieces = [_log_once(piece) for piece in pieces]
        if net.l2:
            coef = lam / (2 * m) if net.l2_convention == "lambda/2m" else lam / 2
            pieces.append(coef * sp.Add(*[w**2 for name in net.parameter_names() if name[0] == "W"
                                          for w in base[net.mat("W", int(name[1:]))]]))
        for step in backward.steps:
            try:
                env[step.lhs] = explicit(step.rhs, env, apply, sizes)
            except MatrixShapeError as exc:  # e.g. a missing transpose
                env[step.lhs] = exc
        return env, pieces, zeta

    failures: list[tuple[str, tuple[int, int], str]] = []
    entries = 0
    atoms = Atoms()

    def compare(name: str, truth_of: Callable[[int, int], Truth], wrt: sp.Matrix, claim: Any) -> None:
        nonlocal entries
        if isinstance(claim, Exception):
            failures.append((name, (-1, -1), f"formula does not evaluate: {claim}"))
            return
        if wrt.shape != claim.shape:
            failures.append((name, (-1, -1), f"shape {claim.shape} != {wrt.shape}"))
            return
        for i in range(wrt.rows):
            for j in range(wrt.cols):
                entries += 1
                truth, direct = truth_of(i, j)
                if not sub(truth, atoms.poly(claim[i, j])):
                    continue
                # not shown 0 with atoms: sympy's diff of the cost in this
                # entry and the full expansion of the residual decide
                residual = sp.expand(direct() - claim[i, j])
                if residual != 0:
                    failures.append((name, (i, j), str(residual)[:200]))

    runs: dict[Any, Any] = {}
    L = net.depth

    def run_once(free_Z: int | None) -> tuple[dict[Any, sp.Matrix], list[sp.Expr], sp.Matrix | None]:
        if free_Z not in runs:
            runs[free_Z] = run(free_Z)
        return runs[free_Z]

    free: dict[int, frozenset[sp.Basic]] = {}

    def has(expr: sp.Expr, s: sp.Symbol) -> bool:
        if id(expr) not in free:
            free[id(expr)] = frozenset(expr.free_symbols)
        return s in free[id(expr)]

    def diff_cost(pieces: list[sp.Expr], s: sp.Symbol) -> sp.Expr:
        # J is the sum of its pieces (one per example, and L2): sympy's diff of
        # each piece that contains s (the others give 0), summed
        return sp.Add(*[sp.diff(piece, s) for piece in pieces if has(piece, s)])

    def renaming(free_Z: int | None) -> Renaming:
        if ("renaming", free_Z) not in runs:
            mats: list[tuple[sp.Matrix, Any, Any]] = [(base[net.mat("X")], 0, EXAMPLES), (Y_symbols, L, EXAMPLES)]
            for layer in range(1, L + 1):
                mats += [(base[net.mat("W", layer)], layer, layer - 1), (base[net.mat("b", layer)], layer, None)]
            if free_Z is not None:
                mats.append((run_once(free_Z)[2], free_Z, EXAMPLES))
            runs[("renaming", free_Z)] = Renaming(mats)
        return runs[("renaming", free_Z)]

    def truths(free_Z: int | None, P: sp.Matrix, rows: Any, cols: Any) -> Callable[[int, int], Truth]:
        """d(cost)/d(P[i, j]) (times N for a free Z) as a polynomial in atoms:
        sympy's diff of the cost of example 0 in P[0, 0], renamed as in
        :mod:`._renaming` (each renaming checked on the cost itself), or
        sympy's diff in P[i, j] where a check fails."""
        _, pieces, _ = run_once(free_Z)
        ren, examples, first = renaming(free_Z), pieces[:m], pieces[0]
        scale = N if cols == EXAMPLES else 1

        def direct(s: sp.Symbol) -> Callable[[], sp.Expr]:
            return lambda: scale * diff_cost(pieces, s)

        origins: dict[int, Poly] = {}
        last = P.rows - 1 if assume and rows == L else -1  # Y's last row is 1 - (the others): no swap

        def at_origin(row: int) -> Poly:
            if row not in origins:
                origins[row] = atoms.poly(scale * sp.diff(first, P[row, 0]))
            return origins[row]

        def renamed(row: int, swaps: dict[Any, int]) -> Poly:
            key = frozenset((a, k) for a, k in swaps.items() if k)
            return atoms.rename(at_origin(row), ren.rename(swaps), (free_Z, key)) if key else at_origin(row)

        def truth(i: int, j: int) -> Truth:
            s = P[i, j]
            row, swaps = (i, {}) if i == last else (0, {rows: i})
            if cols not in (None, EXAMPLES):
                swaps[cols] = j
            same = all(ren.invariant(first, axis, k) for axis, k in swaps.items())
            if cols == EXAMPLES:  # a free Z: its column j is in example j's cost only
                alone = not any(has(first, z) for z in P[:, 1:]) and not any(has(p, s) for p in pieces[m:])
                if same and alone and ren.maps(first, examples[j], EXAMPLES, j):
                    return renamed(row, {**swaps, EXAMPLES: j}), direct(s)
            elif same and all(ren.maps(first, examples[k], EXAMPLES, k) for k in range(m)):
                total: Poly = dict(atoms.poly(diff_cost(pieces[m:], s)))  # L2
                for k in range(m):
                    total = sub(total, {mono: -c for mono, c in renamed(row, {**swaps, EXAMPLES: k}).items()})
                return total, direct(s)
            return atoms.poly(direct(s)()), direct(s)

        return truth

    if through_logits:
        # J(theta) = H(zeta, theta) at zeta = Z_L(theta): the total derivative
        # dJ/dtheta = dH/dtheta + sum_ij dH/dzeta_ij dZ_L,ij/dtheta, every
        # factor by sympy's diff; both sides are compared with zeta free.
        full, _, _ = run_once(None)
        envZ, HZ, zeta = run_once(L)
        ZL = full[net.mat("Z", L)]
        dH = zeta.applyfunc(lambda s: diff_cost(HZ, s))
        for name in net.parameter_names():
            P = base[net.mat(name[0], int(name[1:]))]

            def through(i: int, j: int, P: sp.Matrix = P) -> Truth:
                s = P[i, j]
                expr = diff_cost(HZ, s) + sp.Add(*[dH[k] * sp.diff(ZL[k], s) for k in range(len(ZL))
                                                   if has(ZL[k], s)])
                return atoms.poly(expr), lambda: expr

            compare("d" + name, through, P, envZ[net.mat("d" + name[0], int(name[1:]))])
    else:
        env = run_once(None)[0]
        for name in net.parameter_names():
            layer = int(name[1:])
            P = base[net.mat(name[0], layer)]
            axes = (layer, layer - 1) if name[0] == "W" else (layer, None)
            compare("d" + name, truths(None, P, *axes), P, env[net.mat("d" + name[0], layer)])
    for layer in range(1, L + 1):
        envZ, _, zeta = run_once(layer)
        compare(f"dZ{layer}", truths(layer, zeta, layer, EXAMPLES), zeta, envZ[net.mat("dZ", layer)])
    assumptions = (SoftmaxCE.assumption,) if assume else ()
    return ExactProof(dims, time.perf_counter() - start, entries, failures, assumptions)

