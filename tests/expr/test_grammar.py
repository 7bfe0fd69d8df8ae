"""derive.expr.grammar: Python's traps, the variable, prefixes, keywords and the structural bound."""

from __future__ import annotations

import time

import pytest
import sympy as sp

from derive.activations import sigmoid, z
from derive.expr.bounds import MAX_BRANCHES
from derive.expr.parser import ParseError, parse_activation, read_activation
from numeric.errors import InputError

# ------------------------------------------------------------------ Python's own traps, each pinned
TRAPS = [  # text, what it must mean (a silent misparse would be a false verdict)
    ("z^2+1", z**2 + 1),                       # Python alone: z ^ (2+1)
    ("-z^2", -(z**2)),
    ("2^-z", 2 ** (-z)),
    ("where((z > 0) & (z < 6), z, 0)", sp.Piecewise((z, (z > 0) & (z < 6)), (0, True))),
    ("where((z < -1) | (z > 1), 0, z)", sp.Piecewise((0, (z < -1) | (z > 1)), (z, True))),
    ("where(0 < z < 6, z, 0)", sp.Piecewise((z, (z > 0) & (z < 6)), (0, True))),
    ("where(-1 <= z <= 1, z, 0)", sp.Piecewise((z, (z >= -1) & (z <= 1)), (0, True))),
    ("z if z > 0 else 0.01*z", sp.Piecewise((z, z > 0), (z / 100, True))),
    ("1 if z > 1 else -1 if z < -1 else z", sp.Piecewise((1, z > 1), (-1, z < -1), (z, True))),
    ("z*sigmoid(z) if z > 0 else 0", sp.Piecewise((z * sigmoid(z), z > 0), (0, True))),
    ("2*-z", -2 * z),
    ("z**-1**2", z ** -1),                     # ** binds tighter than unary minus on its right
]


@pytest.mark.parametrize("text, expected", TRAPS, ids=[t for t, _ in TRAPS])
def test_python_traps_mean_what_they_say(text, expected):
    assert parse_activation(text) == expected


def test_unbracketed_ampersand_is_refused_not_misread():
    """Negative control: Python reads this as z > (0 & z) < 6; it must be refused with the fix."""
    with pytest.raises(ParseError, match=r"write \(z > 0\) & \(z < 6\)"):
        parse_activation("where(z > 0 & z < 6, z, 0)")
    with pytest.raises(ParseError, match="joins conditions only"):
        parse_activation("z & 1")


# ------------------------------------------------------------------ the variable
@pytest.mark.parametrize("text", ["x*sigmoid(x)", "t*sigmoid(t)", "u*sigmoid(u)", "inp*sigmoid(inp)"])
def test_any_one_free_name_is_the_variable(text):
    parsed = read_activation(text)
    assert parsed.expr == z * sigmoid(z)
    assert parsed.variable == text.split("*")[0]


def test_parameters_and_constants_are_never_the_variable():
    assert parse_activation("x*sigmoid(beta*x)", params={"beta": 2}) == z * sigmoid(2 * z)
    assert parse_activation("e**x + pi") == sp.exp(z) + sp.pi
    assert read_activation("2*pi").variable == "z"
    with pytest.raises(ParseError, match="two unknown names 'x' and 'beta'"):
        parse_activation("x*sigmoid(beta*x)")


def test_a_claim_must_use_the_activations_variable():
    assert parse_activation("1 - tanh(x)**2", variable="x") == 1 - sp.tanh(z) ** 2
    with pytest.raises(ParseError, match="unknown name 'z': the variable is 'x'"):
        parse_activation("1 - tanh(z)**2", variable="x")
    with pytest.raises(InputError, match="is the variable and cannot also be a parameter"):
        read_activation("x", params={"x": 1}, variable="x")


# ------------------------------------------------------------------ prefixes and keywords
@pytest.mark.parametrize("text, expected", [
    ("np.tanh(z)", sp.tanh(z)),
    ("numpy.exp(z) - math.e", sp.exp(z) - sp.E),
    ("torch.sigmoid(z)", sigmoid(z)),
    ("F.softplus(z)", parse_activation("softplus(z)")),
    ("torch.nn.functional.relu(z)", sp.Piecewise((0, z <= 0), (z, True))),
    ("np.pi * z", sp.pi * z),
    ("scipy.special.expit(z)", sigmoid(z)),
    ("F.leaky_relu(z, negative_slope=0.2)", sp.Piecewise((z / 5, z <= 0), (z, True))),
    ("leaky_relu(z, alpha=0.2)", sp.Piecewise((z / 5, z <= 0), (z, True))),
    ("elu(z, alpha=a)", sp.Piecewise((2 * (sp.exp(z) - 1), z <= 0), (z, True))),
    ("torch.clamp(z, min=-1, max=1)", sp.Min(sp.Max(z, -1), 1)),
    ("torch.clamp(z, -1, 1)", sp.Min(sp.Max(z, -1), 1)),
    ("np.clip(z, 0, 6)", sp.Min(sp.Max(z, 0), 6)),
], ids=lambda v: v if isinstance(v, str) else "")
def test_prefixes_and_keyword_parameters(text, expected):
    assert parse_activation(text, params={"a": 2} if "alpha=a" in text else None) == expected


@pytest.mark.parametrize("text, match", [
    ("np.foo(z)", "unknown function 'np.foo'"),
    ("os.exp(z)", "attribute access"),
    ("np.linalg.norm(z)", "attribute access"),
    ("tanh.real", "attribute access"),
    ("np.tanh", "is a function"),
])
def test_unknown_prefixes_and_attributes_are_refused(text, match):
    with pytest.raises(ParseError, match=match):
        parse_activation(text)


# ------------------------------------------------------------------ the structural bound
def _bomb(levels: int, args: int = 3) -> str:
    e = "z"
    for _ in range(levels):
        e = "max(" + ",".join([e] + [f"{k + 2}*{e}" + ("-1" if k % 2 else "") for k in range(args - 1)]) + ")"
    return e


@pytest.mark.parametrize("text", [
    _bomb(5),                                   # the time bomb: 1,816 characters, 149 s before
    _bomb(3, args=5),                           # within the length limit, far more work asked for
    _bomb(4, args=3),
    "+".join(f"abs(z - {i})" for i in range(40)),  # 2**40 potential pieces
], ids=["bomb-5-deep", "bomb-5-args", "bomb-4-deep", "40-abs"])
def test_time_bombs_are_refused_by_the_structural_bound_fast(text):
    assert len(text) <= 2000
    t0 = time.perf_counter()
    with pytest.raises(ParseError, match=f"could split into more than {MAX_BRANCHES} pieces"):
        parse_activation(text)
    assert time.perf_counter() - t0 < 1.0


def test_the_bound_is_the_same_for_the_same_text():
    """Deterministic: the refusal depends on the text only (structure), never on time."""
    messages = set()
    for _ in range(3):
        with pytest.raises(ParseError) as info:
            parse_activation(_bomb(5))
        messages.add(str(info.value))
    assert len(messages) == 1


def test_realistic_nesting_stays_within_the_bound():
    """Negative control for the bound: hard-swish, relu6, hardtanh and a 2-deep max parse."""
    for text in ("z*min(max(z + 3, 0), 6)/6", "min(max(0, z), 6)", "max(-1, min(1, z))", _bomb(2),
                 "+".join(f"abs(z - {i})" for i in range(8))):
        assert parse_activation(text).has(z)
