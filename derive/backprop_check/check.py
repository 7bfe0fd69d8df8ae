"""Check anyone's hand-written backprop against the derived gradients.

:func:`check_backprop` runs the user's ``backward(params, X, Y)`` on a fixed
set of probes (distinct sizes, m = 1, q = 1 and q > 1, n = 1, square shapes,
very confident outputs, a larger batch m = 29, soft targets where the head
takes them: see :mod:`derive.backprop_check.probes`) and on a hypothesis
search over shapes, values and hard or soft targets,
compares the gradients (and dZ's when returned) with
``derive.gradient_function(f, g)``, or ``derive.gradient_function(network)``
for a :class:`numeric.Network` description (any depth, head, reduction and
L2: the probes and the search draw problems of its depth and head) and explains every wrong one (see
:mod:`derive.backprop_check.localise`).  Hypothesis shrinking gives the smallest shape that
shows the bug.

The user's function runs in a child process (:mod:`derive.backprop_check.sandbox`):
an exit, a hang (``call_limit`` seconds per call, default 10) or a crash in
it becomes a finding, never the checker's end.  Its arrays come in the
user's layout (:mod:`derive.backprop_check.layout`: ``columns``, ``rows``,
``linear``; parameters as a dict or ``(W, b)`` pairs) and dtype.

The search after the probes and its shrinking are in
:mod:`derive.backprop_check.search`.

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

import dataclasses
import math
import time
from typing import Any, Callable

import numpy as np

import numeric
from derive.backprop_check.layout import DTYPES, LAYOUTS, PARAMS_AS, Layout
from derive.backprop_check.localise import (
    Case,
    CaseResult,
    Finding,
    Reference,
    diagnose,
    make_case,
    run_case,
)
from derive.backprop_check.probes import PROBES, probe_shape, probes_for
from derive.backprop_check.reference import is_classic
from derive.backprop_check.result import BackpropReport, summarise
from derive.backprop_check.run import dzs_of, grads_of
from derive.backprop_check.sandbox import InProcess, Sandbox, open_caller
from derive.backprop_check.search import search
from derive.backprop_check.target import ImportFailed
from derive.lambdified import gradient_function
from numeric.errors import InputError, UnknownActivationError

__all__ = ["check_backprop", "assert_backprop_ok", "BackpropReport", "PROBES", "DEFAULT_RTOL"]

Backward = Callable[..., Any]

# |yours - truth| <= rtol * S, S the entry's rounding bound in units of eps: about 4500 eps of the dtype
# the code runs in (float64: 1e-12; float32: 4096 * 2**-23 ~ 4.9e-4).  Correct code stays below ~10 eps.
DEFAULT_RTOL = {"float64": 1e-12, "float32": 4096 * 2.0**-23}


def _open(net: numeric.Network) -> numeric.Network:
    """``net`` with its widths left open (the probes and the search draw many shapes of its depth)."""
    if net.widths is None:
        return net
    return numeric.Network(activations=tuple(net.activations), head=net.head, reduction=net.reduction,
                           mse=net.mse, l2=net.l2, l2_convention=net.l2_convention)


class _Checker:
    """Runs cases for one backward; remembers results so answers are repeatable."""

    def __init__(self, caller: Sandbox | InProcess, net: numeric.Network, rtol: float, kink_margin: float,
                 layout: Layout) -> None:
        net = _open(net)
        self.caller, self.net, self.rtol, self.kink_margin = caller, net, rtol, kink_margin
        self.layout = layout
        self.acts = [numeric.get_activation(a) for a in net.activations]
        self.fa = self.acts[0] if self.acts else None
        self.ga = self.acts[1] if len(self.acts) > 1 else self.fa
        self.f, self.g = (str(net.activations[0]), str(net.activations[1])) if net.depth == 3 else ("", "")
        self.classic = is_classic(net)
        # the one source of the truth
        self.grad_fn = gradient_function(self.f, self.g) if self.classic else gradient_function(network=net)
        self.memo: dict[tuple[Any, ...], CaseResult] = {}
        self.skipped = 0

    def case(self, shape: tuple[int, ...], seed: int, scale: float = 1.0, offset: float = 0.0,
             label: str = "", soft: bool = False) -> Case:
        case = make_case(tuple(int(s) for s in shape), seed=seed, scale=scale, offset=offset, network=self.net,
                         f=self.fa, g=self.ga, kink_margin=self.kink_margin, label=label, soft=soft)
        return self._in_dtype(case)

    def _in_dtype(self, case: Case) -> Case:
        """The case with its inputs rounded to the dtype the code runs in (the truth is for those inputs)."""
        if self.layout.dtype == "float64":
            return case
        rnd = self.layout.dtype

        def r(a: np.ndarray) -> np.ndarray:
            return np.asarray(a, dtype=rnd).astype(np.float64)

        return dataclasses.replace(case, params={k: r(v) for k, v in case.params.items()}, X=r(case.X), Y=r(case.Y))

    def reference(self, case: Case) -> Reference:
        return Reference(case, self.grad_fn, self.fa, self.ga, acts=self.acts)

    def run(self, case: Case, layout: Layout | None = None) -> CaseResult:
        key = (case.shape, case.seed, case.scale, case.offset, case.label if case.seed is None else "", layout,
               case.soft)
        if key not in self.memo:
            res = run_case(self.caller, case, self.reference(case), rtol=self.rtol, layout=layout or self.layout)
            self.skipped += res.skipped
            self.memo[key] = res
        return self.memo[key]


def _shown(value: Any) -> str:
    """A value for a message: numbers plainly (``nan``, ``2.0``; never ``np.float64(2.0)``)."""
    if isinstance(value, (np.floating, np.integer)) and not isinstance(value, bool):
        return str(value.item())
    return repr(value)


def _network(network: Any, f: Any, g: Any) -> numeric.Network:
    """The description checked: ``network``, or the article's with ``f`` and ``g``."""
    if network is None:
        for label, spec in (("f", f), ("g", g)):
            if not isinstance(spec, str):
                raise InputError(f"check_backprop takes catalog names for {label}; got {type(spec).__name__} "
                                 f"(known: {', '.join(numeric.ACTIVATIONS)})")
            if spec not in numeric.ACTIVATIONS:
                raise UnknownActivationError(f"unknown activation {spec!r}; known: {', '.join(numeric.ACTIVATIONS)}")
        return numeric.Network(activations=(f, g))
    if not isinstance(network, numeric.Network):
        raise InputError(f"network must be a numeric.Network description; got {type(network).__name__}")
    if (f, g) != ("swish", "leaky_relu"):
        raise InputError("f and g name the article's activations; with network= the description names them "
                         "(Network(activations=...))")
    for spec in network.activations:
        if not isinstance(spec, str) or spec not in numeric.ACTIVATIONS:
            raise UnknownActivationError(f"check_backprop takes catalog names as the network's activations; got "
                                         f"{spec!r} (known: {', '.join(numeric.ACTIVATIONS)})")
    return network


