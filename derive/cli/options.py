"""argparse ``type=`` validators shared by every command.

Each takes the option's text and returns the parsed value, or raises
:class:`argparse.ArgumentTypeError` with a one-line message that says what
was wanted; argparse then prints ``usage`` plus ``error: argument --x: ...``
and the command exits 2 (see :mod:`derive.cli.main`).  None of them calls
``eval``: numbers are parsed by ``int()`` / ``float()`` only.

Example:
    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> _ = p.add_argument("--seed", type=seed, default=0)
    >>> _ = p.add_argument("--widths", type=int_list)
    >>> p.parse_args(["--seed", "3", "--widths", "4, 3,1"])
    Namespace(seed=3, widths=[4, 3, 1])
"""

from __future__ import annotations

import argparse
import math
from typing import Any

__all__ = ["seed", "finite_float", "positive_float", "positive_int", "nonnegative_int", "int_list"]

_MAX_SEED = 2**32 - 1  # numpy's and hypothesis's seeds fit in 32 bits


def _fail(text: str, wanted: str) -> argparse.ArgumentTypeError:
    text = str(text).strip()
    shown = text if len(text) <= 40 else text[:37] + "..."
    return argparse.ArgumentTypeError(f"expected {wanted}, got {shown!r}")


def _int(text: str, wanted: str) -> int:
    try:
        return int(text.strip())
    except (ValueError, AttributeError):
        raise _fail(str(text), wanted) from None


def seed(text: str) -> int:
    """A seed: an int from 0 to 2**32 - 1 (``--seed 0``)."""
    wanted = f"an integer seed from 0 to {_MAX_SEED}"
    value = _int(text, wanted)
    if not 0 <= value <= _MAX_SEED:
        raise _fail(text, wanted)
    return value


def positive_int(text: str) -> int:
    """An int >= 1 (``--max-size 6``)."""
    value = _int(text, "a positive integer (1, 2, ...)")
    if value < 1:
        raise _fail(text, "a positive integer (1, 2, ...)")
    return value


def nonnegative_int(text: str) -> int:
    """An int >= 0 (``--max-examples 0`` runs the probes only)."""
    value = _int(text, "an integer >= 0")
    if value < 0:
        raise _fail(text, "an integer >= 0")
    return value


def finite_float(text: str) -> float:
    """A finite number (no nan, inf)."""
    try:
        value = float(str(text).strip())
    except ValueError:
        raise _fail(str(text), "a finite number") from None
    if not math.isfinite(value):
        raise _fail(text, "a finite number")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (``--time-limit 5``, ``--call-limit 10``)."""
    try:
        value = float(str(text).strip())
    except ValueError:
        raise _fail(str(text), "a positive finite number") from None
    if not (math.isfinite(value) and value > 0):
        raise _fail(text, "a positive finite number")
    return value


def int_list(text: str) -> list[int]:
    """Comma-separated positive ints, e.g. layer widths ``--widths 784,16,8,1``."""
    wanted = "comma-separated positive integers, e.g. 4,3,1"
    parts = [p.strip() for p in str(text).split(",")]
    if not parts or any(not p for p in parts):
        raise _fail(text, wanted)
    values = [_int(p, wanted) for p in parts]
    if any(v < 1 for v in values):
        raise _fail(text, wanted)
    return values


# the attributes of a network description's options, in the order they are named in errors
DESCRIPTION_OPTIONS = ("widths", "activations", "head", "reduction", "mse_convention", "l2", "l2_convention")


def network_from_args(args: argparse.Namespace, *, example: str = "784,128,10") -> Any:
    """The :class:`numeric.Network` the description options give, or None (the article's network).

    Shared by the commands that take a description (``check-backprop``, ``report``):
    ``--widths --activations --head --reduction --mse-convention --l2 --l2-convention``.

    Raises:
        InputError: options that do not make a description (one line, exit 2).
    """
    from numeric.description import Network
    from numeric.errors import InputError

    given = [k for k in DESCRIPTION_OPTIONS if getattr(args, k, None) is not None]
    if not given:
        return None
    option = "--" + given[0].replace("_", "-")
    if args.f != "swish" or args.g != "leaky_relu":
        raise InputError("--f and --g name the article's activations; with --widths give --activations instead")
    if args.widths is None:
        raise InputError(f"{option} describes a network: give its widths too, e.g. --widths {example}")
    hidden = len(args.widths) - 2
    if hidden < 0:
        raise InputError(f"--widths needs an input and an output width, got {','.join(map(str, args.widths))}")
    names = [a.strip() for a in (args.activations or "relu").split(",")]
    if any(not a for a in names):
        raise InputError(f"--activations: expected comma-separated activation names, got {args.activations!r}")
    if args.activations is not None and hidden == 0:
        raise InputError("--activations: these widths have no hidden layer (depth 1), so no activation is used")
    if len(names) == 1:
        names = names * hidden
    elif len(names) != hidden:
        raise InputError(f"--activations: {len(names)} names for {hidden} hidden layer{'s' if hidden != 1 else ''} "
                         f"(widths {','.join(map(str, args.widths))}); give one name for all, or one per hidden layer")
    if args.l2 is not None and args.l2 < 0:
        raise InputError(f"--l2: expected a finite number >= 0, got {args.l2:g}")
    if args.mse_convention is not None and not (args.head or "").endswith("mse"):
        raise InputError("--mse-convention applies to the MSE heads (--head identity-mse or sigmoid-mse)")
    if args.l2_convention is not None and not args.l2:
        raise InputError("--l2-convention needs --l2 LAMBDA > 0")
    return Network(widths=tuple(args.widths), activations=tuple(names), head=args.head or "sigmoid-bce",
                   reduction=args.reduction or "mean", mse=args.mse_convention or "half", l2=args.l2 or 0.0,
                   l2_convention=args.l2_convention or "lambda/2m")
