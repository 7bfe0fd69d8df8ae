"""Check anyone's hand-written backprop against the derived gradients.

:func:`check_backprop` runs the user's ``backward(params, X, Y)`` on a fixed
set of probes (distinct sizes, m = 1, q = 1 and q > 1, n = 1, square shapes,
very confident outputs) and on a hypothesis search over shapes and values,
compares the six gradients (and dZ1..dZ3 when returned) with
``derive.gradient_function(f, g)`` and explains every wrong one (see
:mod:`derive.backprop_check.localise`).  Hypothesis shrinking gives the smallest shape that
shows the bug.

Hypothesis draws each example's shape (every size from 1, q up to 3), a seed
for its values, a weight scale and a shift of b3 that makes the outputs very
confident; the values come from :func:`numeric.compare.draw_problem` with that
seed, which keeps pre-activations away from kinks.  Drawing a seed rather than
every float keeps the search and shrinking fast (well under a second), and a
case is reproducible from the shape and seed the report prints.  The search is
derandomised (seeded by ``seed``), uses no example database, and is bounded by
``max_examples`` and ``time_limit``.  Called from inside a
running hypothesis test (where a nested search is not allowed), or without
hypothesis installed, it falls back to seeded random draws and a greedy
shape reduction; the report says which one ran.

Pre-activations are kept ``kink_margin`` away from the kinks of relu and
leaky_relu, so implementations that differ only in the derivative AT the kink
are never flagged; ``at_kinks=True`` adds a probe with pre-activations exactly
at 0 and checks the project's convention (the left-hand derivative).

Example:
    >>> import numeric
    >>> def buggy(params, X, Y):
    ...     G = numeric.backward(params, X, Y)
    ...     G["db1"] = G["db1"] * X.shape[1]          # forgot the 1/m
    ...     return G
    >>> report = check_backprop(buggy, max_examples=20)
    >>> report.ok, report.wrong, report.findings["db1"].kind
    (False, ['db1'], 'missing 1/m')
"""

from __future__ import annotations

import inspect
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

import numeric
from derive.lambdified import gradient_function
from derive.backprop_check.localise import (
    DZS,
    FORMULAS,
    GRADS,
    Case,
    CaseResult,
    Finding,
    Reference,
    diagnose,
    make_case,
    run_case,
)
from numeric.errors import InputError, UnknownActivationError

__all__ = ["check_backprop", "assert_backprop_ok", "BackpropReport", "PROBES"]

Backward = Callable[..., Mapping[str, Any]]

# label, (d, n, p, q, m), b3 offset.  Sizes are distinct where possible so
# that a ratio names one size (m = 7 in "generic" is no other size).
PROBES: tuple[tuple[str, tuple[int, int, int, int, int], float], ...] = (
    ("generic", (5, 4, 6, 3, 7), 0.0),
    ("article q = 1", (4, 3, 5, 1, 6), 0.0),
    ("m = 1", (3, 4, 2, 2, 1), 0.0),
    ("n = 1", (3, 1, 2, 2, 4), 0.0),
    ("square", (3, 3, 3, 3, 3), 0.0),
    ("confident outputs A3 ~ 1", (4, 3, 5, 2, 6), 30.0),
    ("confident outputs A3 ~ 0", (4, 3, 5, 2, 6), -30.0),
    ("saturated A3 = 1.0", (2, 3, 2, 1, 5), 40.0),
)
_OFFSETS = (0.0, 30.0, -30.0, 40.0)
_SCALES = (1.0, 0.5, 2.0)
_CONVENTION = "dZl = m dJ/dZl; dWl, dbl are the true partial derivatives of the mean BCE J"


