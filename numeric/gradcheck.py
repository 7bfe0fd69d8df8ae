"""Numeric gradient oracles for the network cost: central differences and the
complex step.

Both perturb one parameter entry at a time and call :func:`numeric.cost`, so
they share no code with :func:`numeric.backward` beyond the forward pass.

* Central differences: ``(J(x + h) - J(x - h)) / 2h`` with a per-entry step
  ``h = eps**(1/3) * max(1, |x|)`` (about 6e-6 in float64), error O(h^2).
* Complex step: ``Im J(x + ih) / h`` with ``h = 1e-20``; no subtraction, so it
  is exact to machine precision, but only where every operation on the path
  is analytic (the activation's ``analytic`` flag).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from numeric._validate import PARAM_NAMES, check_network
from numeric.activations import get_activation
from numeric.network import cost

__all__ = ["numerical_gradient", "default_step"]


def default_step(x: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
    """Per-entry central-difference step: ``eps**(1/3) * max(1, |x|)``."""
    eps = np.finfo(dtype).eps
    return np.cbrt(eps) * np.maximum(1.0, np.abs(x))


def numerical_gradient(
    params: Mapping[str, Any],
    X: Any,
    Y: Any,
    f: Any = "swish",
    g: Any = "leaky_relu",
    *,
    method: str = "central",
    step: float | None = None,
) -> dict[str, np.ndarray]:
    """Gradient of :func:`numeric.cost` by finite differences or complex step.

    Args:
        method: ``"central"`` or ``"complex"``.
        step: overrides the step (per-entry default for central, 1e-20 for
            the complex step).

    Returns:
        ``dW1 db1 dW2 db2 dW3 db3``, float64 arrays shaped like the parameters.

    Raises:
        ValueError: unknown method, or the complex step with an activation
            that does not accept complex input.

    Example:
        >>> import numeric
        >>> P = numeric.init_params(2, 2, 2)
        >>> G = numerical_gradient(P, np.ones((2, 3)), np.ones((1, 3)))
        >>> sorted(G) == sorted(numeric.backward(P, np.ones((2, 3)), np.ones((1, 3))))
        True
    """
    if method not in ("central", "complex"):
        raise ValueError(f"method must be 'central' or 'complex', got {method!r}")
    P, Xa, Ya = check_network(params, X, Y)
    fa, ga = get_activation(f), get_activation(g)
    if method == "complex":
        not_analytic = [a.name for a in (fa, ga) if not a.analytic]
        if not_analytic:
            raise ValueError(
                f"the complex step needs analytic activations; {not_analytic} do not accept complex input "
                "(use method='central')"
            )
    grads: dict[str, np.ndarray] = {}
    for name in PARAM_NAMES:
        base = P[name]
        out = np.empty(base.shape, dtype=np.float64)
        for idx in np.ndindex(base.shape):
            if method == "complex":
                h = 1e-20 if step is None else step
                trial = {k: v.astype(np.complex128) for k, v in P.items()}
                trial[name][idx] += 1j * h
                out[idx] = cost(trial, Xa, Ya, fa, ga).imag / h
            else:
                h = float(default_step(base[idx])) if step is None else step
                plus = {k: v.copy() for k, v in P.items()}
                minus = {k: v.copy() for k, v in P.items()}
                plus[name][idx] += h
                minus[name][idx] -= h
                out[idx] = (cost(plus, Xa, Ya, fa, ga) - cost(minus, Xa, Ya, fa, ga)) / (2 * h)
        grads["d" + name] = out
    return grads
