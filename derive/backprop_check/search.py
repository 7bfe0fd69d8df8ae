"""The search for a failing case after the probes, and its shrinking.

Hypothesis draws each example's shape (every size from 1, q up to 3), a seed
for its values, a weight scale and a shift of b3 that makes the outputs very
confident; shrinking gives the smallest failing shape.  Called inside a
running hypothesis test (no nested search), or without hypothesis, a seeded
random search and a greedy shape reduction run instead.  For heads that take
them (sigmoid + BCE, softmax + CE) an example may have soft targets (see
:func:`~derive.backprop_check.reference.soft_targets`); shrinking prefers
hard ones.  ``time_limit`` only stops the search, promptly (hypothesis is
interrupted at its next example, not left to draw the rest as passing), and
the search's name then says so; once the user's code timed out or ended its
process, no new example is run.

``chk`` is the checker of :mod:`derive.backprop_check.check` (its ``run``,
``case``, ``memo`` and ``caller``).
"""

from __future__ import annotations

import random
import time
from typing import Any

import numpy as np

from derive.backprop_check.reference import takes_soft_targets
from derive.backprop_check.run import CaseResult

__all__ = ["OFFSETS", "SCALES", "search"]

OFFSETS = (0.0, 30.0, -30.0, 40.0)
SCALES = (1.0, 0.5, 2.0)


class _OutOfTime(BaseException):
    """Raised from inside hypothesis's generation once ``time_limit`` is up: a BaseException, so
    hypothesis neither counts it as a failing example nor shrinks it, but stops at once."""


def search(chk: Any, max_examples: int, max_size: int, seed: int,
            time_limit: float) -> tuple[CaseResult | None, int, str]:
    """A failing case, as small as shrinking makes it (None when none was found)."""
    if max_examples == 0:
        return None, 0, "search"
    if chk.caller.stopped:
        return None, 0, "search (not run: backward was stopped)"
    try:
        import hypothesis
    except ImportError:
        return _fallback(chk, max_examples, max_size, seed, time_limit, "hypothesis is not installed")
    if hypothesis.currently_in_test_context():
        return _fallback(chk, max_examples, max_size, seed, time_limit,
                         "called inside a hypothesis test, where a nested search is not allowed")
    return _hypothesis_search(chk, max_examples, max_size, seed, time_limit)


def _hypothesis_search(chk: Any, max_examples: int, max_size: int, seed: int,
                       time_limit: float) -> tuple[CaseResult | None, int, str]:
    from hypothesis import HealthCheck, Phase, Verbosity, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import HypothesisException, NoSuchExample

    sizes = st.integers(1, max_size)
    L = chk.net.depth
    k = L + 2  # d, the hidden widths, q, m
    soft = st.booleans() if takes_soft_targets(chk.net) else st.just(False)
    strategy = st.tuples(*[sizes] * L, st.integers(*_q_range(chk)), sizes, st.integers(0, 2**32 - 1),
                         st.sampled_from(SCALES), st.sampled_from(OFFSETS), soft)
    deadline, count, late, found = time.perf_counter() + time_limit, [0], [False], [False]

    def memo_key(t: tuple[Any, ...]) -> tuple[Any, ...]:  # as chk.case files it: shape, seed, scale, offset, soft
        return (t[:k], t[k], t[k + 1], t[k + 2], "", None, t[k + 3])

    def fails(t: tuple[Any, ...]) -> bool:
        key = memo_key(t)
        if key in chk.memo:
            return not chk.memo[key].ok
        if chk.caller.stopped:
            return False  # timed out or died: no more calls (the report says so)
        if time.perf_counter() > deadline:
            late[0] = True
            if not found[0]:
                raise _OutOfTime  # still generating: stop now, not after drawing every remaining example
            return False  # shrinking a failure: new examples count as passing (answers stay repeatable)
        count[0] += 1
        bad = not chk.run(chk.case(t[:k], seed=t[k], scale=t[k + 1], offset=t[k + 2], label="hypothesis example",
                                   soft=t[k + 3])).ok
        found[0] = found[0] or bad
        return bad

    conf = settings(max_examples=max_examples, database=None, deadline=None, derandomize=False,
                    phases=(Phase.generate, Phase.shrink), verbosity=Verbosity.quiet, print_blob=False,
                    suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    try:
        t = find(strategy, fails, settings=conf, random=random.Random(seed))
    except (NoSuchExample, _OutOfTime):
        return None, count[0], _stopped("hypothesis", late[0], time_limit)
    except HypothesisException as exc:  # e.g. Flaky: the user's backward is not deterministic
        return None, count[0], f"hypothesis (stopped: {type(exc).__name__})"
    res = chk.memo[memo_key(t)]
    return res, count[0], _stopped("hypothesis", late[0], time_limit)


def _q_range(chk: Any) -> tuple[int, int]:
    """Output widths drawn: 1 to 3 (2 to 3 for softmax, where q = 1 is a constant output)."""
    return (2, 3) if chk.net.head == "softmax-ce" else (1, 3)


def _stopped(engine: str, late: bool, time_limit: float) -> str:
    """The search's name; when ``time_limit`` stopped it, said loudly."""
    return f"{engine} (stopped by time_limit = {time_limit:g} s: raise it to search further)" if late else engine


def _fallback(chk: Any, max_examples: int, max_size: int, seed: int, time_limit: float,
              why: str) -> tuple[CaseResult | None, int, str]:
    """Seeded random draws, then greedy shape reduction of the first failure."""
    rng = np.random.default_rng(seed)
    deadline = time.perf_counter() + time_limit
    label = f"seeded random ({why})"  # rendered "N seeded random examples (why)"
    for i in range(max_examples):
        lo, hi = _q_range(chk)
        shape = (*rng.integers(1, max_size + 1, chk.net.depth), int(rng.integers(lo, hi + 1)),
                 int(rng.integers(1, max_size + 1)))
        res = chk.run(chk.case(shape, seed=seed + 1000 + i, offset=OFFSETS[i % len(OFFSETS)],
                               label="random example", soft=i % 3 == 2))
        if not res.ok:
            return _greedy_shrink(chk, res, deadline), i + 1, label
        if time.perf_counter() > deadline:
            return None, i + 1, f"seeded random (stopped by time_limit = {time_limit:g} s; {why})"
    return None, max_examples, label


def _greedy_shrink(chk: Any, res: CaseResult, deadline: float) -> CaseResult:
    best = res
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        shape = list(best.case.shape)
        for i, size in enumerate(shape):
            floor = 2 if i == len(shape) - 2 and chk.net.head == "softmax-ce" else 1
            for smaller in sorted({floor, size // 2, size - 1} - {0, 1 if floor == 2 else 0, size}):
                trial_shape = shape[:i] + [smaller] + shape[i + 1:]
                for s in (best.case.seed or 0, 0, 1):
                    for offset in sorted({0.0, best.case.offset}, key=abs):
                        trial = chk.run(chk.case(trial_shape, seed=s, offset=offset, label="reduced example",
                                                 soft=best.case.soft))
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
