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

import numeric
from derive.chain import ARTICLE, derive_backward, derive_forward
from derive.lambdified import gradient_function
from derive.matrix import plain
from derive.proof import PROOF_SHAPES, ExactProof, SymbolicProof, prove_exact, prove_symbolic
from derive.scalar import bce_simplification, sigmoid_derivative
from derive.steps import Derivation
from numeric.compare import compare_gradients, draw_problem
from numeric.gradcheck import numerical_gradient

__all__ = ["verify", "VerifyReport", "NumericCheck", "TOLERANCES", "NUMERIC_SHAPES"]

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
    """Worst relative errors of one activation pair at one shape."""

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
        out = ["backprop-derive verify: the article's 3-layer network", ""]
        out.append("Convention: dZl = m dJ/dZl; dWl, dbl are the true partials of the mean BCE J.")
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
        out.append("Backward formulas, by the reverse pass over the affine / elementwise / sigmoid+BCE rules")
        proven = all(p.ok for p in self.proofs)
        for s in self.backward.steps:
            tag = "level 1 (exact)" if proven else "NOT PROVEN"
            if str(s.lhs).startswith("dA"):
                tag = "intermediate m dJ/dA, inlined below"
            out.append(f"  [{s.rule:14s}] {str(s.lhs) + ' = ' + plain(s.rhs):34s} {tag}")
        out.append("")
        out.append("Proof level 1 (f, g undefined functions; every entry a symbol): "
                   "sympy diff of the cost minus each formula expands to 0")
        out += [f"  {p}" for p in self.proofs]
        out.append("")
        if self.symbolic is not None:
            out.append("Proof level 2 (index notation, symbolic sizes; covers every size with the chain rule)")
            out += [f"  {line}" for line in str(self.symbolic).splitlines()]
            out.append("")
        out.append("Proof level 3 (numeric, float64): worst max-norm relative error over all six gradients")
        for c in self.numeric:
            out.append(f"  f={c.f}, g={c.g}, (d, n, p, q, m)={c.shape}, seed={c.seed}")
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


def verify(
    pairs: Sequence[tuple[Any, Any]] = (("swish", "leaky_relu"),),
    *,
    proof_shapes: Sequence[Sequence[int]] = PROOF_SHAPES,
    symbolic: bool = True,
    numeric_shapes: Sequence[Sequence[int]] = NUMERIC_SHAPES,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> VerifyReport:
    """Derive, prove and check the network's gradients.

    Args:
        pairs: (f, g) activation pairs to check numerically (catalog names).
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

