"""Zero tests on expressions whose applied functions are replaced by symbols.

The exact proof compares two expressions built from the same forward pass:
sympy's derivative of the cost and the matrix-form formula.  Both are
polynomials in the parameter and data symbols and in *applied functions*
(``f(u)``, ``f'(u)`` written as ``Subs(Derivative(f(xi), xi), xi, u)``,
``sigma(u)``, ``exp(u)``, ``log(u)``, ``1/u``), nested through their
arguments.  ``sympy.expand`` of such an expression also expands every nested
argument again and again, which is where the time went.

:class:`Atoms` replaces, bottom-up, every applied function by a fresh symbol
(an *atom*).  Two applications get the same atom when their function is the
same and their arguments, with inner atoms already in place, expand to the
same polynomial.  The residual then becomes a plain polynomial in symbols, and
``expand`` of it is small.

Why a zero there is a proof: the residual R is obtained from the atomised
residual P by putting the atoms' true values back, ``R = P(x, atoms(x))``.
If P expands to the zero polynomial in independent symbols, it is 0 for every
value of its symbols, so in particular R = 0.  (Nothing is sampled, nothing is
approximate.)  The converse can fail - sigma, exp, log and 1/u obey algebraic
relations the independent atoms forget - so a non-zero P is not a disproof:
the caller then falls back to the full expansion of R.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

__all__ = ["Atoms"]


class Atoms:
    """Bottom-up replacement of applied functions by canonical symbols.

    One instance is shared by every entry of a proof, so each shared
    subexpression (an ``f(Z1_ij)`` appears in hundreds of entries) is
    atomised once.
    """

    def __init__(self) -> None:
        self._memo: dict[sp.Basic, sp.Expr] = {}
        self._keys: dict[Any, sp.Symbol] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def _atom(self, key: Any) -> sp.Symbol:
        sym = self._keys.get(key)
        if sym is None:
            sym = self._keys[key] = sp.Dummy(f"a{len(self._keys)}")
        return sym

    def canon(self, expr: sp.Basic) -> sp.Expr:
        """The expanded polynomial of ``expr`` with its atoms in place."""
        return sp.expand(self(expr))

    def __call__(self, expr: sp.Basic) -> sp.Expr:
        """``expr`` as a polynomial (not expanded) in symbols and atoms."""
        hit = self._memo.get(expr)
        if hit is not None:
            return hit
        out: sp.Expr
        if expr.is_Atom:
            out = expr
        elif expr.is_Add or expr.is_Mul:
            out = expr.func(*[self(a) for a in expr.args])
        elif expr.is_Pow and expr.exp.is_Integer:
            if expr.exp > 0:
                out = self(expr.base) ** expr.exp
            else:  # 1/u^k = (atom of 1/u)^k
                out = self._atom(("inverse", self.canon(expr.base))) ** (-expr.exp)
        elif isinstance(expr, sp.Subs):  # f'(u): the bound variable stays as it is
            out = self._atom(("subs", expr.expr, expr.variables, tuple(self.canon(p) for p in expr.point)))
        elif isinstance(expr, sp.Derivative):  # f'(z) at a symbol z: compared as written
            out = self._atom(("derivative", expr))
        elif isinstance(expr, sp.Function):  # f(u), sigma(u), exp(u), log(u)
            out = self._atom((expr.func, tuple(self.canon(a) for a in expr.args)))
        else:  # anything else (a fractional power ...): compared as written
            out = self._atom(("other", expr))
        self._memo[expr] = out
        return out

    def is_zero(self, expr: sp.Expr) -> bool:
        """True only if ``expr`` is exactly 0 (see the module docstring);
        False means "not shown here", never "shown non-zero"."""
        return sp.expand(self(expr)) == 0
