"""A safe parser for activation functions written as text: the entry point.

Read a formula as a Python expression would be written, with NumPy, math,
torch or sympy spelling::

    z * sigmoid(beta * z)          x * tanh(ln(1 + exp(x)))     np.maximum(t, 0)
    z if z > 0 else 0.01 * z       where((z > 0) & (z < 6), z, 0)
    leaky_relu(z, alpha=0.2)       torch.clamp(z, min=-1, max=1)  z^2 + 1

The pipeline is three small modules: :mod:`derive.expr.tokens` (the lexical
pass: refused characters, ``^`` -> ``**``, implicit-multiplication hints,
exact number literals), :mod:`derive.expr.grammar` (Python's ``ast.parse``,
parse only, and a whitelist visitor with a structural bound on the work)
and :mod:`derive.expr.functions` (the function table, one entry per
function).  Nothing is ever passed to ``eval``, ``exec``, ``compile``,
``sympify`` or ``parse_expr``.

The variable is any one free name (``z``, ``x``, ``t``, ...); it is renamed
``z``.  Parameters given by the caller and constants (``pi``, ``e``, ``E``)
are never the variable; two unknown names are refused.

Example:
    >>> parse_activation("z * sigmoid(beta * z)", params={"beta": 2})
    z*sigmoid(2*z)
    >>> parse_activation("where(z > 0, z, 0.1 * z)")
    Piecewise((z, z > 0), (z/10, True))
    >>> parse_activation("x^2 + 1")
    z**2 + 1
"""

from __future__ import annotations

from typing import Any, Mapping

import sympy as sp

from derive.expr.errors import ParseError
from derive.expr.functions import ALIASES, CONDITION_NAMES, CONSTANTS, FUNCTIONS, PREFIXES, SPECIAL, lookup
from derive.expr.grammar import (
    MAX_BRANCHES,
    MAX_DIGITS,
    MAX_EXPONENT,
    MAX_NODES,
    Parsed,
    parse,
)
from derive.expr.tokens import MAX_DEPTH, MAX_LENGTH, NAME, parse_number
from numeric.errors import InputError

__all__ = [
    "ParseError",
    "Parsed",
    "parse_activation",
    "read_activation",
    "parse_number",
    "FUNCTIONS",
    "ALIASES",
    "PREFIXES",
    "CONSTANTS",
    "MAX_LENGTH",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_BRANCHES",
    "MAX_EXPONENT",
    "MAX_DIGITS",
]

_KEYWORDS = {"and", "or", "not", "if", "else", *CONDITION_NAMES}


def _check_params(params: Mapping[str, Any] | None) -> dict[str, sp.Expr]:
    out: dict[str, sp.Expr] = {}
    for key, val in (params or {}).items():
        if not isinstance(key, str) or not NAME.fullmatch(key) or key.startswith("_"):
            raise InputError(f"parameter names are identifiers such as alpha, got {key!r}")
        if key == "z" or key in CONSTANTS or lookup(key) or key in _KEYWORDS:
            raise InputError(f"{key!r} is reserved and cannot be a parameter name")
        out[key] = parse_number(val, name=f"parameter {key}")
    return out


def read_activation(text: str, params: Mapping[str, Any] | None = None, *,
                    variable: str | None = None) -> Parsed:
    """Parse ``text`` and say which name was the variable.

    Args:
        text: the formula.
        params: values of named parameters (numbers or numeric strings; kept exact).
        variable: require this variable name (a claimed derivative must use
            the activation's); ``None`` infers it.

    Returns:
        :class:`Parsed` with ``expr`` (in :data:`derive.activations.z`) and ``variable``.

    Raises:
        ParseError: the text is not in the language (names the column).
        InputError: a parameter name or value is unusable.
        TypeError: ``text`` is not a string.

    Example:
        >>> p = read_activation("x * sigmoid(x)")
        >>> p.variable, p.expr
        ('x', z*sigmoid(z))
    """
    if not isinstance(text, str):
        raise TypeError(f"the activation text must be a str, got {type(text).__name__}")
    checked = _check_params(params)
    if variable is not None and variable in checked:
        raise InputError(f"{variable!r} is the variable and cannot also be a parameter")
    return parse(text, checked, variable)


def parse_activation(text: str, params: Mapping[str, Any] | None = None, *,
                     variable: str | None = None) -> sp.Expr:
    """Parse an activation written as text into a sympy expression in ``z``.

    Args:
        text: e.g. ``"z * tanh(softplus(z))"``, ``"x if x > 0 else alpha * x"``
            or ``"np.maximum(t, 0)"``.
        params: values of the named parameters used in ``text``, e.g.
            ``{"alpha": 0.1}`` (numbers or numeric strings; kept exact).
        variable: require this variable name; ``None`` infers it (any one
            free name, renamed ``z``).

    Returns:
        The expression, in :data:`derive.activations.z` (a real symbol).

    Raises:
        ParseError: the text is not in the language (see the module doc); the
            message names the column.
        InputError: a parameter name or value is unusable.
        TypeError: ``text`` is not a string.

    Example:
        >>> parse_activation("log(1 + exp(z))")
        log(exp(z) + 1)
        >>> parse_activation("__import__('os')")
        Traceback (most recent call last):
        ...
        derive.expr.errors.ParseError: strings are not allowed at column 12: "__import__('os')"
    """
    return read_activation(text, params, variable=variable).expr
