"""Writing reports: the PDF build with latexmk and the pair's rename sequence.

The .tex is rendered and stamped with its digest (:mod:`derive.report.pair`);
the PDF is built from it in a fresh work folder (``latexmk -pdf
-interaction=nonstopmode -halt-on-error -no-shell-escape``, an argument list
with a timeout, no shell, its own process group, killed with its owner),
then settled: latexmk decides whether to rerun pdfLaTeX from file times and
sizes (1 s granularity), so under load it can stop one pass early, with a
stale contents table.  :func:`build_pdf` therefore runs pdfLaTeX again until
a pass reads exactly the auxiliary files it writes and its log asks for no
rerun (:func:`rerun_request`), at most :data:`SETTLE_PASSES` times, and
refuses a build that does not settle: the PDF is the fixed point, the same
on every run.  Only then are the files staged beside their targets (written
and fsynced) and renamed into place, the PDF first: a run killed at any
instant leaves the earlier pair, the new pair, or a pair whose digests
differ, which :func:`derive.report.pair.read_pair` refuses.  SIGINT and SIGTERM stop
latexmk and remove the work folder and the staged files; the next run sweeps
what a SIGKILL left behind.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from derive.reaper import ask_death_signal, prctl
from derive.report.pair import StaleReportError, describe_pair, pdf_digest, stamp, staged_name, sweep_stale, tex_digest, work_prefix
from numeric.errors import BackpropDeriveError, InputError

__all__ = [
    "ReportError",
    "LatexBuildError",
    "atomic_write",
    "build_pdf",
    "latexmk_available",
    "log_problems",
    "write_report",
    "Written",
    "SOURCE_DATE_EPOCH",
    "StaleReportError",
    "Interrupted",
    "LATEXMK_TIMEOUT",
    "SETTLE_PASSES",
    "OutputPathError",
    "check_output",
    "rerun_request",
]

SOURCE_DATE_EPOCH = "0"
LATEXMK_TIMEOUT = 180.0
SETTLE_PASSES = 4  # pdfLaTeX passes after latexmk, the first of which confirms a settled build


class ReportError(BackpropDeriveError):
    """A report could not be written or built."""


class LatexBuildError(ReportError):
    """LaTeX failed; the message names the log line."""


class OutputPathError(ReportError, InputError):
    """The output path cannot hold the report (a file where a folder must be,
    a folder where a file must be, no permission): unusable input, exit 2."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM (or SIGINT) arrived while a report was being built or written."""


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` via a staged file in the same directory and a rename.

    Raises:
        ReportError: the directory cannot be created or written (``path`` is
            then unchanged and no staged file is left).
    """
    path = Path(path)
    tmp = _stage(path, data)
    try:
        os.replace(tmp, path)
    except OSError as exc:
        _unlink(tmp)
        raise _write_error(f"cannot write {path}", exc) from exc
    except BaseException:
        _unlink(tmp)
        raise


# errors that say the path itself is unusable (input, exit 2), not that the disk failed
_PATH_ERRNOS = frozenset({errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ENOENT, errno.EACCES, errno.EPERM,
                          errno.EROFS, errno.ENAMETOOLONG, errno.ELOOP})


def _write_error(what: str, exc: OSError, *, then: str = "") -> ReportError:
    """``what: reason[; then]`` as an :class:`OutputPathError` when the path is
    at fault, else a :class:`ReportError` (a full disk, an I/O error)."""
    kind = OutputPathError if exc.errno in _PATH_ERRNOS else ReportError
    return kind(f"{what}: {exc.strerror or exc}" + (f"; {then}" if then else ""))


def check_output(out_dir: Path, stem: str) -> None:
    """Refuse, before any work, an output folder that cannot hold ``stem.tex``
    and ``stem.pdf``: a file where the folder must be (or one of its parents),
    a folder where the .tex or the .pdf must be, a folder we may not write.

    Raises:
        OutputPathError: one line naming the path and what is wrong with it.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() or out_dir.is_symlink():
        if not out_dir.is_dir():
            raise OutputPathError(f"{out_dir} is not a folder: the report cannot be written in it")
        for name in (f"{stem}.tex", f"{stem}.pdf"):
            target = out_dir / name
            if target.is_dir():
                raise OutputPathError(f"{target} is a folder, not a report file: move it away or choose another folder")
            if target.exists() and not target.is_file():
                raise OutputPathError(f"{target} is not a regular file: move it away or choose another folder")
        if not os.access(out_dir, os.W_OK | os.X_OK):
            raise OutputPathError(f"cannot write in {out_dir}: permission denied")
        return
    parent = out_dir.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputPathError(f"cannot create {out_dir}: {parent} is not a folder")
    try:  # a folder made and removed at once: permission bits do not tell (root, /proc, read-only mounts)
        os.rmdir(tempfile.mkdtemp(prefix=staged_name(out_dir), suffix=".tmp", dir=parent))
    except OSError as exc:
        raise OutputPathError(f"cannot create {out_dir}: {exc.strerror or exc} in {parent}") from exc


def _unlink(path: Path | str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _stage(path: Path, data: bytes | str) -> str:
    """Write ``data`` to a staged file beside ``path`` (fsynced); returns its name."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=staged_name(path), suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _write_error(f"cannot write {path}", exc) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report is an ordinary file
    except OSError as exc:
        _unlink(tmp)
        raise _write_error(f"cannot write {path}", exc) from exc
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def latexmk_available() -> bool:
    """True when ``latexmk`` and ``pdflatex`` are on the PATH."""
    return shutil.which("latexmk") is not None and shutil.which("pdflatex") is not None


_ERROR = re.compile(r"^! (.*)$")
_LINE = re.compile(r"^l\.(\d+) ?(.*)$")
_OVERFULL = re.compile(r"^Overfull \\[hv]box \(([\d.]+)pt too (?:wide|high)\) (.*)$")


@dataclass(frozen=True)
class LogProblems:
    """What a LaTeX log says went wrong or looks bad."""

    errors: tuple[str, ...]
    undefined_references: tuple[str, ...]
    overfull: tuple[tuple[float, str], ...]


def log_problems(log: str) -> LogProblems:
    """Parse a pdfLaTeX log: errors (with their ``l.NN`` line), undefined
    references, overfull boxes (width in pt and where).

    Example:
        >>> p = log_problems("! Undefined control sequence.\\nl.12 \\\\foo\\n")
        >>> p.errors
        ('Undefined control sequence. (log: l.12 \\\\foo)',)
    """
    lines = log.splitlines()
    errors = []
    for i, line in enumerate(lines):
        m = _ERROR.match(line)
        if not m:
            continue
        where = ""
        for follow in lines[i + 1 : i + 12]:
            lm = _LINE.match(follow)
            if lm:
                where = f" (log: l.{lm.group(1)} {lm.group(2)})".rstrip()
                break
        errors.append(f"{m.group(1)}{where}")
    undefined = [ln.strip() for ln in lines if "undefined" in ln and ("Reference" in ln or "Citation" in ln)]
    overfull = []
    for line in lines:
        m = _OVERFULL.match(line)
        if m:
            overfull.append((float(m.group(1)), m.group(2)))
    return LogProblems(tuple(errors), tuple(undefined), tuple(overfull))


# what a log says when the next pass would print something else
_RERUN = re.compile(
    r"Rerun to get [^.]*right"  # LaTeX's labels, hyperref's outlines (rerunfilecheck), ...
    r"|Label\(s\) may have changed"
    r"|There were undefined references"
    r"|Rerun LaTeX"  # longtable's "Table widths have changed. Rerun LaTeX."
    r"|Please rerun LaTeX"
    r"|^\(rerunfilecheck\)\s+Rerun"
    r"|Package rerunfilecheck Warning: File .* has changed",
    re.MULTILINE,
)


def rerun_request(log: str) -> str | None:
    """The first line of a pdfLaTeX log that asks for another pass, or None.

    The log's lines are unwrapped first (TeX breaks them at 79 characters).

    Example:
        >>> rerun_request("LaTeX Warning: Label(s) may have changed. Rerun to get cross-references right.\\n")
        'LaTeX Warning: Label(s) may have changed. Rerun to get cross-references right.'
        >>> rerun_request("Package: rerunfilecheck 2022/07/10 v1.10 Rerun checks for auxiliary files (HO)\\n") is None
        True
    """
    for line in _unwrap(log):
        if _RERUN.search(line):
            return line.strip()
    return None


def _unwrap(log: str, width: int = 79) -> list[str]:
    """The log's lines with TeX's hard breaks (a line of exactly ``width`` characters) joined."""
    out: list[str] = []
    carry = ""
    for line in log.splitlines():
        if len(line) == width:
            carry += line
            continue
        out.append(carry + line)
        carry = ""
    if carry:
        out.append(carry)
    return out


def _pdeathsig() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGKILL latexmk when its parent dies (a SIGKILL of the parent included)."""
    ask_death_signal(signal.SIGKILL)


def _stop(proc: subprocess.Popen) -> None:
    """Stop latexmk and everything it started (its own process group)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=2.0)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def _term_raises() -> Iterator[None]:
    """While active, SIGTERM raises :class:`Interrupted` (SIGINT already raises
    KeyboardInterrupt), so ``finally`` blocks clean up.  Only in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise Interrupted(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Block SIGINT and SIGTERM (delivered on exit) around the rename sequence."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def build_pdf(tex: str, stem: str, *, timeout: float = LATEXMK_TIMEOUT) -> tuple[bytes, str]:
    """Compile ``tex`` in a fresh work folder; returns (PDF bytes, log text).

    latexmk builds it; then pdfLaTeX (same flags) runs again until one pass
    leaves every auxiliary file (.aux, .toc, .out, ...) exactly as it read
    it and its log asks for no rerun, at most :data:`SETTLE_PASSES` passes.
    latexmk alone is not enough: it tells a changed .aux from file times and
    sizes, and can stop a pass early.

    The folder (``backprop-derive-tex-PID-...`` in the temporary directory)
    is removed on return, on an error and on SIGINT/SIGTERM; latexmk and
    pdfLaTeX run in their own process group, which is stopped with them.

    Raises:
        ReportError: latexmk is missing or timed out.
        LatexBuildError: LaTeX stopped on an error (the message quotes it and
            its ``l.NN`` log line), or the build did not settle.
    """
    if not latexmk_available():
        raise ReportError("latexmk is not installed (apt-get install latexmk texlive-latex-base ...)")
    sweep_stale()
    deadline = time.monotonic() + timeout
    with _term_raises(), tempfile.TemporaryDirectory(prefix=work_prefix()) as work:
        folder = Path(work)
        (folder / f"{stem}.tex").write_text(tex, encoding="utf-8")
        flags = ["-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape"]
        _run(["latexmk", "-pdf", *flags, f"{stem}.tex"], folder, stem, deadline, timeout)
        log = ""
        for _ in range(SETTLE_PASSES):
            before = _aux_state(folder, stem)
            log = _run(["pdflatex", *flags, f"{stem}.tex"], folder, stem, deadline, timeout)
            if _aux_state(folder, stem) == before and rerun_request(log) is None:
                return (folder / f"{stem}.pdf").read_bytes(), log
        why = rerun_request(log) or "its auxiliary files still change from pass to pass"
        raise LatexBuildError(
            f"LaTeX build of {stem}.tex did not settle after latexmk and {SETTLE_PASSES} more pdflatex passes: {why}"
        )


# files of the work folder that are not read back by the next pass
_NOT_AUX = (".tex", ".pdf", ".log", ".fls", ".fdb_latexmk", ".synctex.gz")


def _aux_state(folder: Path, stem: str) -> dict[str, bytes]:
    """The content of every file a LaTeX pass may read back (.aux, .toc, .out, ...)."""
    return {
        p.name: p.read_bytes()
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith(".") and not p.name.endswith(_NOT_AUX)
    }


def _run(cmd: list[str], folder: Path, stem: str, deadline: float, timeout: float) -> str:
    """Run one LaTeX command in ``folder`` (its own process group, stopped
    with its owner); returns the log text.

    Raises:
        ReportError: it ran past the deadline.
        LatexBuildError: it failed, or the log shows an error, or there is no PDF.
    """
    env = dict(os.environ)
    env.update(SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH, FORCE_SOURCE_DATE="1", TZ="UTC")
    prctl()  # looked up here, not first in the forked child (see derive.reaper)
    proc = subprocess.Popen(
        cmd, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        text=True, start_new_session=True, preexec_fn=_pdeathsig if sys.platform.startswith("linux") else None,
    )
    try:
        (folder / ".pgid").write_text(str(proc.pid))
        out, _ = proc.communicate(timeout=max(deadline - time.monotonic(), 0.001))
    except subprocess.TimeoutExpired as exc:
        _stop(proc)
        raise ReportError(f"{cmd[0]} did not finish within {timeout:.0f} s (the whole LaTeX build's limit)") from exc
    except BaseException:
        _stop(proc)
        raise
    log_path = folder / f"{stem}.log"
    log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    problems = log_problems(log)
    if proc.returncode != 0 or problems.errors or not (folder / f"{stem}.pdf").exists():
        first = problems.errors[0] if problems.errors else (out or "").strip()[-400:]
        raise LatexBuildError(f"LaTeX build of {stem}.tex failed: {first}")
    return log


@dataclass(frozen=True)
class Written:
    """Paths a report run wrote (``pdf`` is None without a PDF build)."""

    tex: Path
    pdf: Path | None
    log: str = ""
    digest: str = ""
    removed_pdf: bool = False


def write_report(tex: str, out_dir: Path, stem: str, *, pdf: bool = True) -> Written:
    """Stamp, build (optionally) and write ``out_dir/stem.tex`` and ``.pdf``.

    Order: sweep what killed runs left; stamp the .tex with its digest; build
    the PDF; stage both files (fsynced); rename the PDF, then the .tex.  A
    ``pdf=False`` run removes an earlier PDF before the .tex is renamed,
    because that PDF shows an earlier .tex.

    Raises:
        ReportError, LatexBuildError: the message says what is on disk now.
        Interrupted, KeyboardInterrupt: SIGTERM/SIGINT; staged files are removed.
    """
    out_dir = Path(out_dir)
    check_output(out_dir, stem)
    sweep_stale(out_dir)
    tex = stamp(tex)
    digest = tex_digest(tex)
    try:
        pdf_bytes, log = build_pdf(tex, stem) if pdf else (None, "")
        if pdf_bytes is not None and pdf_digest(pdf_bytes) != digest:
            raise LatexBuildError(f"the PDF built from {stem}.tex does not carry its digest (is this pdfTeX?)")
    except ReportError as exc:
        raise type(exc)(f"{exc}; nothing was written: {describe_pair(out_dir, stem)}") from exc
    tex_path, pdf_path = out_dir / f"{stem}.tex", out_dir / f"{stem}.pdf"
    staged: list[str] = []
    removed = False
    try:
        with _term_raises():
            staged_tex = _stage(tex_path, tex)
            staged.append(staged_tex)
            if pdf_bytes is not None:
                staged_pdf = _stage(pdf_path, pdf_bytes)
                staged.append(staged_pdf)
            _fsync_dir(out_dir)
            with _signals_deferred():  # SIGINT/SIGTERM wait until the pair is complete
                if pdf_bytes is not None:
                    os.replace(staged_pdf, pdf_path)
                elif pdf_path.exists():
                    os.unlink(pdf_path)
                    removed = True
                os.replace(staged_tex, tex_path)
            _fsync_dir(out_dir)
    except OSError as exc:
        where = describe_pair(out_dir, stem, digest=digest)
        raise _write_error(f"cannot write in {out_dir}", exc, then=where) from exc
    except ReportError as exc:
        raise type(exc)(f"{exc}; {describe_pair(out_dir, stem, digest=digest)}") from exc
    finally:
        for name in staged:
            _unlink(name)
    return Written(tex_path, pdf_path if pdf_bytes is not None else None, log, digest, removed)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
