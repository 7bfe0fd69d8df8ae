"""The report pair on disk: shared digest, SIGKILL at any instant, SIGTERM
cleanup, stale temporary files swept, honest error messages.

The deterministic tests fork a child that writes a new pair over an old one
and SIGKILLs itself at the k-th file-system step of the write (every k,
including between and inside the renames); the parent then checks that the
directory holds the old pair, the new pair, or a pair :func:`read_pair`
refuses, and that the next run cleans up.  The slow tests kill a real run
(latexmk included) from outside at many instants.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from derive.report import build
from derive.report.build import ReportError, write_report
from derive.report.pair import (
    StaleReportError,
    describe_pair,
    pdf_digest,
    read_pair,
    stamp,
    sweep_stale,
    tex_digest,
)


def _fake_pdf(tex: str, stem: str, **kw) -> tuple[bytes, str]:
    """What pdfTeX writes, reduced to the part the reader looks at."""
    return b"%PDF-1.5\n<< /BackpropDeriveDigest (" + tex_digest(tex).encode() + b") >>\n%%EOF\n", ""


@pytest.fixture
def fake_latex(monkeypatch):
    monkeypatch.setattr(build, "build_pdf", _fake_pdf)


# ------------------------------------------------------------------ digest
def test_stamp_digest_roundtrip_and_tamper():
    s = stamp("\\documentclass{article}\nbody\n")
    d = tex_digest(s)
    assert len(d) == 64 and stamp(s) == s
    with pytest.raises(StaleReportError, match="does not match its own digest"):
        tex_digest(s.replace("body", "bodY"))
    with pytest.raises(StaleReportError, match="no digest line"):
        tex_digest("\\documentclass{article}\n")
    assert pdf_digest(b"<< /BackpropDeriveDigest (" + d.encode() + b") >>") == d
    assert pdf_digest(b"%PDF no digest") is None


def test_reader_accepts_a_pair_and_refuses_a_mix(tmp_path, fake_latex):
    write_report("\\documentclass{article}\nold\n", tmp_path, "r")
    old_pdf = (tmp_path / "r.pdf").read_bytes()
    write_report("\\documentclass{article}\nnew\n", tmp_path, "r")
    pair = read_pair(tmp_path, "r")
    assert pair.pdf is not None and "new" in pair.tex.read_text()
    (tmp_path / "r.pdf").write_bytes(old_pdf)  # what a kill between the renames leaves
    with pytest.raises(StaleReportError, match="was not built from"):
        read_pair(tmp_path, "r")
    assert "do not form a valid report" in describe_pair(tmp_path, "r")
    (tmp_path / "r.tex").unlink()
    with pytest.raises(StaleReportError, match="has no r.tex beside it"):
        read_pair(tmp_path, "r")


def test_no_pdf_run_removes_the_pdf_of_an_earlier_tex(tmp_path, fake_latex):
    write_report("\\documentclass{article}\nold\n", tmp_path, "r")
    written = write_report("\\documentclass{article}\nnew\n", tmp_path, "r", pdf=False)
    assert written.removed_pdf and not (tmp_path / "r.pdf").exists()
    assert read_pair(tmp_path, "r").pdf is None


def test_write_error_message_says_what_is_on_disk(tmp_path, monkeypatch, fake_latex):
    write_report("\\documentclass{article}\nold\n", tmp_path, "r")
    real = os.replace
    calls = []

    def second_fails(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(build.os, "replace", second_fails)
    with pytest.raises(ReportError, match=r"No space left.*do not form a valid report"):
        write_report("\\documentclass{article}\nnew\n", tmp_path, "r")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.pdf", "r.tex"]  # no staged file left


def test_build_failure_message_says_nothing_was_written(tmp_path, monkeypatch):
    (tmp_path / "keep").mkdir()

    def fail(tex, stem, **kw):
        raise build.LatexBuildError("LaTeX build of r.tex failed: Undefined control sequence.")

    monkeypatch.setattr(build, "build_pdf", fail)
    with pytest.raises(build.LatexBuildError, match=r"nothing was written: no r.tex or r.pdf in"):
        write_report("\\documentclass{article}\n", tmp_path / "keep", "r")


# --------------------------------------------------- SIGKILL at every step
_STEPS = ("replace", "unlink", "fsync", "chmod", "mkstemp", "fdopen")


def _kill_at(k: int, out: Path) -> None:
    """In a forked child: write the new pair, SIGKILL ourselves at step k."""
    count = [0]

    def counted(fn):
        def wrapper(*a, **kw):
            count[0] += 1
            if count[0] == k:
                os.kill(os.getpid(), signal.SIGKILL)
            result = fn(*a, **kw)
            count[0] += 1
            if count[0] == k:
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        return wrapper

    build.build_pdf = _fake_pdf
    for name in ("replace", "unlink", "fsync", "chmod", "fdopen"):
        setattr(build.os, name, counted(getattr(os, name)))
    build.tempfile.mkstemp = counted(tempfile.mkstemp)
    write_report("\\documentclass{article}\nnew pair\n", out, "r")
    os._exit(0)


def _run_killed(k: int, out: Path) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            _kill_at(k, out)
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    return status


def _state(out: Path, old: str, new: str) -> str:
    try:
        pair = read_pair(out, "r")
    except StaleReportError:
        return "refused"
    assert pair.pdf is not None
    return {old: "old", new: "new"}[pair.digest]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_sigkill_at_every_step_leaves_old_new_or_refused(tmp_path, fake_latex):
    out = tmp_path / "out"
    write_report("\\documentclass{article}\nold pair\n", out, "r")
    old = read_pair(out, "r").digest
    new = tex_digest(stamp("\\documentclass{article}\nnew pair\n"))
    seen = []
    k = 1
    while True:
        # restore the old pair before each trial
        write_report("\\documentclass{article}\nold pair\n", out, "r")
        status = _run_killed(k, out)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        state = _state(out, old, new)
        seen.append((k, killed, state))
        if not killed:
            assert state == "new"
            break
        # whatever the kill left, the next run cleans up and writes the new pair
        write_report("\\documentclass{article}\nnew pair\n", out, "r")
        assert _state(out, old, new) == "new"
        assert sorted(p.name for p in out.iterdir()) == ["r.pdf", "r.tex"], k
        k += 1
        assert k < 200
    states = [s for _, _, s in seen]
    assert len(seen) > 10
    assert states[0] == "old" and states[-1] == "new"
    assert "refused" in states  # the instant between the two renames was hit


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_stale_staged_files_of_a_dead_run_are_swept(tmp_path):
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os._exit(0)
    os.waitpid(pid, 0)
    stale = tmp_path / f".r.tex.bpd-{pid}-abc123.tmp"
    stale.write_text("partial")
    mine = tmp_path / f".r.tex.bpd-{os.getpid()}-abc123.tmp"
    mine.write_text("live")
    work = Path(tempfile.gettempdir()) / f"backprop-derive-tex-{pid}-xyz"
    work.mkdir()
    removed = sweep_stale(tmp_path)
    assert stale in removed and work in removed and not stale.exists() and not work.exists()
    assert mine.exists()  # a live run's file is never touched


# ------------------------------------------------ real runs, killed from outside
_CHILD = textwrap.dedent(
    """
    import sys
    from derive.report.build import write_report
    body = "\\\\documentclass{article}\\n\\\\begin{document}\\n" + sys.argv[2] + "\\n\\\\end{document}\\n"
    write_report(body, sys.argv[1], "r")
    print("done", flush=True)
    """
)


def _latex_children(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if f"backprop-derive-tex-{pid}-" in cwd:
            found.append(int(proc.name))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not build.latexmk_available() or not Path("/proc").is_dir(), reason="needs latexmk and /proc")
def test_real_run_killed_at_many_instants(tmp_path):
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-c", _CHILD, str(out), "old"], check=True, timeout=120)
    old = read_pair(out, "r").digest
    delays = [0.05 * i for i in range(1, 30, 2)]
    states = []
    for delay in delays:
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(out), "new"], stdout=subprocess.PIPE)
        time.sleep(delay)
        child.kill()
        child.wait(timeout=30)
        deadline = time.time() + 10
        while _latex_children(child.pid) and time.time() < deadline:
            time.sleep(0.1)
        assert _latex_children(child.pid) == [], "latexmk outlived its killed parent"
        try:
            digest = read_pair(out, "r").digest
            states.append("old" if digest == old else "new")
        except StaleReportError:
            states.append("refused")
        sweep_stale(out)
        assert not [p for p in out.iterdir() if p.name.startswith(".")]
        assert not list(Path(tempfile.gettempdir()).glob(f"backprop-derive-tex-{child.pid}-*"))
        if states[-1] != "old":
            subprocess.run([sys.executable, "-c", _CHILD, str(out), "old"], check=True, timeout=120)
    assert "old" in states


@pytest.mark.slow
@pytest.mark.skipif(not build.latexmk_available() or not Path("/proc").is_dir(), reason="needs latexmk and /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_and_sigint_stop_latexmk_and_clean_up(tmp_path, sig):
    out = tmp_path / "out"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(out), "new"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not _latex_children(child.pid) and time.time() < deadline and child.poll() is None:
        time.sleep(0.02)
    assert _latex_children(child.pid), "latexmk never started"
    child.send_signal(sig)
    child.wait(timeout=30)
    assert child.returncode != 0
    time.sleep(0.5)
    assert _latex_children(child.pid) == []
    assert not list(Path(tempfile.gettempdir()).glob(f"backprop-derive-tex-{child.pid}-*"))
    assert not out.exists() or list(out.iterdir()) == []
