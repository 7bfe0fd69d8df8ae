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


def activation_stem(text: str, *, seed: int = 0) -> str:
    """File stem of the report of ``text``: a slug and a short hash, then
    ``-seed_N`` when the seed is not the default 0.

    Example:
        >>> activation_stem("z*tanh(z)")
        'activation-z-tanh-z-867096'
    """
    stem = f"activation-{file_slug(text, limit=32)}-{hashlib.sha256(text.encode()).hexdigest()[:6]}"
    return stem + (f"-seed_{seed}" if seed != 0 else "")


def _t(text: Any) -> str:
    return latex_escape(str(text))


def _mark(ok: bool) -> str:
    return r"\ok{}" if ok else r"\failed{}"


def _warnings(report: Any) -> list[str]:
    """Accuracy warnings (graded findings that are not faults), from whatever
    the :class:`ActivationReport` exposes."""
    out = [str(w) for w in (getattr(report, "warnings", None) or [])]
    for c in report.numpy_checks:
        out += [f"NumPy {c.name}: {w}" for w in (getattr(c, "warnings", None) or [])]
    return out


def _verdict(report: Any, warnings: list[str]) -> str:
    if not report.ok:
        return "FAULTS FOUND (Section~\\ref{sec:act-faults})"
    if warnings:
        return f"no faults, {len(warnings)} accuracy warning{'s' if len(warnings) != 1 else ''} (Section~\\ref{{sec:act-numpy}})"
    if not report.numpy_checks:
        return ("no faults in the checks of Sections~\\ref{sec:act-derivative}--\\ref{sec:act-network}; "
                "NumPy soundness was not checked (no NumPy implementation given)")
    return "every check passed"


