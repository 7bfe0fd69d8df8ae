"""The function table of the expression language: data, one entry per function.

Each entry of :data:`FUNCTIONS` says how many positional arguments the
function takes, which keywords it accepts (with defaults), how many branches
it may add to the piecewise structure (the structural bound of
:mod:`derive.expr.grammar` multiplies these), and how to build the sympy
object from sympy arguments.  Adding a function is one line here.

:data:`ALIASES` maps other spellings (``ln``, ``arctan``, ``Abs``,
``expit``, ``clamp``, ...) to table names; :data:`PREFIXES` are the module
prefixes accepted in front of a known function (``np.exp``, ``torch.tanh``,
``F.relu``); :data:`CONSTANTS` are the named constants.

Every catalog activation (:data:`derive.activations.CATALOG`) is also a
function here, taking its parameters by keyword: ``leaky_relu(z, alpha=0.2)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from derive.activations import CATALOG, sigmoid, softplus, z

__all__ = ["Fn", "FUNCTIONS", "ALIASES", "PREFIXES", "CONSTANTS", "SPECIAL", "lookup"]


@dataclass(frozen=True)
class Fn:
    """One function of the language.

    Attributes:
        build: sympy arguments (positional, then keywords by name) -> expression.
        lo, hi: fewest and most positional arguments.
        keywords: keyword name -> default (``None``: required positionally or by keyword).
        branches: pieces one call can add (1 for a smooth function, k for a
            k-way max); the parser's structural bound multiplies them.
        positional_keywords: keywords that may also be given positionally,
            in this order after the ``lo`` required arguments.
    """

    build: Callable[..., sp.Expr]
    lo: int = 1
    hi: int = 1
    keywords: Mapping[str, Any] = field(default_factory=dict)
    branches: int = 1
    positional_keywords: tuple[str, ...] = ()


def _clip(x: sp.Expr, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    return sp.Min(sp.Max(x, lo), hi)


def _clamp(x: sp.Expr, min: sp.Expr = None, max: sp.Expr = None) -> sp.Expr:  # noqa: A002 - torch's names
    out = x if min is None else sp.Max(x, min)
    return out if max is None else sp.Min(out, max)


def _heaviside(x: sp.Expr, h0: sp.Expr = sp.Rational(1, 2)) -> sp.Expr:
    return sp.Piecewise((0, x < 0), (h0, sp.Eq(x, 0)), (1, True))


def _log(x: sp.Expr, base: sp.Expr | None = None) -> sp.Expr:
    return sp.log(x) if base is None else sp.log(x) / sp.log(base)


def _catalog(name: str) -> Fn:
    """A catalog activation as a function of any argument, parameters by keyword."""
    defaults, build = CATALOG[name]

    def apply(arg: sp.Expr, **params: sp.Expr) -> sp.Expr:
        return build({**defaults, **params}).xreplace({z: arg})

    kinked = name in ("relu", "leaky_relu", "elu", "selu")
    return Fn(apply, keywords=dict.fromkeys(defaults), branches=2 if kinked else 1)


def _one(fn: Callable[[sp.Expr], sp.Expr], branches: int = 1) -> Fn:
    return Fn(fn, branches=branches)


FUNCTIONS: dict[str, Fn] = {
    # exponentials and logarithms
    "exp": _one(sp.exp),
    "expm1": _one(expm1),
    "log": Fn(_log, 1, 2),
    "log1p": _one(log1p),
    "log2": _one(lambda x: sp.log(x) / sp.log(2)),
    "log10": _one(lambda x: sp.log(x) / sp.log(10)),
    "sqrt": _one(sp.sqrt),
    "square": _one(lambda x: x**2),
    # trigonometric and inverse trigonometric
    "sin": _one(sp.sin), "cos": _one(sp.cos), "tan": _one(sp.tan),
    "sec": _one(sp.sec), "csc": _one(sp.csc), "cot": _one(sp.cot),
    "asin": _one(sp.asin), "acos": _one(sp.acos), "atan": _one(sp.atan),
    # hyperbolic and inverse hyperbolic
    "sinh": _one(sp.sinh), "cosh": _one(sp.cosh), "tanh": _one(sp.tanh),
    "sech": _one(sp.sech), "csch": _one(sp.csch), "coth": _one(sp.coth),
    "asinh": _one(sp.asinh), "acosh": _one(sp.acosh), "atanh": _one(sp.atanh),
    # error functions
    "erf": _one(sp.erf), "erfc": _one(sp.erfc),
    # non-smooth
    "abs": _one(sp.Abs, 2),
    "sign": _one(sp.sign, 3),
    "floor": _one(sp.floor, 2), "ceil": _one(sp.ceiling, 2),
    "heaviside": Fn(_heaviside, 1, 2, branches=3),
    "max": Fn(sp.Max, 2, 16, branches=16), "min": Fn(sp.Min, 2, 16, branches=16),
    "maximum": Fn(sp.Max, 2, 2, branches=2), "minimum": Fn(sp.Min, 2, 2, branches=2),
    "clip": Fn(_clip, 3, 3, branches=3),
    "clamp": Fn(_clamp, 1, 3, keywords={"min": None, "max": None}, branches=3,
                positional_keywords=("min", "max")),
    "relu6": _one(lambda x: sp.Min(sp.Max(x, 0), 6), 3),
    "hardtanh": _one(lambda x: sp.Min(sp.Max(x, -1), 1), 3),
    "hardsigmoid": _one(lambda x: sp.Min(sp.Max(x / 6 + sp.Rational(1, 2), 0), 1), 3),
    "hardswish": _one(lambda x: x * sp.Min(sp.Max(x + 3, 0), 6) / 6, 3),
    # the catalog, parameters by keyword (sigmoid and softplus keep their own nodes)
    **{name: _catalog(name) for name in CATALOG},
    "sigmoid": _one(sigmoid),
    "softplus": _one(softplus),
}
"""name -> :class:`Fn`.  ``where(c, a, b)`` and ``piecewise((v, c), ...)`` are :data:`SPECIAL`."""

SPECIAL = ("where", "piecewise")
"""Functions the grammar builds itself (their arguments include conditions)."""

ALIASES: dict[str, str] = {
    "ln": "log", "Abs": "abs", "fabs": "abs", "absolute": "abs", "Max": "max", "Min": "min",
    "fmax": "maximum", "fmin": "minimum", "amax": "max", "amin": "min",
    "arcsin": "asin", "arccos": "acos", "arctan": "atan",
    "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh",
    "ceiling": "ceil", "Heaviside": "heaviside", "sgn": "sign", "signum": "sign",
    "expit": "sigmoid", "logistic": "sigmoid", "silu": "swish",
    "Piecewise": "piecewise", "select": "where",
}
"""Other spellings of table names (NumPy, math, torch and sympy names)."""

PREFIXES: tuple[str, ...] = (
    "torch.nn.functional", "torch.special", "torch", "nn.functional", "F",
    "numpy", "np", "math", "scipy.special", "special", "sympy", "sp", "jax.numpy", "jnp", "jax.nn",
)
"""Module prefixes accepted in front of a known function or constant."""

CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "e": sp.E, "E": sp.E}

CONDITION_NAMES = ("True", "true", "otherwise")
"""Names that stand for the condition that always holds (the last piecewise pair)."""

KEYWORD_ALIASES: dict[str, dict[str, str]] = {
    "leaky_relu": {"negative_slope": "alpha"},
}
"""Per-function other names of keywords (torch's ``negative_slope``)."""


def lookup(name: str) -> str | None:
    """The table name for a spelling, or None when it is not a function."""
    name = ALIASES.get(name, name)
    return name if name in FUNCTIONS or name in SPECIAL else None
