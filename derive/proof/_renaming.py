"""Derivatives of the cost obtained from one another by renaming symbols.

The cost of one example is unchanged when two units of a layer swap places
(their rows of W and b, their columns of the next W; for the input layer the
rows of X; for the output layer the rows of Y): a network does not care how
its units are numbered.  And the cost of example k is the cost of example 0
with column 0 of X and Y (and of a free Z) renamed to column k.

If a renaming s (a bijection of symbols) leaves an expression L unchanged,
``L.xreplace(s) == L`` as sympy expressions, then for every symbol t
``diff(L, s(t)) == diff(L, t).xreplace(s)``: differentiation commutes with
renaming variables.  So sympy's ``diff`` of the cost in W[0, 0] gives the
derivative in every W[i, j] by renaming, exactly - *after* the invariance has
been checked on the expression itself (:meth:`Renaming.invariant`,
:meth:`Renaming.maps`).  A check that fails only means the proof
differentiates that entry directly.
"""

from __future__ import annotations

from typing import Any, Hashable

import sympy as sp

__all__ = ["Renaming", "EXAMPLES"]

EXAMPLES = "examples"  # the axis of the columns of X, Y and a free Z


class Renaming:
    """Swaps of index 0 with index i along named axes of symbol matrices.

    Args:
        matrices: ``(matrix of symbols, row axis, column axis)`` triples; an
            axis is a layer number, :data:`EXAMPLES`, or None (not renamed).
    """

    def __init__(self, matrices: list[tuple[sp.Matrix, Hashable, Hashable]]) -> None:
        self._matrices = matrices
        self._maps: dict[frozenset[tuple[Hashable, int]], dict[sp.Basic, sp.Basic]] = {}
        self._checked: dict[Any, bool] = {}

    def rename(self, swaps: dict[Hashable, int]) -> dict[sp.Basic, sp.Basic]:
        """The symbol map of swapping 0 with ``swaps[axis]`` on every axis given."""
        key = frozenset((a, i) for a, i in swaps.items() if i)
        if key not in self._maps:
            out: dict[sp.Basic, sp.Basic] = {}
            for M, row_axis, col_axis in self._matrices:
                r, c = swaps.get(row_axis, 0), swaps.get(col_axis, 0)
                if not (r or c):
                    continue
                for a in range(M.rows):
                    for b in range(M.cols):
                        a2 = r if a == 0 else 0 if a == r else a
                        b2 = c if b == 0 else 0 if b == c else b
                        if (a2, b2) != (a, b):
                            out[M[a, b]] = M[a2, b2]
            self._maps[key] = out
        return self._maps[key]

    def invariant(self, expr: sp.Expr, axis: Hashable, i: int) -> bool:
        """Whether swapping 0 and i along ``axis`` leaves ``expr`` exactly as it is."""
        key = (id(expr), axis, i)
        if key not in self._checked:
            self._checked[key] = i == 0 or expr.xreplace(self.rename({axis: i})) == expr
        return self._checked[key]

    def maps(self, expr: sp.Expr, other: sp.Expr, axis: Hashable, i: int) -> bool:
        """Whether swapping 0 and i along ``axis`` turns ``expr`` into exactly ``other``."""
        key = (id(expr), id(other), axis, i)
        if key not in self._checked:
            self._checked[key] = expr.xreplace(self.rename({axis: i})) == other
        return self._checked[key]
