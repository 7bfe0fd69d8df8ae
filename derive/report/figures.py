"""Data for the report's pgfplots figures, computed by the project.

* :func:`activation_curves`: f and f' sampled from the lambdified sympy
  expressions, one segment per region between kinks (so a jump in f' is
  drawn as a jump, not a vertical line);
* :func:`step_sweep`: the classic error-versus-step curve of one gradient
  entry: forward and central differences and the complex step, each against
  the derived (lambdified) gradient.

The numbers are written into the .tex as pgfplots tables by
:mod:`derive.report.latex`; they depend on floating point, so they sit
between ``% measured`` markers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

import numeric
from derive.activations import numpy_function
from derive.lambdified import gradient_function
from numeric.compare import draw_problem

__all__ = ["Curve", "activation_curves", "StepSweep", "step_sweep", "SWEEP_PROBLEM"]

# (d, n, p, q, m), seed, and the entry whose derivative is swept
SWEEP_PROBLEM: dict[str, Any] = {"shape": (3, 4, 2, 1, 5), "seed": 0, "param": "W1", "index": (0, 0)}


@dataclass(frozen=True)
class Curve:
    """Segments of (z, value) points; segments are separated by jumps."""

    label: str
    segments: tuple[tuple[tuple[float, float], ...], ...]


def activation_curves(
    expr: Any, deriv: Any, kinks: Sequence[float], *, lo: float = -4.0, hi: float = 4.0, points: int = 81
) -> tuple[Curve, Curve]:
    """Sample f and f' on ``[lo, hi]``, split at the kinks.

    Example:
        >>> from derive.activations import derivative_expr
        >>> from derive.expr import activation_expr
        >>> e = activation_expr("relu")
        >>> f, df = activation_curves(e, derivative_expr(e), [0.0], points=5)
        >>> len(df.segments), df.segments[0][-1], df.segments[1][0]
        (2, (0.0, 0.0), (0.0, 1.0))
    """
    edges = [lo] + sorted(float(k) for k in kinks if lo < float(k) < hi) + [hi]
    out = []
    for label, e in (("value", expr), ("derivative", deriv)):
        fn = numpy_function(e)
        segs = []
        for left, right in zip(edges[:-1], edges[1:]):
            count = max(3, int(round(points * (right - left) / (hi - lo))))
            zs = np.linspace(left, right, count)
            # evaluate a hair inside the region so each side of a kink keeps its own branch
            inner = zs.copy()
            if left != lo:
                inner[0] = left + 1e-12
            if right != hi:
                inner[-1] = right - 1e-12
            vals = fn(inner)
            segs.append(tuple((float(x), float(v)) for x, v in zip(zs, vals)))
        out.append(Curve(label, tuple(segs)))
    return out[0], out[1]


@dataclass(frozen=True)
class StepSweep:
    """Relative error of one gradient entry against the step size."""

    param: str
    index: tuple[int, int]
    shape: tuple[int, ...]
    seed: int
    exact: float
    steps: tuple[float, ...]
    forward: tuple[float, ...]
    central: tuple[float, ...]
    complex: tuple[float, ...] | None

    @property
    def best_central(self) -> tuple[float, float]:
        """(step, error) where the central difference is most accurate."""
        i = int(np.argmin(self.central))
        return self.steps[i], self.central[i]


def step_sweep(
    f: Any = "swish",
    g: Any = "leaky_relu",
    *,
    shape: Sequence[int] = SWEEP_PROBLEM["shape"],
    seed: int = SWEEP_PROBLEM["seed"],
    param: str = SWEEP_PROBLEM["param"],
    index: tuple[int, int] = SWEEP_PROBLEM["index"],
    numeric_f: Any = None,
    numeric_g: Any = None,
) -> StepSweep:
    """Error of forward/central differences and the complex step for steps 1e-1 .. 1e-20.

    Args:
        f, g: the activations for the derived gradient (names or expressions).
        numeric_f, numeric_g: the same activations for :func:`numeric.cost`
            (default: ``f`` and ``g``, which must then be catalog names).

    Example:
        >>> s = step_sweep()
        >>> s.best_central[1] < 1e-8 < s.forward[-1]
        True
    """
    fa = numeric.get_activation(numeric_f if numeric_f is not None else f)
    ga = numeric.get_activation(numeric_g if numeric_g is not None else g)
    params, X, Y = draw_problem(*shape, f=fa, g=ga, seed=seed)
    exact = float(gradient_function(f, g)(params, X, Y)["d" + param][index])
    steps = tuple(float(10.0 ** (-e / 2)) for e in range(2, 41))

    def cost_at(delta: complex) -> complex:
        trial = {k: v.astype(np.complex128 if isinstance(delta, complex) else np.float64) for k, v in params.items()}
        trial[param][index] += delta
        return numeric.cost(trial, X, Y, fa, ga)

    J0 = float(cost_at(0.0).real) if isinstance(cost_at(0.0), complex) else float(cost_at(0.0))
    fwd, cen, cpx = [], [], []
    for h in steps:
        fwd.append(abs((float(cost_at(h)) - J0) / h - exact) / abs(exact))
        cen.append(abs((float(cost_at(h)) - float(cost_at(-h))) / (2 * h) - exact) / abs(exact))
        if fa.analytic and ga.analytic:
            cpx.append(abs(complex(cost_at(1j * h)).imag / h - exact) / abs(exact))
    return StepSweep(param, index, tuple(shape), seed, exact, steps, tuple(fwd), tuple(cen),
                     tuple(cpx) if cpx else None)
