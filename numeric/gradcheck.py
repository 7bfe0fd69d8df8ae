"""Numeric gradient oracles for the network cost: central differences,
Richardson extrapolation and the complex step, with tolerances per method and
dtype.

Every oracle perturbs parameters and calls the same forward pass as
:func:`numeric.cost`, so it shares no code with :func:`numeric.backward`.

=============  ==========================================  ======================  ===========
method         estimate of dJ/dx                           step (per entry)        evaluations
=============  ==========================================  ======================  ===========
central        (J(x + h) - J(x - h)) / 2h, error O(h^2)    eps^(1/3) max(1, |x|)   2 per entry
richardson     (4 D(h/2) - D(h)) / 3, error O(h^4)         eps^(1/5)/8 max(1,|x|)  4 per entry
complex        Im J(x + ih) / h, no cancellation           1e-20                   1 per entry
=============  ==========================================  ======================  ===========

``D(h)`` is the central difference.  Richardson also gives an error
estimate ``|D(h/2) - D(h)| / 3`` (the truncation error it removed).  Steps are
made exact: the denominator is ``(x + h) - (x - h)`` as stored, not ``2h``.
The complex step needs every operation on the path to be analytic (the
activation's ``analytic`` flag; ``numeric.cost`` accepts complex input).
:mod:`numeric.oracles` builds per-parameter reports and directional checks
on top of these.

Tolerances (:func:`tolerance`) follow from the dtype's machine epsilon and
the method's error order, not from one constant.

float32: with ``dtype=np.float32`` the parameters, inputs, every matrix
product and every activation output are rounded to float32 (complex64 for the
complex step); only the final sum of the cost runs in float64.  Measured
against the float64 gradient: central differences (``h = eps32^(1/3) ~ 5e-3``)
reach about 1e-5 relative; Richardson gains nothing in float32 (its error is
roundoff, 1e-5 to 1e-4); the complex step reaches float32 rounding, about
1e-7.  So in float32 only the complex step can tell a float32 rounding error
from a bug smaller than 1e-4.  float32 steps are large: keep pre-activations at
least 0.05 away from kinks (``numeric.compare.draw_problem(kink_margin=0.05)``),
against 1e-3 in float64.

Example:
    >>> import numeric
    >>> P = numeric.init_params(3, 4, 2, seed=0)
    >>> X, Y = np.ones((3, 5)), np.zeros((1, 5))
    >>> G = numerical_gradient(P, X, Y, method="complex")
    >>> bool(np.allclose(G["dW1"], numeric.backward(P, X, Y)["dW1"], rtol=1e-12))
    True
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, NamedTuple

import numpy as np

from numeric._validate import PARAM_NAMES, check_network
from numeric.activations import Activation, get_activation
from numeric.errors import InputError
from numeric.description import Network
from numeric.general import check_problem, cost_any
from numeric.network import _bce_from_logits, _forward

__all__ = ["METHODS", "numerical_gradient", "default_step", "tolerance", "Tolerance"]

METHODS: tuple[str, ...] = ("central", "richardson", "complex")

# safety factor over eps**order.  Measured over 600 drawn problems (every
# activation pair, weights up to 4/sqrt(fan-in)): the worst error is below
# 1/20 of the tolerance in float64 with a kink margin of 1e-3, and in
# float32 with a kink margin of 0.05 (float32 steps are ~1000x larger).
_SAFETY = {"central": 1e3, "richardson": 1e3, "complex": 1e3}
_ORDER = {"central": 2.0 / 3.0, "richardson": 4.0 / 5.0, "complex": 1.0}
_STEP_POWER = {"central": 1.0 / 3.0, "richardson": 1.0 / 5.0}
_COMPLEX_STEP = 1e-20


class Tolerance(NamedTuple):
    """``rtol`` on the max-norm relative error, ``atol`` in units of ``max(1, J_abs)``."""

    rtol: float
    atol: float


def _float_dtype(dtype: Any) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise InputError(f"dtype must be float64 or float32, got {dt}")
    return dt


def _method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    return method


def tolerance(method: str = "central", dtype: Any = np.float64) -> Tolerance:
    """Default tolerance of an oracle: ``1000 * eps**order`` for rtol and atol.

    ``order`` is the power of epsilon the method's error reaches at its
    default step: 2/3 for central differences, 4/5 for Richardson, 1 for
    the complex step.

    ========== ============ ============
    method     float64      float32
    ========== ============ ============
    central    3.7e-08      2.4e-02
    richardson 3.0e-10      2.9e-03
    complex    2.2e-13      1.2e-04
    ========== ============ ============

    Example:
        >>> tolerance("complex").rtol < tolerance("central").rtol
        True
    """
    eps = float(np.finfo(_float_dtype(dtype)).eps)
    t = _SAFETY[_method(method)] * eps ** _ORDER[method]
    return Tolerance(t, t)


def default_step(x: Any, dtype: Any = np.float64, *, method: str = "central") -> np.ndarray:
    """Per-entry step: ``eps**(1/3) * max(1, |x|)`` (central), ``eps**(1/5) / 8 * ...``
    (Richardson's larger step; the 1/8 keeps the O(h^4) term small for
    weights up to about 4), ``1e-20`` (complex).

    Example:
        >>> float(default_step(2.0)) == 2 * float(np.cbrt(np.finfo(float).eps))
        True
    """
    if _method(method) == "complex":
        return np.full(np.shape(x), _COMPLEX_STEP)
    eps = float(np.finfo(_float_dtype(dtype)).eps)
    h = np.cbrt(eps) if method == "central" else eps ** _STEP_POWER[method] / 8
    return h * np.maximum(1.0, np.abs(x))


# ------------------------------------------------------------ the cost
def _rounded(act: Activation, dtype: np.dtype) -> Activation:
    """The activation with its output rounded to ``dtype`` (float32 emulation)."""
    return dataclasses.replace(act, value=lambda z: np.asarray(act.value(z)).astype(dtype, copy=False))


class _Cost:
    """``J`` of working copies of the parameters, which the oracles perturb in place."""

    def __init__(self, params: Mapping[str, Any], X: Any, Y: Any, f: Any, g: Any,
                 dtype: Any, complex_: bool = False, network: Network | None = None) -> None:
        self.net = network
        if network is not None:
            if f is not None or g is not None:
                raise InputError("give the activations in the Network, not as f= and g= as well")
            P, Xa, Ya = check_problem(params, X, Y, network)
            acts = [get_activation(a) for a in network.activations]
        else:
            P, Xa, Ya = check_network(params, X, Y)
            acts = [get_activation("swish" if f is None else f), get_activation("leaky_relu" if g is None else g)]
        self.names = network.parameter_names() if network is not None else PARAM_NAMES
        self.dtype = _float_dtype(dtype)
        if network is not None and self.dtype != np.float64:
            raise InputError("a Network's numerical gradient runs in float64 only")
        work = np.result_type(self.dtype, np.complex64) if complex_ else self.dtype
        fa, ga = acts[0] if acts else None, acts[1] if len(acts) > 1 else None
        if complex_:
            bad = [a.name for a in acts if not a.analytic]
            if bad:
                raise ValueError(
                    f"the complex step needs analytic activations; {bad} do not accept complex input "
                    "(use method='central')"
                )
        if self.dtype != np.float64:
            fa, ga = _rounded(fa, work), _rounded(ga, work)
        self.fa, self.ga = fa, ga
        self.base = {k: P[k].real.astype(self.dtype) for k in self.names}
        self.P = {k: v.astype(work) for k, v in self.base.items()}
        self.X, self.Y = Xa.astype(self.dtype), Ya.astype(self.dtype)
        self.evaluations = 0

    def __call__(self) -> Any:
        self.evaluations += 1
        if self.net is not None:
            with np.errstate(over="ignore", under="ignore"):
                return cost_any(self.P, self.X, self.Y, self.net)
        with np.errstate(over="ignore", under="ignore"):
            cache = _forward(self.P, self.X, self.fa, self.ga)
            return _bce_from_logits(cache["Z3"].astype(self.P["W3"].dtype, copy=False), self.Y)

    def scale(self) -> float:
        """``J_abs``: mean of ``|softplus(Z3)| + |Y Z3|`` at the base point
        (for a Network: ``|J|`` at the base point)."""
        if self.net is not None:
            return float(abs(cost_any(self.base, self.X, self.Y, self.net)))
        Z3 = _forward(self.base, self.X, self.fa, self.ga)["Z3"].real
        m = Z3.shape[1]
        return float(np.sum(np.logaddexp(0.0, Z3) + np.abs(self.Y * Z3)) / m)


def _central(J: _Cost, name: str, idx: Any, h: float) -> float:
    """One central difference with the step as stored (exact in the dtype)."""
    arr, x = J.P[name], J.base[name][idx]
    arr[idx] = x + h
    xp, jp = float(arr[idx]), J()
    arr[idx] = x - h
    xm, jm = float(arr[idx]), J()
    arr[idx] = x
    return (float(jp) - float(jm)) / (xp - xm)


def _entry(J: _Cost, method: str, name: str, idx: Any, h: float) -> tuple[float, float]:
    """Estimate of ``dJ/dx`` at one entry, and an error estimate (Richardson; else 0)."""
    if method == "complex":
        arr, x = J.P[name], J.base[name][idx]
        arr[idx] = x + 1j * h
        val = complex(J()).imag / h
        arr[idx] = x
        return val, 0.0
    if method == "central":
        return _central(J, name, idx, h), 0.0
    coarse, fine = _central(J, name, idx, h), _central(J, name, idx, h / 2)
    return fine + (fine - coarse) / 3.0, abs(fine - coarse) / 3.0


def numerical_gradient(
    params: Mapping[str, Any],
    X: Any,
    Y: Any,
    f: Any = None,
    g: Any = None,
    *,
    network: Network | None = None,
    method: str = "central",
    step: float | None = None,
    dtype: Any = np.float64,
) -> dict[str, np.ndarray]:
    """Gradient of :func:`numeric.cost` by finite differences or complex step.

    Args:
        f, g: the article's hidden activations (default swish, leaky_relu).
        network: any description instead (float64 only).
        method: ``"central"``, ``"richardson"`` or ``"complex"``.
        step: overrides the step (per-entry default for central and
            Richardson, 1e-20 for the complex step).
        dtype: float64, or float32 to emulate a float32 network.

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
    grads, _, _, _ = _every_entry(params, X, Y, f, g, method=_method(method), step=step, dtype=dtype,
                                  network=network)
    return grads


def _every_entry(params: Mapping[str, Any], X: Any, Y: Any, f: Any, g: Any, *, method: str,
                 step: float | None, dtype: Any, network: Network | None = None
                 ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray], _Cost]:
    J = _Cost(params, X, Y, f, g, dtype, complex_=method == "complex", network=network)
    grads, errs, steps = {}, {}, {}
    for name in J.names:
        base = J.base[name]
        h = default_step(base, J.dtype, method=method) if step is None else np.full(base.shape, float(step))
        out, err = np.empty(base.shape), np.empty(base.shape)
        for idx in np.ndindex(base.shape):
            out[idx], err[idx] = _entry(J, method, name, idx, float(h[idx]))
        grads["d" + name], errs["d" + name], steps["d" + name] = out, err, h
    return grads, errs, steps, J
