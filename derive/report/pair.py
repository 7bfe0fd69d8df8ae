"""The report pair ``NAME.tex`` + ``NAME.pdf``: a shared digest, a reader that
refuses a mixed pair, and the sweep of what a killed run left behind.

Two files cannot be replaced in one atomic step, so the pair carries its own
proof of belonging together: the first line of the .tex is

    \\def\\reportdigest{<sha256>}\\pdfinfo{/BackpropDeriveDigest (<sha256>)}% ...

where ``<sha256>`` is the SHA-256 of every line after the first.  pdfTeX
copies it into the PDF's document information dictionary (uncompressed, so
it can be read from the bytes).  :func:`read_pair` recomputes the digest of
the .tex, reads the one in the PDF and refuses the pair when they differ:
a run killed between the two renames leaves exactly such a pair.

Temporary files a run stages beside the reports, and the LaTeX work folders
in the system's temporary directory, carry the owner's process id in their
name; :func:`sweep_stale` removes those whose owner is gone (a SIGKILL gives
a process no chance to clean up) and stops a LaTeX child it left running.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

from numeric.errors import BackpropDeriveError

__all__ = [
    "StaleReportError",
    "Pair",
    "stamp",
    "tex_digest",
    "pdf_digest",
    "read_pair",
    "describe_pair",
    "sweep_stale",
    "staged_name",
    "work_prefix",
]

_HEAD = re.compile(r"^\\def\\reportdigest\{([0-9a-f]{64})\}")
_PDF_KEY = re.compile(rb"/BackpropDeriveDigest\s*\(([0-9a-f]{64})\)")
TAG = "bpd"  # marks staged files: .NAME.tex.bpd-PID-RANDOM.tmp
_STAGED = re.compile(r"^\..+\." + TAG + r"-(\d+)-[A-Za-z0-9_]+\.tmp$")
_WORK = re.compile(r"^backprop-derive-tex-(\d+)-[A-Za-z0-9_]+$")


class StaleReportError(BackpropDeriveError):
    """The .tex and .pdf on disk do not belong together (or one is damaged)."""


def _sha(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def stamp(tex: str) -> str:
    """Prefix ``tex`` with its digest line (idempotent: an old stamp is replaced).

    Example:
        >>> s = stamp("\\\\documentclass{article}\\n")
        >>> s.splitlines()[0].startswith("\\\\def\\\\reportdigest{")
        True
        >>> tex_digest(s) == tex_digest(stamp(s))
        True
    """
    if _HEAD.match(tex):
        tex = tex.split("\n", 1)[1] if "\n" in tex else ""
    digest = _sha(tex)
    head = (
        f"\\def\\reportdigest{{{digest}}}\\ifdefined\\pdfinfo\\pdfinfo{{/BackpropDeriveDigest ({digest})}}\\fi"
        "% SHA-256 of the lines below; the PDF carries the same (checked by derive.report.read_pair)"
    )
    return head + "\n" + tex


def tex_digest(tex: str) -> str:
    """The digest a stamped .tex claims, after checking that its body still has it.

    Raises:
        StaleReportError: no digest line, or the body does not match it (a
            damaged or hand-edited file).
    """
    m = _HEAD.match(tex)
    if not m:
        raise StaleReportError("the .tex has no digest line (not written by backprop-derive, or damaged)")
    body = tex.split("\n", 1)[1] if "\n" in tex else ""
    if _sha(body) != m.group(1):
        raise StaleReportError("the .tex does not match its own digest line (damaged or edited)")
    return m.group(1)


def pdf_digest(pdf: bytes) -> str | None:
    """The digest in a PDF's information dictionary, or None."""
    found = _PDF_KEY.findall(pdf)
    return found[-1].decode("ascii") if found else None


@dataclass(frozen=True)
class Pair:
    """A report that :func:`read_pair` accepted (``pdf`` None: a .tex-only report)."""

    tex: Path
    pdf: Path | None
    digest: str


