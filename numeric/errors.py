"""Exceptions raised by backprop-derive (shared by ``numeric`` and ``derive``).

All of them derive from :class:`BackpropDeriveError`, so a caller can catch
every error of the project with one ``except``.  Errors about bad arguments
also derive from :class:`ValueError`.
"""

from __future__ import annotations

__all__ = [
    "BackpropDeriveError",
    "InputError",
    "ShapeError",
    "NonFiniteError",
    "TargetRangeError",
    "UnknownActivationError",
]


class BackpropDeriveError(Exception):
    """Base class of every error raised by backprop-derive."""


class InputError(BackpropDeriveError, ValueError):
    """An argument is unusable (wrong shape, non-finite, out of range...)."""


class ShapeError(InputError):
    """An array does not have the shape the network needs."""


class NonFiniteError(InputError):
    """An array holds NaN or infinity."""


class TargetRangeError(InputError):
    """Targets of the binary cross-entropy lie outside [0, 1]."""


class UnknownActivationError(InputError):
    """An activation name is not in the catalog."""