@dataclass
class BackpropReport:
    """What :func:`check_backprop` found; ``ok`` is the verdict.

    Attributes:
        ok: True when every gradient matched on every case.
        wrong: the wrong gradients (and dZ's), in backprop order.
        findings: name -> :class:`~derive.localise.Finding` for each wrong
            gradient or dZ, plus ``"backward"`` for the call itself (it
            raised, or modified its inputs).
        diverges_at: the first layer, going backwards from the output, where
            the user's result differs from the truth (None when ok).
        divergence: that statement as a sentence.
        smallest: the smallest case that shows the bug, and how it was found.
    """

    name: str
    f: str
    g: str
    ok: bool
    wrong: list[str] = field(default_factory=list)
    findings: dict[str, Finding] = field(default_factory=dict)
    diverges_at: int | None = None
    divergence: str = ""
    smallest: Case | None = None
    smallest_how: str = ""
    returns_dZ: bool = False
    notes: list[str] = field(default_factory=list)
    probes: list[str] = field(default_factory=list)
    examples: int = 0
    search: str = ""
    rtol: float = 1e-12
    seconds: float = 0.0

    def __str__(self) -> str:
        head = f"check_backprop({self.name}), f={self.f}, g={self.g}: "
        if self.ok:
            what = "all six gradients" + (" and dZ1..dZ3" if self.returns_dZ else "")
            lines = [head + f"ok -- {what} match the derived ones"]
        else:
            call = self.findings.get("backward")
            what = f"wrong: {', '.join(self.wrong)}" if self.wrong else f"the call itself ({call.kind if call else '?'})"
            lines = [head + f"FAILED -- {what}"]
            if self.divergence:
                lines.append(f"  {self.divergence}")
            for name, fd in self.findings.items():
                lines.append(f"  {name}: {fd.message}  [{fd.kind}]")
                if name in FORMULAS:
                    lines.append(f"      expected {FORMULAS[name]}")
                if fd.worst:
                    cells = "; ".join(f"{list(i)}: {y:.6g} vs {t:.6g}" for i, y, t in fd.worst)
                    lines.append(f"      worst entries [index]: yours vs truth: {cells}")
                if fd.case is not None:
                    rel = "" if math.isinf(fd.rel_error) else f", max relative error {fd.rel_error:.3g}"
                    lines.append(f"      seen at {fd.case.label}: {fd.case.describe()}{rel}")
            if self.smallest is not None:
                lines.append(f"  smallest failing shape ({self.smallest_how}): {self.smallest.describe()}")
        lines += [f"  note: {n}" for n in self.notes]
        engine, _, why = self.search.partition(" (")
        plural = "" if self.examples == 1 else "s"
        lines.append(f"  checked {len(self.probes)} probes ({', '.join(self.probes)}) and {self.examples} "
                     f"{engine} example{plural}{' (' + why if why else ''} in {self.seconds:.2f} s")
        lines.append(f"  tolerance: |yours - truth| <= {self.rtol:.0e} S per entry (S: its rounding bound, "
                     "the magnitude of the terms it sums)")
        lines.append(f"  convention: {_CONVENTION}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``json.dumps(report.to_dict())``)."""
        return {
            "name": self.name, "f": self.f, "g": self.g, "ok": self.ok, "wrong": list(self.wrong),
            "findings": {k: v.to_dict() for k, v in self.findings.items()},
            "diverges_at": self.diverges_at, "divergence": self.divergence,
            "smallest": None if self.smallest is None else {
                "shape": list(self.smallest.shape), "seed": self.smallest.seed, "scale": self.smallest.scale,
                "offset": self.smallest.offset, "how": self.smallest_how},
            "returns_dZ": self.returns_dZ, "notes": list(self.notes), "probes": list(self.probes),
            "examples": self.examples, "search": self.search, "rtol": self.rtol, "seconds": self.seconds,
            "convention": _CONVENTION,
        }


class _Checker:
    """Runs cases for one backward; remembers results so answers are repeatable."""

    def __init__(self, backward: Backward, f: str, g: str, rtol: float, kink_margin: float) -> None:
        self.backward, self.f, self.g, self.rtol, self.kink_margin = backward, f, g, rtol, kink_margin
        self.fa, self.ga = numeric.get_activation(f), numeric.get_activation(g)
        self.grad_fn = gradient_function(f, g)
        self.memo: dict[tuple[Any, ...], CaseResult] = {}

    def case(self, shape: tuple[int, ...], seed: int, scale: float = 1.0, offset: float = 0.0,
             label: str = "") -> Case:
        return make_case(tuple(int(s) for s in shape), seed=seed, scale=scale, offset=offset,  # type: ignore[arg-type]
                         f=self.fa, g=self.ga, kink_margin=self.kink_margin, label=label)

    def run(self, case: Case) -> CaseResult:
        key = (case.shape, case.seed, case.scale, case.offset, case.label if case.seed is None else "")
        if key not in self.memo:
            self.memo[key] = run_case(self.backward, case, Reference(case, self.grad_fn, self.fa, self.ga),
                                      rtol=self.rtol)
        return self.memo[key]


def _validate(backward: Any, f: Any, g: Any, rtol: float, max_examples: int, max_size: int,
              kink_margin: float, time_limit: float) -> None:
    if not callable(backward):
        raise InputError(f"backward must be a function backward(params, X, Y); got {type(backward).__name__}")
    for label, spec in (("f", f), ("g", g)):
        if not isinstance(spec, str):
            raise InputError(f"check_backprop takes catalog names for {label}; got {type(spec).__name__} "
                             f"(known: {', '.join(numeric.ACTIVATIONS)})")
        if spec not in numeric.ACTIVATIONS:
            raise UnknownActivationError(f"unknown activation {spec!r}; known: {', '.join(numeric.ACTIVATIONS)}")
    if not (isinstance(rtol, (int, float)) and 0 < rtol < 1):
        raise InputError(f"rtol must be a number in (0, 1), got {rtol!r}; e.g. rtol=1e-12")
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 0:
        raise InputError(f"max_examples must be an int >= 0, got {max_examples!r}; e.g. max_examples=60")
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
        raise InputError(f"max_size must be a positive int, got {max_size!r}; e.g. max_size=6")
    if not (isinstance(kink_margin, (int, float)) and 0 <= kink_margin < 1):
        raise InputError(f"kink_margin must be a number in [0, 1), got {kink_margin!r}; e.g. kink_margin=1e-3")
    if not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise InputError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    try:
        sig = inspect.signature(backward)
    except (TypeError, ValueError):  # builtins without a signature: just call them
        return
    try:
        sig.bind({}, None, None)
    except TypeError as exc:
        raise InputError(f"backward must accept (params, X, Y): {exc}") from None


def check_backprop(
    backward: Backward,
    *,
    f: str = "swish",
    g: str = "leaky_relu",
    max_examples: int = 60,
    max_size: int = 6,
    seed: int = 0,
    rtol: float = 1e-12,
    kink_margin: float = 1e-3,
    at_kinks: bool = False,
    time_limit: float = 3.0,
) -> BackpropReport:
    """Check a hand-written ``backward(params, X, Y)`` against the derived gradients.

    Args:
        backward: returns a dict with ``dW1 db1 dW2 db2 dW3 db3`` (and
            optionally ``dZ1 dZ2 dZ3`` in the ``m dJ/dZ`` convention) for
            the network of DESIGN.md with hidden activations ``f`` and ``g``.
        f, g: catalog names of the activations ``backward`` implements.
        max_examples: hypothesis examples after the fixed probes (0: probes only).
        max_size: largest d, n, p and m drawn (q is at most 3).
        seed: seed of the search (same seed, same examples).
        rtol: allowed ``|yours - truth|`` as a fraction of ``S``, each
            entry's rounding bound (the magnitude of the terms it sums, see
            :mod:`derive.backprop_check.localise`): 1e-12 is about 4500 float64 epsilons;
            correct float64 code stays below 1e-15.
        kink_margin: distance kept between pre-activations and kinks.
        at_kinks: also probe pre-activations exactly at the kinks, expecting
            the left-hand derivative.
        time_limit: seconds for the search and shrinking.

    Returns:
        A :class:`BackpropReport`: ``ok``, ``str(report)``, ``report.to_dict()``.

    Raises:
        InputError: ``backward`` is not callable with ``(params, X, Y)``, it
            does not return a dict of gradients, or an option is invalid.
        UnknownActivationError: ``f`` or ``g`` is not a catalog name.

    Example:
        >>> import numeric
        >>> check_backprop(lambda P, X, Y: numeric.backward(P, X, Y), max_examples=10).ok
        True
    """
    t0 = time.perf_counter()
    _validate(backward, f, g, rtol, max_examples, max_size, kink_margin, time_limit)
    chk = _Checker(backward, f, g, float(rtol), float(kink_margin))
    report = BackpropReport(getattr(backward, "__qualname__", repr(backward)), f, g, ok=True, rtol=float(rtol))
    results = []
    for i, (label, shape, offset) in enumerate(PROBES):
        res = chk.run(chk.case(shape, seed=seed + i, offset=offset, label=f'probe "{label}"'))
        if i == 0:
            _first_call_checks(res, chk, report)
        results.append(res)
        report.probes.append(label)
    if at_kinks:
        results.append(chk.run(_kink_case(chk, seed)))
        report.probes.append("pre-activations at the kinks")
    search_result, report.examples, report.search = _search(chk, max_examples, max_size, seed, time_limit)
    failing = [r for r in results if not r.ok]
    if search_result is not None:
        failing.append(search_result)
    _summarise(report, results + ([search_result] if search_result is not None else []), failing, chk)
    report.seconds = time.perf_counter() - t0
    return report


def assert_backprop_ok(backward: Backward, **options: Any) -> BackpropReport:
    """Raise ``AssertionError(str(report))`` unless ``backward`` is right.

    For pytest: the failure message is the whole report.  ``options`` are
    those of :func:`check_backprop`.

    Example:
        >>> import numeric
        >>> assert_backprop_ok(lambda P, X, Y: numeric.backward(P, X, Y), max_examples=5).ok
        True
    """
    report = check_backprop(backward, **options)
    if not report.ok:
        raise AssertionError(str(report))
    return report


def _first_call_checks(res: CaseResult, chk: _Checker, report: BackpropReport) -> None:
    if res.unusable:
        raise InputError(res.unusable)
    report.returns_dZ = all(k in res.output for k in DZS)
    if res.error is None and not res.mutated:
        again = run_case(chk.backward, res.case, res.ref, rtol=chk.rtol)
        if again.error is None and any(
            not np.array_equal(np.asarray(res.output[k]), np.asarray(again.output.get(k)))
            for k in GRADS if k in res.output
        ):
            res.issue = Finding(
                "backward", "not repeatable",
                "gave different gradients when called twice on the same input (state kept between calls, "
                "e.g. gradients accumulated with += and never reset?)", case=res.case)


def _kink_case(chk: _Checker, seed: int) -> Case:
    """Pre-activations exactly 0 in the first unit of both hidden layers."""
    base = chk.case((3, 4, 3, 2, 5), seed=seed, label="")
    P = {k: v.copy() for k, v in base.params.items()}
    for W, b in (("W1", "b1"), ("W2", "b2")):
        P[W][0, :] = 0.0
        P[b][0, :] = 0.0
    return Case('probe "pre-activations at the kinks"', P, base.X, base.Y)


def _search(chk: _Checker, max_examples: int, max_size: int, seed: int,
            time_limit: float) -> tuple[CaseResult | None, int, str]:
    """A failing case, as small as shrinking makes it (None when none was found)."""
    if max_examples == 0:
        return None, 0, "search"
    try:
        import hypothesis
    except ImportError:
        return _fallback(chk, max_examples, max_size, seed, time_limit, "hypothesis is not installed")
    if hypothesis.currently_in_test_context():
        return _fallback(chk, max_examples, max_size, seed, time_limit,
                         "called inside a hypothesis test, where a nested search is not allowed")
    return _hypothesis_search(chk, max_examples, max_size, seed, time_limit)


def _hypothesis_search(chk: _Checker, max_examples: int, max_size: int, seed: int,
                       time_limit: float) -> tuple[CaseResult | None, int, str]:
    from hypothesis import HealthCheck, Phase, Verbosity, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import HypothesisException, NoSuchExample

    sizes = st.integers(1, max_size)
    strategy = st.tuples(sizes, sizes, sizes, st.integers(1, 3), sizes, st.integers(0, 2**32 - 1),
                         st.sampled_from(_SCALES), st.sampled_from(_OFFSETS))
    deadline, count = time.perf_counter() + time_limit, [0]

    def fails(t: tuple[Any, ...]) -> bool:
        key = (t[:5], t[5], t[6], t[7], "")
        if key in chk.memo:
            return not chk.memo[key].ok
        if time.perf_counter() > deadline:
            return False  # out of time: new examples count as passing (answers stay repeatable)
        count[0] += 1
        return not chk.run(chk.case(t[:5], seed=t[5], scale=t[6], offset=t[7], label="hypothesis example")).ok

    conf = settings(max_examples=max_examples, database=None, deadline=None, derandomize=False,
                    phases=(Phase.generate, Phase.shrink), verbosity=Verbosity.quiet, print_blob=False,
                    suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    try:
        t = find(strategy, fails, settings=conf, random=random.Random(seed))
    except NoSuchExample:
        return None, count[0], "hypothesis"
    except HypothesisException as exc:  # e.g. Flaky: the user's backward is not deterministic
        return None, count[0], f"hypothesis (stopped: {type(exc).__name__})"
    res = chk.memo[(t[:5], t[5], t[6], t[7], "")]
    return res, count[0], "hypothesis"


def _fallback(chk: _Checker, max_examples: int, max_size: int, seed: int, time_limit: float,
              why: str) -> tuple[CaseResult | None, int, str]:
    """Seeded random draws, then greedy shape reduction of the first failure."""
    rng = np.random.default_rng(seed)
    deadline = time.perf_counter() + time_limit
    label = f"seeded random ({why})"  # rendered "N seeded random examples (why)"
    for i in range(max_examples):
        shape = (*rng.integers(1, max_size + 1, 3), int(rng.integers(1, 4)), int(rng.integers(1, max_size + 1)))
        res = chk.run(chk.case(shape, seed=seed + 1000 + i, offset=_OFFSETS[i % len(_OFFSETS)],
                               label="random example"))
        if not res.ok:
            return _greedy_shrink(chk, res, deadline), i + 1, label
        if time.perf_counter() > deadline:
            return None, i + 1, label
    return None, max_examples, label


def _greedy_shrink(chk: _Checker, res: CaseResult, deadline: float) -> CaseResult:
    best = res
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        shape = list(best.case.shape)
        for i, size in enumerate(shape):
            for smaller in sorted({1, size // 2, size - 1} - {0, size}):
                trial_shape = shape[:i] + [smaller] + shape[i + 1:]
                for s in (best.case.seed or 0, 0, 1):
                    for offset in sorted({0.0, best.case.offset}, key=abs):
                        trial = chk.run(chk.case(trial_shape, seed=s, offset=offset, label="reduced example"))
                        if not trial.ok:
                            best, improved = trial, True
                            break
                    if improved:
                        break
                if improved:
                    break
            if improved:
                break
    return best


def _summarise(report: BackpropReport, results: list[CaseResult], failing: list[CaseResult],
               chk: _Checker) -> None:
    conventions = sorted({k for r in results for k in r.convention})
    if conventions:
        report.notes.append(f"{', '.join(conventions)} are dJ/dZ, 1/m of the article's convention dZ = m dJ/dZ "
                            "(not an error: the gradients do not depend on it)")
    if not failing:
        return
    report.ok = False
    for res in failing:
        diagnose(res, rtol=chk.rtol)
    order = [*DZS[:1], "dW3", "db3", DZS[1], "dW2", "db2", DZS[2], "dW1", "db1"]
    for name in ["backward", *order]:
        for res in failing:  # probes first, in order: the first case where it is wrong explains it
            if name in res.findings:
                report.findings[name] = res.findings[name]
                break
    report.wrong = [k for k in order if k in report.findings]
    # every case-level problem (raised on some shapes, modified inputs), not just the first
    extra = [r.findings["backward"] for r in failing if "backward" in r.findings]
    if extra and "backward" in report.findings:
        kinds = {fd.kind for fd in extra}
        if len(kinds) > 1:
            report.notes += [f"backward also {fd.message} at {fd.case.describe() if fd.case else '?'}"
                             for fd in extra[1:] if fd.kind != report.findings["backward"].kind]
    _localise(report)
    smallest = min(failing, key=lambda r: (sum(r.case.shape), r.case.shape))
    report.smallest = smallest.case
    report.smallest_how = {"hypothesis example": "hypothesis shrinking", "reduced example": "greedy shape reduction",
                           "random example": "seeded random search"}.get(smallest.case.label, "smallest failing probe")


_SHAPE_ONLY = {"keepdims"}  # right values in a wrong shape: not where the chain goes wrong


def _localise(report: BackpropReport) -> None:
    wrong = {k for k in report.wrong if report.findings[k].kind not in _SHAPE_ONLY}
    dzs = [k for k in DZS if k in wrong]
    layers = [int(k[-1]) for k in report.wrong if k in wrong and k[:2] in ("dW", "db", "dZ")]
    shape_only = [k for k in report.wrong if k not in wrong]
    if not layers:
        if "backward" in report.findings:
            report.divergence = "the call itself is the problem (see 'backward' below)"
        elif shape_only:
            report.divergence = f"every value is right; only the shape of {', '.join(shape_only)} is wrong"
        return
    top = max(layers)
    report.diverges_at = top
    above = [str(layer) for layer in (3, 2) if layer > top]
    right = f"; layer{'s' if len(above) > 1 else ''} {' and '.join(above)} {'are' if len(above) > 1 else 'is'} right" \
        if above else ""
    if shape_only:
        right += f" (apart from the shape of {', '.join(shape_only)})"
    if report.returns_dZ:
        if f"dZ{top}" in dzs:
            step = FORMULAS[f"dZ{top}"]
            report.divergence = (f"diverges at layer {top} going backwards: dZ{top} is the first wrong dZ "
                                 f"(check {step}){right}")
        else:
            report.divergence = (f"diverges at layer {top} going backwards: dZ{top} is right, so the error is in "
                                 f"{' / '.join(FORMULAS[k] for k in (f'dW{top}', f'db{top}') if k in wrong)}{right}")
    else:
        report.divergence = (f"diverges at layer {top} going backwards (the first layer from the output with a "
                             f"wrong gradient; return dZ1..dZ3 too to pin down the step){right}")
