"""Three-address NumPy code for scalar expressions evaluated on arrays, in place.

:func:`emit_block` turns sympy expressions in entry symbols (``z``, or the
entries of ``Z1``, ``b1``, ``dZ2`` ...) into lines of NumPy calls, each
writing with ``out=`` into a preallocated block-sized buffer or into its
destination view.  Buffers are shared by liveness (a buffer is reused as
soon as its value has been read for the last time), so a chain of ten
operations runs in a handful of block buffers that stay in cache.

Every node is printed from a sympy object: numbers and scalar factors by
sympy's NumPy printer, arithmetic and the common functions as NumPy ufunc
calls, ``Piecewise`` as masked copies (first true condition wins, as sympy
defines it), and anything else (``erf``, ``Heaviside`` ...) by the
elementwise printer of :mod:`derive.lambdified` on buffer names, assigned
into its buffer.  No user text is ever printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.core.relational import Relational

from derive.elementwise import _ElementwisePrinter, _expneg

__all__ = ["Block", "emit_block", "fallback_printer", "scalar_printer"]

_UFUNCS: dict[type, str] = {
    sp.exp: "exp", sp.log: "log", sp.sin: "sin", sp.cos: "cos", sp.tan: "tan", sp.tanh: "tanh",
    sp.sinh: "sinh", sp.cosh: "cosh", sp.asinh: "arcsinh", sp.acosh: "arccosh", sp.atanh: "arctanh",
    sp.atan: "arctan", sp.asin: "arcsin", sp.acos: "arccos", sp.Abs: "absolute", sp.sign: "sign",
    sp.floor: "floor", sp.ceiling: "ceil", expm1: "expm1", log1p: "log1p",
}
_COMPARE: dict[type, str] = {
    sp.StrictGreaterThan: "greater", sp.GreaterThan: "greater_equal", sp.StrictLessThan: "less",
    sp.LessThan: "less_equal", sp.Equality: "equal", sp.Unequality: "not_equal",
}
_LOGIC: dict[type, str] = {sp.And: "logical_and", sp.Or: "logical_or"}


def scalar_printer() -> sp.printing.numpy.NumPyPrinter:
    """sympy's NumPy printer, module-qualified (``numpy.exp``): prints the constants and scalar factors."""
    return sp.printing.numpy.NumPyPrinter({"fully_qualified_modules": True, "inline": True,
                                           "allow_unknown_functions": True, "user_functions": {}})


def fallback_printer() -> _ElementwisePrinter:
    """The elementwise printer of :mod:`derive.lambdified` (names resolved in ``NUMPY_NAMESPACE``)."""
    return _ElementwisePrinter({"fully_qualified_modules": False, "inline": True,
                                "allow_unknown_functions": True, "user_functions": {}})


@dataclass(eq=False)
class _Reg:
    kind: str  # "f": float buffer, "b": bool buffer
    dest: str | None = None  # a destination view, when the value is written straight there
    slot: str | None = None

    @property
    def name(self) -> str:
        return self.dest or self.slot or "?"


@dataclass
class _Op:
    fmt: str  # uses {out} and {0}, {1}, ... for the inputs
    out: _Reg
    ins: tuple[Any, ...]  # _Reg or operand text


@dataclass
class Block:
    """The generated lines of one elementwise block and the buffers it needs."""

    lines: list[str]
    floats: int
    bools: int
    uses: set[str] = field(default_factory=set)


