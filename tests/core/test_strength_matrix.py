"""Strength tests for derive.matrix (Apply, Ones, explicit, the NumPy and
plain printers) and derive.steps (Step, Derivation, scalar_equal).

Each test states a behaviour; they were written to kill the mutants that
survived ``python tools/mutate.py --area core``.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from sympy.matrices.expressions import HadamardProduct, Inverse, MatrixSymbol, Transpose

from derive.matrix import INPLACE_NAMESPACE, Apply, NumPyMatrixPrinter, Ones, explicit, plain
from derive.steps import Derivation, Step, scalar_equal
from numeric._blocks import BLOCK

n, m, k = sp.symbols("n m k", integer=True, positive=True)
W = MatrixSymbol("W", n, k)
A = MatrixSymbol("A", k, m)
B = MatrixSymbol("B", n, m)
C = MatrixSymbol("C", n, m)
b = MatrixSymbol("b", n, 1)
G = MatrixSymbol("G", n, m)


# ---- Apply and Ones ------------------------------------------------------------

@pytest.mark.parametrize(("node", "text", "latex"), [
    (Apply("f", B), "f(B)", r"f\left(B\right)"),
    (Apply("g", B, 1), "g'(B)", r"g'\left(B\right)"),
    (Apply("sigma", B), "sigma(B)", r"\sigma\left(B\right)"),
    (Apply("sigma", B, 1), "sigma'(B)", r"\sigma'\left(B\right)"),
    (Apply("h", B, 2), "h''(B)", r"h''\left(B\right)"),
], ids=["f", "g'", "sigma", "sigma'", "h''"])
def test_apply_prints_its_function_order_and_argument(node, text, latex):
    assert str(node) == text
    assert sp.latex(node) == latex
    assert node.shape == (n, m)
    assert node.arg == B


def test_apply_keeps_name_and_order():
    node = Apply(sp.Symbol("g"), B, 1)
    assert (node.fn, node.order) == ("g", 1)
    assert Apply("f", B).order == 0
    assert Apply("f", B) != Apply("f", B, 1) and Apply("f", B) != Apply("g", B)


@pytest.mark.parametrize(("node", "text", "latex", "shape"), [
    (Ones(m, 1), "1_m", r"\mathbf{1}_{m}", (m, 1)),
    (Ones(1, m), "1_m^T", r"\mathbf{1}_{m}^{\top}", (1, m)),
], ids=["column", "row"])
def test_ones_prints_as_a_column_or_a_row(node, text, latex, shape):
    assert str(node) == text
    assert sp.latex(node) == latex
    assert node.shape == shape


def test_ones_transposes_into_ones():
    assert Ones(m, 1).T == Ones(1, m)
    assert Ones(1, m).T == Ones(m, 1)
    for rows, cols in (("m", 1), (1, "m")):
        with pytest.raises(sp.SympifyError):
            Ones(rows, cols)  # strings are never parsed


# ---- explicit ---------------------------------------------------------------------

def _concrete(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}{i}{j}"))


SIZES = {n: 2, m: 3, k: 2}
ENV = {W: _concrete("w", 2, 2), A: _concrete("a", 2, 3), B: _concrete("x", 2, 3),
       C: _concrete("c", 2, 3), b: _concrete("b", 2, 1), G: _concrete("g", 2, 3)}


def _ev(expr, apply=lambda node, M: M):
    return explicit(expr, ENV, apply, SIZES)


def test_explicit_evaluates_each_node_kind():
    Wm, Am, Bm, Cm, bm, Gm = (ENV[s] for s in (W, A, B, C, b, G))
    assert _ev(W * A + b * Ones(1, m)) == Wm * Am + bm * sp.ones(1, 3)
    assert _ev(G * Ones(m, 1) / m) == Gm * sp.ones(3, 1) / 3
    assert _ev(B + C + G) == Bm + Cm + Gm
    assert _ev(B - C) == Bm - Cm
    assert _ev(HadamardProduct(B, C, G)) == Bm.multiply_elementwise(Cm).multiply_elementwise(Gm)
    assert _ev(W.T * B) == Wm.T * Bm
    assert _ev(2 * W * A * Ones(m, 1)) == 2 * Wm * Am * sp.ones(3, 1)
    assert _ev(m * n + 1) == 7  # scalars get the sizes


def test_explicit_passes_the_evaluated_argument_to_apply():
    seen = []

    def apply(node, M):
        seen.append((node.fn, node.order, M))
        return M.applyfunc(lambda e: sp.Function(node.fn + "'" * node.order)(e))

    out = _ev(HadamardProduct(Apply("f", W * A), Apply("g", B, 1)), apply)
    WA = ENV[W] * ENV[A]
    assert [(f, o) for f, o, _ in seen] == [("f", 0), ("g", 1)]
    assert seen[0][2] == WA and seen[1][2] == ENV[B]
    assert out[0, 0] == sp.Function("f")(WA[0, 0]) * sp.Function("g'")(ENV[B][0, 0])


def test_explicit_refuses_a_node_it_does_not_know():
    with pytest.raises(TypeError, match=r"^explicit\(\) cannot evaluate Inverse: W\*\*\(-1\)$"):
        explicit(Inverse(MatrixSymbol("W", n, n)), {}, lambda node, M: M, SIZES)


# ---- the NumPy printer and the in-place helpers ---------------------------------

PRINTER_SETTINGS = {"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True,
                    "user_functions": {}}


def _numpy(expr, *args):
    printer = NumPyMatrixPrinter(dict(PRINTER_SETTINGS))
    fn = sp.lambdify(args, expr, modules=[dict(INPLACE_NAMESPACE), "numpy"], printer=printer)
    return fn, printer.doprint(expr)


@pytest.mark.parametrize(("expr", "code"), [
    (W * A + b * Ones(1, m), "_iadd(_mm(W, A), (b))"),
    (G * Ones(m, 1) / m, "m**(-1.0) * sum((G), axis=1, keepdims=True)"),
    (G * A.T / m, "m**(-1.0) * _mm(G, A.T)"),
    (HadamardProduct(W * A, B), "_imul(_mm(W, A), B)"),
    (HadamardProduct(B, C), "multiply(B, C)"),
    (B - C, "B - 1 * (C)"),
    (W * A * A.T, "((W) @ (A) @ (A.T))"),
], ids=["affine", "bias-sum", "weight", "hadamard-fresh", "hadamard", "difference", "three-factors"])
def test_numpy_printer_code(expr, code):
    assert NumPyMatrixPrinter(dict(PRINTER_SETTINGS)).doprint(expr) == code


def _arrays(rows: int, inner: int, cols: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return {"W": rng.standard_normal((rows, inner)), "A": rng.standard_normal((inner, cols)),
            "B": rng.standard_normal((rows, cols)), "C": rng.standard_normal((rows, cols)),
            "b": rng.standard_normal((rows, 1)), "G": rng.standard_normal((rows, cols))}


@pytest.mark.parametrize(("rows", "inner", "cols"), [(3, 2, 4), (700, 3, 200)], ids=["small", "blocked"])
def test_numpy_code_computes_the_formulas_without_touching_its_inputs(rows, inner, cols, monkeypatch):
    if rows * cols >= 4 * BLOCK:  # the blocked in-place helpers, on the worker threads
        import numeric._blocks as blocks

        monkeypatch.setattr(blocks, "THREADED", 4 * BLOCK)
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
    arr = _arrays(rows, inner, cols)
    keep = {key: v.copy() for key, v in arr.items()}
    Wv, Av, Bv, Cv, bv, Gv = (arr[s] for s in "WABCbG")
    cases = [
        ((W, A, b), W * A + b * Ones(1, m), Wv @ Av + bv),
        ((W, A, B, C), W * A + B + C, Wv @ Av + Bv + Cv),
        ((W, A, B), HadamardProduct(W * A, B), (Wv @ Av) * Bv),
        ((W, A, B, C), HadamardProduct(W * A, B, C), (Wv @ Av) * Bv * Cv),
        ((G, m), G * Ones(m, 1) / m, Gv.sum(axis=1, keepdims=True) / cols),
        ((W, A), W * A * Ones(m, 1), (Wv @ Av).sum(axis=1, keepdims=True)),
        ((W, A, b), (W * A + b * Ones(1, m)) * Ones(m, 1), (Wv @ Av + bv).sum(axis=1, keepdims=True)),
        ((G, A, m), G * A.T / m, Gv @ Av.T / cols),
        ((B, C), B - C, Bv - Cv),
    ]
    for args, expr, want in cases:
        fn, code = _numpy(expr, *args)
        values = [cols if a is m else arr[a.name] for a in args]
        np.testing.assert_allclose(fn(*values), want, rtol=1e-12, atol=1e-12, err_msg=code)
    for key in keep:
        np.testing.assert_array_equal(arr[key], keep[key], err_msg=f"{key} was modified")


def test_printer_refuses_unreplaced_nodes():
    printer = NumPyMatrixPrinter(dict(PRINTER_SETTINGS))
    with pytest.raises(TypeError, match="replace f\\(B\\) by a MatrixSymbol before printing"):
        printer.doprint(Apply("f", B))


# ---- plain notation -------------------------------------------------------------

@pytest.mark.parametrize(("expr", "text"), [
    (G * A.T / m, "G A^T / m"),
    (-G * A.T / m, "-G A^T / m"),
    (2 * G * A.T / m, "2 G A^T / m"),
    (-G * A.T, "-G A^T"),
    (3 * W * A, "3 W A"),
    (W * A, "W A"),
    (B - C, "B - C"),
    (-B + C, "C - B"),
    (B + C, "B + C"),
    (Transpose(W * A), "(W A)^T"),
    (W.T, "W^T"),
    (HadamardProduct(W * A, B), "(W A) * B"),
    (HadamardProduct(B + C, Apply("f", B, 1)), "(B + C) * f'(B)"),
    (HadamardProduct(B, C), "B * C"),
    (G * Ones(m, 1) / m, "G 1_m / m"),
], ids=["weight", "negated", "two", "minus-no-denominator", "coefficient", "product", "difference",
        "difference-first-negative", "sum", "transposed-product", "transpose", "hadamard-product",
        "hadamard-sum", "hadamard", "bias"])
def test_plain_notation(expr, text):
    assert plain(expr) == text


# ---- steps --------------------------------------------------------------------------

x = sp.Symbol("x")


@pytest.mark.parametrize(("step", "text"), [
    (Step("rule", x, x + 1), "[rule] x = x + 1   (unchecked)"),
    (Step("rule", x, x, "sympy", True), "[rule] x = x   (ok: sympy)"),
    (Step("rule", x, 2 * x, "sympy", False), "[rule] x = 2*x   (FAILED: sympy)"),
    (Step("rule", x, x, "", True), "[rule] x = x   (ok)"),
], ids=["unchecked", "ok", "failed", "ok-without-how"])
def test_step_text_says_how_it_was_checked(step, text):
    assert str(step) == text


def test_derivation_verdict_needs_steps_and_every_step_confirmed():
    d = Derivation("title")
    assert not d.ok  # nothing derived is nothing proven
    d.add("same", x, x)
    first = d.add("double", 2 * x, x + x)
    assert first is d.steps[-1] and d.result is first
    assert not d.ok  # unchecked steps are not confirmed
    assert d.verify(scalar_equal, "sympy") is d and d.ok
    assert [s.check for s in d.steps] == ["sympy", "sympy"]
    assert str(d) == "title\n  [same] x = x   (ok: sympy)\n  [double] 2*x = 2*x   (ok: sympy)"
    d.add("wrong", x, x + 1)
    assert not d.verify(scalar_equal, "sympy").ok
    assert [s.verified for s in d.steps] == [True, True, False]


@pytest.mark.parametrize(("lhs", "rhs", "equal"), [
    (sp.Derivative(sp.exp(2 * x), x), 2 * sp.exp(2 * x), True),
    (sp.tanh(x), (sp.exp(x) - sp.exp(-x)) / (sp.exp(x) + sp.exp(-x)), True),
    (1 / (1 + sp.exp(-x)), sp.exp(x) / (1 + sp.exp(x)), True),
    (sp.Derivative(x ** 3, x), 3 * x, False),
    (sp.tanh(x), sp.sinh(x), False),
    (x, x + 1, False),
], ids=["derivative", "tanh-exp-form", "sigmoid-forms", "wrong-derivative", "wrong-function", "off-by-one"])
def test_scalar_equal(lhs, rhs, equal):
    assert scalar_equal(lhs, rhs) is equal


# ---- the softmax node -------------------------------------------------------------

def test_softmax_node_prints_and_evaluates_column_by_column():
    from derive.matrix import Softmax, explicit_softmax

    node = Softmax(B)
    assert str(node) == "softmax(B)" and sp.latex(node) == r"\operatorname{softmax}\left(B\right)"
    assert node.shape == (n, m) and node.arg == B
    M = sp.Matrix([[0, sp.log(3)], [sp.log(2), 0]])
    S = explicit_softmax(M)
    assert S == sp.Matrix([[sp.Rational(1, 3), sp.Rational(3, 4)], [sp.Rational(2, 3), sp.Rational(1, 4)]])
    assert _ev(Softmax(B))[0, 0] == sp.exp(ENV[B][0, 0]) / (sp.exp(ENV[B][0, 0]) + sp.exp(ENV[B][1, 0]))
    fn, code = _numpy(Softmax(B), B)
    assert code == "_softmax(B)"
    Z = np.array([[1000.0, -3.0, 0.0], [999.0, 4.0, 0.0]])
    with np.errstate(all="raise"):
        out = fn(Z)
    want = np.exp(Z - Z.max(axis=0)) / np.exp(Z - Z.max(axis=0)).sum(axis=0)
    np.testing.assert_allclose(out, want, rtol=1e-14)
    np.testing.assert_allclose(out.sum(axis=0), 1.0, rtol=1e-15)


def test_bias_sum_of_an_outer_product():
    # c (n x 1) r (1 x m) 1_m: the row of the middle factor must not be taken for a broadcast row
    c, r = MatrixSymbol("c", n, 1), MatrixSymbol("r", 1, m)
    fn, code = _numpy(c * r * Ones(m, 1), c, r)
    cv, rv = np.array([[1.0], [2.0]]), np.array([[3.0, 4.0, 5.0]])
    np.testing.assert_allclose(fn(cv, rv), cv * rv.sum(), rtol=1e-15)
    assert "sum(" in code


@pytest.mark.parametrize(("lhs", "rhs"), [("x", x), (x, "x")], ids=["lhs", "rhs"])
def test_scalar_equal_never_parses_a_string(lhs, rhs):
    with pytest.raises(sp.SympifyError):
        scalar_equal(lhs, rhs)
