"""The report of one custom activation, drawn from :func:`derive.activation_check.check`.

``check_activation`` does the checking (pieces and break points, sympy's
derivative, the output form, high-precision evaluation, NumPy soundness and
backprop through the network); this module only renders its
:class:`~derive.check_activation.ActivationReport`, plus a plot of f and f'
sampled from the lambdified expressions.  The user's text is parsed by the
safe parser and always printed escaped.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

from derive.report.build import ReportError
from derive.report.escape import file_slug, latex_escape
from derive.report.figures import activation_curves
from derive.report.texprint import tex

__all__ = ["activation_report", "render_activation", "activation_stem"]

Progress = Callable[[str], None]


def activation_stem(text: str) -> str:
    """File stem of the report of ``text``: a slug and a short hash.

    Example:
        >>> activation_stem("z*tanh(z)")
        'activation-z-tanh-z-867096'
    """
    return f"activation-{file_slug(text, limit=32)}-{hashlib.sha256(text.encode()).hexdigest()[:6]}"


def _t(text: Any) -> str:
    return latex_escape(str(text))


def _mark(ok: bool) -> str:
    return r"\ok{}" if ok else r"\failed{}"


def _sci(x: float) -> str:
    if x != x:  # nan
        return "nan"
    if x == 0:
        return "0"
    mant, exp = f"{x:.1e}".split("e")
    return f"{mant}\\times 10^{{{int(exp)}}}"


def render_activation(report: Any, text: str) -> str:
    """LaTeX of an :class:`~derive.check_activation.ActivationReport` (pure).

    Args:
        report: what :func:`derive.activation_check.check` returned.
        text: the user's text of the activation (printed escaped).
    """
    from derive.report.latex import MEASURED_BEGIN, MEASURED_END, _align, document

    body: list[str] = []
    verdict = "every check passed" if report.ok else "FAULTS FOUND"
    body.append(
        "\\begin{abstract}\nThe checks \\texttt{backprop-derive} makes of one activation function, "
        f"written as \\texttt{{{_t(text)}}}. Verdict: {verdict}. Every formula is printed from the sympy "
        "object that \\texttt{check\\_activation} checked.\n\\end{abstract}"
    )
    # 1. the activation and its derivative
    body.append("\\section{The activation and its derivative}")
    body.append(f"As given: \\texttt{{{_t(text)}}}, read by the safe parser (no \\texttt{{eval}}).")
    if report.params:
        body.append("Parameters: " + ", ".join(f"\\texttt{{{_t(k)}}} = \\texttt{{{_t(v)}}}" for k, v in report.params.items()) + ".")
    body.append(_align([("f(z)", report.expression, None), ("f'(z)", report.derivative, None)]))
    body.append("\\checked{$f'$ is sympy's derivative of each smooth piece of $f$, simplified within a time limit.}")
    # 2. break points
    body.append("\\section{Break points and kinks}")
    if report.breakpoints:
        rows = "\n".join(
            f"  ${tex(b.z)}$ & {_t(b.kind)} & ${tex(b.left_derivative)}$ & ${tex(b.right_derivative)}$ \\\\"
            for b in report.breakpoints
        )
        body.append(
            "\\begin{center}\\small\\begin{tabular}{@{}llll@{}}\\toprule\n"
            "  $z$ & kind & left $f'$ & right $f'$ \\\\\\midrule\n" + rows + "\n\\bottomrule\\end{tabular}\\end{center}"
        )
        body.append("\\checked{break points of \\texttt{Piecewise}, \\texttt{Abs}, \\texttt{Max}/\\texttt{Min}, "
                    "\\texttt{sign} and \\texttt{Heaviside}; one-sided derivatives from the neighbouring pieces.}")
    else:
        body.append("None: $f$ has a single smooth piece.")
    # 3. output form
    body.append("\\section{The derivative in terms of the output}")
    if report.output_form is not None:
        body.append(_align([("f'", report.output_form, None)]))
        body.append(f"with $a = f(z)$. \\checked{{{_t(report.output_form_note)}.}}")
    else:
        note = str(report.output_form_note)
        for prefix in ("none: ", "none"):
            if note.startswith(prefix):
                note = note[len(prefix):]
                break
        body.append(f"No such form: {_t(note.strip() or 'none found')}.")
    # 4. claims, NumPy soundness, network
    body.append("\\section{Checks}")
    items = []
    if report.claim is not None:
        items.append(f"\\item {_mark(report.claim.ok)} {_t(report.claim)}")
    items += [f"\\item {_mark(c.ok)} {_t(c)}" for c in report.numpy_checks]
    if items:
        body.append("\\begin{itemize}\n" + "\n".join(items) + "\n\\end{itemize}")
    if report.network:
        names = list(report.network[0].errors)
        head = " & ".join(_t(n) for n in names)
        rows = []
        for n in report.network:
            cells = " & ".join(f"$\\meas{{{_sci(n.errors[k])}}}$" for k in names)
            shape = ", ".join(str(s) for s in n.shape)
            rows.append(f"  $({shape})$, seed {n.seed} & {cells} & {_mark(n.ok)} \\\\")
        tol = " & ".join(f"${_sci(report.network[0].tolerances[k])}$" for k in names)
        body.append(
            "Backprop through the article's network with this activation as $f$ and $g$: worst max-norm relative "
            "error of the six gradients.\n"
            "\\begin{center}\\small\\begin{tabular}{@{}l" + ">{\\raggedright\\arraybackslash}p{3.2cm}" * len(names)
            + "l@{}}\\toprule\n"
            f"  $(d, n, p, q, m)$ & {head} & \\\\\\midrule\n" + "\n".join(rows)
            + f"\n  \\midrule tolerance & {tol} & \\\\\n\\bottomrule\\end{{tabular}}\\end{{center}}"
        )
    if report.faults:
        body.append("\\paragraph{Faults.}\n\\begin{itemize}\n" + "\n".join(f"\\item {_t(f)}" for f in report.faults)
                    + "\n\\end{itemize}")
    if report.notes:
        body.append("\\paragraph{Notes.}\n\\begin{itemize}\n" + "\n".join(f"\\item {_t(n)}" for n in report.notes)
                    + "\n\\end{itemize}")
    # 5. figure
    kinks = [float(b.z) for b in report.breakpoints if b.kind != "smooth"]
    try:
        f_curve, d_curve = activation_curves(report.expression, report.derivative, kinks)
    except (TypeError, ValueError, OverflowError):  # pragma: no cover - a function NumPy cannot sample
        f_curve = d_curve = None
    if f_curve is not None and d_curve is not None:
        plots = []
        for curve, style, legend in ((f_curve, "blue, thick", "$f$"), (d_curve, "red, thick, dashed", "$f'$")):
            for i, seg in enumerate(curve.segments):
                forget = "" if i == len(curve.segments) - 1 else ", forget plot"
                pts = "\n".join(f"{x:.6g} {y:.6g}" for x, y in seg)
                plots.append(f"\\addplot[{style}{forget}, unbounded coords=jump] table {{\n{MEASURED_BEGIN}\n{pts}\n{MEASURED_END}\n}};")
            plots.append(f"\\addlegendentry{{{legend}}}")
        body.append(
            "\\section{Figure}\n\\begin{center}\n\\begin{tikzpicture}\n\\begin{axis}[width=0.7\\linewidth, height=6cm, "
            "xlabel={$z$}, grid=major, legend pos=north west]\n" + "\n".join(plots)
            + "\n\\end{axis}\n\\end{tikzpicture}\n\\end{center}\n"
            "$f$ and $f'$ sampled from the lambdified sympy expressions; a jump of $f'$ at a kink is drawn as a jump."
        )
    title = f"Activation report\\\\[0.3em]\\large\\texttt{{{_t(text)}}}"
    return document(title, body)


def activation_report(
    expression: str, *, seed: int = 0, progress: Progress | None = None
) -> tuple[str, str, bool, list[str]]:
    """Check one activation with :func:`derive.activation_check.check` and render it.

    Returns:
        (file stem, LaTeX text, ok, faults).

    Raises:
        ReportError: ``derive.check_activation`` is not available.
        InputError, ParseError, StepTimeout: from the check (bad text, a sympy
            step that ran too long).
    """
    say = progress or (lambda msg: None)
    try:
        from derive.activation_check.check import check_activation
    except ImportError:
        raise ReportError(
            "report --activation needs derive.check_activation, which is not available in this version"
        ) from None
    from derive.report.network import resolve

    say("derive: parse the activation, its pieces and derivative")
    spec = resolve(expression)
    say("prove / check: check_activation (derivative, output form, NumPy soundness, network backprop)")
    report = check_activation(spec, seed=seed)
    say("render: LaTeX text")
    tex_text = render_activation(report, expression)
    return activation_stem(expression), tex_text, report.ok, list(report.faults)
