"""Run the user's ``backward`` where it cannot take the checker down.

:class:`Sandbox` calls the function in a child process, one call at a time,
with a per-call limit (``call_limit`` seconds; distinct from the search
budget ``time_limit``, which only stops looking for more examples).  On Linux
the child is forked, so lambdas and closures work unchanged; given a
``module:attr`` target instead, the child imports the module itself, so an
exit or a crash at import time happens there too.  Elsewhere (no ``fork``)
the child is spawned and imports the target; a plain callable that cannot be
pickled then runs in-process, and the report says so.

Everything the user's code can do becomes a :class:`Call` with a kind:

* ``ok``: it returned; ``output`` is plain data (dicts, lists, float arrays,
  :class:`Opaque` for anything else), read in the child so that a returned
  object whose ``__getitem__`` raises is caught there;
* ``raised``: an exception, ``SystemExit`` (``sys.exit``) or
  ``KeyboardInterrupt`` from the user's code, with the user's frames;
* ``timeout``: no answer within ``call_limit``; the child is killed and the
  sandbox stops calling (``stopped``);
* ``died``: the child ended (``os._exit``, a crash in C code); the sandbox
  stops calling.

The child's standard output goes to standard error, so the user's prints
never mix with the report (``--json`` stays parseable).  A callable with a
``prepare_child()`` method (e.g. :mod:`derive.frameworks` adapters, which
start their own process there) has it called once in the child before the
first call, within the import allowance rather than the call limit.

Nothing the checker starts outlives it.  The child leads its own process
group, so whatever the user's code forks is in it, and :meth:`Sandbox.close`
(also after a time-out or the child's death) kills the whole group.  For an
end without ``close`` (SIGTERM, SIGKILL): the child holds no copy of the
checker's end of the socket, so it reads end-of-file; on Linux the kernel
kills it when the checker dies (``PR_SET_PDEATHSIG``), and a small watchdog
process, told the same way, kills the group.  As the child is not in the
terminal's process group, Ctrl-C reaches the checker only, which stops the
child as above (:mod:`derive.reaper`).  (``PR_SET_PDEATHSIG`` follows the thread that started the
child: open and use a sandbox in one thread, as :func:`check_backprop` does.)

Example:
    >>> import numpy as np
    >>> with Sandbox(lambda P, X, Y: {"dW1": X}, call_limit=10) as box:
    ...     call = box.call({}, np.ones((2, 2)), np.ones((1, 2)))
    >>> call.kind, call.output["dW1"].shape
    ('ok', (2, 2))
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from derive.backprop_check.target import (
    ImportFailed,
    describe_exception,
    load_target,
    signature_problem,
    user_frames,
)
from derive.reaper import die_with, end_watchdog, kill_group, prctl, watch
from numeric.errors import InputError

__all__ = ["Call", "Opaque", "Sandbox", "InProcess", "call_and_read"]

_IMPORT_ALLOWANCE = 60.0  # seconds for importing the user's module (torch alone can take several)


@dataclass(frozen=True)
class Opaque:
    """A returned value that is not a real numeric array (its type name)."""

    type_name: str


@dataclass
class Call:
    """One call of the user's function: what came back, or what went wrong."""

    kind: str  # "ok" | "raised" | "timeout" | "died" | "skipped"
    output: Any = None
    error: str = ""
    where: str = ""
    mutated: list[str] = field(default_factory=list)


def _leaf(value: Any) -> Any:
    try:
        with np.errstate(all="ignore"):
            arr = np.array(value, copy=True)
    except Exception as exc:  # noqa: BLE001 - ragged lists, tensors that need .detach(), junk
        if isinstance(value, (list, tuple)):
            return Opaque(type(value).__name__)
        where = user_frames(exc, limit=1)
        return Opaque(f"{type(value).__name__}; converting it to an array raised {describe_exception(exc)}"
                      + (f" at {where}" if where else ""))
    if arr.dtype.kind == "c":
        return Opaque(f"complex array ({arr.dtype}): a gradient must be real")
    if arr.dtype.kind not in "biuf":
        return Opaque(type(value).__name__ if arr.dtype.kind != "O" or arr.ndim == 0 else "object array")
    return arr


def _is_pair(x: Any) -> bool:
    return isinstance(x, (list, tuple)) and len(x) == 2 and not any(isinstance(v, (int, float)) for v in x)


def _plain(out: Any) -> Any:
    """The returned value as plain, picklable data (reading it may raise: the caller catches).

    A mapping's values are gradients (arrays); a list or tuple holds
    gradients, or ``(dW, db)`` pairs when every item is a pair (and there
    are not six of them, the flat form).
    """
    if isinstance(out, Mapping):
        return {str(k): _leaf(out[k]) for k in list(out.keys())}
    if isinstance(out, (list, tuple)):
        items = list(out)
        if items and len(items) != 6 and all(_is_pair(x) for x in items):
            return [[_leaf(a), _leaf(b)] for a, b in items]
        return [_leaf(x) for x in items]
    return _leaf(out)


