"""LaTeX derivation reports: collect (derive, prove, check), render, build.

Any network description (:class:`numeric.Network` with widths) has its
report too: :func:`collect_general` then :func:`render_general`, written as
``network-WIDTHS-ACTIVATIONS-HEAD`` (:func:`report_name_of`).

``reports/NAME.tex`` and ``reports/NAME.pdf`` carry one digest;
:func:`read_pair` checks that they belong together and refuses a pair an
interrupted run left mixed.

Example:
    >>> from derive.report import collect_network, render_network
    >>> tex = render_network(collect_network(proof_shapes=[(1, 1, 1, 1, 2)], numeric_shapes=[(2, 2, 2, 1, 3)]))
    >>> tex.startswith("\\\\documentclass")
    True
"""

from __future__ import annotations

from derive.report.build import LatexBuildError, ReportError, build_pdf, latexmk_available, write_report
from derive.report.escape import latex_escape
from derive.report.general import GeneralReport, collect_general, report_name_of
from derive.report.general_tex import render_general
from derive.report.latex import render_network
from derive.report.network import NetworkReport, collect_network, report_name
from derive.report.pair import Pair, StaleReportError, read_pair, sweep_stale

__all__ = [
    "collect_network",
    "render_network",
    "NetworkReport",
    "collect_general",
    "render_general",
    "GeneralReport",
    "report_name_of",
    "report_name",
    "write_report",
    "build_pdf",
    "latexmk_available",
    "latex_escape",
    "ReportError",
    "LatexBuildError",
    "read_pair",
    "Pair",
    "StaleReportError",
    "sweep_stale",
]