def read_pair(out_dir: Path, stem: str) -> Pair:
    """Read ``out_dir/stem.tex`` (and ``.pdf`` when present) and check they belong together.

    Raises:
        StaleReportError: the .tex is missing or damaged, or the PDF does not
            carry the .tex's digest (an interrupted run or a leftover PDF).
    """
    tex_path, pdf_path = Path(out_dir) / f"{stem}.tex", Path(out_dir) / f"{stem}.pdf"
    for path in (tex_path, pdf_path):
        if path.exists() and not path.is_file():
            what = "a folder" if path.is_dir() else "not a regular file"
            raise StaleReportError(f"{path} is {what}, not a report file")
    if not tex_path.exists():
        if pdf_path.exists():
            raise StaleReportError(f"{pdf_path} has no {tex_path.name} beside it (an interrupted run)")
        raise StaleReportError(f"{tex_path} does not exist")
    try:
        digest = tex_digest(tex_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise StaleReportError(f"cannot read {tex_path}: {exc}") from exc
    except StaleReportError as exc:
        raise StaleReportError(f"{tex_path}: {exc}") from None
    if not pdf_path.exists():
        return Pair(tex_path, None, digest)
    try:
        other = pdf_digest(pdf_path.read_bytes())
    except OSError as exc:
        raise StaleReportError(f"cannot read {pdf_path}: {exc}") from exc
    if other != digest:
        raise StaleReportError(
            f"{pdf_path} was not built from {tex_path} (digest {str(other)[:12]} against {digest[:12]}): "
            "an interrupted run or a leftover PDF; run the report again"
        )
    return Pair(tex_path, pdf_path, digest)


def describe_pair(out_dir: Path, stem: str, *, digest: str | None = None) -> str:
    """One honest phrase about what is on disk now, for error messages.

    ``digest`` is the new report's: it tells the new pair from an earlier one.
    """
    try:
        pair = read_pair(out_dir, stem)
    except StaleReportError as exc:
        if not (Path(out_dir) / f"{stem}.tex").exists() and not (Path(out_dir) / f"{stem}.pdf").exists():
            return f"no {stem}.tex or {stem}.pdf in {out_dir}"
        return f"the files on disk do not form a valid report ({exc})"
    files = f"{pair.tex}" + (f" and {pair.pdf}" if pair.pdf else " (no PDF)")
    if digest is not None and pair.digest == digest:
        return f"the new report is in place: {files}"
    return f"the earlier report is unchanged: {files}"


def staged_name(path: Path) -> str:
    """Prefix of a temporary file staged beside ``path`` (its name holds our pid)."""
    return f".{Path(path).name}.{TAG}-{os.getpid()}-"


def work_prefix() -> str:
    """Prefix of a LaTeX work folder in the temporary directory (holds our pid)."""
    return f"backprop-derive-tex-{os.getpid()}-"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_children(work: Path) -> None:
    """Stop a LaTeX process still running in ``work`` (its owner was killed)."""
    try:
        pgid = int((work / ".pgid").read_text())
    except (OSError, ValueError):
        return
    for proc in Path("/proc").glob("[0-9]*") if Path("/proc").is_dir() else []:
        try:
            if os.readlink(proc / "cwd") != str(work):
                continue
            if os.getpgid(int(proc.name)) == pgid:
                os.killpg(pgid, signal.SIGKILL)
                return
        except (OSError, ValueError):
            continue


def sweep_stale(out_dir: Path | None = None) -> list[Path]:
    """Remove staged files in ``out_dir`` and LaTeX work folders whose owner
    process is gone; returns what was removed.  Never touches a live run's files.
    """
    removed: list[Path] = []
    if out_dir is not None and Path(out_dir).is_dir():
        for p in Path(out_dir).iterdir():
            m = _STAGED.match(p.name)
            if m and not _alive(int(m.group(1))):
                try:
                    p.unlink()
                    removed.append(p)
                except OSError:
                    pass
    tmp = Path(tempfile.gettempdir())
    try:
        entries = list(tmp.iterdir())
    except OSError:
        entries = []
    for p in entries:
        m = _WORK.match(p.name)
        if m and p.is_dir() and not _alive(int(m.group(1))):
            _stop_children(p)
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed
