"""Error function, complementary error function and normal density in NumPy.

``erf`` and ``erfc`` follow W. J. Cody's rational Chebyshev approximations,
the CALERF algorithm of SPECFUN (Netlib):

    W. J. Cody, "Rational Chebyshev approximations for the error function",
    Math. Comp. 23 (1969), 631-637.

Three ranges of ``y = |x|``: ``y <= 0.46875`` (erf as ``x R(x^2)``),
``0.46875 < y <= 4`` and ``y > 4`` (erfc as ``exp(-y^2) R(y)`` and
``exp(-y^2) / y (1/sqrt(pi) + R(1/y^2) / y^2)``). ``exp(-y^2)`` is computed
as ``exp(-t^2) exp(-(y - t)(y + t))`` with ``t = trunc(16 y) / 16`` so that
no precision is lost in ``y^2``. Every range is evaluated on the whole
(clipped) array and the results are selected with ``np.where``: no Python
loop runs over elements. Accuracy is a few ulp over float64; erfc underflows
gradually to 0 near ``x = 27.3``. NumPy only (no scipy).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["erf", "erfc", "normal_pdf"]

_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)

_THRESH = 0.46875
_XSMALL = 1.11e-16  # below it, x^2 is negligible in the first range
_XZERO = 27.3  # erfc(x) rounds to 0 for x >= _XZERO
_RSQRTPI = 0.56418958354775628695  # 1 / sqrt(pi)
_RSQRT2PI = 0.39894228040143267794  # 1 / sqrt(2 pi)


def _erf_small(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """erf(x) for |x| <= 0.46875 (other entries must be zeroed by the caller)."""
    z = np.where(np.abs(x) > _XSMALL, x, 0.0) ** 2
    num, den = _A[4] * z, z
    for a, b in zip(_A[:3], _B[:3]):
        num, den = (num + a) * z, (den + b) * z
    return x * (num + _A[3]) / (den + _B[3])


def _erfc_abs(y: NDArray[np.float64]) -> NDArray[np.float64]:
    """erfc(y) for y = |x| > 0.46875 (meaningless below; inf and NaN pass)."""
    ym = np.clip(y, _THRESH, 4.0)
    num, den = _C[8] * ym, ym
    for c, d in zip(_C[:7], _D[:7]):
        num, den = (num + c) * ym, (den + d) * ym
    mid = (num + _C[7]) / (den + _D[7])

    yl = np.clip(y, 4.0, _XZERO)
    z = 1.0 / (yl * yl)
    num, den = _P[5] * z, z
    for p, q in zip(_P[:4], _Q[:4]):
        num, den = (num + p) * z, (den + q) * z
    large = (_RSQRTPI - z * (num + _P[4]) / (den + _Q[4])) / yl

    ye = np.minimum(y, _XZERO)
    t = np.trunc(ye * 16.0) / 16.0
    scaled = np.where(y <= 4.0, mid, large) * np.exp(-(ye - t) * (ye + t))
    return np.where(y >= _XZERO, 0.0, scaled * np.exp(-t * t))


def _parts(x: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.bool_],
                                  NDArray[np.float64], NDArray[np.float64]]:
    """Return ``x``, the small-range mask, erf there, and erfc(|x|) elsewhere."""
    x = np.asarray(x, dtype=np.float64)
    small = np.abs(x) <= _THRESH
    return x, small, _erf_small(np.where(small, x, 0.0)), _erfc_abs(np.abs(x))


def erf(x: ArrayLike) -> NDArray[np.float64] | np.float64:
    """Error function, elementwise, to a few ulp.

    Example:
        >>> float(erf(0.5))
        0.5204998778130465
    """
    with np.errstate(under="ignore"):
        x, small, e_small, r = _parts(x)
        big = (0.5 - r) + 0.5
        out = np.where(small, e_small, np.where(x < 0, -big, big))
    return out[()]


def erfc(x: ArrayLike) -> NDArray[np.float64] | np.float64:
    """Complementary error function 1 - erf(x), elementwise, to a few ulp.

    Accurate in relative terms for large x (no cancellation) until it
    underflows gradually to 0 near x = 27.3.

    Example:
        >>> float(erfc(3.0))
        2.2090496998585438e-05
    """
    with np.errstate(under="ignore"):
        x, small, e_small, r = _parts(x)
        out = np.where(small, 1.0 - e_small, np.where(x < 0, 2.0 - r, r))
    return out[()]


def normal_pdf(x: ArrayLike) -> NDArray[np.float64] | np.float64:
    """Standard normal density exp(-x^2 / 2) / sqrt(2 pi), elementwise.

    Example:
        >>> float(normal_pdf(0.0))
        0.3989422804014327
    """
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(under="ignore"):
        out = _RSQRT2PI * np.exp(-0.5 * np.square(np.minimum(np.abs(x), 40.0)))
    return out[()]
