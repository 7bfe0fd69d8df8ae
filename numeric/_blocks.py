"""Row-blocked, multi-threaded evaluation of elementwise chains.

The backward pass applies several elementwise operations to each (n, m)
matrix.  Done one whole-array pass at a time, each pass streams the matrix
through memory and runs on one core.  Here the rows are cut into blocks of
about :data:`BLOCK` elements (256 KiB of float64, which stays in cache
through a whole chain of operations), and the blocks are shared among the
threads: NumPy releases the GIL inside its loops, so the threads run in
parallel, as the BLAS threads do for the matrix products.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

__all__ = ["BLOCK", "threads", "row_blocks"]

BLOCK = 1 << 15
T = TypeVar("T")
_pool: ThreadPoolExecutor | None = None


def threads() -> int:
    """Worker threads: ``OMP_NUM_THREADS`` or ``OPENBLAS_NUM_THREADS`` when
    set (the BLAS thread count), else the number of cores."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return os.cpu_count() or 1


def _executor(n: int) -> ThreadPoolExecutor:
    global _pool
    if _pool is None or _pool._max_workers != n:  # noqa: SLF001 - resize on demand
        _pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="numeric-blocks")
    return _pool


def row_blocks(rows: int, cols: int, work: Callable[[slice], T]) -> list[T]:
    """Run ``work(rows_slice)`` over consecutive row blocks covering ``rows``.

    Blocks are given to the threads in contiguous runs; small problems run
    inline.  ``work`` must only touch its own rows.  Returns the results in
    row order.
    """
    step = max(1, BLOCK // max(cols, 1))
    slices = [slice(i, min(i + step, rows)) for i in range(0, rows, step)]
    n = min(threads(), len(slices))
    if n <= 1 or rows * cols < 4 * BLOCK:
        return [work(s) for s in slices]
    per = -(-len(slices) // n)
    runs = [slices[i:i + per] for i in range(0, len(slices), per)]
    out: list[T] = []
    for part in _executor(n).map(lambda run: [work(s) for s in run], runs):
        out.extend(part)
    return out
