"""Writing reports: the PDF build with latexmk and the pair's rename sequence.

The .tex is rendered and stamped with its digest (:mod:`derive.report.pair`);
the PDF is built from it in a fresh work folder (``latexmk -pdf
-interaction=nonstopmode -halt-on-error -no-shell-escape``, an argument list
with a timeout, no shell, its own process group, killed with its owner).
Only then are the files staged beside their targets (written and fsynced)
and renamed into place, the PDF first: a run killed at any instant leaves
the earlier pair, the new pair, or a pair whose digests differ, which
:func:`derive.report.pair.read_pair` refuses.  SIGINT and SIGTERM stop
latexmk and remove the work folder and the staged files; the next run sweeps
what a SIGKILL left behind.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from derive.report.pair import StaleReportError, describe_pair, pdf_digest, stamp, staged_name, sweep_stale, tex_digest, work_prefix
from numeric.errors import BackpropDeriveError

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
]

SOURCE_DATE_EPOCH = "0"
LATEXMK_TIMEOUT = 180.0


class ReportError(BackpropDeriveError):
    """A report could not be written or built."""


class LatexBuildError(ReportError):
    """LaTeX failed; the message names the log line."""


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
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        _unlink(tmp)
        raise


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
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report is an ordinary file
    except OSError as exc:
        _unlink(tmp)
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc
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


def _pdeathsig() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGKILL latexmk when its parent dies (a SIGKILL of the parent included)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


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

    The folder (``backprop-derive-tex-PID-...`` in the temporary directory)
    is removed on return, on an error and on SIGINT/SIGTERM; latexmk runs in
    its own process group, which is stopped with it.

    Raises:
        ReportError: latexmk is missing or timed out.
        LatexBuildError: LaTeX stopped on an error (the message quotes it and
            its ``l.NN`` log line).
    """
    if not latexmk_available():
        raise ReportError("latexmk is not installed (apt-get install latexmk texlive-latex-base ...)")
    sweep_stale()
    with _term_raises(), tempfile.TemporaryDirectory(prefix=work_prefix()) as work:
        src = Path(work) / f"{stem}.tex"
        src.write_text(tex, encoding="utf-8")
        env = dict(os.environ)
        env.update(SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH, FORCE_SOURCE_DATE="1", TZ="UTC")
        cmd = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", f"{stem}.tex"]
        proc = subprocess.Popen(
            cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            text=True, start_new_session=True, preexec_fn=_pdeathsig if sys.platform.startswith("linux") else None,
        )
        try:
            (Path(work) / ".pgid").write_text(str(proc.pid))
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            _stop(proc)
            raise ReportError(f"latexmk did not finish within {timeout:.0f} s") from exc
        except BaseException:
            _stop(proc)
            raise
        log_path = Path(work) / f"{stem}.log"
        log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
        pdf = Path(work) / f"{stem}.pdf"
        problems = log_problems(log)
        if proc.returncode != 0 or problems.errors or not pdf.exists():
            first = problems.errors[0] if problems.errors else (out or "").strip()[-400:]
            raise LatexBuildError(f"LaTeX build of {stem}.tex failed: {first}")
        return pdf.read_bytes(), log


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
        raise ReportError(f"cannot write in {out_dir}: {exc.strerror or exc}; {where}") from exc
    except ReportError as exc:
        raise ReportError(f"{exc}; {describe_pair(out_dir, stem, digest=digest)}") from exc
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
