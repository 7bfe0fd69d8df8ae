"""Row-blocked, multi-threaded evaluation of elementwise chains.

The backward pass applies several elementwise operations to each (n, m)
matrix.  Done one whole-array pass at a time, each pass streams the matrix
through memory and runs on one core.  Here the rows are cut into blocks of
about :data:`BLOCK` elements (256 KiB of float64, which stays in cache
through a whole chain of operations), and for large matrices (from
:data:`THREADED` elements) the blocks are shared among the threads: NumPy
releases the GIL inside its loops, so the threads can run in parallel, as
the BLAS threads do for the matrix products.  Each block's arithmetic is the
same whatever the thread count, so the results are too.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

import numpy as np

__all__ = ["BLOCK", "THREADED", "threads", "row_blocks", "scratch"]

BLOCK = 1 << 15
THREADED = 1 << 20
"""Elements from which a matrix's blocks are shared among threads (8 MiB of
float64).  Below it the work runs on the calling thread: on the project's
2-core machine, with OpenBLAS's threads still spinning after a matrix
product, a second thread made the passes slower at m = 1024 (Z1 of 131,072
elements: 0.80 ms instead of 0.68) and did not change them at m = 8192
(see benchmarks/RESULTS.md)."""
T = TypeVar("T")
_pool: ThreadPoolExecutor | None = None
_local = threading.local()


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

    Blocks are given to the threads in contiguous runs, the calling thread
    taking the first run itself; matrices under :data:`THREADED` elements run
    inline.  ``work`` must only touch its own rows.  Returns the results in
    row order, whatever the number of threads.
    """
    step = max(1, BLOCK // max(cols, 1))
    slices = [slice(i, min(i + step, rows)) for i in range(0, rows, step)]
    n = min(threads(), len(slices))
    if n <= 1 or rows * cols < THREADED:
        return [work(s) for s in slices]
    per = -(-len(slices) // n)
    runs = [slices[i:i + per] for i in range(0, len(slices), per)]
    pending = [_executor(n - 1).submit(lambda run=run: [work(s) for s in run]) for run in runs[1:]]
    out: list[T] = [work(s) for s in runs[0]]
    for part in pending:
        out.extend(part.result())
    return out


def scratch(key: Any, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A per-thread work array, reused by the next call with the same key,
    shape and dtype.

    Large temporaries (the activations and their derivatives, which a
    backward pass needs but never returns) come from here: a fresh 8 MB
    array costs page faults on every call, about as much as the elementwise
    work itself.  The content is undefined; never return a scratch array.
    """
    cache = getattr(_local, "arrays", None)
    if cache is None:
        cache = _local.arrays = {}
    full = (key, tuple(shape), np.dtype(dtype).str)
    arr = cache.get(full)
    if arr is None:
        if len(cache) > 32:
            cache.clear()
        arr = cache[full] = np.empty(shape, dtype)
    return arr
