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

import re
from typing import Any, Callable, Mapping

import numpy as np

from derive.backprop_check.reference import Reference
from numeric.activations import Activation

__all__ = ["VARIANTS", "backprop_with", "variants"]


def backprop_with(ref: Reference, *, dZ3: Any = None, d2: Any = None, d1: Any = None, T2: Any = None,
                  T1: Any = None, prev: Mapping[int, np.ndarray] | None = None, dZL: Any = None,
                  d: Mapping[int, Any] | None = None, T: Mapping[int, Any] | None = None,
                  rate: float | None = None, bias_rate: float = 0.0) -> dict[str, np.ndarray]:
    """The network's backprop with parts replaced (to reproduce a classic bug).

    ``dZL`` (``dZ3`` for three layers) replaces the output error; ``d[l]``
    (``d1``, ``d2``) layer l's activation derivative; ``T[l]`` (``T1``,
    ``T2``) the matrix standing for ``W_{l+1}^T``; ``prev[l]`` the
    activation dW_l multiplies; ``rate`` the L2 factor on W and
    ``bias_rate`` one wrongly put on b.
    """
    P, X, Y, c, L = ref.case.params, ref.case.X, ref.case.Y, ref.cache, ref.L
    d = {**({1: d1} if d1 is not None else {}), **({2: d2} if d2 is not None else {}), **(d or {})}
    T = {**({1: T1} if T1 is not None else {}), **({2: T2} if T2 is not None else {}), **(T or {})}
    out_err = dZL if dZL is not None else dZ3 if (dZ3 is not None and L == 3) else None
    if out_err is None:
        out_err = c[f"A{L}"] - Y if ref.net.head == "sigmoid-bce" else ref.truth[f"dZ{L}"]
    N = ref.N
    rate = ref.rate if rate is None else rate
    out = {f"dZ{L}": out_err}
    for layer in range(L - 1, 0, -1):
        back = P[f"W{layer + 1}"].T if T.get(layer) is None else T[layer]
        der = ref.acts[layer - 1].derivative(c[f"Z{layer}"]) if d.get(layer) is None else d[layer]
        out[f"dZ{layer}"] = (back @ out[f"dZ{layer + 1}"]) * der
    A = {1: X, **{layer: c[f"A{layer - 1}"] for layer in range(2, L + 1)}, **(prev or {})}
    for layer in range(1, L + 1):
        out[f"dW{layer}"] = out[f"dZ{layer}"] @ A[layer].T / N
        out[f"db{layer}"] = np.sum(out[f"dZ{layer}"], axis=1, keepdims=True) / N
        if rate:
            out[f"dW{layer}"] = out[f"dW{layer}"] + rate * P[f"W{layer}"]
        if bias_rate:
            out[f"db{layer}"] = out[f"db{layer}"] + bias_rate * P[f"b{layer}"]
    return out


def _eps_of(ref: Reference, user: Mapping[str, Any]) -> float:
    """The epsilon of an ``A3 += eps`` bug, read off the user's db3 (else 1e-8); needs
    two or more entries, since one entry is shifted by any error at all."""
    try:
        name = f"db{ref.L}"
        delta = np.asarray(user[name], dtype=float) - ref.truth[name]
        if delta.shape == ref.truth[name].shape and delta.size >= 2 and np.all(np.isfinite(delta)):
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
    d = {layer: _right_at_kink(ref.acts[layer - 1], ref.cache[f"Z{layer}"]) for layer in range(1, ref.L)}
    if all(v is None for v in d.values()):
        return None
    return "", {"d": d}


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
     lambda r, u: _when(True, dZL=2 * r.case.Y * _A(r) - r.case.Y - _A(r))),
    ("epsilon shift", "",
     lambda r, u: (f"dZ3 = (A3 + eps) - Y with eps = {_eps_of(r, u):.3g}: the article's `A3 += epsilon` "
                   "shifts every dZ3 (it also hides a saturated A3 = 1 instead of fixing log(0))",
                   {"dZL": _A(r) + _eps_of(r, u) - r.case.Y})),
    ("sigmoid derivative twice",
     "dZ3 = (A3 - Y) * A3 (1 - A3): the quadratic-cost output error. It is right for a sigmoid + MSE head "
     "(J = sum (A3 - Y)^2 / 2m) and wrong for this sigmoid + BCE head, whose dZ3 is A3 - Y: sigmoid' is "
     "applied again on top of the simplification",
     lambda r, u: _when(True, dZL=(_A(r) - r.case.Y) * _A(r) * (1 - _A(r)))),
    ("sigmoid derivative twice",
     "dZ3 = 2 (A3 - Y) * A3 (1 - A3): the quadratic-cost output error of J = sum (A3 - Y)^2 / m. It is right "
     "for a sigmoid + MSE head and wrong for this sigmoid + BCE head, whose dZ3 is A3 - Y",
     lambda r, u: _when(True, dZL=2 * (_A(r) - r.case.Y) * _A(r) * (1 - _A(r)))),
    ("missing (1-Y)/(1-A) term",
     "dZ3 = -Y (1 - A3): the output gradient started from dA3 = -Y/A3 alone; the (1 - Y)/(1 - A3) term of "
     "dA3 = -(Y/A3 - (1 - Y)/(1 - A3)) is missing (it is the part that matters wherever y = 0)",
     lambda r, u: _when(True, dZL=-r.case.Y * (1 - _A(r)))),
    ("f'(A) instead of f'(Z)",
     "sigmoid'(A3) used where sigmoid'(Z3) belongs: dZ3 = dA3 * sigmoid(A3) (1 - sigmoid(A3)), with "
     "dA3 = -(Y/A3 - (1 - Y)/(1 - A3)) (the output layer's cache holds A3, not Z3?)",
     lambda r, u: _when(True, dZL=_dA3(r) * _sig(_A(r)) * (1 - _sig(_A(r))))),
    ("from-output formula on Z",
     "sigmoid' written in terms of the output, applied to Z3: dZ3 = dA3 * Z3 (1 - Z3), with "
     "dA3 = -(Y/A3 - (1 - Y)/(1 - A3))",
     lambda r, u: _when(True, dZL=_dA3(r) * _Z(r) * (1 - _Z(r)))),
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


