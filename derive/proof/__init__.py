"""Proofs of the backward formulas, strongest first.

* :mod:`derive.proof.exact` -- level 1, exact at concrete shapes: every entry a
  symbol, the activations undefined functions, sympy's ``diff`` of the whole
  cost minus each matrix-form formula expands to 0.
* :mod:`derive.proof.index_form` -- level 2, shape-generic: each backward rule
  (affine weight, bias and input; elementwise; sigmoid + BCE) proven once in
  index notation for *symbolic* sizes, then instantiated per layer.
* :mod:`derive.proof.head_rules` -- level 2 for the other heads (softmax + CE
  under the sum-to-1 assumption, the softmax Jacobian, MSE under each
  convention and reduction, sigmoid + MSE) and the L2 term.

Open :func:`prove_symbolic` (level 2) or :func:`prove_exact` (level 1) first;
``verify`` and the report both call them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from derive.proof.exact import PROOF_SHAPES, ExactProof, prove_exact
from derive.proof.head_rules import head_index_rules
from derive.proof.index_form import INDEX_CHECK_SHAPE, IndexEquation, index_rules, layer_index_forms

__all__ = [
    "prove_exact",
    "ExactProof",
    "PROOF_SHAPES",
    "prove_symbolic",
    "SymbolicProof",
    "IndexEquation",
    "INDEX_CHECK_SHAPE",
    "head_index_rules",
]


@dataclass(frozen=True)
class SymbolicProof:
    """Proof level 2: the rules in index form, for symbolic sizes.

    Attributes:
        rules: each backward rule, proven for symbolic sizes.
        layers: the per-layer weight and bias formulas in index form, each
            checked entry by entry against the matrix form at
            :data:`INDEX_CHECK_SHAPE`.
    """

    rules: tuple[IndexEquation, ...]
    layers: tuple[IndexEquation, ...]

    @property
    def ok(self) -> bool:
        return bool(self.rules) and all(e.ok for e in self.rules + self.layers)

    def __str__(self) -> str:
        lines = [f"{e.name}: {'proven' if e.ok else 'NOT PROVEN'} ({e.check})" for e in self.rules]
        bad = [e.name for e in self.layers if not e.ok]
        where = self.layers[0].check.rsplit(" at ", 1)[-1].strip("()") if self.layers else ""
        lines.append(
            f"per-layer index forms ({', '.join(e.name for e in self.layers)}): "
            + (f"equal to the matrix form entry by entry at {where}" if not bad else f"DIFFER: {', '.join(bad)}")
        )
        return "\n".join(lines)


def _relevant(rule: IndexEquation, network: Any) -> bool:
    """Whether a head or L2 rule belongs to this description."""
    name = rule.name
    if name.startswith("L2"):
        return bool(network.l2) and f"({network.l2_convention})" in name
    if name == "softmax Jacobian":
        return network.head == "softmax-ce"
    if name.startswith("softmax"):
        return network.head == "softmax-ce" and f"({network.reduction})" in name
    if name.startswith("sigmoid + BCE"):
        return network.head == "sigmoid-bce" and f"({network.reduction})" in name
    return name == f"{network.head} ({network.mse}, {network.reduction})"


def prove_symbolic(network: Any = None) -> SymbolicProof:
    """Prove each backward rule in index notation for symbolic sizes (level 2).

    Args:
        network: a :class:`numeric.Network`: its head's rules and (with
            ``l2``) the L2 rule are proven too, and the per-layer index forms
            follow its depth.  None: the article's network.

    Example:
        >>> proof = prove_symbolic()
        >>> proof.ok, len(proof.rules) >= 5
        (True, True)
    """
    rules = index_rules()
    if network is None:
        return SymbolicProof(tuple(rules), tuple(layer_index_forms()))
    if network.head != "sigmoid-bce" or network.reduction != "mean":
        rules = [r for r in rules if r.name != "sigmoid + BCE"]  # the mean BCE's rule; the sum's is a head rule
    rules += [r for r in head_index_rules() if _relevant(r, network)]
    return SymbolicProof(tuple(rules), tuple(layer_index_forms(network)))