def render_activation(report: Any, text: str) -> str:
    """LaTeX of an :class:`~derive.activation_check.ActivationReport` (pure).

    Environment notes (time limits hit, optional packages missing) are not
    part of the document; :func:`activation_report` passes them to the
    progress lines instead.  Measured errors that go through BLAS are shown
    as pass/fail against their tolerance.

    Args:
        report: what :func:`derive.activation_check.check` returned.
        text: the user's text of the activation (printed escaped).
    """
    from derive.report.layout import align as _align, caption_table, document, sci
    from derive.report.plots import activation_panels, figure

    body: list[str] = []
    warnings = _warnings(report)
    body.append(
        "\\begin{abstract}\nThe checks \\texttt{backprop-derive} makes of one activation function $f$, "
        f"written as \\texttt{{{_t(text)}}}. Verdict: {_verdict(report, warnings)}. Every formula is printed "
        "from the sympy object that \\texttt{check\\_activation} checked.\n\\end{abstract}"
    )
    body.append("\\section{The activation and its derivative}\\label{sec:act-derivative}")
    body.append(f"As given: \\texttt{{{_t(text)}}}, read by the safe parser (no \\texttt{{eval}}).")
    if report.params:
        body.append("Parameters: " + ", ".join(f"\\texttt{{{_t(k)}}} = \\texttt{{{_t(v)}}}" for k, v in report.params.items()) + ".")
    body.append(_align([("f(z)", report.expression, None), ("f'(z)", report.derivative, None)]))
    body.append("\\checked{$f'$ is sympy's derivative of each smooth piece of $f$.}")
    body.append("\\section{Break points and kinks}")
    if report.breakpoints:
        rows = "\n".join(
            f"  ${tex(b.z)}$ & {_t(b.kind)} & ${tex(b.left_derivative)}$ & ${tex(b.right_derivative)}$ \\\\"
            for b in report.breakpoints
        )
        body.append(caption_table(
            "Break points of $f$, with the one-sided derivatives.", "tab:act-breaks",
            "\\begin{tabular}{@{}llll@{}}\\toprule\n"
            "  $z$ & kind & left $f'$ & right $f'$ \\\\\\midrule\n" + rows + "\n\\bottomrule\\end{tabular}",
        ))
        body.append("\\checked{break points of \\texttt{Piecewise}, \\texttt{Abs}, \\texttt{Max}/\\texttt{Min}, "
                    "\\texttt{sign} and \\texttt{Heaviside}; one-sided derivatives from the neighbouring pieces.}")
    else:
        body.append("None: $f$ has a single smooth piece.")
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
    body.append("\\section{NumPy soundness}\\label{sec:act-numpy}")
    items = []
    if report.claim is not None:
        items.append(f"\\item {_mark(report.claim.ok)} {_t(report.claim)}")
    items += [f"\\item {_mark(c.ok)} {_t(c)}" for c in report.numpy_checks]
    items += [f"\\item \\textbf{{warning}}: {_t(w)}" for w in warnings]
    if items:
        body.append("Each NumPy function is compared with the high-precision value of the sympy expression "
                    "over the float64 range.\n\\begin{itemize}\n" + "\n".join(items) + "\n\\end{itemize}")
    else:
        body.append("Not checked: no NumPy implementation of $f$ or $f'$ was given "
                    "(the library call \\texttt{derive.check\\_activation(..., numpy\\_value=...)} checks one).")
    body.append("\\section{Backpropagation through the network}\\label{sec:act-network}")
    if report.network:
        names = list(report.network[0].errors)
        head = " & ".join(_t(n) for n in names)
        rows = []
        for n in report.network:
            cells = " & ".join(
                _mark(n.errors[k] <= n.tolerances[k] and not n.error) for k in names
            )
            shape = ", ".join(str(s) for s in n.shape)
            rows.append(f"  $({shape})$, seed {n.seed} & {cells} \\\\")
        tol = " & ".join(f"${sci(report.network[0].tolerances[k])}$" for k in names)
        body.append(
            "The article's network with this activation as both $f$ and $g$: for each comparison, whether the "
            "max-norm relative error of the six gradients stays below the tolerance "
            "(Table~\\ref{tab:act-network}; the errors' last digits depend on the BLAS kernel, so they are "
            "not printed).\n"
            + caption_table(
                "Backpropagation with $f$ as both hidden activations, one row per problem $(d, n, p, q, m)$.",
                "tab:act-network",
                "\\begin{tabular}{@{}l" + ">{\\centering\\arraybackslash}p{2.9cm}" * len(names) + "@{}}\\toprule\n"
                f"  problem & {head} \\\\\\midrule\n" + "\n".join(rows)
                + f"\n  \\midrule tolerance & {tol} \\\\\n\\bottomrule\\end{{tabular}}",
            )
        )
    else:
        body.append("Not run (the activation failed an earlier check).")
    if report.faults:
        body.append("\\section{Faults}\\label{sec:act-faults}\n\\begin{itemize}\n"
                    + "\n".join(f"\\item {_t(f)}" for f in report.faults) + "\n\\end{itemize}")
    kinks = [float(b.z) for b in report.breakpoints if b.kind != "smooth"]
    try:
        curves = activation_curves(report.expression, report.derivative, kinks)
    except (TypeError, ValueError, OverflowError, ZeroDivisionError):
        curves = None
    if curves is not None and curves[0].segments and curves[1].segments:
        body.append(
            "\\section{Figure}\n"
            + figure(
                activation_panels("f", curves),
                "$f$ (left) and $f'$ (right) on $[-4, 4]$, evaluated from the sympy expressions with mpmath; "
                "a jump of $f'$ at a kink is drawn as a jump.",
                "fig:act-curves",
            )
        )
    title = f"Activation report\\\\[0.3em]\\large\\texttt{{{_t(text)}}}"
    return document(
        title, body, pdf_title=f"Activation report: {_t(text)}",
        subject="An activation function and its derivative, checked by backprop-derive",
        keywords="activation function, derivative, sympy, NumPy, backpropagation",
    )


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
    for note in report.notes:  # environment notes belong on the console, not in the document
        say(f"note: {note}")
    say("render: LaTeX text")
    tex_text = render_activation(report, expression)
    return activation_stem(expression, seed=seed), tex_text, report.ok, list(report.faults)
