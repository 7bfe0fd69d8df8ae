"""The report of any network description: sections follow the network, the
command's description options, and (slow) the PDF of a softmax-head report."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess

import pytest

import numeric
from derive.cli.main import main
from derive.report.build import log_problems, write_report
from derive.report.general import collect_general, report_name_of
from derive.report.general_tex import render_general
from derive.report.pair import read_pair

SOFTMAX = numeric.Network(widths=(4, 3, 2), activations=("tanh",), head="softmax-ce")


@pytest.fixture(scope="module")
def softmax_report():
    """A softmax-head report at tiny shapes (every stage runs, a few seconds)."""
    return collect_general(SOFTMAX, proof_shapes=[(2, 3, 2, 2)], numeric_shapes=[(4, 3, 2, 3)])


@pytest.fixture(scope="module")
def softmax_tex(softmax_report):
    return render_general(softmax_report)


def _sections(tex: str) -> list[str]:
    return re.findall(r"\\section\{([^}]*)\}", tex)


# ------------------------------------------------------------- the softmax head
def test_softmax_report_passes_and_renders_deterministically(softmax_report, softmax_tex):
    assert softmax_report.ok, softmax_report.failures()
    assert render_general(softmax_report) == softmax_tex
    body = softmax_tex.split("\\begin{document}")[1]
    assert "\\failed" not in body and "SOME CHECKS FAILED" not in body


def test_softmax_report_sections_follow_the_network(softmax_tex):
    assert _sections(softmax_tex) == [
        "The network and its notation",
        "Forward propagation and the cost",
        "The head: softmax with cross-entropy",
        "Backward propagation, layer by layer",
        "The activations",
        "Verification",
        "Figures",
    ]
    # no errata and no training: they belong to the article's network
    assert "Errata" not in softmax_tex and "sec:errata" not in softmax_tex
    assert "sec:training" not in softmax_tex


def test_softmax_head_derivation_is_on_the_page(softmax_tex):
    head = softmax_tex.split("\\section{The head")[1].split("\\section{")[0]
    assert "\\subsection{The softmax Jacobian}" in head
    assert "\\subsection{The cross-entropy through the softmax}" in head
    # the Jacobian's result and the collapse to a - y, with the assumption stated
    assert r"\frac{\partial a_{i}}{\partial z_{k}} &= a_{i}\,\left(\delta_{i k} - a_{k}\right)" in head
    assert r"\mathrm{d}Z_{k} &= a_{k} - y_{k}" in head
    assert r"\textbf{assumption:} $\sum_{i=1}^{q} y_{i} = 1$" in head
    assert "sigma" not in head  # no sigmoid facts for a softmax head


def test_one_subsection_per_layer(softmax_tex):
    layers = re.findall(r"\\subsection\{Layer (\d+): ([^}]*)\}", softmax_tex)
    assert [n for n, _ in layers] == ["2", "1"]
    assert "output layer (softmax with cross-entropy)" in layers[0][1]
    assert "hidden" in layers[1][1] and "tanh" in layers[1][1]
    # dA1 is computed by layer 2 only; each gradient appears once
    paragraphs = re.findall(r"\\paragraph\{\$([^$]*)\$", softmax_tex)
    assert paragraphs == [r"\mathrm{d}Z_{2}", r"\mathrm{d}W_{2}", r"\mathrm{d}b_{2}", r"\mathrm{d}A_{1}",
                          r"\mathrm{d}Z_{1}", r"\mathrm{d}W_{1}", r"\mathrm{d}b_{1}"]


def test_shape_table_comes_from_the_widths(softmax_tex):
    table = softmax_tex.split("\\label{tab:notation}")[1].split("\\end{tabular}")[0]
    for row in (r"$W_{1}$, $b_{1}$ & $n \times d$, $n \times 1$ & $3 \times 4$, $3 \times 1$",
                r"$W_{2}$, $b_{2}$ & $q \times n$, $q \times 1$ & $2 \times 3$, $2 \times 1$",
                r"$Y$ & $q \times m$ & $2 \times m$"):
        assert row in table
    assert "$d = 4$, $n = 3$, $q = 2$" in softmax_tex


def test_cost_and_captions(softmax_tex):
    assert r"J = -\frac{1}{m}\sum_{i=1}^{q} \sum_{k=1}^{m} Y_{ik} \log (A_{2})_{ik}" in softmax_tex
    for label in ("tab:notation", "tab:level1", "tab:numeric", "fig:activation-1"):
        assert f"\\label{{{label}}}" in softmax_tex
    assert softmax_tex.count("\\captionof{table}") == softmax_tex.count("\\begin{tabular}")
    assert "xlabel" in softmax_tex and "ylabel" in softmax_tex


def test_failed_check_is_shown_as_failed(softmax_report):
    """Negative control: a proof that failed makes the report say so."""
    broken = copy.deepcopy(softmax_report)
    broken.proofs[0].failures.append(("dW1", (0, 0), "residual 1"))
    assert not broken.ok and "exact proof" in broken.failures()[0]
    tex = render_general(broken)
    assert "SOME CHECKS FAILED" in tex and "\\failed" in tex


@pytest.mark.parametrize(
    "net, stem",
    [
        (SOFTMAX, "network-4-3-2-tanh-softmax-ce"),
        (numeric.Network(widths=(5, 3), activations=(), head="identity-mse", mse="torch", reduction="sum"),
         "network-5-3-identity-mse-sum-mse_torch"),
        (numeric.Network(widths=(6, 5, 4, 1), activations=("relu", "tanh"), l2=0.5, l2_convention="lambda/2"),
         "network-6-5-4-1-relu-tanh-sigmoid-bce-l2_0p5-l2half"),
    ],
    ids=["softmax", "mse-depth-1", "l2"],
)
def test_report_names(net, stem):
    assert report_name_of(net) == stem


# ----------------------------------------------------------------- the command
@pytest.mark.parametrize(
    "argv, message",
    [
        (["--widths", "64,x,10"], "argument --widths: expected comma-separated positive integers"),
        (["--widths", "64,0,10"], "argument --widths: expected comma-separated positive integers"),
        (["--widths", "64"], "--widths needs an input and an output width"),
        (["--head", "softmax-ce"], "give its widths too"),
        (["--widths", "64,32,10", "--head", "softmax"], "argument --head: invalid choice"),
        (["--widths", "64,32,16,10", "--activations", "relu,tanh,relu"], "3 names for 2 hidden layers"),
        (["--widths", "64,32,10", "--activations", "relu,"], "expected comma-separated activation names"),
        (["--widths", "64,32,10", "--activations", "foo"], "takes catalog activations"),
        (["--widths", "5,3", "--activations", "relu"], "no hidden layer"),
        (["--widths", "64,32,1", "--head", "softmax-ce"], "softmax-ce needs at least 2 outputs"),
        (["--widths", "64,32,10", "--l2", "-1"], "--l2: expected a finite number >= 0"),
        (["--widths", "64,32,10", "--l2", "nan"], "argument --l2: expected a finite number"),
        (["--widths", "64,32,10", "--mse-convention", "torch"], "applies to the MSE heads"),
        (["--widths", "64,32,10", "--l2-convention", "lambda/2"], "needs --l2 LAMBDA > 0"),
        (["--widths", "64,32,10", "--f", "tanh"], "with --widths give --activations instead"),
        (["--widths", "64,32,10", "--activation", "z*tanh(z)"], "does not take --widths"),
    ],
    ids=["letter", "zero", "one-width", "no-widths", "bad-head", "count", "empty-name", "unknown",
         "depth-1-activation", "softmax-q1", "negative-l2", "nan-l2", "mse-without-mse-head",
         "l2-convention-without-l2", "f-with-widths", "activation-with-widths"],
)
def test_bad_description_exits_2_with_one_line(argv, message, tmp_path, capsys):
    code = main(["report", "--out", str(tmp_path), "--no-pdf", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert message in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_report_command_takes_a_description(tmp_path, monkeypatch, capsys, softmax_report):
    import derive.report.general as general

    seen = {}

    def fake(network, *, seed, progress):
        seen["network"] = network
        progress("derive: ...")
        return softmax_report

    monkeypatch.setattr(general, "collect_general", fake)
    code = main(["report", "--out", str(tmp_path), "--no-pdf", "--widths", "4,3,2", "--activations", "tanh",
                 "--head", "softmax-ce"])
    assert code == 0, capsys.readouterr().err
    assert seen["network"] == SOFTMAX
    pair = read_pair(tmp_path, "network-4-3-2-tanh-softmax-ce")
    assert pair.tex.exists() and "The head: softmax with cross-entropy" in pair.tex.read_text()


def test_one_activation_is_used_for_every_hidden_layer(monkeypatch, tmp_path, softmax_report):
    import derive.report.general as general

    seen = {}
    monkeypatch.setattr(general, "collect_general",
                        lambda network, **k: seen.setdefault("network", network) and softmax_report)
    main(["report", "--out", str(tmp_path), "--no-pdf", "--widths", "6,5,4,3,1", "--activations", "relu",
          "--reduction", "sum", "--l2", "0.1", "--l2-convention", "lambda/2"])
    net = seen["network"]
    assert net.activations == ("relu", "relu", "relu") and net.depth == 4
    assert (net.reduction, net.l2, net.l2_convention, net.head) == ("sum", 0.1, "lambda/2", "sigmoid-bce")


# ------------------------------------------------------------ other heads (slow)
@pytest.mark.slow
def test_depth_1_mse_report_has_no_hidden_layer_sections():
    net = numeric.Network(widths=(5, 3), activations=(), head="identity-mse", mse="torch", l2=0.01)
    report = collect_general(net)
    assert report.ok, report.failures()
    tex = render_general(report)
    assert "The activations" not in _sections(tex) and "Figures" not in _sections(tex)
    assert re.findall(r"\\subsection\{Layer (\d+)", tex) == ["1"]
    assert "\\paragraph{affine: input.}" not in tex and "\\paragraph{elementwise.}" not in tex
    assert r"J = \frac{1}{q\,m}\sum_{i=1}^{q}" in tex and r"\frac{\lambda}{2m} \sum_{l=1}^{1}" in tex
    assert "\\subsection{The L2 term}" in tex and "\\subsection{The squared error}" in tex


@pytest.mark.slow
def test_article_shaped_description_carries_the_errata():
    net = numeric.Network(widths=(4, 3, 2, 1), activations=("swish", "leaky_relu"))
    report = collect_general(net, numeric_shapes=[(4, 3, 2, 1, 3)])
    assert report.ok, report.failures()
    assert "Errata of the source article" in _sections(render_general(report))


_MISSING = [tool for tool in ("latexmk", "pdflatex", "pdftotext") if shutil.which(tool) is None]


@pytest.mark.slow
def test_softmax_report_builds_a_clean_pdf(tmp_path):
    """The issue's command, end to end: ``report --widths 64,32,10 --activations
    relu --head softmax-ce`` writes a .tex and a PDF that belong together."""
    if _MISSING:
        if os.environ.get("CI"):
            pytest.fail(f"TeX Live / poppler-utils missing: {', '.join(_MISSING)} (see .ci/run)")
        pytest.skip(f"TeX Live / poppler-utils missing: {', '.join(_MISSING)}")
    net = numeric.Network(widths=(64, 32, 10), activations=("relu",), head="softmax-ce")
    report = collect_general(net)
    assert report.ok, report.failures()
    written = write_report(render_general(report), tmp_path, report_name_of(net), pdf=True)
    problems = log_problems(written.log)
    assert problems.errors == () and problems.undefined_references == ()
    wide = [(pt, where) for pt, where in problems.overfull if pt > 10.0]
    assert wide == [], f"overfull boxes wider than 10pt: {wide}"
    pair = read_pair(tmp_path, "network-64-32-10-relu-softmax-ce")
    assert pair.pdf is not None
    text = subprocess.run(["pdftotext", "-layout", str(pair.pdf), "-"], capture_output=True, text=True,
                          timeout=60, check=True).stdout
    for title in ("The head: softmax with cross-entropy", "The softmax Jacobian", "Layer 2: the output layer",
                  "Layer 1: hidden", "Level 1: exact at concrete shapes"):
        assert title in text
    assert "Errata" not in text


@pytest.mark.slow
@pytest.mark.parametrize("head", ["sigmoid-bce", "softmax-ce"])
def test_sum_reduction_report_derives_the_summed_cost(head):
    """Under reduction=sum the head's derivation starts from the summed cost and ends with
    dZ = dJ/dZ (N = 1); the mean report's "m times" and 1/m appear nowhere in it."""
    widths = (4, 3, 2) if head == "softmax-ce" else (4, 3, 1)
    net = numeric.Network(widths=widths, activations=("tanh",), head=head, reduction="sum")
    report = collect_general(net, proof_shapes=[(2, 3, 2, 2)], numeric_shapes=[(4, 3, 2, 3)])
    assert report.ok, report.failures()
    tex = render_general(report)
    head_part = tex[tex.index("\\section{The head"):] if "\\section{The head" in tex else tex
    assert "$N = 1$" in tex and "m$ times the line before" not in tex
    if head == "sigmoid-bce":
        assert "\\paragraph{sigmoid + BCE (sum).}" in tex and "\\paragraph{sigmoid + BCE.}" not in tex
        assert "summed over the examples, $N = 1$) that holds this entry" in head_part
    else:
        assert "\\paragraph{softmax + CE (sum).}" in tex
        assert r"-\frac{y_{i}}{a_{i}}" in tex and r"-\frac{y_{i}}{m\,a_{i}}" not in tex
