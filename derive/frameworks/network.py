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

**Child processes.**  check_backprop runs ``backward`` in a child made with
``fork``.  Both frameworks keep thread pools that a forked child does not
have, and their next parallel computation there waits forever (torch after
any multi-threaded op in the parent, JAX after any computation at all).  So
an adapter remembers the process that made it; called in another process it

* torch: first limits torch to one thread there (``torch.set_num_threads(1)``,
  as torch's own DataLoader workers do), which needs no pool;
* JAX: computes in a fresh interpreter (:mod:`derive.frameworks.fresh`) that
  imports JAX anew and lives as long as the child.  The loss function is
  sent there by reference, so it must be importable (module level, not a
  lambda or closure); otherwise check_backprop refuses it (InputError, with
  the fix).  check_backprop's sandbox calls :meth:`JaxBackward.prepare_child`
  before its call limit starts, so importing JAX there is not timed; the
  first call still compiles, which on a loaded machine can take several
  seconds: give check_backprop ``call_limit=60`` if the first call times
  out (or ``isolate=False``, which runs it here, uncontained).

Either way the gradients are those of the same computation; only where it
runs changes.  An adapter unpickled in a spawned process (platforms without
``fork``) runs there directly, as that interpreter is fresh.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from derive.frameworks._extras import require
from derive.frameworks.fresh import FreshProcess
from numeric.errors import InputError

__all__ = ["torch_backward", "jax_backward", "TorchBackward", "JaxBackward", "PARAMS"]

PARAMS = ("W1", "b1", "W2", "b2", "W3", "b3")
_OUTPUTS = ("logits", "probabilities", "loss")


def _check(output: str, layout: str) -> None:
    if output not in _OUTPUTS:
        raise InputError(f"output must be one of {_OUTPUTS}, got {output!r}")
    if layout not in ("rows", "columns"):
        raise InputError(f"layout must be 'rows' (X is m x d, as nn.Linear takes) or 'columns' (X is d x m), "
                         f"got {layout!r}")




def _name(obj: Any) -> str:
    return str(getattr(obj, "__qualname__", None) or type(obj).__name__)


def _grads(params: Mapping[str, Any], grads: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """``{"dW1": ...}`` as float64 NumPy arrays in the shapes of ``params`` (a missing gradient is zero)."""
    out = {}
    for p in PARAMS:
        g = grads.get(p)
        arr = np.zeros(np.shape(params[p])) if g is None else np.asarray(g)
        out["d" + p] = np.array(arr, dtype=np.float64).reshape(np.shape(params[p]))
    return out


class TorchBackward:
    """``backward(params, X, Y)`` through torch autograd; made by :func:`torch_backward`."""

    def __init__(self, model: Any, keys: list[str], flat_bias: dict[str, bool], output: str, layout: str) -> None:
        self.model, self.keys, self.flat_bias, self.output, self.layout = model, keys, flat_bias, output, layout
        self.__qualname__ = f"torch_backward({_name(model)})"
        self._home = os.getpid()

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_home"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._home = os.getpid()  # a spawned interpreter is fresh

    def __call__(self, params: Mapping[str, Any], X: Any, Y: Any) -> dict[str, np.ndarray]:
        torch = require("torch")
        if self._home != os.getpid():  # a forked child: torch's thread pool stayed in the parent
            torch.set_num_threads(1)
            self._home = os.getpid()
        leaves = {p: torch.tensor(np.asarray(params[p], dtype=np.float64), dtype=torch.float64).requires_grad_(True)
                  for p in PARAMS}
        x = torch.tensor(np.asarray(X, dtype=np.float64))
        y = torch.tensor(np.asarray(Y, dtype=np.float64))
        m = x.shape[1]
        if self.layout == "rows":
            x, y = x.T, y.T
        if self.keys:
            sub = {k: (leaves[p].reshape(-1) if self.flat_bias[k] else leaves[p]) for k, p in zip(self.keys, PARAMS)}
            out = torch.func.functional_call(self.model, sub, (x,))
        elif self.output == "loss":
            out = self.model(leaves, x, y)
        else:
            out = self.model(leaves, x)
        if self.output == "loss":
            loss = out
        elif self.output == "logits":
            loss = torch.nn.functional.binary_cross_entropy_with_logits(out, y, reduction="sum") / m
        else:
            loss = torch.nn.functional.binary_cross_entropy(out, y, reduction="sum") / m
        grads = torch.autograd.grad(loss, [leaves[p] for p in PARAMS], allow_unused=True)
        return _grads(params, {p: None if g is None else g.detach().numpy() for p, g in zip(PARAMS, grads)})


def torch_backward(model: Any, *, names: Sequence[str] | None = None, output: str = "logits",
                   layout: str = "rows") -> TorchBackward:
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
        A callable ``backward(params, X, Y) -> {"dW1": ..., "db3": ...}``
        (NumPy, float64), safe in check_backprop's child process (see the
        module docstring).

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
    flat_bias: dict[str, bool] = {}
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
    return TorchBackward(model, keys, flat_bias, output, layout)


class JaxBackward:
    """``backward(params, X, Y)`` as ``jax.grad`` of a loss; made by :func:`jax_backward`.

    The gradient is one ``jax.jit`` (one compilation per shape; eager JAX
    compiles every primitive for every shape, which costs seconds per
    shape); a loss that cannot be traced (Python control flow on values)
    runs eagerly.
    """

    def __init__(self, fn: Callable[..., Any], output: str, layout: str) -> None:
        self.fn, self.output, self.layout = fn, output, layout
        self.__qualname__ = f"jax_backward({_name(fn)})"
        self._home = os.getpid()
        self._grad: Any = None
        self._eager = False
        self._fresh: FreshProcess | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"fn": self.fn, "output": self.output, "layout": self.layout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["fn"], state["output"], state["layout"])  # type: ignore[misc]
        require("jax")  # imported while the fresh process loads, not within the first call

    def prepare_child(self) -> None:
        """In a forked child: start the fresh process and wait until JAX is imported there.

        For a sandbox that can call it before its per-call limit starts;
        otherwise the first call does this.
        """
        if self._home != os.getpid():
            if self._fresh is None:
                self._fresh = FreshProcess(self)
            self._fresh.wait_loaded()

    def _loss(self, P: Any, X: Any, Y: Any) -> Any:
        jnp = require("jax.numpy")
        m = X.shape[1]
        if self.layout == "rows":
            X, Y = X.T, Y.T
        if self.output == "loss":
            return self.fn(P, X, Y)
        out = self.fn(P, X)
        if self.output == "logits":
            return jnp.sum(jnp.logaddexp(0.0, out) - Y * out) / m
        return -jnp.sum(Y * jnp.log(out) + (1 - Y) * jnp.log1p(-out)) / m

    def __call__(self, params: Mapping[str, Any], X: Any, Y: Any) -> dict[str, np.ndarray]:
        if self._home != os.getpid():  # a forked child: JAX's threads stayed in the parent
            if self._fresh is None:
                self._fresh = FreshProcess(self)
            return self._fresh.call(params, X, Y)
        jax = require("jax")
        jnp = require("jax.numpy")
        from derive.frameworks.jax_check import x64

        with x64():
            P = {p: jnp.asarray(np.asarray(params[p], dtype=np.float64)) for p in PARAMS}
            args = (P, jnp.asarray(np.asarray(X, np.float64)), jnp.asarray(np.asarray(Y, np.float64)))
            if self._grad is None:
                self._grad = jax.jit(jax.grad(self._loss))
            if not self._eager:
                try:
                    return _grads(params, self._grad(*args))
                except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError,
                        jax.errors.TracerIntegerConversionError, jax.errors.NonConcreteBooleanIndexError):
                    self._eager = True  # Python control flow on values: not traceable
            return _grads(params, jax.grad(self._loss)(*args))


