"""In-place NumPy code generated from the derivation: real, runnable source.

:func:`compile_gradient` walks the derived forward and backward steps of
:mod:`derive.chain` (any depth, any head, L2, either reduction; the plan is
:mod:`derive.codegen_plan`) and writes one Python function:

* every matrix product is one ``numpy.matmul`` (into a reused buffer when
  the result is consumed inside the call);
* everything elementwise that follows a product -- the bias add, the
  activation and its derivative, the head's ``A - Y``, the product with
  ``f'(Z)``, the bias gradient's row sums, the L2 term -- is fused into one
  pass over cache-sized row blocks, shared among the threads
  (:func:`numeric._blocks.row_blocks`; scheduling only, no arithmetic of
  ``numeric``);
* ``f`` and ``f'`` of each activation are computed together from the
  ``cse``'d pair of :mod:`derive.lambdified` (one ``exp`` serves both for
  swish), as three-address NumPy calls with ``out=`` buffers
  (:mod:`derive.codegen_elementwise`);
* ``f(Z)`` is written over ``Z`` when nothing reads ``Z`` afterwards,
  straight from the kernel when it reads ``z`` no more once it writes
  ``f(z)``, else through a block buffer; a piecewise-linear ``f`` through 0
  is computed as ``z f'(z)`` when sympy proves it piece by piece (the
  proofs are :mod:`derive.codegen_inplace`).

The object returned is called like :class:`derive.lambdified.GradientFunction`;
its ``source`` is the exact text that was compiled and runs.  Only this
module's templates and sympy's printers write that text: a user's activation
reaches it as a sympy expression, never as text.

Example:
    >>> import numpy as np, numeric
    >>> grad_fn = compile_gradient(f="swish", g="leaky_relu")
    >>> P = numeric.init_params(3, 4, 2)
    >>> X, Y = np.ones((3, 5)), np.zeros((1, 5))
    >>> bool(np.allclose(grad_fn(P, X, Y)["dW1"], numeric.backward(P, X, Y)["dW1"], rtol=1e-12))
    True
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any, Mapping

import numpy as np
import sympy as sp

from derive.activations import derivative_expr, sigmoid, stable_form, z
from derive.chain import SymbolicNetwork, as_symbolic
from derive.codegen_elementwise import emit_block, scalar_printer
from derive.codegen_inplace import overwritable, value_is_z_times_slope, value_over_z
from derive.codegen_plan import CodegenError, Pass, plan, schedule
from derive.expr import activation_expr
from derive.elementwise import _FAST_NAMESPACE, _sigmoid_cse, _symbolic_activation
from numeric._blocks import row_blocks
from numeric._validate import as_array, check_network
from numeric.description import Network as PlainNetwork
from numeric.errors import InputError
from numeric.general import check_problem

__all__ = ["CodegenError", "GeneratedGradient", "compile_gradient"]


# ------------------------------------------------------------------ runtime helpers
_local = threading.local()


def _cache() -> dict[Any, Any]:
    cache = getattr(_local, "arrays", None)
    if cache is None:
        cache = _local.arrays = {}
    return cache


def _temps(key: str, floats: int, bools: int, shape: tuple[int, ...], dtype: Any) -> tuple[np.ndarray, ...]:
    """Per-thread block buffers for a kernel: ``floats`` of ``dtype`` then ``bools`` of bool."""
    cache = _cache()
    full = (key, floats, bools, shape, dtype)  # called per block: no normalising work here
    arrs = cache.get(full)
    if arrs is None:
        if len(cache) > 96:
            cache.clear()
        arrs = cache[full] = tuple([np.empty(shape, dtype) for _ in range(floats)]
                                   + [np.empty(shape, bool) for _ in range(bools)])
    return arrs


def _scratch(key: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A whole-matrix work array of the calling thread, reused by the next call
    (content undefined; never returned to the caller)."""
    return _temps(key, 1, 0, shape, dtype)[0]


SUB_BLOCK = 1 << 15
"""Elements per inner block (256 KiB of float64, as numeric's row blocks).
Measured at 1 thread, (784, 128, 64, 1), m = 1024 and 8192: smaller inner
blocks (2048 to 16384 elements) were 0.5 to 15 % slower, not faster."""


