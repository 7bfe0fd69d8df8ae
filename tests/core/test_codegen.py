"""The generated in-place gradient code (derive.codegen) against the
lambdified gradients and the hand-written numeric.backward.

Agreement is to 1e-12 of each gradient's largest entry: the three compute
the same formulas in float64 with different operation orders, so they
differ by a few rounding errors of the largest terms (about 1e-15 relative
at these sizes); 1e-12 leaves room for deeper chains and still catches any
wrong formula, whose error is of the order of the gradient itself.
"""

from __future__ import annotations

import ast

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import derive
import numeric
from derive.activations import z
from derive.codegen import _NAMESPACE, GeneratedGradient, compile_gradient
from derive.expr import activation_expr
from numeric import Network
from numeric.compare import draw_network_problem
from numeric.description import HEADS

RTOL = 1e-12
HIDDEN = ("tanh", "swish", "leaky_relu")


def _rel(actual: np.ndarray, expected: np.ndarray) -> float:
    """max |a - e| / max |e| (the absolute error when e is all zero)."""
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    err = float(np.max(np.abs(actual - expected))) if expected.size else 0.0
    return err / scale if scale > 0 else err


def _worst(a: dict, b: dict) -> float:
    assert sorted(a) == sorted(b)
    for k in b:
        assert a[k].shape == b[k].shape, k
    return max(_rel(a[k], b[k]) for k in b)


def _net(head: str, depth: int, **kw) -> Network:
    return Network(activations=tuple(HIDDEN[i % 3] for i in range(depth - 1)), head=head, **kw)


CONVENTIONS = [dict(), dict(reduction="sum", mse="torch", l2=0.3, l2_convention="lambda/2"), dict(mse="torch", l2=0.05)]


def _check_drawn(head: str, depth: int, conv: dict, data: st.DataObject) -> None:
    net = _net(head, depth, **conv)
    low_q = 2 if head == "softmax-ce" else 1
    widths = (*data.draw(st.lists(st.integers(1, 5), min_size=depth, max_size=depth), label="widths"),
              data.draw(st.integers(low_q, 4), label="q"))
    m = data.draw(st.integers(1, 6), label="m")
    P, X, Y = draw_network_problem(net, m, widths=widths, seed=data.draw(st.integers(0, 999), label="seed"))
    got = compile_gradient(network=net)(P, X, Y, return_dZ=True)
    assert _worst(got, derive.gradient_function(network=net)(P, X, Y, return_dZ=True)) <= RTOL
    assert _worst(got, numeric.backward(P, X, Y, network=net, return_dZ=True)) <= RTOL


@pytest.mark.parametrize("depth", [1, 2, 3, 4], ids=lambda d: f"depth{d}")
@pytest.mark.parametrize("head", HEADS)
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_equals_lambdified_and_hand_written(head: str, depth: int, data: st.DataObject) -> None:
    """Every head x depths 1..4, hypothesis-drawn widths, m and values (one convention set per depth)."""
    _check_drawn(head, depth, CONVENTIONS[depth % 3], data)


