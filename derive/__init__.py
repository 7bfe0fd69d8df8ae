"""Symbolic side of backprop-derive: derive, prove and lambdify the gradients.

The network is a chain of operations (affine, elementwise, and a head:
sigmoid + BCE, softmax + CE, identity or sigmoid + MSE), each with a
matrix-form backward rule; the reverse pass records every step.  Any
network is described by :class:`derive.Network` (the same class as
:class:`numeric.Network`, plain data); its symbolic view is
:class:`derive.SymbolicNetwork`.
Proofs are exact at concrete shapes (level 1) and numeric (level 3).

``import derive`` is cheap: the public names below are loaded on first use
(PEP 562), so the pytest plugin (:mod:`derive.plugin`) does not pull in sympy
when pytest starts.

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

import importlib
from typing import Any

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "gradient_function": "derive.lambdified",
    "GradientFunction": "derive.lambdified",
    "check_activation": "derive.activation_check",
    "ActivationReport": "derive.activation_check",
    "StepTimeout": "derive.timeout",
    "parse_activation": "derive.expr",
    "ParseError": "derive.expr",
    "check_backprop": "derive.backprop_check",
    "assert_backprop_ok": "derive.backprop_check",
    "BackpropReport": "derive.backprop_check",
    "verify": "derive.verify",
    "VerifyReport": "derive.verify",
    "derive_forward": "derive.chain",
    "derive_backward": "derive.chain",
    "formulas": "derive.chain",
    "Network": "numeric.description",
    "HEADS": "numeric.description",
    "SymbolicNetwork": "derive.chain",
    "as_symbolic": "derive.chain",
    "ARTICLE": "derive.chain",
    "prove_exact": "derive.proof",
    "ExactProof": "derive.proof",
    "PROOF_SHAPES": "derive.proof",
    "prove_symbolic": "derive.proof",
    "SymbolicProof": "derive.proof",
    "sigmoid_derivative": "derive.scalar",
    "bce_simplification": "derive.scalar",
    "softmax_jacobian": "derive.scalar",
    "softmax_ce_simplification": "derive.scalar",
    "mse_simplification": "derive.scalar",
    "l2_derivative": "derive.scalar",
    "activation_expr": "derive.expr",
    "read_activation": "derive.expr",
    "lambdified_gradient": "derive.lambdified",
    "LambdifiedGradient": "derive.lambdified",
    "compile_gradient": "derive.codegen",
    "GeneratedGradient": "derive.codegen",
    "check_torch_activation": "derive.frameworks",
    "check_jax_activation": "derive.frameworks",
    "torch_backward": "derive.frameworks",
    "jax_backward": "derive.frameworks",
    "FrameworkReport": "derive.frameworks",
    "CATALOG": "derive.activations",
    "sigmoid": "derive.activations",
    "softplus": "derive.activations",
    "z": "derive.activations",
    "Derivation": "derive.steps",
    "Step": "derive.steps",
    "BackpropDeriveError": "numeric.errors",
    "InputError": "numeric.errors",
    "UnknownActivationError": "numeric.errors",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'derive' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
