"""derive.expr.parser: the safe activation parser (grammar, limits, errors, no code execution)."""

from __future__ import annotations

import ast
import builtins
import time
from pathlib import Path
from unittest import mock

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import derive.expr.parser as parser_module
from derive.activations import sigmoid, softplus, z
from derive.expr import activation_expr
from derive.expr.parser import MAX_LENGTH, ParseError, parse_activation, parse_number
from numeric.errors import InputError, UnknownActivationError

# ------------------------------------------------------------------ valid input
VALID = [
    ("z*tanh(softplus(z))", z * sp.tanh(softplus(z))),
    ("z * sigmoid(z)", z * sigmoid(z)),
    ("log(1 + exp(z))", sp.log(1 + sp.exp(z))),
    ("-z**2", -(z**2)),
    ("z^2", z**2),
    ("2**-z", 2 ** (-z)),
    ("2**3**2", sp.Integer(512)),
    ("1e-3 * z", z / 1000),
    (".5*z", z / 2),
    ("sqrt(z**2 + 1)", sp.sqrt(z**2 + 1)),
    ("abs(z) / (1 + abs(z))", sp.Abs(z) / (1 + sp.Abs(z))),
    ("max(z, 0)", sp.Max(z, 0)),
    ("min(z, 0, 1)", sp.Min(z, 0)),
    ("sign(z) * erf(z)", sp.sign(z) * sp.erf(z)),
    ("sinh(z) + cosh(z)", sp.sinh(z) + sp.cosh(z)),
    ("pi * e**z", sp.pi * sp.exp(z)),
    ("where(z > 0, z, 0.01 * z)", sp.Piecewise((z, z > 0), (z / 100, True))),
    ("where(0 < z < 1 and not z == 0.5, z, 0)",
     sp.Piecewise((z, sp.And(z > 0, z < 1, sp.Ne(z, sp.Rational(1, 2)))), (0, True))),
    ("where(z <= -1 or z >= 1, 1, 0)", sp.Piecewise((1, sp.Or(z <= -1, z >= 1)), (0, True))),
    ("piecewise((0, z < 0), (z, z < 1), (1, True))", sp.Piecewise((0, z < 0), (z, z < 1), (1, True))),
    ("((((z))))", z),
    ("z if z > 0 else 0", sp.Piecewise((z, z > 0), (0, True))),
    ("x**2 + 1", z**2 + 1),
    ("10**400 * 0 + z", z),
]


@pytest.mark.parametrize("text, expected", VALID, ids=[t for t, _ in VALID])
def test_parses_to_the_expected_expression(text, expected):
    got = parse_activation(text)
    assert got == expected
    assert got.free_symbols <= {z}


def test_numbers_are_exact():
    assert parse_activation("0.1*z") == z / 10
    assert parse_activation("0.044715") == sp.Rational(44715, 1000000)


def test_parameters_are_substituted_exactly():
    assert parse_activation("alpha * z", params={"alpha": 0.2}) == z / 5
    assert parse_activation("z * sigmoid(beta * z)", params={"beta": "2"}) == z * sigmoid(2 * z)
    assert parse_activation("a*z + b", params={"a": "1/3", "b": -1}) == z / 3 - 1


@pytest.mark.parametrize("params, match", [
    ({"z": 1}, "reserved"),
    ({"exp": 1}, "reserved"),
    ({"_x": 1}, "identifiers"),
    ({"alpha": float("nan")}, "finite"),
    ({"alpha": "1+1"}, "number such as 0.1"),
    ({"alpha": "__import__('os')"}, "number such as 0.1"),
    ({"alpha": True}, "must be a number"),
    ({"alpha": [1]}, "real number"),
], ids=["z", "function-name", "underscore", "nan", "expression", "code", "bool", "list"])
def test_bad_parameters_are_refused(params, match):
    with pytest.raises(InputError, match=match):
        parse_activation("alpha * z", params=params)


def test_parse_number():
    assert parse_number("0.01") == sp.Rational(1, 100)
    assert parse_number("-1e-3") == sp.Rational(-1, 1000)
    assert parse_number(2.5) == sp.Rational(5, 2)
    with pytest.raises(InputError, match="number such as"):
        parse_number("1/0")