def _validate(backward: Any, f: Any, g: Any, rtol: float, max_examples: int, max_size: int,
              kink_margin: float, time_limit: float, call_limit: float, layout: Any, params_as: Any,
              dtype: Any) -> None:
    if not callable(backward) and not isinstance(backward, str):
        raise InputError(f"backward must be a function backward(params, X, Y); got {type(backward).__name__}")
    for label, value, allowed in (("layout", layout, LAYOUTS), ("params_as", params_as, PARAMS_AS),
                                  ("dtype", dtype, DTYPES)):
        if value not in allowed:
            raise InputError(f"{label} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    if not (isinstance(rtol, (int, float)) and 0 < rtol < 1):
        raise InputError(f"rtol must be a number in (0, 1), got {_shown(rtol)}; e.g. rtol=1e-12")
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 0:
        raise InputError(f"max_examples must be an int >= 0, got {_shown(max_examples)}; e.g. max_examples=60")
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
        raise InputError(f"max_size must be a positive int, got {_shown(max_size)}; e.g. max_size=6")
    if not (isinstance(kink_margin, (int, float)) and 0 <= kink_margin < 1):
        raise InputError(f"kink_margin must be a number in [0, 1), got {_shown(kink_margin)}; e.g. kink_margin=1e-3")
    for label, value in (("time_limit", time_limit), ("call_limit", call_limit)):
        if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                and value > 0):
            raise InputError(f"{label} must be a positive number of seconds, got {_shown(value)}")


