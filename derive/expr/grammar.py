"""The grammar of the expression language: Python's own parser, a whitelist visitor.

The text, after the lexical pass of :mod:`derive.expr.tokens`, is read by
``ast.parse(..., mode="eval")``: parsing only, never compiling or
evaluating.  Python supplies precedence, ternaries (``a if c else b``),
attribute prefixes (``np.exp``) and chained comparisons (``0 < z < 6``).
This module then

1. bounds the work **structurally** (:func:`_measure`): at most
   :data:`MAX_NODES` syntax nodes, :data:`MAX_DEPTH` levels of nesting and
   :data:`MAX_BRANCHES` potential pieces (the product of the branch counts of
   nested ``max``/``min``/``abs``/``where``/..., see
   :class:`derive.expr.functions.Fn`), so that the same text is refused the
   same way on any machine, before sympy does any work;
2. finds the variable: any one free name (``x``, ``t``, ...) becomes ``z``;
   parameters and constants are never the variable; two unknown names are
   refused;
3. builds sympy objects with a visitor whose whitelist is a table of node
   types (:data:`_VISIT`); anything else is refused with its column.

``&`` and ``|`` join conditions only when both sides are bracketed
comparisons: Python reads ``z > 0 & z < 6`` as ``z > (0 & z) < 6``, and a
silent misparse would be a false verdict, so that spelling is refused with
the fix.
"""

from __future__ import annotations

import ast
import math
from typing import Any, Callable, Mapping

import sympy as sp

from derive.activations import z
from derive.expr.errors import ParseError, short
from derive.expr.functions import (
    CONDITION_NAMES,
    CONSTANTS,
    FUNCTIONS,
    KEYWORD_ALIASES,
    SPECIAL,
    lookup,
)
from derive.expr.bounds import dotted, function_name, strip_prefix
from derive.expr.tokens import Scanned, exact_number

__all__ = ["MAX_EXPONENT", "MAX_DIGITS", "MAX_PIECEWISE", "Parsed", "build"]

MAX_EXPONENT = 100
"""Largest numeric exponent (``z**100`` is fine, ``z**101`` is refused)."""
MAX_DIGITS = 1000
"""Exact constants may have about this many decimal digits."""
MAX_PIECEWISE = 32
"""Most (value, condition) pairs in one piecewise."""
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge, ast.Eq: sp.Eq, ast.NotEq: sp.Ne,
}
_REFUSED: dict[type, str] = {
    ast.Lambda: "lambdas are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.Subscript: "indexing is not allowed",
    ast.Starred: "'*' unpacking is not allowed",
    ast.NamedExpr: "assignment is not allowed",
    ast.Tuple: "a tuple is only allowed as a (value, condition) pair of piecewise",
}


class Parsed:
    """The result of :func:`parse`: the expression in ``z`` and the user's variable name."""

    __slots__ = ("expr", "variable")

    def __init__(self, expr: sp.Expr, variable: str) -> None:
        self.expr, self.variable = expr, variable


def _offset(node: ast.AST) -> int:
    return node.col_offset if isinstance(node, (ast.expr, ast.keyword)) else 0


def _end(node: ast.AST) -> int:
    end = node.end_col_offset if isinstance(node, ast.expr) else None
    return end if end is not None else _offset(node)


def _is_condition(x: Any) -> bool:
    return isinstance(x, sp.logic.boolalg.Boolean) and not isinstance(x, sp.Expr)


