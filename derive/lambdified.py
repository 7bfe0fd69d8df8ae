"""The derived formulas, lambdified to one NumPy function that works at any shapes.

Each forward and backward step of :mod:`derive.chain` is printed by
``sympy.lambdify`` (with :class:`derive.matrix.NumPyMatrixPrinter`) into a
small NumPy function of the MatrixSymbols it uses; sizes are never baked in,
so one compiled function serves every ``(d, n, p, q, m)``.  The elementwise
nodes ``f(Z)`` and ``f'(Z)`` are evaluated by lambdified scalar expressions,
where ``f'`` is sympy's ``diff`` of the activation expression.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping

import numpy as np
import sympy as sp
from sympy.matrices.expressions import MatrixSymbol

from derive.activations import derivative_expr, sigmoid, z
from derive.expr import activation_expr
from derive.chain import ARTICLE, SymbolicNetwork, as_symbolic, derive_backward, derive_forward
from derive.matrix import INPLACE_NAMESPACE, Apply, NumPyMatrixPrinter
from derive.codegen import GeneratedGradient, compile_gradient
from derive.elementwise import _symbolic_activation, _value_and_derivative
from numeric._blocks import scratch
from numeric._validate import check_network
from numeric.description import Network as PlainNetwork
from numeric.errors import InputError
from numeric.general import check_problem

__all__ = ["gradient_function", "GradientFunction", "lambdified_gradient", "LambdifiedGradient"]


@dataclass
class _Compiled:
    target: str
    fn: Callable[..., np.ndarray]
    args: tuple[str, ...]
    source: str
    scalars: tuple[str, ...] = ("m",)


def _compile(lhs: MatrixSymbol, rhs: Any, net: SymbolicNetwork) -> tuple[list[tuple[str, str, int, str]], _Compiled]:
    """Lambdify ``rhs``; Apply nodes become inputs computed beforehand."""
    pre: list[tuple[str, str, int, str]] = []
    repl = {}
    for node in sorted(rhs.atoms(Apply), key=str):
        name = f"{node.fn}{'_d' * node.order}_{node.arg.name}"
        repl[node] = MatrixSymbol(name, *node.shape)
        pre.append((name, node.fn, node.order, node.arg.name))
    expr = rhs.xreplace(repl)
    mats = sorted((a for a in expr.free_symbols if isinstance(a, MatrixSymbol)), key=lambda s: s.name)
    scalars = sorted((a for a in expr.free_symbols if not isinstance(a, MatrixSymbol)), key=str)
    known = {net.m, net.lam, *(net.size(i) for i in range(net.depth + 1))}
    if any(s not in known for s in scalars):
        raise RuntimeError(f"formula for {lhs} depends on unknown scalars: {scalars}")
    scalars = [net.m] + [s for s in scalars if s != net.m]
    args = [*mats, *scalars]
    printer = NumPyMatrixPrinter({"fully_qualified_modules": False, "inline": True,
                                  "allow_unknown_functions": True, "user_functions": {}})
    namespace = dict(INPLACE_NAMESPACE)
    if lhs.name.startswith("Z"):  # a pre-activation: consumed in this call, never returned
        namespace["_mm"] = lambda a, b: np.matmul(
            a, b, out=scratch(("derive", lhs.name), (a.shape[0], b.shape[1]), np.result_type(a, b)))
    fn = sp.lambdify(args, expr, modules=[namespace, "numpy"], printer=printer, docstring_limit=0)
    body = printer.doprint(expr)
    return pre, _Compiled(lhs.name, fn, tuple(a.name for a in mats), f"{lhs.name} = {body}",
                          tuple(str(a) for a in scalars))


class LambdifiedGradient:
    """``grad_fn(params, X, Y) -> {"dW1": ..., "db1": ..., ...}`` from the derived formulas,
    each printed by ``sympy.lambdify`` (the reference path; :func:`gradient_function`
    returns the generated in-place code of :mod:`derive.codegen`).

    Attributes:
        activations: the hidden activations as sympy expressions in ``z``.
        derivatives: their derivatives, as sympy's ``diff`` gives them.
        source: the generated NumPy code, one line per step.
    """

    def __init__(
        self, activations: Mapping[str, sp.Expr], net: SymbolicNetwork = ARTICLE, *,
        network: PlainNetwork | None = None,
    ) -> None:
        self.net = net
        self.network = network
        self.activations = dict(activations)
        self.derivatives = {k: derivative_expr(e) for k, e in self.activations.items()}
        self._elementwise = {"sigma": _value_and_derivative(sigmoid(z))}
        for name, expr in self.activations.items():
            self._elementwise[name] = _value_and_derivative(expr)
        self._grad_names = [f"d{p}" for p in net.parameter_names()]
        dZ_names = [f"dZ{l}" for l in range(1, net.depth + 1)]
        plan = [_compile(s.lhs, s.rhs, net) for s in derive_forward(net).steps + derive_backward(net).steps]
        # keep only the steps the outputs need (dA's are inlined into the dZ's)
        needed, self._plan = set(self._grad_names + dZ_names), []
        for pre, c in reversed(plan):
            if c.target in needed:
                self._plan.insert(0, (pre, c))
                needed.update(c.args)
                needed.update(arg for _, _, _, arg in pre)
        lines = []
        for pre, c in self._plan:
            lines += [f"{name} = {fn}{chr(39) * order}({arg})" for name, fn, order, arg in pre]
            lines.append(c.source)
        self.source = "\n".join(lines)

    def __call__(
        self, params: Mapping[str, Any], X: Any, Y: Any, *, return_dZ: bool = False
    ) -> dict[str, np.ndarray]:
        """Evaluate the derived gradients.

        Args:
            params: ``W1 b1 W2 b2 W3 b3`` (shapes of DESIGN.md's table).
            X: inputs, d x m.  Y: targets in [0, 1], q x m.
            return_dZ: also return ``dZ1 dZ2 dZ3`` (``m dJ/dZ`` convention).
        """
        if self.network is not None:
            P, Xa, Ya = check_problem(params, X, Y, self.network)
        elif self.net.depth == 3:
            P, Xa, Ya = check_network(params, X, Y)
        else:
            P, Xa, Ya = dict(params), np.asarray(X), np.asarray(Y)
        env: dict[str, np.ndarray] = {**P, "X": Xa, "Y": Ya}
        scalars: dict[str, Any] = {"m": Xa.shape[1], "lambda": self.network.l2 if self.network else 0.0}
        scalars[self.net.widths[0]] = Xa.shape[0]
        for layer in range(1, self.net.depth + 1):
            scalars[self.net.widths[layer]] = np.shape(P[f"W{layer}"])[0]
        with np.errstate(over="ignore", under="ignore"):
            for pre, c in self._plan:
                for name, fn, order, arg in pre:
                    if name not in env:  # f(Z) and f'(Z) come from one pass
                        env[f"{fn}_{arg}"], env[f"{fn}_d_{arg}"] = self._elementwise[fn](env[arg], arg)
                env[c.target] = c.fn(*(env[a] for a in c.args), *(scalars[k] for k in c.scalars))
        out = {k: env[k] for k in self._grad_names}
        if return_dZ:
            out.update({f"dZ{l}": env[f"dZ{l}"] for l in range(1, self.net.depth + 1)})
        return out

    def __repr__(self) -> str:
        acts = ", ".join(f"{k}={v}" for k, v in self.activations.items())
        return f"LambdifiedGradient({acts})"


@lru_cache(maxsize=256)
def _cached(f: Any, g: Any) -> LambdifiedGradient:
    return LambdifiedGradient({"f": activation_expr(f), "g": activation_expr(g)})


@lru_cache(maxsize=256)
def _cached_network(network: PlainNetwork) -> LambdifiedGradient:
    return _network_function(network)


def _network_function(network: PlainNetwork) -> LambdifiedGradient:
    sym = as_symbolic(network)
    acts = {ph: _symbolic_activation(spec) for ph, spec in zip(sym.activations, network.activations)}
    return LambdifiedGradient(acts, sym, network=network)


def lambdified_gradient(f: Any = "swish", g: Any = "leaky_relu", *, network: PlainNetwork | None = None) -> LambdifiedGradient:
    """The sympy-derived gradients of a network, lambdified (the reference path).

    Call it as ``gradient_function(network)`` (or ``network=``) for any
    :class:`numeric.Network`, or as ``gradient_function(f, g)`` for the
    article's network.  With a description the targets are checked as
    :func:`numeric.backward` checks them (integer labels become one-hot; for
    softmax-ce every column of Y must sum to 1).

    Args:
        f, g: the article's hidden activations: catalog names or sympy
            expressions in ``z`` (see :func:`derive.activations.activation_expr`).
        network: any description; its activations may be catalog names,
            expressions or expression text.

    Returns:
        A :class:`LambdifiedGradient`; call it as ``grad_fn(params, X, Y)``.
        It works at any shapes.  Results are cached per ``(f, g)``.

    Example:
        >>> import numpy as np, numeric
        >>> grad_fn = lambdified_gradient("swish", "leaky_relu")
        >>> P = numeric.init_params(3, 4, 2)
        >>> X, Y = np.ones((3, 5)), np.zeros((1, 5))
        >>> G = grad_fn(P, X, Y)
        >>> bool(np.allclose(G["dW1"], numeric.backward(P, X, Y)["dW1"], rtol=1e-12))
        True
    """
    if isinstance(f, PlainNetwork):
        network, f = f, "swish"
    if network is not None:
        if not isinstance(network, PlainNetwork):
            raise InputError(f"network must be a numeric.Network, got {type(network).__name__}")
        try:
            return _cached_network(network)
        except TypeError as exc:
            if "unhashable" not in str(exc):
                raise
            return _network_function(network)
    try:
        return _cached(f, g)
    except TypeError as exc:
        if "unhashable" not in str(exc):
            raise
        return LambdifiedGradient({"f": activation_expr(f), "g": activation_expr(g)})


GradientFunction = GeneratedGradient


def gradient_function(f: Any = "swish", g: Any = "leaky_relu", *, network: PlainNetwork | None = None) -> GeneratedGradient:
    """The sympy-derived gradients of a network, as generated in-place NumPy code.

    Call it as ``gradient_function(network)`` (or ``network=``) for any
    :class:`numeric.Network`, or as ``gradient_function(f, g)`` for the
    article's network; ``grad_fn.source`` is the Python that runs
    (:func:`derive.codegen.compile_gradient`).  :func:`lambdified_gradient`
    gives the same gradients through ``sympy.lambdify``.

    Example:
        >>> import numpy as np, numeric
        >>> grad_fn = gradient_function("swish", "leaky_relu")
        >>> P = numeric.init_params(3, 4, 2)
        >>> X, Y = np.ones((3, 5)), np.zeros((1, 5))
        >>> bool(np.allclose(grad_fn(P, X, Y)["dW1"], numeric.backward(P, X, Y)["dW1"], rtol=1e-12))
        True
    """
    return compile_gradient(f, g, network=network)
