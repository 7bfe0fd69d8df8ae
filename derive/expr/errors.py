"""The error of the expression language: :class:`ParseError`, with the column."""

from __future__ import annotations

from numeric.errors import InputError

__all__ = ["ParseError"]


class ParseError(InputError):
    """The text is not a valid activation; ``column`` (1-based) says where.

    Attributes:
        reason: what is wrong, e.g. ``"unknown name 'foo'"``.
        text: the text that was parsed.
        column: 1-based column of the offending character.
    """

    def __init__(self, reason: str, text: str, column: int) -> None:
        self.reason, self.text, self.column = reason, text, column
        super().__init__(f"{reason} at column {column}: {_excerpt(text, column)}")


def _excerpt(text: str, column: int, width: int = 60) -> str:
    """The text (or a window of it around ``column``) on one line, quoted."""
    flat = "".join(c if c.isprintable() else " " for c in text)
    if len(flat) <= width:
        return repr(flat)
    start = max(0, min(column - 1 - width // 2, len(flat) - width))
    window = flat[start:start + width]
    return ("..." if start > 0 else "") + repr(window) + ("..." if start + width < len(flat) else "")


def short(x: object) -> str:
    """``str(x)`` cut to 20 characters for messages."""
    s = str(x)
    return s if len(s) <= 20 else s[:17] + "..."