def jax_backward(fn: Callable[..., Any], *, output: str = "loss", layout: str = "columns") -> JaxBackward:
    """A ``backward(params, X, Y)`` whose gradients are ``jax.grad`` of the network's loss.

    Args:
        fn: ``fn(params, X, Y) -> J`` (``output="loss"``, the mean BCE), or
            ``fn(params, X) -> Z3`` logits (``"logits"``) or A3 (``"probabilities"``);
            ``params`` is a dict of jnp arrays W1 b1 W2 b2 W3 b3 in the article's shapes.
            Under check_backprop's child process (the default) it must be
            importable: a module-level function (see the module docstring).
        output: what ``fn`` returns (see above).
        layout: ``"columns"`` (X is d x m, the article's) or ``"rows"`` (X is m x d).

    Returns:
        A callable ``backward(params, X, Y) -> {"dW1": ..., "db3": ...}`` (NumPy,
        float64, computed under the scoped float64 setting; the global
        ``jax_enable_x64`` flag is untouched).

    Raises:
        InputError: an option is invalid.
        MissingExtraError: JAX is not installed.

    Example:
        >>> import jax.numpy as jnp, derive
        >>> def J(P, X, Y):
        ...     A1 = jnp.tanh(P["W1"] @ X + P["b1"]); A2 = jnp.tanh(P["W2"] @ A1 + P["b2"])
        ...     Z3 = P["W3"] @ A2 + P["b3"]
        ...     return jnp.sum(jnp.logaddexp(0, Z3) - Y * Z3) / X.shape[1]
        >>> derive.check_backprop(jax_backward(J), f="tanh", g="tanh", max_examples=5, isolate=False).ok
        True
    """
    require("jax")
    _check(output, layout)
    if not callable(fn):
        raise InputError(f"fn must be a function fn(params, X, Y) or fn(params, X); got {type(fn).__name__}")
    return JaxBackward(fn, output, layout)
