"""The LaTeX report: escaping, golden strings, determinism, atomic writes, the command."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from derive.chain import derive_backward
from derive.report import build
from derive.report.build import LatexBuildError, ReportError, atomic_write, log_problems, write_report
from derive.report.escape import file_slug, latex_escape
from derive.proof.index_form import index_rules, layer_index_forms
from derive.report.latex import render_derivation, render_network
from derive.report.pair import stamp
from derive.report.matrix_chain import matrix_chains
from derive.report.network import cached_network, collect_network, report_name
from derive.report.texprint import align_rows, tex, tex_shapes
from derive.scalar import bce_simplification, sigmoid_derivative

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "reports" / "network-swish-leaky_relu.tex"


# ----------------------------------------------------------------- escaping
@pytest.mark.parametrize(
    "text, expected",
    [
        (r"\input{/etc/passwd}", r"\textbackslash{}input\{/etc/passwd\}"),
        (r"\write18{rm -rf /}", r"\textbackslash{}write18\{rm -{}rf /\}"),
        ("50% off", r"50\% off"),
        ("#1", r"\#1"),
        ("leaky_relu", r"leaky\_relu"),
        ("z^2", r"z\textasciicircum{}2"),
        ("~z", r"\textasciitilde{}z"),
        ("a\\b", r"a\textbackslash{}b"),
        ("{}", r"\{\}"),
        ("$x$ & y", r"\$x\$ \& y"),
        ("z·tanh", "z[U+00B7]tanh"),
        ("line\nbreak", "line break"),
    ],
    ids=["input", "write18", "percent", "hash", "underscore", "caret", "tilde", "backslash",
         "braces", "dollar-amp", "unicode", "newline"],
)
def test_latex_escape_table(text, expected):
    assert latex_escape(text) == expected


_ESCAPES = re.compile(
    r"\\text(?:backslash|asciicircum|asciitilde|less|greater|bar|quotedbl|quotesingle|asciigrave)\{\}"
    r"|\\[{}$&%#_]|-\{\}"
)


@given(st.text(max_size=60))
def test_latex_escape_leaves_no_active_character(text):
    """Once the escape sequences are removed, no character TeX acts on is left."""
    rest = _ESCAPES.sub("", latex_escape(text))
    assert not set(rest) & set("\\{}$&%#_^~")
    assert all(" " <= c <= "~" for c in rest)


def test_latex_escape_rejects_non_strings():
    with pytest.raises(TypeError, match="takes a string"):
        latex_escape(3)  # type: ignore[arg-type]


def test_file_slug_and_report_name():
    assert file_slug(r"\input{x}/../..") == "input-x"
    assert report_name("swish", "leaky_relu") == "network-swish-leaky_relu"
    a, b = report_name("z*tanh(z)", "tanh"), report_name("z+tanh(z)", "tanh")
    assert a != b and re.fullmatch(r"network-[A-Za-z0-9_-]+", a)


# ------------------------------------------------------------ golden strings
SIGMOID_GOLDEN = r"""\begin{align*}
  \frac{\mathrm{d}}{\mathrm{d} z} \sigma\left(z\right) &= \frac{\mathrm{d}}{\mathrm{d} z} \frac{1}{1 + e^{- z}} \tag*{[1]} \\
  &= - \frac{\frac{\mathrm{d}}{\mathrm{d} z} \left(1 + e^{- z}\right)}{\left(1 + e^{- z}\right)^{2}} \tag*{[2]} \\
  &= \frac{e^{- z}}{\left(1 + e^{- z}\right)^{2}} \tag*{[3]} \\
  &= \frac{1}{1 + e^{- z}} \cdot \frac{e^{- z}}{1 + e^{- z}} \tag*{[4]} \\
  &= \frac{1}{1 + e^{- z}} \cdot \left(1 - \frac{1}{1 + e^{- z}}\right) \tag*{[5]} \\
  &= A \left(1 - A\right) \tag*{[6]}