def check_backprop(
    backward: Backward | str,
    *,
    network: numeric.Network | None = None,
    f: str = "swish",
    g: str = "leaky_relu",
    layout: str = "columns",
    params_as: str = "dict",
    dtype: str = "float64",
    max_examples: int = 60,
    max_size: int = 6,
    seed: int = 0,
    rtol: float | None = None,
    kink_margin: float = 1e-3,
    at_kinks: bool = False,
    time_limit: float = 3.0,
    call_limit: float = 10.0,
    isolate: bool = True,
) -> BackpropReport:
    """Check a hand-written ``backward(params, X, Y)`` against the derived gradients.

    Args:
        backward: the function, or ``"module:attr"`` text (the child process
            imports it).  It returns the gradients of the network of DESIGN.md
            with hidden activations ``f`` and ``g``: a dict with ``dW1 db1 dW2
            db2 dW3 db3`` (or ``W1 b1 ...`` keys; optionally ``dZ1 dZ2 dZ3`` in
            the ``m dJ/dZ`` convention), or a list in the order of the parameters.
        network: the :class:`numeric.Network` description ``backward``
            implements (any depth, head, reduction, L2; its activations
            catalog names).  Its widths, when given, only fix the depth (and
            add a probe at those widths): the probes and the search draw
            many shapes of that depth.  Default: the article's network with
            ``f`` and ``g``.  The gradients are ``dW1 db1 ... dWL dbL``
            (parameters ``W1 b1 ... WL bL``, or L ``(W, b)`` pairs).
        f, g: catalog names of the article's activations (without ``network``).
        layout: ``"columns"`` (the article's, X is d x m), ``"rows"`` (X is
            m x d, ``X @ W + b``, W is d x n) or ``"linear"`` (X is m x d,
            ``X @ W.T + b``, W is n x d as in ``torch.nn.Linear``).
        params_as: ``"dict"`` (W1 b1 W2 b2 W3 b3) or ``"pairs"`` (a list of (W, b)).
        dtype: ``"float64"`` or ``"float32"`` (inputs in float32, float32 tolerance).
        max_examples: hypothesis examples after the fixed probes (0: probes only).
        max_size: largest d, n, p and m drawn (q is at most 3).
        seed: seed of the search (same seed, same examples).
        rtol: allowed ``|yours - truth|`` as a fraction of ``S``, each
            entry's rounding bound (the magnitude of the terms it sums, see
            :mod:`derive.backprop_check.localise`); default
            :data:`DEFAULT_RTOL` of the dtype (about 4500 of its epsilons:
            correct code stays below about 10).
        kink_margin: distance kept between pre-activations and kinks.
        at_kinks: also probe pre-activations exactly at the kinks, expecting
            the left-hand derivative.
        time_limit: seconds for the search and shrinking (it only stops the
            search, and the report says so).
        call_limit: seconds each call of ``backward`` may take; after the
            first time-out the checker stops calling it and reports it.
        isolate: run ``backward`` in a child process (default).  False runs
            it here (faster, but an exit or hang in it is not contained).

    Returns:
        A :class:`BackpropReport`: ``ok``, ``str(report)``, ``report.to_dict()``.

    Raises:
        InputError: ``backward`` names a module, file or function that does
            not exist, cannot be called with ``(params, X, Y)``, is code in
            another layout than ``layout`` (the message names the option),
            or an option is invalid.  What the user's code does (raises,
            exits, hangs or dies while its module is imported or while it
            is called, returns something that is not gradients) is a
            finding of a FAILED report, not an exception.
        UnknownActivationError: ``f``, ``g`` or an activation of ``network`` is not a catalog name.

    Example:
        >>> import numeric
        >>> check_backprop(lambda P, X, Y: numeric.backward(P, X, Y), max_examples=10).ok
        True
    """
    t0 = time.perf_counter()
    _validate(backward, f, g, rtol if rtol is not None else 1e-12, max_examples, max_size, kink_margin,
              time_limit, call_limit, layout, params_as, dtype)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be an int >= 0, got {_shown(seed)}; e.g. seed=0")
    net = _network(network, f, g)
    lay = Layout(layout, params_as, dtype)
    rtol = float(DEFAULT_RTOL[dtype] if rtol is None else rtol)
    try:
        opened = open_caller(backward, isolate=isolate, call_limit=call_limit)
    except ImportFailed as exc:  # the user's module raised, exited, hung or died at import: a finding
        shown = backward if isinstance(backward, str) else getattr(backward, "__qualname__", None) or type(backward).__name__
        return _import_failed(shown, net, lay, rtol, float(call_limit), str(exc), t0)
    with opened as caller:
        name = caller.name if hasattr(caller, "name") else getattr(backward, "__qualname__", None) or type(backward).__name__
        chk = _Checker(caller, net, rtol, float(kink_margin), lay)
        report = BackpropReport(name, chk.f, chk.g, ok=True, rtol=rtol, layout=lay, call_limit=float(call_limit),
                                network=net)
        if caller.note:
            report.notes.append(caller.note)
        results, extra = [], []
        for i, probe in enumerate(probes_for(net)):
            res = chk.run(chk.case(probe.shape, seed=seed + i, offset=probe.offset, label=f'probe "{probe.label}"',
                                   soft=probe.soft))
            if i == 0:
                _first_call_checks(res, chk, report)
            (extra if probe.extra else results).append(res)
            report.probes.append(probe.label)
        if at_kinks:
            results.append(chk.run(_kink_case(chk, seed)))
            report.probes.append("pre-activations at the kinks")
        search_result, report.examples, report.search = search(chk, max_examples, max_size, seed, time_limit)
    failing = [r for r in results if not r.ok]
    if search_result is not None:
        failing.append(search_result)
    extra_failing = [r for r in extra if not r.ok]
    for res in failing + extra_failing:
        diagnose(res, rtol=chk.rtol)
    summarise(report, results + extra + ([search_result] if search_result is not None else []), failing,
              extra=extra_failing)
    if caller.stopped:
        report.notes.append(f"backward {caller.stop_reason}: {chk.skipped} later probe"
                            f"{'s were' if chk.skipped != 1 else ' was'} not run, nor any further search")
    report.seconds = time.perf_counter() - t0
    return report


