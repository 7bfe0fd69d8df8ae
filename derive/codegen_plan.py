"""The plan of the generated gradient code: which steps run, and in which fused pass.

:func:`plan` reads the derived forward and backward steps of
:mod:`derive.chain` and translates each right-hand side into its leading
matrix products (``numpy.matmul`` or a column softmax) and an entry-wise
sympy expression of what remains; :func:`schedule` groups the steps into
passes: a product opens a pass, and an elementwise step or a row sum joins
the pass that made its last input when the shapes agree.  The source is
written by :mod:`derive.codegen`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import sympy as sp
from sympy.matrices.expressions import (
    HadamardProduct,
    MatAdd,
    MatMul,
    MatrixExpr,
    MatrixSymbol,
    Transpose,
)

from derive.chain import SymbolicNetwork, derive_backward, derive_forward
from derive.matrix import Apply, Ones, Softmax
from numeric.errors import BackpropDeriveError

__all__ = ["CodegenError", "Pass", "Step", "plan", "schedule"]


class CodegenError(BackpropDeriveError):
    """A derived formula has a form the generator does not know (a bug of the project, not of the input)."""


def _apply_name(node: Apply) -> str:
    return f"{node.fn}{'_d' * node.order}_{node.arg.name}"


@dataclass
class Step:
    target: str
    shape: tuple[Any, Any]
    kind: str  # "lead" (a product or softmax, then a tail), "ew" (elementwise), "reduce", "alias"
    expr: sp.Expr  # entry expression of the tail / elementwise value / summand
    leaders: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, a, b) -> written to names
    coeff: sp.Expr = sp.S.One  # reduce: the factor of the sums
    over: tuple[Any, Any] | None = None  # reduce: the shape of the matrix summed
    label: str = ""


class _Translator:
    """Matrix formula -> (leading products, entry expression of what remains)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.leaders: list[tuple[str, str, str, str]] = []  # (kind, left, right, into)
        self.applies: list[Apply] = []

    def operand(self, e: Any) -> str:
        if isinstance(e, MatrixSymbol):
            return e.name
        if isinstance(e, Transpose) and isinstance(e.arg, MatrixSymbol):
            return f"{e.arg.name}.T"
        raise CodegenError(f"a matrix product of {e} is not supported by the generator")

    def lead(self, kind: str, left: str, right: str) -> sp.Symbol:
        into = self.target if not self.leaders else f"_P{len(self.leaders)}_{self.target}"
        self.leaders.append((kind, left, right, into))
        return sp.Symbol(into)

    def entry(self, e: Any) -> sp.Expr:
        if isinstance(e, MatrixSymbol):
            return sp.Symbol(e.name)
        if isinstance(e, Apply):
            if not isinstance(e.arg, MatrixSymbol):
                raise CodegenError(f"{e}: the argument of an elementwise function must be a named matrix")
            self.applies.append(e)
            return sp.Symbol(_apply_name(e))
        if isinstance(e, Softmax):
            return self.lead("softmax", self.operand(e.arg), "")
        if isinstance(e, MatMul):
            scal = sp.Mul(*[a for a in e.args if not isinstance(a, MatrixExpr)])
            mats = [a for a in e.args if isinstance(a, MatrixExpr)]
            if mats and isinstance(mats[-1], Ones):
                if mats[-1].shape[0] != 1:
                    raise CodegenError(f"a row sum inside a formula ({e}) is not supported")
                mats = mats[:-1]  # b 1^T: b broadcast over the columns
            if len(mats) == 1:
                return scal * self.entry(mats[0])
            if len(mats) == 2:
                return scal * self.lead("matmul", self.operand(mats[0]), self.operand(mats[1]))
            raise CodegenError(f"a product of {len(mats)} matrices ({e}) is not supported")
        if isinstance(e, MatAdd):
            return sp.Add(*[self.entry(a) for a in e.args])
        if isinstance(e, HadamardProduct):
            return sp.Mul(*[self.entry(a) for a in e.args])
        if isinstance(e, MatrixExpr):
            raise CodegenError(f"{type(e).__name__} ({e}) is not supported by the generator")
        return sp.sympify(e, strict=True)


