"""Adapters: a torch ``nn.Module`` or a JAX loss for the article's network -> ``backward(params, X, Y)``.

:func:`derive.check_backprop` calls ``backward(params, X, Y)`` with NumPy
arrays in the article's layout (``X`` is d x m, ``Y`` is q x m, ``b1`` is
n x 1) and expects ``dW1 db1 dW2 db2 dW3 db3``, the partial derivatives of the
mean BCE ``J = -(1/m) sum [Y log A3 + (1 - Y) log(1 - A3)]`` (summed over the q
outputs, averaged over the m examples).  These adapters load ``params`` into
the framework, run its forward and let its autograd produce the gradients:
the framework is the "hand-written" side, so a custom activation (a
``torch.autograd.Function``, a ``jax.custom_vjp``) inside a real network is
checked end to end.  Everything runs in float64 (JAX in the scoped
:func:`~derive.frameworks.jax_check.x64` setting).

The parameters are substituted per call (``torch.func.functional_call``), so
the module's layer sizes do not matter: check_backprop's shapes change from
case to case.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from derive.frameworks._extras import require
from numeric.errors import InputError

__all__ = ["torch_backward", "jax_backward", "PARAMS"]

PARAMS = ("W1", "b1", "W2", "b2", "W3", "b3")
_OUTPUTS = ("logits", "probabilities", "loss")


def _check(output: str, layout: str) -> None:
    if output not in _OUTPUTS:
        raise InputError(f"output must be one of {_OUTPUTS}, got {output!r}")
    if layout not in ("rows", "columns"):
        raise InputError(f"layout must be 'rows' (X is m x d, as nn.Linear takes) or 'columns' (X is d x m), "
                         f"got {layout!r}")


def torch_backward(model: Any, *, names: Sequence[str] | None = None, output: str = "logits",
                   layout: str = "rows") -> Callable[[Mapping[str, Any], Any, Any], dict[str, np.ndarray]]:
    """A ``backward(params, X, Y)`` whose gradients come from torch autograd through ``model``.

    Args:
        model: an ``nn.Module`` whose six parameters are, in order (or as
            named by ``names``), W1 b1 W2 b2 W3 b3 (``nn.Linear`` stores its
            weight as out x in, as the article does); its forward maps X to
            the output logits Z3 (or the probabilities A3, see ``output``).
            Or a function ``model(params, X)`` taking a dict of tensors.
        names: the module's parameter names for W1 b1 W2 b2 W3 b3, e.g.
            ``["fc1.weight", "fc1.bias", ...]`` (default: its parameters in order).
        output: ``"logits"`` (Z3: BCE with logits), ``"probabilities"``
            (A3: BCE of the probabilities), or ``"loss"`` (``model(params, X, Y)``
            returns J itself; functions only).
        layout: ``"rows"``: the model takes X as m x d and returns m x q
            (PyTorch's convention); ``"columns"``: d x m in, q x m out.

    Returns:
        ``backward(params, X, Y) -> {"dW1": ..., "db3": ...}`` (NumPy, float64).

    Raises:
        InputError: an option is invalid, or the module does not have six parameters.
        MissingExtraError: PyTorch is not installed.

    Example:
        >>> import torch, numeric, derive
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2),
        ...                           torch.nn.Tanh(), torch.nn.Linear(2, 1))
        >>> derive.check_backprop(torch_backward(net), f="tanh", g="tanh", max_examples=5).ok
        True
    """
    torch = require("torch")
    _check(output, layout)
    is_module = isinstance(model, torch.nn.Module)
    if not is_module and not callable(model):
        raise InputError(f"model must be an nn.Module or a function model(params, X); got {type(model).__name__}")
    if is_module and output == "loss":
        raise InputError("output='loss' needs a function model(params, X, Y); a module returns logits or probabilities")
    keys: list[str] = []
    if is_module:
        keys = list(names) if names is not None else [n for n, _ in model.named_parameters()]
        if len(keys) != 6:
            raise InputError(f"the module has {len(keys)} parameters ({', '.join(keys)}); pass names=[...] with the "
                             "six that are W1 b1 W2 b2 W3 b3")
        shapes = dict(model.named_parameters())
        missing = [k for k in keys if k not in shapes]
        if missing:
            raise InputError(f"the module has no parameters {missing}; it has {', '.join(shapes)}")
        flat_bias = {k: shapes[k].dim() == 1 for k in keys}

    def backward(params: Mapping[str, Any], X: Any, Y: Any) -> dict[str, np.ndarray]:
        t = {p: torch.tensor(np.asarray(params[p], dtype=np.float64), dtype=torch.float64) for p in PARAMS}
        leaves = {p: v.clone().requires_grad_(True) for p, v in t.items()}
        x = torch.tensor(np.asarray(X, dtype=np.float64))
        y = torch.tensor(np.asarray(Y, dtype=np.float64))
        m = x.shape[1]
        if layout == "rows":
            x, y = x.T, y.T
        if is_module:
            sub = {k: (leaves[p].reshape(-1) if flat_bias[k] else leaves[p]) for k, p in zip(keys, PARAMS)}
            out = torch.func.functional_call(model, sub, (x,))
        elif output == "loss":
            out = model(leaves, x, y)
        else:
            out = model(leaves, x)
        if output == "loss":
            loss = out
        elif output == "logits":
            loss = torch.nn.functional.binary_cross_entropy_with_logits(out, y, reduction="sum") / m
        else:
            loss = torch.nn.functional.binary_cross_entropy(out, y, reduction="sum") / m
        grads = torch.autograd.grad(loss, [leaves[p] for p in PARAMS], allow_unused=True)
        res = {}
        for p, gr in zip(PARAMS, grads):
            arr = np.zeros(np.shape(params[p])) if gr is None else gr.detach().numpy()
            res["d" + p] = np.array(arr, dtype=np.float64).reshape(np.shape(params[p]))
        return res

    backward.__qualname__ = f"torch_backward({getattr(model, '__qualname__', type(model).__name__)})"
    return backward


def jax_backward(fn: Callable[..., Any], *, output: str = "loss",
                 layout: str = "columns") -> Callable[[Mapping[str, Any], Any, Any], dict[str, np.ndarray]]:
    """A ``backward(params, X, Y)`` whose gradients are ``jax.grad`` of the network's loss.

    Args:
        fn: ``fn(params, X, Y) -> J`` (``output="loss"``, the mean BCE), or
            ``fn(params, X) -> Z3`` logits (``"logits"``) or A3 (``"probabilities"``);
            ``params`` is a dict of jnp arrays W1 b1 W2 b2 W3 b3 in the article's shapes.
        output: what ``fn`` returns (see above).
        layout: ``"columns"`` (X is d x m, the article's) or ``"rows"`` (X is m x d).

    Returns:
        ``backward(params, X, Y) -> {"dW1": ..., "db3": ...}`` (NumPy, float64, computed
        under the scoped float64 setting; the global ``jax_enable_x64`` flag is untouched).

    Raises:
        InputError: an option is invalid.
        MissingExtraError: JAX is not installed.

    Example:
        >>> import jax.numpy as jnp, derive
        >>> def J(P, X, Y):
        ...     A1 = jnp.tanh(P["W1"] @ X + P["b1"]); A2 = jnp.tanh(P["W2"] @ A1 + P["b2"])
        ...     Z3 = P["W3"] @ A2 + P["b3"]
        ...     return jnp.sum(jnp.logaddexp(0, Z3) - Y * Z3) / X.shape[1]
        >>> derive.check_backprop(jax_backward(J), f="tanh", g="tanh", max_examples=5).ok
        True
    """
    jax = require("jax")
    jnp = require("jax.numpy")
    from derive.frameworks.jax_check import x64

    _check(output, layout)
    if not callable(fn):
        raise InputError(f"fn must be a function fn(params, X, Y) or fn(params, X); got {type(fn).__name__}")

    def loss(P: Any, X: Any, Y: Any) -> Any:
        m = X.shape[1]
        if layout == "rows":
            X, Y = X.T, Y.T
        if output == "loss":
            return fn(P, X, Y)
        out = fn(P, X)
        if output == "logits":
            return jnp.sum(jnp.logaddexp(0.0, out) - Y * out) / m
        return -jnp.sum(Y * jnp.log(out) + (1 - Y) * jnp.log1p(-out)) / m

    def backward(params: Mapping[str, Any], X: Any, Y: Any) -> dict[str, np.ndarray]:
        with x64():
            P = {p: jnp.asarray(np.asarray(params[p], dtype=np.float64)) for p in PARAMS}
            grads = jax.grad(loss)(P, jnp.asarray(np.asarray(X, np.float64)), jnp.asarray(np.asarray(Y, np.float64)))
            return {"d" + p: np.array(grads[p], dtype=np.float64).reshape(np.shape(params[p])) for p in PARAMS}

    backward.__qualname__ = f"jax_backward({getattr(fn, '__qualname__', type(fn).__name__)})"
    return backward
