"""Where f and its NumPy code are checked: the sample points.

Owns :data:`EXTREMES`, :data:`AUDIT_EXTREMES` (the whole float64 range for
NumPy code), the fixed grid, the seeded random points (numpy's PCG64: the
same points on every machine), the exclusion of
points near a breakpoint (:func:`_near`), and the choice of the most readable
point to show in a message (:func:`_readable`).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from derive.activation_check.results import KINK_MARGIN

__all__ = ["EXTREMES", "AUDIT_EXTREMES"]

EXTREMES: tuple[float, ...] = (0.0, 1e-8, -1e-8, 1.0, -1.0, 30.0, -30.0, 700.0, -700.0, 800.0, -800.0,
                               1e4, -1e4)
"""Points always checked: the issue's extremes plus +-800 (where naive softplus fails)."""
_TINY = (5e-324, 1e-320, 2.2250738585072014e-308, 1e-300, 1e-200, 1e-100, 1e-30, 1e-15)
_HUGE = (1e5, 1e6, 1e8, 1e10, 1e15, 1e20, 1e50, 1e100, 1e160, 1e200, 1e300, 1e308, 1.7976931348623157e308)
AUDIT_EXTREMES: tuple[float, ...] = tuple(s * x for x in _TINY + _HUGE for s in (1.0, -1.0))
"""The whole float64 range for NumPy code: subnormals, the smallest normal, tiny and
huge magnitudes up to the largest float (-0.0 is checked separately)."""
_GRID = np.unique(np.concatenate([np.linspace(-8.0, 8.0, 33), np.logspace(-6, 4, 11), -np.logspace(-6, 4, 11)]))
_NICE = (1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, 0.0, 5.0, -5.0)


def _near(x: float, breaks: Sequence[float], margin: float = KINK_MARGIN) -> bool:
    """``x`` lies within ``margin * max(1, |b|)`` of some breakpoint ``b``."""
    return any(abs(x - b) <= margin * max(1.0, abs(b)) for b in breaks)


def _rng_points(n: int, seed: int, avoid: Sequence[float]) -> list[float]:
    """The mixture of :func:`numeric.strategies.activation_points` (moderate values, magnitudes
    spread from 1e-8 to 1e4, anything within +-1e4), drawn from numpy's PCG64 generator.

    numpy's generator is stable across versions and platforms, so the same seed gives the
    same points everywhere (hypothesis's draws may change with its version), and it costs
    no import of hypothesis on the command line."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 3, n)
    moderate = rng.uniform(-10, 10, n)
    spread = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-8, 4, n)
    anywhere = rng.uniform(-1e4, 1e4, n)
    pts = np.select([kind == 0, kind == 1], [moderate, spread], anywhere)
    return [float(p) for p in pts if not _near(float(p), avoid)]


def _neighbours(breaks: Sequence[float]) -> list[float]:
    """The points just left and right of each breakpoint (a relative step of 1e-3)."""
    return [b + s * 1e-3 * max(1.0, abs(b)) for b in breaks for s in (-1, 1)]


def _base_points(breaks: Sequence[float]) -> np.ndarray:
    """The deterministic points: a grid, the extremes, and each breakpoint and its neighbours."""
    return np.unique(np.asarray([*_GRID, *EXTREMES, *_neighbours(breaks), *breaks], dtype=np.float64))


def _audit_points(xs: np.ndarray, breaks: Sequence[float]) -> np.ndarray:
    """The points for NumPy code: ``xs``, the whole float64 range, and the close
    neighbourhood of every breakpoint (relative steps 1e-4 to 1e-12)."""
    near = [b + s * h * max(1.0, abs(b)) for b in breaks for h in (1e-4, 1e-6, 1e-9, 1e-12) for s in (-1, 1)]
    return np.unique(np.concatenate([xs, np.asarray([*AUDIT_EXTREMES, *near], dtype=np.float64)]))


def _points(breaks: Sequence[float], n_drawn: int, seed: int, notes: list[str]) -> np.ndarray:
    """The base points plus ``n_drawn`` seeded random ones (away from the breakpoints)."""
    drawn = _rng_points(n_drawn, seed, breaks) if n_drawn > 0 else []
    return np.unique(np.concatenate([_base_points(breaks), np.asarray(drawn, dtype=np.float64)]))


def _readable(xs: Sequence[float]) -> float:
    """The most readable of some points: a small integer or half, else one near 1 in size."""
    nice = [x for x in _NICE if x in xs]
    if nice:
        return nice[0]
    return min(xs, key=lambda x: (abs(math.log10(abs(x))) if x else 0.0, x))
