"""Proofs of the backward formulas, strongest first.

* :mod:`derive.proof.exact` -- level 1, exact at concrete shapes: every entry a
  symbol, the activations undefined functions, sympy's ``diff`` of the whole
  cost minus each matrix-form formula expands to 0.
* :mod:`derive.proof.index_form` -- level 2, shape-generic: each backward rule
  (affine weight, bias and input; elementwise; sigmoid + BCE) proven once in
  index notation for *symbolic* sizes, then instantiated per layer.

Open :func:`prove_symbolic` (level 2) or :func:`prove_exact` (level 1) first;
``verify`` and the report both call them.
"""

from __future__ import annotations

from dataclasses import dataclass

from derive.proof.exact import PROOF_SHAPES, ExactProof, prove_exact
from derive.proof.index_form import INDEX_CHECK_SHAPE, IndexEquation, index_rules, layer_index_forms

__all__ = [
    "prove_exact",
    "ExactProof",
    "PROOF_SHAPES",
    "prove_symbolic",
    "SymbolicProof",
    "IndexEquation",
    "INDEX_CHECK_SHAPE",
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
        dims = ", ".join(f"{k}={v}" for k, v in INDEX_CHECK_SHAPE.items())
        bad = [e.name for e in self.layers if not e.ok]
        lines.append(
            f"per-layer index forms ({', '.join(e.name for e in self.layers)}): "
            + (f"equal to the matrix form entry by entry at {dims}" if not bad else f"DIFFER: {', '.join(bad)}")
        )
        return "\n".join(lines)


def prove_symbolic() -> SymbolicProof:
    """Prove each backward rule in index notation for symbolic sizes (level 2).

    Example:
        >>> proof = prove_symbolic()
        >>> proof.ok, len(proof.rules) >= 5
        (True, True)
    """
    return SymbolicProof(tuple(index_rules()), tuple(layer_index_forms()))