def _arrays(obj: Any, prefix: str = "") -> dict[str, np.ndarray]:
    if isinstance(obj, np.ndarray):
        return {prefix: obj}
    if isinstance(obj, Mapping):
        return {k: v for key, val in obj.items() for k, v in _arrays(val, str(key)).items()}
    if isinstance(obj, (list, tuple)):
        out: dict[str, np.ndarray] = {}
        for i, val in enumerate(obj):
            out.update(_arrays(val, f"{prefix}[{i}]" if prefix else f"params[{i}]"))
        return out
    return {}


def call_and_read(fn: Callable[..., Any], params: Any, X: np.ndarray, Y: np.ndarray,
                  names: Mapping[str, str] | None = None) -> Call:
    """Call ``fn(params, X, Y)``, catching everything, and read the result as plain data.

    ``names`` maps the internal name of each input array (see :func:`_arrays`)
    to the name the report uses; inputs changed by the call are listed in
    ``Call.mutated``.
    """
    inputs = {**_arrays(params), "X": X, "Y": Y}
    before = {k: v.copy() for k, v in inputs.items()}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                out = fn(params, X, Y)
                plain = _plain(out)
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt too: the user's, reported
        return Call("raised", error=describe_exception(exc), where=user_frames(exc))
    mutated = [(names or {}).get(k, k) for k, v in inputs.items()
               if not (v.shape == before[k].shape and np.array_equal(v, before[k], equal_nan=True))]
    return Call("ok", output=plain, mutated=mutated)


class InProcess:
    """Calls the function in this process (for callers that want no child)."""

    stopped = False
    note = ""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.name = getattr(fn, "__qualname__", None) or type(fn).__name__

    def call(self, params: Any, X: np.ndarray, Y: np.ndarray, names: Mapping[str, str] | None = None) -> Call:
        return call_and_read(self.fn, params, X, Y, names)

    def close(self) -> None:
        pass

    def __enter__(self) -> "InProcess":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _child(conn: Any, fn: Callable[..., Any] | None, target: str | None,
           parent: int = 0, theirs: Any = None) -> None:
    """The child's loop: load the function, then answer calls until told to stop.

    ``theirs`` is the parent's end of the socket, inherited by ``fork``: closed
    first, so that the parent's death is end-of-file here.
    """
    if theirs is not None:
        theirs.close()
    try:
        os.setpgid(0, 0)  # a group of its own, for everything the user's code starts
    except OSError:
        pass
    if parent and not die_with(parent, signal.SIGKILL):
        os._exit(1)
    me = os.getpid()
    if hasattr(os, "register_at_fork"):  # what the user's code forks holds no copy: the child's death is EOF
        os.register_at_fork(after_in_child=conn.close)
    try:
        os.dup2(2, 1)  # the user's prints go to stderr, never into the report
        sys.stdout = sys.stderr
    except OSError:
        pass
    try:
        import numeric._blocks as blocks  # its thread pool's threads did not survive the fork
        blocks._pool = None
    except Exception:  # noqa: BLE001
        pass
    try:
        if fn is None:
            fn = load_target(target or "")
        problem = signature_problem(fn)
        prepare = getattr(fn, "prepare_child", None)
        if problem is None and callable(prepare):
            prepare()  # e.g. a framework adapter starting its own process: not timed by the call limit
        if os.getpid() != me:  # a copy the user's code forked, back here: it has no socket
            os._exit(0)
        conn.send(("ready", getattr(fn, "__qualname__", None) or type(fn).__name__, problem))
    except BaseException as exc:  # noqa: BLE001 - InputError, or anything the import did
        if os.getpid() != me:
            os._exit(1)
        status = "import failed" if isinstance(exc, ImportFailed) or not isinstance(exc, InputError) else "unusable"
        conn.send((status, str(exc) if isinstance(exc, InputError) else describe_exception(exc), None))
        return
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if msg[0] != "call":
            return
        result = call_and_read(fn, *msg[1])
        if os.getpid() != me:
            os._exit(0)
        try:
            conn.send(result)
        except Exception as exc:  # noqa: BLE001 - something in the output would not pickle
            conn.send(Call("raised", error=f"the returned value could not be read: {describe_exception(exc)}"))