class _Emitter:
    def __init__(self, leaves: Mapping[sp.Symbol, str], scalars: Mapping[sp.Symbol, str]) -> None:
        self.leaves = dict(leaves)
        self.scalar_names = dict(scalars)
        self.ops: list[_Op] = []
        self.memo: dict[sp.Basic, Any] = {}
        self.defs: dict[sp.Symbol, sp.Expr] = {}  # cse symbols -> their definitions
        self.printer = scalar_printer()
        self.fallback = fallback_printer()

    # -- helpers
    def op(self, fmt: str, *ins: Any, kind: str = "f") -> _Reg:
        reg = _Reg(kind)
        self.ops.append(_Op(fmt, reg, ins))
        return reg

    def update(self, fmt: str, reg: _Reg, *ins: Any) -> None:
        self.ops.append(_Op(fmt, reg, (reg, *ins)))

    def is_scalar(self, e: sp.Basic) -> bool:
        return all(s in self.scalar_names for s in e.free_symbols)

    def const(self, e: sp.Basic) -> str:
        e = e.xreplace({s: sp.Symbol(n) for s, n in self.scalar_names.items()})
        if e.is_Number:
            return repr(float(e)) if e.is_finite else self.printer.doprint(e)
        return f"({self.printer.doprint(e)})"

    def fresh(self, operand: Any) -> _Reg:
        """A new buffer holding ``operand`` (which may be a leaf, a constant or a buffer)."""
        return self.op("numpy.copyto({out}, {0})", operand)

    # -- the expression walk
    def emit(self, e: sp.Basic) -> Any:
        if e in self.memo:
            return self.memo[e]
        if e in self.leaves:
            out: Any = self.leaves[e]
        elif isinstance(e, (sp.logic.boolalg.BooleanTrue, sp.logic.boolalg.BooleanFalse)):
            out = "True" if e == sp.true else "False"
        elif self.is_scalar(e) and not isinstance(e, (Relational, sp.Piecewise)):
            out = self.const(e)
        elif isinstance(e, sp.Add):
            out = self.add(e)
        elif isinstance(e, sp.Mul):
            out = self.mul(e)
        elif isinstance(e, sp.Pow):
            out = self.pow(e)
        elif type(e) in _UFUNCS:
            out = self.op(f"numpy.{_UFUNCS[type(e)]}({{0}}, out={{out}})", self.emit(e.args[0]))
        elif isinstance(e, _expneg):  # exp(-max(u, -700)) = exp(min(-u, 700)), as lambdified's sigmoid pairs
            r = self.op("numpy.negative({0}, out={out})", self.emit(e.args[0]))
            # the clamp only when a block needs it: a max() is a third of a minimum() pass
            self.update("if {0}.max() > 700.0: numpy.minimum({0}, 700.0, out={0})", r)
            out = self.op("numpy.exp({0}, out={out})", r)
        elif isinstance(e, (sp.Max, sp.Min)):
            fn = "maximum" if isinstance(e, sp.Max) else "minimum"
            args = [self.emit(a) for a in e.args]
            out = self.op(f"numpy.{fn}({{0}}, {{1}}, out={{out}})", args[0], args[1])
            for a in args[2:]:
                out = self.op(f"numpy.{fn}({{0}}, {{1}}, out={{out}})", out, a)
        elif isinstance(e, sp.Piecewise):
            out = self.piecewise(e)
        elif type(e) in _COMPARE:
            out = self.op(f"numpy.{_COMPARE[type(e)]}({{0}}, {{1}}, out={{out}})",
                          self.emit(e.lhs), self.emit(e.rhs), kind="b")
        elif type(e) in _LOGIC:
            args = [self.emit(a) for a in e.args]
            out = self.op(f"numpy.{_LOGIC[type(e)]}({{0}}, {{1}}, out={{out}})", args[0], args[1], kind="b")
            for a in args[2:]:
                out = self.op(f"numpy.{_LOGIC[type(e)]}({{0}}, {{1}}, out={{out}})", out, a, kind="b")
        elif isinstance(e, sp.Not):
            out = self.op("numpy.logical_not({0}, out={out})", self.emit(e.args[0]), kind="b")
        else:
            out = self.other(e)
        self.memo[e] = out
        return out

    def add(self, e: sp.Add) -> Any:
        pos, neg = [], []
        for t in e.args:
            (neg if t.could_extract_minus_sign() and not t.is_Number else pos).append(t)
        if not pos:  # -(a + b ...)
            return self.op("numpy.negative({0}, out={out})", self.emit(-e))
        acc = self.emit(pos[0])
        for t in pos[1:]:
            acc = self.op("numpy.add({0}, {1}, out={out})", acc, self.emit(t))
        for t in neg:
            acc = self.op("numpy.subtract({0}, {1}, out={out})", acc, self.emit(-t))
        return acc

    def mul(self, e: sp.Mul) -> Any:
        scal = [a for a in e.args if self.is_scalar(a)]
        arr = [a for a in e.args if not self.is_scalar(a)]
        den = [a.base ** -a.exp for a in arr if isinstance(a, sp.Pow) and a.exp.is_Number and a.exp < 0]
        num = [a for a in arr if not (isinstance(a, sp.Pow) and a.exp.is_Number and a.exp < 0)]
        c = sp.Mul(*scal)
        if num:
            acc = self.emit(num[0])
            for a in num[1:]:
                acc = self.op("numpy.multiply({0}, {1}, out={out})", acc, self.emit(a))
        else:
            acc, c = (self.const(c) if c != 1 else "1.0"), sp.S.One
        for a in den:
            acc = self.op("numpy.divide({0}, {1}, out={out})", acc, self.emit(a))
        if c == -1:
            acc = self.op("numpy.negative({0}, out={out})", acc)
        elif c != 1:
            acc = self.op("numpy.multiply({0}, {1}, out={out})", acc, self.const(c))
        return acc if isinstance(acc, _Reg) or acc in self.leaves.values() else self.fresh(acc)

    def pow(self, e: sp.Pow) -> Any:
        base, ex = e.base, e.exp
        if self.is_scalar(ex) and ex.is_Number:
            b = self.emit(base)
            if ex == 2:
                return self.op("numpy.square({0}, out={out})", b)
            if ex == sp.S.Half:
                return self.op("numpy.sqrt({0}, out={out})", b)
            if ex == -1:
                return self.op("numpy.divide(1.0, {0}, out={out})", b)
            if ex == -2:
                return self.op("numpy.divide(1.0, {0}, out={out})", self.op("numpy.square({0}, out={out})", b))
            if ex == -sp.S.Half:
                return self.op("numpy.divide(1.0, {0}, out={out})", self.op("numpy.sqrt({0}, out={out})", b))
            if ex == 3:
                return self.op("numpy.multiply({0}, {1}, out={out})", self.op("numpy.square({0}, out={out})", b), b)
        return self.op("numpy.power({0}, {1}, out={out})", self.emit(base), self.emit(ex))

    def piecewise(self, e: sp.Piecewise) -> Any:
        """Masked copies from the last branch to the first: the first true condition wins.

        Two cheaper exact-enough forms first, for two branches split at a
        constant: two constants become ``b + (a - b) * mask`` (lambdified's
        blend); two affine branches that meet at the split become the max
        (convex) or min (concave) of the two, as ``max(z, 0.01 z)`` is
        leaky_relu.  Both agree with the masked form to a rounding error.
        """
        pieces = list(e.args)
        kink = _two_sided(e.xreplace(self.defs))
        if kink is not None:
            x, c, left, right, side = kink
            if left.is_Number and right.is_Number:
                mask = self.op(f"numpy.{side}({{0}}, {self.const(c)}, out={{out}})", self.emit(x))
                if right - left != 1:
                    mask = self.op("numpy.multiply({0}, {1}, out={out})", mask, self.const(right - left))
                return self.op("numpy.add({0}, {1}, out={out})", mask, self.const(left)) if left != 0 else mask
            sl, sr = sp.diff(left, x), sp.diff(right, x)
            if sl.is_Number and sr.is_Number and sl != sr and sp.expand(left.subs(x, c) - right.subs(x, c)) == 0:
                fn = "maximum" if sr > sl else "minimum"
                return self.op(f"numpy.{fn}({{0}}, {{1}}, out={{out}})", self.emit(left), self.emit(right))
        if pieces[-1].cond == sp.true:
            out = self.fresh(self.emit(pieces.pop().expr))
        else:
            out = self.fresh("numpy.nan")
        for expr, cond in reversed(pieces):
            if cond == sp.false:
                continue
            value = self.emit(expr)
            if cond == sp.true:
                self.update("numpy.copyto({0}, {1})", out, value)
            else:
                self.update("numpy.copyto({0}, {1}, where={2})", out, value, self.emit(cond))
        return out

    def other(self, e: sp.Basic) -> _Reg:
        """Print the node on its evaluated arguments with lambdified's elementwise printer."""
        marks = [sp.Symbol(f"_ARG{i}_") for i in range(len(e.args))]
        ins = [self.emit(a) for a in e.args]
        text = self.fallback.doprint(e.func(*marks))
        fmt = text.replace("{", "{{").replace("}", "}}")
        for i in range(len(marks)):
            fmt = fmt.replace(f"_ARG{i}_", f"{{{i}}}")
        return self.op(f"{{out}}[...] = {fmt}", *ins, kind="b" if isinstance(e, sp.logic.boolalg.Boolean) else "f")


