"""Nothing the checker starts outlives it: process groups, parent-death signals, a watchdog.

Used by the backprop sandbox, the LaTeX build and the framework servers.  The
sandbox's child leads its own process group (so whatever the user's code
forks is in it); :func:`kill_group` ends the whole group.  :func:`die_with`
asks Linux to signal a process when its parent dies (``PR_SET_PDEATHSIG``,
checked against ``getppid`` afterwards, as prctl(2) advises), and
:func:`watch` forks a watchdog that kills the group when the checker dies
without closing the sandbox (SIGTERM, SIGKILL).  Elsewhere than Linux the
watchdog and the signal are skipped; end-of-file on the socket still ends the
child.
"""

from __future__ import annotations

import os
import signal
import sys
import warnings
from typing import Any

__all__ = ["PR_SET_PDEATHSIG", "ask_death_signal", "die_with", "end_watchdog", "kill_group", "prctl", "watch"]


def prctl() -> Any:
    """libc's ``prctl`` on Linux, else None; looked up in the parent, never first in a forked child."""
    global _PRCTL
    if _PRCTL is False:
        _PRCTL = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
            except Exception:  # noqa: BLE001 - no libc prctl: EOF on the socket still ends the child
                pass
    return _PRCTL


_PRCTL: Any = False  # not looked up yet


PR_SET_PDEATHSIG = 1


def ask_death_signal(sig: int) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent dies; False where
    that cannot be asked (not Linux, no libc ``prctl``, refused)."""
    call = prctl()
    return call is not None and call(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0


def die_with(parent: int, sig: int) -> bool:
    """Ask Linux to send ``sig`` to this process when ``parent`` dies; False if it already has.

    The parent may die before the request is made (then nothing would be
    sent), hence the check of ``getppid`` afterwards, as prctl(2) advises.
    """
    ask_death_signal(sig)
    return os.getppid() == parent


def kill_group(group: int) -> None:
    """SIGKILL process group ``group`` (the child's own; never ours)."""
    if group == os.getpgrp():
        return
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:  # ProcessLookupError: no process is left in it
        pass


def watch(group: int) -> int | None:
    """Fork a watchdog that kills process group ``group`` when this process dies (Linux only).

    It waits for the kernel's ``PR_SET_PDEATHSIG`` signal, so it holds no
    descriptor; it ignores the signals a terminal or ``kill -- -pgid`` sends
    to this process's group, since this process's death, which follows, is
    its cue.  :func:`end_watchdog` ends it.
    """
    if not sys.platform.startswith("linux") or not hasattr(signal, "pthread_sigmask"):
        return None
    parent = os.getpid()
    cue = {signal.SIGUSR1}
    quiet = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, cue | quiet)  # inherited blocked: no window
    try:
        with warnings.catch_warnings():  # JAX's at-fork warning: the watchdog runs none of its code
            warnings.simplefilter("ignore", RuntimeWarning)
            pid = os.fork()
    except OSError:
        return None
    finally:
        if os.getpid() == parent:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
    if pid == 0:  # pragma: no cover - the watchdog; coverage does not follow it
        try:
            open_fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
            os.closerange(0, max(open_fds) + 1)  # holds nothing open: not the socket, nor a pipe someone reads
            if die_with(parent, signal.SIGUSR1):
                signal.sigwait(cue)
            os.killpg(group, signal.SIGKILL)
        finally:
            os._exit(0)
    return pid


def end_watchdog(pid: int | None) -> None:
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:  # ChildProcessError: already reaped
        pass