@pytest.mark.slow
@pytest.mark.parametrize("conv", CONVENTIONS, ids=["mean-half", "sum-torch-l2", "mean-torch-l2"])
@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5], ids=lambda d: f"depth{d}")
@pytest.mark.parametrize("head", HEADS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_equals_lambdified_and_hand_written_many(head: str, depth: int, conv: dict,
                                                           data: st.DataObject) -> None:
    _check_drawn(head, depth, conv, data)


@pytest.mark.parametrize("name", sorted(numeric.ACTIVATIONS))
def test_every_catalog_activation(name: str) -> None:
    P, X, Y = numeric.compare.draw_problem(4, 3, 5, 2, 6, f=name, g=name, seed=1)
    got = compile_gradient(name, name)(P, X, Y)
    assert _worst(got, numeric.backward(P, X, Y, name, name)) <= RTOL
    assert _worst(got, derive.gradient_function(name, name)(P, X, Y)) <= RTOL


# parsed text and sympy objects; the Piecewise ones have three branches and a
# branch without a condition, exercising the masked copies in order
EXPRESSIONS = {
    "parsed: mish": "z*tanh(log(1 + exp(z)))",
    "parsed: where": "where(z > 0, z, 0.1 * z)",
    "parsed: where and": "where((z > -1) & (z < 2), z**2, 0.5*z)",
    "parsed: erf": "z*erf(z)",
    "parsed: softsign cubed": "z**3/(1 + abs(z))",
    "sympy: Piecewise 3 branches": sp.Piecewise((-1, z < -1), (z, z <= 1), (1 + sp.log(z), True)),
    "sympy: Huber": sp.Piecewise((z**2 / 2, sp.Abs(z) < 1), (sp.Abs(z) - sp.Rational(1, 2), True)),
    "sympy: Max": sp.Max(z, sp.sin(z)),
}


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # unused branches, as lambdified
@pytest.mark.parametrize("spec", EXPRESSIONS.values(), ids=EXPRESSIONS.keys())
def test_parsed_and_sympy_activations(spec) -> None:
    expr = activation_expr(spec)
    rng = np.random.default_rng(5)
    P = numeric.init_params(5, 7, 4, q=2, seed=2)
    X, Y = 2 * rng.standard_normal((5, 9)), rng.random((2, 9))
    got = compile_gradient(expr, "tanh")(P, X, Y)
    assert _worst(got, derive.gradient_function(expr, "tanh")(P, X, Y)) <= RTOL


def test_threaded_row_blocks_and_dtypes(monkeypatch) -> None:
    """Row blocks on the worker threads (threshold lowered under 70 x 1900); float32 and integer inputs."""
    import numeric._blocks as blocks

    monkeypatch.setattr(blocks, "THREADED", 1 << 15)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    P = numeric.init_params(6, 70, 5, q=3, seed=4)
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((6, 1900)), (rng.random((3, 1900)) < 0.5).astype(float)
    grad_fn = compile_gradient("tanh", "swish")
    assert _worst(grad_fn(P, X, Y), numeric.backward(P, X, Y, "tanh", "swish")) <= RTOL
    for Xc in (X.astype(np.float32), np.round(3 * X).astype(np.int64)):
        assert _worst(grad_fn(P, Xc, Y), derive.gradient_function("tanh", "swish")(P, Xc, Y)) <= RTOL


def test_source_is_the_real_python_that_runs() -> None:
    grad_fn = compile_gradient(network=_net("softmax-ce", 3, l2=0.1))
    tree = ast.parse(grad_fn.source)
    assert [n.name for n in tree.body if isinstance(n, ast.FunctionDef)][-1] == "gradients"
    for pseudo in ("f'(", "g'(", "_iadd", "_imul", "sigma("):
        assert pseudo not in grad_fn.source
    assert "out=" in grad_fn.source and "_blocks(" in grad_fn.source
    # the text alone, compiled again, computes the same gradients
    ns = dict(_NAMESPACE)
    exec(compile(grad_fn.source, "<test>", "exec"), ns)  # noqa: S102 - the project's generated text
    P, X, Y = draw_network_problem(grad_fn.network, 5, widths=(3, 4, 5, 6), seed=0)
    again = ns["gradients"](*(P[k] for k in grad_fn.network.parameter_names()), X, Y, 0.1, False)
    assert _worst(again, grad_fn(P, X, Y)) == 0.0


def _mutants(source: str) -> list[tuple[str, str]]:
    """Copies of ``source`` with one arithmetic call swapped (multiply <-> add, subtract -> add)."""
    swaps = {"numpy.multiply(": "numpy.add(", "numpy.add(": "numpy.multiply(", "numpy.subtract(": "numpy.add("}
    lines = source.splitlines()
    out = []
    for i, line in enumerate(lines):
        for old, new in swaps.items():
            if old in line:
                out.append((line.strip(), "\n".join(lines[:i] + [line.replace(old, new, 1)] + lines[i + 1:])))
                break
    return out


def test_negative_control_a_wrong_generated_line_is_caught() -> None:
    grad_fn = compile_gradient("swish", "leaky_relu")
    P, X, Y = numeric.compare.draw_problem(4, 3, 5, 2, 6, f="swish", g="leaky_relu", seed=3)
    truth = numeric.backward(P, X, Y, "swish", "leaky_relu")
    mutants = _mutants(grad_fn.source)
    assert len(mutants) >= 10
    for line, text in mutants:
        ns = dict(_NAMESPACE)
        exec(compile(text, "<mutant>", "exec"), ns)  # noqa: S102 - the project's generated text, one call swapped
        with np.errstate(all="ignore"):
            wrong = ns["gradients"](*(P[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3")), X, Y, 0.0, False)
        assert not _worst(wrong, truth) <= RTOL, f"mutant not caught: {line}"


def test_callable_like_gradient_function() -> None:
    grad_fn = compile_gradient()
    assert isinstance(grad_fn, GeneratedGradient) and compile_gradient() is grad_fn
    assert grad_fn.derivatives["f"] == sp.diff(grad_fn.activations["f"], z)
    assert "GeneratedGradient(f=" in repr(grad_fn)
    with pytest.raises(numeric.errors.InputError, match="network must be a numeric.Network"):
        compile_gradient(network="swish")
    with pytest.raises(numeric.errors.InputError, match="derives f' itself"):
        compile_gradient(network=Network(activations=((np.tanh, np.cosh),)))


# ---- the in-place forms (issue 15): each is used only when proven safe ----------------

@pytest.mark.parametrize(("spec", "expected"), [
    ("relu", True), ("leaky_relu", True), ("where(z > 0, 3*z, -z/2)", True),
    ("swish", False), ("elu", False), ("tanh", False),
    ("where(z > 0, z + 1, z)", False),  # affine, not through 0: f(z) != z f'(z) for z > 0
    ("where(z > 0, z, 0.5)", False),  # a constant piece
])
def test_value_is_z_times_slope_only_when_proven(spec: str, expected: bool) -> None:
    from derive.codegen_inplace import value_is_z_times_slope

    assert value_is_z_times_slope(activation_expr(spec)) is expected


def test_value_over_z_only_when_z_is_read_no_more() -> None:
    from derive.codegen_inplace import value_over_z

    assert value_over_z(["numpy.exp(z, out=_f0)", "numpy.multiply(_f0, z, out=_o0)", "numpy.add(_o0, 1.0, out=_o1)"])
    # z read after f(z) is written: writing f(z) over z would change that read
    assert not value_over_z(["numpy.multiply(z, 2.0, out=_o0)", "numpy.multiply(z, _o0, out=_o1)"])
    assert not value_over_z(["numpy.exp(z, out=_o1)"])  # no value output at all


def test_activations_are_written_over_their_dead_pre_activations() -> None:
    src = compile_gradient("swish", "leaky_relu").source
    assert "f_Z1 = Z1" in src and "_kernel_f_01(Z1_, Z1_, f_d_Z1_)" in src
    assert "_kernel_g_01(Z2_, Z2_, g_d_Z2_)" in src
    assert "_scratch('f_Z1'" not in src  # no separate whole matrix for f(Z1)
    # the kernel whose value needs z after writing it goes through a block buffer
    src = compile_gradient("where(z > 0, z, exp(z) - 1)", "tanh").source
    assert "numpy.copyto(Z1_, _v0)" in src or "_kernel_f_01(Z1_, Z1_" in src


def test_a_matrix_read_later_is_never_overwritten() -> None:
    from derive.codegen_inplace import overwritable
    from derive.codegen_plan import Pass, Step

    a, b = sp.symbols("Z1 f_Z1")
    make = Step("Z1", (3, 4), "lead", sp.Symbol("Z1") + sp.Symbol("b1"), [("matmul", "W1", "X", "Z1")])
    use_value = Step("Z2", (2, 4), "lead", sp.Symbol("Z2"), [("matmul", "W2", "f_Z1", "Z2")])
    applies = {("f", "Z1"): {0, 1}}
    assert overwritable([Pass((3, 4), [make]), Pass((2, 4), [use_value])], applies, {}, ["dW1"]) == {"Z1"}
    reads_z = Step("dZ1", (3, 4), "ew", sp.Symbol("Z1") * sp.Symbol("f_d_Z1"))  # Z1 itself read later
    assert overwritable([Pass((3, 4), [make]), Pass((3, 4), [reads_z])], applies, {}, ["dW1"]) == set()
    product_of_z = Step("Z2", (2, 4), "lead", sp.Symbol("Z2"), [("matmul", "W2", "Z1.T", "Z2")])
    assert overwritable([Pass((3, 4), [make]), Pass((2, 4), [product_of_z])], applies, {}, ["dW1"]) == set()
    two_functions = {("f", "Z1"): {0, 1}, ("g", "Z1"): {0}}
    assert overwritable([Pass((3, 4), [make])], two_functions, {}, ["dW1"]) == set()
    assert overwritable([Pass((3, 4), [make])], applies, {"dZ1": "Z1"}, ["dW1"]) == set()  # returned as a dZ
    del a, b


def test_the_exp_clamp_runs_only_where_a_block_needs_it() -> None:
    """Pre-activations below -700 (exp(-z) would overflow) take the clamped branch; the
    gradients agree with the lambdified ones (which always clamp) and the hand-written ones."""
    P = numeric.init_params(3, 4, 2, seed=0)
    X = np.array([[-9000.0, 0.5, 2.0, 8000.0], [1.0, -1.0, 0.0, 3.0], [0.2, 0.1, -0.3, 0.0]])
    Y = np.array([[0.0, 1.0, 1.0, 0.0]])
    grad_fn = compile_gradient("swish", "sigmoid")
    Z1 = P["W1"] @ X + P["b1"]
    assert Z1.min() < -700 and Z1.max() > 700
    with np.errstate(over="ignore", under="ignore"):
        want = derive.gradient_function("swish", "sigmoid")(P, X, Y)
    got = grad_fn(P, X, Y)
    assert all(np.isfinite(v).all() for v in got.values())
    assert _worst(got, want) <= RTOL
    assert _worst(got, numeric.backward(P, X, Y, "swish", "sigmoid")) <= RTOL
    assert "if _f0.max() > 700.0: numpy.minimum(_f0, 700.0, out=_f0)" in grad_fn.source
