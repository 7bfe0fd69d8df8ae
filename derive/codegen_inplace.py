"""Where the generated code may write in place: proven-safe rewrites only.

:mod:`derive.codegen` asks three questions of its plan and kernels before it
writes a value over another buffer or replaces an operation; each answer is
a static fact of the generated text or a sympy identity, never a guess:

* :func:`overwritable`: which pre-activations ``Z`` are dead once ``f(Z)``
  and ``f'(Z)`` are made, so that ``f(Z)`` may be written over ``Z``;
* :func:`value_over_z`: whether a kernel reads ``z`` no more once it writes
  ``f(z)``, so that it may write ``f(z)`` over ``z`` without a block buffer;
* :func:`value_is_z_times_slope`: whether ``f(z) = z f'(z)`` on every piece
  (relu, leaky_relu), so that ``f`` is one product with the slope.
"""

from __future__ import annotations

import re
from typing import Mapping

import sympy as sp

from derive.activations import derivative_expr, z
from derive.codegen_plan import Pass

__all__ = ["overwritable", "value_over_z", "value_is_z_times_slope"]


def overwritable(
    passes: list[Pass], applies: Mapping[tuple[str, str], set[int]], alias: Mapping[str, str], grads: list[str],
) -> set[str]:
    """The arguments ``Z`` whose value ``f(Z)`` is written over ``Z`` itself.

    A scratch matrix read by nothing but the one kernel that applies ``f``
    to it (no later step, no product, no returned dZ) is dead once ``f(Z)``
    and ``f'(Z)`` are made: writing ``f(Z)`` over it, through a block buffer
    that stays in cache, saves a whole matrix that would be cold after the
    matrix products (5 to 10 % of the pass, measured at m = 1024).
    """
    read: set[str] = set()  # matrices read by a step other than the one that makes them
    for p in passes:
        for step in p.steps:
            read |= {str(sym) for sym in step.expr.free_symbols - {sp.Symbol(step.target)}}
            read |= {operand.split(".")[0] for _, a, b, _ in step.leaders for operand in (a, b) if operand}
    users: dict[str, int] = {}
    for _, arg in applies:
        users[arg] = users.get(arg, 0) + 1
    scratch_targets = {s.target for p in passes for s in p.steps
                       if s.target not in grads and s.kind in ("lead", "ew")}
    return {arg for (fn, arg), orders in applies.items()
            if 0 in orders and users[arg] == 1 and arg in scratch_targets
            and arg not in read and arg not in alias.values() and arg not in alias}


def value_over_z(kernel_lines: list[str]) -> bool:
    """True when a kernel reads ``z`` no more once it starts writing ``_o0``:
    then ``f(z)`` may be written over ``z`` itself (NumPy's elementwise calls
    allow an output that is exactly one of their inputs)."""
    first = next((i for i, ln in enumerate(kernel_lines) if "out=_o0" in ln), None)
    if first is None:
        return False
    return not any(re.search(r"\bz\b", ln) for ln in kernel_lines[first + 1:])


def value_is_z_times_slope(expr: sp.Expr) -> bool:
    """True when ``f(z) = z f'(z)`` is proven piece by piece: a piecewise-linear
    function through 0 (relu, leaky_relu), whose value is then one product
    with the slope the kernel computes anyway, instead of a maximum."""
    if not expr.has(sp.Piecewise):
        return False
    diff = sp.piecewise_fold(expr - z * derivative_expr(expr))
    if diff == 0:
        return True
    return isinstance(diff, sp.Piecewise) and all(sp.expand(e) == 0 for e, _ in diff.args)
