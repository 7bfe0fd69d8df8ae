"""Writing reports: atomic file writes and the PDF build with latexmk.

The .tex is rendered first; the PDF is built from it in a fresh temporary
directory (``latexmk -pdf -interaction=nonstopmode -halt-on-error
-no-shell-escape``, an argument list with a timeout, no shell).  Only when
everything succeeded are the files moved into place, each by writing a
temporary file beside it and renaming it, so a failed run leaves an earlier
report untouched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

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
    "LATEXMK_TIMEOUT",
]

SOURCE_DATE_EPOCH = "0"
LATEXMK_TIMEOUT = 180.0


class ReportError(BackpropDeriveError):
    """A report could not be written or built."""


class LatexBuildError(ReportError):
    """LaTeX failed; the message names the log line."""


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and a rename.

    Raises:
        ReportError: the directory cannot be created or written.
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report is an ordinary file
        os.replace(tmp, path)
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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


def build_pdf(tex: str, stem: str, *, timeout: float = LATEXMK_TIMEOUT) -> tuple[bytes, str]:
    """Compile ``tex`` in a fresh temporary directory; returns (PDF bytes, log text).

    Raises:
        ReportError: latexmk is missing or timed out.
        LatexBuildError: LaTeX stopped on an error (the message quotes it and
            its ``l.NN`` log line).
    """
    if not latexmk_available():
        raise ReportError("latexmk is not installed (apt-get install latexmk texlive-latex-base ...)")
    with tempfile.TemporaryDirectory(prefix="backprop-derive-tex-") as work:
        src = Path(work) / f"{stem}.tex"
        src.write_text(tex, encoding="utf-8")
        env = dict(os.environ)
        env.update(SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH, FORCE_SOURCE_DATE="1", TZ="UTC")
        cmd = [
            "latexmk",
            "-pdf",
            "-interaction=nonstopmode",
            "-halt-on-error",
            "-no-shell-escape",
            f"{stem}.tex",
        ]
        try:
            done = subprocess.run(
                cmd, cwd=work, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired as exc:
            raise ReportError(f"latexmk did not finish within {timeout:.0f} s") from exc
        log_path = Path(work) / f"{stem}.log"
        log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
        pdf = Path(work) / f"{stem}.pdf"
        problems = log_problems(log)
        if done.returncode != 0 or problems.errors or not pdf.exists():
            first = problems.errors[0] if problems.errors else (done.stdout + done.stderr).strip()[-400:]
            raise LatexBuildError(f"LaTeX build of {stem}.tex failed: {first}")
        return pdf.read_bytes(), log


@dataclass(frozen=True)
class Written:
    """Paths a report run wrote (``pdf`` is None without a PDF build)."""

    tex: Path
    pdf: Path | None
    log: str = ""


def write_report(tex: str, out_dir: Path, stem: str, *, pdf: bool = True) -> Written:
    """Build (optionally) and then write ``out_dir/stem.tex`` and ``.pdf`` atomically.

    The PDF is built before anything is written: if the build fails, the
    earlier .tex and .pdf stay as they were.

    Raises:
        ReportError, LatexBuildError: see :func:`build_pdf` and :func:`atomic_write`.
    """
    out_dir = Path(out_dir)
    pdf_bytes, log = build_pdf(tex, stem) if pdf else (None, "")
    tex_path = out_dir / f"{stem}.tex"
    atomic_write(tex_path, tex)
    pdf_path = None
    if pdf_bytes is not None:
        pdf_path = out_dir / f"{stem}.pdf"
        atomic_write(pdf_path, pdf_bytes)
    return Written(tex_path, pdf_path, log)
