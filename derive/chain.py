"""The network as a chain of operations, each with its backward rule.

A network is ``Affine(1), Elementwise(1), ..., Affine(L), SigmoidBCE(L)``.
Each operation states its forward equation and its vector-Jacobian rule in
matrix form (DESIGN.md, "How the derivation works"):

=============  ======================  ======================================
operation      forward                 backward, G = upstream gradient
=============  ======================  ======================================
affine         Z = W A + b 1^T         dW = G A^T / m, db = G 1 / m, dA = W^T G
elementwise    A = f(Z)                dZ = dA o f'(Z)
sigmoid + BCE  J = BCE(sigma(Z), Y)    dZ = A - Y
=============  ======================  ======================================

Gradients follow the article's convention ``dZ = m dJ/dZ`` (and
``dA = m dJ/dA``), so dW and db carry the ``1/m``.  :func:`derive_backward`
runs the reverse pass and records every step; nothing here is specific to
three layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.matrices.expressions import HadamardProduct, MatrixSymbol

from derive.matrix import Apply, Ones
from derive.steps import Derivation

__all__ = ["Network", "Affine", "Elementwise", "SigmoidBCE", "derive_forward", "derive_backward", "ARTICLE"]


@dataclass(frozen=True)
class Network:
    """Layer widths (input first) and hidden activation names.

    The article's network is ``Network(("d", "n", "p", "q"), ("f", "g"))``:
    two hidden layers with activations f and g, and a sigmoid output layer
    trained with the binary cross-entropy.
    """

    widths: tuple[str, ...] = ("d", "n", "p", "q")
    activations: tuple[str, ...] = ("f", "g")

    def __post_init__(self) -> None:
        if len(self.widths) < 2:
            raise ValueError("a network needs an input width and an output width")
        if len(self.activations) != len(self.widths) - 2:
            raise ValueError(
                f"{len(self.widths) - 2} hidden layers need as many activations, got {self.activations}"
            )

    @property
    def depth(self) -> int:
        return len(self.widths) - 1

    @property
    def m(self) -> sp.Symbol:
        return sp.Symbol("m", integer=True, positive=True)

    def size(self, layer: int) -> sp.Symbol:
        return sp.Symbol(self.widths[layer], integer=True, positive=True)

    def mat(self, name: str, layer: int | None = None, cols: Any = None) -> MatrixSymbol:
        """The MatrixSymbol for ``name`` at ``layer`` (``"W", 2`` -> W2)."""
        if name == "X":
            return MatrixSymbol("X", self.size(0), self.m)
        if name == "Y":
            return MatrixSymbol("Y", self.size(self.depth), self.m)
        rows = self.size(layer)
        if cols is None:
            cols = {"W": self.size(layer - 1), "b": 1}.get(name.lstrip("d"), self.m)
        return MatrixSymbol(f"{name}{layer}", rows, cols)

    def A(self, layer: int) -> MatrixSymbol:
        return self.mat("X") if layer == 0 else self.mat("A", layer)

    def ops(self) -> list["Operation"]:
        chain: list[Operation] = []
        for layer in range(1, self.depth + 1):
            chain.append(Affine(layer))
            if layer < self.depth:
                chain.append(Elementwise(layer, self.activations[layer - 1]))
        chain.append(SigmoidBCE(self.depth))
        return chain

    def parameter_names(self) -> list[str]:
        return [f"{k}{layer}" for layer in range(1, self.depth + 1) for k in ("W", "b")]


ARTICLE = Network()


class Operation:
    """One link of the chain: a forward equation and a backward rule."""

    layer: int

    def forward(self, net: Network, deriv: Derivation) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, net: Network, deriv: Derivation) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Affine(Operation):
    """``Z_l = W_l A_{l-1} + b_l 1^T``."""

    layer: int

    def forward(self, net: Network, deriv: Derivation) -> None:
        l = self.layer
        deriv.add(
            "affine",
            net.mat("Z", l),
            net.mat("W", l) * net.A(l - 1) + net.mat("b", l) * Ones(1, net.m),
        )

    def backward(self, net: Network, deriv: Derivation) -> None:
        l, m = self.layer, net.m
        G = net.mat("dZ", l)
        deriv.add("affine: weight", net.mat("dW", l), G * net.A(l - 1).T / m)
        deriv.add("affine: bias", net.mat("db", l), G * Ones(m, 1) / m)
        if l > 1:
            deriv.add("affine: input", net.mat("dA", l - 1), net.mat("W", l).T * G)


@dataclass(frozen=True)
class Elementwise(Operation):
    """``A_l = f_l(Z_l)`` for a differentiable activation named ``fn``."""

    layer: int
    fn: str

    def forward(self, net: Network, deriv: Derivation) -> None:
        l = self.layer
        deriv.add("elementwise", net.mat("A", l), Apply(self.fn, net.mat("Z", l)))

    def backward(self, net: Network, deriv: Derivation) -> None:
        l = self.layer
        upstream = deriv.steps[-1]
        if upstream.lhs != net.mat("dA", l):
            raise RuntimeError(f"elementwise rule at layer {l} expected dA{l} upstream, got {upstream.lhs}")
        # substitute dA_l = W_{l+1}^T dZ_{l+1} so dZ reads as in DESIGN.md
        deriv.add(
            "elementwise",
            net.mat("dZ", l),
            HadamardProduct(upstream.rhs, Apply(self.fn, net.mat("Z", l), 1)),
        )


@dataclass(frozen=True)
class SigmoidBCE(Operation):
    """``A_L = sigma(Z_L)`` and the mean binary cross-entropy ``J``.

    Its backward rule ``dZ_L = A_L - Y`` is the collapse of the BCE and
    sigmoid derivatives derived step by step in :mod:`derive.scalar`.
    """

    layer: int

    def forward(self, net: Network, deriv: Derivation) -> None:
        l = self.layer
        deriv.add("sigmoid", net.mat("A", l), Apply("sigma", net.mat("Z", l)))

    def backward(self, net: Network, deriv: Derivation) -> None:
        l = self.layer
        deriv.add("sigmoid + BCE", net.mat("dZ", l), net.mat("A", l) - net.mat("Y"))

    @staticmethod
    def cost(A: sp.Matrix, Y: sp.Matrix, m: int) -> sp.Expr:
        """The mean BCE of explicit matrices: ``-(1/m) sum [Y log A + (1-Y) log(1-A)]``."""
        return -sp.Rational(1, m) * sp.Add(
            *[Y[i] * sp.log(A[i]) + (1 - Y[i]) * sp.log(1 - A[i]) for i in range(len(A))]
        )


def derive_forward(net: Network = ARTICLE) -> Derivation:
    """The forward equations, in order."""
    deriv = Derivation("forward propagation")
    for op in net.ops():
        op.forward(net, deriv)
    return deriv


def derive_backward(net: Network = ARTICLE) -> Derivation:
    """The reverse pass: apply each operation's rule from the cost back.

    Example:
        >>> d = derive_backward()
        >>> [str(s.lhs) for s in d.steps]
        ['dZ3', 'dW3', 'db3', 'dA2', 'dZ2', 'dW2', 'db2', 'dA1', 'dZ1', 'dW1', 'db1']
        >>> str(d.steps[4].rhs)
        "HadamardProduct(W3.T*dZ3, g'(Z2))"
    """
    deriv = Derivation("backward propagation")
    for op in reversed(net.ops()):
        op.backward(net, deriv)
    return deriv


def formulas(net: Network = ARTICLE) -> dict[str, Any]:
    """Gradient name -> right-hand side (``"dW2"`` -> ``dZ2 A1^T / m``), dA's excluded."""
    return {str(s.lhs): s.rhs for s in derive_backward(net).steps if not str(s.lhs).startswith("dA")}
