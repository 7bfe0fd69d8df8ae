"""The report's LaTeX frame: preamble, document, captioned tables, aligned
displays and the printing of small numbers.  Shared by every report module
(it imports only the printer, so every report module can import it).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from derive.report.texprint import align_rows

__all__ = ["PREAMBLE", "document", "caption_table", "align", "sci", "WIDTH"]

WIDTH = 62  # glyphs per displayed line before it is broken

PREAMBLE = r"""\documentclass[10pt,a4paper]{article}
\usepackage[T1]{fontenc}
\usepackage{lmodern}
\usepackage[margin=2.2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{booktabs}
\usepackage{array}
\usepackage{graphicx}
\usepackage{xcolor}
\usepackage{caption}
\usepackage{pgfplots}
\pgfplotsset{compat=1.18}
\usepackage[hidelinks,pdfcreator={backprop-derive},pdfproducer={backprop-derive}]{hyperref}
\ifdefined\pdftrailerid\pdftrailerid{}\fi
\newcommand{\checked}[1]{\par\noindent{\small\textit{Checked:} #1}\par\smallskip}
\newcommand{\fitline}[1]{\resizebox{\ifdim\width>0.8\linewidth 0.8\linewidth\else\width\fi}{!}{$\displaystyle #1$}}
\newcommand{\ok}{\textcolor{green!45!black}{\textbf{ok}}}
\newcommand{\failed}{\textcolor{red!75!black}{\textbf{FAILED}}}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.45em}
\allowdisplaybreaks
\setcounter{tocdepth}{1}
"""


def document(title: str, body: Iterable[str], *, pdf_title: str = "", subject: str = "", keywords: str = "") -> str:
    """Wrap body parts in the preamble; ``title`` is LaTeX (escape first);
    ``pdf_title``, ``subject`` and ``keywords`` (escaped text) go into the PDF metadata."""
    meta = (
        f"\\hypersetup{{pdftitle={{{pdf_title}}}, pdfsubject={{{subject}}}, pdfkeywords={{{keywords}}}, "
        "pdfauthor={backprop-derive}}\n"
    )
    head = PREAMBLE + meta + f"\\title{{{title}}}\n\\author{{backprop-derive}}\n\\date{{}}\n"
    return head + "\\begin{document}\n\\maketitle\n\n" + "\n\n".join(body) + "\n\n\\end{document}\n"


def caption_table(caption: str, label: str, tabular: str) -> str:
    """A table that stays where it is written, with its caption above and a label."""
    return (  # the minipage keeps the caption on the page of its table
        "\\begin{center}\\begin{minipage}{\\linewidth}\\centering\\small\n"
        f"\\captionof{{table}}{{{caption}}}\\label{{{label}}}\n{tabular}\n\\end{{minipage}}\\end{{center}}"
    )


def align(rows: Sequence[tuple[str, Any, str | None]]) -> str:
    """An ``align*`` of ``(lhs, rhs, tag)`` rows; an empty lhs continues the chain."""
    out: list[str] = []
    for lhs, rhs, tag in rows:
        lines = align_rows(lhs, rhs, width=WIDTH)
        if tag:
            lines[-1] += f" \\tag*{{{tag}}}"
        out.extend(lines)
    return "\\begin{align*}\n  " + " \\\\\n  ".join(out) + "\n\\end{align*}"



def sci(x: float | str) -> str:
    """``1e-09`` -> ``10^{-9}``; ``2.5e-7`` -> ``2.5 \\times 10^{-7}`` (math mode body)."""
    x = float(x)
    if x == 0:
        return "0"
    mant, exp = f"{x:.1e}".split("e")
    if mant in ("1.0", "-1.0"):
        return ("-" if mant.startswith("-") else "") + f"10^{{{int(exp)}}}"
    return f"{mant}\\times 10^{{{int(exp)}}}"
