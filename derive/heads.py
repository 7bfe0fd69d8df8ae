"""The output layer and cost of each head, as operations of the chain.

Each head states its forward equation ``A_L = out(Z_L)``, its backward rule
for ``dZ_L = N dJ/dZ_L`` (``N = m`` for the mean reduction, 1 for the sum)
and its cost of explicit matrices (for the exact proof):

==============  ===============  ====================================  =========================================
head            A_L              J (mean; the sum drops the 1/m)        dZ_L
==============  ===============  ====================================  =========================================
sigmoid-bce     sigma(Z_L)       -(1/m) sum Y log A + (1-Y) log(1-A)    A_L - Y
softmax-ce      softmax(Z_L)     -(1/m) sum Y log A                     A_L - Y  (every column of Y sums to 1)
identity-mse    Z_L              (1/2m) sum (A-Y)^2  | 1/(qm) sum ...   c (A_L - Y), c = 1 | 2/q (2 under sum)
sigmoid-mse     sigma(Z_L)       as identity-mse                       c (A_L - Y) * sigma'(Z_L)
==============  ===============  ====================================  =========================================

The step-by-step scalar derivations of these rules are in
:mod:`derive.scalar` and :mod:`derive.scalar_heads`; their index-form proofs
in :mod:`derive.proof.head_rules`.  ``net`` below is a
:class:`derive.chain.SymbolicNetwork`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.matrices.expressions import HadamardProduct, MatMul

from derive.matrix import Apply, Softmax
from derive.steps import Derivation

__all__ = ["Operation", "SigmoidBCE", "SoftmaxCE", "IdentityMSE", "SigmoidMSE", "HEAD_OPS", "sum_to_one"]


class Operation:
    """One link of the chain: a forward equation and a backward rule."""

    layer: int

    def forward(self, net: Any, deriv: Derivation) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, net: Any, deriv: Derivation) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def _scale(net: Any, expr: Any) -> Any:
    c = net.output_scale
    return expr if c == 1 else MatMul(c, expr)  # unevaluated: prints as c (A - Y)


def _squares(A: sp.Matrix, Y: sp.Matrix) -> sp.Expr:
    return sp.Add(*[(A[i] - Y[i]) ** 2 for i in range(len(A))])


def _mse_cost(A: sp.Matrix, Y: sp.Matrix, net: Any, sizes: dict[Any, int]) -> sp.Expr:
    m, q = sizes[net.m], A.rows
    N = m if net.reduction == "mean" else 1
    if net.mse == "half":
        return _squares(A, Y) / (2 * N)
    return _squares(A, Y) / (q * m if net.reduction == "mean" else 1)


def _normaliser(net: Any, sizes: dict[Any, int]) -> int:
    return sizes[net.m] if net.reduction == "mean" else 1


@dataclass(frozen=True)
class SigmoidBCE(Operation):
    """``A_L = sigma(Z_L)`` and the binary cross-entropy ``J``.

    Its backward rule ``dZ_L = A_L - Y`` is the collapse of the BCE and
    sigmoid derivatives derived step by step in :mod:`derive.scalar`.
    """

    layer: int
    title = "sigmoid + BCE"

    def forward(self, net: Any, deriv: Derivation) -> None:
        deriv.add("sigmoid", net.mat("A", self.layer), Apply("sigma", net.mat("Z", self.layer)))

    def backward(self, net: Any, deriv: Derivation) -> None:
        l = self.layer
        deriv.add("sigmoid + BCE", net.mat("dZ", l), net.mat("A", l) - net.mat("Y"))

    @staticmethod
    def cost(A: sp.Matrix, Y: sp.Matrix, m: int) -> sp.Expr:
        """The mean BCE of explicit matrices: ``-(1/m) sum [Y log A + (1-Y) log(1-A)]``."""
        return -sp.Rational(1, m) * sp.Add(
            *[Y[i] * sp.log(A[i]) + (1 - Y[i]) * sp.log(1 - A[i]) for i in range(len(A))]
        )

    def explicit_cost(self, Z: sp.Matrix, A: sp.Matrix, Y: sp.Matrix, net: Any, sizes: dict[Any, int]) -> sp.Expr:
        return SigmoidBCE.cost(A, Y, _normaliser(net, sizes))


@dataclass(frozen=True)
class SoftmaxCE(Operation):
    """``A_L = softmax(Z_L)`` (per column) and the cross-entropy ``-sum Y log A``.

    The rule ``dZ_L = A_L - Y`` holds only when every column of Y sums to 1
    (one-hot labels, or label smoothing): the softmax Jacobian gives
    ``a_k sum_i y_i - y_k``.  The proofs substitute that assumption; the
    numeric side refuses a Y that breaks it.
    """

    layer: int
    title = "softmax + CE"
    assumption = "every column of Y sums to 1"

    def forward(self, net: Any, deriv: Derivation) -> None:
        deriv.add("softmax", net.mat("A", self.layer), Softmax(net.mat("Z", self.layer)))

    def backward(self, net: Any, deriv: Derivation) -> None:
        l = self.layer
        deriv.add("softmax + CE", net.mat("dZ", l), net.mat("A", l) - net.mat("Y"))

    def explicit_cost(self, Z: sp.Matrix, A: sp.Matrix, Y: sp.Matrix, net: Any, sizes: dict[Any, int]) -> sp.Expr:
        """``-(1/N) sum_ij Y_ij log softmax(Z)_ij`` with ``log softmax(z)_i = z_i - log sum_k e^z_k``
        (the log of a quotient of positive reals)."""
        terms = []
        for j in range(Z.cols):
            lse = sp.log(sp.Add(*[sp.exp(Z[k, j]) for k in range(Z.rows)]))
            terms += [Y[i, j] * (Z[i, j] - lse) for i in range(Z.rows)]
        return -sp.Add(*terms) / _normaliser(net, sizes)


@dataclass(frozen=True)
class IdentityMSE(Operation):
    """``A_L = Z_L`` and the squared error under the network's MSE convention."""

    layer: int
    title = "identity + MSE"

    def forward(self, net: Any, deriv: Derivation) -> None:
        deriv.add("identity output", net.mat("A", self.layer), net.mat("Z", self.layer))

    def backward(self, net: Any, deriv: Derivation) -> None:
        l = self.layer
        deriv.add("identity + MSE", net.mat("dZ", l), _scale(net, net.mat("A", l) - net.mat("Y")))

    def explicit_cost(self, Z: sp.Matrix, A: sp.Matrix, Y: sp.Matrix, net: Any, sizes: dict[Any, int]) -> sp.Expr:
        return _mse_cost(A, Y, net, sizes)


