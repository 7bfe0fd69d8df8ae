"""Check activations written for PyTorch and JAX, and whole networks through their autograd.

``check_torch_activation(activation, MyAct.apply)`` and
``check_jax_activation(activation, my_act)`` compare a framework
implementation (a ``torch.autograd.Function``, a ``jax.custom_vjp`` or
``custom_jvp`` function, or any function of one array) with the exact
derivative: forward over the whole float range, backward with a random
upstream gradient, kinks and their conventions, float64 and float32, second
derivatives, broadcasting and in-place misuse.  ``torch_backward`` and
``jax_backward`` turn a network written in either framework into a
``backward(params, X, Y)`` for :func:`derive.check_backprop`.

Every call of the user's code in an activation check has a time limit
(``call_limit``, :mod:`derive.frameworks.limit`): a hang is a ``call`` FAIL
that names the call, and the function is not called again.  The network
adapters work in check_backprop's forked child (:mod:`derive.frameworks.network`
says how; a JAX loss must then be a module-level function).

Neither framework is imported until one of these functions runs: importing
``derive`` or ``derive.frameworks`` stays cheap, and a missing framework is a
:class:`MissingExtraError` naming the extra to install.

Example:
    >>> import torch
    >>> from derive.frameworks import check_torch_activation
    >>> class Relu(torch.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x.clamp(min=0)
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         return (x > 0).to(x.dtype)          # forgot grad *
    >>> report = check_torch_activation("relu", Relu.apply)
    >>> report.ok, report.pieces
    (False, ['upstream-gradient factor'])
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "check_torch_activation": "derive.frameworks.torch_check",
    "check_jax_activation": "derive.frameworks.jax_check",
    "torch_backward": "derive.frameworks.network",
    "jax_backward": "derive.frameworks.network",
    "FrameworkReport": "derive.frameworks.report",
    "Finding": "derive.frameworks.report",
    "MissingExtraError": "derive.frameworks._extras",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'derive.frameworks' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