def test_activation_expr_parses_strings_and_keeps_catalog_names():
    assert activation_expr("where(z > 0, z, alpha*z)", alpha=0.5) == sp.Piecewise((z, z > 0), (z / 2, True))
    assert activation_expr("z") == z
    assert activation_expr("relu") == sp.Piecewise((0, z <= 0), (z, True))
    with pytest.raises(UnknownActivationError, match="known: sigmoid"):
        activation_expr("swishh")
    with pytest.raises(ParseError, match="column 1"):
        activation_expr("__import__('os')")


# ------------------------------------------------------------------ refused input
BAD = [
    ("__import__('os').system('echo pwned')", "names starting with '_'", 1),
    ("z.real", r"attribute access", 2),
    ("z.__class__", r"names starting with '_'", 3),
    ("lambda z: z", "lambdas are not allowed", 1),
    ("[z for z in (1, 2)]", "comprehensions", 1),
    ("(z for z in (1, 2))", "comprehensions", 4),
    ("eval(z)", "unknown function 'eval'", 1),
    ("getattr(z, 'x')", "strings are not allowed", 12),
    ("os.system", "attribute access", 3),
    ("z + y", "two unknown names 'z' and 'y'", 5),
    ("foo(z)", "unknown function 'foo'", 1),
    ("exp", "is a function", 1),
    ("(z", r"expected '\)' to close '\(' \(opened at column 1\)", 3),
    ("z)", r"unbalanced", 2),
    ("exp(z", r"expected '\)' to close exp\( \(opened at column 4\)", 6),
    ("z z", "unexpected 'z': an operator is missing", 3),
    ("2z", r"implicit multiplication is not supported: write 2\*z", 2),
    ("2(z + 1)", r"write 2\*\(...\)", 2),
    ("(z + 1)(z - 1)", r"write \)\*\( for a product", 8),
    ("z(1 + z)", r"'z' is not a function: write z\*\(...\)", 1),
    ("", "empty", 1),
    ("z +", "ends too early", 4),
    ("9**9**9**9", "more than 1000 digits", 5),
    ("2**2**2**2**2**2", "more than 1000 digits", 5),
    ("z**101", "larger than 100", 2),
    ("z**60 * z**60", "larger than 100", 7),
    ("1e999", "out of range", 1),
    ("1/0", "division by zero", 2),
    ("log(0)", "undefined", 1),
    ("sqrt(-1)", "not real", 1),
    ("(-8)**(1/3)", "not real", 5),
    ("max(z)", "2 to 16 arguments", 1),
    ("where(z, 1, 2)", "expected a condition", 7),
    ("(z > 0) + 1", "condition cannot be used as a number", 2),
    ("z > 0", "this is a condition", 1),
    ("z; import os", "statements", 2),
    ("z = 1", "assignment", 3),
    ("{z}", "dicts and sets", 1),
    ("z @ z", "decorators", 3),
    ("z # comment", "comments", 3),
    ("z // 2", "operator '//' is not allowed", 3),
    ("1j * z", r"implicit multiplication is not supported: write 1\*j", 2),
    ("z > 0 & z < 6", r"'&' joins conditions only when each side is bracketed: write \(z > 0\) &", 7),
    ("where(z < -1 | z > 1, 0, z)", r"'\|' joins conditions only when each side is bracketed", 14),
    ("leaky_relu(z, beta=1)", "leaky_relu takes no keyword 'beta'; accepted: alpha", 20),
    ("leaky_relu(z, alpha=z)", "must be a constant", 21),
    ("\u03b1 * z", "write formulas in ASCII", 1),
    ("(" * 60 + "z" + ")" * 60, "deeper than 40", 41),
    ("-" * 500 + "z", "deeper than 40", 41),
    ("not " * 50 + "z > 0", "deeper than 40", 161),
    ("z**" * 50 + "z", "deeper than 40", 121),
]


@pytest.mark.parametrize("text, match, column", BAD, ids=[t[:30] for t, _, _ in BAD])
def test_bad_input_is_refused_with_the_column(text, match, column):
    with pytest.raises(ParseError, match=match) as info:
        parse_activation(text)
    assert info.value.column == column
    assert f"at column {column}" in str(info.value)
    assert "\n" not in str(info.value)


def test_huge_input_is_refused_before_parsing():
    text = "z+" * 50_000 + "z"  # 100 kB
    t0 = time.perf_counter()
    with pytest.raises(ParseError, match=f"the limit is {MAX_LENGTH}"):
        parse_activation(text)
    assert time.perf_counter() - t0 < 0.5