def _A(ref: Reference) -> np.ndarray:
    """The output layer's activation A_L."""
    return ref.cache[f"A{ref.L}"]


def _Z(ref: Reference) -> np.ndarray:
    """The output layer's pre-activation Z_L."""
    return ref.cache[f"Z{ref.L}"]


def _sig(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _dA3(ref: Reference) -> np.ndarray:
    """dJ/dA3 times m, as course code starts the backward pass."""
    A, Y = _A(ref), ref.case.Y
    return -(Y / A - (1 - Y) / (1 - A))


def _from_output_on_z(ref: Reference, layer: int) -> tuple[str, dict[str, Any]] | None:
    act = ref.acts[layer - 1]
    if act.derivative_from_output is None:
        return None
    Z = ref.cache[f"Z{layer}"]
    wrong = act.derivative_from_output(Z)
    if np.allclose(wrong, act.derivative(Z)):  # relu, identity: the same formula either way
        return None
    return "", {"d": {layer: wrong}}


_EPSILONS = (1e-15, 1e-12, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3)


def _epsilon_inside(ref: Reference) -> list[tuple[str, str, dict[str, np.ndarray]]]:
    """``dA3 = -(Y/(A3 + eps) - (1 - Y)/(1 - A3 + eps))`` then ``dZ3 = dA3 * A3 (1 - A3)``, for common eps."""
    A, Y = _A(ref), ref.case.Y
    out = []
    for eps in _EPSILONS:
        dA = -(Y / (A + eps) - (1 - Y) / (1 - A + eps))
        text = (f"an epsilon inside the output gradient: dA3 = -(Y/(A3 + eps) - (1 - Y)/(1 - A3 + eps)) with "
                f"eps = {eps:g}; exact only where eps is negligible next to A3 and 1 - A3, so confident outputs "
                "show it. Start from dZ3 = A3 - Y instead")
        out.append(("epsilon in gradient", _said(text, ref.L), backprop_with(ref, dZL=dA * A * (1 - A))))
    return out


def _said(text: str, L: int) -> str:
    """An output-layer sentence written for layer 3 (A3, Z3, dZ3, dA3, db3), said for layer ``L``."""
    return text if L == 3 else re.sub(r"\b(d?[AZWb])3\b", lambda mo: f"{mo.group(1)}{L}", text)


def _hidden(ref: Reference) -> list[tuple[str, str, _Build]]:
    """The hidden-layer slips of :data:`VARIANTS`, for a network of any depth (names f1, f2...)."""
    L, out = ref.L, []
    for layer in range(1, L):
        f, nxt = f"f{layer}", f"W{layer + 1}"
        keep = f"(W{layer + 1}^T dZ{layer + 1})"
        out += [
            ("f'(A) instead of f'(Z)", f"{f}'(A{layer}) used where {f}'(Z{layer}) belongs: dZ{layer} = {keep} * {f}'(A{layer})",
             lambda r, u, l=layer: _when(True, d={l: r.acts[l - 1].derivative(r.cache[f"A{l}"])})),
            ("derivative dropped", f"the activation derivative {f}'(Z{layer}) is dropped: dZ{layer} = W{layer + 1}^T dZ{layer + 1}",
             lambda r, u, l=layer: _when(True, d={l: 1.0})),
            ("missing transpose", f"{nxt} used where {nxt}^T belongs (missing transpose): dZ{layer} = ({nxt} dZ{layer + 1}) * {f}'(Z{layer})",
             lambda r, u, l=layer: _when(True, T={l: r.case.params[f"W{l + 1}"]})),
            ("Z instead of A", f"the pre-activation Z{layer} used where A{layer} belongs: dW{layer + 1} = dZ{layer + 1} Z{layer}^T",
             lambda r, u, l=layer: _when(True, prev={l + 1: r.cache[f"Z{l}"]})),
            ("from-output formula on Z",
             f"{f}' written in terms of the output, applied to Z{layer} instead of A{layer}: dZ{layer} = {keep} * "
             f"{f}'_from_output(Z{layer}) (e.g. 1 - Z**2 for tanh', or Z (1 - Z) for sigmoid')",
             lambda r, u, l=layer: _from_output_on_z(r, l)),
        ]
        before = "X" if layer == 1 else f"A{layer - 1}"
        out.append(("stale cache", f"{before} used where A{layer} belongs (stale cache): "
                                   f"dW{layer + 1} = dZ{layer + 1} {before}^T",
                    lambda r, u, l=layer: _when(True, prev={l + 1: r.cache[f"A{l - 1}"] if l > 1 else r.case.X})))
    return out


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - np.max(z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


def _head(ref: Reference) -> list[tuple[str, str, dict[str, Any]]]:
    """Slips of the softmax and MSE heads: (kind, text, overrides of :func:`backprop_with`)."""
    net, L, Y = ref.net, ref.L, ref.case.Y
    A, Z = _A(ref), _Z(ref)
    truth = ref.truth[f"dZ{L}"]
    if net.head == "softmax-ce":
        return [
            ("missing softmax Jacobian term",
             f"dZ{L} = -Y (1 - A{L}): only the diagonal a_k (1 - a_k) of the softmax Jacobian was used; the "
             f"off-diagonal terms -a_j a_k are missing (with them, CE and softmax together give dZ{L} = A{L} - Y)",
             {"dZL": -Y * (1 - A)}),
            ("missing softmax Jacobian term",
             f"dZ{L} = (A{L} - Y) * A{L} (1 - A{L}): the softmax treated as elementwise (its Jacobian's diagonal "
             f"only); softmax and CE together give dZ{L} = A{L} - Y",
             {"dZL": (A - Y) * A * (1 - A)}),
            ("CE on probabilities as logits",
             f"dZ{L} = softmax(A{L}) - Y: the cross-entropy was taken of probabilities as if they were logits "
             f"(softmax applied twice, as with a softmax layer before a CrossEntropyLoss); use dZ{L} = A{L} - Y",
             {"dZL": _softmax(A) - Y}),
            ("sigmoid for softmax",
             f"dZ{L} = sigmoid(Z{L}) - Y: an elementwise sigmoid output where the head is a softmax",
             {"dZL": _sig(Z) - Y}),
        ]
    out: list[tuple[str, str, dict[str, Any]]] = []
    if net.head == "identity-mse":
        out.append(("sigmoid derivative at a linear output",
                    f"dZ{L} is multiplied by sigmoid'(Z{L}): a sigmoid derivative applied at the identity output "
                    "of an MSE regressor (only a sigmoid output has it)",
                    {"dZL": truth * _sig(Z) * (1 - _sig(Z))}))
    if net.head == "sigmoid-mse":
        with np.errstate(all="ignore"):
            out.append(("sigmoid derivative dropped",
                        f"dZ{L} lacks the factor sigmoid'(Z{L}) = A{L} (1 - A{L}): the quadratic cost's output error "
                        f"is (A{L} - Y) * sigmoid'(Z{L}) (A{L} - Y alone is right only for BCE)",
                        {"dZL": truth / (A * (1 - A))}))
    if net.head.endswith("mse"):
        q = Y.shape[0]
        if net.mse == "torch" and q > 2:
            out.append(("MSE convention", f"dZ{L} misses the factor 2/q = 2/{q} of the PyTorch MSELoss convention "
                                          "(mean over all q x m entries): it is the (1/2m) sum convention's",
                        {"dZL": truth * q / 2.0}))
        if net.mse == "half":
            out.append(("MSE convention", f"dZ{L} is 2/q times the truth: the PyTorch MSELoss convention (mean over "
                                          "all entries) used where the loss is (1/2m) sum ||a - y||^2",
                        {"dZL": truth * 2.0 / q}))
    return out


def _hard_labels(ref: Reference) -> list[tuple[str, str, dict[str, Any]]]:
    """Code right for 0/1 (one-hot) labels only, seen on soft targets: it uses the hard labels
    (``Y > 0.5``, ``argmax Y``) where ``Y`` itself belongs."""
    net, L, Y = ref.net, ref.L, ref.case.Y
    if net.head not in ("sigmoid-bce", "softmax-ce") or np.all((Y == 0) | (Y == 1)):
        return []
    A = _A(ref)
    if net.head == "sigmoid-bce":
        return [("hard labels",
                 f"dZ{L} = A{L} - (Y > 0.5): right for 0/1 labels only; the targets were rounded to 0/1, but "
                 f"sigmoid + BCE takes any Y in [0, 1] (soft labels), where dZ{L} = A{L} - Y",
                 {"dZL": A - (Y > 0.5)})]
    hot = np.zeros_like(Y)
    hot[np.argmax(Y, axis=0), np.arange(Y.shape[1])] = 1.0
    return [("hard labels",
             f"dZ{L} = A{L} - onehot(argmax Y): right for one-hot labels only; the targets were turned into "
             f"class labels, but softmax + CE takes soft targets too (label smoothing), where dZ{L} = A{L} - Y",
             {"dZL": A - hot})]


def _l2(ref: Reference) -> list[tuple[str, str, dict[str, Any]]]:
    """Slips of the L2 term: forgotten, on the bias, the wrong convention, a factor 2."""
    net, m = ref.net, ref.case.m
    if not net.l2:
        return []
    lam = float(net.l2)
    rate = ref.rate
    term = "(lambda/m) W" if net.l2_convention == "lambda/2m" else "lambda W"
    other, other_rate = (("lambda W (the cs231n convention, lambda/2 sum ||W||^2)", lam)
                         if net.l2_convention == "lambda/2m" else
                         ("(lambda/m) W (the course convention, lambda/2m sum ||W||^2)", lam / m))
    return [
        ("L2 forgotten", f"the L2 term {term} of dW is missing (weight decay forgotten in the backward pass; "
                         f"lambda = {lam:g})", {"rate": 0.0}),
        ("L2 on bias", f"the L2 term {term.replace('W', 'b')} was added to db too; the biases are not regularised",
         {"bias_rate": rate}),
        ("L2 convention", f"the L2 term is {other} where this network's J uses {net.l2_convention} "
                          f"(its dW term is {term})", {"rate": other_rate}),
        ("L2 factor", f"the L2 term is half of {term} (the 2 of d/dW ||W||^2 = 2W lost)", {"rate": rate / 2}),
        ("L2 factor", f"the L2 term is twice {term} (the 1/2 of the penalty lost)", {"rate": 2 * rate}),
    ]


def _fixed(spec: dict[str, Any]) -> _Build:
    """A builder that always gives ``spec`` (the head and L2 slips are computed up front)."""
    return lambda r, u: ("", spec)


def variants(ref: Reference, user: Mapping[str, Any]) -> list[tuple[str, str, dict[str, np.ndarray]]]:
    """The gradients each classic bug of :data:`VARIANTS` (said for the network's depth and head),
    each head slip and each L2 slip would give here."""
    if ref._variants is None:
        ref._variants = []
        L, head = ref.L, ref.net.head
        table: list[tuple[str, str, _Build]] = list(VARIANTS[:15]) if L == 3 else _hidden(ref)
        if head == "sigmoid-bce":
            table += [(k, _said(t, L), b) for k, t, b in VARIANTS[15:22]]
        if L == 3:
            table += VARIANTS[22:24]
        table += VARIANTS[24:]
        with np.errstate(all="ignore"):
            table += [(k, t, _fixed(spec)) for k, t, spec in _head(ref) + _hard_labels(ref) + _l2(ref)]
        if L >= 3:  # the same slip in every hidden layer (one helper used for all of them)
            table.append(("f'(A) instead of f'(Z)",
                          "f'(A) used where f'(Z) belongs in every hidden layer: dZl = (W(l+1)^T dZ(l+1)) * fl'(Al)",
                          lambda r, u: _when(True, d={layer: r.acts[layer - 1].derivative(r.cache[f"A{layer}"])
                                                      for layer in range(1, r.L)})))
        for kind, text, build in table:
            try:
                with np.errstate(all="ignore"):
                    spec = build(ref, user)
                    if spec is None:
                        continue
                    ref._variants.append((kind, _said(spec[0], L) if spec[0] else text,
                                          backprop_with(ref, **spec[1])))
            except ValueError:  # the bug cannot run at this shape (e.g. W3 for W3^T, q != p)
                continue
        if head == "sigmoid-bce":
            with np.errstate(all="ignore"):
                ref._variants += _epsilon_inside(ref)
    return ref._variants