def _two_sided(e: sp.Piecewise) -> tuple[sp.Symbol, sp.Expr, sp.Expr, sp.Expr, str] | None:
    """``(x, c, left, right, right_side)`` for ``Piecewise((a, x < c), (b, True))`` and its variants,
    with finite numeric c and branches affine in the one symbol x."""
    if len(e.args) != 2 or e.args[1].cond != sp.true or type(e.args[0].cond) not in _COMPARE:
        return None
    (a, cond), (b, _) = e.args
    lhs, rhs = cond.lhs, cond.rhs
    if isinstance(rhs, sp.Symbol) and lhs.is_Number:
        cond = cond.reversed
        lhs, rhs = cond.lhs, cond.rhs
    if not isinstance(lhs, sp.Symbol) or not rhs.is_Number or not rhs.is_finite:
        return None
    x = lhs
    for branch in (a, b):
        if not branch.free_symbols <= {x} or not branch.is_polynomial(x) or sp.degree(branch, x) > 1:
            return None
        if not all(c.is_finite for c in sp.Poly(branch, x).all_coeffs()):
            return None
    # the right side as a NumPy comparison of x with c: (x, c, left, right, right_side)
    sides = {sp.LessThan: (a, b, "greater"), sp.StrictLessThan: (a, b, "greater_equal"),
             sp.GreaterThan: (b, a, "greater_equal"), sp.StrictGreaterThan: (b, a, "greater")}
    if type(cond) not in sides:
        return None
    left, right, side = sides[type(cond)]
    return x, rhs, left, right, side


