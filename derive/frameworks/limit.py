"""A per-call time limit for the user's framework code: a hang becomes a finding, not a hung checker.

:class:`Limited` wraps a :class:`~derive.frameworks.compare.Runner`.  Each of
its calls (forward, backward, second derivative, structural probes) runs in
a fresh daemon thread (in a copy of the caller's context, so NumPy's
``errstate`` and other context-local settings hold there too) that the
checker waits on for ``call_limit`` seconds.
If the call has not returned by then, the checker raises :class:`CallTimeout`
(caught by :func:`~derive.frameworks.compare.run_checks`, which reports a
``call`` finding naming the call and stops calling the function) and asks
the stuck thread to stop by raising an exception in it (again and again for
a few seconds, as the first may land where it is ignored).

Why a thread and not a child process: check_backprop's child is forked, and
a process that has run torch or JAX cannot safely fork (their thread pools
do not follow, see :mod:`derive.frameworks.network`); a spawned child would
need the user's function by reference (no lambdas, no classes made in a
test) and would import the framework again for every check.  A thread shares
everything with the caller at no cost.  Its limit: a thread cannot be
killed.  A Python-level hang (``while True``, also inside a Function's
``backward`` or while JAX traces) is stopped by the exception; a hang inside
C code (a blocking system call) is not, and that thread keeps running in the
background until the process ends.  Either way the checker returns.

Why not ``signal.alarm``: it works only in the main thread and fires inside
whatever code runs at that moment; here the time limit never touches the
checker's own code.

Output never depends on load except through the limit itself: a call that
finishes within ``call_limit`` gives the same result however long it took,
and the finding states the limit, not a measured time.
"""

from __future__ import annotations

import contextvars
import ctypes
import threading
from typing import Any, Callable

__all__ = ["CallTimeout", "Limited", "DEFAULT_CALL_LIMIT"]

# Seconds one call may take: a call covers the whole input grid of a dtype and, in JAX,
# its compilation, which takes seconds on a loaded machine.
DEFAULT_CALL_LIMIT = 60.0
_REAP_TRIES, _REAP_PAUSE = 100, 0.05
_NAMES = {"forward": "forward", "backward": "backward", "second": "the second derivative",
          "structure": "the broadcasting/in-place probes"}


class CallTimeout(BaseException):
    """A call of the user's function did not return in time (a BaseException: user ``except Exception`` cannot hide it).

    Attributes:
        what: the call, as the finding names it (``"forward"``, ``"backward"``, ...).
        limit: the limit in seconds.
    """

    def __init__(self, what: str, limit: float) -> None:
        super().__init__(f"{what} did not return within {limit:g} s")
        self.what, self.limit = what, limit


class _Stop(BaseException):
    """Raised inside a thread that overran its limit, to end it."""


def _interrupt(thread: threading.Thread) -> None:
    """Raise :class:`_Stop` in ``thread`` at its next Python instruction (best effort)."""
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(_Stop))


def _reap(thread: threading.Thread, lock: threading.Lock, box: dict[str, Any]) -> None:
    """Raise :class:`_Stop` in the overrunning thread, again and again for a few seconds.

    Again, because the exception may land where it is ignored (a garbage
    collector callback) or be caught by a bare ``except:`` in the user's loop.
    Only while the call runs: after it, the thread's id may belong to another.
    """
    for _ in range(_REAP_TRIES):
        with lock:
            if "done" in box or not thread.is_alive():
                return
            _interrupt(thread)
        thread.join(_REAP_PAUSE)


class Limited:
    """``runner`` with every call limited to ``call_limit`` seconds (see the module docstring).

    Example:
        >>> import numpy as np
        >>> class Slow:
        ...     framework = "test"
        ...     def forward(self, xs):
        ...         while True:
        ...             pass
        >>> try:
        ...     Limited(Slow(), call_limit=0.2).forward(np.zeros(2))
        ... except CallTimeout as exc:
        ...     print(exc)
        forward did not return within 0.2 s
    """

    def __init__(self, runner: Any, *, call_limit: float) -> None:
        self.runner = runner
        self.framework = runner.framework
        self.call_limit = float(call_limit)

    def _limited(self, name: str, method: Callable[..., Any], *args: Any) -> Any:
        box: dict[str, Any] = {}
        lock = threading.Lock()

        def work() -> None:
            try:
                try:
                    box["value"] = method(*args)
                except BaseException as exc:  # noqa: BLE001 - handed to the checker's thread as it was
                    box["error"] = exc
                with lock:
                    box["done"] = True
            except _Stop:
                pass

        # the caller's context (NumPy's errstate, context-local settings) goes with the call
        thread = threading.Thread(target=contextvars.copy_context().run, args=(work,),
                                  name=f"derive-frameworks-{name}", daemon=True)
        thread.start()
        thread.join(self.call_limit)
        with lock:
            late = "done" not in box
        if late:
            threading.Thread(target=_reap, args=(thread, lock, box), name="derive-frameworks-reaper",
                             daemon=True).start()
            raise CallTimeout(_NAMES.get(name, name), self.call_limit)
        if "error" in box:
            raise box["error"]
        return box["value"]

    def forward(self, *args: Any) -> Any:
        return self._limited("forward", self.runner.forward, *args)

    def backward(self, *args: Any) -> Any:
        return self._limited("backward", self.runner.backward, *args)

    def second(self, *args: Any) -> Any:
        return self._limited("second", self.runner.second, *args)

    def structure(self, *args: Any) -> Any:
        return self._limited("structure", self.runner.structure, *args)
