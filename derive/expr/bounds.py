"""The structural bound of the expression language: work refused before sympy does any.

:func:`measure` walks Python's syntax tree once, iteratively (a long or deep
text cannot exhaust the stack), and refuses more than :data:`MAX_NODES`
nodes, nesting deeper than :data:`derive.expr.tokens.MAX_DEPTH`, or more than
:data:`MAX_BRANCHES` potential pieces: the product of the branch counts of
nested non-smooth calls (``max`` of k arguments: k; ``abs``: 2; ``where`` and
``a if c else b``: 2; see :class:`derive.expr.functions.Fn`).  Nested
``max``/``min`` are what made sympy run for minutes (it compares every pair
of arguments), and a sum of 40 ``abs`` folds into 2**40 pieces; both are
refused here in milliseconds.  The bound depends on the text alone, so the
same text is refused the same way on every machine.

Also finds the names in value position (:func:`free_names`: the variable
candidates) and bounds the size of the built sympy expression
(:func:`check_size`).
"""

from __future__ import annotations

import ast
from typing import Any, Mapping

import sympy as sp

from derive.expr.errors import ParseError
from derive.expr.functions import CONDITION_NAMES, CONSTANTS, FUNCTIONS, PREFIXES, lookup
from derive.expr.tokens import MAX_DEPTH, Scanned

__all__ = ["MAX_NODES", "MAX_BRANCHES", "MAX_EXPR_NODES", "measure", "free_names", "check_size",
           "dotted", "function_name", "strip_prefix"]

MAX_NODES = 4000
"""Most syntax nodes in one text."""
MAX_BRANCHES = 512
"""Most potential pieces: the product of the branch counts of nested non-smooth calls."""
MAX_EXPR_NODES = 20000
"""Largest built sympy expression, in tree nodes."""

def _offset(node: ast.AST) -> int:
    return node.col_offset if isinstance(node, (ast.expr, ast.keyword)) else 0


def dotted(node: ast.AST) -> str | None:
    """``np.exp`` -> "np.exp" for a chain of names and attributes, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def strip_prefix(chain: str) -> str | None:
    """The name after a known module prefix (leftmost-longest), or None."""
    for prefix in PREFIXES:  # longest first within each family
        if chain.startswith(prefix + ".") and "." not in chain[len(prefix) + 1:]:
            return chain[len(prefix) + 1:]
    return None


def function_name(node: ast.AST) -> str | None:
    """The spelling of a called function (``tanh``, ``np.tanh`` -> ``tanh``), or None."""
    if isinstance(node, ast.Name):
        return node.id
    chain = dotted(node)
    return strip_prefix(chain) if chain else None


def _branches(node: ast.Call, name: str | None) -> int:
    table = lookup(name) if name else None
    if table == "piecewise":
        return max(1, len(node.args))
    if table == "where":
        return 2
    if table is None:
        return 1
    fn = FUNCTIONS[table]
    return len(node.args) if table in ("max", "min") else fn.branches


_NESTING = (ast.Call, ast.UnaryOp, ast.IfExp)


def measure(tree: ast.Expression, sc: Scanned) -> tuple[list[ast.Name], int]:
    """Check the structural bounds; return the names in value position and the branch count.

    Iterative (no recursion), so a deep or long text cannot exhaust the stack.
    """
    names: list[ast.Name] = []
    count = 0
    # (node, depth); a post-order pass computes the branch product
    stack: list[tuple[ast.AST, int]] = [(tree.body, 0)]
    order: list[ast.AST] = []
    children: dict[int, list[ast.AST]] = {}
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ParseError(f"the formula has more than {MAX_NODES} parts; the limit keeps every check fast",
                             sc.text, sc.column(_offset(node)))
        nest = depth + (1 if isinstance(node, _NESTING) or (isinstance(node, ast.BinOp)
                                                              and isinstance(node.op, ast.Pow)) else 0)
        if nest > MAX_DEPTH:
            raise ParseError(f"nesting is deeper than {MAX_DEPTH} levels", sc.text,
                             sc.column(_offset(node)))
        order.append(node)
        if isinstance(node, ast.Name):
            names.append(node)
        if isinstance(node, ast.Call):
            kids = [*node.args, *(k.value for k in node.keywords)]  # the callee is a name, not a value
        elif isinstance(node, ast.Attribute):
            kids = []  # a module prefix, not a value
        else:
            kids = [c for c in ast.iter_child_nodes(node) if not isinstance(c, (ast.expr_context, ast.operator,
                                                                                 ast.boolop, ast.cmpop,
                                                                                 ast.unaryop))]
        children[id(node)] = kids
        stack.extend((c, nest) for c in kids)
    branches: dict[int, int] = {}
    cap = MAX_BRANCHES + 1
    for node in reversed(order):  # children before parents
        product = 1
        for c in children[id(node)]:
            product = min(cap, product * branches[id(c)])
        if isinstance(node, ast.Call):
            product = min(cap, product * _branches(node, function_name(node.func)))
        elif isinstance(node, ast.IfExp):
            product = min(cap, product * 2)
        branches[id(node)] = product
    return names, branches[id(tree.body)]


def free_names(names: list[ast.Name], params: Mapping[str, Any]) -> dict[str, ast.Name]:
    """The names that are not parameters, constants, condition words or functions (first use of each)."""
    out: dict[str, ast.Name] = {}
    for node in sorted(names, key=lambda n: n.col_offset):
        name = node.id
        if name in params or name in CONSTANTS or name in CONDITION_NAMES or lookup(name) or name.startswith("_"):
            continue
        out.setdefault(name, node)
    return out




def check_size(out: sp.Expr, text: str) -> None:
    """Refuse a built expression of more than :data:`MAX_EXPR_NODES` tree nodes."""
    size = 0
    for _ in sp.preorder_traversal(out):
        size += 1
        if size > MAX_EXPR_NODES:
            raise ParseError(f"the built expression has more than {MAX_EXPR_NODES} nodes", text, 1)
