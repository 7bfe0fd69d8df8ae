"""NumPy-only reference implementation of feed-forward networks (the article's
3-layer network and any :class:`Network` description).

This package never imports sympy: it is the independent implementation that
the symbolic derivation in :mod:`derive` is checked against.

Example:
    >>> import numpy as np, numeric
    >>> P = numeric.init_params(4, 3, 2, seed=0)
    >>> X, Y = np.ones((4, 5)), np.zeros((1, 5))
    >>> sorted(numeric.backward(P, X, Y))
    ['dW1', 'dW2', 'dW3', 'db1', 'db2', 'db3']
"""

from __future__ import annotations

from numeric.activations import ACTIVATIONS, Activation, get_activation
from numeric.errors import (
    BackpropDeriveError,
    InputError,
    NonFiniteError,
    ShapeError,
    TargetRangeError,
    UnknownActivationError,
)
from numeric.description import HEADS, L2_CONVENTIONS, MSE_CONVENTIONS, REDUCTIONS, Network
from numeric.gradcheck import numerical_gradient
from numeric.network import backward, cost, forward, init_params

__all__ = [
    "Network",
    "HEADS",
    "REDUCTIONS",
    "MSE_CONVENTIONS",
    "L2_CONVENTIONS",
    "init_params",
    "forward",
    "cost",
    "backward",
    "ACTIVATIONS",
    "Activation",
    "get_activation",
    "numerical_gradient",
    "BackpropDeriveError",
    "InputError",
    "ShapeError",
    "NonFiniteError",
    "TargetRangeError",
    "UnknownActivationError",
]
