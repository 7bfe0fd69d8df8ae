"""derive.timeout: no interrupt escapes a ``time_limit`` block, whatever the limit.

A limit of a microsecond or less fired while the timer was being armed (before
the guarded block had started), left our SIGALRM handler installed and the
timer running: the caller's own code later got a stray ``_Expired`` and the
process died of "Alarm clock" (exit 142).  The scripts run in child processes
so that a stray alarm cannot reach this test process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[1])

_TINY_LIMITS = r"""
import signal, time
from derive.timeout import StepTimeout, time_limit

def busy():
    return sum(range(2000))

stopped = 0
for i in range(400):
    for limit in (1e-9, 1e-7, 1e-6, 3e-6, 1e-5, 3e-5, 1e-4):
        try:
            with time_limit("tiny", limit):
                busy()
        except StepTimeout:
            stopped += 1
        assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL, (i, limit)
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0), (i, limit)
time.sleep(0.2)  # a stray alarm would land here
assert stopped > 0
print("ok")
"""

_TINY_LIMITS_THREAD = r"""
import threading, time
from derive.timeout import StepTimeout, time_limit

result = {}

def work():
    stopped = 0
    for i in range(300):
        for limit in (1e-9, 1e-6, 1e-5, 1e-4):
            try:
                with time_limit("tiny", limit):
                    sum(range(2000))
            except StepTimeout:
                stopped += 1
    time.sleep(0.2)  # a stray interrupt would land here
    result["done"] = stopped

worker = threading.Thread(target=work)
worker.start()
worker.join(60)
assert "done" in result, result
print("ok")
"""

_LIBRARY = r"""
import time
import derive
for limit in (1e-9, 1e-6, 1e-5):
    try:
        derive.check_activation("tanh(x)", time_limit=limit, network=False, points=5)
    except derive.StepTimeout:
        pass
time.sleep(0.3)  # the caller's own sleep: no stray interrupt may land here
print("ok")
"""


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=_ROOT)
    return subprocess.run([sys.executable, *args] if args else [sys.executable, "-c", script],
                          check=False, capture_output=True, text=True, timeout=120, env=env, cwd="/")


@pytest.mark.skipif(not hasattr(__import__("signal"), "setitimer"), reason="needs SIGALRM timers")
def test_tiny_limits_on_the_main_thread_leave_no_alarm_behind():
    proc = _run(_TINY_LIMITS)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", (proc.returncode, proc.stderr[-2000:])


@pytest.mark.slow
def test_tiny_limits_off_the_main_thread_leave_no_interrupt_behind():
    proc = _run(_TINY_LIMITS_THREAD)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", (proc.returncode, proc.stderr[-2000:])


@pytest.mark.slow
def test_a_tiny_limit_in_the_library_does_not_reach_the_callers_code():
    proc = _run(_LIBRARY)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", (proc.returncode, proc.stderr[-2000:])


@pytest.mark.slow
@pytest.mark.parametrize("limit", ["1e-9", "1e-6"])
def test_a_tiny_time_limit_on_the_command_line_is_one_line_and_exit_2(limit):
    proc = _run("", "-m", "derive", "check-activation", "tanh(x)", "--time-limit", limit)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "did not finish within" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


_SPIN_IN_A_CONTEXT_MANAGER = r"""
import contextlib, threading, time
from derive.timeout import StepTimeout, time_limit

@contextlib.contextmanager
def spin():  # someone else's context manager, looping before its yield
    while True:
        pass
    yield

def run():
    start = time.monotonic()
    try:
        with time_limit("user step", 0.2):
            with spin():
                pass
    except StepTimeout:
        assert time.monotonic() - start < 5
        return "stopped"

assert run() == "stopped"
box = []
t = threading.Thread(target=lambda: box.append(run()))
t.start(); t.join(20)
assert box == ["stopped"], box
print("ok")
"""


def test_a_step_looping_inside_someone_elses_context_manager_is_stopped():
    """Only the time limit's own set-up and take-down hold an interrupt back: a step looping
    in another ``@contextmanager`` (its ``__enter__`` is contextlib's, as the limit's own is)
    was never stopped, on the main thread or off it."""
    proc = _run(_SPIN_IN_A_CONTEXT_MANAGER)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", (proc.returncode, proc.stderr[-2000:])
