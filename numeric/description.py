"""The network description: plain data that every part of the project takes.

A :class:`Network` says what is computed, never how: integer layer widths
(input first), one activation per hidden layer, the head (output activation
plus loss), the batch reduction and an optional L2 term.  It holds no sympy
and no arrays, so ``numeric`` owns it and ``derive`` re-exports the same
class.

========================  ===============  ====================================================
head                      output A_L       cost J (reduction "mean"; "sum" drops the 1/m)
========================  ===============  ====================================================
``sigmoid-bce``           sigma(Z_L)       -(1/m) sum [Y log A + (1 - Y) log(1 - A)]
``softmax-ce``            softmax(Z_L)     -(1/m) sum Y log A   (each column of Y sums to 1)
``identity-mse``          Z_L              (1/2m) sum (A - Y)^2      (``mse="half"``)
                                           1/(q m) sum (A - Y)^2     (``mse="torch"``, MSELoss)
``sigmoid-mse``           sigma(Z_L)       as identity-mse (Nielsen's ``network.py``)
========================  ===============  ====================================================

L2 (``l2 = lambda``, biases never regularised): J gains
``(lambda / 2m) sum_l ||W_l||^2`` (``l2_convention="lambda/2m"``, the
deeplearning.ai course) or ``(lambda / 2) sum_l ||W_l||^2``
(``l2_convention="lambda/2"``, cs231n's ``0.5 * reg * sum(W * W)``).

Gradient convention: ``dZ_l = N dJ/dZ_l`` with ``N = m`` under the mean
reduction and ``N = 1`` under the sum; ``dW_l`` and ``db_l`` are the true
partials of J.  For the article's network this is DESIGN.md's ``dZ = m dJ/dZ``.

Example:
    >>> net = Network(widths=(784, 128, 64, 10), activations=("relu", "tanh"), head="softmax-ce")
    >>> net.depth, net.parameter_names()[-2:]
    (3, ('W3', 'b3'))
    >>> Network().is_article
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from numeric.errors import InputError

__all__ = ["Network", "HEADS", "REDUCTIONS", "MSE_CONVENTIONS", "L2_CONVENTIONS", "ARTICLE_NETWORK"]

HEADS: tuple[str, ...] = ("sigmoid-bce", "softmax-ce", "identity-mse", "sigmoid-mse")
REDUCTIONS: tuple[str, ...] = ("mean", "sum")
MSE_CONVENTIONS: tuple[str, ...] = ("half", "torch")
L2_CONVENTIONS: tuple[str, ...] = ("lambda/2m", "lambda/2")


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InputError(f"{name} must be one of {', '.join(repr(a) for a in allowed)}; got {value!r}")
    return value


def _activation_ok(spec: Any) -> bool:
    """A catalog name or expression text, an Activation, a (value, derivative)
    pair of callables, or (for derive) a sympy expression; never None."""
    if spec is None or isinstance(spec, (bool, int, float)):
        return False
    if isinstance(spec, tuple):  # callables (numeric) or expressions (derive)
        return len(spec) == 2 and all(s is not None and not isinstance(s, (bool, int, float)) for s in spec)
    return True


@dataclass(frozen=True)
class Network:
    """A feed-forward network, as plain data.

    Attributes:
        widths: layer widths, input first and output last (``(d, n, p, q)``
            for the article), or None: any widths, read from the
            parameters, with ``len(activations) + 1`` layers.
        activations: one per hidden layer: catalog names (both packages),
            ``Activation`` objects or ``(value, derivative)`` pairs of callables
            (numeric), sympy expressions, expression text or
            ``(value, derivative)`` pairs of expressions (derive only).
        head: ``"sigmoid-bce"``, ``"softmax-ce"``, ``"identity-mse"`` or
            ``"sigmoid-mse"`` (module docstring).
        reduction: ``"mean"`` over the batch (default) or ``"sum"``.
        mse: the MSE convention: ``"half"``, ``(1/2m) sum ||a - y||^2``, or
            ``"torch"``, PyTorch's ``MSELoss`` (mean over all q m entries).
            Only used by the MSE heads.
        l2: lambda >= 0; 0 means no weight decay.
        l2_convention: ``"lambda/2m"`` or ``"lambda/2"``.

    Raises:
        InputError: an unknown head, reduction or convention; widths that are
            not positive integers; a count of activations that does not match
            the widths; softmax-ce with fewer than 2 outputs.

    Example:
        >>> Network(widths=(4, 3, 2), activations=("relu",), head="identity-mse", mse="torch").describe()
        'widths 4-3-2, relu, head identity-mse (mse torch: 1/(q m) sum (A - Y)^2), reduction mean'
    """

    widths: tuple[int, ...] | None = None
    activations: tuple[Any, ...] = ("swish", "leaky_relu")
    head: str = "sigmoid-bce"
    reduction: str = "mean"
    mse: str = "half"
    l2: float = 0.0
    l2_convention: str = "lambda/2m"
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        acts = self.activations
        if isinstance(acts, (str, bytes)) or not isinstance(acts, (tuple, list)):
            acts = (acts,)  # one hidden activation given bare
        object.__setattr__(self, "activations", tuple(acts))
        for i, a in enumerate(self.activations, start=1):
            if not _activation_ok(a):
                raise InputError(f"activation of hidden layer {i} is not usable: {a!r}")
        if self.widths is not None:
            widths = tuple(self.widths) if isinstance(self.widths, (tuple, list)) else None
            if widths is not None and widths and all(isinstance(w, str) for w in widths):
                raise InputError(
                    "Network widths are integers; symbolic widths such as ('d', 'n', 'q') belong to "
                    "derive.SymbolicNetwork"
                )
            if widths is None or any(
                isinstance(w, bool) or not hasattr(w, "__index__") or int(w) < 1 for w in widths
            ):
                raise InputError(f"widths must be a sequence of positive integers, got {self.widths!r}")
            widths = tuple(int(w) for w in widths)
            if len(widths) < 2:
                raise InputError(f"widths need an input and an output width, got {widths}")
            if len(widths) - 2 != len(self.activations):
                raise InputError(
                    f"widths {widths} have {len(widths) - 2} hidden layers but {len(self.activations)} "
                    f"activations were given: {self.activations!r}"
                )
            object.__setattr__(self, "widths", widths)
        _choice("head", self.head, HEADS)
        _choice("reduction", self.reduction, REDUCTIONS)
        _choice("mse", self.mse, MSE_CONVENTIONS)
        _choice("l2_convention", self.l2_convention, L2_CONVENTIONS)
        l2 = self.l2
        if isinstance(l2, bool) or not isinstance(l2, (int, float)) or not (0 <= float(l2) < float("inf")):
            raise InputError(f"l2 must be a finite number >= 0, got {l2!r}")
        object.__setattr__(self, "l2", float(l2))
        if self.head == "softmax-ce" and self.widths is not None and self.widths[-1] < 2:
            raise InputError("softmax-ce needs at least 2 outputs (q >= 2); for one output use sigmoid-bce")
        try:
            h = hash((self.widths, self.activations, self.head, self.reduction, self.mse, self.l2,
                      self.l2_convention))
        except TypeError:  # an unhashable activation: identity hash
            h = id(self)
        object.__setattr__(self, "_hash", h)

    def __hash__(self) -> int:
        return self._hash

    # ------------------------------------------------------------ queries
    @property
    def depth(self) -> int:
        """Number of affine layers L (the article's: 3)."""
        return len(self.activations) + 1

    @property
    def is_article(self) -> bool:
        """Two hidden layers, sigmoid + mean BCE, no L2: the article's shape of network."""
        return self.depth == 3 and self.head == "sigmoid-bce" and self.reduction == "mean" and self.l2 == 0

    def parameter_names(self) -> tuple[str, ...]:
        """``("W1", "b1", ..., "WL", "bL")``."""
        return tuple(f"{k}{layer}" for layer in range(1, self.depth + 1) for k in ("W", "b"))

    def gradient_names(self) -> tuple[str, ...]:
        """``("dW1", "db1", ..., "dWL", "dbL")``."""
        return tuple("d" + p for p in self.parameter_names())

    def widths_from(self, params: Mapping[str, Any]) -> tuple[int, ...]:
        """The widths, or (when not fixed) those the weight matrices carry."""
        if self.widths is not None:
            return self.widths
        out = []
        for layer in range(1, self.depth + 1):
            shape = getattr(params.get(f"W{layer}"), "shape", None)
            if shape is None or len(shape) != 2:
                raise InputError(f"params needs a 2-D W{layer}")
            if layer == 1:
                out.append(int(shape[1]))
            out.append(int(shape[0]))
        return tuple(out)

    def with_activations(self, *activations: Any) -> "Network":
        """The same description with other hidden activations."""
        return Network(self.widths, tuple(activations), self.head, self.reduction, self.mse, self.l2,
                       self.l2_convention)

    def mse_text(self) -> str:
        """The MSE convention as a formula (printed in every report)."""
        N = "m" if self.reduction == "mean" else ""
        if self.mse == "half":
            return f"(1/2{N}) sum (A - Y)^2"
        return "1/(q m) sum (A - Y)^2" if N else "sum (A - Y)^2"

    def describe(self) -> str:
        """One line naming everything the description fixes.

        Example:
            >>> Network().describe()
            'widths any (depth 3), swish, leaky_relu, head sigmoid-bce, reduction mean'
        """
        widths = "-".join(map(str, self.widths)) if self.widths else f"any (depth {self.depth})"
        parts = [f"widths {widths}"] + [_act_name(a) for a in self.activations]
        head = f"head {self.head}"
        if self.head.endswith("mse"):
            head += f" (mse {self.mse}: {self.mse_text()})"
        parts += [head, f"reduction {self.reduction}"]
        if self.l2:
            parts.append(f"l2 {self.l2:g} ({self.l2_convention} sum ||W||^2, biases not regularised)")
        return ", ".join(parts)


def _act_name(spec: Any) -> str:
    if isinstance(spec, str):
        return spec
    name = getattr(spec, "name", None)
    if isinstance(name, str):
        return name
    if isinstance(spec, tuple):
        return "custom"
    return str(spec)


ARTICLE_NETWORK = Network()
