"""Collect everything the network report shows: derive, prove, check.

:func:`collect_network` runs each stage and returns a
:class:`NetworkReport`, the only input of the pure renderer
:func:`derive.report.latex.render_network`.  Nothing here formats LaTeX.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Sequence

import numeric
from derive.activations import CATALOG, derivative_expr, numpy_function
from derive.expr import activation_expr
from derive.chain import ARTICLE, derive_backward, derive_forward
from derive.lambdified import gradient_function
from derive.proof.exact import PROOF_SHAPES, ExactProof, prove_exact
from derive.report.activation_info import ActivationInfo, activation_info
from derive.report.errata import Erratum, errata
from derive.report.figures import SWEEP_PROBLEM, Curve, StepSweep, activation_curves, step_sweep
from derive.proof.index_form import IndexEquation, index_rules, layer_index_forms
from derive.report.matrix_chain import MatrixChain, matrix_chains
from derive.scalar import bce_simplification, sigmoid_derivative
from derive.steps import Derivation
from derive.verify import NUMERIC_SHAPES, NumericCheck, check_numeric
from numeric.compare import compare_gradients, draw_problem
from numeric.errors import UnknownActivationError
from numeric.gradcheck import numerical_gradient

__all__ = ["NetworkReport", "collect_network", "report_name", "resolve", "cached_network"]

Progress = Callable[[str], None]


@dataclass
class NetworkReport:
    """Every object the network report prints, each already checked."""

    f: ActivationInfo
    g: ActivationInfo
    forward: Derivation
    backward: Derivation
    scalar: list[Derivation]
    chains: list[MatrixChain]
    rules: list[IndexEquation]
    index_forms: list[IndexEquation]
    proofs: list[ExactProof]
    numeric: list[NumericCheck]
    errata: list[Erratum]
    curves: dict[str, tuple[Curve, Curve]]
    sweep: StepSweep | None
    seed: int
    custom: bool = False
    notes: list[str] = field(default_factory=list)
    training: Any = None  # derive.report.training.TrainingResult, or None

    def failures(self) -> list[str]:
        """What did not check out (empty when everything passed)."""
        out = [f"scalar derivation '{d.title}'" for d in self.scalar if not d.ok]
        out += [f"matrix chain {c.name}" for c in self.chains if not c.ok]
        out += [f"index rule '{r.name}'" for r in self.rules if not r.ok]
        out += [f"index form {r.name}" for r in self.index_forms if not r.ok]
        out += [f"exact proof at {p.shape}: {p.failures[:2]}" for p in self.proofs if not p.ok]
        out += [f"numeric check f={c.f}, g={c.g} at {c.shape}: {c.worst}" for c in self.numeric if not c.ok]
        out += [f"output form of {a.role}" for a in (self.f, self.g) if not a.output_ok]
        out += [f"{a.role} jumps at z = {k.at}: it is not continuous, so no gradient describes it there"
                for a in (self.f, self.g) for k in a.kinks if k.jump]
        out += [f"erratum '{e.title}'" for e in self.errata if not e.ok]
        if self.sweep is not None and not self.sweep.lambdified_ok:
            out.append("lambdified gradient against the 40-digit reference (step-size figure)")
        if self.training is not None:
            out += self.training.failures()
        return out

    @property
    def ok(self) -> bool:
        return not self.failures()


def report_name(f: str, g: str, *, seed: int = 0) -> str:
    """The report's file stem: ``network-swish-leaky_relu``, then ``-seed_N``
    when the seed is not the default 0.

    Text that is not a catalog name gets a short hash after its slug, so two
    expressions with the same slug do not overwrite each other's report.

    Example:
        >>> report_name("swish", "leaky_relu")
        'network-swish-leaky_relu'
        >>> report_name("swish", "leaky_relu", seed=5)
        'network-swish-leaky_relu-seed_5'
    """
    import hashlib

    from derive.report.escape import file_slug

    def part(spec: str) -> str:
        if spec in CATALOG:
            return spec
        return f"{file_slug(spec, limit=24)}-{hashlib.sha256(spec.encode()).hexdigest()[:6]}"

    return f"network-{part(f)}-{part(g)}" + (f"-seed_{seed}" if seed != 0 else "")


# a bare name that is a formula: the variable alone (the identity)
_VARIABLES = ("z", "x")


def resolve(spec: str) -> Any:
    """A catalog name as is; any other text parsed safely to a sympy expression.

    A bare name that is not in the catalog is refused, not read as a formula
    in that one variable (``rleu`` would be the identity).

    Raises:
        UnknownActivationError: a bare name outside the catalog, or not a name
            and no safe parser is available.
        InputError: the parser refused the text (its message names the column).
    """
    if spec in CATALOG:
        return spec
    try:
        expr = activation_expr(spec)
    except UnknownActivationError:
        try:
            from derive.expr.parser import parse_activation
        except ImportError:
            raise
        expr = parse_activation(spec)
    name = spec.strip() if isinstance(spec, str) else ""
    if name.isidentifier() and name not in _VARIABLES and name not in CATALOG:
        # the parser read a bare name as the variable (or a constant): a misspelt catalog name
        raise UnknownActivationError(
            f"unknown activation {name!r}; known: {', '.join(CATALOG)} "
            "(or a formula in z, e.g. 'z*tanh(z)')"
        )
    return expr


def _numeric_side(spec: Any) -> tuple[Any, bool]:
    """A numeric activation for the hand-written side, and whether it is the catalog's."""
    if isinstance(spec, str) and spec in numeric.ACTIVATIONS:
        return numeric.get_activation(spec), True
    expr = activation_expr(spec)
    return numeric.get_activation((numpy_function(expr), numpy_function(derivative_expr(expr)))), False


