"""Chain-rule derivations in matrix form, one per backward formula.

Each formula of :func:`derive.chain.derive_backward` is reached by a short
chain of equalities: the definition of the gradient (the article's
convention ``dZ = m dJ/dZ``, true partials for dW and db), the operation's
rule (proven in index form for symbolic sizes, :mod:`derive.proof.index_form`)
and the substitution of upstream results.  Every substitution is redone by
sympy here, and the chain must end exactly at the derived formula.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.matrices.expressions import HadamardProduct, MatMul, MatrixSymbol

from derive.chain import ARTICLE, Network
from derive.matrix import Apply, Ones
from derive.report.texprint import Grad
from derive.steps import Derivation

__all__ = ["ChainLine", "MatrixChain", "matrix_chains", "HEAD_RULES"]

# the backward rules of the heads other than the article's (derive.heads):
# their chain substitutes the head's scalar result, entry by entry
HEAD_RULES: tuple[str, ...] = ("softmax + CE", "identity + MSE", "sigmoid + MSE", "sigmoid + BCE")


@dataclass(frozen=True)
class ChainLine:
    """One ``= expr`` line of a chain, with the reason and how it was checked."""

    expr: Any
    reason: str
    check: str
    ok: bool


@dataclass
class MatrixChain:
    """The chain of equalities that ends at one backward formula."""

    name: str
    lhs: MatrixSymbol
    rule: str
    lines: list[ChainLine] = field(default_factory=list)

    @property
    def result(self) -> Any:
        return self.lines[-1].expr

    @property
    def ok(self) -> bool:
        return all(line.ok for line in self.lines)


def _same(a: Any, b: Any) -> bool:
    """Structural equality of matrix expressions after sympy's ``doit``."""
    return bool(sp.simplify(a.doit()) == sp.simplify(b.doit())) if a != b else True


def _sub(expr: Any, old: Any, new: Any) -> Any:
    return expr.xreplace({old: new}).doit()


def matrix_chains(backward: Derivation, net: Network = ARTICLE) -> list[MatrixChain]:
    """One :class:`MatrixChain` per step of the backward derivation.

    Raises:
        RuntimeError: a chain does not end at the derived formula.

    Example:
        >>> from derive.chain import derive_backward
        >>> [c.name for c in matrix_chains(derive_backward())][:3]
        ['dZ3', 'dW3', 'db3']
    """
    m, N = net.m, net.N  # N: the batch normaliser (m, or 1 under the sum reduction)

    def times_N(e: Any) -> Any:
        return e if N == 1 else MatMul(N, e)

    known: dict[str, Any] = {}
    chains: list[MatrixChain] = []
    definition = "definition (the article's convention)"
    for step in backward.steps:
        name = str(step.lhs)
        layer = int(name[2:])
        chain = MatrixChain(name, step.lhs, step.rule)
        if step.rule == "sigmoid + BCE" and N == m:
            Z = net.mat("Z", layer)
            chain.lines.append(ChainLine(MatMul(m, Grad(Z)), definition, "definition", True))
            per_entry = (net.mat("A", layer) - net.mat("Y")) / m
            new = _sub(chain.lines[-1].expr, Grad(Z), per_entry)
            chain.lines.append(ChainLine(
                new, "entrywise BCE through the sigmoid (Section 4): dJ/dZ = (A - Y)/m",
                "sympy: substitution redone, equal to the line above", _same(new, step.rhs)))
        elif step.rule in HEAD_RULES:
            Z = net.mat("Z", layer)
            chain.lines.append(ChainLine(times_N(Grad(Z)), definition, "definition", True))
            new = _sub(chain.lines[-1].expr, Grad(Z), step.rhs / N if N != 1 else step.rhs)
            ok = _same(new, step.rhs)
            chain.lines.append(ChainLine(  # shown as derived (doit would distribute a factor 2/q)
                step.rhs if ok else new, f"entrywise head: {step.rule}, the scalar derivation of the head",
                "sympy: substitution redone, equal to the derived formula", ok))
        elif step.rule in ("affine: weight", "affine: bias", "affine: weight + L2"):
            Z = net.mat("Z", layer)
            weight = step.rule != "affine: bias"
            right = net.A(layer - 1).T if weight else Ones(m, 1)
            param = net.mat("W" if weight else "b", layer)
            chain.lines.append(ChainLine(Grad(param), "definition (true partial)", "definition", True))
            rule_expr: Any = MatMul(Grad(Z), right)
            reason = f"{step.rule} rule, matrix form of its index form"
            if step.rule == "affine: weight + L2":
                rule_expr = rule_expr + net.l2_rate * param
                reason = "L2: affine weight rule plus the gradient of the L2 term"
            chain.lines.append(ChainLine(rule_expr, reason, "index form proven for symbolic sizes (sympy)", True))
            new = _sub(chain.lines[-1].expr, Grad(Z), net.mat("dZ", layer) / N)
            chain.lines.append(ChainLine(
                new, f"convention: dJ/dZ{layer} = dZ{layer} / {N}",
                "sympy: substitution redone, equal to the derived formula", _same(new, step.rhs)))
        elif step.rule == "affine: input":
            Anext = net.mat("A", layer)
            W, Z = net.mat("W", layer + 1), net.mat("Z", layer + 1)
            chain.lines.append(ChainLine(times_N(Grad(Anext)), definition, "definition", True))
            chain.lines.append(ChainLine(
                times_N(MatMul(W.T, Grad(Z))) if N == 1 else MatMul(N, W.T, Grad(Z)),
                "affine: input rule, matrix form of its index form",
                "index form proven for symbolic sizes (sympy)", True))
            new = _sub(chain.lines[-1].expr, Grad(Z), net.mat("dZ", layer + 1) / N)
            chain.lines.append(ChainLine(
                new, f"convention: dJ/dZ{layer + 1} = dZ{layer + 1} / {N}",
                "sympy: substitution redone, equal to the derived formula", _same(new, step.rhs)))
        elif step.rule == "elementwise":
            Z, Al = net.mat("Z", layer), net.mat("A", layer)
            fprime = next(iter(step.rhs.atoms(Apply)))
            dA = net.mat("dA", layer)
            chain.lines.append(ChainLine(times_N(Grad(Z)), definition, "definition", True))
            chain.lines.append(ChainLine(
                HadamardProduct(times_N(Grad(Al)), fprime), "elementwise rule, matrix form of its index form",
                "index form proven for symbolic sizes (sympy)", True))
            new = _sub(chain.lines[-1].expr, Grad(Al), dA / N)
            chain.lines.append(ChainLine(
                new, f"convention: dJ/dA{layer} = dA{layer} / {N}", "sympy: substitution redone",
                _same(new, HadamardProduct(dA, fprime))))
            new2 = _sub(new, dA, known[dA.name])
            chain.lines.append(ChainLine(
                new2, f"substitute dA{layer} from the step above",
                "sympy: substitution redone, equal to the derived formula", _same(new2, step.rhs)))
        else:  # pragma: no cover - a rule this report does not know
            raise RuntimeError(f"no matrix-form chain for rule {step.rule!r}")
        if not _same(chain.result, step.rhs):
            raise RuntimeError(f"the chain for {name} ends at {chain.result}, not at {step.rhs}")
        known[name] = step.rhs
        chains.append(chain)
    return chains
