"""Leading and trailing whitespace (newlines included) around a formula is ignored.

``" tanh(x)"`` was refused with Python's "unexpected indent", and so was a
derivative written as a triple-quoted block; trailing blanks were accepted.
"""

from __future__ import annotations

import pytest
import sympy as sp

from derive.activations import z
from derive.expr.errors import ParseError
from derive.expr.parser import parse_activation
from derive.expr.spec import activation_expr


@pytest.mark.parametrize("text", [
    " tanh(x)", "tanh(x) ", "  tanh(x)  ", "\ttanh(x)", "\n    tanh(x)\n", "\r\n tanh(x)\r\n",
    "\f\v tanh(x)",
])
def test_whitespace_around_the_text_is_ignored(text):
    assert parse_activation(text) == sp.tanh(z)


def test_a_multi_line_derivative_block_parses():
    text = """
    sech(x)**2
"""
    assert sp.simplify(parse_activation(text) - sp.sech(z) ** 2) == 0


def test_columns_still_point_into_the_users_text():
    with pytest.raises(ParseError, match="column 6"):
        parse_activation("   z $ 1")


@pytest.mark.parametrize("text", ["   ", "\n\t\n", ""])
def test_blank_text_is_still_refused(text):
    with pytest.raises(ParseError, match="empty"):
        parse_activation(text)


@pytest.mark.parametrize("spec", [" tanh", "tanh\n", "  swish  "])
def test_a_catalog_name_with_blanks_around_it_is_the_catalog_entry(spec):
    assert activation_expr(spec) == activation_expr(spec.strip())
