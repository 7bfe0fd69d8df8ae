"""Hygiene: however the checker ends, nothing it started outlives it.

The user's code below writes the PIDs of the sandbox child and of a
grandchild it forks (which ignores SIGINT and SIGTERM and sleeps) to a file;
each test ends the checker one way and then waits a few seconds for all of
them to be gone.  A zombie counts as gone: it is dead, and in a container
whose PID 1 does not reap orphans it stays a zombie.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from derive.backprop_check.check import check_backprop

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process hygiene is Linux's (prctl)")

_ROOT = Path(__file__).resolve().parents[2]

_USER_CODE = '''
import os, signal, time
import numeric

def _note(pid):
    with open(os.environ["HYGIENE_PIDS"], "a") as f:
        f.write(f"{pid}\\n")

def _deaf():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

def _fork_a_sleeper():
    r, w = os.pipe()
    if os.fork() == 0:
        try:
            _deaf()
            _note(os.getpid())
            os.write(w, b"!")
            time.sleep(300)
        finally:
            os._exit(0)
    os.read(r, 1)  # its PID is noted
    os.close(r)
    os.close(w)

def forks_and_returns(P, X, Y):
    _fork_a_sleeper()
    return numeric.backward(P, X, Y)

def forks_and_hangs(P, X, Y):
    _deaf()
    _fork_a_sleeper()
    _note(os.getpid())
    time.sleep(10**6)

def forks_and_exits(P, X, Y):
    _fork_a_sleeper()
    os._exit(3)
'''


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _survivors(path: Path, within: float = 5.0) -> list[int]:
    deadline = time.monotonic() + within
    while True:
        left = [pid for pid in _pids(path) if _alive(pid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


@pytest.fixture
def user_code(tmp_path, monkeypatch):
    """The user's module (``hygiene_user``) and the file its processes write their PIDs to."""
    (tmp_path / "hygiene_user.py").write_text(_USER_CODE)
    pids = tmp_path / "pids"
    monkeypatch.setenv("HYGIENE_PIDS", str(pids))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield pids
    for pid in _pids(pids):  # a failing run's leftovers: ours, by PID
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


@pytest.mark.parametrize("target, call_limit, kind", [
    pytest.param("forks_and_returns", 10, None, marks=pytest.mark.slow),
    pytest.param("forks_and_hangs", 0.5, "timed out", marks=pytest.mark.slow),
    pytest.param("forks_and_exits", 10, "process ended", marks=pytest.mark.slow),
], ids=["normal end", "time-out", "the child dies"])
def test_what_the_users_code_forks_ends_with_the_sandbox(user_code, target, call_limit, kind):
    report = check_backprop(f"hygiene_user:{target}", max_examples=0, call_limit=call_limit)
    assert len(_pids(user_code)) >= 1
    assert _survivors(user_code) == []
    assert report.ok == (kind is None), str(report)
    if kind is not None:  # a forked copy holding the socket would make a death look like a time-out
        assert report.findings["backward"].kind == kind, str(report)


def _group_term(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)


def _ctrl_c(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends: to the foreground process group


@pytest.mark.slow
@pytest.mark.parametrize("end, returncode", [
    (lambda proc: proc.terminate(), -signal.SIGTERM),
    (_group_term, -signal.SIGTERM),
    (lambda proc: proc.kill(), -signal.SIGKILL),
    (_ctrl_c, 130),
], ids=["SIGTERM", "SIGTERM to its process group", "SIGKILL", "Ctrl-C"])
def test_nothing_outlives_the_checker_however_it_ends(user_code, end, returncode):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(_ROOT), str(user_code.parent)])}
    err_file = user_code.parent / "stderr"  # a file, not a pipe: a survivor holding it would hang the read
    with err_file.open("w") as err_out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "derive", "check-backprop", "hygiene_user:forks_and_hangs", "--call-limit", "60"],
            env=env, stdout=subprocess.DEVNULL, stderr=err_out, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(_pids(user_code)) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # the child is in the user's code, and so is the grandchild
        assert len(_pids(user_code)) == 2, f"the user's code did not start: {proc.poll()}"
        end(proc)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = err_file.read_text()
    assert proc.returncode == returncode, err
    if returncode == 130:
        assert "backprop-derive: interrupted" in err
    assert _survivors(user_code) == []
