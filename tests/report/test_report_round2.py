"""Round 2 of the adversarial findings on ``report``: a LaTeX build that has
not settled, a misspelt activation name, the seed and the exact L2 rate in
the file name, and unusable output paths (exit 2, one line)."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import pytest

import numeric
from derive.cli.main import main
from derive.report import build
from derive.report.build import LatexBuildError, write_report
from derive.report.general import report_name_of
from derive.report.network import report_name, resolve
from derive.report.pair import StaleReportError, read_pair
from numeric.errors import UnknownActivationError

_LABELS = "LaTeX Warning: Label(s) may have changed. Rerun to get cross-references right."
_TEX_OK = shutil.which("latexmk") is not None and shutil.which("pdflatex") is not None


# ------------------------------------------------------- a build that has not settled
@pytest.mark.parametrize(
    "log",
    [
        f"Output written on r.pdf (6 pages, 416115 bytes).\n\n{_LABELS}\n\n",
        "LaTeX Warning: There were undefined references.\n",
        ("Package rerunfilecheck Warning: File `r.out' has changed.\n"
         "(rerunfilecheck)                Rerun to get outlines right\n"),
        "Package longtable Warning: Table widths have changed. Rerun LaTeX.\n",
        # TeX breaks log lines at 79 characters
        ("LaTeX Warning: Label(s) may have changed in a much longer message than LaTeX's. R"
         "\nerun to get cross-references right.\n"),
    ],
    ids=["labels", "undefined", "rerunfilecheck", "longtable", "wrapped"],
)
def test_a_log_that_asks_for_a_rerun_is_seen(log):
    assert build.rerun_request(log) is not None


def test_a_settled_log_asks_for_nothing():
    log = (
        "Package: rerunfilecheck 2022/07/10 v1.10 Rerun checks for auxiliary files (HO)\n"
        "(rerunfilecheck) Checksum for `r.out': 0F4F5D3E...\n"
        "Output written on r.pdf (6 pages, 416119 bytes).\n"
    )
    assert build.rerun_request(log) is None


def _fake_passes(monkeypatch, logs, aux=None):
    """Replace the LaTeX commands: each call writes a PDF and an .aux (from
    ``aux``, by pass) and returns the next log of ``logs``; returns the calls."""
    calls: list[str] = []

    def run(cmd, folder, stem, deadline, timeout):
        calls.append(cmd[0])
        n = len(calls) - 1
        (Path(folder) / f"{stem}.pdf").write_bytes(b"%%PDF-1.5 pass %d\n" % n)
        (Path(folder) / f"{stem}.aux").write_text(aux[min(n, len(aux) - 1)] if aux else "\\relax\n")
        return logs[min(n, len(logs) - 1)]

    monkeypatch.setattr(build, "latexmk_available", lambda: True)
    monkeypatch.setattr(build, "_run", run)
    return calls


def test_a_build_whose_log_keeps_asking_for_a_rerun_is_refused(monkeypatch):
    calls = _fake_passes(monkeypatch, [_LABELS])
    with pytest.raises(LatexBuildError, match=r"did not settle after latexmk and \d+ more pdflatex passes: .*Label"):
        build.build_pdf("\\documentclass{article}", "r")
    assert calls == ["latexmk"] + ["pdflatex"] * build.SETTLE_PASSES


def test_a_build_latexmk_left_unsettled_gets_more_passes(monkeypatch):
    calls = _fake_passes(monkeypatch, [_LABELS, _LABELS, "clean\n"])
    pdf, log = build.build_pdf("\\documentclass{article}", "r")
    assert calls == ["latexmk", "pdflatex", "pdflatex"]
    assert pdf == b"%PDF-1.5 pass 2\n" and log == "clean\n"


def test_an_aux_file_that_still_changes_gets_another_pass(monkeypatch):
    """No warning in the log, but the pass wrote another .aux than it read
    (a contents table LaTeX does not warn about)."""
    calls = _fake_passes(monkeypatch, ["clean\n"], aux=["page 1\n", "page 2\n", "page 2\n"])
    build.build_pdf("\\documentclass{article}", "r")
    assert calls == ["latexmk", "pdflatex", "pdflatex"]


_TOC_DOC = r"""\documentclass{article}
\usepackage{hyperref}
\begin{document}
\tableofcontents
\section{One}\label{one}
x
\newpage
\section{Two}\label{two}
Section~\ref{two} is on page~\pageref{two}.
\end{document}
"""


@pytest.mark.slow
@pytest.mark.skipif(not _TEX_OK or shutil.which("pdftotext") is None, reason="needs TeX Live and pdftotext")
def test_latexmk_stopping_early_still_gives_the_settled_pdf(monkeypatch, tmp_path):
    """latexmk stopping after one pass (what its 1-s file times allow under
    load) is made up for: the PDF is the one a full build gives, contents right."""
    good, _ = build.build_pdf(_TOC_DOC, "toc")
    real = build._run

    def early(cmd, folder, stem, deadline, timeout):
        if cmd[0] == "latexmk":  # one pass only, as latexmk does when it misses a change
            cmd = ["pdflatex", *cmd[2:]]
        return real(cmd, folder, stem, deadline, timeout)

    monkeypatch.setattr(build, "_run", early)
    pdf, log = build.build_pdf(_TOC_DOC, "toc")
    assert pdf == good and build.rerun_request(log) is None
    (tmp_path / "toc.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "toc.pdf"), "-"], capture_output=True,
                          text=True, timeout=60, check=True).stdout
    contents = " ".join(text.split("\f")[0].split())
    assert "1 One 1 2 Two 2" in contents and "page 2" in text


# ------------------------------------------------------------ activation names
@pytest.mark.parametrize("argv", [["--f", "rleu"], ["--g", "sigmod"], ["--activation", "rleu"]],
                         ids=["f", "g", "activation"])
def test_a_misspelt_activation_name_exits_2(argv, tmp_path, capsys):
    code = main(["report", "--out", str(tmp_path / "out"), "--no-pdf", *argv])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"unknown activation {argv[1]!r}; known: sigmoid, tanh, relu" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("spec", ["x*tanh(x)", "z", "x", "relu", " relu", "identity"])
def test_formulas_and_catalog_names_still_resolve(spec):
    resolve(spec)


def test_a_bare_name_that_is_a_function_gets_the_parsers_hint():
    with pytest.raises(Exception, match="call it as hardtanh"):
        resolve("hardtanh")
    with pytest.raises(UnknownActivationError):
        resolve("rleu")


# ----------------------------------------------------------------- file names
def test_the_seed_is_in_the_name_when_it_is_not_0():
    net = numeric.Network(widths=(3, 2), activations=())
    assert report_name_of(net) == "network-3-2-sigmoid-bce"
    assert report_name_of(net, seed=0) == "network-3-2-sigmoid-bce"
    assert report_name_of(net, seed=5) == "network-3-2-sigmoid-bce-seed_5"
    assert report_name("swish", "leaky_relu", seed=0) == "network-swish-leaky_relu"
    assert report_name("swish", "leaky_relu", seed=5) == "network-swish-leaky_relu-seed_5"


@pytest.fixture(scope="module")
def tiny_l2():
    from derive.report.general import collect_general

    net = numeric.Network(widths=(2, 1), activations=(), head="identity-mse", l2=0.30000000000000004)
    return collect_general(net, proof_shapes=[(2, 1, 2)], numeric_shapes=[(2, 1, 3)])


@pytest.mark.slow
def test_report_command_names_the_seed(tmp_path, monkeypatch, tiny_l2):
    from derive.report import general

    seen = {}

    def fake(network, *, seed, progress):
        seen["seed"] = seed
        return tiny_l2

    monkeypatch.setattr(general, "collect_general", fake)
    for seed in ("0", "5"):
        assert main(["report", "--out", str(tmp_path), "--no-pdf", "--widths", "3,2", "--seed", seed]) == 0
    assert seen["seed"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "network-3-2-sigmoid-bce-seed_5.tex", "network-3-2-sigmoid-bce.tex"]


@pytest.mark.parametrize(
    ("l2", "part"),
    [(0.1234567, "l2_0p1234567"), (0.1234568, "l2_0p1234568"), (0.30000000000000004, "l2_0p30000000000000004"),
     (0.01, "l2_0p01"), (0.5, "l2_0p5"), (2.0, "l2_2"), (1e-05, "l2_1e-05")],
)
def test_the_l2_rate_is_named_exactly(l2, part):
    net = numeric.Network(widths=(3, 2), activations=(), l2=l2)
    assert report_name_of(net) == f"network-3-2-sigmoid-bce-{part}"


@pytest.mark.slow
def test_the_l2_rate_is_printed_exactly(tiny_l2):
    from derive.report.general_tex import render_general

    assert "$\\lambda = 0.30000000000000004$" in render_general(tiny_l2)
    other = copy.copy(tiny_l2)
    other.network = numeric.Network(widths=(2, 1), activations=(), head="identity-mse", l2=0.1234567)
    assert "$\\lambda = 0.1234567$" in render_general(other)
    other.network = numeric.Network(widths=(2, 1), activations=(), head="identity-mse", l2=1e-05)
    assert "$\\lambda = 1 \\cdot 10^{-5}$" in render_general(other)


# ------------------------------------------------------------ unusable output paths
def _out_cases(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "tex-dir" / "network-3-2-sigmoid-bce.tex").mkdir(parents=True)
    (tmp_path / "pdf-dir" / "network-3-2-sigmoid-bce.pdf").mkdir(parents=True)
    cases = {
        "out-is-a-file": (tmp_path / "a-file", "is not a folder"),
        "parent-is-a-file": (tmp_path / "a-file" / "sub", "is not a folder"),
        "tex-is-a-folder": (tmp_path / "tex-dir", "network-3-2-sigmoid-bce.tex is a folder"),
        "pdf-is-a-folder": (tmp_path / "pdf-dir", "network-3-2-sigmoid-bce.pdf is a folder"),
    }
    if Path("/proc/self").is_dir():
        cases["proc"] = (Path("/proc/backprop-derive-no-such"), "cannot create")
    return cases


@pytest.mark.parametrize("case", ["out-is-a-file", "parent-is-a-file", "tex-is-a-folder", "pdf-is-a-folder", "proc"])
@pytest.mark.parametrize("pdf", [False, True], ids=["no-pdf", "pdf"])
def test_an_unusable_output_path_exits_2_before_any_work(case, pdf, tmp_path, monkeypatch, capsys):
    from derive.report import general

    cases = _out_cases(tmp_path)
    if case not in cases:
        pytest.skip("no /proc")
    out, message = cases[case]
    monkeypatch.setattr(general, "collect_general", lambda *a, **k: pytest.fail("work before the path check"))
    code = main(["report", "--out", str(out), "--widths", "3,2", *(["--no-pdf"] if not pdf else [])])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert message in err and "interrupted run" not in err


def test_write_report_refuses_a_folder_where_the_pdf_goes(tmp_path):
    (tmp_path / "r.pdf").mkdir()
    with pytest.raises(build.OutputPathError, match=r"r\.pdf is a folder"):
        write_report("\\documentclass{article}\n", tmp_path, "r", pdf=False)
    with pytest.raises(StaleReportError, match=r"r\.pdf is a folder, not a report file") as info:
        read_pair(tmp_path, "r")
    assert "interrupted" not in str(info.value)


def test_a_path_error_while_writing_is_input_and_a_full_disk_is_not(tmp_path, monkeypatch):
    import errno
    import os

    def refuse(code):
        def replace(src, dst):
            raise OSError(code, os.strerror(code))
        return replace

    monkeypatch.setattr(build.os, "replace", refuse(errno.EISDIR))
    with pytest.raises(build.OutputPathError):
        write_report("\\documentclass{article}\n", tmp_path, "r", pdf=False)
    monkeypatch.setattr(build.os, "replace", refuse(errno.ENOSPC))
    with pytest.raises(build.ReportError) as info:
        write_report("\\documentclass{article}\n", tmp_path, "r", pdf=False)
    assert not isinstance(info.value, build.OutputPathError)
