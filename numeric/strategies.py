"""Hypothesis strategies for property tests of backprop code.

Public and documented so that users can write their own property tests::

    from hypothesis import given
    from numeric.strategies import problems

    @given(problems(max_size=8))
    def test_my_backward(problem):
        params, X, Y = problem.params, problem.X, problem.Y
        ...

Activations and the points to test them at::

    from numeric.strategies import activations, activation_points

    @given(activations(), activation_points(min_value=-50, max_value=50))
    def test_my_derivative(act, z):
        ...

Requires hypothesis (the ``test`` extra); ``import numeric`` does not load it.
Bounds are keyword-only and validated up front.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from numeric.activations import ACTIVATIONS, get_activation
from numeric.compare import kink_distance
from numeric.description import HEADS, Network

__all__ = [
    "Problem",
    "shapes",
    "problems",
    "activation_names",
    "activation_pairs",
    "activation_params",
    "activations",
    "activation_points",
    "ACTIVATION_PARAM_RANGES",
    "networks",
]


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


# name -> parameter -> (low, high): ranges where each catalog activation is a sensible activation
ACTIVATION_PARAM_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "leaky_relu": {"alpha": (0.001, 0.5)},
    "swish": {"beta": (0.1, 5.0)},
    "elu": {"alpha": (0.1, 3.0)},
    "selu": {"scale": (0.5, 2.0), "alpha": (0.5, 2.0)},
}


def activation_params(name: str) -> st.SearchStrategy[dict[str, float]]:
    """Parameter dicts for catalog activation ``name`` (``{}`` when it has none).

    Example:
        >>> activation_params("leaky_relu")  # doctest: +SKIP
        # draws e.g. {'alpha': 0.13}
    """
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; pass one of {', '.join(ACTIVATIONS)}")
    ranges = ACTIVATION_PARAM_RANGES.get(name, {})
    return st.fixed_dictionaries({
        k: st.floats(lo, hi, allow_nan=False, allow_infinity=False) for k, (lo, hi) in ranges.items()
    })


def activations(*, names: Any = None, smooth_only: bool = False) -> st.SearchStrategy[Any]:
    """Catalog :class:`numeric.Activation` objects, with drawn parameters.

    Args:
        names: restrict to these catalog names (default: all).
        smooth_only: leave out activations with kinks.
    """
    pool = list(names) if names is not None else list(ACTIVATIONS)
    unknown = [n for n in pool if n not in ACTIVATIONS]
    if unknown or not pool:
        raise ValueError(f"names must be catalog names, got {unknown or pool}; e.g. names=['tanh', 'swish']")
    if smooth_only:
        pool = [n for n in pool if not ACTIVATIONS[n].kinks]
    return st.sampled_from(pool).flatmap(
        lambda n: activation_params(n).map(lambda p: get_activation(n, **p)))


_EXTREME_POINTS = (0.0, 1e-8, -1e-8, 1.0, -1.0, 30.0, -30.0, 700.0, -700.0, 800.0, -800.0, 1e4, -1e4)


def activation_points(
    *,
    min_value: float = -1e4,
    max_value: float = 1e4,
    avoid: Any = (),
    margin: float = 1e-6,
) -> st.SearchStrategy[float]:
    """Finite float64 inputs for an activation, mixing scales.

    Draws moderate values (|z| <= 10), values spread over magnitudes 1e-8 to
    ``max(|min_value|, |max_value|)``, the extremes (0, +-1e-8, +-1, +-30,
    +-700, +-800, +-1e4) within the bounds, and anything in between.

    Args:
        min_value, max_value: bounds (finite, ``min_value < max_value``).
        avoid: points to keep away from (kinks), at distance more than
            ``margin * max(1, |b|)`` from each ``b``.
        margin: relative margin around ``avoid``.

    Example:
        >>> activation_points(min_value=-50, max_value=50, avoid=[0.0])  # doctest: +SKIP
    """
    if not (math.isfinite(min_value) and math.isfinite(max_value) and min_value < max_value):
        raise ValueError(f"need finite min_value < max_value, got {min_value!r}, {max_value!r}; "
                         "e.g. min_value=-1e4, max_value=1e4")
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0, got {margin!r}; e.g. margin=1e-6")
    avoid = tuple(float(b) for b in avoid)
    top = max(abs(min_value), abs(max_value))
    lo_exp = -8.0 if top > 1e-8 else math.log10(top) - 1
    magnitudes = st.builds(
        lambda sign, e: sign * 10.0 ** e,
        st.sampled_from([-1.0, 1.0]),
        st.floats(lo_exp, math.log10(top) if top > 0 else 0.0),
    )
    ends = [p for p in _EXTREME_POINTS if min_value <= p <= max_value]
    parts = [
        st.floats(max(min_value, -10.0), min(max_value, 10.0)) if min_value < 10 and max_value > -10 else None,
        magnitudes.filter(lambda x: min_value <= x <= max_value),
        st.sampled_from(ends) if ends else None,
        st.floats(min_value, max_value),
    ]
    base = st.one_of([p for p in parts if p is not None])
    if not avoid:
        return base
    return base.filter(lambda x: all(abs(x - b) > margin * max(1.0, abs(b)) for b in avoid))


def networks(
    *, heads: tuple[str, ...] = HEADS, max_depth: int = 5, max_width: int = 4, l2: bool = True,
    analytic_only: bool = False,
) -> st.SearchStrategy[Network]:
    """:class:`numeric.Network` descriptions with small concrete widths: any of
    ``heads``, depth 1 to ``max_depth``, hidden activations drawn as a pair and
    cycled over the layers, either reduction and MSE convention, and (with
    ``l2``) weight decay under either convention.  Draw the arrays with
    :func:`numeric.compare.draw_network_problem`.

    Example:
        >>> from hypothesis import given
        >>> @given(networks(heads=("softmax-ce",), max_depth=2))
        ... def test(net):
        ...     assert net.widths[-1] >= 2
    """
    _check_bounds(max_depth=max_depth, max_width=max_width)
    unknown = [h for h in heads if h not in HEADS]
    if unknown or not heads:
        raise ValueError(f"heads must be a non-empty subset of {HEADS}; got {heads!r}")
    if "softmax-ce" in heads and max_width < 2:
        raise ValueError("softmax-ce needs max_width >= 2 (q >= 2)")

    @st.composite
    def build(draw: Any) -> Network:
        head = draw(st.sampled_from(heads))
        depth = draw(st.integers(1, max_depth))
        f, g = draw(activation_pairs(analytic_only=analytic_only))
        widths = draw(st.lists(st.integers(1, max_width), min_size=depth, max_size=depth))
        q = draw(st.integers(2 if head == "softmax-ce" else 1, max_width))
        return Network(
            widths=(*widths, q), activations=tuple((f, g)[i % 2] for i in range(depth - 1)), head=head,
            reduction=draw(st.sampled_from(("mean", "sum"))), mse=draw(st.sampled_from(("half", "torch"))),
            l2=draw(st.sampled_from((0.0, 0.05, 1.0))) if l2 else 0.0,
            l2_convention=draw(st.sampled_from(("lambda/2m", "lambda/2"))),
        )

    return build()
