"""Backprop through the network with the activation, end to end.

Owns :func:`_network`: on two random problems, the gradients derived
symbolically (:func:`derive.lambdified.gradient_function`) are compared with
``numeric.backward`` fed the NumPy callables and with central differences.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import numeric
from derive.timeout import StepTimeout
from derive.activation_check.results import RTOL, NetworkCheck, _f
from derive.lambdified import gradient_function
from numeric.activations import Activation
from numeric.compare import compare_gradients, draw_problem
from numeric.gradcheck import numerical_gradient


def _network(spec: Any, label: str, hand: Activation, *, seed: int, user_numpy: bool) -> list[NetworkCheck]:
    """Two random problems: derived gradients of ``spec`` vs ``numeric.backward`` with ``hand``
    vs central differences (``user_numpy``: the user's callables, judged at :data:`RTOL`)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(2):
        shape = (int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 5)),
                 int(rng.integers(1, 3)), int(rng.integers(2, 6)))
        check = NetworkCheck(label, label, shape, seed + i)
        tol_hand = RTOL if user_numpy else 1e-9
        check.tolerances = {"derived vs numeric.backward": tol_hand, "derived vs central differences": RTOL,
                            "numeric.backward vs central differences": RTOL}
        try:
            with np.errstate(all="ignore"):
                params, X, Y = draw_problem(*shape, f=hand, g=hand, seed=seed + i, kink_margin=1e-3)
                derived = gradient_function(spec, spec)(params, X, Y)
                manual = numeric.backward(params, X, Y, hand, hand)
                central = numerical_gradient(params, X, Y, hand, hand, method="central")
        except StepTimeout:
            raise
        except Exception as exc:  # the user's callables may raise anything
            check.error = f"{type(exc).__name__}: {exc}"
            out.append(check)
            continue
        bad = [k for k, v in {**derived, **manual}.items() if not np.all(np.isfinite(v))]
        if bad:
            with np.errstate(all="ignore"):
                cache = numeric.forward(params, X, hand, hand)
            worst = {k: float(np.max(np.abs(v))) for k, v in cache.items() if k[0] in "ZA"}
            check.error = (f"gradients {sorted(set(bad))} are not finite; the activation overflows float64 on "
                           f"this problem (largest |entries|: "
                           + ", ".join(f"{k} {_f(v)}" for k, v in worst.items()) + ")")
            out.append(check)
            continue
        for key, (a, b) in {"derived vs numeric.backward": (derived, manual),
                            "derived vs central differences": (derived, central),
                            "numeric.backward vs central differences": (manual, central)}.items():
            errs = compare_gradients(a, b)
            worst = max(errs.values())
            check.errors[key] = math.inf if math.isnan(worst) else worst
        out.append(check)
    return out
