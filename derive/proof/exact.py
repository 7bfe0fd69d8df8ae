"""Proof level 1: exact at concrete shapes.

Every entry of every matrix is a sympy symbol and the hidden activations are
*undefined* sympy functions, so the proof holds for every differentiable f
and g.  The cost is built from the forward equations; for each parameter
entry, sympy's own ``diff`` of the cost minus the matrix-form formula
(evaluated at the same shapes) must ``expand`` to exactly 0.  The dZ's are
proven the same way, as ``m dJ/dZ`` with Z's entries made free symbols.

Expansion grows quickly with size (about tenfold per size step), so the
default set is small but contains q > 1, m > 1 and unequal widths.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import sympy as sp
from sympy.matrices.exceptions import ShapeError as MatrixShapeError

from derive.activations import sigmoid
from derive.chain import ARTICLE, SymbolicNetwork, as_symbolic, derive_backward, derive_forward
from derive.heads import HEAD_OPS, SoftmaxCE, sum_to_one
from numeric.description import Network as PlainNetwork
from derive.matrix import Apply, explicit
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
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}_{j}", real=True))


def _apply_factory(net: SymbolicNetwork) -> Any:
    funcs = {name: sp.Function(name, real=True) for name in net.activations}
    funcs["sigma"] = sigmoid

    def apply(node: Apply, M: sp.Matrix) -> sp.Matrix:
        F = funcs[node.fn]
        if node.order == 0:
            return M.applyfunc(F)
        # f'(e) exactly as sympy's chain rule writes it: Subs(Derivative(f(xi), xi), xi, e)
        fprime = sp.diff(F(_XI), _XI)
        return M.applyfunc(lambda e: fprime.subs(_XI, e))

    return apply


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
            every factor by sympy's diff), instead of sympy's diff of the whole
            cost.  Both are exact; the first keeps the softmax's exponentials
            out of the expansion.  Default: True for softmax + CE only.

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

    def run(free_Z: int | None) -> tuple[dict[Any, sp.Matrix], sp.Expr, sp.Matrix | None]:
        env = dict(base)
        zeta = None
        for step in forward.steps:
            if free_Z is not None and step.lhs == net.mat("Z", free_Z):
                zeta = _symbols(f"Z{free_Z}", *(int(s.subs(sizes)) for s in step.lhs.shape))
                env[step.lhs] = zeta
            else:
                env[step.lhs] = explicit(step.rhs, env, apply, sizes)
        L = net.depth
        J = head.explicit_cost(env[net.mat("Z", L)], env[net.mat("A", L)], env[net.mat("Y")], net, sizes)
        if net.l2:
            coef = lam / (2 * m) if net.l2_convention == "lambda/2m" else lam / 2
            J += coef * sp.Add(*[w**2 for name in net.parameter_names() if name[0] == "W"
                                 for w in base[net.mat("W", int(name[1:]))]])
        for step in backward.steps:
            try:
                env[step.lhs] = explicit(step.rhs, env, apply, sizes)
            except MatrixShapeError as exc:  # e.g. a missing transpose
                env[step.lhs] = exc
        return env, J, zeta

    failures: list[tuple[str, tuple[int, int], str]] = []
    entries = 0
    # softmax + CE: the rule needs every column of Y to sum to 1
    assume = sum_to_one(base[net.mat("Y")]) if isinstance(head, SoftmaxCE) else {}
    N = m if net.reduction == "mean" else 1

    def compare(name: str, truth: sp.Matrix, claim: Any) -> None:
        nonlocal entries
        if isinstance(claim, Exception):
            failures.append((name, (-1, -1), f"formula does not evaluate: {claim}"))
            return
        if truth.shape != claim.shape:
            failures.append((name, (-1, -1), f"shape {claim.shape} != {truth.shape}"))
            return
        for i in range(truth.rows):
            for j in range(truth.cols):
                entries += 1
                residual = sp.expand((truth[i, j] - claim[i, j]).xreplace(assume))
                if residual != 0:
                    failures.append((name, (i, j), str(residual)[:200]))

    L = net.depth
    if through_logits is None:
        through_logits = isinstance(head, SoftmaxCE)
    if through_logits:
        # J(theta) = H(zeta, theta) at zeta = Z_L(theta): the total derivative
        # dJ/dtheta = dH/dtheta + sum_ij dH/dzeta_ij dZ_L,ij/dtheta, every
        # factor by sympy's diff; both sides are compared with zeta free.
        full, _, _ = run(None)
        envZ, JZ, zeta = run(L)
        ZL = full[net.mat("Z", L)]
        dH = zeta.applyfunc(lambda s: sp.diff(JZ, s))
        for name in net.parameter_names():
            P = base[net.mat(name[0], int(name[1:]))]
            truth = P.applyfunc(lambda s: sp.diff(JZ, s) + sp.Add(
                *[dH[k] * sp.diff(ZL[k], s) for k in range(len(ZL))]))
            compare("d" + name, truth, envZ[net.mat("d" + name[0], int(name[1:]))])
    else:
        env, J, _ = run(None)
        for name in net.parameter_names():
            P = base[net.mat(name[0], int(name[1:]))]
            truth = P.applyfunc(lambda s: sp.diff(J, s))
            compare("d" + name, truth, env[net.mat("d" + name[0], int(name[1:]))])
    for layer in range(1, net.depth + 1):
        envZ, JZ, zeta = run(layer)
        truth = zeta.applyfunc(lambda s: N * sp.diff(JZ, s))
        compare(f"dZ{layer}", truth, envZ[net.mat("dZ", layer)])
    assumptions = (SoftmaxCE.assumption,) if assume else ()
    return ExactProof(dims, time.perf_counter() - start, entries, failures, assumptions)

