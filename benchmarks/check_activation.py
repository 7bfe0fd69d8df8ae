"""Latency of ``derive.check_activation`` and of ``backprop-derive check-activation``.

Usage::

    PYTHONPATH=. python3 benchmarks/check_activation.py [--repeats N] [--cli-runs N] [--names tanh swish ...]

Prints a markdown table:

* **warm**: median (min-max) of ``check_activation(name)`` in a process that
  has run it before (imports done, per-expression caches filled); the issue
  asks for under 1 s;
* **uncached**: the same call after clearing derive's caches and sympy's
  cache, i.e. the first check of that activation in a warm process;
* **new expression**: ``check_activation(text)`` on expressions the process
  has never seen (warm imports, nothing cached for them), one run each: the
  median over :data:`NEW_EXPRESSIONS` must stay under 1 s;
* **CLI cold**: wall time of a fresh ``python -m derive check-activation NAME``
  process, start-up included; the issue asks for under 3 s.

Every check runs with its defaults (40 hypothesis points, the network end to
end).  ``run.py`` section 4 imports :func:`warm` and :func:`cli_cold`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _harness import Timing, markdown_table, measure  # noqa: E402

import derive  # noqa: E402
import derive.activation_check.check as ca  # noqa: E402

CLI = [sys.executable, "-m", "derive"]


def _clear_caches() -> None:
    import sympy

    from derive import lambdified

    ca._ANALYSES.clear()
    ca._SIMPLE_CACHE.clear()
    lambdified._cached.cache_clear()
    sympy.core.cache.clear_cache()


def _uncached(name: str, repeats: int) -> Timing:
    samples = []
    for _ in range(repeats):
        _clear_caches()
        t0 = time.perf_counter()
        ca.check_activation(name)
        samples.append(time.perf_counter() - t0)
    return Timing(samples)


NEW_EXPRESSIONS = [
    "x*sigmoid(1.702*x)", "t*tanh(log1p(exp(t)))", "0.5*z*(1 + erf(z/sqrt(2))) + 0.01*z",
    "where(z > 0, z, 0.2*(exp(z) - 1))", "(z + sqrt(z**2 + 4))/2", "z + sin(z)**2", "z*relu6(z + 3)/6",
    "z/sqrt(1 + z**2)", "atan(z) + 0.1*z", "np.maximum(z, 0.05*z)", "z*erf(log1p(exp(z)))",
    "z if z > 1 else (z + 1)**2/4", "x*tanh(exp(x))", "asinh(z)", "log(1 + exp(2*z))/2",
]
"""Expressions timed once each, as a user's first check of a new formula."""


def new_expressions(texts: list[str] | None = None) -> Timing:
    """One uncached ``check_activation`` (defaults) per expression: the user's first check of it."""
    samples = []
    for text in texts or NEW_EXPRESSIONS:
        _clear_caches()
        t0 = time.perf_counter()
        ca.check_activation(text)
        samples.append(time.perf_counter() - t0)
    return Timing(samples)


def warm(names: list[str], repeats: int, warmup: int = 1) -> dict[str, Timing]:
    """``check_activation(name)`` with its defaults, interleaved, after ``warmup`` rounds."""
    return measure({name: (lambda n=name: ca.check_activation(n)) for name in names},
                   repeats=repeats, warmup=warmup)


def cli_cold(args: list[str], runs: int, warmup: int = 0) -> tuple[Timing, int]:
    """Wall time of fresh ``python -m derive check-activation ARGS`` processes, and the last exit code.

    ``warmup`` runs are discarded (they fill the OS file cache, not the process).
    """
    code = [0]

    def once() -> None:
        out = subprocess.run([*CLI, "check-activation", *args], cwd=ROOT, capture_output=True, text=True,
                             timeout=300)
        code[0] = out.returncode

    return measure({"cli": once}, repeats=runs, warmup=warmup)["cli"], code[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="warm repeats per activation (default 7)")
    parser.add_argument("--uncached", type=int, default=3, help="uncached repeats per activation (default 3)")
    parser.add_argument("--cli-runs", type=int, default=3, help="fresh CLI processes per case (default 3)")
    parser.add_argument("--names", nargs="*", default=list(derive.CATALOG), help="catalog activations to time")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    ca.check_activation("identity")  # first call in the process: hypothesis and lambdify warm up
    first = time.perf_counter() - t0

    uncached = {name: _uncached(name, args.uncached) for name in args.names}
    timings = warm(args.names, args.repeats)
    rows = [[name, timings[name].ms(), uncached[name].ms()] for name in args.names]
    print(f"check_activation latency, ms: median (min-max); first call in a fresh process "
          f"(any activation) {first * 1e3:.0f} ms\n")
    print(markdown_table(["activation", "warm", "uncached (first check of it)"], rows))
    worst = max(t.median for t in timings.values())
    print(f"\nworst warm median: {worst:.3f} s (limit 1 s) -> {'ok' if worst < 1 else 'TOO SLOW'}")
    fresh = new_expressions()
    print(f"\nnew expressions ({len(NEW_EXPRESSIONS)}, one uncached check each): median {fresh.median:.3f} s "
          f"({fresh.ms()} ms) (limit 1 s) -> {'ok' if fresh.median < 1 else 'TOO SLOW'}")

    cases = [["swish"], ["tanh"], ["gelu_tanh"], ["z*tanh(softplus(z))", "--derivative",
                                       "tanh(softplus(z)) + z*sigmoid(z)*(1 - tanh(softplus(z))**2)"]]
    cli_rows = []
    worst_cli = 0.0
    for case in cases:
        timing, code = cli_cold(case, args.cli_runs)
        worst_cli = max(worst_cli, timing.median)
        cli_rows.append([" ".join(case)[:60], timing.s(), code])
    print(f"\nCLI cold start (python -m derive), s: median (min-max) over {args.cli_runs} fresh processes\n")
    print(markdown_table(["arguments", "wall time", "exit code"], cli_rows))
    print(f"\nworst CLI median: {worst_cli:.2f} s (limit 3 s) -> {'ok' if worst_cli < 3 else 'TOO SLOW'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
