"""Time limits for the steps of :func:`derive.activation_check.check.check_activation`.

Owns :class:`StepTimeout` (it names the step that ran out of time),
:func:`time_limit` (a ``SIGALRM`` timer on the main thread, a watchdog thread
elsewhere) and the step runner :class:`_Steps` that records how long each step
took.

An interrupt is raised only inside the guarded block: never while the limit
is being armed or disarmed (the time limit's own generators and contextlib's
``__enter__``/``__exit__``, see :func:`_arming`), so none can escape the block
and leave a timer running, however small the limit.
"""

from __future__ import annotations

import contextlib
import gc
import math
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any, Iterator

from numeric.errors import BackpropDeriveError

__all__ = ["StepTimeout", "time_limit"]


class StepTimeout(BackpropDeriveError, TimeoutError):
    """A step of the check did not finish within its time limit.

    Attributes:
        step: the step's name, e.g. ``"piecewise split"``.
        seconds: the limit that was exceeded.
    """

    def __init__(self, step: str, seconds: float) -> None:
        self.step, self.seconds = step, seconds
        super().__init__(f"step '{step}' did not finish within {seconds:g} s "
                         "(the expression is too complex; simplify it or raise time_limit)")


class _Expired(BaseException):
    """Raised inside a timed block (a BaseException, so ``except Exception`` in
    sympy cannot swallow it); turned into :class:`StepTimeout` at the block's edge."""


_REFIRE = 0.05  # seconds between repeated interrupts, in case one was swallowed
_DEFER = 0.001  # watchdog: seconds to wait when the interrupt would land in a gc callback or a finaliser


def _unsafe(frame: FrameType | None) -> FrameType | None:
    """The gc callback or ``__del__`` finaliser that ``frame`` runs in (the outermost), or None.

    An exception raised there is not the guarded step's: Python prints it as
    "Exception ignored in ..." and the callback (hypothesis has one) is left
    half done.  The interrupt waits until such code has returned.
    """
    codes = set()
    for cb in gc.callbacks:
        fn = getattr(cb, "__func__", cb)
        code = getattr(fn, "__code__", None)
        if code is not None:
            codes.add(code)
    found = None
    depth = 0
    while frame is not None and depth < 200:
        if frame.f_code in codes or frame.f_code.co_name == "__del__":
            found = frame
        frame = frame.f_back
        depth += 1
    return found


def _entry_base(frame: FrameType | None) -> list[FrameType]:
    """The frames below a ``time_limit`` being entered from ``frame`` (its own
    generators and ``contextlib``'s ``__enter__`` are skipped): the code that the
    block returns to."""
    while frame is not None and _machinery(frame):
        frame = frame.f_back
    base = []
    while frame is not None and len(base) < 400:
        base.append(frame)
        frame = frame.f_back
    return base


def _arming(frame: FrameType | None, base: list[FrameType]) -> bool:
    """Whether ``frame`` is setting up or taking down a time limit: the time
    limit's own generators or a ``contextlib`` ``__enter__``/``__exit__``
    between ``frame`` and the code the block returns to (``base``).

    An interrupt raised there would escape the block before its cleanup is
    armed (or after it ran), leaving the timer running: it waits instead.
    """
    below = {id(f) for f in base}
    depth = 0
    while frame is not None and depth < 200:
        if _machinery(frame):
            return True
        if id(frame) in below:
            return False
        frame = frame.f_back
        depth += 1
    return False


def _after_return(frame: FrameType, base: list[FrameType]) -> bool:
    """Interrupt at the first profile event outside gc callbacks, finalisers and the
    limit's own set-up and take-down (``base``: see :func:`_arming`) once ``frame``
    has returned (a profile hook on this thread, removed when it fires).

    Returns False, installing nothing, when a profiler is already active (its hook
    cannot be chained from Python); the caller then retries on a timer.
    """
    if sys.getprofile() is not None:
        return False
    left = []

    def profile(f: FrameType, event: str, arg: Any) -> None:
        if f is frame and event == "return":
            left.append(True)
        elif left and _unsafe(f) is None and not _arming(f, base):
            sys.setprofile(None)
            raise _Expired

    profile.deferral = True  # type: ignore[attr-defined]
    sys.setprofile(profile)
    return True


@contextlib.contextmanager
def _quiet_unraisable() -> Iterator[None]:
    """While a timed block runs, an interrupt that still lands where Python can only
    print it (a weakref callback, say) is dropped silently; the repeated interrupt
    then stops the block itself."""
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, _Expired):
            return
        previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        if sys.unraisablehook is hook:
            sys.unraisablehook = previous


