"""The lexical pass of the expression language, before Python's ``ast.parse`` sees the text.

:func:`scan` walks the text once, token by token, and

* refuses characters that never belong in a formula (strings, brackets,
  comments, statements, non-ASCII) with a hint, and Python keywords that
  introduce code (``lambda``, ``import``, ``for``, ...);
* refuses nesting deeper than :data:`MAX_DEPTH` (parentheses, runs of signs)
  before Python's parser could recurse on it;
* refuses likely slips with the fix: implicit multiplication (``2z`` ->
  ``2*z``) and two operands without an operator between them;
* rewrites ``^`` to ``**`` (Python would read ``z^2+1`` as ``z ^ (2+1)``),
  keeping a map from the rewritten text back to the user's columns, and
  remembers the exact text of every number literal (so ``0.1`` becomes 1/10
  exactly, never the float).

Also owns :func:`parse_number` (bounded exact numbers from text or objects).
"""

from __future__ import annotations

import keyword
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import sympy as sp

from derive.expr.errors import ParseError
from numeric.errors import InputError

__all__ = ["MAX_LENGTH", "MAX_DEPTH", "Scanned", "scan", "parse_number", "exact_number"]

MAX_LENGTH = 2000
"""Longest accepted text, in characters."""
MAX_DEPTH = 40
"""Deepest nesting of parentheses, calls, signs and powers."""

NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = ("**", "<=", ">=", "==", "!=", "+", "-", "*", "/", "^", "(", ")", ",", "<", ">", ".", "=",
              "&", "|")
_BAD_CHARS = {
    "'": "strings are not allowed",
    '"': "strings are not allowed",
    "[": "lists, indexing and comprehensions are not allowed",
    "]": "lists, indexing and comprehensions are not allowed",
    "{": "dicts and sets are not allowed",
    "}": "dicts and sets are not allowed",
    ";": "statements are not allowed",
    ":": "lambdas, slices and annotations are not allowed",
    "@": "decorators and matrix products are not allowed",
    "`": "backquotes are not allowed",
    "\\": "backslashes are not allowed",
    "#": "comments are not allowed",
    "%": "'%' is not allowed",
    "~": "use 'not' in conditions",
    "!": "use 'not' in conditions ('!=' means not equal)",
    "$": "'$' is not allowed",
    "?": "'?' is not allowed; write a if condition else b, or where(condition, a, b)",
}
_KEYWORD_HINTS = {
    "lambda": "lambdas are not allowed",
    "import": "imports are not allowed",
    "from": "imports are not allowed",
    "for": "comprehensions are not allowed",
    "in": "membership tests and comprehensions are not allowed",
    "is": "'is' is not allowed; use == in a condition",
    "None": "None is not a number",
}
_OPERAND_WORDS = {"True", "False"}  # keywords that are operands
_JOIN_WORDS = {"and", "or", "not", "if", "else"}


def _keyword_hint(word: str) -> str | None:
    if word in _KEYWORD_HINTS:
        return _KEYWORD_HINTS[word]
    if keyword.iskeyword(word) and word not in _JOIN_WORDS and word not in _OPERAND_WORDS:
        return "statements are not allowed"
    return None


@dataclass
class Scanned:
    """The text as handed to ``ast.parse``, and how to get back to the user's text.

    Attributes:
        text: the user's text.
        source: the rewritten text (``^`` -> ``**``; newlines and tabs -> spaces,
            leading ones dropped).
        columns: ``columns[i]`` is the user's 1-based column of ``source[i]``
            (one extra entry for the end of the text).
        numbers: source offset -> the exact text of the number literal starting there.
        unclosed: the columns of the '(' that are never closed.
        last: the last token.
    """

    text: str
    source: str = ""
    columns: list[int] = field(default_factory=list)
    numbers: dict[int, str] = field(default_factory=dict)
    unclosed: list[int] = field(default_factory=list)
    last: str = ""

    def column(self, offset: int) -> int:
        """The user's column of a 0-based offset in :attr:`source`."""
        return self.columns[max(0, min(offset, len(self.columns) - 1))]

    def fail(self, reason: str, offset: int) -> ParseError:
        return ParseError(reason, self.text, self.column(offset))


def _kind(tok: str) -> str:
    """operand (a number, a name or ')') / open ('(') / other, for the adjacency checks."""
    if NUMBER.fullmatch(tok):
        return "number"
    if NAME.fullmatch(tok):
        return "word" if tok in _JOIN_WORDS else "name"
    return tok


