"""Cost of a directional gradient check against an every-entry check.

At the article's size (d = 784, n = 128, p = 64, q = 1; 108,801 parameters)
and a small batch (m = 8), runs:

* ``numeric.oracles.directional_check``: k random unit directions per
  parameter, 2 cost evaluations each (central differences) or 1 (complex step);
* ``numeric.oracles.check_gradients``: central differences on every entry,
  2 evaluations per parameter;

and prints evaluations, seconds and the verdict of each, then checks the
catalog of wrong backward functions (tests/bug_catalog.py) with the
directional check at full size.

Usage::

    PYTHONPATH=. python3 benchmarks/gradcheck_cost.py            # full every-entry run (~30 s)
    PYTHONPATH=. python3 benchmarks/gradcheck_cost.py --entries 20000   # time a prefix, extrapolate
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from numeric.compare import draw_problem
from numeric.errors import InputError
from numeric.gradcheck import _Cost, _entry, default_step
from numeric.oracles import check_gradients, directional_check

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def _prefix_timing(P, X, Y, entries: int) -> tuple[int, float]:
    """Central differences on the first ``entries`` entries (W1 first), timed."""
    J = _Cost(P, X, Y, "swish", "leaky_relu", np.float64)
    steps = default_step(J.base["W1"])
    t0 = time.perf_counter()
    for i, idx in enumerate(np.ndindex(J.base["W1"].shape)):
        if i == entries:
            break
        _entry(J, "central", "W1", idx, float(steps[idx]))
    return J.evaluations, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--m", type=int, default=8, help="batch size (default 8)")
    ap.add_argument("--directions", type=int, default=2, help="directions per parameter (default 2)")
    ap.add_argument("--entries", type=int, default=0,
                    help="time only this many entries of the every-entry check and extrapolate (0: all)")
    args = ap.parse_args(argv)

    d, n, p, q, m = 784, 128, 64, 1, args.m
    P, X, Y = draw_problem(d, n, p, q, m, seed=0)
    N = sum(v.size for v in P.values())
    print(f"network d={d} n={n} p={p} q={q}, m={m}: {N} parameters")

    for method in ("central", "complex"):
        r = directional_check(P, X, Y, method=method, directions=args.directions)
        print(f"directional ({method}, {args.directions} directions x 6 parameters): "
              f"{r.evaluations} evaluations, {r.seconds:.4f} s, ok={r.ok}")

    if args.entries:
        evals, secs = _prefix_timing(P, X, Y, args.entries)
        print(f"every entry (central): timed {evals} evaluations in {secs:.2f} s; "
              f"extrapolated to {2 * N} evaluations: {secs / evals * 2 * N:.1f} s")
    else:
        r = check_gradients(P, X, Y, method="central")
        worst = max(c.rel_error for c in r.checks.values())
        print(f"every entry (central): {r.evaluations} evaluations, {r.seconds:.1f} s, ok={r.ok}, "
              f"worst relative error {worst:.1e}")

    try:
        from bug_catalog import CATALOG
    except ImportError:  # pragma: no cover - run from a checkout
        return 0
    for method in ("central", "complex"):
        missed, t0 = [], time.perf_counter()
        for name, (backward, _, _) in CATALOG.items():
            try:
                with np.errstate(all="ignore"):
                    ok = directional_check(P, X, Y, grads=backward, method=method, directions=args.directions).ok
            except (InputError, ValueError, KeyError):  # wrong shapes, missing keys, crashes
                ok = False
            if ok:
                missed.append(name)
        print(f"directional ({method}) at full size catches {len(CATALOG) - len(missed)}/{len(CATALOG)} catalog "
              f"bugs in {time.perf_counter() - t0:.2f} s; missed: {', '.join(missed) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
