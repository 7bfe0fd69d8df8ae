"""Machine-independent arithmetic for the numbers the report prints.

NumPy's matrix products go through BLAS, whose summation order (and use of
fused multiply-add) depends on the CPU kernel and the thread count, and its
``exp``/``log`` may use SIMD code that differs in the last bit between
CPUs.  So the numbers the report prints are computed here instead: every
entry of the article's network in a fixed order of operations, with
mpmath (pure Python) at whatever precision the caller sets.  At 53 bits
this is float64 arithmetic, rounded after each operation as IEEE does; at
40 digits it is a reference.

Example:
    >>> import numpy as np, mpmath
    >>> from derive.expr import activation_expr
    >>> P = {"W1": np.ones((1, 1)), "b1": np.zeros((1, 1)), "W2": np.ones((1, 1)),
    ...      "b2": np.zeros((1, 1)), "W3": np.ones((1, 1)), "b3": np.zeros((1, 1))}
    >>> net = MpNetwork(activation_expr("identity"), activation_expr("identity"), P, np.zeros((1, 1)), np.ones((1, 1)))
    >>> with mpmath.workdps(20):
    ...     print(mpmath.nstr(net.cost(), 15))   # log 2
    0.693147180559945
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Mapping

import mpmath
import numpy as np
import sympy as sp

__all__ = ["mp_function", "MpNetwork", "PARAMS"]

PARAMS = ("W1", "b1", "W2", "b2", "W3", "b3")
_Z = sp.Symbol("z", real=True)


def _mp_softplus(x: Any) -> Any:
    if isinstance(x, mpmath.mpc):
        return mpmath.log(1 + mpmath.exp(x))
    return (x if x > 0 else 0) + mpmath.log1p(mpmath.exp(-abs(x)))


_MODULES = [{"softplus": _mp_softplus, "Heaviside": lambda x, h0=0.5: 1 if x > 0 else (0 if x < 0 else h0)}, "mpmath"]


@lru_cache(maxsize=64)
def _lambdified(expr: Any) -> Callable[[Any], Any]:
    free = [s for s in expr.free_symbols if s.name == "z"]
    var = free[0] if free else _Z
    return sp.lambdify(var, expr, modules=_MODULES)


def mp_function(expr: Any) -> Callable[[Any], Any]:
    """``expr`` (a sympy expression in ``z``) as a function of an mpmath number.

    Piecewise conditions compare real numbers, so a piecewise function raises
    TypeError on complex input (it has no analytic continuation anyway).
    Functions mpmath does not know are evaluated by sympy's ``evalf`` at the
    current precision (slower, equally machine-independent).
    """
    try:
        fn = _lambdified(expr)
    except Exception:  # noqa: BLE001 - a printer gap: fall back to evalf
        fn = None
    free = [s for s in expr.free_symbols if s.name == "z"]
    var = free[0] if free else _Z

    def slow(x: Any) -> Any:
        val = sp.N(expr.subs(var, sp.Float(str(x), mpmath.mp.dps + 5) if not isinstance(x, mpmath.mpc)
                             else sp.Float(str(x.real), mpmath.mp.dps + 5) + sp.I * sp.Float(str(x.imag), mpmath.mp.dps + 5)),
                   mpmath.mp.dps + 5)
        if not val.is_number:
            raise TypeError(f"cannot evaluate {expr} numerically")
        c = complex(val) if val.has(sp.I) else None
        return mpmath.mpc(str(sp.re(val)), str(sp.im(val))) if c is not None else mpmath.mpf(str(val))

    if fn is None:
        return slow

    def call(x: Any) -> Any:
        try:
            out = fn(x)
        except (NameError, AttributeError):
            return slow(x)
        return out if isinstance(out, (mpmath.mpf, mpmath.mpc)) else mpmath.mpmathify(out)

    return call


class MpNetwork:
    """The article's 3-layer network on one fixed problem, evaluated entry by entry.

    Args:
        f, g: the hidden activations as sympy expressions in ``z``.
        params, X, Y: float64 arrays (converted exactly to mpmath numbers).
    """

    def __init__(self, f: Any, g: Any, params: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray) -> None:
        self.f, self.g = mp_function(f), mp_function(g)
        self.shapes = {k: np.asarray(params[k]).shape for k in PARAMS}
        self.params = {k: [[float(v) for v in row] for row in np.asarray(params[k], dtype=float)] for k in PARAMS}
        self.X = [[float(v) for v in row] for row in np.asarray(X, dtype=float)]
        self.Y = [[float(v) for v in row] for row in np.asarray(Y, dtype=float)]

    def _layer(self, W: list, b: list, A: list, act: Callable[[Any], Any] | None) -> list:
        m = len(A[0])
        out = []
        for i in range(len(W)):
            row = []
            for k in range(m):
                s = b[i][0]
                for j in range(len(A)):
                    s = s + W[i][j] * A[j][k]  # left to right, one rounding per operation
                row.append(act(s) if act is not None else s)
            out.append(row)
        return out

    def cost(self, param: str | None = None, index: tuple[int, int] = (0, 0), delta: Any = 0) -> Any:
        """The mean BCE, from the logits, with ``param[index]`` moved by ``delta``
        (a real or complex mpmath number), at the current mpmath precision."""
        P = {k: [[mpmath.mpf(v) for v in row] for row in rows] for k, rows in self.params.items()}
        if param is not None:
            P[param][index[0]][index[1]] = P[param][index[0]][index[1]] + delta
        X = [[mpmath.mpf(v) for v in row] for row in self.X]
        A1 = self._layer(P["W1"], P["b1"], X, self.f)
        A2 = self._layer(P["W2"], P["b2"], A1, self.g)
        Z3 = self._layer(P["W3"], P["b3"], A2, None)
        total = mpmath.mpf(0)
        m = len(X[0])
        for i in range(len(Z3)):
            for k in range(m):
                z, y = Z3[i][k], mpmath.mpf(self.Y[i][k])
                total = total + (_mp_softplus(z) - y * z)
        return total / m

    def reference_gradient(self) -> dict[str, list[tuple[tuple[int, int], Any]]]:
        """Every partial derivative of the cost, by mpmath's numerical
        differentiation at the current precision (set it high: 40 digits)."""
        out: dict[str, list[tuple[tuple[int, int], Any]]] = {}
        for k in PARAMS:
            rows, cols = self.shapes[k]
            out[k] = [
                ((i, j), mpmath.diff(lambda t, k=k, i=i, j=j: self.cost(k, (i, j), t), 0))
                for i in range(rows)
                for j in range(cols)
            ]
        return out
