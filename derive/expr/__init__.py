"""The expression language: activations written as text, read safely.

Open :mod:`derive.expr.parser` first (the grammar and its limits); 
:func:`activation_expr` (in :mod:`derive.expr.spec`) turns any spec -- a
catalog name, a sympy expression or text -- into a sympy expression in ``z``.
Nothing here ever calls ``eval``, ``sympify`` or ``parse_expr`` on user text.
"""

from __future__ import annotations

from derive.expr.parser import ParseError, parse_activation, parse_number
from derive.expr.spec import activation_expr

__all__ = ["ParseError", "parse_activation", "parse_number", "activation_expr"]
