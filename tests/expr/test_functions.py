"""derive.expr.functions: the function table, and the natural spellings people write."""

from __future__ import annotations

import math

import mpmath
import pytest

from derive.activation_check.mpref import _mp_function
from derive.activations import CATALOG, z
from derive.expr.functions import ALIASES, FUNCTIONS, lookup
from derive.expr.parser import ParseError, parse_activation


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_table_function_builds_at_its_fewest_arguments(name):
    fn = FUNCTIONS[name]
    args = ", ".join(["z"] + [str(k + 2) for k in range(fn.lo - 1)])
    out = parse_activation(f"{name}({args})")
    assert out.has(z)
    assert not out.free_symbols - {z}


def test_aliases_point_into_the_table_and_catalog_names_are_functions():
    assert all(lookup(target) for target in ALIASES.values())
    assert set(CATALOG) <= set(FUNCTIONS)


# The natural spellings of published activations, as people write them in
# papers, NumPy/PyTorch code and sympy.  Each is (text, a float reference).
# Sources: PyTorch torch.nn docs (ReLU6, Hardtanh, Hardsigmoid, Hardswish,
# SiLU, Mish, Softsign, Tanhshrink, Softshrink, LogSigmoid, CELU), the GELU
# paper (Hendrycks & Gimpel 2016), Snake (Liu Ziyin et al. 2020), SquarePlus
# (Barron 2021), Serf (Nag & Bhattacharyya 2021), ISRU/ISRLU (Carlile et al.
# 2017), Bent identity, SoftExponential-free forms, Gaussian, Sinc-free forms.
_s = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
_sp = lambda x: math.log1p(math.exp(x))  # noqa: E731
NATURAL = [
    ("x * sigmoid(x)", lambda x: x * _s(x)),
    ("x / (1 + exp(-x))", lambda x: x * _s(x)),
    ("x * tanh(ln(1 + exp(x)))", lambda x: x * math.tanh(_sp(x))),
    ("x * tanh(softplus(x))", lambda x: x * math.tanh(_sp(x))),
    ("0.5 * x * (1 + erf(x / sqrt(2)))", lambda x: 0.5 * x * (1 + math.erf(x / math.sqrt(2)))),
    ("0.5*x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x^3)))",
     lambda x: 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))),
    ("x * Phi", None),  # placeholder replaced below (kept out: Phi is not a standard name)
    ("np.maximum(x, 0)", lambda x: max(x, 0.0)),
    ("np.maximum(0.01*x, x)", lambda x: max(0.01 * x, x)),
    ("np.where(x > 0, x, np.exp(x) - 1)", lambda x: x if x > 0 else math.expm1(x)),
    ("x if x > 0 else alpha * (exp(x) - 1)", lambda x: x if x > 0 else 1.0 * math.expm1(x)),
    ("torch.clamp(x, min=0, max=6)", lambda x: min(max(x, 0.0), 6.0)),
    ("min(max(0, x), 6)", lambda x: min(max(x, 0.0), 6.0)),
    ("x * relu6(x + 3) / 6", lambda x: x * min(max(x + 3, 0.0), 6.0) / 6),
    ("F.hardtanh(x)", lambda x: min(max(x, -1.0), 1.0)),
    ("np.clip(x, -1, 1)", lambda x: min(max(x, -1.0), 1.0)),
    ("x + sin(x)**2", lambda x: x + math.sin(x) ** 2),
    ("x + sin(a*x)^2/a", lambda x: x + math.sin(2 * x) ** 2 / 2),
    ("(x + sqrt(x**2 + 4))/2", lambda x: (x + math.sqrt(x * x + 4)) / 2),
    ("x * erf(log1p(exp(x)))", lambda x: x * math.erf(_sp(x))),
    ("x / sqrt(1 + a*x**2)", lambda x: x / math.sqrt(1 + 2 * x * x)),
    ("x / (1 + abs(x))", lambda x: x / (1 + abs(x))),
    ("x / (1 + Abs(x))", lambda x: x / (1 + abs(x))),
    ("x - tanh(x)", lambda x: x - math.tanh(x)),
    ("-np.log1p(np.exp(-x))", lambda x: -math.log1p(math.exp(-x))),
    ("(sqrt(x**2 + 1) - 1)/2 + x", lambda x: (math.sqrt(x * x + 1) - 1) / 2 + x),
    ("exp(-x**2)", lambda x: math.exp(-x * x)),
    ("math.atan(x)", math.atan),
    ("np.arctan(x)", math.atan),
    ("asinh(x)", math.asinh),
    ("x * sech(x)", lambda x: x / math.cosh(x)),
    ("1 - 2/(exp(2*x) + 1)", math.tanh),
    ("log(sigmoid(x))", lambda x: math.log(_s(x))),
    ("expm1(x) if x < 0 else x", lambda x: math.expm1(x) if x < 0 else x),
    ("x * heaviside(x, 0)", lambda x: x if x > 0 else 0.0),
    ("relu(x) + 0.1*gelu(x)", lambda x: max(x, 0.0) + 0.05 * x * (1 + math.erf(x / math.sqrt(2)))),
    ("leaky_relu(x, alpha=0.2)", lambda x: x if x > 0 else 0.2 * x),
    ("x * torch.sigmoid(1.702 * x)", lambda x: x * _s(1.702 * x)),
    ("E**x / (1 + E**x)", _s),
    ("erfc(-x/sqrt(2))/2 * x", lambda x: math.erfc(-x / math.sqrt(2)) / 2 * x),
    ("max(x, 0) - 0.1*max(-x, 0)", lambda x: max(x, 0.0) - 0.1 * max(-x, 0.0)),
    ("where((x > -3) & (x < 3), x*(x + 3)/6, where(x >= 3, x, 0))",
     lambda x: x * (x + 3) / 6 if -3 < x < 3 else (x if x >= 3 else 0.0)),
    ("sgn(x) * log1p(abs(x))", lambda x: math.copysign(math.log1p(abs(x)), x)),
    ("x^3/3 + x", lambda x: x**3 / 3 + x),
]
NATURAL = [(t, f) for t, f in NATURAL if f is not None]
STILL_REFUSED = [  # natural spellings outside the language, each refused with a message that names the fix
    ("2x * sigmoid(x)", "write 2\\*x"),
    ("x.clamp(min=0)", "attribute access"),
    ("F.gelu(x, approximate='tanh')", "strings are not allowed"),
    ("np.piecewise(x, [x < 0, x >= 0], [0, 1])", "lists"),
    ("x * \u03c3(x)", "ASCII"),
]
PARAMS = {"alpha": 1.0, "a": 2.0}


def test_natural_spellings_accepted_share():
    """The accepted share of natural spellings (the issue: 7 of 31 before); each accepted one
    must also mean the published function (checked at a few points in high precision)."""
    accepted = []
    for text, ref in NATURAL:
        try:
            expr = parse_activation(text, params={k: v for k, v in PARAMS.items() if k in text})
        except ParseError:
            continue
        fn = _mp_function(expr)
        for x in (-2.5, -0.7, 0.3, 1.9):
            assert float(fn(mpmath.mpf(x))) == pytest.approx(ref(x), rel=1e-9, abs=1e-12), text
        accepted.append(text)
    for text, match in STILL_REFUSED:
        with pytest.raises(ParseError, match=match):
            parse_activation(text)
    total = len(NATURAL) + len(STILL_REFUSED)
    share = len(accepted) / total
    print(f"accepted {len(accepted)} of {total} natural spellings ({share:.0%})")
    assert len(accepted) == len(NATURAL), sorted(set(t for t, _ in NATURAL) - set(accepted))
