"""Collect the report of any network description: derive, prove, check.

:func:`collect_general` takes a :class:`numeric.Network` with widths and
runs each stage of :func:`derive.verify` for it (the head's scalar facts,
the matrix-form chains, level 1 at a small shape of the same depth, level 2
with the head's and the L2 rules, level 3 at the network's numeric shapes);
the pure renderer is :func:`derive.report.general_tex.render_general`.
Nothing here formats LaTeX.

Example:
    >>> import numeric
    >>> net = numeric.Network(widths=(4, 3, 2), activations=("relu",), head="softmax-ce")
    >>> report_name_of(net)
    'network-4-3-2-relu-softmax-ce'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from derive.activations import CATALOG
from derive.chain import SymbolicNetwork, as_symbolic, derive_backward, derive_forward
from derive.proof import prove_symbolic
from derive.proof.exact import ExactProof, prove_exact
from derive.proof.index_form import IndexEquation
from derive.report.activation_info import ActivationInfo, activation_info
from derive.report.errata import Erratum, errata
from derive.report.figures import Curve, activation_curves
from derive.report.matrix_chain import MatrixChain, matrix_chains
from derive.scalar import head_derivations
from derive.steps import Derivation
from derive.verify import NumericCheck, check_numeric_network, network_numeric_shapes, network_proof_shape
from numeric.description import Network
from numeric.errors import InputError

__all__ = ["GeneralReport", "collect_general", "report_name_of", "catalog_network", "shortest_number"]

Progress = Callable[[str], None]

# rules of operations a network without hidden layer does not have
_HIDDEN_ONLY = ("affine: input", "elementwise")


@dataclass
class GeneralReport:
    """Every object the report of a description prints, each already checked.

    Attributes:
        network: the plain description (integer widths, catalog activations).
        symbolic: its symbolic view (width names, placeholder activations).
        head: the head's scalar derivations, then the L2 term's (if any).
        activations: one entry per distinct hidden activation: the
            placeholder names it stands for, and its formulas.
        errata: the article's errata (only for the article's shape of network).
    """

    network: Network
    symbolic: SymbolicNetwork
    forward: Derivation
    backward: Derivation
    head: list[Derivation]
    chains: list[MatrixChain]
    rules: list[IndexEquation]
    index_forms: list[IndexEquation]
    proofs: list[ExactProof]
    numeric: list[NumericCheck]
    activations: list[tuple[tuple[str, ...], ActivationInfo]]
    curves: dict[str, tuple[Curve, Curve]]
    errata: list[Erratum]
    seed: int

    def failures(self) -> list[str]:
        """What did not check out (empty when everything passed)."""
        out = [f"scalar derivation '{d.title}'" for d in self.head if not d.ok]
        out += [f"matrix chain {c.name}" for c in self.chains if not c.ok]
        out += [f"index rule '{r.name}'" for r in self.rules if not r.ok]
        out += [f"index form {r.name}" for r in self.index_forms if not r.ok]
        out += [f"exact proof at {p.shape}: {p.failures[:2]}" for p in self.proofs if not p.ok]
        out += [f"numeric check at {c.shape}: {c.worst}" for c in self.numeric if not c.ok]
        out += [f"output form of {info.name}" for _, info in self.activations if not info.output_ok]
        out += [f"{info.name} jumps at z = {k.at}: it is not continuous, so no gradient describes it there"
                for _, info in self.activations for k in info.kinks if k.jump]
        out += [f"erratum '{e.title}'" for e in self.errata if not e.ok]
        return out

    @property
    def ok(self) -> bool:
        return not self.failures()


def catalog_network(network: Any) -> Network:
    """The description, checked for what the report needs: a
    :class:`numeric.Network` with integer widths and catalog activations.

    Raises:
        InputError: no widths, or an activation that is not a catalog name.
    """
    if not isinstance(network, Network):
        raise InputError(f"the report takes a numeric.Network, got {type(network).__name__}")
    if network.widths is None:
        raise InputError("the report of a description needs its widths, e.g. --widths 64,32,10")
    bad = [a for a in network.activations if not (isinstance(a, str) and a in CATALOG)]
    if bad:
        raise InputError(
            f"the report of a description takes catalog activations ({', '.join(sorted(CATALOG))}); "
            f"got {bad[0]!r} (use --activation EXPR for the report of one custom activation)"
        )
    return network


def shortest_number(value: float) -> str:
    """The shortest text that reads back as exactly ``value`` (Python's repr),
    without a trailing ``.0``: the L2 rate in the report's name and text.

    Example:
        >>> shortest_number(0.1234567), shortest_number(0.30000000000000004), shortest_number(2.0)
        ('0.1234567', '0.30000000000000004', '2')
    """
    text = repr(float(value))
    return text.removesuffix(".0")


def report_name_of(network: Network, *, seed: int = 0) -> str:
    """The file stem of a description's report: widths, activations, head,
    then every option that differs from its default (the seed last).

    Example:
        >>> report_name_of(Network(widths=(5, 3), activations=(), head="identity-mse", mse="torch", l2=0.01))
        'network-5-3-identity-mse-mse_torch-l2_0p01'
        >>> report_name_of(Network(widths=(3, 2), activations=()), seed=5)
        'network-3-2-sigmoid-bce-seed_5'
    """
    parts = ["network", "-".join(str(w) for w in network.widths or ())]
    parts += list(network.activations)
    parts.append(network.head)
    if network.reduction != "mean":
        parts.append(network.reduction)
    if network.head.endswith("mse") and network.mse != "half":
        parts.append(f"mse_{network.mse}")
    if network.l2:
        parts.append(f"l2_{shortest_number(network.l2)}".replace(".", "p").replace("+", ""))
        if network.l2_convention != "lambda/2m":
            parts.append("l2half")
    if seed != 0:
        parts.append(f"seed_{seed}")
    return "-".join(p for p in parts if p)


def _activations(network: Network, sym: SymbolicNetwork) -> list[tuple[tuple[str, ...], ActivationInfo]]:
    """One :class:`ActivationInfo` per distinct hidden activation, with the
    placeholders (f, g, ...) it instantiates."""
    groups: dict[str, list[str]] = {}
    for role, name in zip(sym.activations, network.activations):
        groups.setdefault(name, []).append(role)
    return [(tuple(roles), activation_info(roles[0], name, name=name)) for name, roles in groups.items()]


def collect_general(
    network: Network,
    *,
    seed: int = 0,
    proof_shapes: Sequence[Sequence[int]] | None = None,
    numeric_shapes: Sequence[Sequence[int]] | None = None,
    progress: Progress | None = None,
) -> GeneralReport:
    """Derive, prove and check everything the report of ``network`` shows.

    Args:
        network: a :class:`numeric.Network` with widths and catalog activations.
        seed: seed of the numeric problems (shape i uses ``seed + i``).
        proof_shapes: ``(widths..., m)`` for level 1; default
            :func:`derive.verify.network_proof_shape` (small widths of the
            same depth).
        numeric_shapes: ``(widths..., m)`` for level 3; default
            :func:`derive.verify.network_numeric_shapes`.
        progress: called with one line per stage.

    Raises:
        InputError: a description the report cannot take (:func:`catalog_network`).
    """
    say = progress or (lambda msg: None)
    network = catalog_network(network)
    sym = as_symbolic(network)
    say(f"derive: forward and backward passes, scalar facts of {network.head}")
    forward, backward = derive_forward(sym), derive_backward(sym)
    head = head_derivations(network)
    chains = matrix_chains(backward, sym)
    say("prove: index form of each rule, symbolic sizes")
    symbolic = prove_symbolic(network)
    proofs = []
    for shape in proof_shapes if proof_shapes is not None else [network_proof_shape(network)]:
        say(f"prove: exact at (widths..., m) = {tuple(shape)}")
        proofs.append(prove_exact(shape, sym))
    checks = []
    shapes = numeric_shapes if numeric_shapes is not None else network_numeric_shapes(network)
    for i, shape in enumerate(shapes):
        say(f"check: numeric at (widths..., m) = {tuple(shape)}")
        checks.append(check_numeric_network(network, shape, seed=seed + i))
    say("check: activations, figure data")
    acts = _activations(network, sym)
    curves = {
        info.name: activation_curves(info.expr, info.deriv, [float(k.at) for k in info.kinks]) for _, info in acts
    }
    found = errata() if network.is_article else []
    rules = [r for r in symbolic.rules if network.depth > 1 or r.name not in _HIDDEN_ONLY]
    return GeneralReport(
        network, sym, forward, backward, head, chains, rules, list(symbolic.layers),
        proofs, checks, acts, curves, found, seed,
    )