class Sandbox:
    """The user's function in a child process (see the module docstring).

    Args:
        fn: a callable, or ``"module:attr"`` text that the child imports.
        call_limit: seconds each call may take.

    Raises:
        ImportFailed: the user's module raised, exited, hung or ended the process while it was imported
            (or its ``prepare_child`` did).
        InputError: no such module or function, or it cannot be called as ``(params, X, Y)``.
    """

    def __init__(self, fn: Callable[..., Any] | str, *, call_limit: float = 10.0) -> None:
        self.call_limit = float(call_limit)
        self.stopped = False
        self.note = ""
        self.stop_reason = ""
        self.threaded: list[str] = []
        target = fn if isinstance(fn, str) else None
        func = None if isinstance(fn, str) else fn
        ctx = multiprocessing.get_context(_start_method(func, self))
        self._conn, child_conn = ctx.Pipe()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        forked = ctx.get_start_method() == "fork"
        prctl()
        self._watchdog: int | None = None
        self._proc = ctx.Process(target=_child, daemon=True,
                                 args=(child_conn, func, target, os.getpid(), self._conn if forked else None))
        self._proc.start()
        child_conn.close()
        try:
            os.setpgid(self._proc.pid, self._proc.pid)  # the child does too: whichever runs first
        except OSError:
            pass  # it has already done so and exec'd (spawn), or died
        self._watchdog = watch(self._proc.pid)
        if not self._conn.poll(max(_IMPORT_ALLOWANCE, self.call_limit)):
            self.close()
            raise ImportFailed(f"importing {target or 'the function'} did not finish within "
                             f"{max(_IMPORT_ALLOWANCE, self.call_limit):g} s")
        try:
            status, name, problem = self._conn.recv()
        except (EOFError, OSError):
            self._proc.join(5)
            code = self._proc.exitcode
            self.close()
            raise ImportFailed(f"importing {target or 'the function'} ended the process ({_ended(code)})") from None
        if status == "import failed":
            self.close()
            raise ImportFailed(name)
        if status == "unusable":
            self.close()
            raise InputError(name)
        self.name = name
        if problem:
            self.close()
            raise InputError(problem)

    def call(self, params: Any, X: np.ndarray, Y: np.ndarray, names: Mapping[str, str] | None = None) -> Call:
        """One call; after a time-out or the child's death every call is ``skipped``."""
        if self.stopped:
            return Call("skipped", error=self.stop_reason)
        try:
            self._conn.send(("call", (params, X, Y, dict(names or {}))))
            ready = self._conn.poll(self.call_limit)
        except (OSError, EOFError):
            ready = True
        if not ready:
            threads = ""
            if self.threaded:
                threads = (f"; this process has {', '.join(self.threaded)} loaded, whose threads do not survive "
                           "the fork that made the child: check it from the command line (backprop-derive "
                           "check-backprop module:function), whose child starts clean")
            self._halt(f"did not return within {self.call_limit:g} s (the call limit, call_limit / "
                       f"--call-limit); the checker stopped calling it{threads}")
            return Call("timeout", error=self.stop_reason)
        try:
            return self._conn.recv()
        except (EOFError, OSError):
            self._proc.join(5)
            self._halt(f"ended the process ({_ended(self._proc.exitcode)}); the checker stopped calling it")
            return Call("died", error=self.stop_reason)

    def _halt(self, reason: str) -> None:
        self.stopped, self.stop_reason = True, reason
        self.close()

    def close(self) -> None:
        """Stop the child and everything the user's code started (idempotent)."""
        proc = getattr(self, "_proc", None)
        if proc is None:
            return
        try:
            if proc.is_alive():
                try:
                    self._conn.send(("stop",))
                except (OSError, EOFError, ValueError):
                    pass
                proc.join(0.5)
        finally:
            self._conn.close()
            self._proc = None
            kill_group(proc.pid)  # the user's processes, and the child if it is still running
            if proc.is_alive():
                proc.kill()  # not in its group (setpgid failed)
            proc.join(5)
            end_watchdog(self._watchdog)
            self._watchdog = None

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


_THREADED = ("jax", "torch", "tensorflow")  # libraries whose threads make a forked child deadlock-prone


def _picklable(func: Any) -> bool:
    try:
        pickle.dumps(func)
    except Exception:  # noqa: BLE001 - lambdas, closures, local functions
        return False
    return True


def _start_method(func: Callable[..., Any] | None, box: "Sandbox") -> str:
    """``fork`` (Linux): lambdas and closures work, and nothing of the caller's ``__main__``
    runs again.  Without fork, ``spawn`` for a target or a picklable function.

    In a process that has JAX/PyTorch/TensorFlow loaded, whose threads do not
    survive a fork, a call that deadlocks ends at the call limit, never as a
    hang, and the time-out message names the library.  (The CLI never loads the user's libraries in its
    own process, so its children are always forked clean.)
    """
    if "fork" not in multiprocessing.get_all_start_methods():  # pragma: no cover - Windows, macOS default
        if func is None or _picklable(func):
            return "spawn"
        raise _NoChild()
    box.threaded = [m for m in _THREADED if m in sys.modules]  # said only if a call times out
    return "fork"


class _NoChild(Exception):
    """The function cannot be sent to a spawned child (no fork, not picklable)."""


def _ended(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}: a crash in C code?"
    return f"exit status {code}: os._exit() or a crash?"


def open_caller(fn: Callable[..., Any] | str, *, isolate: bool = True,
                call_limit: float = 10.0) -> Sandbox | InProcess:
    """A :class:`Sandbox`, or :class:`InProcess` when ``isolate`` is False (or
    no child can run the function; its ``note`` then says so)."""
    if isinstance(fn, str):
        if isolate:
            return Sandbox(fn, call_limit=call_limit)
        fn = load_target(fn)
    if not isolate:
        return InProcess(fn)
    try:
        return Sandbox(fn, call_limit=call_limit)
    except _NoChild:  # pragma: no cover - platforms without fork
        caller = InProcess(fn)
        caller.note = ("backward ran in the checker's own process (no fork on this platform, and it cannot be "
                       "pickled): a hang or exit in it is not contained; pass a module:function target")
        return caller
