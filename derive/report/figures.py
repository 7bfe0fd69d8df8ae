"""Data for the report's pgfplots figures, computed so that every printed
digit is the same on every machine.

* :func:`activation_curves`: f and f' sampled from the sympy expressions,
  evaluated with mpmath (pure Python, no SIMD or libm), one segment per
  region between break points (so a jump in f' is drawn as a jump);
* :func:`step_sweep`: the classic error-versus-step curve of the largest
  gradient entry: forward and central differences and the complex step,
  each computed in 53-bit (float64) precision by mpmath in a fixed order of
  operations, against the derivative at 40 significant digits.

No number here goes through NumPy's BLAS, whose summation order depends on
the CPU kernel and the thread count.  :func:`derive.report.fixed.check_lambdified`
separately confirms that the lambdified formula agrees with the 40-digit
reference (a pass/fail mark, no printed number).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import mpmath
import numpy as np

from derive.report.fixed import MpNetwork, mp_function

__all__ = ["Curve", "activation_curves", "StepSweep", "step_sweep", "SWEEP_PROBLEM", "fmt"]

# (d, n, p, q, m) and seed of the sweep's problem
SWEEP_PROBLEM: dict[str, Any] = {"shape": (3, 4, 2, 1, 5), "seed": 0}
_SIG = 6  # significant digits printed in figure tables


def fmt(x: Any, sig: int = _SIG) -> str:
    """A number with ``sig`` significant digits, from an mpmath or Python number,
    the same text on every machine (mpmath's own decimal conversion).

    Example:
        >>> fmt(mpmath.mpf(1) / 3), fmt(0.0), fmt(-2.5e-7)
        ('0.333333', '0', '-2.5e-7')
    """
    x = mpmath.mpf(x)
    if x == 0:
        return "0"
    s = mpmath.nstr(x, sig, min_fixed=-4, max_fixed=7, strip_zeros=True)
    s = s.replace("e-0", "e-").replace("e+", "e").replace(".0e", "e").replace(".e", "e")
    return s[:-2] if s.endswith(".0") else s


@dataclass(frozen=True)
class Curve:
    """Segments of (z, value) points as printed text; segments are separated by jumps."""

    label: str
    segments: tuple[tuple[tuple[str, str], ...], ...]

    @property
    def span(self) -> tuple[float, float]:
        """(min, max) of the values (for a sensible y range)."""
        vals = [float(v) for seg in self.segments for _, v in seg]
        return (min(vals), max(vals)) if vals else (0.0, 0.0)


def activation_curves(
    expr: Any, deriv: Any, kinks: Sequence[float], *, lo: float = -4.0, hi: float = 4.0, points: int = 81
) -> tuple[Curve, Curve]:
    """Sample f and f' on ``[lo, hi]``, split at the break points.

    Example:
        >>> from derive.activations import derivative_expr
        >>> from derive.expr import activation_expr
        >>> e = activation_expr("relu")
        >>> f, df = activation_curves(e, derivative_expr(e), [0.0], points=5)
        >>> len(df.segments), df.segments[0][-1], df.segments[1][0]
        (2, ('0', '0'), ('0', '1'))
    """
    edges = [lo] + sorted(float(k) for k in kinks if lo < float(k) < hi) + [hi]
    out = []
    with mpmath.workdps(30):
        for label, e in (("value", expr), ("derivative", deriv)):
            fn = mp_function(e)
            segs = []
            for left, right in zip(edges[:-1], edges[1:]):
                count = max(3, int(round(points * (right - left) / (hi - lo))))
                pts = []
                for i in range(count):
                    zx = mpmath.mpf(left) + (mpmath.mpf(right) - mpmath.mpf(left)) * i / (count - 1)
                    # a hair inside the region, so each side of a kink keeps its own branch
                    inner = zx
                    if i == 0 and left != lo:
                        inner = zx + mpmath.mpf("1e-20")
                    if i == count - 1 and right != hi:
                        inner = zx - mpmath.mpf("1e-20")
                    try:
                        val = mpmath.mpf(fn(inner))
                    except (ZeroDivisionError, ValueError, TypeError, OverflowError):
                        continue  # a point where f is undefined is left out of the line
                    if not mpmath.isfinite(val):
                        continue
                    pts.append((fmt(zx), fmt(val)))
                if pts:
                    segs.append(tuple(pts))
            out.append(Curve(label, tuple(segs)))
    return out[0], out[1]


@dataclass(frozen=True)
class StepSweep:
    """Relative error of one gradient entry against the step size (all as printed text).

    Attributes:
        param, index: the swept entry (the largest in absolute value).
        exact: its value at 40 digits (printed with 10).
        steps, forward, central, complex: the series, formatted.
        best: (h, error) of the most accurate central difference.
        lambdified_ok: the lambdified formula agrees with ``exact``.
    """

    param: str
    index: tuple[int, int]
    shape: tuple[int, ...]
    seed: int
    exact: str
    steps: tuple[str, ...]
    forward: tuple[str, ...]
    central: tuple[str, ...]
    complex: tuple[str, ...] | None
    best: tuple[str, str]
    lambdified_ok: bool

    @property
    def best_central(self) -> tuple[float, float]:
        """(step, error) where the central difference is most accurate."""
        return float(self.best[0]), float(self.best[1])


def _rel(approx: Any, exact: Any) -> Any:
    return abs(approx - exact) / abs(exact)


def step_sweep(
    f: Any = "swish",
    g: Any = "leaky_relu",
    *,
    shape: Sequence[int] = SWEEP_PROBLEM["shape"],
    seed: int = SWEEP_PROBLEM["seed"],
    analytic: bool = True,
    problem: tuple[dict[str, np.ndarray], np.ndarray, np.ndarray] | None = None,
    lambdified: dict[str, np.ndarray] | None = None,
) -> StepSweep | None:
    """Errors of forward/central differences and the complex step, steps 1e-1 .. 1e-13.

    Returns None when every entry of the gradient is exactly 0 (a relative
    error is then undefined; the report says so instead of drawing).

    Args:
        f, g: the activations as sympy expressions or catalog names.
        analytic: both activations have an analytic continuation (the complex
            step is meaningful); False skips it.
        problem: (params, X, Y) to use; default: the seeded draw of ``shape``.
        lambdified: the derived gradient on ``problem``, checked against the
            reference (pass/fail only; its digits depend on BLAS).

    Example:
        >>> s = step_sweep()
        >>> s.best_central[1] < 1e-8 < float(s.forward[-1])
        True
    """
    from derive.activations import numpy_function  # noqa: F401 - same expressions as the report
    from derive.expr import activation_expr
    from numeric.compare import draw_problem
    import numeric

    fe, ge = activation_expr(f), activation_expr(g)
    if problem is None:
        fa = numeric.get_activation(f) if isinstance(f, str) and f in numeric.ACTIVATIONS else None
        ga = numeric.get_activation(g) if isinstance(g, str) and g in numeric.ACTIVATIONS else None
        if fa is None or ga is None:
            from derive.activations import derivative_expr, numpy_function as npf

            fa = fa or numeric.get_activation((npf(fe), npf(derivative_expr(fe))))
            ga = ga or numeric.get_activation((npf(ge), npf(derivative_expr(ge))))
        problem = draw_problem(*shape, f=fa, g=ga, seed=seed)
    params, X, Y = problem
    net = MpNetwork(fe, ge, params, X, Y)
    with mpmath.workdps(40):
        grads = net.reference_gradient()
    # the largest entry in absolute value (first in parameter order on a tie)
    param, index, exact = max(
        ((k, ij, v) for k, entries in grads.items() for ij, v in entries),
        key=lambda item: abs(item[2]),
    )
    if exact == 0:
        return None  # every partial derivative is 0: no relative error to draw
    lam_ok = True
    if lambdified is not None:
        got = float(lambdified["d" + param][index])
        lam_ok = math.isfinite(got) and abs(got - float(exact)) <= 1e-9 * abs(float(exact))
    steps = [mpmath.mpf(10) ** (mpmath.mpf(-k) / 4) for k in range(4, 53)]
    up_down, cs = [], []
    with mpmath.workprec(53):
        base = net.cost(param, index, 0)
        steps = [+h for h in steps]  # rounded to 53 bits, as a float64 step would be
        for h in steps:
            up, down = net.cost(param, index, h), net.cost(param, index, -h)
            up_down.append(((up - base) / h, (up - down) / (2 * h)))
            if analytic:
                try:
                    cs.append(mpmath.im(net.cost(param, index, mpmath.mpc(0, h))) / h)
                except TypeError:  # a piecewise activation: no analytic continuation
                    analytic, cs = False, []
    with mpmath.workdps(40):
        fwd = [_rel(a, exact) for a, _ in up_down]
        cen = [_rel(c, exact) for _, c in up_down]
        cpx = [_rel(c, exact) for c in cs]
    i_best = min(range(len(cen)), key=lambda i: cen[i])
    floor = mpmath.mpf("1e-17")
    show = lambda xs: tuple(fmt(max(x, floor), 3) for x in xs)  # noqa: E731 - exactly 0 drawn at 1e-17
    return StepSweep(
        param, index, tuple(shape), seed, mpmath.nstr(exact, 10),
        tuple(fmt(h, 3) for h in steps), show(fwd), show(cen), show(cpx) if cpx else None,
        (fmt(steps[i_best], 3), fmt(cen[i_best], 2)), lam_ok,
    )