def _check_custom(f: Any, g: Any, names: tuple[str, str], shape: Sequence[int], seed: int) -> NumericCheck:
    """Level 3 for activations outside the catalog: the hand-written network
    backprop runs on the lambdified activation and its derivative."""
    fa, _ = _numeric_side(f)
    ga, _ = _numeric_side(g)
    params, X, Y = draw_problem(*shape, f=fa, g=ga, seed=seed)
    derived = gradient_function(activation_expr(f), activation_expr(g))(params, X, Y)
    hand = numeric.backward(params, X, Y, fa, ga)
    errors = {
        "lambdified vs hand-written": compare_gradients(derived, hand),
        "hand-written vs central differences": compare_gradients(
            hand, numerical_gradient(params, X, Y, fa, ga, method="central")
        ),
    }
    return NumericCheck(names[0], names[1], tuple(shape), seed, errors)


def collect_network(
    f: str = "swish",
    g: str = "leaky_relu",
    *,
    seed: int = 0,
    proof_shapes: Sequence[Sequence[int]] = PROOF_SHAPES,
    numeric_shapes: Sequence[Sequence[int]] = NUMERIC_SHAPES,
    progress: Progress | None = None,
    training: bool = True,
) -> NetworkReport:
    """Derive, prove and check everything the network report shows.

    Args:
        f, g: catalog names, or expressions that
            :func:`derive.activations.activation_expr` accepts.
        seed: seed of the numeric problems (shape i uses ``seed + i``).
        proof_shapes, numeric_shapes: (d, n, p, q, m) for levels 1 and 3.
        progress: called with one line per stage.
        training: also train the network on the 0/1 digits (catalog
            activations only; see :mod:`derive.train`).

    Raises:
        UnknownActivationError, InputError: an activation that cannot be used.
    """
    say = progress or (lambda msg: None)
    say("derive: forward and backward passes, scalar facts, index forms, activations")
    custom = not (f in CATALOG and g in CATALOG)
    f_spec, g_spec = resolve(f), resolve(g)
    f_info, g_info = activation_info("f", f_spec, name=f), activation_info("g", g_spec, name=g)
    forward, backward = derive_forward(ARTICLE), derive_backward(ARTICLE)
    scalar = [sigmoid_derivative(), bce_simplification()]
    chains = matrix_chains(backward)
    rules = index_rules()
    forms = layer_index_forms()
    proofs = []
    for shape in proof_shapes:
        say(f"prove: exact at (d, n, p, q, m) = {tuple(shape)}")
        proofs.append(prove_exact(shape))
    checks = []
    for i, shape in enumerate(numeric_shapes):
        say(f"check: f={f}, g={g} at (d, n, p, q, m) = {tuple(shape)}")
        if custom:
            checks.append(_check_custom(f_spec, g_spec, (f, g), shape, seed + i))
        else:
            checks.append(check_numeric(f, g, shape, seed=seed + i))
    say("check: errata of the article, figure data")
    curves = {
        "f": activation_curves(f_info.expr, f_info.deriv, [float(k.at) for k in f_info.kinks]),
        "g": activation_curves(g_info.expr, g_info.deriv, [float(k.at) for k in g_info.kinks]),
    }
    say("check: step-size sweep in fixed-order 53-bit arithmetic (mpmath)")
    fa, _ = _numeric_side(f_spec)
    ga, _ = _numeric_side(g_spec)
    fe, ge = activation_expr(f_spec), activation_expr(g_spec)
    problem = draw_problem(*SWEEP_PROBLEM["shape"], f=fa, g=ga, seed=SWEEP_PROBLEM["seed"])
    lambdified = gradient_function(fe, ge)(*problem)
    sweep = step_sweep(fe, ge, analytic=bool(fa.analytic and ga.analytic), problem=problem, lambdified=lambdified)
    trained = None
    if training and not custom:
        from derive.train import TrainConfig, train

        say("train: the 0-vs-1 digits, with the derived and the hand-written gradients")
        trained = train(TrainConfig(f=f, g=g, seed=seed))
    return NetworkReport(
        f_info, g_info, forward, backward, scalar, chains, rules, forms, proofs, checks,
        errata(), curves, sweep, seed, custom, training=trained,
    )


@lru_cache(maxsize=4)
def cached_network(f: str = "swish", g: str = "leaky_relu", seed: int = 0) -> NetworkReport:
    """:func:`collect_network` with the default shapes, cached per process
    (the tests render the default report more than once)."""
    return collect_network(f, g, seed=seed)

