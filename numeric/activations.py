"""Catalog of activation functions, each written by hand with its derivative.

Every activation keeps its value and derivative side by side in one factory.
Real input is computed in float64 with stable formulas: no overflow or
invalid-value warnings for real ``z`` in ``[-1e4, 1e4]``, where every result
is finite (exponentials that underflow to 0 are the correct answer and are
not reported). Integer input is promoted to float64.

Complex input: activations with ``analytic=True`` accept complex arrays and
return their analytic continuation, so the complex step
``imag(f(z + i h)) / h`` gives ``f'(z)`` away from kinks. Piecewise
definitions branch on the real part (relu gives ``z`` or ``0``, softsign is
``z / (1 + z)`` for ``Re z > 0`` and ``z / (1 - z)`` otherwise). ``gelu``
(built on erf) is real only and raises TypeError on complex input.

Kink convention (:data:`KINK_CONVENTION` = ``"left"``): at exactly ``z = 0``
the derivatives of relu, leaky_relu, elu and selu take their LEFT-hand
value: relu'(0) = 0, leaky_relu'(0) = alpha, elu'(0) = alpha and
selu'(0) = scale * alpha. The linear branch is selected by ``z > 0``, as in
the sympy ``Piecewise((left, z <= 0), (right, True))``.

Example:
    >>> act = get_activation("leaky_relu", alpha=0.2)
    >>> act(np.array([-1.0, 2.0])), act.derivative(np.array([0.0]))
    (array([-0.2,  2. ]), array([0.2]))
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from numeric._special import erfc, normal_pdf
from numeric.errors import InputError, UnknownActivationError

__all__ = ["Activation", "ACTIVATIONS", "get_activation", "KINK_CONVENTION"]

KINK_CONVENTION: Final[str] = "left"
"""At a kink the derivative takes its left-hand value (linear branch: z > 0)."""

Array = NDArray[Any]
ArrayFn = Callable[[Array], Array]


@dataclass(frozen=True)
class Activation:
    """An activation function with its hand-written derivative.

    Attributes:
        name: Catalog name, or ``"custom"``.
        value: Elementwise f(z).
        derivative: Elementwise f'(z); at kinks, see :data:`KINK_CONVENTION`.
        kinks: Branch points where f may not be differentiable.
        rough: Points where f is differentiable but a higher derivative
            jumps (softsign at 0); finite differences lose their O(h^2)
            accuracy there, so checks keep a margin from kinks and rough
            points alike.
        analytic: True when value and derivative accept complex arrays and
            return the analytic continuation (complex step works off kinks).
        params: Parameter values used (read-only).
        derivative_from_output: f' written exactly in terms of a = f(z),
            or None when there is no such stable formula.
        fused: optional kernel ``(z, a, d)`` writing f(z) into ``a`` and
            f'(z) into ``d`` for real float64 arrays, sharing the work of the
            two (one exp for swish) and using ``z`` as scratch; the backward
            pass runs it block by block (:meth:`value_and_derivative`).
    """

    name: str
    value: ArrayFn
    derivative: ArrayFn
    kinks: tuple[float, ...] = ()
    analytic: bool = False
    params: Mapping[str, float] = field(default_factory=dict, compare=False)
    derivative_from_output: ArrayFn | None = None
    rough: tuple[float, ...] = ()
    fused: Callable[[Array, Array, Array], None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def __call__(self, z: ArrayLike) -> Array:
        """Return ``self.value(z)``."""
        return self.value(z)

    def __repr__(self) -> str:
        params = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"Activation({self.name!r}{params})"

    def value_and_derivative(self, z: Array, *, overwrite: bool = False) -> tuple[Array, Array]:
        """``(f(z), f'(z))``, computed together when a fused kernel exists.

        Args:
            z: the input.
            overwrite: the fused kernel may destroy ``z`` (saves a copy).

        The fused kernels take real float64 arrays; anything else (complex
        input for the complex step, other dtypes) uses value and derivative.
        """
        if self.fused is not None and isinstance(z, np.ndarray) and z.dtype == np.float64:
            a, d = np.empty_like(z), np.empty_like(z)
            with np.errstate(over="ignore", under="ignore"):
                self.fused(z if overwrite else z.copy(), a, d)
            return a, d
        return self.value(z), self.derivative(z)


def _elementwise(fn: ArrayFn) -> ArrayFn:
    """Promote input to float64 / complex128, hush underflow, unwrap 0-d."""

    @functools.wraps(fn)
    def wrapper(z: ArrayLike) -> Array:
        z = np.asarray(z)
        if z.dtype.kind == "c":
            z = z.astype(np.complex128, copy=False)
        elif z.dtype.kind in "biuf":
            z = z.astype(np.float64, copy=False)
        else:
            raise TypeError(f"activations take numeric arrays, not dtype {z.dtype}")
        with np.errstate(under="ignore"):
            out = np.asarray(fn(z), dtype=z.dtype)
        return out[()] if out.ndim == 0 else out

    return wrapper


# ---- stable building blocks (real, or complex branching on Re z) ----------

def _exp_tail(z: Array) -> Array:
    """exp(-z) where Re z > 0, else exp(z): modulus <= 1, never overflows."""
    return np.exp(np.where(z.real > 0, -z, z))


def _sigmoid(z: Array) -> Array:
    e = _exp_tail(z)
    return np.where(z.real > 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _dsigmoid(z: Array) -> Array:
    e = _exp_tail(z)
    return e / (1.0 + e) ** 2  # = sigmoid(z)(1 - sigmoid(z)), both tails


def _sech2(z: Array) -> Array:
    return 4.0 * _dsigmoid(2.0 * z)  # tanh(z) = 2 sigmoid(2z) - 1


def _log1p(w: Array) -> Array:
    """log(1 + w); for complex w the real part stays accurate for small w."""
    if not np.iscomplexobj(w):
        return np.log1p(w)
    a, b = w.real, w.imag
    return 0.5 * np.log1p(a * (2.0 + a) + b * b) + 1j * np.arctan2(b, 1.0 + a)


def _softplus(z: Array) -> Array:
    if not np.iscomplexobj(z):
        return np.logaddexp(0.0, z)
    return np.where(z.real > 0, z, 0.0) + _log1p(_exp_tail(z))


def _real_only(name: str, z: Array) -> None:
    if np.iscomplexobj(z):
        raise TypeError(f"{name} (erf-based) has no complex implementation; "
                        "use 'gelu_tanh' for the complex step, or real input")


# ---- fused real float64 kernels ------------------------------------------
# Each writes f(z) into ``a`` and f'(z) into ``d`` and may use ``z`` as scratch
# (its content is lost): no allocation at all, so that the backward pass can
# run them block by block in cache.  Callers hush overflow: exp(-z) = inf for
# z < -709 gives sigmoid 0, its limit.
Kernel = Callable[[Array, Array, Array], None]


def _fused_swish(beta: float) -> Kernel:
    def fused(z: Array, a: Array, d: Array) -> None:
        np.multiply(z, -beta, out=d)
        np.exp(d, out=d)
        d += 1.0
        np.divide(1.0, d, out=d)  # d = s = sigmoid(beta z)
        np.multiply(z, d, out=a)  # a = z s
        np.subtract(z, a, out=z)  # z (1 - s)
        if beta != 1.0:
            z *= beta
        z += 1.0
        d *= z  # f' = s (1 + beta z (1 - s))

    return fused


def _fused_leaky_relu(alpha: float) -> Kernel | None:
    if not 0.0 <= alpha <= 1.0:
        return None  # max(z, alpha z) is the activation only for alpha in [0, 1]

    def fused(z: Array, a: Array, d: Array) -> None:
        np.greater(z, 0.0, out=d)  # linear branch; left derivative at 0 (KINK_CONVENTION)
        if alpha != 0.0:
            d *= 1.0 - alpha
            d += alpha  # exactly 1.0 on the linear branch for alpha in [0, 1]: fl(fl(1 - alpha) + alpha) = 1
        np.multiply(z, d, out=a)  # z * 1 = z, z * alpha = alpha z: max(z, alpha z), bit for bit

    return fused


def _fused_sigmoid(z: Array, a: Array, d: Array) -> None:
    np.maximum(z, -700.0, out=d)  # keeps exp(-z) finite; sigmoid(-700) ~ 1e-304
    np.negative(d, out=d)
    np.exp(d, out=d)  # d = e = exp(-z)
    np.add(d, 1.0, out=a)
    np.divide(1.0, a, out=a)  # a = 1 / (1 + e)
    d *= a
    d *= a  # f' = e / (1 + e)^2, accurate in both tails


def _fused_tanh(z: Array, a: Array, d: Array) -> None:
    np.tanh(z, out=a)
    np.abs(z, out=d)
    d *= -2.0
    np.exp(d, out=d)  # e = exp(-2|z|) <= 1
    np.add(d, 1.0, out=z)
    d /= z
    d /= z
    d *= 4.0  # sech^2 z = 4 e / (1 + e)^2, no cancellation for large |z|


def _fused_identity(z: Array, a: Array, d: Array) -> None:
    np.copyto(a, z)
    d.fill(1.0)


# ---- the catalog: value and derivative side by side -----------------------

def _sigmoid_act() -> Activation:
    return Activation("sigmoid", _elementwise(_sigmoid), _elementwise(_dsigmoid),
                      analytic=True, derivative_from_output=_elementwise(lambda a: a * (1.0 - a)),
                      fused=_fused_sigmoid)


def _tanh_act() -> Activation:
    return Activation("tanh", _elementwise(np.tanh), _elementwise(_sech2),
                      analytic=True, derivative_from_output=_elementwise(lambda a: 1.0 - a * a),
                      fused=_fused_tanh)


def _relu_act() -> Activation:
    value = _elementwise(lambda z: np.where(z.real > 0, z, 0.0))
    deriv = _elementwise(lambda z: np.where(z.real > 0, 1.0, 0.0))
    from_out = _elementwise(lambda a: np.where(a.real > 0, 1.0, 0.0))
    return Activation("relu", value, deriv, kinks=(0.0,), analytic=True,
                      derivative_from_output=from_out, fused=_fused_leaky_relu(0.0))


def _leaky_relu_act(alpha: float) -> Activation:
    value = _elementwise(lambda z: np.where(z.real > 0, z, alpha * z))
    deriv = _elementwise(lambda z: np.where(z.real > 0, 1.0, alpha))
    from_out = _elementwise(lambda a: np.where(a.real > 0, 1.0, alpha))
    return Activation("leaky_relu", value, deriv, kinks=(0.0,), analytic=True,
                      params={"alpha": alpha},
                      derivative_from_output=from_out if alpha > 0 else None,
                      fused=_fused_leaky_relu(alpha))


def _swish_act(beta: float) -> Activation:
    value = _elementwise(lambda z: z * _sigmoid(beta * z))
    deriv = _elementwise(lambda z: _sigmoid(beta * z) + beta * z * _dsigmoid(beta * z))
    return Activation("swish", value, deriv, analytic=True, params={"beta": beta},
                      fused=_fused_swish(beta))


_RSQRT2 = 1.0 / math.sqrt(2.0)


def _gelu_act() -> Activation:
    def value(z: Array) -> Array:
        _real_only("gelu", z)
        return 0.5 * z * erfc(-z * _RSQRT2)  # z Phi(z), no cancellation for z < 0

    def deriv(z: Array) -> Array:
        _real_only("gelu", z)
        return 0.5 * erfc(-z * _RSQRT2) + z * normal_pdf(z)  # Phi(z) + z phi(z)

    return Activation("gelu", _elementwise(value), _elementwise(deriv), analytic=False)


_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_K = 0.044715


def _gelu_tanh_act() -> Activation:
    # 0.5 z (1 + tanh u) = z sigmoid(2u), u = c (z + k z^3)
    def value(z: Array) -> Array:
        return z * _sigmoid(2.0 * _GELU_C * (z + _GELU_K * z**3))

    def deriv(z: Array) -> Array:
        # beyond |z| = 1e100 the derivative is exactly 0 or 1 in float64; computing it there
        # would multiply sigmoid'(u) = 0 by an overflowed du (inf * 0 = nan)
        big = np.abs(z) >= 1e100
        zs = np.where(big, 0.0, z)
        u2 = 2.0 * _GELU_C * (zs + _GELU_K * zs**3)
        du2 = 2.0 * _GELU_C * (1.0 + 3.0 * _GELU_K * zs * zs)
        return np.where(big, (np.real(z) > 0).astype(float), _sigmoid(u2) + zs * _dsigmoid(u2) * du2)

    return Activation("gelu_tanh", _elementwise(value), _elementwise(deriv), analytic=True)


def _elu_like(name: str, scale: float, alpha: float, params: dict[str, float]) -> Activation:
    def value(z: Array) -> Array:
        pos = z.real > 0
        return scale * np.where(pos, z, alpha * np.expm1(np.where(pos, 0.0, z)))

    def deriv(z: Array) -> Array:
        pos = z.real > 0
        return scale * np.where(pos, 1.0, alpha * np.exp(np.where(pos, 0.0, z)))

    def from_out(a: Array) -> Array:  # for z <= 0: f' = scale alpha e^z = a + scale alpha
        return np.where(a.real > 0, scale, a + scale * alpha)

    exact = alpha > 0 and scale > 0  # then a > 0 exactly when z > 0
    return Activation(name, _elementwise(value), _elementwise(deriv), kinks=(0.0,),
                      analytic=True, params=params,
                      derivative_from_output=_elementwise(from_out) if exact else None)


def _elu_act(alpha: float) -> Activation:
    return _elu_like("elu", 1.0, alpha, {"alpha": alpha})


def _selu_act(scale: float, alpha: float) -> Activation:
    return _elu_like("selu", scale, alpha, {"scale": scale, "alpha": alpha})


def _softplus_act() -> Activation:
    return Activation("softplus", _elementwise(_softplus), _elementwise(_sigmoid),
                      analytic=True,  # sigmoid(z) = 1 - exp(-softplus(z))
                      derivative_from_output=_elementwise(lambda a: -np.expm1(-a)))


def _mish_act() -> Activation:
    def deriv(z: Array) -> Array:
        sp = _softplus(z)
        return np.tanh(sp) + z * _sigmoid(z) * _sech2(sp)

    return Activation("mish", _elementwise(lambda z: z * np.tanh(_softplus(z))),
                      _elementwise(deriv), analytic=True)


def _softsign_act() -> Activation:
    # s = sign(Re z) (s = -1 at 0): 1 + s z = 1 + |z| for real z
    def sign(z: Array) -> Array:
        return np.where(z.real > 0, 1.0, -1.0)

    return Activation("softsign", _elementwise(lambda z: z / (1.0 + sign(z) * z)),
                      _elementwise(lambda z: 1.0 / (1.0 + sign(z) * z) ** 2), analytic=True,
                      derivative_from_output=_elementwise(lambda a: (1.0 - np.abs(a)) ** 2),
                      rough=(0.0,))


def _identity_act() -> Activation:
    return Activation("identity", _elementwise(lambda z: z.copy()),
                      _elementwise(np.ones_like), analytic=True,
                      derivative_from_output=_elementwise(np.ones_like), fused=_fused_identity)


_SELU_SCALE = 1.0507009873554804934193349852946
_SELU_ALPHA = 1.6732632423543772848170429916717

# name -> (factory, default parameters), in catalog order
_FACTORIES: dict[str, tuple[Callable[..., Activation], dict[str, float]]] = {
    "sigmoid": (_sigmoid_act, {}),
    "tanh": (_tanh_act, {}),
    "relu": (_relu_act, {}),
    "leaky_relu": (_leaky_relu_act, {"alpha": 0.01}),
    "swish": (_swish_act, {"beta": 1.0}),
    "gelu": (_gelu_act, {}),
    "gelu_tanh": (_gelu_tanh_act, {}),
    "elu": (_elu_act, {"alpha": 1.0}),
    "selu": (_selu_act, {"scale": _SELU_SCALE, "alpha": _SELU_ALPHA}),
    "softplus": (_softplus_act, {}),
    "mish": (_mish_act, {}),
    "softsign": (_softsign_act, {}),
    "identity": (_identity_act, {}),
}

ACTIVATIONS: dict[str, Activation] = {
    name: factory(**defaults) for name, (factory, defaults) in _FACTORIES.items()
}


def _from_name(name: str, params: dict[str, Any]) -> Activation:
    if name not in _FACTORIES:
        raise UnknownActivationError(
            f"unknown activation {name!r}; known: {', '.join(_FACTORIES)}")
    if not params:
        return ACTIVATIONS[name]
    factory, defaults = _FACTORIES[name]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        accepted = ", ".join(defaults) or "none"
        raise InputError(f"{name} got unknown parameter(s) {', '.join(unknown)}; "
                         f"accepted: {accepted}")
    merged = dict(defaults)
    for key, val in params.items():
        try:
            merged[key] = float(val)
        except (TypeError, ValueError):
            raise InputError(f"{name} parameter {key} must be a real number, "
                             f"got {val!r}") from None
        if not math.isfinite(merged[key]):
            raise InputError(f"{name} parameter {key} must be finite, got {val!r}")
    return factory(**merged)


def get_activation(spec: str | Activation | tuple[ArrayFn, ArrayFn],
                   **params: float) -> Activation:
    """Look up or build an activation.

    Args:
        spec: A catalog name (see :data:`ACTIVATIONS`), an :class:`Activation`
            (returned as is), or a pair ``(value, derivative)`` of callables
            (an Activation named ``"custom"``, not analytic, no kinks).
        **params: Parameters overriding a catalog entry's defaults.

    Returns:
        The activation.

    Raises:
        UnknownActivationError: ``spec`` is a string not in the catalog.
        InputError: A parameter is unknown or not a finite real number, or
            parameters were given with a non-name ``spec``.
        TypeError: ``spec`` is none of the accepted kinds.

    Example:
        >>> get_activation("elu", alpha=0.5).params["alpha"]
        0.5
    """
    if isinstance(spec, str):
        return _from_name(spec, params)
    if params:
        raise InputError("parameters apply only to a catalog name, not to "
                         f"{type(spec).__name__}")
    if isinstance(spec, Activation):
        return spec
    if (isinstance(spec, (tuple, list)) and len(spec) == 2
            and all(callable(fn) for fn in spec)):
        return Activation("custom", spec[0], spec[1])
    raise TypeError("activation must be a catalog name (one of "
                    f"{', '.join(_FACTORIES)}), an Activation, or a pair "
                    f"(value, derivative) of callables; got {spec!r}")