def _import_failed(target: str, net: numeric.Network, lay: Layout, rtol: float, call_limit: float,
                   message: str, t0: float) -> BackpropReport:
    """The FAILED report of a module that failed while it was being imported (never called)."""
    f, g = (str(net.activations[0]), str(net.activations[1])) if net.depth == 3 else ("", "")
    report = BackpropReport(target, f, g, ok=False, rtol=rtol, layout=lay,
                            call_limit=call_limit, network=net)
    finding = Finding("backward", "import failed",
                      f"{message}; the module's own code failed while it was being imported, so backward was "
                      "never called")
    report.findings["backward"], report.all_findings["backward"] = finding, [finding]
    report.divergence = "the call itself is the problem (see 'backward' below)"
    report.search = "search (not run: the module did not import)"
    report.seconds = time.perf_counter() - t0
    return report


def assert_backprop_ok(backward: Backward | str, **options: Any) -> BackpropReport:
    """Raise ``AssertionError(str(report))`` unless ``backward`` is right.

    For pytest: the failure message is the whole report.  ``options`` are
    those of :func:`check_backprop`.

    Example:
        >>> import numeric
        >>> assert_backprop_ok(lambda P, X, Y: numeric.backward(P, X, Y), max_examples=5).ok
        True
    """
    __tracebackhide__ = True
    report = check_backprop(backward, **options)
    if not report.ok:
        raise AssertionError(str(report))
    return report