@dataclass(frozen=True)
class SigmoidMSE(Operation):
    """``A_L = sigma(Z_L)`` and the squared error (Nielsen's ``network.py``)."""

    layer: int
    title = "sigmoid + MSE"

    def forward(self, net: Any, deriv: Derivation) -> None:
        deriv.add("sigmoid", net.mat("A", self.layer), Apply("sigma", net.mat("Z", self.layer)))

    def backward(self, net: Any, deriv: Derivation) -> None:
        l = self.layer
        deriv.add(
            "sigmoid + MSE",
            net.mat("dZ", l),
            HadamardProduct(_scale(net, net.mat("A", l) - net.mat("Y")), Apply("sigma", net.mat("Z", l), 1)),
        )

    def explicit_cost(self, Z: sp.Matrix, A: sp.Matrix, Y: sp.Matrix, net: Any, sizes: dict[Any, int]) -> sp.Expr:
        return _mse_cost(A, Y, net, sizes)


HEAD_OPS: dict[str, type] = {
    "sigmoid-bce": SigmoidBCE,
    "softmax-ce": SoftmaxCE,
    "identity-mse": IdentityMSE,
    "sigmoid-mse": SigmoidMSE,
}


def sum_to_one(Y: sp.Matrix) -> dict[sp.Expr, sp.Expr]:
    """The substitution that makes every column of a symbol-filled Y sum to 1:
    its last row becomes ``1 - (sum of the others)``."""
    last = Y.rows - 1
    return {Y[last, j]: 1 - sp.Add(*[Y[i, j] for i in range(last)]) for j in range(Y.cols)}
