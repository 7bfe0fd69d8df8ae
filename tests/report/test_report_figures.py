"""Every figure has labelled axes, every figure and table a caption and a
label; the step-size sweep and the curves are machine-independent text."""

from __future__ import annotations

import re

import mpmath
import pytest

from derive.report.figures import activation_curves, fmt, step_sweep
from derive.report.latex import render_network
from derive.report.network import collect_network
from derive.train import TrainConfig, train

_AXIS = re.compile(r"\\begin\{(axis|loglogaxis|semilogyaxis)\}\[(.*?)\]\n", re.S)


@pytest.fixture(scope="module")
def small_tex():
    report = collect_network(proof_shapes=[(1, 1, 1, 1, 2)], numeric_shapes=[(2, 2, 2, 1, 3)], training=False)
    report.training = train(TrainConfig(epochs=2))
    return render_network(report)


def _axes(tex: str) -> list[str]:
    return [m.group(2) for m in _AXIS.finditer(tex)]


def test_every_axis_is_labelled(small_tex):
    axes = _axes(small_tex)
    assert len(axes) == 6  # f, f', g, g', the step sweep, the training cost
    for options in axes:
        assert re.search(r"xlabel=\{[^}]+", options), options
        assert re.search(r"ylabel=\{[^}]+", options), options


def test_axis_check_negative_control():
    bad = "\\begin{axis}[width=3cm, xlabel={$z$}]\n\\end{axis}"
    assert not all(re.search(r"ylabel=\{[^}]+", o) for o in _axes(bad))


def test_every_figure_and_table_has_a_caption_and_a_label(small_tex):
    body = small_tex.split("\\begin{document}")[1]
    assert body.count("\\begin{tabular}") == len(re.findall(r"\\captionof\{table\}\{", body))
    assert body.count("\\begin{tikzpicture}") == 6
    assert len(re.findall(r"\\captionof\{figure\}\{", body)) == 3  # activations, steps, training
    for m in re.finditer(r"\\captionof\{(figure|table)\}", body):
        tail = body[m.end(): m.end() + 1500]
        assert re.search(r"\}\\label\{(fig|tab):", tail), body[m.start(): m.start() + 200]
    for ref in set(re.findall(r"\\ref\{([^}]+)\}", body)):
        assert f"\\label{{{ref}}}" in body, ref


def test_sweep_marks_the_best_step_and_the_slopes(small_tex):
    assert "best $h$" in small_tex
    for slope in ("slope $1$", "slope $2$", "slope $-1$"):
        assert slope in small_tex


def test_pdf_metadata_is_set(small_tex):
    meta = re.search(r"\\hypersetup\{pdftitle=\{([^}]*)\}, pdfsubject=\{([^}]*)\}, pdfkeywords=\{([^}]*)\}", small_tex)
    assert meta and all(part.strip() for part in meta.groups())


def test_sweep_uses_the_largest_entry_and_the_informative_range():
    s = step_sweep()
    assert (s.param, s.index) == ("b3", (0, 0))  # the largest |entry| of the default problem's gradient
    assert float(s.steps[0]) == 0.1 and float(s.steps[-1]) == pytest.approx(1e-13)
    assert s.lambdified_ok and s.best_central[1] < 1e-9
    assert all(float(e) < 1 for e in s.central)  # no plateau at relative error 1


def test_fmt_is_exact_decimal_text():
    assert fmt(mpmath.mpf(2) / 3) == "0.666667"
    assert fmt(1e-11, 3) == "1e-11" and fmt(0.001, 3) == "0.001" and fmt(123456789.0, 3) == "1.23e8"


@pytest.mark.parametrize("text", ["where(z > 0, 1, 0)", "abs(z)", "1/z"], ids=["step", "abs", "pole"])
def test_curves_of_awkward_functions_do_not_crash(text):
    from derive.activations import derivative_expr
    from derive.expr.parser import parse_activation

    e = parse_activation(text)
    f, df = activation_curves(e, derivative_expr(e), [0.0], points=9)
    assert f.segments and all(len(seg) >= 1 for seg in f.segments)
    assert df.span == (df.span[0], df.span[1])


@pytest.mark.parametrize(
    "text, jump", [("where(z > 0, 1, 0)", True), ("leaky_relu", False), ("abs(z)", False)],
    ids=["step-jumps", "leaky-relu-kink", "abs-kink"],
)
def test_a_jump_is_told_from_a_kink(text, jump):
    from derive.report.activation_info import activation_info
    from derive.report.network import resolve

    kinks = activation_info("f", resolve(text)).kinks
    assert [k.jump for k in kinks] == [jump]
