"""A safe parser for activation functions written as text.

The text is read by a small tokenizer and a recursive-descent parser that
build sympy objects directly.  Nothing is ever passed to ``eval``, ``exec``,
``sympify`` or ``parse_expr``: a name is either ``z``, a constant, a
parameter given by the caller, or one of the whitelisted functions below, and
anything else is a :class:`ParseError` that names the column.

Grammar (``**`` and ``^`` are both powers and associate to the right)::

    condition := conj ("or" conj)*
    conj      := neg ("and" neg)*
    neg       := "not" neg | sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)*
    sum       := term (("+" | "-") term)*
    term      := unary (("*" | "/") unary)*
    unary     := ("+" | "-") unary | power
    power     := atom (("**" | "^") unary)?
    atom      := NUMBER | NAME | NAME "(" arguments ")" | "(" condition ")"

Functions: ``exp log sqrt tanh sinh cosh erf abs sign max min sigmoid
softplus``, ``where(condition, value_if_true, value_if_false)`` and
``piecewise((value, condition), ..., (value, True))``.  Constants: ``pi``,
``e``.  Conditions only appear inside ``where`` and ``piecewise``.

Limits keep every step cheap: at most :data:`MAX_LENGTH` characters,
:data:`MAX_DEPTH` levels of nesting, numeric exponents up to
:data:`MAX_EXPONENT` in size, and exact constants up to about
:data:`MAX_DIGITS` decimal digits (so ``9**9**9**9`` is refused, not
computed).

Example:
    >>> parse_activation("z * sigmoid(beta * z)", params={"beta": 2})
    z*sigmoid(2*z)
    >>> parse_activation("where(z > 0, z, 0.1 * z)")
    Piecewise((z, z > 0), (z/10, True))
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Mapping

import sympy as sp

from derive.activations import sigmoid, softplus, z
from numeric.errors import InputError

__all__ = [
    "ParseError",
    "parse_activation",
    "parse_number",
    "FUNCTIONS",
    "CONSTANTS",
    "MAX_LENGTH",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_DIGITS",
]

MAX_LENGTH = 2000
"""Longest accepted text, in characters."""
MAX_DEPTH = 40
"""Deepest nesting of parentheses, calls, signs and powers."""
MAX_EXPONENT = 100
"""Largest numeric exponent (``z**100`` is fine, ``z**101`` is refused)."""
MAX_DIGITS = 1000
"""Exact constants may have about this many decimal digits."""


class ParseError(InputError):
    """The text is not a valid activation; ``column`` (1-based) says where.

    Attributes:
        reason: what is wrong, e.g. ``"unknown name 'foo'"``.
        text: the text that was parsed.
        column: 1-based column of the offending character.
    """

    def __init__(self, reason: str, text: str, column: int) -> None:
        self.reason, self.text, self.column = reason, text, column
        super().__init__(f"{reason} at column {column}: {_excerpt(text, column)}")


def _excerpt(text: str, column: int, width: int = 60) -> str:
    """The text (or a window of it around ``column``) on one line, quoted."""
    flat = text.replace("\n", " ").replace("\r", " ").replace("\t", " ")
    if len(flat) <= width:
        return repr(flat)
    start = max(0, min(column - 1 - width // 2, len(flat) - width))
    window = flat[start:start + width]
    return ("..." if start > 0 else "") + repr(window) + ("..." if start + width < len(flat) else "")


# ---------------------------------------------------------------- tokens
@dataclass(frozen=True)
class _Token:
    kind: str  # NUM NAME OP END ERR
    text: str
    column: int


_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = ("**", "<=", ">=", "==", "!=", "+", "-", "*", "/", "^", "(", ")", ",", "<", ">")
_BAD_CHARS = {
    ".": "attribute access ('.') is not allowed",
    "'": "strings are not allowed",
    '"': "strings are not allowed",
    "[": "lists, indexing and comprehensions are not allowed",
    "]": "lists, indexing and comprehensions are not allowed",
    "{": "dicts and sets are not allowed",
    "}": "dicts and sets are not allowed",
    ";": "statements are not allowed",
    ":": "lambdas, slices and annotations are not allowed",
    "=": "assignment is not allowed (use == in a condition)",
    "@": "decorators and matrix products are not allowed",
    "`": "backquotes are not allowed",
    "\\": "backslashes are not allowed",
    "#": "comments are not allowed",
    "%": "'%' is not allowed",
    "&": "use 'and' in conditions",
    "|": "use 'or' in conditions",
    "~": "use 'not' in conditions",
}


def _tokenize(text: str) -> list[_Token]:
    """Split ``text`` into tokens; the first bad character becomes an ERR token."""
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
            continue
        col = i + 1
        m = _NUMBER.match(text, i)
        if m:
            tokens.append(_Token("NUM", m.group(), col))
            i = m.end()
            continue
        m = _NAME.match(text, i)
        if m:
            tokens.append(_Token("NAME", m.group(), col))
            i = m.end()
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if op is not None:
            tokens.append(_Token("OP", op, col))
            i += len(op)
            continue
        reason = _BAD_CHARS.get(ch, f"unexpected character {ch!r}")
        tokens.append(_Token("ERR", reason, col))
        return tokens
    tokens.append(_Token("END", "", n + 1))
    return tokens


# ---------------------------------------------------------------- numbers
def _number(token: str) -> sp.Rational:
    """An exact rational for a decimal literal (``"1e-3"`` -> 1/1000)."""
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
    strings such as ``"0.01"``, ``"-1e-3"`` or ``"1/3"`` (parsed by the same
    safe tokenizer as activations; never ``eval``).

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
            if not _NUMBER.fullmatch(num.strip()) or (slash and not _NUMBER.fullmatch(den.strip())):
                raise ValueError("not a decimal number")
            denominator = _number(den.strip()) if slash else sp.Integer(1)
            if denominator == 0:
                raise ValueError("division by zero")
            out = sign * _number(num.strip()) / denominator
        except (ValueError, ZeroDivisionError):
            raise InputError(f"{name} must be a number such as 0.1 or 1e-3, got {value!r}") from None
        return sp.Rational(out)
    if isinstance(value, int):
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


def _too_big(x: sp.Expr) -> bool:
    """True when an exact constant (or the coefficient of a sum/product) is huge."""
    limit = int(MAX_DIGITS * 3.33)
    coeff = x
    if x.is_Add:
        coeff = x.as_coeff_Add()[0]
    elif x.is_Mul:
        coeff = x.as_coeff_Mul()[0]
    if isinstance(coeff, sp.Rational):
        return coeff.p.bit_length() > limit or coeff.q.bit_length() > limit
    return False


def _log10(x: sp.Rational) -> float:
    return math.log10(abs(x.p)) - math.log10(x.q)


# ---------------------------------------------------------------- functions
def _one(fn: Callable[[sp.Expr], sp.Expr]) -> tuple[int, int, Callable[..., sp.Expr]]:
    return 1, 1, fn


FUNCTIONS: dict[str, tuple[int, int, Callable[..., sp.Expr]]] = {
    "exp": _one(sp.exp),
    "log": _one(sp.log),
    "sqrt": _one(sp.sqrt),
    "tanh": _one(sp.tanh),
    "sinh": _one(sp.sinh),
    "cosh": _one(sp.cosh),
    "erf": _one(sp.erf),
    "abs": _one(sp.Abs),
    "sign": _one(sp.sign),
    "sigmoid": _one(sigmoid),
    "softplus": _one(softplus),
    "max": (2, 16, sp.Max),
    "min": (2, 16, sp.Min),
}
"""name -> (fewest arguments, most arguments, sympy builder).  ``where`` and
``piecewise`` are handled by the parser itself."""

CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "e": sp.E}

_KEYWORDS = {"and", "or", "not", "True", "true", "otherwise"}
_SPECIAL = {"where", "piecewise"}
_FORBIDDEN_HINTS = {
    "lambda": "lambdas are not allowed",
    "for": "comprehensions are not allowed",
    "in": "comprehensions are not allowed",
    "if": "use where(condition, a, b) instead of 'if'",
    "else": "use where(condition, a, b) instead of 'else'",
    "import": "imports are not allowed",
}
_COMPARE = {"<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge, "==": sp.Eq, "!=": sp.Ne}


def _is_condition(x: Any) -> bool:
    return isinstance(x, sp.logic.boolalg.Boolean) and not isinstance(x, sp.Expr)


# ---------------------------------------------------------------- parser
class _Parser:
    def __init__(self, text: str, params: Mapping[str, sp.Expr]) -> None:
        self.text = text
        self.params = params
        self.tokens = _tokenize(text)
        self.pos = 0
        self.depth = 0

    # -- helpers
    @property
    def tok(self) -> _Token:
        return self.tokens[self.pos]

    def fail(self, reason: str, column: int | None = None) -> ParseError:
        return ParseError(reason, self.text, self.tok.column if column is None else column)

    def check_token(self) -> None:
        if self.tok.kind == "ERR":
            raise self.fail(self.tok.text)

    def at(self, *ops: str) -> bool:
        self.check_token()
        return self.tok.kind == "OP" and self.tok.text in ops

    def at_word(self, word: str) -> bool:
        self.check_token()
        return self.tok.kind == "NAME" and self.tok.text == word

    def advance(self) -> _Token:
        tok = self.tok
        self.pos += 1
        return tok

    def expect(self, op: str, context: str) -> _Token:
        if not self.at(op):
            raise self.fail(f"expected {op!r} {context}, found {self.describe()}")
        return self.advance()

    def describe(self) -> str:
        return "the end of the text" if self.tok.kind == "END" else repr(self.tok.text)

    def enter(self, column: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nesting is deeper than {MAX_DEPTH} levels", column)

    def value(self, x: Any, column: int, what: str = "") -> sp.Expr:
        if _is_condition(x):
            where = f" ({what})" if what else ""
            raise self.fail(f"a condition cannot be used as a number here{where}", column)
        return x

    def condition(self, x: Any, column: int) -> Any:
        if not _is_condition(x):
            raise self.fail("expected a condition such as z > 0", column)
        return x

    def build(self, column: int, fn: Callable[..., Any], *args: Any) -> Any:
        """Call a sympy constructor, then refuse undefined or huge results."""
        try:
            out = fn(*args)
        except (TypeError, ValueError, ArithmeticError, RecursionError) as exc:
            raise self.fail(f"cannot build this expression ({type(exc).__name__}: {exc})", column) from None
        if isinstance(out, sp.Expr):
            for node in (out, *out.args):
                if node in (sp.zoo, sp.nan, sp.oo, -sp.oo) or node.has(sp.zoo, sp.nan):
                    raise self.fail("the expression is undefined here (division by zero or log(0)?)", column)
                if not node.free_symbols and node.is_extended_real is False:
                    raise self.fail(f"the value {_short(node)} is not real", column)
                if node.is_Pow and node.exp.is_Number and abs(node.exp) > MAX_EXPONENT:
                    raise self.fail(f"exponent {node.exp} is larger than {MAX_EXPONENT}", column)
            if _too_big(out):
                raise self.fail(f"a constant here has more than about {MAX_DIGITS} digits", column)
        return out

    # -- grammar
    def parse(self) -> sp.Expr:
        if self.tok.kind == "END":
            raise self.fail("the text is empty; write an expression in z such as tanh(z)")
        col = self.tok.column
        out = self.parse_or()
        if self.tok.kind != "END":
            self.check_token()
            if self.tok.kind == "NAME" and self.tok.text in _FORBIDDEN_HINTS:
                raise self.fail(_FORBIDDEN_HINTS[self.tok.text])
            raise self.fail(f"unexpected {self.describe()} (missing operator or unbalanced ')'?)")
        if _is_condition(out):
            raise self.fail("this is a condition, not an activation; wrap it as where(condition, a, b)", col)
        return out

    def parse_or(self) -> Any:
        col = self.tok.column
        left = self.parse_and()
        while self.at_word("or"):
            op = self.advance()
            right = self.parse_and()
            left = self.build(op.column, sp.Or, self.condition(left, col), self.condition(right, op.column + 3))
        return left

    def parse_and(self) -> Any:
        col = self.tok.column
        left = self.parse_not()
        while self.at_word("and"):
            op = self.advance()
            rcol = self.tok.column
            right = self.parse_not()
            left = self.build(op.column, sp.And, self.condition(left, col), self.condition(right, rcol))
        return left

    def parse_not(self) -> Any:
        if self.at_word("not"):
            op = self.advance()
            self.enter(op.column)
            col = self.tok.column
            inner = self.parse_not()
            self.depth -= 1
            return self.build(op.column, sp.Not, self.condition(inner, col))
        return self.parse_compare()

    def parse_compare(self) -> Any:
        col = self.tok.column
        left = self.parse_sum()
        out = None
        while self.at(*_COMPARE):
            op = self.advance()
            rcol = self.tok.column
            right = self.value(self.parse_sum(), rcol, "right of a comparison")
            rel = self.build(op.column, _COMPARE[op.text], self.value(left, col, "left of a comparison"), right)
            out = rel if out is None else self.build(op.column, sp.And, out, rel)
            left, col = right, rcol
        return left if out is None else out

    def parse_sum(self) -> Any:
        col = self.tok.column
        left = self.parse_term()
        while self.at("+", "-"):
            op = self.advance()
            rcol = self.tok.column
            right = self.value(self.parse_term(), rcol)
            left = self.value(left, col)
            left = self.build(op.column, (lambda a, b: a + b) if op.text == "+" else (lambda a, b: a - b), left, right)
        return left

    def parse_term(self) -> Any:
        col = self.tok.column
        left = self.parse_unary()
        while self.at("*", "/"):
            op = self.advance()
            rcol = self.tok.column
            right = self.value(self.parse_unary(), rcol)
            left = self.value(left, col)
            if op.text == "/":
                if right.is_zero:
                    raise self.fail("division by zero", op.column)
                left = self.build(op.column, lambda a, b: a / b, left, right)
            else:
                left = self.build(op.column, lambda a, b: a * b, left, right)
        return left

    def parse_unary(self) -> Any:
        if self.at("+", "-"):
            op = self.advance()
            self.enter(op.column)
            col = self.tok.column
            inner = self.value(self.parse_unary(), col)
            self.depth -= 1
            return inner if op.text == "+" else self.build(op.column, lambda a: -a, inner)
        return self.parse_power()

    def parse_power(self) -> Any:
        col = self.tok.column
        base = self.parse_atom()
        if not self.at("**", "^"):
            return base
        op = self.advance()
        self.enter(op.column)
        ecol = self.tok.column
        exponent = self.value(self.parse_unary(), ecol, "exponent")
        self.depth -= 1
        base = self.value(base, col, "base of a power")
        if exponent.is_Number:
            if base.is_zero and exponent.is_negative:
                raise self.fail("0 to a negative power (division by zero)", op.column)
            if base.is_Rational and not base.is_zero:  # an exact number: bound its size
                if abs(_log10(base) * float(exponent)) > MAX_DIGITS:
                    raise self.fail(f"{_short(base)}**{_short(exponent)} has more than {MAX_DIGITS} digits",
                                    op.column)
            elif abs(exponent) > MAX_EXPONENT:
                raise self.fail(f"exponent {_short(exponent)} is larger than {MAX_EXPONENT}", op.column)
        return self.build(op.column, sp.Pow, base, exponent)

    def parse_atom(self) -> Any:
        self.check_token()
        tok = self.tok
        if tok.kind == "NUM":
            self.advance()
            try:
                return _number(tok.text)
            except ValueError as exc:
                raise self.fail(str(exc), tok.column) from None
        if tok.kind == "OP" and tok.text == "(":
            self.advance()
            self.enter(tok.column)
            inner = self.parse_or()
            self.expect(")", f"to close the '(' at column {tok.column}")
            self.depth -= 1
            return inner
        if tok.kind == "NAME":
            self.advance()
            return self.parse_name(tok)
        if tok.kind == "END":
            raise self.fail("the text ends too early (an operand is missing)")
        raise self.fail(f"unexpected {tok.text!r} (an operand is missing)")

    def parse_name(self, tok: _Token) -> Any:
        name, col = tok.text, tok.column
        is_call = self.tok.kind == "OP" and self.tok.text == "("  # a lexical error after it comes later
        if name == "z" and not is_call:
            return z
        if name in ("True", "true", "otherwise") and not is_call:
            return sp.true
        if name in CONSTANTS and not is_call:
            return CONSTANTS[name]
        if name in self.params and not is_call:
            return self.params[name]
        if name in FUNCTIONS or name in _SPECIAL:
            if not is_call:
                raise self.fail(f"{name!r} is a function; call it as {name}(...)", col)
            return self.parse_call(name, col)
        if name.startswith("_"):
            raise self.fail(f"unknown name {_short(name)!r} (names starting with '_' are never allowed)", col)
        if name in _FORBIDDEN_HINTS:
            raise self.fail(_FORBIDDEN_HINTS[name], col)
        if is_call:
            raise self.fail(f"unknown function {_short(name)!r}; allowed: {', '.join([*FUNCTIONS, *_SPECIAL])}",
                            col)
        known = ["z", *CONSTANTS, *sorted(self.params)]
        raise self.fail(f"unknown name {_short(name)!r}; allowed names: {', '.join(known)} "
                        "(give parameters with params=... / --param NAME=VALUE)", col)

    def parse_call(self, name: str, col: int) -> Any:
        self.expect("(", f"after {name}")
        self.enter(col)
        if name == "piecewise":
            out = self.parse_piecewise(col)
        else:
            args: list[tuple[Any, int]] = []
            if not self.at(")"):
                while True:
                    acol = self.tok.column
                    args.append((self.parse_or(), acol))
                    if not self.at(","):
                        break
                    self.advance()
            self.expect(")", f"to close {name}( at column {col}")
            out = self.apply(name, col, args)
        self.depth -= 1
        return out

    def apply(self, name: str, col: int, args: list[tuple[Any, int]]) -> Any:
        if name == "where":
            if len(args) != 3:
                raise self.fail(f"where takes 3 arguments (condition, value_if_true, value_if_false), got {len(args)}", col)
            (c, ccol), (a, acol), (b, bcol) = args
            return self.build(col, lambda *p: sp.Piecewise(*p), (self.value(a, acol), self.condition(c, ccol)),
                              (self.value(b, bcol), sp.true))
        lo, hi, fn = FUNCTIONS[name]
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise self.fail(f"{name} takes {want} argument{'s' if hi > 1 else ''}, got {len(args)}", col)
        return self.build(col, fn, *(self.value(a, acol, f"argument of {name}") for a, acol in args))

    def parse_piecewise(self, col: int) -> Any:
        pairs = []
        while True:
            pcol = self.tok.column
            self.expect("(", "to start a (value, condition) pair of piecewise")
            vcol = self.tok.column
            val = self.value(self.parse_or(), vcol, "piecewise value")
            self.expect(",", "between the value and the condition of a piecewise pair")
            ccol = self.tok.column
            cond = self.condition(self.parse_or(), ccol)
            self.expect(")", f"to close the piecewise pair at column {pcol}")
            pairs.append((val, cond))
            if not self.at(","):
                break
            self.advance()
            if len(pairs) >= 32:
                raise self.fail("piecewise takes at most 32 pairs")
        self.expect(")", f"to close piecewise( at column {col}")
        return self.build(col, lambda *p: sp.Piecewise(*p), *pairs)


def _short(x: Any) -> str:
    s = str(x)
    return s if len(s) <= 20 else s[:17] + "..."


def _check_params(params: Mapping[str, Any] | None) -> dict[str, sp.Expr]:
    out: dict[str, sp.Expr] = {}
    for key, val in (params or {}).items():
        if not isinstance(key, str) or not _NAME.fullmatch(key) or key.startswith("_"):
            raise InputError(f"parameter names are identifiers such as alpha, got {key!r}")
        if key == "z" or key in CONSTANTS or key in FUNCTIONS or key in _SPECIAL or key in _KEYWORDS:
            raise InputError(f"{key!r} is reserved and cannot be a parameter name")
        out[key] = parse_number(val, name=f"parameter {key}")
    return out


def parse_activation(text: str, params: Mapping[str, Any] | None = None) -> sp.Expr:
    """Parse an activation written as text into a sympy expression in ``z``.

    Args:
        text: e.g. ``"z * tanh(softplus(z))"`` or
            ``"where(z > 0, z, alpha * (exp(z) - 1))"``.
        params: values of the named parameters used in ``text``, e.g.
            ``{"alpha": 0.1}`` (numbers or numeric strings; kept exact).

    Returns:
        The expression, in :data:`derive.activations.z` (a real symbol).

    Raises:
        ParseError: the text is not in the grammar (see the module doc); the
            message names the column.
        InputError: a parameter name or value is unusable.
        TypeError: ``text`` is not a string.

    Example:
        >>> parse_activation("log(1 + exp(z))")
        log(exp(z) + 1)
        >>> parse_activation("__import__('os')")
        Traceback (most recent call last):
        ...
        derive.expr.parser.ParseError: unknown name '__import__' (names starting with '_' are never allowed) at column 1: "__import__('os')"
    """
    if not isinstance(text, str):
        raise TypeError(f"the activation text must be a str, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the text is {len(text)} characters long; the limit is {MAX_LENGTH}",
                         text, MAX_LENGTH + 1)
    return _Parser(text, _check_params(params)).parse()