def _fit(res: CaseResult) -> int:
    """How many gradients the call returned as arrays of the right shape (-1: it raised or returned junk)."""
    if res.error is not None or res.unusable is not None or res.skipped:
        return -1
    return sum(isinstance(res.raw.get(k), np.ndarray) and res.layout.fits(k, res.raw[k].shape, res.ref.truth[k].shape)
               for k in grads_of(res.case.depth))


def _other_layout(res: CaseResult, chk: _Checker) -> Layout | None:
    """Another layout in which the code runs, when in the asked one it raises, returns no gradients,
    or gets fewer shapes right; the best such layout, needing at least half the shapes right."""
    asked, count = _fit(res), len(grads_of(res.case.depth))
    if asked == count or chk.caller.stopped:
        return None
    best, best_fit = None, max(asked, count // 2 - 1)
    for layout in LAYOUTS:
        for params_as in PARAMS_AS:
            cand = Layout(layout, params_as, chk.layout.dtype)
            if cand == chk.layout:
                continue
            fit = _fit(chk.run(res.case, cand))
            if fit > best_fit:
                best, best_fit = cand, fit
    return best


def _first_call_checks(res: CaseResult, chk: _Checker, report: BackpropReport) -> None:
    other = _other_layout(res, chk)
    if other is not None:
        what = (f"returns no gradients ({res.unusable})" if res.unusable else f"raises {res.error}" if res.error
                else "returns gradients of the wrong shapes")
        pairs = ", taking a list of (W, b) pairs" if other.params_as == "pairs" else ""
        raise InputError(f"backward looks like {other.describe()}{pairs}: with {chk.layout.option_text()} it "
                         f"{what}; pass {other.option_text()}")
    report.returns_dZ = all(k in res.output for k in dzs_of(res.case.depth))
    if res.error is None and not res.mutated and not res.skipped:
        again = run_case(chk.caller, res.case, res.ref, rtol=chk.rtol, layout=chk.layout)
        if again.error is None and not again.skipped and any(
            not _same_values(res.output[k], again.output.get(k)) for k in grads_of(res.case.depth) if k in res.output
        ):
            res.issue = Finding(
                "backward", "not repeatable",
                "gave different gradients when called twice on the same input (state kept between calls, "
                "e.g. gradients accumulated with += and never reset?)", case=res.case)


def _same_values(a: Any, b: Any) -> bool:
    """Equal, NaN equal to NaN (a NaN gradient is not a sign of kept state)."""
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        try:
            return bool(a == b)
        except Exception:  # noqa: BLE001 - values that do not compare: not evidence of kept state
            return True
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


def _kink_case(chk: _Checker, seed: int) -> Case:
    """Pre-activations exactly 0 in the first unit of every hidden layer."""
    base = chk.case(probe_shape((3, 4, 3, 2, 5), chk.net), seed=seed, label="")
    P = {k: v.copy() for k, v in base.params.items()}
    for layer in range(1, chk.net.depth):
        P[f"W{layer}"][0, :] = 0.0
        P[f"b{layer}"][0, :] = 0.0
    return chk._in_dtype(Case('probe "pre-activations at the kinks"', P, base.X, base.Y, network=chk.net))
