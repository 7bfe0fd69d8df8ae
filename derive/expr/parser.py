"""A safe parser for activation functions written as text: the entry point.

Read a formula as a Python expression would be written, with NumPy, math,
torch or sympy spelling::

    z * sigmoid(beta * z)          x * tanh(ln(1 + exp(x)))     np.maximum(t, 0)
    z if z > 0 else 0.01 * z       where((z > 0) & (z < 6), z, 0)
    leaky_relu(z, alpha=0.2)       torch.clamp(z, min=-1, max=1)  z^2 + 1

:func:`parse` reads as the pipeline: :mod:`derive.expr.tokens` (the lexical
pass: refused characters, ``^`` -> ``**``, implicit-multiplication hints,
exact number literals), Python's ``ast.parse`` (parse only),
:mod:`derive.expr.bounds` (the structural bound on the work, and the free
names), :mod:`derive.expr.grammar` (the whitelist visitor that builds sympy)
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

import ast
import warnings
from typing import Any, Mapping

import sympy as sp

from derive.expr.bounds import MAX_BRANCHES, MAX_NODES, check_size, free_names, measure
from derive.expr.errors import ParseError
from derive.expr.functions import ALIASES, CONDITION_NAMES, CONSTANTS, FUNCTIONS, PREFIXES, lookup
from derive.expr.grammar import MAX_DIGITS, MAX_EXPONENT, Parsed, build
from derive.expr.tokens import MAX_DEPTH, MAX_LENGTH, NAME, parse_number, scan
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


def parse(text: str, params: Mapping[str, sp.Expr], variable: str | None = None) -> Parsed:
    """Parse ``text`` into a sympy expression in :data:`derive.activations.z`.

    Args:
        text: the formula.
        params: parameter name -> exact value.
        variable: the variable's name when it is fixed (a claimed derivative
            uses the activation's); ``None`` to infer it (any one free name,
            ``z`` when there is none).

    Raises:
        ParseError: the message says what is wrong and the column where.
    """
    sc = scan(text)
    try:
        with warnings.catch_warnings():  # e.g. "invalid decimal literal" for 1if: never printed
            warnings.simplefilter("ignore")
            tree = ast.parse(sc.source, mode="eval")
    except SyntaxError as exc:
        offset = (exc.offset or 1) - 1
        msg = (exc.msg or "invalid syntax").split(". Maybe")[0].split(". Perhaps")[0]
        end = len(text) + 1
        if sc.last in ("+", "-", "*", "/", "^", "**", "<", ">", "<=", ">=", "==", "!=", "&", "|", ",", ".", "=",
                       "and", "or", "not", "if", "else"):
            raise ParseError("the text ends too early (an operand is missing)", text, end) from None
        if sc.unclosed:
            c = sc.unclosed[-1]
            before = text[:c - 1].rstrip()
            what = f" {before.split()[-1].split('(')[-1]}(" if before and before[-1].isalnum() else " '('"
            raise ParseError(f"expected ')' to close{what} (opened at column {c}) by the end of the text",
                             text, end) from None
        if "unexpected EOF" in msg or "was never closed" in msg:
            msg = "a bracket is never closed or an operand is missing"
        elif "unmatched ')'" in msg:
            msg = "unbalanced ')'"
        elif msg.startswith("invalid syntax") and "=" in sc.source[max(0, offset - 1):offset + 2] and \
                "==" not in sc.source[max(0, offset - 1):offset + 2]:
            msg = "assignment is not allowed (use == in a condition, name=value only for keywords)"
        raise ParseError(msg, text, sc.column(offset)) from None
    except (RecursionError, MemoryError, ValueError, OverflowError):
        raise ParseError("the formula is too deeply nested or too large", text, 1) from None
    names, branches = measure(tree, sc)
    if branches > MAX_BRANCHES:
        raise ParseError(f"the formula could split into more than {MAX_BRANCHES} pieces (nested max, min, abs, "
                         "where, ...); the limit keeps every check fast: simplify the nesting", text, 1)
    free = free_names(names, params)
    if variable is None:
        if len(free) > 1:
            (a, _), (b, node) = list(free.items())[:2]
            raise ParseError(f"two unknown names {a!r} and {b!r}: an activation has one variable; give the "
                             f"other a value with params=... / --param {b}=VALUE", text, sc.column(node.col_offset))
        variable = next(iter(free), "z")
    out = build(sc, tree, params, variable)
    check_size(out, text)
    return Parsed(out, variable)


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
