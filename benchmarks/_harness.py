"""Timing helpers for the benchmark harness: warm-up, interleaved repeats,
median / min / max, and ratios of two measurements taken in the same run."""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

__all__ = ["Timing", "measure", "ratio", "markdown_table"]


@dataclass
class Timing:
    """Seconds of repeated runs of one callable."""

    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    def ms(self) -> str:
        """``median (min-max)`` in milliseconds."""
        return f"{self.median * 1e3:.2f} ({self.min * 1e3:.2f}-{self.max * 1e3:.2f})"

    def s(self) -> str:
        """``median (min-max)`` in seconds."""
        return f"{self.median:.3f} ({self.min:.3f}-{self.max:.3f})"


def measure(
    candidates: Mapping[str, Callable[[], object]], *, repeats: int = 15, warmup: int = 2,
    min_seconds: float = 0.0,
) -> dict[str, Timing]:
    """Time several callables *interleaved*: each round runs every candidate
    once, in rotating order, so slow drifts of the machine hit all alike.

    Args:
        candidates: name -> zero-argument callable.
        repeats: rounds measured after the warm-up.
        warmup: rounds run first and discarded.
        min_seconds: keep going past ``repeats`` until this much time was spent.
    """
    names = list(candidates)
    for _ in range(warmup):
        for name in names:
            candidates[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    start = time.perf_counter()
    rnd = 0
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        while rnd < repeats or time.perf_counter() - start < min_seconds:
            order = names[rnd % len(names):] + names[: rnd % len(names)]
            for name in order:
                t0 = time.perf_counter()
                candidates[name]()
                samples[name].append(time.perf_counter() - t0)
            rnd += 1
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: Timing(s) for name, s in samples.items()}


def ratio(a: Timing, b: Timing) -> float:
    """Median of the per-round ratios a/b (paired, same rounds)."""
    return statistics.median(x / y for x, y in zip(a.samples, b.samples))


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