def _allocate(ops: Sequence[_Op], first: int) -> tuple[int, int]:
    """Give every register without a destination a buffer slot, reusing slots after a value's last read."""
    last: dict[int, int] = {}
    for i, o in enumerate(ops):
        for x in o.ins:
            if isinstance(x, _Reg):
                last[id(x)] = i
    free: dict[str, list[str]] = {"f": [], "b": []}
    count = {"f": 0, "b": 0}
    for i, o in enumerate(ops):
        for x in o.ins:
            if isinstance(x, _Reg) and x.dest is None and last.get(id(x)) == i and x is not o.out and x.slot:
                free[x.kind].append(x.slot)
        if o.out.dest is None and o.out.slot is None:
            pool = free[o.out.kind]
            if pool:
                o.out.slot = pool.pop()
            else:
                o.out.slot = f"_{o.out.kind}{count[o.out.kind]}"
                count[o.out.kind] += 1
            if last.get(id(o.out), -1) <= i and o.out.slot not in pool:
                pool.append(o.out.slot)  # never read (a dead value): free at once
        elif o.out.dest is None and last.get(id(o.out)) == i and o.out.slot not in free[o.out.kind]:
            free[o.out.kind].append(o.out.slot)  # an update that is the value's last read: dead after it
    del first
    return count["f"], count["b"]


def emit_block(
    outputs: Sequence[tuple[sp.Expr, str]],
    leaves: Mapping[sp.Symbol, str],
    scalars: Mapping[sp.Symbol, str],
    pre: Sequence[tuple[sp.Symbol, sp.Expr]] = (),
) -> Block:
    """NumPy lines computing each ``expr`` into its destination view.

    Args:
        outputs: ``(expression, destination)`` pairs, in order; a
            destination is a view name (``"A1_"``) written in place.
        leaves: entry symbol -> the name of its block view (read only, except
            that an output may overwrite a leaf it is the destination of).
        scalars: scalar symbol -> the Python name holding its value.
        pre: common subexpressions ``(symbol, expression)`` from ``cse``,
            computed once and read by name in the outputs.
    """
    em = _Emitter(leaves, scalars)
    for sym, expr in pre:
        em.memo[sym] = em.emit(expr)
        em.defs[sym] = expr.xreplace(em.defs)
    results = [em.emit(expr) for expr, _ in outputs]
    for (expr, dest), res in zip(outputs, results):
        writes = [i for i, o in enumerate(em.ops) if o.out is res]
        later_reads = any(dest in o.ins for o in em.ops[writes[0] + 1:]) if writes else True
        if isinstance(res, _Reg) and res.dest is None and not later_reads and res.kind == "f":
            res.dest = dest
        else:
            em.ops.append(_Op("numpy.copyto({out}, {0})", _Reg("f", dest=dest), (res,)))
    live = {id(o.out) for o in em.ops if o.out.dest is not None}
    kept: list[_Op] = []
    for o in reversed(em.ops):  # drop values nothing reads (sympy's cse may leave some)
        if id(o.out) in live:
            kept.insert(0, o)
            live.update(id(x) for x in o.ins if isinstance(x, _Reg))
    em.ops = kept
    nf, nb = _allocate(em.ops, 0)
    lines = []
    for o in em.ops:
        names = [x.name if isinstance(x, _Reg) else x for x in o.ins]
        lines.append(o.fmt.format(*names, out=o.out.name))
    return Block(lines, nf, nb)
