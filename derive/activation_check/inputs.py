"""What ``check_activation`` is given, made into sympy expressions or refused.

Owns :func:`_resolve` (the activation: a catalog name, text read by the
whitelisting parser, or a sympy expression, with the user's variable name),
:func:`_claim_expr` (a claimed derivative in that variable), the rule that
parameters are never the variable, and the validation of the keyword
options.  Every refusal is an :class:`InputError` (or a TypeError/ValueError
for a wrong option type or range) with the fix in its message.
"""

from __future__ import annotations

import ast
import math
from typing import Any, Mapping

import sympy as sp

from derive.activation_check.results import RTOL
from derive.activations import CATALOG
from derive.expr import activation_expr
from derive.expr.parser import parse_activation, read_activation
from numeric.errors import InputError


_VARIABLE_NAMES = ("z", "x", "t")
"""The names README gives for the variable: never accepted as a parameter (``--param x=1``
would otherwise make another name, or none, the variable)."""


def _param_not_variable(params: Mapping[str, Any], variable: str, names: set[str]) -> None:
    """Parameters are never the variable: an :class:`InputError` when one names it, when
    one is called z, x or t, or when the parameters leave the formula with no variable."""
    for key in params:
        if key == variable or key in _VARIABLE_NAMES:
            raise InputError(f"parameter {key!r} is the variable's name: parameters are never the variable "
                             f"(drop the parameter {key})")
    covered = sorted(names & set(params))
    if covered and not (names - set(params)):
        raise InputError(f"every name in the formula is a parameter ({', '.join(covered)}): parameters are "
                         "never the variable; drop the one that is the variable")


def _text_names(text: str) -> set[str]:
    """The bare names in already-parsed activation text (Python's parser: parse only)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _sympy_input(value: Any, what: str) -> sp.Expr:
    """A sympy input must be an expression: a Lambda, a relation or a boolean is refused."""
    if isinstance(value, sp.Lambda):
        raise InputError(f"the {what} is a sympy Lambda; pass its body, an expression in one symbol "
                         f"(e.g. {value.expr})")
    if not isinstance(value, sp.Expr) or isinstance(value, sp.FunctionClass):
        raise InputError(f"the {what} must be a sympy expression in one symbol, got {type(value).__name__}")
    return value


def _resolve(activation: Any, params: Mapping[str, Any]) -> tuple[str, sp.Expr, str | None, str]:
    """(label, expression in z, catalog name or None, the user's variable name)."""
    if isinstance(activation, str):
        if activation in CATALOG:
            return activation, activation_expr(activation, **params), activation, "z"
        text = activation.strip()
        if text.isidentifier() and len(text) > 2 and text not in params:
            activation_expr(activation)  # a bare unknown name: UnknownActivationError with the catalog
        parsed = read_activation(activation, params)
        _param_not_variable(params, parsed.variable, _text_names(text))
        return activation, parsed.expr, None, parsed.variable
    if isinstance(activation, sp.Basic):
        _sympy_input(activation, "activation")
        names = {s.name for s in activation.free_symbols}
        free = sorted(names - set(params))
        variable = free[0] if len(free) == 1 else "z"
        _param_not_variable(params, variable, names)
        expr = activation_expr(activation, **params)
        return str(activation), expr, None, variable
    raise TypeError("the activation must be a catalog name, a string such as 'z*tanh(softplus(z))', "
                    f"or a sympy expression in z; got {type(activation).__name__}")


def _claim_expr(derivative: Any, params: Mapping[str, Any], variable: str) -> sp.Expr:
    if isinstance(derivative, str):
        if derivative in CATALOG:
            raise InputError(f"the claimed derivative {derivative!r} is an activation name; "
                             f"write the derivative as an expression in {variable}")
        return parse_activation(derivative, params, variable=variable)
    if isinstance(derivative, sp.Basic):
        _sympy_input(derivative, "claimed derivative")
        other = sorted(s.name for s in derivative.free_symbols if s.name not in params and s.name != variable)
        if other:
            raise InputError(f"the claimed derivative is written in {other[0]!r}, but the activation's variable is "
                             f"{variable!r}: write it in {variable}")
    return activation_expr(derivative, **params)


def _options(rtol: Any, atol: Any, strict: Any, seed: Any, points: Any, time_limit: Any) -> float:
    """Validate the keyword options (TypeError/ValueError with the fix); returns rtol."""
    for key, val in (("rtol", rtol), ("atol", atol), ("time_limit", time_limit)):
        if val is not None and (isinstance(val, bool) or not isinstance(val, (int, float))):
            raise TypeError(f"{key} must be a number, got {type(val).__name__}")
    if rtol is not None and not (math.isfinite(rtol) and 0 < rtol < 1):
        raise ValueError(f"rtol must be a finite number in (0, 1), e.g. 1e-6; got {rtol!r}")
    if atol is not None and not (math.isfinite(atol) and atol >= 0):
        raise ValueError(f"atol must be a finite number >= 0 (an absolute error); got {atol!r}")
    if time_limit is not None and not (math.isfinite(time_limit) and time_limit >= 0):
        raise ValueError(f"time_limit must be a finite number of seconds >= 0 (0: none); got {time_limit!r}")
    if not isinstance(strict, bool):
        raise TypeError(f"strict must be True or False, got {strict!r}")
    for key, val, hi in (("seed", seed, 2**32 - 1), ("points", points, 10_000)):
        if isinstance(val, bool) or not isinstance(val, int) or not 0 <= val <= hi:
            raise ValueError(f"{key} must be an integer from 0 to {hi}, got {val!r}")
    return RTOL if rtol is None else float(rtol)
