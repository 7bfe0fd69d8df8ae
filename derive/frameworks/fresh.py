"""Run a picklable callable in a fresh Python interpreter, one call at a time.

Why: :func:`derive.check_backprop` runs the user's ``backward`` in a child
made with ``fork`` (see :mod:`derive.backprop_check.sandbox`).  A process
that has already run JAX has XLA's thread pools; ``fork`` copies none of those
threads, so the first JAX computation in the child waits forever for them
(JAX's own warning: "os.fork() is incompatible with multithreaded code, and
JAX is multithreaded").  A fresh interpreter (``subprocess``: fork + exec,
which is safe in a threaded process) imports JAX anew and has working pools.

:class:`FreshProcess` starts ``python -c "...fresh.serve()"`` with a socket,
sends it the parent's ``sys.path`` and the pickled callable (the process
answers once it has unpickled it: :meth:`FreshProcess.wait_loaded`), then
forwards each call and returns its result, or raises
:class:`FreshProcessError` with the callee's exception text.  The callable is pickled by reference: it must
be importable (a module-level function or class instance), not a lambda or
closure.  The server ends when its parent ends (``PR_SET_PDEATHSIG`` on
Linux, and a watch on the parent's pid elsewhere), so a time-out that kills
the sandbox child also ends the computation it was waiting for; nothing is
left running.  The server's standard output goes to standard error, so the
user's prints never mix with a report.
"""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from numeric.errors import InputError

__all__ = ["FreshProcess", "FreshProcessError", "serve"]

_SERVE = "from derive.frameworks.fresh import serve; serve()"
_ROOT = str(Path(__file__).resolve().parents[2])  # the folder that holds the derive package


class FreshProcessError(RuntimeError):
    """The callable raised in the fresh process (the message is its ``Type: text``), or the process ended."""


class UnpicklableError(FreshProcessError, InputError):
    """The callable cannot be sent to a fresh process (a lambda, a closure, or defined in ``__main__``):
    unusable input, whose message names the fix."""


class FreshProcess:
    """A fresh interpreter that calls ``fn`` (see the module docstring).

    Args:
        fn: a picklable callable.

    Raises:
        FreshProcessError: ``fn`` cannot be pickled, or the process could not start.

    Example:
        >>> import math
        >>> with FreshProcess(math.hypot) as proc:
        ...     proc.call(3.0, 4.0)
        5.0
    """

    def __init__(self, fn: Any) -> None:
        try:
            payload = pickle.dumps(fn)
        except Exception as exc:  # noqa: BLE001 - PicklingError, AttributeError, TypeError...
            raise UnpicklableError(
                f"{getattr(fn, '__qualname__', type(fn).__name__)} cannot be sent to a fresh process "
                f"({type(exc).__name__}: it cannot be pickled); define it at module level in an "
                "importable module (not a lambda, a closure or in __main__)") from None
        mine, theirs = socket.socketpair()
        # this package must import there before sys.path arrives, even when it is not installed
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_ROOT, env.get("PYTHONPATH", "")]))
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _SERVE, str(theirs.fileno()), str(os.getpid())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=2, close_fds=True, env=env)
        except OSError as exc:
            mine.close()
            raise FreshProcessError(f"could not start a fresh Python process: {exc}") from None
        finally:
            theirs.close()
        self._conn = Connection(mine.detach())
        self._conn.send((list(sys.path), payload))
        self._loaded = False
        self._failure = ""

    def _recv(self) -> tuple[str, Any]:
        assert self._proc is not None
        try:
            return self._conn.recv()
        except (EOFError, OSError):
            code = self._proc.wait()
            self.close()
            raise FreshProcessError(f"the fresh process ended (exit status {code})") from None

    def wait_loaded(self) -> None:
        """Wait until the process has imported and unpickled ``fn`` (raise if that failed)."""
        if self._failure:
            raise FreshProcessError(self._failure)
        if self._proc is None:
            raise FreshProcessError("the fresh process was closed")
        if not self._loaded:
            status, failure = self._recv()
            self._loaded = True
            if status == "raised":
                self._failure = failure
                self.close()
                raise FreshProcessError(failure)

    def call(self, *args: Any) -> Any:
        """``fn(*args)`` in the fresh process."""
        self.wait_loaded()
        try:
            self._conn.send(args)
        except OSError:
            pass  # the process ended: _recv says how
        status, value = self._recv()
        if status == "raised":
            raise FreshProcessError(value)
        return value

    def close(self) -> None:
        """End the process (idempotent)."""
        proc, self._proc = getattr(self, "_proc", None), None
        if proc is None:
            return
        self._conn.close()  # the server sees end-of-file and exits
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> "FreshProcess":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def _end_with_parent(parent: int) -> None:
    """Die with the parent: the kernel's parent-death signal on Linux, else a watch thread."""
    import signal

    from derive.reaper import ask_death_signal

    if ask_death_signal(signal.SIGKILL):
        if os.getppid() != parent:  # the parent died before the call above
            os._exit(1)
        return

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _describe(exc: BaseException) -> str:
    try:
        text = " ".join(str(exc).split())
    except Exception:  # noqa: BLE001 - an exception whose __str__ raises
        text = "<unprintable message>"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def serve() -> None:
    """The fresh process's loop (run by :class:`FreshProcess`; not for direct use)."""
    fd, parent = int(sys.argv[1]), int(sys.argv[2])
    _end_with_parent(parent)
    sys.stdout = sys.stderr
    conn = Connection(fd)
    try:
        path, payload = conn.recv()
        sys.path[:] = path
        fn = pickle.loads(payload)
        conn.send(("ok", None))
    except BaseException as exc:  # noqa: BLE001 - the import of the user's module may do anything
        conn.send(("raised", f"loading the function in the fresh process failed: {_describe(exc)}"))
        return
    while True:
        try:
            args = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            reply: tuple[str, Any] = ("ok", fn(*args))
        except BaseException as exc:  # noqa: BLE001 - SystemExit too: the user's, reported
            reply = ("raised", _describe(exc))
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - a result that does not pickle
            conn.send(("raised", f"the result could not be sent back: {_describe(exc)}"))
