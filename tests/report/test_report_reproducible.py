"""The default report is byte-identical whatever the load and the thread count.

Each build runs in a fresh interpreter (so BLAS reads its thread settings
at start-up): once while the machine is busy with CPU-bound work, once with
one thread (``OPENBLAS_NUM_THREADS=1``, ``OMP_NUM_THREADS=1``).  Both must equal the committed
``reports/network-swish-leaky_relu.tex``.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "reports" / "network-swish-leaky_relu.tex"

_RENDER = (
    "import sys\n"
    "from derive.report.latex import render_network\n"
    "from derive.report.network import collect_network\n"
    "from derive.report.pair import stamp\n"
    "sys.stdout.write(stamp(render_network(collect_network())))\n"
)


def _burn(stop) -> None:  # pragma: no cover - runs in a child process
    x = 0
    while not stop.is_set():
        x = (x * 1103515245 + 12345) % 2**31


def _render(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", _RENDER], env=env, capture_output=True, text=True, timeout=900,
                          cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
def test_report_is_byte_identical_under_load_and_with_one_thread():
    committed = COMMITTED.read_text(encoding="utf-8")
    one = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    stop = multiprocessing.Event()
    burners = [multiprocessing.Process(target=_burn, args=(stop,), daemon=True) for _ in range(2)]
    for b in burners:
        b.start()
    try:
        loaded = _render(dict(os.environ))
    finally:
        stop.set()
        for b in burners:
            b.join(timeout=10)
    assert loaded == committed, "under CPU load: differs from the committed report"
    single = _render(one)
    assert single == committed, "with one BLAS/OpenMP thread: differs from the committed report"
