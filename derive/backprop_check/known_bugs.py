"""Classic backprop bugs, reproduced: what each would make the gradients be.

:data:`VARIANTS` is a table of ``(kind, explanation, build)``; ``build``
returns the parts of the article's backprop that the bug replaces (the dZ3
rule, an activation derivative, a weight that should be transposed, the
activation a dW multiplies) and :func:`backprop_with` runs the backprop with
them.  :func:`derive.backprop_check.localise.diagnose` compares a user's wrong gradient with
each variant: when one reproduces it, its explanation is the diagnosis.

Example:
    >>> import numeric, derive
    >>> from derive.backprop_check.reference import Reference, make_case
    >>> ref = Reference(make_case((2, 3, 2, 1, 4)), derive.gradient_function(),
    ...                 numeric.get_activation("swish"), numeric.get_activation("leaky_relu"))
    >>> dropped = backprop_with(ref, d1=1.0)          # f'(Z1) dropped
    >>> bool(np.allclose(dropped["dW3"], ref.truth["dW3"]))  # layer 3 does not see it
    True
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from numeric.activations import Activation

from derive.backprop_check.reference import Reference

__all__ = ["VARIANTS", "backprop_with", "variants"]


def backprop_with(ref: Reference, *, dZ3: Any = None, d2: Any = None, d1: Any = None, T2: Any = None,
              T1: Any = None, prev: Mapping[int, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """The article's backprop with parts replaced (to reproduce a classic bug)."""
    P, X, Y, c = ref.case.params, ref.case.X, ref.case.Y, ref.cache
    m = X.shape[1]
    out = {"dZ3": c["A3"] - Y if dZ3 is None else dZ3}
    out["dZ2"] = ((P["W3"].T if T2 is None else T2) @ out["dZ3"]) * (ref.ga.derivative(c["Z2"]) if d2 is None else d2)
    out["dZ1"] = ((P["W2"].T if T1 is None else T1) @ out["dZ2"]) * (ref.fa.derivative(c["Z1"]) if d1 is None else d1)
    A = {1: X, 2: c["A1"], 3: c["A2"], **(prev or {})}
    for layer in (1, 2, 3):
        out[f"dW{layer}"] = out[f"dZ{layer}"] @ A[layer].T / m
        out[f"db{layer}"] = np.sum(out[f"dZ{layer}"], axis=1, keepdims=True) / m
    return out


def _eps_of(ref: Reference, user: Mapping[str, Any]) -> float:
    """The epsilon of an ``A3 += eps`` bug, read off the user's db3 (else 1e-8); needs
    two or more entries, since one entry is shifted by any error at all."""
    try:
        delta = np.asarray(user["db3"], dtype=float) - ref.truth["db3"]
        if delta.shape == ref.truth["db3"].shape and delta.size >= 2 and np.all(np.isfinite(delta)):
            eps = float(np.mean(delta))
            if eps and np.allclose(delta, eps, rtol=1e-6, atol=0):
                return eps
    except (KeyError, TypeError, ValueError):
        pass
    return 1e-8


def _right_at_kink(act: Activation, Z: np.ndarray) -> np.ndarray | None:
    at = np.isin(Z, act.kinks) if act.kinks else np.zeros(Z.shape, bool)
    if not at.any():
        return None
    right = np.array([act.derivative(np.array([np.nextafter(k, np.inf)]))[0] for k in act.kinks])
    vals = right[np.searchsorted(np.array(act.kinks), Z[at])]
    out = act.derivative(Z).copy()
    out[at] = vals
    return out


_Build = Callable[["Reference", Mapping[str, Any]], "tuple[str, dict[str, Any]] | None"]


def _when(cond: bool, **spec: Any) -> tuple[str, dict[str, Any]] | None:
    return ("", spec) if cond else None


