"""Hypothesis strategies for property tests of backprop code.

Public and documented so that users can write their own property tests::

    from hypothesis import given
    from numeric.strategies import problems

    @given(problems(max_size=8))
    def test_my_backward(problem):
        params, X, Y = problem.params, problem.X, problem.Y
        ...

Requires hypothesis (the ``test`` extra); ``import numeric`` does not load it.
Bounds are keyword-only and validated up front.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from numeric.activations import ACTIVATIONS, get_activation
from numeric.compare import kink_distance

__all__ = ["Problem", "shapes", "problems", "activation_names", "activation_pairs"]


@dataclass(frozen=True)
class Problem:
    """One drawn network problem: parameters, inputs, 0/1 targets, activations."""

    params: dict[str, np.ndarray]
    X: np.ndarray
    Y: np.ndarray
    f: str = "swish"
    g: str = "leaky_relu"

    @property
    def shape(self) -> tuple[int, int, int, int, int]:
        """``(d, n, p, q, m)``."""
        n, d = self.params["W1"].shape
        return d, n, self.params["W2"].shape[0], self.params["W3"].shape[0], self.X.shape[1]

    def __repr__(self) -> str:  # hypothesis prints this on failure
        return f"Problem(shape(d,n,p,q,m)={self.shape}, f={self.f!r}, g={self.g!r}, params=..., X=..., Y=...)"


def _check_bounds(**bounds: int) -> None:
    for name, value in bounds.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}; e.g. {name}=8")


def activation_names(*, smooth_only: bool = False, analytic_only: bool = False) -> st.SearchStrategy[str]:
    """Catalog activation names (optionally only kink-free / complex-capable ones)."""
    names = [
        k for k, a in ACTIVATIONS.items()
        if (not smooth_only or not a.kinks) and (not analytic_only or a.analytic)
    ]
    return st.sampled_from(names)


def activation_pairs(**kwargs: bool) -> st.SearchStrategy[tuple[str, str]]:
    """(f, g) pairs of catalog names."""
    return st.tuples(activation_names(**kwargs), activation_names(**kwargs))


def shapes(
    *, max_d: int = 32, max_n: int = 32, max_p: int = 32, max_q: int = 4, max_m: int = 64
) -> st.SearchStrategy[tuple[int, int, int, int, int]]:
    """``(d, n, p, q, m)`` with each size between 1 and its bound."""
    _check_bounds(max_d=max_d, max_n=max_n, max_p=max_p, max_q=max_q, max_m=max_m)
    return st.tuples(*(st.integers(1, b) for b in (max_d, max_n, max_p, max_q, max_m)))


def _matrix(rows: int, cols: int, bound: float) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(
        np.float64,
        (rows, cols),
        elements=st.floats(-bound, bound, allow_nan=False, allow_infinity=False, allow_subnormal=False),
    )


@st.composite
def problems(
    draw: Any,
    *,
    max_d: int = 32,
    max_n: int = 32,
    max_p: int = 32,
    max_q: int = 4,
    max_m: int = 64,
    weight_bound: float = 2.0,
    input_bound: float = 3.0,
    activations: st.SearchStrategy[tuple[str, str]] | None = None,
    kink_margin: float = 0.0,
) -> Problem:
    """A whole problem: shapes, bounded finite parameters and inputs, 0/1 targets.

    Args:
        max_d, max_n, max_p, max_q, max_m: upper bounds of the sizes.
        weight_bound: parameters lie in ``[-weight_bound, weight_bound]``,
            divided by sqrt(fan-in) so pre-activations stay moderate.
        input_bound: inputs lie in ``[-input_bound, input_bound]``.
        activations: strategy for (f, g); defaults to any catalog pair.
        kink_margin: if positive, reject problems whose pre-activations come
            closer than this to a kink of f or g (for finite differences).
    """
    if not (weight_bound > 0 and input_bound > 0):
        raise ValueError("weight_bound and input_bound must be positive, e.g. weight_bound=2.0")
    d, n, p, q, m = draw(shapes(max_d=max_d, max_n=max_n, max_p=max_p, max_q=max_q, max_m=max_m))
    f, g = draw(activations if activations is not None else activation_pairs())
    params = {}
    for layer, (rows, cols) in enumerate(((n, d), (p, n), (q, p)), start=1):
        params[f"W{layer}"] = draw(_matrix(rows, cols, weight_bound)) / np.sqrt(cols)
        params[f"b{layer}"] = draw(_matrix(rows, 1, weight_bound))
    X = draw(_matrix(d, m, input_bound))
    Y = draw(hnp.arrays(np.float64, (q, m), elements=st.sampled_from([0.0, 1.0])))
    if kink_margin > 0:
        from hypothesis import assume

        assume(kink_distance(params, X, get_activation(f), get_activation(g)) > kink_margin)
    return Problem(params, X, Y, f, g)
