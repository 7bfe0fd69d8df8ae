"""Validation of the options shared by the framework checkers."""

from __future__ import annotations

import math
from typing import Any, Sequence

from numeric.errors import InputError

__all__ = ["check_options", "qualname", "DTYPES"]

DTYPES = ("float64", "float32")


def _positive(label: str, value: Any) -> None:
    items = value.items() if isinstance(value, dict) else [("", value)]
    for key, v in items:
        if key and key not in DTYPES:
            raise InputError(f"{label} keys are dtypes {DTYPES}; got {key!r}")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v >= 0):
            raise InputError(f"{label} must be a finite number >= 0 (or a dict dtype -> number), got {v!r}; "
                             f"e.g. {label}=1e-12")


def check_options(fn: Any, rtol: Any, atol: Any, dtypes: Sequence[str], seed: Any, call_limit: Any = 60.0) -> None:
    """Raise :class:`InputError` naming the fix for a bad option.

    Example:
        >>> check_options(abs, None, None, ("float64",), 0)
    """
    if not callable(fn):
        raise InputError(f"the implementation must be callable, e.g. MyAct.apply; got {type(fn).__name__}")
    if rtol is not None:
        _positive("rtol", rtol)
    if atol is not None:
        _positive("atol", atol)
    if isinstance(dtypes, str) or not dtypes or any(d not in DTYPES for d in dtypes) or len(set(dtypes)) != len(dtypes):
        raise InputError(f"dtypes must be a non-empty sequence of distinct names from {DTYPES}, got {dtypes!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"seed must be an int >= 0, got {seed!r}")
    if (isinstance(call_limit, bool) or not isinstance(call_limit, (int, float)) or not math.isfinite(call_limit)
            or call_limit <= 0):
        raise InputError(f"call_limit must be a positive number of seconds, got {call_limit!r}; e.g. call_limit=60")


def qualname(fn: Any) -> str:
    """A short, stable name for a callable (no memory addresses).

    Example:
        >>> qualname(abs)
        'abs'
    """
    import types

    if isinstance(fn, types.BuiltinFunctionType) and getattr(fn, "__name__", None):
        return str(fn.__name__)
    self = getattr(fn, "__self__", None)
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if self is not None and isinstance(self, type) and name:
        return f"{self.__qualname__}.{getattr(fn, '__name__', name)}"
    if name:
        return str(name)
    return type(fn).__qualname__