def _kink(ref: Reference, user: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    d1, d2 = _right_at_kink(ref.fa, ref.cache["Z1"]), _right_at_kink(ref.ga, ref.cache["Z2"])
    if d1 is None and d2 is None:
        return None
    return "", {"d1": d1, "d2": d2}


def _sh(ref: Reference) -> tuple[int, int, int, int, int]:
    return ref.case.shape


# kind, explanation, builder (reference, user output) -> (text override, overrides) or None
VARIANTS: list[tuple[str, str, _Build]] = [
    ("f'(A) instead of f'(Z)", "f'(A1) used where f'(Z1) belongs: dZ1 = (W2^T dZ2) * f'(A1)",
     lambda r, u: _when(True, d1=r.fa.derivative(r.cache["A1"]))),
    ("f'(A) instead of f'(Z)", "g'(A2) used where g'(Z2) belongs: dZ2 = (W3^T dZ3) * g'(A2)",
     lambda r, u: _when(True, d2=r.ga.derivative(r.cache["A2"]))),
    ("derivative dropped", "the activation derivative f'(Z1) is dropped: dZ1 = W2^T dZ2",
     lambda r, u: _when(True, d1=1.0)),
    ("derivative dropped", "the activation derivative g'(Z2) is dropped: dZ2 = W3^T dZ3",
     lambda r, u: _when(True, d2=1.0)),
    ("wrong layer's derivative", "layer 1 uses g' (layer 2's activation): dZ1 = (W2^T dZ2) * g'(Z1)",
     lambda r, u: _when(r.fa != r.ga, d1=r.ga.derivative(r.cache["Z1"]))),
    ("wrong layer's derivative", "layer 2 uses f' (layer 1's activation): dZ2 = (W3^T dZ3) * f'(Z2)",
     lambda r, u: _when(r.fa != r.ga, d2=r.fa.derivative(r.cache["Z2"]))),
    ("wrong layer's derivative", "layer 1 uses layer 2's derivative g'(Z2): dZ1 = (W2^T dZ2) * g'(Z2)",
     lambda r, u: _when(_sh(r)[1] == _sh(r)[2], d1=r.ga.derivative(r.cache["Z2"]))),
    ("wrong layer's derivative", "layer 2 uses layer 1's derivative f'(Z1): dZ2 = (W3^T dZ3) * f'(Z1)",
     lambda r, u: _when(_sh(r)[1] == _sh(r)[2], d2=r.fa.derivative(r.cache["Z1"]))),
    ("stale cache", "A1 used where A2 belongs (stale cache): dW3 = dZ3 A1^T / m",
     lambda r, u: _when(True, prev={3: r.cache["A1"]})),
    ("stale cache", "X used where A1 belongs (stale cache): dW2 = dZ2 X^T / m",
     lambda r, u: _when(True, prev={2: r.case.X})),
    ("stale cache", "A2 used where A1 belongs (stale cache): dW2 = dZ2 A2^T / m",
     lambda r, u: _when(True, prev={2: r.cache["A2"]})),
    ("Z instead of A", "the pre-activation Z2 used where A2 belongs: dW3 = dZ3 Z2^T / m",
     lambda r, u: _when(True, prev={3: r.cache["Z2"]})),
    ("Z instead of A", "the pre-activation Z1 used where A1 belongs: dW2 = dZ2 Z1^T / m",
     lambda r, u: _when(True, prev={2: r.cache["Z1"]})),
    ("missing transpose", "W3 used where W3^T belongs (missing transpose): dZ2 = (W3 dZ3) * g'(Z2)",
     lambda r, u: _when(True, T2=r.case.params["W3"])),
    ("missing transpose", "W2 used where W2^T belongs (missing transpose): dZ1 = (W2 dZ2) * f'(Z1)",
     lambda r, u: _when(True, T1=r.case.params["W2"])),
    ("unparenthesised loss",
     "dZ3 comes from the article's unparenthesised loss -y log(A3) + (1 - y) log(1 - A3): "
     "its derivative is 2 Y A3 - Y - A3, which flips the sign of dZ3 wherever y = 0",
     lambda r, u: _when(True, dZ3=2 * r.case.Y * r.cache["A3"] - r.case.Y - r.cache["A3"])),
    ("epsilon shift", "",
     lambda r, u: (f"dZ3 = (A3 + eps) - Y with eps = {_eps_of(r, u):.3g}: the article's `A3 += epsilon` "
                   "shifts every dZ3 (it also hides a saturated A3 = 1 instead of fixing log(0))",
                   {"dZ3": r.cache["A3"] + _eps_of(r, u) - r.case.Y})),
    ("sigmoid derivative twice",
     "dZ3 = (A3 - Y) * A3 (1 - A3): the quadratic-cost output error. It is right for a sigmoid + MSE head "
     "(J = sum (A3 - Y)^2 / 2m) and wrong for this sigmoid + BCE head, whose dZ3 is A3 - Y: sigmoid' is "
     "applied again on top of the simplification",
     lambda r, u: _when(True, dZ3=(r.cache["A3"] - r.case.Y) * r.cache["A3"] * (1 - r.cache["A3"]))),
    ("sigmoid derivative twice",
     "dZ3 = 2 (A3 - Y) * A3 (1 - A3): the quadratic-cost output error of J = sum (A3 - Y)^2 / m. It is right "
     "for a sigmoid + MSE head and wrong for this sigmoid + BCE head, whose dZ3 is A3 - Y",
     lambda r, u: _when(True, dZ3=2 * (r.cache["A3"] - r.case.Y) * r.cache["A3"] * (1 - r.cache["A3"]))),
    ("missing (1-Y)/(1-A) term",
     "dZ3 = -Y (1 - A3): the output gradient started from dA3 = -Y/A3 alone; the (1 - Y)/(1 - A3) term of "
     "dA3 = -(Y/A3 - (1 - Y)/(1 - A3)) is missing (it is the part that matters wherever y = 0)",
     lambda r, u: _when(True, dZ3=-r.case.Y * (1 - r.cache["A3"]))),
    ("f'(A) instead of f'(Z)",
     "sigmoid'(A3) used where sigmoid'(Z3) belongs: dZ3 = dA3 * sigmoid(A3) (1 - sigmoid(A3)), with "
     "dA3 = -(Y/A3 - (1 - Y)/(1 - A3)) (the output layer's cache holds A3, not Z3?)",
     lambda r, u: _when(True, dZ3=_dA3(r) * _sig(r.cache["A3"]) * (1 - _sig(r.cache["A3"])))),
    ("from-output formula on Z",
     "sigmoid' written in terms of the output, applied to Z3: dZ3 = dA3 * Z3 (1 - Z3), with "
     "dA3 = -(Y/A3 - (1 - Y)/(1 - A3))",
     lambda r, u: _when(True, dZ3=_dA3(r) * r.cache["Z3"] * (1 - r.cache["Z3"]))),
    ("from-output formula on Z",
     "f' written in terms of the output, applied to Z1 instead of A1: dZ1 = (W2^T dZ2) * f'_from_output(Z1) "
     "(e.g. 1 - Z**2 for tanh', or Z (1 - Z) for sigmoid')",
     lambda r, u: _from_output_on_z(r, 1)),
    ("from-output formula on Z",
     "g' written in terms of the output, applied to Z2 instead of A2: dZ2 = (W3^T dZ3) * g'_from_output(Z2) "
     "(e.g. 1 - Z**2 for tanh', or Z (1 - Z) for sigmoid')",
     lambda r, u: _from_output_on_z(r, 2)),
    ("kink convention",
     "at pre-activations exactly at the kink (z = 0) your derivative takes the right-hand value; "
     "this project uses the left-hand one (numeric.activations.KINK_CONVENTION = 'left', "
     "relu'(0) = 0, leaky_relu'(0) = alpha)",
     _kink),
]


def _sig(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _dA3(ref: Reference) -> np.ndarray:
    """dJ/dA3 times m, as course code starts the backward pass."""
    A, Y = ref.cache["A3"], ref.case.Y
    return -(Y / A - (1 - Y) / (1 - A))


def _from_output_on_z(ref: Reference, layer: int) -> tuple[str, dict[str, Any]] | None:
    act = ref.fa if layer == 1 else ref.ga
    if act.derivative_from_output is None:
        return None
    Z = ref.cache[f"Z{layer}"]
    wrong = act.derivative_from_output(Z)
    if np.allclose(wrong, act.derivative(Z)):  # relu, identity: the same formula either way
        return None
    return "", {f"d{layer}": wrong}


_EPSILONS = (1e-15, 1e-12, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3)


def _epsilon_inside(ref: Reference) -> list[tuple[str, str, dict[str, np.ndarray]]]:
    """``dA3 = -(Y/(A3 + eps) - (1 - Y)/(1 - A3 + eps))`` then ``dZ3 = dA3 * A3 (1 - A3)``, for common eps."""
    A, Y = ref.cache["A3"], ref.case.Y
    out = []
    for eps in _EPSILONS:
        dA = -(Y / (A + eps) - (1 - Y) / (1 - A + eps))
        text = (f"an epsilon inside the output gradient: dA3 = -(Y/(A3 + eps) - (1 - Y)/(1 - A3 + eps)) with "
                f"eps = {eps:g}; exact only where eps is negligible next to A3 and 1 - A3, so confident outputs "
                "show it. Start from dZ3 = A3 - Y instead")
        out.append(("epsilon in gradient", text, backprop_with(ref, dZ3=dA * A * (1 - A))))
    return out


def variants(ref: Reference, user: Mapping[str, Any]) -> list[tuple[str, str, dict[str, np.ndarray]]]:
    """The gradients each classic bug of :data:`VARIANTS` would give here."""
    if ref._variants is None:
        ref._variants = []
        for kind, text, build in VARIANTS:
            try:
                with np.errstate(all="ignore"):
                    spec = build(ref, user)
                    if spec is None:
                        continue
                    ref._variants.append((kind, spec[0] if spec[0] else text, backprop_with(ref, **spec[1])))
            except ValueError:  # the bug cannot run at this shape (e.g. W3 for W3^T, q != p)
                continue
        with np.errstate(all="ignore"):
            ref._variants += _epsilon_inside(ref)
    return ref._variants
