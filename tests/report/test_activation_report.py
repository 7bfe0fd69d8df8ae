"""The custom-activation report: honest verdict, no environment notes, a
captioned figure in place, awkward functions rendered."""

from __future__ import annotations

import re

import pytest

check = pytest.importorskip("derive.activation_check.check")

from derive.report.activation_report import render_activation  # noqa: E402
from derive.report.network import resolve  # noqa: E402


def _render(text: str) -> tuple[object, str]:
    report = check.check_activation(resolve(text), network=False)
    return report, render_activation(report, text)


def test_naive_softplus_is_not_said_to_pass_every_check():
    report, tex = _render("log(1+exp(z))")
    body = tex.split("\\begin{document}")[1]
    assert "every check passed" not in body
    assert "\\section{NumPy soundness}" in body
    # environment notes (time limits, missing packages) stay out of the document
    for note in getattr(report, "notes", []):
        assert re.sub(r"\s+", " ", note)[:30] not in body
    assert "stopped after" not in body and "not installed" not in body


def test_step_function_report_renders_its_fault_and_figure():
    report, tex = _render("where(z > 0, 1, 0)")
    assert not report.ok
    body = tex.split("\\begin{document}")[1]
    assert "\\section{Faults}" in body and "FAULTS FOUND" in body
    assert "\\captionof{figure}" in body and "\\label{fig:act-curves}" in body
    assert "\\begin{figure}" not in body  # no float drifting to a page of its own
    for options in re.findall(r"\\begin\{axis\}\[(.*?)\]\n", body, re.S):
        assert "xlabel={" in options and "ylabel={" in options
