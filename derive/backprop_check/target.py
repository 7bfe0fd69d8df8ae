"""Find the user's function from ``module:attr`` text (the CLI's target).

Kept apart from the CLI so that the sandbox's child process can import the
user's module itself: an exit, a hang or a crash while the module is being
imported then happens in the child, not in the checker.

Example:
    >>> load_target("numeric.network:backward").__name__
    'backward'
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from pathlib import Path
from typing import Any, Callable

from numeric.errors import InputError

__all__ = ["load_target", "signature_problem", "user_frames", "ImportFailed"]


class ImportFailed(InputError):
    """The user's module exists but failed while it was being imported (it raised, exited, hung or
    ended its process): a finding of a FAILED report, not unusable input."""

_OURS = (str(Path(__file__).resolve().parents[1]), str(Path(importlib.__file__).resolve().parent),
         os.sep + "multiprocessing" + os.sep)


def user_frames(exc: BaseException, *, limit: int = 3) -> str:
    """The last ``limit`` frames of ``exc``'s traceback that are not the
    checker's own (nor importlib's), as ``file:line in func: source``.

    Example:
        >>> try:
        ...     int("x")
        ... except ValueError as exc:
        ...     isinstance(user_frames(exc), str)
        True
    """
    import traceback

    frames = [fs for fs in traceback.extract_tb(exc.__traceback__)
              if not any(part in str(Path(fs.filename).resolve()) for part in _OURS)
              and "<frozen" not in fs.filename]
    parts = []
    for fs in frames[-limit:]:
        code = f": {fs.line.strip()}" if fs.line else ""
        parts.append(f"{Path(fs.filename).name}:{fs.lineno} in {fs.name}{code}")
    return " <- ".join(reversed(parts))


def describe_exception(exc: BaseException) -> str:
    """``Type: message`` on one line (``sys.exit(3)`` reads ``SystemExit(3)``)."""
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r}) (sys.exit)"
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - an exception whose __str__ raises
        text = "<unprintable message>"
    return " ".join(f"{type(exc).__name__}: {text}".split()) if text else type(exc).__name__


def load_target(target: str) -> Callable[..., Any]:
    """The callable named by ``module:attr`` (``attr`` may be dotted).

    ``module`` is a module name, importable with the current directory on
    ``sys.path``, or a path to a ``.py`` file.  Anything the module raises
    while it is imported (an exception, ``sys.exit``, ``KeyboardInterrupt``)
    becomes an :class:`ImportFailed` with the user's traceback excerpt.

    Raises:
        ImportFailed: the module's code raised or exited while it was imported.
        InputError: bad syntax, no such module or file, missing attribute, or not callable.
    """
    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        raise InputError(f"expected MODULE:FUNCTION (e.g. mynet:backward), got {target!r}")
    try:
        if module_name.endswith(".py") or os.sep in module_name or "/" in module_name:
            path = Path(module_name)
            if not path.is_file():
                raise InputError(f"no such file: {module_name}")
            spec = importlib.util.spec_from_file_location(f"_backprop_target_{path.stem}", path)
            if spec is None or spec.loader is None:
                raise InputError(f"cannot load {module_name} as a Python module")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path and "" not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except InputError:
        raise
    except BaseException as exc:  # noqa: BLE001 - any import-time failure, even sys.exit
        where = user_frames(exc)
        text = f"cannot import {module_name!r}: {describe_exception(exc)}" + (f" (at {where})" if where else "")
        missing = getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            raise InputError(text) from None  # no such module: unusable input
        raise ImportFailed(text) from None  # the module's own code failed: a finding
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except Exception:  # noqa: BLE001 - AttributeError, or a property that raises
            raise InputError(f"{module_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise InputError(f"{target} is a {type(obj).__name__}, not a function")
    return obj


def signature_problem(fn: Callable[..., Any]) -> str | None:
    """Why ``fn`` cannot be called as ``fn(params, X, Y)``, or None."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature: just call them
        return None
    try:
        sig.bind({}, None, None)
    except TypeError as exc:
        return f"backward must accept (params, X, Y): {exc}"
    return None