class _Parser:
    def __init__(self, scanned: Scanned, params: Mapping[str, sp.Expr], variable: str | None) -> None:
        self.sc = scanned
        self.params = params
        self.variable = variable

    # ------------------------------------------------------------ helpers
    def col(self, node: ast.AST) -> int:
        return self.sc.column(_offset(node))

    def fail(self, reason: str, node: ast.AST | int) -> ParseError:
        col = node if isinstance(node, int) else self.col(node)
        return ParseError(reason, self.sc.text, col)

    def value(self, x: Any, node: ast.AST, what: str = "") -> sp.Expr:
        if _is_condition(x):
            where = f" ({what})" if what else ""
            raise self.fail(f"a condition cannot be used as a number here{where}", node)
        return x

    def condition(self, x: Any, node: ast.AST) -> Any:
        if not _is_condition(x):
            raise self.fail("expected a condition such as z > 0", node)
        return x

    def check(self, out: Any, node: ast.AST | int) -> Any:
        """Refuse undefined, non-real or huge results of a sympy constructor."""
        if isinstance(out, sp.Expr):
            for part in (out, *out.args):
                if part in (sp.zoo, sp.nan, sp.oo, -sp.oo) or part.has(sp.zoo, sp.nan):
                    raise self.fail("the expression is undefined here (division by zero or log(0)?)", node)
                if not part.free_symbols and part.is_extended_real is False:
                    raise self.fail(f"the value {short(part)} is not real", node)
                if part.is_Pow and part.exp.is_Number and abs(part.exp) > MAX_EXPONENT:
                    raise self.fail(f"exponent {part.exp} is larger than {MAX_EXPONENT}", node)
            if _too_big(out):
                raise self.fail(f"a constant here has more than about {MAX_DIGITS} digits", node)
        return out

    def build(self, node: ast.AST | int, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            out = fn(*args, **kwargs)
        except (TypeError, ValueError, ArithmeticError, RecursionError, AttributeError) as exc:
            raise self.fail(f"cannot build this expression ({type(exc).__name__}: {short(exc)})", node) from None
        return self.check(out, node)

    # ------------------------------------------------------------ visitor
    def visit(self, node: ast.AST) -> Any:
        handler = _VISIT.get(type(node))
        if handler is None:
            reason = _REFUSED.get(type(node), f"{type(node).__name__} is not allowed in a formula")
            raise self.fail(reason, node)
        return handler(self, node)

    def v_expression(self, node: ast.Expression) -> Any:
        out = self.visit(node.body)
        if _is_condition(out):
            raise self.fail("this is a condition, not an activation; write it as where(condition, a, b) "
                            "or a if condition else b", node.body)
        return out

    def v_constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, bool):
            return sp.true if node.value else sp.false
        if isinstance(node.value, (int, float)):
            offset = node.col_offset
            token = self.sc.numbers.get(offset)
            if token is None:  # pragma: no cover - every literal is a NUMBER token
                raise self.fail("unexpected number", node)
            try:
                return exact_number(token)
            except ValueError as exc:
                raise self.fail(str(exc), node) from None
        if isinstance(node.value, complex):
            raise self.fail("complex numbers are not allowed", node)
        raise self.fail(f"{type(node.value).__name__} constants are not allowed", node)

    def v_name(self, node: ast.Name) -> Any:
        name = node.id
        if name == self.variable:
            return z
        if name in self.params:
            return self.params[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in CONDITION_NAMES:
            return sp.true
        if lookup(name):
            raise self.fail(f"{name!r} is a function; call it as {name}(...)", node)
        if name.startswith("_"):
            raise self.fail(f"unknown name {short(name)!r} (names starting with '_' are never allowed)", node)
        raise self.fail(f"unknown name {short(name)!r}: the variable is {self.variable!r} "
                        "(give other names a value with params=... / --param NAME=VALUE)", node)

    def v_attribute(self, node: ast.Attribute) -> Any:
        chain = dotted(node)
        bare = strip_prefix(chain) if chain else None
        if bare in CONSTANTS:
            return CONSTANTS[bare]
        if bare and lookup(bare):
            raise self.fail(f"{chain!r} is a function; call it as {chain}(...)", node)
        raise self.fail(_attribute_reason(chain), self._dot_column(node))

    def _dot_column(self, node: ast.AST) -> int:
        base = node
        while isinstance(base, ast.Attribute):
            base = base.value
        end = _end(base)
        return self.sc.column(end)

    def v_unary(self, node: ast.UnaryOp) -> Any:
        inner = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return self.build(node, sp.Not, self.condition(inner, node.operand))
        inner = self.value(inner, node.operand)
        if isinstance(node.op, ast.USub):
            return self.build(node, lambda a: -a, inner)
        if isinstance(node.op, ast.UAdd):
            return inner
        raise self.fail("use 'not' in conditions", node)  # pragma: no cover - '~' is refused by the scanner

    def v_binop(self, node: ast.BinOp) -> Any:
        op = type(node.op)
        if op in (ast.Add, ast.Sub):
            return self._chain(node, (ast.Add, ast.Sub))
        if op in (ast.Mult, ast.Div):
            return self._chain(node, (ast.Mult, ast.Div))
        if op is ast.Pow:
            return self._power(node)
        if op in (ast.BitAnd, ast.BitOr):
            return self._logic(node)
        names = {ast.FloorDiv: "'//'", ast.Mod: "'%'", ast.MatMult: "'@'", ast.LShift: "'<<'", ast.RShift: "'>>'",
                 ast.BitXor: "'^'"}
        raise self.fail(f"the operator {names.get(op, op.__name__)} is not allowed", self._op_column(node))

    def _op_column(self, node: ast.BinOp) -> int:
        """The user's column of the operator between the two operands."""
        start = _end(node.left)
        stop = node.right.col_offset
        seg = self.sc.source[start:stop]
        skip = len(seg) - len(seg.lstrip(" ()"))
        return self.sc.column(start + skip)

    def _chain(self, node: ast.BinOp, ops: tuple[type, type]) -> Any:
        """A left-deep chain of + and - (or * and /), built iteratively."""
        items: list[tuple[bool, ast.AST]] = []
        cur: ast.AST = node
        while isinstance(cur, ast.BinOp) and type(cur.op) in ops:
            items.append((type(cur.op) is ops[1], cur.right))
            cur = cur.left
        items.append((False, cur))
        items.reverse()
        if ops[0] is ast.Add:  # one flat sum: a long sum costs one sympy Add
            terms = []
            for negate, sub in items:
                val = self.value(self.visit(sub), sub)
                terms.append(self.build(sub, lambda a: -a, val) if negate else val)
            return self.build(node, sp.Add, *terms)
        out = self.value(self.visit(items[0][1]), items[0][1])
        for divide, sub in items[1:]:  # products step by step, so an error names its operator
            val = self.value(self.visit(sub), sub)
            col = self._div_column(sub)
            if divide:
                if val.is_zero:
                    raise self.fail("division by zero", col)
                out = self.build(col, lambda a, b: a / b, out, val)
            else:
                out = self.build(col, lambda a, b: a * b, out, val)
        return out

    def _div_column(self, right: ast.AST) -> int:
        k = right.col_offset - 1
        while k > 0 and self.sc.source[k] in " (":
            k -= 1
        return self.sc.column(k)

    def _power(self, node: ast.BinOp) -> Any:
        base = self.value(self.visit(node.left), node.left, "base of a power")
        exponent = self.value(self.visit(node.right), node.right, "exponent")
        col = self._op_column(node)
        if exponent.is_Number:
            if base.is_zero and exponent.is_negative:
                raise self.fail("0 to a negative power (division by zero)", col)
            if base.is_Rational and not base.is_zero:  # an exact number: bound its size
                if abs(_log10(base) * float(exponent)) > MAX_DIGITS:
                    raise self.fail(f"{short(base)}**{short(exponent)} has more than {MAX_DIGITS} digits", col)
            elif abs(exponent) > MAX_EXPONENT:
                raise self.fail(f"exponent {short(exponent)} is larger than {MAX_EXPONENT}", col)
        return self.build(col, sp.Pow, base, exponent)

    def _logic(self, node: ast.BinOp) -> Any:
        sym = "&" if isinstance(node.op, ast.BitAnd) else "|"
        left, right = self.visit(node.left), self.visit(node.right)
        if not (_is_condition(left) and _is_condition(right)):
            word = "and" if sym == "&" else "or"
            raise self.fail(f"'{sym}' joins conditions only when each side is bracketed: write (z > 0) {sym} "
                            f"(z < 6), or use '{word}'", self._op_column(node))
        return self.build(node, sp.And if sym == "&" else sp.Or, left, right)

    def v_boolop(self, node: ast.BoolOp) -> Any:
        parts = [self.condition(self.visit(v), v) for v in node.values]
        return self.build(node, sp.And if isinstance(node.op, ast.And) else sp.Or, *parts)

    def v_compare(self, node: ast.Compare) -> Any:
        left_node = node.left
        left = self.value(self.visit(left_node), left_node, "left of a comparison")
        rels = []
        for op, right_node in zip(node.ops, node.comparators):
            if type(op) not in _COMPARE:
                raise self.fail("only <, <=, >, >=, == and != compare numbers", right_node)
            right = self.value(self.visit(right_node), right_node, "right of a comparison")
            rels.append(self.build(node, _COMPARE[type(op)], left, right))
            left = right
        return rels[0] if len(rels) == 1 else self.build(node, sp.And, *rels)

    def v_ifexp(self, node: ast.IfExp) -> Any:
        cond = self.condition(self.visit(node.test), node.test)
        a = self.value(self.visit(node.body), node.body)
        b = self.value(self.visit(node.orelse), node.orelse)
        return self.build(node, _two_way, cond, a, b)

    def v_call(self, node: ast.Call) -> Any:
        spelled = function_name(node.func)
        name = lookup(spelled) if spelled else None
        if name is None:
            raise self.fail(self._not_callable(node.func, spelled), node)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.fail("'*' unpacking is not allowed", arg)
        for kw in node.keywords:
            if kw.arg is None:
                raise self.fail("'**' unpacking is not allowed", kw.value)
        if name == "where":
            return self._where(node)
        if name == "piecewise":
            return self._piecewise(node)
        return self._apply(node, name, spelled or name)

    def _not_callable(self, func: ast.AST, spelled: str | None) -> str:
        if isinstance(func, ast.Name):
            name = func.id
            if name == self.variable or name in self.params or name in CONSTANTS:
                return f"{name!r} is not a function: write {name}*(...) for a product"
            if name.startswith("_"):
                return f"unknown name {short(name)!r} (names starting with '_' are never allowed)"
            return f"unknown function {short(name)!r}; allowed: {', '.join(sorted({*FUNCTIONS, *SPECIAL}))}"
        chain = dotted(func)
        if chain is not None:
            if spelled is not None:
                return f"unknown function {short(chain)!r}"
            return _attribute_reason(chain)
        return "only named functions can be called (write * for a product)"

    def _where(self, node: ast.Call) -> Any:
        if len(node.args) != 3 or node.keywords:
            raise self.fail("where takes 3 arguments (condition, value_if_true, value_if_false), "
                            f"got {len(node.args) + len(node.keywords)}", node)
        c, a, b = node.args
        cond = self.condition(self.visit(c), c)
        va, vb = self.value(self.visit(a), a), self.value(self.visit(b), b)
        return self.build(node, _two_way, cond, va, vb)

    def _piecewise(self, node: ast.Call) -> Any:
        if node.keywords or not node.args:
            raise self.fail("piecewise takes (value, condition) pairs, e.g. piecewise((0, z < 0), (z, True))",
                            node)
        if len(node.args) > MAX_PIECEWISE:
            raise self.fail(f"piecewise takes at most {MAX_PIECEWISE} pairs", node.args[MAX_PIECEWISE])
        pairs = []
        for arg in node.args:
            if not isinstance(arg, ast.Tuple) or len(arg.elts) != 2:
                raise self.fail("expected a (value, condition) pair of piecewise", arg)
            v, c = arg.elts
            pairs.append((self.value(self.visit(v), v, "piecewise value"), self.condition(self.visit(c), c)))
        return self.build(node, lambda: sp.Piecewise(*pairs))

    def _apply(self, node: ast.Call, name: str, spelled: str) -> Any:
        fn = FUNCTIONS[name]
        npos = len(node.args)
        most = fn.hi + len(fn.positional_keywords)
        if not fn.lo <= npos <= max(fn.hi, most):
            want = str(fn.lo) if fn.lo == fn.hi else f"{fn.lo} to {fn.hi}"
            raise self.fail(f"{spelled} takes {want} argument{'s' if fn.hi > 1 else ''}, got {npos}", node)
        args = [self.value(self.visit(a), a, f"argument of {spelled}") for a in node.args]
        kwargs: dict[str, sp.Expr] = {}
        extra = args[fn.hi:]
        args = args[:fn.hi]
        for key, val in zip(fn.positional_keywords, extra):
            kwargs[key] = val
        aliases = KEYWORD_ALIASES.get(name, {})
        for kw in node.keywords:
            key = aliases.get(kw.arg, kw.arg)
            if key not in fn.keywords:
                accepted = ", ".join(fn.keywords) or "none"
                raise self.fail(f"{spelled} takes no keyword {kw.arg!r}; accepted: {accepted}", kw.value)
            if key in kwargs:
                raise self.fail(f"{spelled} got {kw.arg!r} twice", kw.value)
            val = self.value(self.visit(kw.value), kw.value, f"keyword {kw.arg}")
            if val.has(z):
                raise self.fail(f"the keyword {kw.arg} of {spelled} must be a constant, not depend on the variable",
                                kw.value)
            kwargs[key] = val
        return self.build(node, fn.build, *args, **kwargs)


_VISIT: dict[type, Callable[[_Parser, Any], Any]] = {
    ast.Expression: _Parser.v_expression,
    ast.Constant: _Parser.v_constant,
    ast.Name: _Parser.v_name,
    ast.Attribute: _Parser.v_attribute,
    ast.UnaryOp: _Parser.v_unary,
    ast.BinOp: _Parser.v_binop,
    ast.BoolOp: _Parser.v_boolop,
    ast.Compare: _Parser.v_compare,
    ast.IfExp: _Parser.v_ifexp,
    ast.Call: _Parser.v_call,
}
"""The whitelist: syntax node type -> builder.  Every other node is refused."""


def _two_way(cond: Any, a: sp.Expr, b: sp.Expr) -> sp.Expr:
    """``a if cond else b``; an else-branch that is itself piecewise joins the same Piecewise."""
    rest = b.args if isinstance(b, sp.Piecewise) else ((b, True),)
    return sp.Piecewise((a, cond), *rest)


def _attribute_reason(dotted: str | None) -> str:
    return ("attribute access ('.') is not allowed, except a module prefix such as np., math., torch. or F. "
            f"in front of a known function (got {short(dotted or '...')!r})")


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


def build(sc: Scanned, tree: ast.Expression, params: Mapping[str, sp.Expr], variable: str) -> Any:
    """The sympy expression for a parsed, measured tree (``variable`` becomes ``z``)."""
    return _Parser(sc, params, variable).visit(tree)