def scan(text: str) -> Scanned:
    """Check the text lexically and rewrite it for ``ast.parse``.

    Raises:
        ParseError: a character, keyword, nesting or slip that the language
            refuses (the message names the column and, for slips, the fix).

    Example:
        >>> scan("z^2 + 1").source
        'z**2 + 1'
    """
    out = Scanned(text)
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the text is {len(text)} characters long; the limit is {MAX_LENGTH}",
                         text, MAX_LENGTH + 1)
    src: list[str] = []
    cols: list[int] = []
    depth = 0
    signs = 0  # current run of unary-looking signs
    prev = ""  # previous token, for the adjacency checks
    prev_col = 0
    i, n = 0, len(text)

    def emit(chunk: str, col: int) -> None:
        src.append(chunk)
        cols.extend([col] * len(chunk))

    while i < n:
        ch = text[i]
        col = i + 1
        if ch in " \t\r\n\f\v":
            if src:  # leading blanks are dropped (ast.parse would call them an indent)
                emit(" ", col)
            i += 1
            continue
        if not ch.isascii() or not ch.isprintable():
            raise ParseError(f"unexpected character {ch!r} (write formulas in ASCII)", text, col)
        m = NUMBER.match(text, i)
        tok = m.group() if m else None
        if tok is None:
            m = NAME.match(text, i)
            tok = m.group() if m else None
        if tok is None:
            tok = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if tok is None:
            raise ParseError(_BAD_CHARS.get(ch, f"unexpected character {ch!r}"), text, col)
        kind = _kind(tok)
        if kind == "name" and tok.startswith("_"):
            raise ParseError(f"unknown name {tok[:20]!r} (names starting with '_' are never allowed)", text, col)
        if kind == "name":
            hint = _keyword_hint(tok)
            if hint:
                raise ParseError(hint, text, col)
        pk = _kind(prev) if prev else ""
        if pk == "number" and kind in ("name", "(") and prev_col + len(prev) == col:
            fix = f"{prev}*{tok}" if kind == "name" else f"{prev}*(...)"
            raise ParseError(f"implicit multiplication is not supported: write {fix}", text, col)
        if pk in ("number", "name", ")") and kind in ("number", "name") and prev != ".":
            raise ParseError(f"unexpected {tok!r}: an operator is missing before it (write * for a product)",
                             text, col)
        if pk == "number" and kind == "(":
            raise ParseError(f"unexpected '(' after the number {prev}: write {prev}*(...) for a product",
                             text, col)
        if pk == ")" and kind == "(":
            raise ParseError("unexpected '(' after ')': write )*( for a product", text, col)
        if tok == "(":
            out.unclosed.append(col)
            depth += 1
            if depth > MAX_DEPTH:
                raise ParseError(f"nesting is deeper than {MAX_DEPTH} levels", text, col)
        elif tok == ")":
            depth = max(0, depth - 1)
            if out.unclosed:
                out.unclosed.pop()
        if tok in ("+", "-") and pk not in ("number", "name", ")"):
            signs += 1
            if signs > MAX_DEPTH:
                raise ParseError(f"nesting is deeper than {MAX_DEPTH} levels", text, col)
        elif tok != "not":
            signs = 0
        if kind == "number":
            out.numbers[len(cols)] = tok
        emit("**" if tok == "^" else tok, col)
        prev, prev_col = tok, col
        i += len(tok)
    cols.append(n + 1)
    out.last = prev
    out.source, out.columns = "".join(src), cols
    if not out.source.strip():
        raise ParseError("the text is empty; write an expression in z such as tanh(z)", text, 1)
    return out


# ---------------------------------------------------------------- numbers
def exact_number(token: str) -> sp.Rational:
    """An exact rational for a decimal literal (``"1e-3"`` -> 1/1000).

    Raises:
        ValueError: more than 100 digits, or an exponent beyond 400.
    """
    mantissa, _, exponent = token.lower().partition("e")
    if len(mantissa) > 100:
        raise ValueError(f"number literal {token[:20]}... has more than 100 digits")
    if exponent and abs(int(exponent)) > 400:
        raise ValueError(f"number {token} is out of range (exponent limit 400)")
    frac = Fraction(token)
    return sp.Rational(frac.numerator, frac.denominator)


def parse_number(value: Any, *, name: str = "value") -> sp.Rational:
    """A finite real number as an exact sympy Rational.

    Accepts int, float, :class:`fractions.Fraction`, sympy numbers, and
    strings such as ``"0.01"``, ``"-1e-3"`` or ``"1/3"`` (read by a regular
    expression; never ``eval``).

    Raises:
        InputError: not a finite real number.

    Example:
        >>> parse_number("0.01"), parse_number(-2.5), parse_number("1/3")
        (1/100, -5/2, 1/3)
    """
    if isinstance(value, bool):
        raise InputError(f"{name} must be a number, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 200:
            raise InputError(f"{name} must be a number, got {value!r}")
        try:
            sign, body = (-1, text[1:]) if text[0] == "-" else (1, text.lstrip("+"))
            num, slash, den = body.partition("/")
            if not NUMBER.fullmatch(num.strip()) or (slash and not NUMBER.fullmatch(den.strip())):
                raise ValueError("not a decimal number")
            denominator = exact_number(den.strip()) if slash else sp.Integer(1)
            if denominator == 0:
                raise ValueError("division by zero")
            out = sign * exact_number(num.strip()) / denominator
        except (ValueError, ZeroDivisionError):
            raise InputError(f"{name} must be a number such as 0.1 or 1e-3, got {value!r}") from None
        return sp.Rational(out)
    if isinstance(value, int):
        if value.bit_length() > 1400:
            raise InputError(f"{name} has more than about 400 digits")
        return sp.Integer(value)
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{name} must be finite, got {value!r}")
        return sp.Rational(repr(value))
    if isinstance(value, sp.Basic) and value.is_Number:
        if isinstance(value, sp.Float):
            return parse_number(float(value), name=name)
        if value.is_Rational:
            return value
        raise InputError(f"{name} must be finite, got {value}")
    if isinstance(value, sp.Basic) and value.is_number and value.is_real and value.is_finite:
        return value  # e.g. sqrt(2) or pi given as a sympy object
    raise InputError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
