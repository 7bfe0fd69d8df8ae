"""pgfplots figures for the reports: activation curves, the step-size sweep,
training loss curves.  Every axis is labelled; every figure has a caption
and a label (the callers add them with :func:`figure`).

The numbers arrive as text already formatted by
:mod:`derive.report.figures` (machine-independent), so these functions only
lay them out.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from derive.report.figures import Curve, StepSweep

__all__ = ["figure", "curve_axis", "activation_panels", "sweep_plot", "line_plot", "standalone"]


def figure(body: str, caption: str, label: str, *, placement: str = "here") -> str:
    """A figure with its caption and label.  ``placement="here"`` (the
    default) keeps it where it is written, in its section (no float);
    anything else is a ``figure`` float with that placement."""
    if placement == "here":
        return (
            "\\par\\medskip\\noindent\\begin{minipage}{\\linewidth}\\centering\n"
            f"{body}\n\\captionof{{figure}}{{{caption}}}\\label{{{label}}}\n\\end{{minipage}}\\par\\medskip"
        )
    return (
        f"\\begin{{figure}}[{placement}]\\centering\n{body}\n"
        f"\\caption{{{caption}}}\\label{{{label}}}\n\\end{{figure}}"
    )


def _table(points: Iterable[tuple[str, str]]) -> str:
    return "\n".join(f"{x} {y}" for x, y in points)


def curve_axis(curve: Curve, *, ylabel: str, style: str, width: str = "0.46\\linewidth") -> str:
    """One panel: a sampled function of z, one line per segment between jumps."""
    lo, hi = curve.span
    pad = 0.5 if hi - lo < 1e-9 else 0.0  # a constant: give the axis some height
    yrange = f", ymin={lo - pad:.6g}, ymax={hi + pad:.6g}" if pad else ""
    plots = [
        f"\\addplot[{style}] table {{\n{_table(seg)}\n}};" for seg in curve.segments
    ]
    return (
        f"\\begin{{tikzpicture}}\n\\begin{{axis}}[width={width}, height=4.6cm, xlabel={{$z$}}, ylabel={{{ylabel}}}, "
        f"grid=major, tick label style={{font=\\small}}, label style={{font=\\small}}{yrange}]\n"
        + "\n".join(plots)
        + "\n\\end{axis}\n\\end{tikzpicture}"
    )


def activation_panels(role: str, curves: tuple[Curve, Curve]) -> str:
    """Two panels side by side: ``role(z)`` and ``role'(z)`` (separate axes, so
    a small derivative never hides under the function)."""
    return (
        curve_axis(curves[0], ylabel=f"${role}(z)$", style="blue, thick")
        + "\\hfill\n"
        + curve_axis(curves[1], ylabel=f"${role}'(z)$", style="red, thick")
    )


def _at(s: StepSweep, series: Sequence[str], h: str) -> str:
    return series[s.steps.index(h)]


def _below(value: str) -> str:
    """Three decades below ``value`` (a label under a curve), as exact text."""
    from derive.report.figures import fmt

    return fmt(float(value) / 1000.0, 3)


def sweep_plot(s: StepSweep) -> str:
    """Log-log error against the step, with the best step marked and the
    slopes of the truncation and rounding regimes written beside the curves."""
    plots = [
        ("black, mark=*, mark size=1pt", "forward difference", s.forward),
        ("blue, mark=square*, mark size=1pt", "central difference", s.central),
    ]
    if s.complex is not None:
        plots.append(("red, mark=triangle*, mark size=1.2pt", "complex step", s.complex))
    body = "\n".join(
        f"\\addplot[{style}] table {{\n{_table(zip(s.steps, vals))}\n}};\n\\addlegendentry{{{name}}}"
        for style, name, vals in plots
    )
    h, err = s.best
    notes = [
        # the best central step, marked and labelled
        f"\\draw[densely dashed, gray] (axis cs:{h},1e-17) -- (axis cs:{h},1);",
        f"\\node[anchor=south west, font=\\small, fill=white, inner sep=1pt] at (axis cs:{h},1e-16) "
        f"{{best $h$}};",
        # slopes: forward ~ h, central ~ h^2 (truncation), both ~ eps/h (rounding)
        f"\\node[anchor=south west, font=\\small] at (axis cs:0.01,{_at(s, s.forward, '0.01')}) "
        "{truncation, slope $1$: $\\propto h$};",
        f"\\node[anchor=south west, font=\\small] at (axis cs:0.001,{_at(s, s.central, '0.001')}) "
        "{slope $2$: $\\propto h^{2}$};",
        f"\\node[anchor=north, font=\\small, align=center] at (axis cs:1e-10,{_below(_at(s, s.central, '1e-10'))}) "
        "{rounding, slope $-1$:\\\\ $\\propto \\varepsilon/h$};",
    ]
    return (
        "\\begin{tikzpicture}\n\\begin{loglogaxis}[width=0.86\\linewidth, height=7cm, xlabel={step $h$}, "
        "ylabel={relative error}, grid=major, x dir=reverse, xmin=1e-13, xmax=0.1, ymin=1e-17, ymax=1, "
        "legend style={font=\\small, at={(0.5,-0.2)}, anchor=north, legend columns=3}, "
        "label style={font=\\small}, tick label style={font=\\small}]\n"
        + body
        + "\n"
        + "\n".join(notes)
        + "\n\\end{loglogaxis}\n\\end{tikzpicture}"
    )


def line_plot(
    series: Sequence[tuple[str, str, Sequence[tuple[str, str]]]],
    *,
    xlabel: str,
    ylabel: str,
    log_y: bool = False,
    width: str = "0.8\\linewidth",
    height: str = "6cm",
) -> str:
    """Lines from (style, legend, points) triples (points are formatted text)."""
    env = "semilogyaxis" if log_y else "axis"
    body = "\n".join(
        f"\\addplot[{style}] table {{\n{_table(pts)}\n}};\n\\addlegendentry{{{legend}}}" for style, legend, pts in series
    )
    return (
        f"\\begin{{tikzpicture}}\n\\begin{{{env}}}[width={width}, height={height}, xlabel={{{xlabel}}}, "
        f"ylabel={{{ylabel}}}, grid=major, legend style={{font=\\small}}, label style={{font=\\small}}, "
        f"tick label style={{font=\\small}}]\n{body}\n\\end{{{env}}}\n\\end{{tikzpicture}}"
    )


def standalone(picture: str, *, title: str) -> str:
    """A one-page, one-figure document (the ``train`` command's PDF), with PDF metadata."""
    return (
        "\\documentclass{article}\n\\usepackage[paperwidth=14cm,paperheight=7.6cm,margin=0.3cm]{geometry}\n"
        "\\usepackage[T1]{fontenc}\n\\usepackage{lmodern}\n\\pagestyle{empty}\n"
        "\\usepackage{pgfplots}\n\\pgfplotsset{compat=1.18}\n"
        f"\\usepackage[pdftitle={{{title}}},pdfcreator={{backprop-derive}},pdfproducer={{backprop-derive}}]{{hyperref}}\n"
        "\\ifdefined\\pdftrailerid\\pdftrailerid{}\\fi\n"
        f"\\begin{{document}}\n\\centering\n{picture}\n\\end{{document}}\n"
    )
