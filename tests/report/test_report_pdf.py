"""The default report compiles to a clean PDF (needs latexmk and pdftotext).

Skipped where TeX Live is missing, except in CI (``CI`` set), where a missing
TeX Live is a failure: .ci/run installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from derive.report.build import LatexBuildError, build_pdf, latexmk_available, log_problems, write_report
from derive.report.escape import latex_escape
from derive.report.latex import render_network
from derive.report.network import cached_network

_MISSING = [tool for tool in ("latexmk", "pdflatex", "pdftotext") if shutil.which(tool) is None]


@pytest.fixture(scope="module", autouse=True)
def _need_tex():
    if _MISSING:
        message = f"TeX Live / poppler-utils missing: {', '.join(_MISSING)} not on PATH"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must install them: see .ci/run)")
        pytest.skip(message + " (apt-get install latexmk texlive-latex-base ... poppler-utils)")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    written = write_report(render_network(cached_network()), out, "network-swish-leaky_relu", pdf=True)
    text = subprocess.run(
        ["pdftotext", "-layout", str(written.pdf), "-"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    return written, text


@pytest.mark.slow
def test_default_report_log_is_clean(built):
    written, _ = built
    problems = log_problems(written.log)
    assert problems.errors == ()
    assert problems.undefined_references == ()
    wide = [(pt, where) for pt, where in problems.overfull if pt > 10.0]
    assert wide == [], f"overfull boxes wider than 10pt: {wide}"
    assert "Rerun to get cross-references right" not in written.log.split("Output written")[-1]


@pytest.mark.slow
def test_default_report_text_has_sections_and_key_equations(built):
    written, text = built
    assert written.pdf.read_bytes().startswith(b"%PDF")
    for title in (
        "The network and its notation",
        "Forward propagation and the cost",
        "The sigmoid derivative, by the quotient rule",
        "The cross-entropy simplification",
        "Backward propagation, layer by layer",
        "The activations",
        "Verification",
        "Errata of the source article",
        "Figures",
    ):
        assert title in text, title
    flat = " ".join(text.split())
    for fragment in (
        "f = swish, g = leaky_relu",
        "dZ3 = A3 − Y",  # the BCE collapse
        "= A (1 − A)",  # the sigmoid derivative
        "Level 1: exact at concrete shapes",
        "Level 2: shape-generic",
        "Loss without parentheses: wrong",
        "Sum(dZ, 1) without keepdims: wrong",
        "complex step",
    ):
        assert fragment in flat, fragment


def test_escaped_user_text_prints_literally(tmp_path):
    nasty = r"\input{/etc/passwd} \write18{ls} 50% #1 a_b^2 ~x {y} \\"
    tex = (
        "\\documentclass{article}\\usepackage[T1]{fontenc}\\usepackage{lmodern}\\begin{document}\n"
        f"MARK {latex_escape(nasty)} END\n\\end{{document}}\n"
    )
    pdf, _ = build_pdf(tex, "escape")
    (tmp_path / "escape.pdf").write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "escape.pdf"), "-"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert " ".join(text.split()).startswith("MARK " + nasty)


def test_latex_failure_names_the_log_line():
    broken = "\\documentclass{article}\n\\begin{document}\nfine\n\\nosuchmacro\n\\end{document}\n"
    with pytest.raises(LatexBuildError, match=r"Undefined control sequence\. \(log: l\.4 \\nosuchmacro\)"):
        build_pdf(broken, "broken")


def test_latexmk_found():
    assert latexmk_available()