def plan(net: SymbolicNetwork) -> tuple[list[Step], dict[tuple[str, str], set[int]]]:
    """The needed steps (dA's are inlined into the dZ's) and the elementwise functions each Z feeds."""
    steps = derive_forward(net).steps + derive_backward(net).steps
    grads = [f"d{p}" for p in net.parameter_names()]
    needed = set(grads) | {f"dZ{l}" for l in range(1, net.depth + 1)}
    out: list[Step] = []
    applies: dict[tuple[str, str], set[int]] = {}
    for s in reversed(steps):
        name = s.lhs.name
        if name not in needed:
            continue
        rhs = s.rhs
        tr = _Translator(name)
        if isinstance(rhs, MatMul) and isinstance(rhs.args[-1], Ones) and rhs.args[-1].shape[1] == 1:
            scal = sp.Mul(*[a for a in rhs.args if not isinstance(a, MatrixExpr)])
            mats = [a for a in rhs.args if isinstance(a, MatrixExpr)][:-1]
            if len(mats) != 1:
                raise CodegenError(f"the row sum {rhs} is not of one matrix")
            step = Step(name, s.lhs.shape, "reduce", tr.entry(mats[0]), coeff=scal, over=mats[0].shape,
                         label=str(s.lhs))
        else:
            expr = tr.entry(rhs)
            kind = "lead" if tr.leaders else ("alias" if isinstance(expr, sp.Symbol) else "ew")
            step = Step(name, s.lhs.shape, kind, expr, tr.leaders, label=str(s.lhs))
        if tr.leaders and step.kind == "reduce":
            raise CodegenError(f"a row sum of a product ({rhs}) is not supported")
        for node in tr.applies:
            applies.setdefault((node.fn, node.arg.name), set()).add(node.order)
        out.insert(0, step)
        needed |= {str(x) for x in step.expr.free_symbols}
        needed |= {x.split(".")[0] for _, a, b, _ in step.leaders for x in (a, b) if x}
        needed |= {arg for _, arg in applies}
    return out, applies


@dataclass
class Pass:
    shape: tuple[Any, Any]
    steps: list[Step] = field(default_factory=list)


def schedule(steps: list[Step], applies: Mapping[tuple[str, str], set[int]]) -> tuple[list[Pass], dict[str, str]]:
    """Group steps into passes: a product (or softmax) opens a pass; an
    elementwise step or a row sum joins the pass that made its last input
    when the shapes agree; an alias is only a name."""
    passes: list[Pass] = []
    where: dict[str, int] = {}
    alias: dict[str, str] = {}
    for step in steps:
        step.expr = step.expr.xreplace({sp.Symbol(a): sp.Symbol(b) for a, b in alias.items()})
        step.leaders = [(k, _alias(a, alias), _alias(b, alias), into) for k, a, b, into in step.leaders]
        if step.kind == "alias":
            alias[step.target] = str(step.expr)
            continue
        inputs = [where[str(s)] for s in step.expr.free_symbols if str(s) in where]
        home = max(inputs, default=-1)
        shape = step.over or step.shape
        if step.kind == "lead" or home < 0 or passes[home].shape != shape:
            passes.append(Pass(shape))
            home = len(passes) - 1
        passes[home].steps.append(step)
        where[step.target] = home
        for fn, arg in applies:
            if arg == step.target:
                for order in (0, 1):
                    where[f"{fn}{'_d' * order}_{arg}"] = home
    return passes, alias


def _alias(operand: str, alias: Mapping[str, str]) -> str:
    base, dot, rest = operand.partition(".")
    return alias.get(base, base) + dot + rest
