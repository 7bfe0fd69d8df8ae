"""The expression language: activations written as text, read safely.

Open :mod:`derive.expr.parser` first (the entry point and the language);
then :mod:`derive.expr.tokens` (the lexical pass), :mod:`derive.expr.grammar`
(``ast.parse`` and the whitelist visitor, with the structural bound) and
:mod:`derive.expr.functions` (the function table: one entry per function).
:func:`activation_expr` (in :mod:`derive.expr.spec`) turns any spec -- a
catalog name, a sympy expression or text -- into a sympy expression in ``z``.
Nothing here ever calls ``eval``, ``exec``, ``compile``, ``sympify`` or
``parse_expr`` on user text.
"""

from __future__ import annotations

from derive.expr.errors import ParseError
from derive.expr.parser import parse_activation, parse_number, read_activation
from derive.expr.spec import activation_expr

__all__ = ["ParseError", "parse_activation", "read_activation", "parse_number", "activation_expr"]
