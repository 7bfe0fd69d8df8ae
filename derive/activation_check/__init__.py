"""The activation checker: is a custom activation, its derivative and its NumPy code right?

Open :mod:`derive.activation_check.check` first: :func:`check_activation`
reads as the pipeline (resolve, split, differentiate, reference, judge,
network). Each step has its own module beside it; the report and its parts
are in :mod:`derive.activation_check.results`.
"""

from __future__ import annotations

from derive.activation_check.check import check_activation
from derive.activation_check.results import (
    RTOL,
    ActivationReport,
    Breakpoint,
    CallableCheck,
    ClaimVerdict,
    Finding,
    NetworkCheck,
    PointError,
)
from derive.activation_check.sampling import EXTREMES
from derive.timeout import StepTimeout, time_limit

__all__ = [
    "check_activation",
    "ActivationReport",
    "StepTimeout",
    "time_limit",
    "Breakpoint",
    "PointError",
    "Finding",
    "ClaimVerdict",
    "CallableCheck",
    "NetworkCheck",
    "EXTREMES",
    "RTOL",
]