def _blocks(rows: int, cols: int, work: Any) -> None:
    """:func:`numeric._blocks.row_blocks` (which shares the rows among the
    threads), each of its blocks cut again into runs of about
    :data:`SUB_BLOCK` elements."""
    if rows * cols <= SUB_BLOCK:  # one block (and every empty matrix): no scheduling at all
        work(slice(0, rows))
        return
    step = max(1, SUB_BLOCK // cols)  # cols >= 1 here

    def run(rs: slice) -> None:
        for i in range(rs.start, rs.stop, step):
            work(slice(i, min(i + step, rs.stop)))

    row_blocks(rows, cols, run)


_NAMESPACE: dict[str, Any] = {k: getattr(np, k) for k in dir(np) if not k.startswith("_")}
_NAMESPACE.update(_FAST_NAMESPACE)
_NAMESPACE.update(numpy=np, _blocks=_blocks, _temps=_temps, _scratch=_scratch)


# ------------------------------------------------------------------ the source text
def _kernel(fn: str, expr: sp.Expr, orders: set[int]) -> tuple[str, list[str]]:
    """``def _kernel_<fn>(z, _o0[, _o1])``: f and/or f' of a block, sharing their work."""
    if not expr.free_symbols <= {z}:
        raise InputError(f"the activation {fn} depends on symbols other than z: {sorted(map(str, expr.free_symbols))}")
    outs = [f"_o{o}" for o in sorted(orders)]
    through_zero = orders == {0, 1} and value_is_z_times_slope(expr)
    wanted = [1] if through_zero else sorted(orders)
    exprs = [stable_form(expr) if o == 0 else stable_form(derivative_expr(expr)) for o in wanted]
    pre, reduced = _sigmoid_cse(exprs)
    block = emit_block(list(zip(reduced, [f"_o{o}" for o in wanted])), {z: "z"}, {}, pre)
    name = f"_kernel_{fn}_{''.join(map(str, sorted(orders)))}"
    lines = [f"def {name}(z, {', '.join(outs)}):"]
    lines.append(f"    # {' and '.join(('value', 'derivative')[o] for o in sorted(orders))} of {fn} on one row block")
    temps = [f"_f{i}" for i in range(block.floats)] + [f"_b{i}" for i in range(block.bools)]
    if temps:
        lines.append(f"    {', '.join(temps)}, = _temps({name!r}, {block.floats}, {block.bools}, z.shape, z.dtype)")
    lines += [f"    {ln}" for ln in block.lines]
    if through_zero:
        lines.append(f"    numpy.multiply(z, _o1, out=_o0)  # {fn}(z) = z {fn}'(z) on every piece (sympy: piecewise_fold)")
    return name, lines


def _shape(shape: tuple[Any, Any]) -> str:
    return "(" + ", ".join(f"_s_{s}" if isinstance(s, sp.Symbol) else str(int(s)) for s in shape) + ")"


def _source(net: SymbolicNetwork, activations: Mapping[str, sp.Expr]) -> str:
    steps, applies = plan(net)
    passes, alias = schedule(steps, applies)
    scalar_syms = {net.m, net.lam, *(net.size(i) for i in range(net.depth + 1))}
    scalars = {s: f"_s_{s.name}" for s in scalar_syms}
    grads = [f"d{p}" for p in net.parameter_names()]
    dZs = [f"dZ{l}" for l in range(1, net.depth + 1)]
    params = net.parameter_names()
    printer = scalar_printer()

    head: list[str] = ["# Generated by derive.codegen from the derived forward and backward steps.",
                       "# Run by GeneratedGradient; the names it uses: numpy, _blocks (row blocks shared",
                       "# among threads), _temps and _scratch (reused work arrays of the calling thread).", ""]
    kernels: dict[tuple[str, str], str] = {}
    in_place: set[str] = set()  # kernels that may write f(z) over z
    for (fn, arg), orders in applies.items():
        expr = sigmoid(z) if fn == "sigma" else activations[fn]
        name, lines = _kernel(fn, expr, orders)
        kernels[(fn, arg)] = name
        if value_over_z(lines[2:]):
            in_place.add(name)
        if not any(ln.startswith(f"def {name}(") for ln in head):
            head += lines + [""]

    body = [f"def gradients({', '.join(params)}, X, Y, _s_lambda=0.0, _want_dZ=False):",
            f"    _dt = numpy.result_type({', '.join(params)}, X, Y, numpy.float64)",
            f"    _s_{net.widths[0]}, _s_m = X.shape"]
    body += [f"    _s_{net.widths[l]} = W{l}.shape[0]" for l in range(1, net.depth + 1)]
    over = overwritable(passes, applies, alias, grads)
    for (fn, arg), orders in applies.items():
        shape = next(s.shape for p in passes for s in p.steps if s.target == arg)
        for o in sorted(orders):
            name = f"{fn}{'_d' * o}_{arg}"
            if not (o == 0 and arg in over):
                body.append(f"    {name} = _scratch({name!r}, {_shape(shape)}, _dt)")
    for k, p in enumerate(passes, start=1):
        body += _pass_source(k, p, grads, applies, kernels, scalars, printer, over, in_place)
    body.append(f"    _out = {{{', '.join(f'{g!r}: {g}' for g in grads)}}}")
    body.append("    if _want_dZ:")
    body.append(f"        _out.update({', '.join(f'{d}={alias.get(d, d)}.copy()' for d in dZs)})")
    body.append("    return _out")
    return "\n".join(head + body) + "\n"


def _pass_source(
    k: int, p: Pass, grads: list[str], applies: Mapping[tuple[str, str], set[int]],
    kernels: Mapping[tuple[str, str], str], scalars: Mapping[sp.Symbol, str], printer: Any,
    over: set[str] = frozenset(),  # type: ignore[assignment]
    in_place: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[str]:
    out = [f"    # pass {k}: " + "; ".join(s.label for s in p.steps)]
    block: list[str] = []
    views: list[str] = []
    temps = [0, 0]

    def view(name: str) -> str:
        if name not in views:
            views.append(name)
        return f"{name}_"

    for step in p.steps:
        fresh = step.target in grads
        if step.kind == "reduce":
            out.append(f"    {step.target} = numpy.empty({_shape(step.shape)}, _dt)")
        elif not (step.kind == "lead" and step.leaders[0][0] == "matmul" and fresh):
            alloc = f"numpy.empty({_shape(step.shape)}, _dt)" if fresh else \
                f"_scratch({step.target!r}, {_shape(step.shape)}, _dt)"
            out.append(f"    {step.target} = {alloc}")
        if step.target in over:
            fn = next(f for f, a in applies if a == step.target)
            out.append(f"    {fn}_{step.target} = {step.target}  # {fn}({step.target}) is written over {step.target}, "
                       "which nothing reads after this pass")
        for kind, a, b, into in step.leaders:
            if kind == "matmul":
                if into == step.target and fresh:
                    out.append(f"    {into} = numpy.matmul({a}, {b})")
                else:
                    if into != step.target:
                        out.append(f"    {into} = _scratch({into!r}, ({a}.shape[0], {b}.shape[1]), _dt)")
                    out.append(f"    numpy.matmul({a}, {b}, out={into})")
            else:  # column softmax, shifted by each column's maximum
                out.append(f"    numpy.subtract({a}, numpy.max(numpy.real({a}), axis=0, keepdims=True), out={into})")
                out.append(f"    numpy.exp({into}, out={into})")
                out.append(f"    numpy.divide({into}, numpy.sum({into}, axis=0, keepdims=True), out={into})")
        names = {str(s) for s in step.expr.free_symbols} - {str(s) for s in scalars}
        leaves = {sp.Symbol(n): view(n) for n in sorted(names)}
        if step.kind == "reduce":
            src = step.expr
            if not isinstance(src, sp.Symbol):
                raise CodegenError(f"{step.label}: a row sum of an expression is not supported")
            block.append(f"numpy.sum({view(str(src))}, axis=1, keepdims=True, out={view(step.target)})")
            if step.coeff != 1:
                c = printer.doprint(step.coeff.xreplace({s: sp.Symbol(n) for s, n in scalars.items()}))
                block.append(f"numpy.multiply({view(step.target)}, {c}, out={view(step.target)})")
        elif step.expr != sp.Symbol(step.target):
            tail = emit_block([(step.expr, view(step.target))], leaves, scalars)
            block += tail.lines
            temps = [max(temps[0], tail.floats), max(temps[1], tail.bools)]
        for (fn, arg), orders in applies.items():
            if arg == step.target:
                if arg in over and kernels[(fn, arg)] in in_place:  # f(z) straight over z
                    outs = [view(arg)] + [view(f"{fn}{'_d' * o}_{arg}") for o in sorted(orders) if o]
                    block.append(f"{kernels[(fn, arg)]}({view(arg)}, {', '.join(outs)})")
                elif arg in over:  # f(z) into a block buffer in cache, then over z
                    outs = ["_v0"] + [view(f"{fn}{'_d' * o}_{arg}") for o in sorted(orders) if o]
                    block.append(f"_v0, = _temps('_pass{k}_v', 1, 0, {view(arg)}.shape, _dt)")
                    block.append(f"{kernels[(fn, arg)]}({view(arg)}, {', '.join(outs)})")
                    block.append(f"numpy.copyto({view(arg)}, _v0)")
                else:
                    outs = [view(f"{fn}{'_d' * o}_{arg}") for o in sorted(orders)]
                    block.append(f"{kernels[(fn, arg)]}({view(arg)}, {', '.join(outs)})")
    if block:
        out.append(f"    def _pass{k}(_r):")
        out += [f"        {v}_ = {v}[_r]" for v in views]
        names = [f"_f{i}" for i in range(temps[0])] + [f"_b{i}" for i in range(temps[1])]
        if names:
            cols = _shape(p.shape)[1:-1].split(", ")[1]
            out.append(f"        {', '.join(names)}, = _temps('_pass{k}', {temps[0]}, {temps[1]}, "
                       f"(_r.stop - _r.start, {cols}), _dt)")
        out += [f"        {ln}" for ln in block]
        out.append(f"    _blocks(*{_shape(p.shape)}, _pass{k})")
    return out


# ------------------------------------------------------------------ the callable
class GeneratedGradient:
    """``grad_fn(params, X, Y) -> {"dW1": ..., "db1": ..., ...}`` from generated in-place NumPy code.

    Attributes:
        activations: the hidden activations as sympy expressions in ``z``.
        derivatives: their derivatives, as sympy's ``diff`` gives them.
        source: the Python text that was compiled and runs (one function
            ``gradients`` and a kernel per activation).
        network: the plain description, or None for the article's network.
    """

    def __init__(
        self, activations: Mapping[str, sp.Expr], net: SymbolicNetwork | None = None, *,
        network: PlainNetwork | None = None,
    ) -> None:
        self.net = as_symbolic(net)
        self.network = network
        self.activations = dict(activations)
        self.derivatives = {k: derivative_expr(e) for k, e in self.activations.items()}
        self.source = _source(self.net, self.activations)
        namespace = dict(_NAMESPACE)
        exec(compile(self.source, "<derive.codegen>", "exec"), namespace)  # noqa: S102 - our own text
        self._fn = namespace["gradients"]
        self._params = self.net.parameter_names()

    def __call__(
        self, params: Mapping[str, Any], X: Any, Y: Any, *, return_dZ: bool = False
    ) -> dict[str, np.ndarray]:
        """Evaluate the derived gradients (inputs checked as :class:`GradientFunction` checks them).

        Args:
            params: ``W1 b1 ... WL bL``.  X: inputs, d x m.  Y: targets, q x m.
            return_dZ: also return ``dZ1 ... dZL`` (``N dJ/dZ`` convention).
        """
        scan_X = False
        if self.network is not None:
            P, Xa, Ya = check_problem(params, X, Y, self.network)
        elif self.net.depth == 3:  # X (the largest array) is scanned only if a gradient is not finite
            P, Xa, Ya = check_network(params, X, Y, scan_X=False)
            scan_X = True
        else:
            P, Xa, Ya = dict(params), np.asarray(X), np.asarray(Y)
        lam = self.network.l2 if self.network is not None else 0.0
        with np.errstate(over="ignore", under="ignore"):
            out = self._fn(*(P[k] for k in self._params), Xa, Ya, lam, return_dZ)
        if scan_X and not np.isfinite(out["dW1"]).all():
            as_array("X", Xa)  # a NaN or infinity in X reaches every dW1: name X's entry, as the full check does
        return out

    def __repr__(self) -> str:
        acts = ", ".join(f"{k}={v}" for k, v in self.activations.items())
        return f"{type(self).__name__}({acts})"


@lru_cache(maxsize=128)
def _cached(f: Any, g: Any, network: PlainNetwork | None) -> GeneratedGradient:
    return _build(f, g, network)


def _build(f: Any, g: Any, network: PlainNetwork | None) -> GeneratedGradient:
    if network is None:
        return GeneratedGradient({"f": activation_expr(f), "g": activation_expr(g)})
    sym = as_symbolic(network)
    acts = {ph: _symbolic_activation(spec) for ph, spec in zip(sym.activations, network.activations)}
    return GeneratedGradient(acts, sym, network=network)


def compile_gradient(f: Any = "swish", g: Any = "leaky_relu", *, network: PlainNetwork | None = None) -> GeneratedGradient:
    """Generate, compile and return the in-place gradient function of a network.

    Called as :func:`derive.gradient_function` is: ``compile_gradient(f, g)``
    for the article's network, or ``compile_gradient(network=...)`` (or the
    description as first argument) for any depth and head.

    Args:
        f, g: the article's hidden activations: catalog names or sympy
            expressions in ``z`` (:func:`derive.expr.activation_expr`).
        network: any :class:`numeric.Network`.

    Returns:
        A :class:`GeneratedGradient`; ``grad_fn.source`` is the code it runs.
        Results are cached per input when the input is hashable.
    """
    if isinstance(f, PlainNetwork):
        network, f = f, "swish"
    if network is not None and not isinstance(network, PlainNetwork):
        raise InputError(f"network must be a numeric.Network, got {type(network).__name__}")
    try:
        return _cached(f, g, network)
    except TypeError as exc:
        if "unhashable" not in str(exc):
            raise
        return _build(f, g, network)
