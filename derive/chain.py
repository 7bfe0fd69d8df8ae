"""The network as a chain of operations, each with its backward rule.

A network is ``Affine(1), Elementwise(1), ..., Affine(L), head(L)``; the
heads (sigmoid + BCE, softmax + CE, identity or sigmoid + MSE) are in
:mod:`derive.heads`.
Each operation states its forward equation and its vector-Jacobian rule in
matrix form (DESIGN.md, "How the derivation works"):

=============  ======================  ======================================
operation      forward                 backward, G = upstream gradient
=============  ======================  ======================================
affine         Z = W A + b 1^T         dW = G A^T / m, db = G 1 / m, dA = W^T G
elementwise    A = f(Z)                dZ = dA o f'(Z)
sigmoid + BCE  J = BCE(sigma(Z), Y)    dZ = A - Y
=============  ======================  ======================================

Gradients follow the article's convention ``dZ = N dJ/dZ`` (and
``dA = N dJ/dA``) with ``N = m`` (mean reduction; 1 under the sum), so dW
and db carry the ``1/N``; with L2, ``dW`` gains ``(lambda/m) W`` or
``lambda W``.  :func:`derive_backward`
runs the reverse pass and records every step; nothing here is specific to
three layers.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.matrices.expressions import HadamardProduct, MatrixSymbol

from derive.heads import HEAD_OPS, IdentityMSE, Operation, SigmoidBCE, SigmoidMSE, SoftmaxCE
from derive.matrix import Apply, Ones
from derive.steps import Derivation
from numeric.description import HEADS
from numeric.description import Network as PlainNetwork

__all__ = [
    "SymbolicNetwork",
    "Network",
    "as_symbolic",
    "placeholders",
    "Affine",
    "Elementwise",
    "SigmoidBCE",
    "SoftmaxCE",
    "IdentityMSE",
    "SigmoidMSE",
    "HEAD_OPS",
    "derive_forward",
    "derive_backward",
    "formulas",
    "ARTICLE",
]


_HIDDEN_WIDTHS = ("n", "p", "r", "s", "t", "u", "v")
_HIDDEN_FUNCS = ("f", "g", "h", "k", "phi", "psi", "chi")


@dataclass(frozen=True)
class SymbolicNetwork:
    """derive's symbolic view of a network: width *names* and placeholder
    activation names, built from a plain :class:`numeric.Network` by
    :func:`as_symbolic` (or written directly).

    The article's network is ``SymbolicNetwork(("d", "n", "p", "q"), ("f", "g"))``:
    two hidden layers with activations f and g, and a sigmoid output layer
    trained with the binary cross-entropy.  ``head``, ``reduction``, ``mse``
    and ``l2_convention`` mean what they mean on :class:`numeric.Network`;
    ``l2`` says whether the cost has an L2 term (its rate is the symbol
    lambda).
    """

    widths: tuple[str, ...] = ("d", "n", "p", "q")
    activations: tuple[str, ...] = ("f", "g")
    head: str = "sigmoid-bce"
    reduction: str = "mean"
    mse: str = "half"
    l2: bool = False
    l2_convention: str = "lambda/2m"

    def __post_init__(self) -> None:
        # the names become sympy symbols and, in generated code, Python names: identifiers only
        for kind, names in (("width", self.widths), ("activation", self.activations)):
            for name in names:
                if not (isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)):
                    raise ValueError(f"a {kind} name must be a Python identifier such as 'n' or 'f', got {name!r}")
        if len(self.widths) < 2:
            raise ValueError("a network needs an input width and an output width")
        if len(self.activations) != len(self.widths) - 2:
            raise ValueError(
                f"{len(self.widths) - 2} hidden layers need as many activations, got {self.activations}"
            )
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {self.head!r}")

    @property
    def depth(self) -> int:
        return len(self.widths) - 1

    @property
    def m(self) -> sp.Symbol:
        return sp.Symbol("m", integer=True, positive=True)

    @property
    def N(self) -> sp.Expr:
        """The batch normaliser: m under the mean reduction, 1 under the sum."""
        return self.m if self.reduction == "mean" else sp.S.One

    @property
    def lam(self) -> sp.Symbol:
        """The L2 rate lambda."""
        return sp.Symbol("lambda", positive=True)

    @property
    def l2_rate(self) -> sp.Expr:
        """``r`` in ``dW += r W``: lambda/m or lambda (0 without L2)."""
        if not self.l2:
            return sp.S.Zero
        return self.lam / self.m if self.l2_convention == "lambda/2m" else self.lam

    @property
    def output_scale(self) -> sp.Expr:
        """``c`` in ``dZ_L = c (A_L - Y)``: 2/q or 2 for MSE under the torch convention, else 1."""
        if self.head.endswith("mse") and self.mse == "torch":
            return 2 / self.size(self.depth) if self.reduction == "mean" else sp.Integer(2)
        return sp.S.One

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
        chain.append(HEAD_OPS[self.head](self.depth))
        return chain

    def parameter_names(self) -> list[str]:
        return [f"{k}{layer}" for layer in range(1, self.depth + 1) for k in ("W", "b")]


Network = SymbolicNetwork  # the old name inside derive.chain; derive.Network is numeric.Network


def as_symbolic(net: Any = None) -> SymbolicNetwork:
    """The symbolic view of a plain description (a SymbolicNetwork is returned as is).

    Widths are named ``d, n, p, q`` for the article's depth (``d, q``; ``d, n,
    q``; ``d, n, p, r, q`` ... otherwise) and the hidden activations become
    the placeholders ``f, g, h, k, ...``: the derivation holds for every
    differentiable activation.

    Example:
        >>> import numeric
        >>> as_symbolic(numeric.Network(widths=(5, 4, 3), activations=("relu",), head="softmax-ce"))
        SymbolicNetwork(widths=('d', 'n', 'q'), activations=('f',), head='softmax-ce', reduction='mean', mse='half', l2=False, l2_convention='lambda/2m')
    """
    if net is None:
        return ARTICLE
    if isinstance(net, SymbolicNetwork):
        return net
    if not isinstance(net, PlainNetwork):
        raise TypeError(f"expected a numeric.Network or SymbolicNetwork, got {type(net).__name__}")
    hidden = net.depth - 1
    if hidden > len(_HIDDEN_WIDTHS):
        widths = ("d", *(f"n{i}" for i in range(1, hidden + 1)), "q")
        funcs = tuple(f"f{i}" for i in range(1, hidden + 1))
    else:
        widths = ("d", *_HIDDEN_WIDTHS[:hidden], "q")
        funcs = _HIDDEN_FUNCS[:hidden]
    return SymbolicNetwork(widths, funcs, net.head, net.reduction, net.mse, bool(net.l2), net.l2_convention)


def placeholders(net: PlainNetwork) -> dict[str, Any]:
    """Placeholder name of each hidden layer -> the activation the description gives."""
    return dict(zip(as_symbolic(net).activations, net.activations))


ARTICLE = SymbolicNetwork()


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
        l, m, N = self.layer, net.m, net.N
        G = net.mat("dZ", l)
        dW = G * net.A(l - 1).T / N
        if net.l2:
            deriv.add("affine: weight + L2", net.mat("dW", l), dW + net.l2_rate * net.mat("W", l))
        else:
            deriv.add("affine: weight", net.mat("dW", l), dW)
        deriv.add("affine: bias", net.mat("db", l), G * Ones(m, 1) / N)
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


def derive_forward(net: Any = ARTICLE) -> Derivation:
    """The forward equations, in order (``net``: a plain or symbolic network)."""
    net = as_symbolic(net)
    deriv = Derivation("forward propagation")
    for op in net.ops():
        op.forward(net, deriv)
    return deriv


def derive_backward(net: Any = ARTICLE) -> Derivation:
    """The reverse pass: apply each operation's rule from the cost back
    (``net``: a plain or symbolic network).

    Example:
        >>> d = derive_backward()
        >>> [str(s.lhs) for s in d.steps]
        ['dZ3', 'dW3', 'db3', 'dA2', 'dZ2', 'dW2', 'db2', 'dA1', 'dZ1', 'dW1', 'db1']
        >>> str(d.steps[4].rhs)
        "HadamardProduct(W3.T*dZ3, g'(Z2))"
    """
    net = as_symbolic(net)
    deriv = Derivation("backward propagation")
    for op in reversed(net.ops()):
        op.backward(net, deriv)
    return deriv


def formulas(net: Any = ARTICLE) -> dict[str, Any]:
    """Gradient name -> right-hand side (``"dW2"`` -> ``dZ2 A1^T / m``), dA's excluded."""
    return {str(s.lhs): s.rhs for s in derive_backward(net).steps if not str(s.lhs).startswith("dA")}
