"""The problems a user's backward is run on, and the truth at each.

:class:`Case` is one problem (parameters, X, Y and how they were drawn);
:class:`Reference` holds the derived gradients, the forward cache and the
rounding scale of every entry at that case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

import numeric
from numeric.activations import Activation
from numeric.compare import draw_network_problem, draw_problem

__all__ = ["Case", "make_case", "soft_targets", "takes_soft_targets", "Reference", "ARTICLE", "is_classic"]

ARTICLE = numeric.Network()


def is_classic(net: numeric.Network) -> bool:
    """The article's shape of network: three layers, sigmoid + BCE, mean, no L2 (any two hidden activations).

    Cases of such a network are drawn exactly as before network descriptions
    existed, so reports on the article's network stay byte-identical.
    """
    return net.depth == 3 and net.head == "sigmoid-bce" and net.reduction == "mean" and not net.l2


# ------------------------------------------------------------------ cases
@dataclass(frozen=True)
class Case:
    """One problem the user's backward is run on.

    Attributes:
        label: where it comes from (``"probe: m = 1"``, ``"hypothesis"``...).
        seed, scale, offset: how it was drawn (see :func:`make_case`), so
            that it can be drawn again; None for hand-built cases.
        soft: the targets are soft (see :func:`soft_targets`), not 0/1 or one-hot.
    """

    label: str
    params: Mapping[str, np.ndarray]
    X: np.ndarray
    Y: np.ndarray
    seed: int | None = None
    scale: float = 1.0
    offset: float = 0.0
    network: numeric.Network = ARTICLE
    soft: bool = False

    @property
    def depth(self) -> int:
        """The number of layers L."""
        return len(self.params) // 2

    @property
    def shape(self) -> tuple[int, ...]:
        """The widths then m: ``(d, n, p, q, m)`` for three layers, ``(d, n1, ..., q, m)`` in general."""
        L = self.depth
        return (self.params["W1"].shape[1], *(self.params[f"W{layer}"].shape[0] for layer in range(1, L + 1)),
                self.X.shape[1])

    @property
    def m(self) -> int:
        return self.X.shape[1]

    def describe(self) -> str:
        L = self.depth
        how = f", seed {self.seed}" if self.seed is not None else ""
        how += f", weight scale {self.scale:g}" if self.scale != 1.0 else ""
        if self.offset:
            which = f"b{L}[0]" if self.network.head == "softmax-ce" else f"b{L}"
            how += f", {which} shifted by {self.offset:+g} (confident outputs)"
        if self.soft:
            how += ", soft targets (label smoothing)" if self.network.head == "softmax-ce" else ", soft targets"
        if L == 3:
            return f"(d, n, p, q, m) = {self.shape}{how}"
        return f"widths {self.shape[:-1]}, m = {self.shape[-1]}{how}"


def make_case(
    shape: tuple[int, ...],
    *,
    network: numeric.Network | None = None,
    seed: int = 0,
    scale: float = 1.0,
    offset: float = 0.0,
    f: Any = "swish",
    g: Any = "leaky_relu",
    kink_margin: float = 1e-3,
    label: str = "",
    soft: bool = False,
) -> Case:
    """A problem from :func:`numeric.compare.draw_problem`, pre-activations
    ``kink_margin`` away from kinks; ``offset`` is added to b3 so that
    ``|Z3|`` is large (``A3`` within 1e-13 of 0 or 1, or exactly 1.0 at 40).
    ``soft`` replaces the 0/1 or one-hot targets by :func:`soft_targets`
    (heads that take them; the MSE heads' targets are any reals already).

    Example:
        >>> make_case((2, 3, 4, 1, 5), offset=40.0).describe()
        '(d, n, p, q, m) = (2, 3, 4, 1, 5), seed 0, b3 shifted by +40 (confident outputs)'
    """
    net = ARTICLE if network is None else network
    if is_classic(net):
        params, X, Y = draw_problem(*shape, f=f, g=g, seed=seed, kink_margin=kink_margin, scale=scale)
    else:
        params, X, Y = draw_network_problem(net, int(shape[-1]), widths=tuple(int(s) for s in shape[:-1]),
                                            seed=seed, kink_margin=kink_margin, scale=scale)
    L = len(params) // 2
    if offset:
        b = params[f"b{L}"].copy()
        if net.head == "softmax-ce":  # a shift of every logit changes nothing: make class 0 confident
            b[0] += offset
        else:
            b += offset
        params[f"b{L}"] = b
    soft = bool(soft) and takes_soft_targets(net)
    if soft:
        Y = soft_targets(Y, net.head, seed)
    return Case(label or f"seed {seed}", params, X, Y, seed, scale, offset, net, soft)


def takes_soft_targets(net: numeric.Network) -> bool:
    """Whether ``net``'s head has 0/1 (one-hot) targets that :func:`soft_targets` can soften."""
    return net.head in ("sigmoid-bce", "softmax-ce")


_SOFT_DENOMINATOR = 256  # soft targets are multiples of 1/256: exact in float32, columns sum exactly to 1


def soft_targets(Y: np.ndarray, head: str, seed: int) -> np.ndarray:
    """Soft targets near the hard ones ``Y``: Y in (0, 1) for sigmoid + BCE, label smoothing for softmax + CE.

    Both heads take them (DESIGN.md: targets in [0, 1]; README: label smoothing
    passes), and ``dZ = A - Y`` holds for them as for 0/1 labels, so code that
    only works for hard labels (``A - (Y > 0.5)``, ``p[y] -= 1`` with
    ``y = argmax Y``) is wrong here.  Each entry moves 3/256 to 115/256 away
    from its 0/1 value, so ``Y > 0.5`` and ``argmax Y`` still give the hard
    labels; for softmax every entry is at least 1/256 and each column sums to
    exactly 1.  Every value is a multiple of a power of two, exact in float32.

    Example:
        >>> soft_targets(np.array([[1.0, 0.0]]), "sigmoid-bce", 0).round(3).tolist()
        [[0.758, 0.402]]
    """
    rng = np.random.default_rng([int(seed), 1])
    q, m = Y.shape
    if head == "sigmoid-bce":
        shift = rng.integers(3, 116, Y.shape) / _SOFT_DENOMINATOR
        return np.abs(Y - shift)
    D = _SOFT_DENOMINATOR * 2 ** max(0, int(np.ceil(np.log2(max(q, 1)))) - 2)  # room for q entries >= 1/D
    counts = rng.integers(1, max(2, D // (2 * q)) + 1, (q, m)).astype(np.float64)
    hot = np.argmax(Y, axis=0)
    counts[hot, np.arange(m)] = 0.0
    counts[hot, np.arange(m)] = D - counts.sum(axis=0)
    return counts / D


# ------------------------------------------------------------------ the truth
class Reference:
    """The truth at one case: derived gradients and dZ's, the forward cache,
    and ``S``, the magnitude of the terms each entry sums."""

    def __init__(self, case: Case, grad_fn: Callable[..., Mapping[str, np.ndarray]],
                 fa: Activation, ga: Activation | None = None, *,
                 acts: "list[Activation] | None" = None) -> None:
        self.case, self.net, self.L = case, case.network, case.depth
        self.acts = list(acts) if acts is not None else [fa, ga]
        self.fa = self.acts[0] if self.acts else fa
        self.ga = self.acts[1] if len(self.acts) > 1 else self.fa
        with np.errstate(all="ignore"):
            self.truth = dict(grad_fn(case.params, case.X, case.Y, return_dZ=True))
            if is_classic(self.net):
                self.cache = numeric.forward(case.params, case.X, self.fa, self.ga)
            else:
                self.cache = numeric.forward(case.params, case.X, network=self.net)
            self.scale = self._scale()
        self._variants: list[tuple[str, str, dict[str, np.ndarray]]] | None = None

    @property
    def rate(self) -> float:
        """The L2 term's factor on W in dW (lambda/m or lambda by the convention; 0 without L2)."""
        net = self.net
        if not net.l2:
            return 0.0
        return float(net.l2) / self.case.m if net.l2_convention == "lambda/2m" else float(net.l2)

    @property
    def N(self) -> int:
        """What the gradients are divided by: m for the mean reduction, 1 for the sum."""
        return self.case.m if self.net.reduction == "mean" else 1

    def _scale(self) -> dict[str, np.ndarray]:
        """A first-order bound on the rounding error of each entry, over eps.

        ``T`` is the size of the terms of each pre-activation, ``S_A`` of
        each activation including how its rounding grows through ``f``.
        The bound scales with the magnitudes the entry is computed from, so
        the tolerance ``rtol * S`` does too (any depth, any head).

        A sigmoid output's dZ also carries ``+ 1``: a correct sigmoid is
        computed through quantities of size 1 (``1 + exp(-z)``,
        ``0.5 * (1 + tanh(z / 2))``, ``1 - sigmoid(-z)``), so its absolute
        error is about eps whatever ``A`` is.  Where ``A`` and ``Y`` are tiny
        (``A ~ 1e-13`` at confident outputs, ``Y = 0``) that eps is a large
        relative error of ``A - Y``, yet it is float rounding of the O(1)
        quantities, not a bug; every gradient downstream inherits the term.
        """
        if not is_classic(self.net):
            return self._scale_general()
        P, X, Y, c = self.case.params, self.case.X, self.case.Y, self.cache
        m = X.shape[1]
        absW = {k: np.abs(P[k]) for k in P}
        T1 = absW["W1"] @ np.abs(X) + absW["b1"]
        SA1 = np.abs(c["A1"]) + np.abs(self.fa.derivative(c["Z1"])) * T1
        T2 = absW["W2"] @ np.abs(c["A1"]) + absW["b2"]
        SA2 = np.abs(c["A2"]) + np.abs(self.ga.derivative(c["Z2"])) * T2
        T3 = absW["W3"] @ np.abs(c["A2"]) + absW["b3"]
        S = {"dZ3": np.abs(c["A3"]) + np.abs(Y) + c["A3"] * (1 - c["A3"]) * T3 + 1.0}  # + 1: see above
        S["dZ2"] = (absW["W3"].T @ S["dZ3"]) * np.maximum(1.0, np.abs(self.ga.derivative(c["Z2"]))) * (1 + T2)
        S["dZ1"] = (absW["W2"].T @ S["dZ2"]) * np.maximum(1.0, np.abs(self.fa.derivative(c["Z1"]))) * (1 + T1)
        for layer, prev in ((1, np.abs(X)), (2, SA1), (3, SA2)):
            S[f"dW{layer}"] = S[f"dZ{layer}"] @ prev.T / m
            S[f"db{layer}"] = np.sum(S[f"dZ{layer}"], axis=1, keepdims=True) / m
        return S



    def _head_scale(self, T: np.ndarray) -> np.ndarray:
        """The rounding bound of dZ_L for the network's head, ``T`` the terms of Z_L."""
        net, c, Y, L = self.net, self.cache, self.case.Y, self.L
        A, Z = c[f"A{L}"], c[f"Z{L}"]
        if net.head == "softmax-ce":  # d a_k = a_k (dz_k - sum_j a_j dz_j)
            return np.abs(A) + np.abs(Y) + A * (T + np.max(T, axis=0, keepdims=True))
        k = 1.0
        if net.mse == "torch":
            k = 2.0 / Y.shape[0] if net.reduction == "mean" else 2.0
        if net.head == "identity-mse":
            return k * (np.abs(Z) + np.abs(Y) + T)
        s = A * (1 - A)
        if net.head == "sigmoid-mse":
            return k * ((np.abs(A) + np.abs(Y) + s * T) * (s + 1) + np.abs(A - Y) * s * (1 + T))
        return np.abs(A) + np.abs(Y) + s * T + 1.0  # sigmoid-bce; + 1: the sigmoid's O(1) terms (see _scale)

    def _scale_general(self) -> dict[str, np.ndarray]:
        """:meth:`_scale` for any depth, head, reduction and L2."""
        P, X, c, L = self.case.params, self.case.X, self.cache, self.L
        absA = {0: np.abs(X), **{layer: np.abs(c[f"A{layer}"]) for layer in range(1, L)}}
        T, SA = {}, {0: np.abs(X)}
        for layer in range(1, L + 1):
            T[layer] = np.abs(P[f"W{layer}"]) @ absA[layer - 1] + np.abs(P[f"b{layer}"])
            if layer < L:
                SA[layer] = absA[layer] + np.abs(self.acts[layer - 1].derivative(c[f"Z{layer}"])) * T[layer]
        S = {f"dZ{L}": self._head_scale(T[L])}
        for layer in range(L - 1, 0, -1):
            d = np.abs(self.acts[layer - 1].derivative(c[f"Z{layer}"]))
            S[f"dZ{layer}"] = (np.abs(P[f"W{layer + 1}"]).T @ S[f"dZ{layer + 1}"]) * np.maximum(1.0, d) * (1 + T[layer])
        N, rate = self.N, self.rate
        for layer in range(1, L + 1):
            S[f"dW{layer}"] = S[f"dZ{layer}"] @ SA[layer - 1].T / N + 2 * rate * np.abs(P[f"W{layer}"])
            S[f"db{layer}"] = np.sum(S[f"dZ{layer}"], axis=1, keepdims=True) / N
        return S
