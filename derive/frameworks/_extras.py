"""Optional frameworks: imported on demand, with an error that names the extra to install."""

from __future__ import annotations

import importlib
from typing import Any

from numeric.errors import InputError

__all__ = ["MissingExtraError", "require"]

_EXTRA = {"torch": "torch", "jax": "jax"}


class MissingExtraError(InputError, ImportError):
    """An optional framework (PyTorch, JAX) is not installed."""


def require(module: str) -> Any:
    """Import ``module`` (``"torch"`` or ``"jax"``) or raise :class:`MissingExtraError`.

    Example:
        >>> require("math").sqrt(4.0)
        2.0
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = _EXTRA.get(module.split(".")[0], module)
        raise MissingExtraError(
            f"this check needs {module}, which is not installed ({exc}); "
            f"install it with: pip install 'backprop-derive[{extra}]'"
        ) from None
