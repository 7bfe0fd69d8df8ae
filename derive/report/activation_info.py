"""What the report says about one hidden activation: f, f', kinks, f' from the output.

Everything is computed from the sympy expression: the derivative is sympy's
``diff``; kinks are the break points of ``Piecewise`` conditions and ``Abs``
arguments, with one-sided derivatives from ``limit``; the derivative in terms
of the output ``a = f(z)`` comes from a table of known forms for catalog
activations, each confirmed by sympy on every branch.  When f is not
one-to-one, no such form exists, and the report shows two inputs with the
same output but different slopes (found numerically).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import sympy as sp

from derive.activations import CATALOG, derivative_expr, numpy_function, z
from derive.expr import activation_expr
from derive.steps import scalar_equal

__all__ = ["Kink", "ActivationInfo", "activation_info", "a"]

a = sp.Symbol("a", real=True)


@dataclass(frozen=True)
class Kink:
    """A break point ``at`` of the definition, with one-sided derivatives."""

    at: Any
    left: Any
    right: Any
    jump: bool = False  # f itself has different one-sided limits here

    @property
    def is_kink(self) -> bool:
        """True when the one-sided derivatives differ (f is not differentiable there)."""
        return bool(sp.simplify(self.left - self.right) != 0)


@dataclass
class ActivationInfo:
    """The activation's formulas and their checks.

    Attributes:
        role: ``"f"`` or ``"g"``.
        name: catalog name or the user's text (raw: escape before printing).
        expr, deriv: f(z) and sympy's f'(z).
        kinks: break points with one-sided derivatives.
        output_form: f' as an expression in ``a = f(z)``, or None.
        output_check: how ``output_form`` was confirmed, or why there is none.
        output_ok: the confirmation's outcome (True when there is no form).
    """

    role: str
    name: str
    expr: Any
    deriv: Any
    kinks: list[Kink] = field(default_factory=list)
    output_form: Any = None
    output_check: str = ""
    output_ok: bool = True
    collision: tuple[float, float] | None = None  # two inputs, same output, different slopes


def _p(name: str, key: str) -> sp.Expr:
    return sp.Rational(str(CATALOG[name][0][key]))


def _kinked(left: sp.Expr, right: sp.Expr) -> sp.Expr:
    return sp.Piecewise((left, a <= 0), (right, True))


# catalog name -> f' written in a = f(z) (defaults of the catalog's parameters)
_OUTPUT_FORMS: dict[str, Callable[[], sp.Expr]] = {
    "sigmoid": lambda: a * (1 - a),
    "tanh": lambda: 1 - a**2,
    "relu": lambda: _kinked(sp.S.Zero, sp.S.One),
    "leaky_relu": lambda: _kinked(_p("leaky_relu", "alpha"), sp.S.One),
    "elu": lambda: _kinked(a + _p("elu", "alpha"), sp.S.One),
    "selu": lambda: _kinked(a + _p("selu", "scale") * _p("selu", "alpha"), _p("selu", "scale")),
    "softplus": lambda: 1 - sp.exp(-a),
    "softsign": lambda: (1 - sp.Abs(a)) ** 2,
    "identity": lambda: sp.S.One,
}


def _break_points(expr: sp.Expr) -> list[sp.Expr]:
    points: set[sp.Expr] = set()
    for pw in expr.atoms(sp.Piecewise):
        for _, cond in pw.args:
            for rel in cond.atoms(sp.core.relational.Relational):
                sol = sp.solve(sp.Eq(rel.lhs, rel.rhs), z)
                points.update(s for s in sol if s.is_real)
    for ab in expr.atoms(sp.Abs):
        points.update(s for s in sp.solve(ab.args[0], z) if s.is_real)
    return sorted(points, key=float)


def _regions(points: list[sp.Expr]) -> list[sp.Symbol | tuple[sp.Expr, sp.Symbol]]:
    """A symbol standing for z in each open region between break points."""
    if not points:
        return [z]
    if len(points) == 1:
        c = points[0]
        return [(c - sp.Symbol("t", positive=True)), (c + sp.Symbol("t", positive=True))]
    return []


def _check_output_form(expr: sp.Expr, deriv: sp.Expr, form: sp.Expr, points: list[sp.Expr]) -> bool:
    regions = _regions(points)
    if not regions:
        return False
    for zz in regions:
        fz = expr.subs(z, zz)
        if not scalar_equal(form.subs(a, fz), deriv.subs(z, zz)):
            return False
    return True


def _not_injective(expr: sp.Expr, deriv: sp.Expr) -> tuple[float, float] | None:
    """Two inputs with equal outputs and different slopes, or None."""
    f, df = numpy_function(expr), numpy_function(deriv)
    grid = np.linspace(-6.0, 6.0, 1201)
    vals = f(grid)
    i = int(np.argmin(vals))
    if i in (0, len(grid) - 1):
        return None
    z1 = grid[i] - 1.5
    target = float(f(np.array([z1]))[0])
    lo, hi = grid[i], grid[-1]
    if not (float(f(np.array([hi]))[0]) > target):
        return None
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if float(f(np.array([mid]))[0]) < target:
            lo = mid
        else:
            hi = mid
    z2 = 0.5 * (lo + hi)
    if abs(float(df(np.array([z1]))[0]) - float(df(np.array([z2]))[0])) < 1e-6:
        return None
    return float(z1), float(z2)


def activation_info(role: str, spec: Any, *, name: str | None = None) -> ActivationInfo:
    """Collect f, f', kinks and the output form of one activation.

    Args:
        role: ``"f"`` or ``"g"`` (the letter the report uses).
        spec: a catalog name or anything :func:`derive.activations.activation_expr` takes.
        name: how to call it in the report (defaults to ``spec`` for names).

    Example:
        >>> info = activation_info("g", "leaky_relu")
        >>> [(k.at, k.left, k.right) for k in info.kinks]
        [(0, 1/100, 1)]
    """
    expr = activation_expr(spec)
    deriv = derivative_expr(expr)
    label = name if name is not None else (spec if isinstance(spec, str) else str(spec))
    info = ActivationInfo(role, label, expr, deriv)
    points = _break_points(expr)
    for c in points:
        t = sp.Symbol("t", positive=True)
        left = sp.limit(deriv.subs(z, c - t), t, 0, "+")
        right = sp.limit(deriv.subs(z, c + t), t, 0, "+")
        f_left = sp.limit(expr.subs(z, c - t), t, 0, "+")
        f_right = sp.limit(expr.subs(z, c + t), t, 0, "+")
        info.kinks.append(Kink(c, left, right, bool(sp.simplify(f_left - f_right) != 0)))
    if isinstance(spec, str) and spec in _OUTPUT_FORMS:
        form = _OUTPUT_FORMS[spec]()
        info.output_form = form
        info.output_ok = _check_output_form(expr, deriv, form, points)
        where = "on each side of the kink" if points else "for every real z"
        info.output_check = f"sympy: substituting a = {role}(z) gives {role}'(z) exactly, {where}"
    else:
        pair = _not_injective(expr, deriv)
        if pair is not None:
            z1, z2 = pair
            info.collision = (z1, z2)
            info.output_check = (
                f"there is none, since {role} is not one-to-one: {role}({z1:.4f}) = {role}({z2:.4f}) "
                f"but the slopes differ (computed with the lambdified {role} and {role}')"
            )
        else:
            info.output_check = "none known to this report (no table entry for this activation)"
    return info
