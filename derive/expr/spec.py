"""Any activation spec -> a sympy expression in ``z``.

A spec is a catalog name (:data:`derive.activations.CATALOG`), a sympy
expression, or text read by the safe parser. This module sits above both the
catalog and the parser, so neither imports the other.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef

from derive.activations import CATALOG, z
from derive.expr.parser import parse_activation, parse_number
from numeric.errors import InputError, UnknownActivationError

__all__ = ["activation_expr"]


def activation_expr(spec: Any, **params: Any) -> sp.Expr:
    """The activation as a sympy expression in :data:`z`.

    Args:
        spec: a catalog name (``"swish"``), a sympy expression in one
            free symbol (``z``, or any one name, renamed ``z``), or a string such as
            ``"z * tanh(softplus(z))"``, read by the safe parser
            :func:`derive.expr.parser.parse_activation` (never ``eval``).
        **params: catalog parameters, e.g. ``alpha=0.2`` for leaky_relu, or
            the values of named parameters in an expression string.

    Raises:
        UnknownActivationError: a bare name that is not in the catalog.
        ParseError: a string that is not a valid expression (names the column).
        InputError: unknown parameters, or an expression with other symbols.

    Example:
        >>> activation_expr("leaky_relu", alpha=0.2)
        Piecewise((z/5, z <= 0), (z, True))
        >>> activation_expr("where(z > 0, z, alpha * z)", alpha=0.2)
        Piecewise((z, z > 0), (z/5, True))
    """
    if params:
        # values become exact, bounded numbers: never text that sympy would eval
        params = {k: parse_number(v, name=f"parameter {k}") for k, v in params.items()}
    if isinstance(spec, str):
        if spec.strip() in CATALOG:  # blanks around a catalog name are ignored, as around a formula
            spec = spec.strip()
        if spec not in CATALOG and (spec.strip() == "z" or not spec.strip().isidentifier() or len(spec) > 64):
            return parse_activation(spec, params)
        if spec not in CATALOG:
            raise UnknownActivationError(
                f"unknown activation {spec!r}; known: {', '.join(CATALOG)}"
            )
        defaults, build = CATALOG[spec]
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            accepted = ", ".join(defaults) or "none"
            raise InputError(f"{spec} takes no parameter {unknown}; accepted: {accepted}")
        return build({**defaults, **params})
    if isinstance(spec, sp.Expr):
        undefined = sorted({type(f).__name__ for f in spec.atoms(AppliedUndef)})
        if undefined:  # its name would be printed into generated code: only known functions pass
            raise InputError(f"the activation uses undefined functions {undefined}; write it with known "
                             "functions (a catalog name, or exp, log, tanh, ... as sympy or text)")
        if params:
            spec = spec.subs({sp.Symbol(k): v for k, v in params.items()})
            spec = spec.subs({s: v for s in spec.free_symbols for k, v in params.items() if s.name == k})
        free = spec.free_symbols
        if len(free) == 1 and not any(s.name == "z" for s in free):
            return spec.xreplace({next(iter(free)): z})  # any one free symbol is the variable
        others = sorted(s.name for s in free if s.name != "z")
        if others:
            raise InputError(
                f"the activation may depend on z only; give values for {others} as parameters"
            )
        return spec.subs({s: z for s in free if s.name == "z" and s != z})
    raise TypeError(
        f"an activation is a catalog name or a sympy expression in z, got {type(spec).__name__}"
    )
