"""Zero tests on expressions whose applied functions are replaced by symbols.

The exact proof compares two expressions built from the same forward pass:
sympy's derivative of the cost and the matrix-form formula.  Both are
polynomials in the parameter and data symbols and in *applied functions*
(``f(u)``, ``f'(u)``, ``sigma(u)``, ``exp(u)``, ``log(u)``, ``1/u``), nested
through their arguments.  ``sympy.expand`` of such an expression also expands
every nested argument again and again, which is where the time went.

:class:`Atoms` turns an expression into a sparse polynomial with exact
rational coefficients, bottom-up and once per distinct subexpression.  Every
applied function becomes a variable of its own (an *atom*); two applications
get the same atom when their function is the same and their arguments, with
inner atoms in place, are the same polynomial.

Why a zero there is a proof: the expression E is the polynomial P with the
atoms' true values put back, ``E = P(x, atoms(x))``.  If P is the zero
polynomial in independent variables, it is 0 for every value of them, so in
particular E = 0.  (Nothing is sampled, nothing is approximate.)  The converse
can fail - sigma, exp, log and 1/u obey relations that independent atoms
forget - so a non-zero P is not a disproof: the caller then decides with the
full ``sympy.expand`` of E.

:meth:`Atoms.rename` renames variables inside a polynomial (an atom ``F(u)``
becomes the atom ``F(u renamed)``), which is the polynomial of the renamed
expression: renaming commutes with evaluating the atoms.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import sympy as sp

__all__ = ["Atoms", "Poly", "sub"]

Monomial = tuple[tuple[int, int], ...]  # sorted (variable, exponent) pairs
Poly = dict[Monomial, Fraction]


def _add_into(acc: Poly, p: Poly, scale: Fraction = Fraction(1)) -> Poly:
    for mono, c in p.items():
        v = acc.get(mono, 0) + c * scale
        if v:
            acc[mono] = v
        else:
            acc.pop(mono, None)
    return acc


def _mono_mul(a: Monomial, b: Monomial) -> Monomial:
    if not a:
        return b
    if not b:
        return a
    d = dict(a)
    for v, e in b:
        d[v] = d.get(v, 0) + e
    return tuple(sorted(d.items()))


def _mul(p: Poly, q: Poly) -> Poly:
    out: Poly = {}
    for m1, c1 in p.items():
        for m2, c2 in q.items():
            mono = _mono_mul(m1, m2)
            v = out.get(mono, 0) + c1 * c2
            if v:
                out[mono] = v
            else:
                out.pop(mono, None)
    return out


def sub(p: Poly, q: Poly) -> Poly:
    """``p - q`` as a new polynomial."""
    return _add_into(dict(p), q, Fraction(-1))


def _frozen(p: Poly) -> frozenset[tuple[Monomial, Fraction]]:
    return frozenset(p.items())


class Atoms:
    """Sparse exact polynomials of expressions, with applied functions as atoms.

    One instance is shared by every entry of a proof, so each shared
    subexpression (an ``f(Z1_ij)`` appears in hundreds of entries) is
    converted once.
    """

    def __init__(self) -> None:
        self._memo: dict[sp.Basic, Poly] = {}
        self._var: dict[Any, int] = {}  # a symbol, or an atom's key -> variable number
        self._key: list[Any] = []  # variable number -> its symbol or key
        self._args: list[tuple[Poly, ...] | None] = []  # an atom's argument polynomials
        self._renamed: dict[tuple[int, int], int] = {}

    def __len__(self) -> int:
        return len(self._key)

    def _variable(self, key: Any, args: tuple[Poly, ...] | None = None) -> int:
        v = self._var.get(key)
        if v is None:
            v = self._var[key] = len(self._key)
            self._key.append(key)
            self._args.append(args)
        return v

    def _atom(self, tag: Any, args: tuple[Poly, ...]) -> Poly:
        v = self._variable((tag, tuple(_frozen(a) for a in args)), args)
        return {((v, 1),): Fraction(1)}

    def poly(self, expr: sp.Basic) -> Poly:
        """``expr`` as a polynomial in its symbols and atoms (do not modify the result)."""
        hit = self._memo.get(expr)
        if hit is not None:
            return hit
        out: Poly
        if expr.is_Symbol:
            out = {((self._variable(expr), 1),): Fraction(1)}
        elif expr.is_Rational:
            out = {(): Fraction(int(expr.p), int(expr.q))} if expr else {}
        elif expr.is_Add:
            out = {}
            for a in expr.args:
                _add_into(out, self.poly(a))
        elif expr.is_Mul:
            out = {(): Fraction(1)}
            for a in expr.args:
                out = _mul(out, self.poly(a))
        elif expr.is_Pow and expr.exp.is_Integer and expr.exp > 0:
            base = self.poly(expr.base)
            out = {(): Fraction(1)}
            for _ in range(int(expr.exp)):
                out = _mul(out, base)
        elif expr.is_Pow and expr.exp.is_Integer:  # 1/u^k = (atom of 1/u)^k
            atom = self._atom("inverse", (self.poly(expr.base),))
            ((mono, _),) = atom.items()
            out = {((mono[0][0], int(-expr.exp)),): Fraction(1)}
        elif isinstance(expr, sp.Function) and not isinstance(expr, sp.Derivative):
            out = self._atom(expr.func, tuple(self.poly(a) for a in expr.args))  # f(u), sigma(u), exp(u) ...
        else:  # anything else (a Subs, a Derivative, a float ...): a variable compared as written
            out = {((self._variable(("as written", expr)), 1),): Fraction(1)}
        self._memo[expr] = out
        return out

    def is_zero(self, expr: sp.Expr) -> bool:
        """True only if ``expr`` is exactly 0 (see the module docstring);
        False means "not shown here", never "shown non-zero"."""
        return not self.poly(expr)

    def rename(self, p: Poly, mapping: dict[sp.Basic, sp.Basic], name: Any) -> Poly:
        """``p`` with its symbols renamed by ``mapping`` (a bijection), inside
        atoms too; ``name`` identifies the mapping for the memo."""
        tag = self._variable(("mapping", name))  # a number for the memo, never in a polynomial
        return self._rename_poly(p, mapping, tag)

    def _rename_variable(self, v: int, mapping: dict[sp.Basic, sp.Basic], tag: int) -> int:
        hit = self._renamed.get((tag, v))
        if hit is not None:
            return hit
        key, args = self._key[v], self._args[v]
        if args is None:  # a symbol, or compared as written
            if isinstance(key, tuple):
                out = self._variable(("as written", key[1].xreplace(mapping)))
            else:
                out = self._variable(mapping.get(key, key))
        else:
            new_args = tuple(self._rename_poly(a, mapping, tag) for a in args)
            out = self._variable((key[0], tuple(_frozen(a) for a in new_args)), new_args)
        self._renamed[(tag, v)] = out
        return out

    def _rename_poly(self, p: Poly, mapping: dict[sp.Basic, sp.Basic], tag: int) -> Poly:
        out: Poly = {}
        for mono, c in p.items():
            new = tuple(sorted((self._rename_variable(v, mapping, tag), e) for v, e in mono))
            _add_into(out, {new: c})
        return out
