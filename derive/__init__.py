"""Symbolic side of backprop-derive: derive, prove and lambdify the gradients.

The network is a chain of operations (affine, elementwise, sigmoid + BCE),
each with a matrix-form backward rule; the reverse pass records every step.
Proofs are exact at concrete shapes (level 1) and numeric (level 3).

Example:
    >>> import numpy as np, numeric, derive
    >>> grad_fn = derive.gradient_function(f="swish", g="leaky_relu")
    >>> P = numeric.init_params(4, 3, 2)
    >>> sorted(grad_fn(P, np.ones((4, 6)), np.ones((1, 6))))
    ['dW1', 'dW2', 'dW3', 'db1', 'db2', 'db3']

Note: an unrelated PyPI distribution also installs a top-level package named
``derive``; do not install both in one environment.
"""

from __future__ import annotations

from derive.activations import CATALOG, activation_expr, sigmoid, softplus, z
from derive.chain import ARTICLE, Network, derive_backward, derive_forward, formulas
from derive.lambdified import GradientFunction, gradient_function
from derive.proof import PROOF_SHAPES, ExactProof, prove_exact
from derive.scalar import bce_simplification, sigmoid_derivative
from derive.steps import Derivation, Step
from derive.verify import VerifyReport, verify
from numeric.errors import BackpropDeriveError, InputError, UnknownActivationError

__all__ = [
    "gradient_function",
    "GradientFunction",
    "verify",
    "VerifyReport",
    "derive_forward",
    "derive_backward",
    "formulas",
    "prove_exact",
    "ExactProof",
    "PROOF_SHAPES",
    "sigmoid_derivative",
    "bce_simplification",
    "activation_expr",
    "CATALOG",
    "sigmoid",
    "softplus",
    "z",
    "Network",
    "ARTICLE",
    "Derivation",
    "Step",
    "BackpropDeriveError",
    "InputError",
    "UnknownActivationError",
]
