"""Backprop through the network with the activation, end to end.

Owns :func:`_network`: on two random problems, the gradients derived
symbolically (:func:`derive.lambdified.gradient_function`) are compared with
``numeric.backward`` fed the NumPy callables and with finite differences.

Tolerances scale with the magnitudes compared, so that an activation of any
size is judged alike (``1e-10*z`` and ``1e10*z`` pass, as ``z`` does):

* the problem is **rescaled**: W2 and W3 are divided by the largest
  activation of the layer before, so each layer's pre-activations stay of
  order one whatever the activation's scale (else the sigmoid output
  saturates and every gradient underflows);
* every comparison is **relative** (``numeric.compare.compare_gradients``:
  max-norm error over the largest entry of the reference);
* the finite-difference reference carries its own error, which grows with
  f's curvature (``exp(exp(z))``): it is **estimated** as the gap between the
  central difference and its Richardson extrapolation (which cancels the
  h**2 term), and the tolerance is ``max(rtol, 10 * estimate)`` rounded up to
  a power of ten (so the printed tolerance does not vary with BLAS rounding).  A wrong
  derivative differs by a relative O(1), far above either.
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
from numeric.compare import compare_gradients, draw_problem, kink_distance
from numeric.gradcheck import numerical_gradient

_HAND_RTOL = 1e-9  # derived vs numeric.backward with derive's own callables: the same formula twice
_FD_FACTOR = 10.0


def _rescaled_problem(shape: tuple[int, ...], hand: Activation, seed: int) -> tuple[dict[str, np.ndarray],
                                                                                    np.ndarray, np.ndarray]:
    """A drawn problem whose layers see pre-activations of order one (see the module doc)."""
    last = None
    for attempt in range(8):
        params, X, Y = draw_problem(*shape, f=hand, g=hand, seed=seed + 7919 * attempt, kink_margin=1e-3)
        with np.errstate(all="ignore"):
            for w, a in (("W2", "A1"), ("W3", "A2")):
                size = float(np.max(np.abs(numeric.forward(params, X, hand, hand)[a])))
                if math.isfinite(size) and size > 0:
                    params[w] = params[w] / size
            last = (params, X, Y)
            if kink_distance(params, X, hand, hand) > 1e-3:
                return params, X, Y
    assert last is not None
    return last


def _network(spec: Any, label: str, hand: Activation, *, seed: int, user_numpy: bool,
             rtol: float = RTOL) -> list[NetworkCheck]:
    """Two random problems: derived gradients of ``spec`` vs ``numeric.backward`` with ``hand``
    vs finite differences (``user_numpy``: the user's callables, judged at ``rtol``)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(2):
        shape = (int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 5)),
                 int(rng.integers(1, 3)), int(rng.integers(2, 6)))
        check = NetworkCheck(label, label, shape, seed + i)
        try:
            with np.errstate(all="ignore"):
                params, X, Y = _rescaled_problem(shape, hand, seed + i)
                derived = gradient_function(spec, spec)(params, X, Y)
                manual = numeric.backward(params, X, Y, hand, hand)
                central = numerical_gradient(params, X, Y, hand, hand, method="central")
                richardson = numerical_gradient(params, X, Y, hand, hand, method="richardson")
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
        estimate = max(compare_gradients(central, richardson).values())
        fd_tol = rtol
        if math.isfinite(estimate) and _FD_FACTOR * estimate > rtol:  # up to a power of ten: printed
            fd_tol = 10.0 ** math.ceil(math.log10(_FD_FACTOR * estimate))  # tolerances do not vary with BLAS
        check.tolerances = {"derived vs numeric.backward": rtol if user_numpy else _HAND_RTOL,
                            "derived vs finite differences": fd_tol,
                            "numeric.backward vs finite differences": fd_tol}
        for key, (a, b) in {"derived vs numeric.backward": (derived, manual),
                            "derived vs finite differences": (derived, richardson),
                            "numeric.backward vs finite differences": (manual, richardson)}.items():
            errs = compare_gradients(a, b)
            worst_err = max(errs.values())
            check.errors[key] = math.inf if math.isnan(worst_err) else worst_err
        out.append(check)
    return out