\end{align*}"""


def test_sigmoid_derivation_golden():
    """One continuous chain (the named result continues it), the split
    fraction shown split, upright d, every note LaTeX math, the common check said once."""
    out = render_derivation(sigmoid_derivative())
    assert out.startswith(SIGMOID_GOLDEN)
    notes = out.split("\\end{align*}")[1]
    assert r"\left(\frac{u}{v}\right)' = \frac{u'v - u v'}{v^{2}}" in notes
    assert "sympy" not in notes.split("\\checked")[0]  # said once, below the list
    assert notes.count("sympy simplifies the difference") == 1
    assert "^" not in latex_escape("x") and "textasciicircum" not in notes


def test_bce_derivation_golden():
    out = render_derivation(bce_simplification())
    rows = out.split("\\end{align*}")[0].split(" \\\\\n")
    # the cost written as in Section 2; the differentiated cost by its name
    assert rows[0].endswith(
        r"L &= -\frac{1}{m}\left[Y \log A_{3} + \left(1 - Y\right) \log{\left(1 - A_{3} \right)}\right] \tag*{[1]}"
    )
    assert rows[1].lstrip().startswith(r"\frac{\partial L}{\partial A_{3}} &=")
    assert rows[-2] == r"  &= \frac{A_{3} - Y}{m} \tag*{[6]}"
    assert rows[-1].rstrip() == r"  \mathrm{d}Z_{3} &= A_{3} - Y \tag*{[7]}"
    assert out.count(r"\item[{[") == 7 and r"\failed" not in out


def test_key_formulas_golden():
    steps = {str(s.lhs): s.rhs for s in derive_backward().steps}
    assert tex(steps["dW3"]) == r"\frac{1}{m}\,\mathrm{d}Z_{3}\,A_{2}^{\top}"
    assert tex(steps["db1"]) == r"\frac{1}{m}\,\mathrm{d}Z_{1}\,\mathbf{1}_{m}"
    assert tex(steps["dZ2"]) == r"\left(W_{3}^{\top}\,\mathrm{d}Z_{3}\right) \odot g'\left(Z_{2}\right)"
    assert tex_shapes(steps["dW1"]) == (
        r"\frac{1}{m}\,\underbrace{\mathrm{d}Z_{1}}_{n \times m}\,\underbrace{X^{\top}}_{m \times d}"
    )
    forms = {e.name: e for e in layer_index_forms()}
    assert tex(forms["dW1"].rhs) == (
        r"\frac{1}{m}\,\sum_{k=1}^{m} \left(\mathrm{d}Z_{1}\right)_{ik}\,X_{jk}"
    )
    assert tex(forms["db2"].lhs) == r"\left(\mathrm{d}b_{2}\right)_{i}"


def test_symbol_names_from_outside_are_escaped():
    evil = sp.Symbol(r"\input{x}")
    assert r"\input" not in tex(evil + 1)
    assert r"\textbackslash{}input" in tex(evil)
    fn = sp.Function("x_#")(sp.Symbol("z"))
    assert "#" not in tex(fn).replace(r"\#", "")


def test_long_sums_break_into_aligned_rows():
    z = sp.Symbol("z")
    expr = sum(sp.exp(k * z) * sp.tanh(z + k) for k in range(1, 8))
    rows = align_rows("f'(z)", expr, width=40)
    assert len(rows) > 2 and rows[0].startswith("f'(z) &=") and rows[1].startswith("&\\quad")


# --------------------------------------------------------- checks behind it
def test_index_rules_are_proven_for_symbolic_sizes():
    rules = index_rules()
    assert [r.name for r in rules] == ["affine: weight", "affine: bias", "affine: input", "elementwise", "sigmoid + BCE"]
    assert all(r.ok for r in rules)


def test_matrix_chain_negative_control():
    """A tampered derivation (dW3 doubled) cannot be reached by its chain."""
    d = derive_backward()
    bad = d.steps[1]
    d.steps[1] = type(bad)(bad.rule, bad.lhs, bad.rhs * 2)
    with pytest.raises(RuntimeError, match="the chain for dW3 ends at"):
        matrix_chains(d)


def test_small_report_renders_deterministically_and_passes():
    kwargs = dict(proof_shapes=[(1, 1, 1, 1, 2)], numeric_shapes=[(2, 2, 2, 1, 3)], training=False)
    first = collect_network("tanh", "relu", **kwargs)
    second = collect_network("tanh", "relu", **kwargs)
    assert first.ok, first.failures()
    a, b = render_network(first), render_network(second)
    assert a == b
    assert "\\today" not in a and "\\input" not in a.replace("\\input{", "")


@pytest.mark.slow
def test_committed_default_report_is_up_to_date():
    """reports/network-swish-leaky_relu.tex is byte for byte what the generator
    writes now: no printed number depends on the machine.  Regenerate with
    ``backprop-derive report``."""
    assert COMMITTED.exists(), f"missing {COMMITTED}; run backprop-derive report"
    current = stamp(render_network(cached_network()))
    assert COMMITTED.read_text(encoding="utf-8") == current, (
        "the committed report is out of date: run backprop-derive report"
    )


@pytest.mark.slow
def test_default_report_contents_in_order():
    tex_text = render_network(cached_network())
    titles = re.findall(r"\\section\{([^}]*)\}", tex_text)
    assert titles == [
        "The network and its notation",
        "Forward propagation and the cost",
        "The sigmoid derivative, by the quotient rule",
        "The cross-entropy simplification",
        "Backward propagation, layer by layer",
        "The activations",
        "Verification",
        "Training on handwritten digits",
        "Errata of the source article",
        "Figures",
    ]
    subs = re.findall(r"\\subsection\{\$\\mathrm\{d\}([A-Za-z])_\{(\d)\}\$", tex_text)
    assert ["".join(s) for s in subs] == ["Z3", "W3", "b3", "A2", "Z2", "W2", "b2", "A1", "Z1", "W1", "b1"]
    body = tex_text.split("\\begin{document}")[1]
    assert r"\failed" not in body and "SOME CHECKS FAILED" not in body
    assert tex_text.count(r"\toprule") >= 5 and "loglogaxis" in tex_text


# ----------------------------------------------------------- atomic writes
def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "sub" / "r.tex"
    atomic_write(target, "one")
    atomic_write(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["r.tex"]


def test_failed_rename_keeps_the_earlier_file(tmp_path, monkeypatch):
    target = tmp_path / "r.tex"
    atomic_write(target, "earlier")

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(build.os, "replace", boom)
    with pytest.raises(ReportError, match="No space left"):
        atomic_write(target, "later")
    assert target.read_text() == "earlier"
    assert [p.name for p in tmp_path.iterdir()] == ["r.tex"]


def test_failed_pdf_build_keeps_the_earlier_report(tmp_path, monkeypatch):
    write_report("earlier tex", tmp_path, "rep", pdf=False)
    (tmp_path / "rep.pdf").write_bytes(b"earlier pdf")

    def fail(tex, stem, **kw):
        raise LatexBuildError("LaTeX build of rep.tex failed: Undefined control sequence. (log: l.7 \\foo)")

    monkeypatch.setattr(build, "build_pdf", fail)
    with pytest.raises(LatexBuildError, match=r"l\.7"):
        write_report("new tex", tmp_path, "rep", pdf=True)
    assert (tmp_path / "rep.tex").read_text().endswith("\nearlier tex")
    assert (tmp_path / "rep.pdf").read_bytes() == b"earlier pdf"


def test_log_problems_finds_errors_references_and_overfull_boxes():
    log = "\n".join([
        "! Undefined control sequence.",
        "<recently read> \\foo",
        "l.42 \\foo",
        "LaTeX Warning: Reference `sec:x' on page 1 undefined on input line 3.",
        "Overfull \\hbox (12.5pt too wide) in paragraph at lines 10--12",
    ])
    p = log_problems(log)
    assert p.errors == ("Undefined control sequence. (log: l.42 \\foo)",)
    assert len(p.undefined_references) == 1
    assert p.overfull == ((12.5, "in paragraph at lines 10--12"),)


# ------------------------------------------------------------- the command
def _parser() -> argparse.ArgumentParser:
    from derive.cli import report as cmd_report

    parser = argparse.ArgumentParser(prog="backprop-derive")
    cmd_report.register(parser.add_subparsers(dest="command"))
    return parser


def test_report_command_writes_tex_with_progress(tmp_path, monkeypatch, capsys):
    import derive.report.network as network

    small = collect_network(proof_shapes=[(1, 1, 1, 1, 2)], numeric_shapes=[(2, 2, 2, 1, 3)], training=False)

    def fake(f, g, *, seed, progress):
        for stage in ("derive", "prove", "check"):
            progress(f"{stage}: ...")
        return small

    monkeypatch.setattr(network, "collect_network", fake)
    args = _parser().parse_args(["report", "--out", str(tmp_path), "--no-pdf"])
    assert args.run(args) == 0
    out, err = capsys.readouterr()
    assert (tmp_path / "network-swish-leaky_relu.tex").exists()
    assert str(tmp_path / "network-swish-leaky_relu.tex") in out
    for stage in ("derive:", "prove:", "check:", "render:"):
        assert f"[backprop-derive] {stage}" in err


def test_report_command_failed_check_writes_nothing(tmp_path, monkeypatch, capsys):
    import derive.report.network as network

    small = collect_network(proof_shapes=[(1, 1, 1, 1, 2)], numeric_shapes=[(2, 2, 2, 1, 3)], training=False)
    small.proofs[0].failures.append(("dW1", (0, 0), "residual 1"))
    monkeypatch.setattr(network, "collect_network", lambda *a, **k: small)
    (tmp_path / "network-swish-leaky_relu.tex").write_text("earlier")
    args = _parser().parse_args(["report", "--out", str(tmp_path), "--no-pdf"])
    assert args.run(args) == 1
    assert "checks failed, nothing written" in capsys.readouterr().err
    assert (tmp_path / "network-swish-leaky_relu.tex").read_text() == "earlier"


def test_report_activation_writes_a_checked_report(tmp_path, capsys):
    """--activation is built on derive.check_activation; without it, it says so and writes nothing."""
    text = r"where(z > 0, z, 0.1*z) + abs(z)/10"
    args = _parser().parse_args(["report", "--activation", text, "--out", str(tmp_path), "--no-pdf"])
    try:
        import derive.activation_check.check  # noqa: F401
    except ImportError:
        with pytest.raises(ReportError, match="needs derive.check_activation"):
            args.run(args)
        assert list(tmp_path.iterdir()) == []
        return
    from derive.report.activation_report import activation_stem

    assert args.run(args) == 0
    tex_text = (tmp_path / f"{activation_stem(text)}.tex").read_text()
    assert r"\texttt{where(z \textgreater{} 0, z, 0.1*z) + abs(z)/10}" in tex_text
    assert "kink" in tex_text and r"\failed" not in tex_text.split("\\begin{document}")[1]
    err = capsys.readouterr().err
    assert "[backprop-derive] render:" in err


def test_report_activation_refuses_latex_in_the_text(tmp_path):
    from numeric.errors import BackpropDeriveError

    pytest.importorskip("derive.activation_check.check")
    args = _parser().parse_args(["report", "--activation", r"\input{/etc/passwd}", "--out", str(tmp_path)])
    with pytest.raises(BackpropDeriveError):
        args.run(args)
    assert list(tmp_path.iterdir()) == []
