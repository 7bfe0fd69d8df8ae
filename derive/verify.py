"""The main job: derive, prove and check the article's network end to end.

:func:`verify` runs every check the project makes of the core formulas and
returns a :class:`VerifyReport`; ``backprop-derive verify`` prints it.

* the scalar facts (sigmoid derivative, BCE simplification), step by step;
* proof level 1 (exact) of every backward formula at :data:`PROOF_SHAPES`;
* proof level 2 (index form, symbolic sizes) of every backward rule
  (:func:`derive.proof.prove_symbolic`);
* proof level 3 (numeric): for each activation pair, the lambdified formulas
  against :func:`numeric.backward`, central differences and (where the
  activations are analytic) the complex step, on random shapes.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

import numeric
from derive.chain import ARTICLE, as_symbolic, derive_backward, derive_forward
from derive.lambdified import gradient_function
from derive.matrix import plain
from derive.proof import PROOF_SHAPES, ExactProof, SymbolicProof, prove_exact, prove_symbolic
from derive.scalar import bce_simplification, head_derivations, sigmoid_derivative
from derive.steps import Derivation
from numeric.compare import compare_gradients, draw_network_problem, draw_problem
from numeric.description import Network
from numeric.errors import InputError
from numeric.gradcheck import numerical_gradient, tolerance

__all__ = [
    "verify",
    "VerifyReport",
    "NumericCheck",
    "TOLERANCES",
    "NUMERIC_SHAPES",
    "network_proof_shape",
    "network_numeric_shapes",
    "check_numeric_network",
]

# float64 tolerances on the max-norm relative error of each gradient
TOLERANCES: dict[str, float] = {
    "lambdified vs hand-written": 1e-9,
    "hand-written vs central differences": 1e-6,
    "lambdified vs complex step": 1e-9,
}

# (d, n, p, q, m) for the numeric checks: m = 1, q > 1, n = 1 and a wide one
NUMERIC_SHAPES: tuple[tuple[int, int, int, int, int], ...] = (
    (3, 4, 2, 1, 5),
    (2, 1, 3, 2, 1),
    (5, 3, 4, 3, 7),
    (8, 6, 5, 2, 16),
)


@dataclass
class NumericCheck:
    """Worst relative errors of one activation pair (or one network's
    activations, ``f`` the first and ``g`` the rest) at one shape."""

    f: str
    g: str
    shape: tuple[int, ...]
    seed: int
    errors: dict[str, dict[str, float]]  # comparison -> gradient -> error

    @property
    def worst(self) -> dict[str, float]:
        return {k: max(v.values()) for k, v in self.errors.items()}

    @property
    def ok(self) -> bool:
        return all(self.worst[k] <= TOLERANCES[k] for k in self.errors)


@dataclass
class VerifyReport:
    """Everything :func:`verify` found; ``ok`` is the verdict."""

    forward: Derivation
    backward: Derivation
    scalar: list[Derivation]
    proofs: list[ExactProof]
    numeric: list[NumericCheck] = field(default_factory=list)
    symbolic: SymbolicProof | None = None
    network: Network | None = None

    @property
    def ok(self) -> bool:
        return (
            all(d.ok for d in self.scalar)
            and all(p.ok for p in self.proofs)
            and (self.symbolic is None or self.symbolic.ok)
            and bool(self.numeric)
            and all(c.ok for c in self.numeric)
        )

    def render(self) -> str:
        """The report as plain text."""
        net = self.network
        if net is None:
            out = ["backprop-derive verify: the article's 3-layer network", ""]
            out.append("Convention: dZl = m dJ/dZl; dWl, dbl are the true partials of the mean BCE J.")
        else:
            out = [f"backprop-derive verify: {net.describe()}", ""]
            N = "m" if net.reduction == "mean" else "1"
            out.append(f"Convention: dZl = {N} dJ/dZl; dWl, dbl are the true partials of J.")
            if net.head.endswith("mse"):
                out.append(f"MSE convention: {net.mse}, J = {net.mse_text()}.")
            if net.head == "softmax-ce":
                out.append("Assumption of the rule dZ = A - Y: every column of Y sums to 1 "
                           "(one-hot or label smoothing); other targets are refused.")
            if net.l2:
                out.append(f"L2: J gains ({net.l2_convention}) sum ||W_l||^2 with lambda = {net.l2:g}; "
                           "biases are not regularised.")
        out.append("")
        out.append("Forward propagation (definitions)")
        out += [f"  {s.lhs} = {plain(s.rhs)}" for s in self.forward.steps]
        out.append("")
        out.append("Scalar facts, each step an equality confirmed by sympy")
        for d in self.scalar:
            flag = "ok" if d.ok else "FAILED"
            out.append(f"  {d.title}: {len(d.steps)} steps [{flag}] -> {d.result.lhs} = {d.result.rhs}")
            out += [f"      - {s.rule}  [{'ok' if s.verified else 'FAILED'}]" for s in d.steps]
        out.append("")
        head_rule = "sigmoid+BCE" if net is None else net.head
        out.append(f"Backward formulas, by the reverse pass over the affine / elementwise / {head_rule} rules")
        proven = all(p.ok for p in self.proofs)
        for s in self.backward.steps:
            tag = ("level 1 (exact)" if proven else "NOT PROVEN") if self.proofs else "level 1 not run"
            if str(s.lhs).startswith("dA"):
                tag = "intermediate m dJ/dA, inlined below"
            out.append(f"  [{s.rule:14s}] {str(s.lhs) + ' = ' + plain(s.rhs):34s} {tag}")
        out.append("")
        out.append("Proof level 1 (hidden activations undefined functions; every entry a symbol): "
                   "sympy diff of the cost minus each formula expands to 0")
        out += [f"  {p.statement()}" for p in self.proofs]  # no timings: same bytes on any machine
        if not self.proofs:
            out.append("  not run (no shape given: proof_shapes=[])")
        out.append("")
        if self.symbolic is not None:
            out.append("Proof level 2 (index notation, symbolic sizes; covers every size with the chain rule)")
            out += [f"  {line}" for line in str(self.symbolic).splitlines()]
            out.append("")
        out.append("Proof level 3 (numeric, float64): worst max-norm relative error over all gradients")
        for c in self.numeric:
            if net is None:
                out.append(f"  f={c.f}, g={c.g}, (d, n, p, q, m)={c.shape}, seed={c.seed}")
            else:
                out.append(f"  widths={c.shape[:-1]}, m={c.shape[-1]}, seed={c.seed}")
            for k, v in c.worst.items():
                flag = "ok" if v <= TOLERANCES[k] else "FAILED"
                out.append(f"      {k:38s} {v:9.2e}  (tol {TOLERANCES[k]:.0e}) {flag}")
        out.append("")
        out.append("RESULT: " + ("all checks passed" if self.ok else "FAILURE (see above)"))
        return "\n".join(out)


def _name(spec: Any) -> str:
    return spec if isinstance(spec, str) else str(spec)


def check_numeric(f: Any, g: Any, shape: Sequence[int], *, seed: int = 0) -> NumericCheck:
    """Level-3 check of one activation pair at one shape."""
    fa, ga = _numeric_activation(f), _numeric_activation(g)
    params, X, Y = draw_problem(*shape, f=fa, g=ga, seed=seed)
    derived = gradient_function(f, g)(params, X, Y)
    hand = numeric.backward(params, X, Y, fa, ga)
    errors = {
        "lambdified vs hand-written": compare_gradients(derived, hand),
        "hand-written vs central differences": compare_gradients(
            hand, numerical_gradient(params, X, Y, fa, ga, method="central")
        ),
    }
    if fa.analytic and ga.analytic:
        errors["lambdified vs complex step"] = compare_gradients(
            derived, numerical_gradient(params, X, Y, fa, ga, method="complex")
        )
    return NumericCheck(_name(f), _name(g), tuple(shape), seed, errors)


def _numeric_activation(spec: Any) -> numeric.Activation:
    if isinstance(spec, str):
        return numeric.get_activation(spec)
    raise TypeError(
        "the numeric check needs a catalog name for the hand-written side; "
        f"got {type(spec).__name__} (use derive.check_activation for custom activations)"
    )


# level-1 proof shapes per depth: widths >= 2, all different, q >= 2, m = 2
_PROOF_WIDTHS: dict[int, tuple[int, ...]] = {
    1: (3, 2), 2: (2, 4, 3), 3: (2, 4, 3, 5), 4: (2, 4, 3, 5, 6),
}


MAX_PROOF_DEPTH = 12
"""The deepest description proven at level 1 by default.  The exact proof differentiates
the whole cost, a nesting of L unspecified functions, and its cost grows about 1.5 times
per layer at the thinnest shapes (measured at widths 2, 1, 2, ..., 2 and m = 2: depth 8
1.3 s, 10 2.2 s, 12 4.5 s, 16 22 s).  Deeper descriptions must pass ``proof_shapes``
(``[]`` skips level 1; levels 2 and 3 still run)."""


def network_proof_shape(network: Network) -> tuple[int, ...]:
    """The default level-1 shape of a description: small widths of its depth, then
    m = 2.  Up to depth 4 all different (at least 2, q >= 2); at depths 5 and 6
    alternating 2, 3 (every weight matrix still non-square); from depth 7 to
    :data:`MAX_PROOF_DEPTH` alternating 2, 1 with q = 2 (widths 2 to L + 2 took
    over 150 s and gigabytes from depth 6).  Large networks are proven at this
    shape; the index-form proof (level 2) covers every size."""
    L = network.depth
    if L > MAX_PROOF_DEPTH:
        raise InputError(f"depth {L} is over {MAX_PROOF_DEPTH}, the deepest proven exactly by default (the proof "
                         "costs about 1.5 times more per layer: depth 16 takes 20 s); in the library, pass "
                         "proof_shapes=[] to skip level 1, or a shape of your own")
    if L in _PROOF_WIDTHS:
        widths = _PROOF_WIDTHS[L]
    else:
        other = 3 if L <= 6 else 1
        widths = tuple(2 if i % 2 == 0 else other for i in range(L + 1))[:-1] + (2,)
    return (*widths, 2)


def network_numeric_shapes(network: Network) -> list[tuple[int, ...]]:
    """Shapes (widths..., m) for the numeric checks of a description: its own
    widths when small (at most 64 parameters per layer), else small widths of
    its depth; always one shape with m = 1."""
    L = network.depth
    q = network.widths[-1] if network.widths is not None and network.widths[-1] <= 4 else 3
    if network.head == "softmax-ce":
        q = max(q, 2)
    hidden_a, hidden_b = _cycle((4, 2, 5, 3, 4, 2, 3), L - 1), _cycle((3, 6, 2, 4, 3, 5, 2), L - 1)
    shapes = [(3, *hidden_a, q, 5), (5, *hidden_b, q, 1)]
    w = network.widths
    if w is not None and all(w[i] * w[i + 1] <= 64 for i in range(L)):
        shapes.insert(0, (*w, 4))
    return shapes


def _cycle(widths: tuple[int, ...], n: int) -> tuple[int, ...]:
    """The first ``n`` widths of ``widths`` repeated (any depth, not only up to 8)."""
    return tuple(widths[i % len(widths)] for i in range(n))


def check_numeric_network(network: Network, shape: Sequence[int], *, seed: int = 0) -> NumericCheck:
    """Level-3 check of a description at one shape ``(widths..., m)``:
    lambdified vs :func:`numeric.backward`, vs central differences and (all
    activations analytic) vs the complex step."""
    *widths, m = (int(s) for s in shape)
    acts = [numeric.get_activation(a) for a in network.activations]
    probe = Network(tuple(widths), network.activations, network.head, network.reduction, network.mse,
                    network.l2, network.l2_convention)
    params, X, Y = draw_network_problem(probe, m, seed=seed)
    names = probe.gradient_names()
    derived = gradient_function(probe)(params, X, Y)
    hand = numeric.backward(params, X, Y, network=probe)
    errors = {
        "lambdified vs hand-written": compare_gradients(derived, hand, names),
        "hand-written vs central differences": _central_errors(
            hand, numerical_gradient(params, X, Y, network=probe, method="central"),
            abs(numeric.cost(params, X, Y, network=probe)), names),
    }
    if all(a.analytic for a in acts):
        errors["lambdified vs complex step"] = compare_gradients(
            derived, numerical_gradient(params, X, Y, network=probe, method="complex"), names)
    labels = [_name(a) if isinstance(a, str) else getattr(a, "name", "custom") for a in network.activations]
    return NumericCheck(labels[0] if labels else "", ", ".join(labels[1:]), tuple(shape), seed, errors)


def _central_errors(hand: Any, central: Any, J: float, names: Sequence[str]) -> dict[str, float]:
    """Relative error against central differences, measured against at least
    the oracle's absolute error: central differences err by about
    ``eps^(2/3) max(1, |J|)`` however small the gradient (a deep sigmoid
    chain's gradient vanishes), so a smaller gradient is compared at that scale."""
    floor = tolerance("central").atol * max(1.0, J) / TOLERANCES["hand-written vs central differences"]
    out = {}
    for k in names:
        a, e = np.asarray(hand[k]), np.asarray(central[k])
        if a.shape != e.shape:
            out[k] = float("inf")
            continue
        out[k] = float(np.max(np.abs(a - e))) / max(float(np.max(np.abs(e))), floor)
    return out


def _verify_network(
    network: Network, *, proof_shapes: Sequence[Sequence[int]] | None, symbolic: bool,
    numeric_shapes: Sequence[Sequence[int]] | None, seed: int, say: Callable[[str], None],
) -> VerifyReport:
    if proof_shapes is None:
        proof_shapes = [network_proof_shape(network)]  # refuses a depth over MAX_PROOF_DEPTH before any work
    sym = as_symbolic(network)
    say(f"derive: forward and backward passes, scalar facts of {network.head}")
    report = VerifyReport(derive_forward(sym), derive_backward(sym), head_derivations(network), [],
                          network=network)
    for shape in proof_shapes:
        say(f"prove: exact at (widths..., m) = {tuple(shape)}")
        report.proofs.append(prove_exact(shape, sym))
    if symbolic:
        say("prove: index form of each rule, symbolic sizes")
        report.symbolic = prove_symbolic(network)
    shapes = numeric_shapes if numeric_shapes is not None else network_numeric_shapes(network)
    for i, shape in enumerate(shapes):
        say(f"check: numeric at (widths..., m) = {tuple(shape)}")
        report.numeric.append(check_numeric_network(network, shape, seed=seed + i))
    return report


def verify(
    pairs: Sequence[tuple[Any, Any]] = (("swish", "leaky_relu"),),
    *,
    network: Network | None = None,
    proof_shapes: Sequence[Sequence[int]] = PROOF_SHAPES,
    symbolic: bool = True,
    numeric_shapes: Sequence[Sequence[int]] = NUMERIC_SHAPES,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> VerifyReport:
    """Derive, prove and check the network's gradients.

    Args:
        pairs: (f, g) activation pairs to check numerically (catalog names).
        network: any :class:`numeric.Network` instead of the article's
            network (then ``pairs`` is not used): its head's scalar facts,
            level 1 at :func:`network_proof_shape` (or ``proof_shapes``,
            each ``(widths..., m)``), level 2 with its head and L2 rules, and
            level 3 at :func:`network_numeric_shapes` (or ``numeric_shapes``).
        proof_shapes: (d, n, p, q, m) shapes for the exact proof.
        symbolic: also prove each rule for symbolic sizes (level 2).
        numeric_shapes: shapes for the numeric checks.
        seed: seed of the random problems.
        progress: called with a short line per stage (the CLI prints them on
            stderr).

    Example:
        >>> r = verify(proof_shapes=[(1, 1, 1, 1, 2)], numeric_shapes=[(2, 2, 2, 1, 3)])
        >>> r.ok
        True
    """
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    if network is not None:
        if not isinstance(network, Network):
            raise TypeError(f"network must be a numeric.Network, got {type(network).__name__}")
        report = _verify_network(
            network, proof_shapes=None if proof_shapes is PROOF_SHAPES else proof_shapes, symbolic=symbolic,
            numeric_shapes=None if numeric_shapes is NUMERIC_SHAPES else numeric_shapes, seed=seed, say=say)
        say(f"done in {time.perf_counter() - t0:.1f} s")
        return report
    say("derive: forward and backward passes, scalar facts")
    report = VerifyReport(
        derive_forward(ARTICLE), derive_backward(ARTICLE), [sigmoid_derivative(), bce_simplification()], []
    )
    for shape in proof_shapes:
        say(f"prove: exact at (d, n, p, q, m) = {tuple(shape)}")
        report.proofs.append(prove_exact(shape))
    if symbolic:
        say("prove: index form of each rule, symbolic sizes")
        report.symbolic = prove_symbolic()
    for f, g in pairs:
        for i, shape in enumerate(numeric_shapes):
            say(f"check: f={_name(f)}, g={_name(g)} at {tuple(shape)}")
            report.numeric.append(check_numeric(f, g, shape, seed=seed + i))
    say(f"done in {time.perf_counter() - t0:.1f} s")
    return report


def progress(msg: str) -> None:
    """The commands' progress line on stderr (``[backprop-derive] stage: ...``)."""
    print(f"[backprop-derive] {msg}", file=sys.stderr, flush=True)

