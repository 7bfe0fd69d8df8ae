"""LaTeX derivation reports: collect (derive, prove, check), render, build.

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
from derive.report.latex import render_network
from derive.report.network import NetworkReport, collect_network, report_name
from derive.report.pair import Pair, StaleReportError, read_pair, sweep_stale

__all__ = [
    "collect_network",
    "render_network",
    "NetworkReport",
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
