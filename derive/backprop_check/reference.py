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
from numeric.compare import draw_problem

__all__ = ["Case", "make_case", "Reference"]


# ------------------------------------------------------------------ cases
@dataclass(frozen=True)
class Case:
    """One problem the user's backward is run on.

    Attributes:
        label: where it comes from (``"probe: m = 1"``, ``"hypothesis"``...).
        seed, scale, offset: how it was drawn (see :func:`make_case`), so
            that it can be drawn again; None for hand-built cases.
    """

    label: str
    params: Mapping[str, np.ndarray]
    X: np.ndarray
    Y: np.ndarray
    seed: int | None = None
    scale: float = 1.0
    offset: float = 0.0

    @property
    def shape(self) -> tuple[int, int, int, int, int]:
        """``(d, n, p, q, m)``."""
        n, d = self.params["W1"].shape
        return d, n, self.params["W2"].shape[0], self.params["W3"].shape[0], self.X.shape[1]

    def describe(self) -> str:
        how = f", seed {self.seed}" if self.seed is not None else ""
        how += f", weight scale {self.scale:g}" if self.scale != 1.0 else ""
        how += f", b3 shifted by {self.offset:+g} (confident outputs)" if self.offset else ""
        return f"(d, n, p, q, m) = {self.shape}{how}"


def make_case(
    shape: tuple[int, int, int, int, int],
    *,
    seed: int = 0,
    scale: float = 1.0,
    offset: float = 0.0,
    f: Any = "swish",
    g: Any = "leaky_relu",
    kink_margin: float = 1e-3,
    label: str = "",
) -> Case:
    """A problem from :func:`numeric.compare.draw_problem`, pre-activations
    ``kink_margin`` away from kinks; ``offset`` is added to b3 so that
    ``|Z3|`` is large (``A3`` within 1e-13 of 0 or 1, or exactly 1.0 at 40).

    Example:
        >>> make_case((2, 3, 4, 1, 5), offset=40.0).describe()
        '(d, n, p, q, m) = (2, 3, 4, 1, 5), seed 0, b3 shifted by +40 (confident outputs)'
    """
    params, X, Y = draw_problem(*shape, f=f, g=g, seed=seed, kink_margin=kink_margin, scale=scale)
    if offset:
        params["b3"] = params["b3"] + offset
    return Case(label or f"seed {seed}", params, X, Y, seed, scale, offset)


# ------------------------------------------------------------------ the truth
class Reference:
    """The truth at one case: derived gradients and dZ's, the forward cache,
    and ``S``, the magnitude of the terms each entry sums."""

    def __init__(self, case: Case, grad_fn: Callable[..., Mapping[str, np.ndarray]],
                 fa: Activation, ga: Activation) -> None:
        self.case, self.fa, self.ga = case, fa, ga
        with np.errstate(all="ignore"):
            self.truth = dict(grad_fn(case.params, case.X, case.Y, return_dZ=True))
            self.cache = numeric.forward(case.params, case.X, fa, ga)
            self.scale = self._scale()
        self._variants: list[tuple[str, str, dict[str, np.ndarray]]] | None = None

    def _scale(self) -> dict[str, np.ndarray]:
        """A first-order bound on the rounding error of each entry, over eps.

        ``T`` is the size of the terms of each pre-activation, ``S_A`` of
        each activation including how its rounding grows through ``f``.
        """
        P, X, Y, c = self.case.params, self.case.X, self.case.Y, self.cache
        m = X.shape[1]
        absW = {k: np.abs(P[k]) for k in P}
        T1 = absW["W1"] @ np.abs(X) + absW["b1"]
        SA1 = np.abs(c["A1"]) + np.abs(self.fa.derivative(c["Z1"])) * T1
        T2 = absW["W2"] @ np.abs(c["A1"]) + absW["b2"]
        SA2 = np.abs(c["A2"]) + np.abs(self.ga.derivative(c["Z2"])) * T2
        T3 = absW["W3"] @ np.abs(c["A2"]) + absW["b3"]
        S = {"dZ3": np.abs(c["A3"]) + np.abs(Y) + c["A3"] * (1 - c["A3"]) * T3}
        S["dZ2"] = (absW["W3"].T @ S["dZ3"]) * np.maximum(1.0, np.abs(self.ga.derivative(c["Z2"]))) * (1 + T2)
        S["dZ1"] = (absW["W2"].T @ S["dZ2"]) * np.maximum(1.0, np.abs(self.fa.derivative(c["Z1"]))) * (1 + T1)
        for layer, prev in ((1, np.abs(X)), (2, SA1), (3, SA2)):
            S[f"dW{layer}"] = S[f"dZ{layer}"] @ prev.T / m
            S[f"db{layer}"] = np.sum(S[f"dZ{layer}"], axis=1, keepdims=True) / m
        return S