def test_long_valid_input_parses_quickly():
    text = "+".join(f"tanh({i}*z)" for i in range(1, 60)) + "+" + "+".join(["z"] * 600)
    assert len(text) < MAX_LENGTH
    t0 = time.perf_counter()
    parse_activation(text)
    assert time.perf_counter() - t0 < 5.0  # generous: bounded, not a benchmark


def test_non_string_is_a_type_error():
    with pytest.raises(TypeError, match="must be a str"):
        parse_activation(b"z")  # type: ignore[arg-type]


# ------------------------------------------------------------------ nothing is executed
def test_parser_source_calls_no_code_executing_function():
    """Static check: no module of derive.expr calls eval/exec/compile/sympify/parse_expr/lambdify."""
    forbidden = {"eval", "exec", "compile", "sympify", "parse_expr", "lambdify", "__import__", "getattr",
                 "S"}
    called = set()
    for path in Path(parser_module.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Name):
                    called.add(f.id)
                elif isinstance(f, ast.Attribute) and not (isinstance(f.value, ast.Name) and f.value.id == "re"):
                    called.add(f.attr)
    assert not (called & forbidden), called & forbidden


_REAL_COMPILE = builtins.compile


def _guarded_parse(text: str):
    """Parse with eval/exec/sympify/parse_expr replaced by tripwires; ``compile`` only to an AST
    (what ``ast.parse`` does: parsing, no code object)."""
    def boom(*args, **kwargs):
        raise AssertionError(f"code execution attempted on {text!r}")

    def ast_only(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:
            boom()
        return _REAL_COMPILE(source, filename, mode, flags, *args, **kwargs)

    with mock.patch.object(builtins, "eval", boom), mock.patch.object(builtins, "exec", boom), \
            mock.patch.object(builtins, "compile", ast_only), mock.patch.object(sp, "sympify", boom), \
            mock.patch("sympy.parsing.sympy_parser.parse_expr", boom):
        return parse_activation(text)


def test_malicious_text_executes_nothing(tmp_path):
    canary = tmp_path / "pwned"
    for text in (f"__import__('os').system('touch {canary}')", f"exec(\"open('{canary}','w')\")",
                 "(lambda: 1)()", "z.__class__.__bases__", "[c for c in ().__class__.__base__.__subclasses__()]",
                 "np.__dict__", "torch.load(z)", "math.e.real", "F.relu.__globals__", "sympy.sympify(z)"):
        with pytest.raises(ParseError):
            _guarded_parse(text)
    assert not canary.exists()


_TOKENS = ["z", "z", "x", "1", "9", "0", "2.5", "1e308", "e", "pi", "alpha", "exp", "log", "sqrt", "tanh", "abs",
           "max", "where", "piecewise", "sigmoid", "softplus", "relu", "leaky_relu", "np.", "torch.", "F.",
           "(", ")", "(", ")", ",", "+", "-", "*", "/", "**", "^", "<", ">=", "==", "&", "|", "and", "or",
           "not", "True", "if", "else", " ", ".", "'", "__import__", "os", "system", "lambda", ":", "[", "]",
           "for", "in", "_", "\\", "#", ";", "=", "@", "\n", "alpha=", "2z"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200),
                 st.lists(st.sampled_from(_TOKENS), max_size=60).map("".join)))
def test_fuzz_never_executes_code_never_hangs_never_crashes(text):
    t0 = time.perf_counter()
    try:
        out = _guarded_parse(text)
    except ParseError as exc:
        assert 1 <= exc.column <= len(text) + 1
        assert "\n" not in str(exc)
    except InputError:  # a bad parameter value cannot occur here, but is a clean error
        pass
    else:
        assert isinstance(out, sp.Expr)
        assert out.free_symbols <= {z}
    assert time.perf_counter() - t0 < 5.0  # no input hangs (generous bound for loaded machines)


def test_undefined_sympy_functions_are_refused_before_any_code_is_generated():
    """A sympy Function's name is printed verbatim into generated code: only known functions pass."""
    import sympy as sp

    import derive

    bad = sp.Function("__import__('os').getcwd")(sp.Symbol("z"))
    with pytest.raises(derive.InputError, match="undefined functions"):
        derive.activation_expr(bad)
    with pytest.raises(derive.InputError, match="undefined functions"):
        derive.gradient_function(bad, "tanh")
