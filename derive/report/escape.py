"""Escaping user text for LaTeX: every character comes out as literal text.

User text (activation strings, names) may hold LaTeX commands such as
``\\input`` or ``\\write18``, comment characters, or braces that would
unbalance the document.  :func:`latex_escape` turns each special character
into a command that prints it, so nothing the user wrote is ever executed
by TeX.  Characters outside printable ASCII become ``[U+XXXX]`` (pdfTeX
stops on Unicode characters its fonts do not set up).
"""

from __future__ import annotations

__all__ = ["latex_escape", "file_slug"]

_SPECIAL: dict[str, str] = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    '"': r"\textquotedbl{}",
    "'": r"\textquotesingle{}",
    "`": r"\textasciigrave{}",
    "-": r"-{}",  # no -- or --- ligatures
}


def _char(c: str) -> str:
    if c in _SPECIAL:
        return _SPECIAL[c]
    if c == " " or ("!" <= c <= "~"):
        return c
    if c in "\n\t":
        return " "
    return f"[U+{ord(c):04X}]"


def latex_escape(text: str) -> str:
    r"""Return ``text`` as LaTeX source that prints it literally.

    Works in text mode (including inside ``\texttt``).  The result contains
    no unescaped ``\ { } $ & % # _ ^ ~``, so it can neither run a command
    nor end a group, a comment or math mode.

    Args:
        text: any string, typically from the command line.

    Returns:
        LaTeX source.

    Raises:
        TypeError: ``text`` is not a string.

    Example:
        >>> print(latex_escape(r"\input{x} 50% a_b"))
        \textbackslash{}input\{x\} 50\% a\_b
    """
    if not isinstance(text, str):
        raise TypeError(f"latex_escape takes a string, got {type(text).__name__}")
    return "".join(_char(c) for c in text)


def file_slug(text: str, *, limit: int = 40) -> str:
    """A file-name-safe slug of ``text``: letters, digits, ``-`` and ``_`` only.

    Example:
        >>> file_slug("z*tanh(log(1 + exp(z)))")
        'z-tanh-log-1-exp-z'
    """
    out = []
    for c in text:
        ok = c.isascii() and (c.isalnum() or c in "_-")
        out.append(c if ok else "-")
    slug = "-".join(part for part in "".join(out).split("-") if part)
    return slug[:limit].strip("-_") or "expr"