def _alarm_usable() -> bool:
    return (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGALRM) is not None)


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Main thread: a SIGALRM timer (an outer timer is honoured and re-armed).

    The handler is installed and the timer armed inside the ``try`` whose
    ``finally`` disarms them, and the handler never raises while the limit is
    being set up or taken down (:func:`_arming`), so no alarm outlives the
    block however small the limit.
    """
    start = time.monotonic()
    old_delay, old_interval = signal.getitimer(signal.ITIMER_REAL)
    outer_deadline = start + old_delay if old_delay else math.inf
    previous = signal.getsignal(signal.SIGALRM)
    base = _entry_base(sys._getframe())
    done = False

    def handler(signum: int, frame: Any) -> None:
        if done:  # a signal already on its way as the block ended
            return
        if time.monotonic() >= outer_deadline and callable(previous):
            previous(signum, frame)  # an outer alarm (e.g. pytest-timeout) was due first
        if _arming(frame, base):  # not while the limit is set up or taken down
            signal.setitimer(signal.ITIMER_REAL, _DEFER)
            return
        unsafe = _unsafe(frame)
        if unsafe is not None:  # not inside a gc callback: right after it returns
            signal.setitimer(signal.ITIMER_REAL, _REFIRE if _after_return(unsafe, base) else _DEFER)
            return
        signal.setitimer(signal.ITIMER_REAL, _REFIRE)  # again, should this one be swallowed
        raise _Expired

    try:
        signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, min(seconds, old_delay) if old_delay else seconds)
        yield
    finally:
        done = True  # first: from here on the handler does nothing
        if getattr(sys.getprofile(), "deferral", False):
            sys.setprofile(None)  # a deferral hook left behind is dropped
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)  # runs a pending handler first (a no-op now)
        if old_delay:
            left = outer_deadline - time.monotonic()
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3), old_interval)


@contextlib.contextmanager
def _watchdog(seconds: float) -> Iterator[None]:
    """Any thread (CPython): a timer thread injects :class:`_Expired` into this
    thread with ``PyThreadState_SetAsyncExc``, again every 50 ms until the block ends.

    The timer starts inside the ``try`` that stops it, and it waits while this
    thread sets up or takes down the limit (:func:`_arming`).  The check and the
    injection are not one atomic step, so a thread could in principle step into
    the cleanup between them; the cleanup retries if the interrupt lands there.
    """
    import ctypes

    tid = ctypes.c_ulong(threading.get_ident())
    inject = ctypes.pythonapi.PyThreadState_SetAsyncExc
    lock = threading.Lock()
    state = {"done": False, "fired": False}
    base = _entry_base(sys._getframe())

    def fire() -> None:
        with lock:
            if state["done"]:
                return
            frame = sys._current_frames().get(tid.value)
            if _arming(frame, base) or _unsafe(frame) is not None:
                # not while the limit is set up or taken down, nor in a gc callback: a little later
                again = threading.Timer(_DEFER, fire)
                again.daemon = True
                again.start()
                return
            state["fired"] = True
            inject(tid, ctypes.py_object(_Expired))
            again = threading.Timer(_REFIRE, fire)
            again.daemon = True
            again.start()

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    try:
        timer.start()
        yield
    finally:
        while True:  # an interrupt landing here must not leave the watchdog running
            try:
                with lock:
                    state["done"] = True
                    timer.cancel()
                    if state["fired"]:
                        inject(tid, None)  # drop an interrupt that has not been delivered yet
                break
            except _Expired:
                continue


@contextlib.contextmanager
def time_limit(step: str, seconds: float | None) -> Iterator[None]:
    """Raise :class:`StepTimeout` naming ``step`` if the block runs longer than ``seconds``.

    On the main thread (POSIX) a ``SIGALRM`` timer interrupts the block; an
    outer ``SIGALRM`` timer is honoured and re-armed afterwards.  On other
    threads a watchdog thread injects the interrupt asynchronously (CPython's
    ``PyThreadState_SetAsyncExc``).  Either way the interrupt arrives between
    bytecodes: sympy (pure Python) stops promptly, one long C call (a huge
    integer power, say) cannot be cut short.  The interrupt never lands in a
    gc callback or a ``__del__`` finaliser (it waits until they return), so
    it stops only the step it guards; it is repeated every 50 ms until the
    block ends, in case some code swallowed it.  ``None`` or ``0`` means no
    limit.

    This is a safety net: the checks bound their work by fixed budgets, so
    a limit that fires says so loudly (:class:`StepTimeout`) and never
    changes what a successful check prints.

    Example:
        >>> with time_limit("nothing", 1.0):
        ...     pass
    """
    if not seconds:
        yield
        return
    ctx = _alarm(seconds) if _alarm_usable() else _watchdog(seconds)
    try:
        with _quiet_unraisable(), ctx:
            yield
    except _Expired:
        raise StepTimeout(step, seconds) from None


_OWN = frozenset({
    _alarm.__wrapped__.__code__, _watchdog.__wrapped__.__code__,  # type: ignore[attr-defined]
    time_limit.__wrapped__.__code__, _quiet_unraisable.__wrapped__.__code__,  # type: ignore[attr-defined]
})
_CONTEXTLIB = frozenset({
    contextlib._GeneratorContextManager.__enter__.__code__,
    contextlib._GeneratorContextManager.__exit__.__code__,
})


def _machinery(frame: FrameType) -> bool:
    """Whether ``frame`` sets up or takes down a time limit (an interrupt waits while it
    runs): one of the limit's own generators, or contextlib's ``__enter__``/``__exit__``
    driving one of them.  Someone else's ``@contextmanager`` is not machinery: a step
    that loops in one must still be stopped."""
    code = frame.f_code
    if code in _OWN:
        return True
    if code in _CONTEXTLIB:
        gen = getattr(frame.f_locals.get("self"), "gen", None)
        return getattr(gen, "gi_code", None) in _OWN
    return False


class _Steps:
    """Runs named steps under the time limit and records how long each took."""

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str, limited: bool = True) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            if limited:
                with time_limit(name, self.limit):
                    yield
            else:
                yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0
