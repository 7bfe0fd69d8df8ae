"""Growth of the level-1 exact proof with size: k = 1..K (d = n = p = q = m = k).

Each size runs in a fresh interpreter (cold: the import of derive and sympy
is included), so one size's caches do not help the next.  Prints one line per
size: wall seconds, CPU seconds of the whole child process, the proof's own
seconds, and the verdict; and the 1-minute load average before each run,
because on a shared machine wall time depends on it.  Development figures,
not part of any checker output.

Usage: python benchmarks/proof_growth.py [K] [--shape d,n,p,q,m]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

CHILD = (
    "import sys, time\n"
    "import derive\n"
    "shape = tuple(int(s) for s in sys.argv[1].split(','))\n"
    "r = derive.prove_exact(shape)\n"
    "print(f'{r.seconds:.2f} {r.ok} {r.entries}')\n"
)


def run(shape: tuple[int, ...]) -> str:
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, ",".join(map(str, shape))],
                         capture_output=True, text=True, check=True).stdout.split()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    proof, ok, entries = out
    verdict = "proven" if ok == "True" else "FAILED"
    return (f"{str(shape):<18} entries {entries:>4}  wall {wall:6.2f} s  cpu {cpu:6.2f} s  "
            f"proof {float(proof):6.2f} s  {verdict}  (load {load:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("K", nargs="?", type=int, default=5)
    parser.add_argument("--shape", help="one shape d,n,p,q,m instead of the k table")
    args = parser.parse_args()
    shapes = ([tuple(int(s) for s in args.shape.split(","))] if args.shape
              else [(k,) * 5 for k in range(1, args.K + 1)])
    for shape in shapes:
        print(run(shape), flush=True)


if __name__ == "__main__":
    main()
