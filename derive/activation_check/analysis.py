"""What the activation checker learns about f alone, before any claim is judged.

:class:`_Analysis` is the cached result of the symbolic analysis (pieces,
breakpoints, true derivative, mpmath references, output form); the checker
builds it once per expression, and the claim and NumPy checks read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from derive.activation_check.mpref import _Reference
from derive.activation_check.pieces import _Split
from derive.activation_check.results import Breakpoint


@dataclass
class _Analysis:
    """What depends on f alone (cached per expression)."""

    split: _Split
    dpieces: list[sp.Expr]
    bps: list[Breakpoint]
    derivative: sp.Expr
    f_ref: _Reference
    d_ref: _Reference
    form: sp.Expr | None
    form_note: str
    notes: list[str]
    timings: dict[str, float]
    base: np.ndarray  # the deterministic points the output form was judged on
    avoid: list[float]  # breakpoints and interior singular points: derivative comparisons keep clear
