"""Strength tests for the code generator (derive.codegen, codegen_elementwise,
codegen_plan, codegen_inplace): every emitter path against sympy's own
lambdify, the exact text of the fast forms, the buffer counts, the plan's
passes and the in-place proofs on synthetic plans.

Written to kill the mutants that survived ``python tools/mutate.py --area codegen``.
Agreement is to 1e-12 of each gradient's largest entry, as in test_codegen.py:
the generated code and lambdify evaluate the same formulas in a different
order of float64 operations (a few rounding errors), while any wrong branch,
function or power is wrong by the order of the gradient itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import derive
import numeric
from derive.activations import z
from derive.codegen import _kernel, compile_gradient
from derive.codegen_elementwise import emit_block
from derive.codegen_inplace import overwritable, value_over_z
from derive.codegen_plan import CodegenError, Pass, Step, _Translator
from derive.expr import activation_expr
from numeric.errors import InputError, NonFiniteError, ShapeError

RTOL = 1e-12


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    scale = float(np.max(np.abs(b)))
    return float(np.max(np.abs(a - b))) / (scale if scale > 0 else 1.0)


# each string exercises one emitter path: a NumPy ufunc, a power, a min/max of
# three arguments, a two-sided affine piecewise (max, min, blend), a condition
# of each kind; arguments are kept inside each function's domain
FORMS = {
    "sinh": "sinh(z)/4", "cosh": "cosh(z)/4", "asinh": "asinh(z)", "acosh": "acosh(2 + z**2)",
    "atanh": "atanh(tanh(z)/2)", "atan": "atan(z)", "asin": "asin(tanh(z)/2)", "acos": "acos(tanh(z)/2)",
    "tan": "tan(tanh(z))", "log1p": "log1p(z**2)", "expm1": "expm1(z/2)", "abs": "abs(z)*z",
    "sign": "sign(z)*z**2", "max3": "max(z, sin(z), z/2)", "min3": "min(z, cos(z), 0.5)",
    "inverse square": "1/(1 + z**2)**2", "inverse": "z/(1 + z**2)", "cube": "z**3/8", "fourth": "z**4/8",
    "sqrt": "sqrt(1 + z**2)", "inverse sqrt": "1/sqrt(1 + z**2)", "power 1.5": "(1 + z**2)**1.5",
    "two-sided max": "where(z > 1, 3*z - 2, z)", "two-sided min": "where(z > 1, 0.5*z + 0.5, z)",
    "blend": "where(z < 0.5, 1.0, 3.0) + z", "blend >=": "where(z >= 0.5, 1.0, 2.0) + z",
    "blend <=": "where(z <= -0.5, z, 2*z + 0.5)", "strict <": "where(z < 0.25, 2*z, z + 0.25)",
    "and": "where((z > -1) & (z < 1), z**2, abs(z))", "or": "where((z < -1) | (z > 1), z, z**3)",
    "all-negative sum": "-z - z**3/4",
}


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # branches not taken
@pytest.mark.parametrize("spec", FORMS.values(), ids=FORMS.keys())
def test_every_emitter_path_agrees_with_lambdify(spec: str) -> None:
    expr = activation_expr(spec)
    rng = np.random.default_rng(11)
    P = numeric.init_params(4, 6, 3, q=2, seed=3)
    X, Y = 1.5 * rng.standard_normal((4, 40)), rng.random((2, 40))
    got = compile_gradient(expr, "tanh")(P, X, Y)
    want = derive.lambdified_gradient(expr, "tanh")(P, X, Y)
    for k in want:
        assert _rel(got[k], want[k]) <= RTOL, (spec, k)


def _kernel_lines(spec: str) -> list[str]:
    return _kernel("f", activation_expr(spec), {0, 1})[1]


@pytest.mark.parametrize(("spec", "fragment"), [
    ("where(z > 1, 3*z - 2, z)", "numpy.maximum("),  # continuous at 1, steeper on the right
    ("where(z > 1, 0.5*z + 0.5, z)", "numpy.minimum("),
    ("where(z < 0.5, 1.0, 3.0) + z", "numpy.greater_equal(z, 0.5, out="),
    ("where(z >= 0.5, 1.0, 2.0) + z", "numpy.greater_equal(z, 0.5, out="),
    ("where(z <= -0.5, z, 2*z + 0.5)", "numpy.greater(z, -0.5, out="),
])
def test_two_sided_pieces_take_the_fast_forms(spec: str, fragment: str) -> None:
    text = "\n".join(_kernel_lines(spec))
    assert fragment in text
    assert "where=" not in text  # no masked copies: the two-sided forms are one call each


def test_blend_scales_the_mask_only_when_the_step_is_not_one() -> None:
    one = "\n".join(_kernel_lines("where(z < 0.5, 1.0, 2.0) + z"))  # right - left = 1
    two = "\n".join(_kernel_lines("where(z < 0.5, 1.0, 3.0) + z"))  # right - left = 2
    assert "2.0" in two and "numpy.multiply(" in two
    assert one.count("numpy.multiply(") < two.count("numpy.multiply(")


def test_a_threshold_that_is_not_a_number_is_not_two_sided() -> None:
    text = "\n".join(_kernel_lines("where(z > sin(z), z, 2*z)"))
    assert "numpy.maximum(" not in text and "numpy.minimum(" not in text


def test_buffers_are_counted_exactly() -> None:
    x = sp.Symbol("x")
    plain = emit_block([(sp.exp(x) * x + 1, "out_")], {x: "x_"}, {})
    assert (plain.floats, plain.bools) == (1, 0)  # no comparison: no bool buffer
    masked = emit_block([(sp.Piecewise((x, x > sp.sin(x)), (2 * x, True)), "out_")], {x: "x_"}, {})
    assert masked.bools == 1
    assert emit_block([(sp.exp(x) + sp.sin(x), "out_")], {x: "x_"}, {}).floats == 2  # both live at the add


def test_a_slot_is_freed_by_the_update_that_reads_it_last() -> None:
    from derive.codegen_elementwise import _allocate, _Op, _Reg

    first, second = _Reg("f"), _Reg("f")
    ops = [_Op("numpy.exp(x_, out={out})", first, ()),
           _Op("numpy.negative({0}, out={0})", first, (first,)),  # an update: its last read
           _Op("numpy.sin(x_, out={out})", second, ())]
    assert _allocate(ops, 0) == (1, 0) and first.slot == second.slot == "_f0"


def test_booleans_in_a_formula_print_as_python_booleans() -> None:
    x = sp.Symbol("x")
    block = emit_block([(sp.Piecewise((x, sp.true), (0, True)), "out_")], {x: "x_"}, {})
    assert block.lines == ["numpy.copyto(out_, x_)"]


def test_the_value_is_written_over_z_only_when_the_kernel_allows_it() -> None:
    assert value_over_z(["numpy.exp(z, out=_o1)"]) is False  # no value at all: a plain False
    src = compile_gradient("swish", "leaky_relu").source
    assert src.count("numpy.copyto(Z") == 0  # both kernels write f(z) over z directly


def test_dW_is_not_allocated_before_its_product() -> None:
    src = compile_gradient("swish", "leaky_relu").source
    for k in (1, 2, 3):
        assert f"dW{k} = numpy.matmul(" in src and f"dW{k} = numpy.empty(" not in src


def _step(target: str, kind: str, expr: sp.Expr, leaders=()) -> Step:
    return Step(target, (3, 4), kind, expr, list(leaders))


def test_only_scratch_matrices_made_by_a_product_or_an_elementwise_step_are_overwritten() -> None:
    applies = {("f", "dW1"): {0, 1}}
    grad = _step("dW1", "lead", sp.Symbol("dW1"), [("matmul", "dZ1", "X.T", "dW1")])
    assert overwritable([Pass((3, 4), [grad])], applies, {}, ["dW1"]) == set()  # a returned gradient
    applies = {("f", "S"): {0}}
    summed = _step("S", "reduce", sp.Symbol("G"))
    assert overwritable([Pass((3, 4), [summed])], applies, {}, []) == set()  # a row sum is not a scratch
    made = _step("S", "ew", sp.Symbol("G") * 2)
    assert overwritable([Pass((3, 4), [made])], applies, {}, []) == {"S"}


def test_a_second_product_in_one_formula_gets_its_own_buffer_and_unknown_forms_are_named() -> None:
    from sympy.matrices.expressions import Inverse, MatrixSymbol

    W, A, V, B = (MatrixSymbol(n, 3, 3) for n in "WAVB")
    tr = _Translator("Z")
    expr = tr.entry(W * A + V * B)
    assert [lead[3] for lead in tr.leaders] == ["Z", "_P1_Z"]
    assert expr == sp.Symbol("Z") + sp.Symbol("_P1_Z")
    with pytest.raises(CodegenError, match=r"Inverse \(W\*\*\(-1\)\) is not supported by the generator"):
        _Translator("Z").entry(Inverse(W))


@pytest.mark.parametrize(("net", "passes"), [
    # dZ1 and db1 join the pass of Z1 (same shape, inputs made there)
    (numeric.Network(widths=(3, 2), activations=(), head="identity-mse"), ["Z1; dZ1; db1", "dW1"]),
    # the article's network: each product opens a pass; the head's A3 - Y and db3 join Z3's
    (None, ["Z1", "Z2", "Z3; dZ3; db3", "dW3", "dZ2; db2", "dW2", "dZ1; db1", "dW1"]),
    # the softmax is a leading operation: it opens a pass of its own
    (numeric.Network(widths=(3, 4, 2), activations=("tanh",), head="softmax-ce"),
     ["Z1", "Z2", "A2; dZ2; db2", "dW2", "dZ1; db1", "dW1"]),
], ids=["identity-mse depth 1", "article", "softmax depth 2"])
def test_steps_join_the_pass_that_made_their_inputs(net, passes) -> None:
    src = compile_gradient(network=net).source if net is not None else compile_gradient().source
    labels = [line.split(": ", 1)[1] for line in src.splitlines() if line.startswith("    # pass ")]
    assert labels == passes


def test_the_article_path_checks_its_inputs() -> None:
    grad_fn = compile_gradient("swish", "leaky_relu")
    from numeric.compare import draw_problem

    P, X, Y = draw_problem(4, 3, 5, 2, 6, f="swish", g="leaky_relu", seed=1)
    bad = dict(P, W2=P["W2"].T)
    with pytest.raises(ShapeError, match="W2 has shape"):
        grad_fn(bad, X, Y)
    X = X.copy()
    X[1, 2] = np.nan
    with pytest.raises(NonFiniteError, match=r"X holds a non-finite value nan at index \(1, 2\)"):
        grad_fn(P, X, Y)


def test_a_kernel_of_another_symbol_is_refused_with_its_name() -> None:
    with pytest.raises(InputError, match=r"the activation f depends on symbols other than z: \['t', 'z'\]"):
        _kernel("f", z + sp.Symbol("t"), {0, 1})


@pytest.mark.parametrize(("power", "calls"), [
    (2, ["square"]), (sp.Rational(1, 2), ["sqrt"]), (-1, ["divide"]), (-2, ["square", "divide"]),
    (-sp.Rational(1, 2), ["sqrt", "divide"]), (3, ["square", "multiply"]), (5, ["power"]),
])
def test_small_powers_are_products_not_power_calls(power, calls) -> None:
    """x**n for the common n is written with square/sqrt/divide (exact to a rounding error,
    several times cheaper than numpy.power); other exponents keep numpy.power."""
    x = sp.Symbol("x")
    block = emit_block([(sp.Pow(x + 1, power), "out_")], {x: "x_"}, {})
    used = [line.split("(")[0].removeprefix("numpy.") for line in block.lines]
    assert used == ["add", *calls], block.lines


def test_the_source_text_is_whole() -> None:
    src = compile_gradient("swish", "leaky_relu").source
    assert src.startswith("# Generated by derive.codegen from the derived forward and backward steps.\n")
    assert src.endswith("    return _out\n")


def test_kernels_write_into_their_own_buffers_when_nothing_may_be_overwritten(monkeypatch) -> None:
    """The general form (f(Z) in a matrix of its own), as a plan in which Z is still read would use it."""
    import derive.codegen as codegen
    from numeric.compare import draw_problem

    monkeypatch.setattr(codegen, "overwritable", lambda *args: set())
    grad_fn = codegen._build("swish", "leaky_relu", None)
    assert "_kernel_f_01(Z1_, f_Z1_, f_d_Z1_)" in grad_fn.source and "f_Z1 = _scratch('f_Z1'" in grad_fn.source
    P, X, Y = draw_problem(4, 3, 5, 2, 6, f="swish", g="leaky_relu", seed=2)
    want = numeric.backward(P, X, Y, "swish", "leaky_relu")
    got = grad_fn(P, X, Y)
    assert all(_rel(got[k], want[k]) <= RTOL for k in want)


def test_an_unhashable_activation_is_refused_not_cached() -> None:
    with pytest.raises(TypeError, match="an activation is a catalog name or a sympy expression in z, got list"):
        compile_gradient(["swish"])


def test_a_product_of_three_matrices_is_refused_with_its_count() -> None:
    from sympy.matrices.expressions import MatrixSymbol

    W, A, V = (MatrixSymbol(n, 3, 3) for n in "WAV")
    with pytest.raises(CodegenError, match=r"a product of 3 matrices \(W\*A\*V\) is not supported"):
        _Translator("Z").entry(W * A * V)
