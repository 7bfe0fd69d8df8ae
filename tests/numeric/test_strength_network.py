"""Strength tests for numeric.network (the article's fast path) and its
helpers: complex input, zero-width layers, strict floating-point modes, the
threaded row blocks and scratch arrays, and the wording of input errors.

Each test states a behaviour; they were written to kill mutants that survived
``python tools/mutate.py --area numeric``.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import numeric
from numeric import InputError, NonFiniteError, ShapeError, TargetRangeError
from numeric._blocks import BLOCK, row_blocks, scratch, threads
from numeric.activations import ACTIVATIONS, get_activation
from numeric.gradcheck import numerical_gradient

KEYS = ("dW1", "db1", "dW2", "db2", "dW3", "db3")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow for any real z


def reference_backward(P, X, Y, f="swish", g="leaky_relu"):
    """DESIGN.md's formulas, written plainly (no blocks, no scratch, no fused kernels)."""
    fa, ga = get_activation(f), get_activation(g)
    m = X.shape[1]
    Z1 = P["W1"] @ X + P["b1"]
    Z2 = P["W2"] @ fa.value(Z1) + P["b2"]
    A1, A2 = fa.value(Z1), ga.value(Z2)
    Z3 = P["W3"] @ A2 + P["b3"]
    dZ3 = _sigmoid(Z3) - Y
    dZ2 = (P["W3"].T @ dZ3) * ga.derivative(Z2)
    dZ1 = (P["W2"].T @ dZ2) * fa.derivative(Z1)
    out = {}
    for l, dZ, A in ((1, dZ1, X), (2, dZ2, A1), (3, dZ3, A2)):
        out[f"dW{l}"] = dZ @ A.T / m
        out[f"db{l}"] = dZ.sum(axis=1, keepdims=True) / m
    return out, {"dZ1": dZ1, "dZ2": dZ2, "dZ3": dZ3}


def _problem(d=3, n=4, p=3, q=2, m=5, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    P = {"W1": rng.standard_normal((n, d)) * scale, "b1": rng.standard_normal((n, 1)),
         "W2": rng.standard_normal((p, n)) * scale, "b2": rng.standard_normal((p, 1)),
         "W3": rng.standard_normal((q, p)) * scale, "b3": rng.standard_normal((q, 1))}
    return P, rng.standard_normal((d, m)), (rng.random((q, m)) < 0.5).astype(float)


def _assert_grads(got, want, rtol=1e-12, atol=1e-14):
    assert sorted(got) == sorted(want)
    for k in want:
        assert got[k].shape == want[k].shape, k
        np.testing.assert_allclose(got[k], want[k], rtol=rtol, atol=atol, err_msg=k)


# ---- the fast path against the plain formulas --------------------------------

PAIRS = [("swish", "leaky_relu"), ("sigmoid", "tanh"), ("relu", "identity"),
         (get_activation("swish", beta=2.0), get_activation("leaky_relu", alpha=1.5)),
         ("gelu", "elu"), ("mish", "softsign")]


@pytest.mark.parametrize(("f", "g"), PAIRS, ids=["default", "sigmoid-tanh", "relu-identity",
                                                 "swish2-leaky1.5", "gelu-elu", "mish-softsign"])
def test_backward_equals_the_plain_formulas(f, g):
    P, X, Y = _problem(seed=3)
    want, dZ = reference_backward(P, X, Y, f, g)
    got = numeric.backward(P, X, Y, f, g, return_dZ=True)
    _assert_grads({k: got[k] for k in KEYS}, want)
    _assert_grads({k: got[k] for k in dZ}, dZ)
    cache = numeric.forward(P, X, f, g)
    np.testing.assert_allclose(cache["A3"], _sigmoid(cache["Z3"]), rtol=1e-14)


def test_backward_of_a_large_problem_runs_in_blocks_and_agrees(monkeypatch):
    # n * m = 640 * 256 = 5 * BLOCK entries: the elementwise work is cut into row blocks, which
    # go to the worker threads once the threshold is lowered under that size
    import numeric._blocks as blocks

    monkeypatch.setattr(blocks, "THREADED", 4 * BLOCK)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    seen: set[str] = set()
    real = blocks.row_blocks

    def spy(rows, cols, work):
        return real(rows, cols, lambda s: (seen.add(threading.current_thread().name), work(s))[1])

    monkeypatch.setattr(numeric.network, "row_blocks", spy)
    P, X, Y = _problem(d=3, n=640, p=300, q=2, m=256, seed=5, scale=0.2)
    assert 640 * 256 >= 4 * BLOCK
    want, _ = reference_backward(P, X, Y)
    got = numeric.backward(P, X, Y)
    _assert_grads(got, want, rtol=1e-10, atol=1e-13)
    assert any(name.startswith("numeric-blocks") for name in seen)  # the threaded path did run


def test_results_are_not_scratch_space():
    P, X, Y = _problem(seed=1)
    first = numeric.backward(P, X, Y, return_dZ=True)
    kept = {k: v.copy() for k, v in first.items()}
    numeric.backward(P, X * 3.0, 1.0 - Y, return_dZ=True)  # same shapes, other values
    for k in kept:
        np.testing.assert_array_equal(first[k], kept[k], err_msg=k)


def test_backward_does_not_change_its_inputs():
    P, X, Y = _problem(seed=2)
    before = {k: v.copy() for k, v in P.items()}, X.copy(), Y.copy()
    numeric.backward(P, X, Y)
    numeric.forward(P, X)
    numeric.cost(P, X, Y)
    for k in P:
        np.testing.assert_array_equal(P[k], before[0][k])
    np.testing.assert_array_equal(X, before[1])
    np.testing.assert_array_equal(Y, before[2])


# ---- complex input (the complex step through backward) -----------------------

def test_complex_input_with_zero_imaginary_part_gives_the_real_gradient():
    P, X, Y = _problem(seed=4)
    real = numeric.backward(P, X, Y, "swish", "tanh")
    cplx = numeric.backward({k: v.astype(complex) for k, v in P.items()}, X.astype(complex), Y,
                            "swish", "tanh")
    for k in KEYS:
        assert np.iscomplexobj(cplx[k]), k
        np.testing.assert_allclose(cplx[k].real, real[k], rtol=1e-13, atol=1e-15)
        assert np.all(cplx[k].imag == 0.0), k


@pytest.mark.parametrize("name", ["W1", "b2", "W3"])
def test_complex_step_through_backward_gives_the_hessian_vector_product(name):
    # Im grad(P + i h V) / h = d/dt grad(P + t V), checked by central differences of the real gradient
    P, X, Y = _problem(seed=6)
    V = np.random.default_rng(9).standard_normal(P[name].shape)
    h, t = 1e-20, 1e-5
    Pc = {k: v.astype(complex) for k, v in P.items()}
    Pc[name] = P[name] + 1j * h * V
    hv = {k: v.imag / h for k, v in numeric.backward(Pc, X, Y, "swish", "tanh").items()}
    plus = numeric.backward(dict(P, **{name: P[name] + t * V}), X, Y, "swish", "tanh")
    minus = numeric.backward(dict(P, **{name: P[name] - t * V}), X, Y, "swish", "tanh")
    for k in KEYS:
        np.testing.assert_allclose(hv[k], (plus[k] - minus[k]) / (2 * t), rtol=1e-5, atol=1e-8, err_msg=k)


def test_cost_is_complex_only_for_complex_input():
    P, X, Y = _problem(seed=4)
    assert type(numeric.cost(P, X, Y)) is float
    Pc = dict(P, W1=P["W1"] + 1e-20j)
    J = numeric.cost(Pc, X, Y)
    assert type(J) is complex and J.real == pytest.approx(numeric.cost(P, X, Y), rel=1e-14)


# ---- zero-width hidden layers -------------------------------------------------

@pytest.mark.parametrize(("n", "p"), [(0, 3), (4, 0)], ids=["n=0", "p=0"])
def test_a_hidden_layer_of_width_zero(n, p):
    # the layer contributes nothing: the output sees the bias of the next layer only
    P, X, Y = _problem(d=3, n=n, p=p, q=2, m=4, seed=7)
    got = numeric.backward(P, X, Y)
    assert {k: v.shape for k, v in got.items()} == {"d" + k: v.shape for k, v in P.items()}
    want, _ = reference_backward(P, X, Y)
    _assert_grads(got, want)
    fd = numerical_gradient(P, X, Y)
    _assert_grads(got, fd, rtol=1e-6, atol=1e-9)


# ---- strict floating-point modes -------------------------------------------

STRICT = {"over": "raise", "invalid": "raise", "divide": "raise", "under": "raise"}
NO_UNDERFLOW = dict(STRICT, under="ignore")


@pytest.mark.parametrize(("f", "g", "mode"), [
    ("swish", "leaky_relu", STRICT), ("sigmoid", "tanh", STRICT), ("gelu", "softplus", NO_UNDERFLOW),
    ("gelu", "softplus", STRICT),
], ids=["swish-leaky", "sigmoid-tanh", "gelu-softplus", "gelu-softplus-underflow"])
def test_extreme_pre_activations_raise_no_floating_point_error(f, g, mode):
    P, X, Y = _problem(seed=8)
    X = X * 1e3  # pre-activations in the hundreds and thousands
    with warnings.catch_warnings(), np.errstate(**mode):
        warnings.simplefilter("error")
        grads = numeric.backward(P, X, Y, f, g)
        J = numeric.cost(P, X, Y, f, g)
        cache = numeric.forward(P, X, f, g)
    assert np.isfinite(J)
    assert all(np.all(np.isfinite(v)) for v in grads.values())
    assert all(np.all(np.isfinite(v)) for v in cache.values())
    want, _ = reference_backward(P, X, Y, f, g)
    _assert_grads(grads, want, rtol=1e-9, atol=1e-12)


def test_saturated_logits_cost_exactly_under_strict_errstate():
    P = {"W1": np.ones((1, 1)), "b1": np.zeros((1, 1)), "W2": np.ones((1, 1)), "b2": np.zeros((1, 1)),
         "W3": np.ones((1, 1)), "b3": np.zeros((1, 1))}
    X = np.array([[1e4, -1e4]])
    with np.errstate(all="raise"):
        J = numeric.cost(P, X, np.array([[0.0, 1.0]]), "identity", "identity")
        G = numeric.backward(P, X, np.array([[0.0, 1.0]]), "identity", "identity")
    assert J == pytest.approx(1e4, rel=1e-15)  # (1e4 + 1e4) / 2: softplus(1e4) = 1e4, -log sigmoid(-1e4) = 1e4
    # dZ3 = A3 - Y = (1 - 0, 0 - 1): db3 = mean = 0, dW3 = (1 * 1e4 + (-1)(-1e4)) / 2
    np.testing.assert_array_equal(G["db3"], [[0.0]])
    np.testing.assert_allclose(G["dW3"], [[1e4]], rtol=1e-15)


# ---- errors -----------------------------------------------------------------

def test_second_layer_overflow_is_named_under_strict_errstate():
    P, X, Y = _problem(seed=0)
    P["W1"], P["b1"] = np.ones_like(P["W1"]), np.zeros_like(P["b1"])
    P["W2"] = np.full_like(P["W2"], 1e308)  # 4 x 1e308 x sigmoid(3) overflows
    with np.errstate(all="raise"), pytest.raises(NonFiniteError) as info:
        numeric.backward(P, np.ones_like(X), Y, "sigmoid", "tanh")
    assert str(info.value) == "W2 A1 + b2 overflows float64: the weights are too large"


@pytest.mark.parametrize(("change", "error", "message"), [
    (lambda P, X, Y: (P, X[:, :, None], Y), ShapeError, "X must be a 2-D array, got shape (3, 5, 1)"),
    (lambda P, X, Y: (dict(P, b2=P["b2"].ravel()), X, Y), ShapeError,
     "b2 must be a 2-D array, got shape (3,) (a bias is a column: reshape(-1, 1))"),
    (lambda P, X, Y: (dict(P, W2=P["W2"].T), X, Y), ShapeError,
     "W2 has shape (4, 3), expected (3, 4) (p x n; it looks transposed)"),
    (lambda P, X, Y: (dict(P, b1=np.zeros((5, 1))), X, Y), ShapeError,
     "b1 has shape (5, 1), expected (4, 1) (n x 1)"),
    (lambda P, X, Y: (P, X, Y[:, :4]), ShapeError,
     "Y has shape (2, 4), expected (2, 5) (q x m, one target column per example)"),
    (lambda P, X, Y: (P, X, np.array([[0.0, 1.25, 1.5, 0, 0], [2.0, 0, 0, 0, 0]])), TargetRangeError,
     "Y must lie in [0, 1] for the binary cross-entropy; Y[0, 1] = 1.25"),
    (lambda P, X, Y: (P, X, np.array([["a"] * 5] * 2)), InputError, "Y must hold numbers, got dtype <U1"),
    (lambda P, X, Y: ([1, 2], X, Y), InputError,
     "params must be a mapping with keys ('W1', 'b1', 'W2', 'b2', 'W3', 'b3'), got list"),
    (lambda P, X, Y: ({k: v for k, v in P.items() if k not in ("b1", "W3")}, X, Y), InputError,
     "params is missing ['b1', 'W3']; it needs ['W1', 'b1', 'W2', 'b2', 'W3', 'b3']"),
    (lambda P, X, Y: (dict(P, b3=np.array([[np.nan], [0.0]])), X, Y), NonFiniteError,
     "b3 holds a non-finite value nan at index (0, 0)"),
], ids=["X-3d", "bias-1d", "W2-transposed", "b1-rows", "Y-columns", "Y-range", "Y-strings",
        "params-list", "params-missing", "b3-nan"])
def test_input_errors_read_exactly(change, error, message):
    P, X, Y = _problem(d=3, n=4, p=3, q=2, m=5, seed=0)
    P2, X2, Y2 = change(P, X, Y)
    with pytest.raises(error) as info:
        numeric.backward(P2, X2, Y2)
    assert str(info.value) == message


def test_targets_at_the_ends_of_the_range_are_accepted():
    P, X, _ = _problem(seed=0)
    for y in (0.0, 1.0):
        numeric.cost(P, X, np.full((2, 5), y))
    with pytest.raises(TargetRangeError, match=r"Y\[1, 2\] = -0.5$"):
        Y = np.zeros((2, 5))
        Y[1, 2] = -0.5
        numeric.cost(P, X, Y)


def test_integer_and_boolean_arrays_are_promoted():
    P, X, Y = _problem(seed=0)
    a = numeric.backward(P, np.round(X).astype(int), Y.astype(bool))
    b = numeric.backward(P, np.round(X), Y)
    _assert_grads(a, b, rtol=0, atol=0)


def test_the_odd_array_out_is_blamed():
    P, X, Y = _problem(d=3, n=4, p=3, q=2, m=5, seed=0)
    with pytest.raises(ShapeError, match=r"^W2 has shape \(3, 5\), expected \(3, 4\) \(p x n\)$"):
        numeric.backward(dict(P, W2=np.zeros((3, 5))), X, Y)
    with pytest.raises(ShapeError, match=r"^W3 has shape \(2, 4\), expected \(2, 3\) \(q x p\)$"):
        numeric.backward(dict(P, W3=np.zeros((2, 4))), X, Y)
    with pytest.raises(ShapeError, match=r"^X has shape \(4, 5\), expected \(3, 5\)"):
        numeric.backward(P, np.zeros((4, 5)), Y)
    with pytest.raises(ShapeError, match=r"^W1 has shape \(5, 3\), expected \(4, 3\) \(n x d\)$"):
        numeric.backward(dict(P, W1=np.zeros((5, 3))), X, Y)
    with pytest.raises(ShapeError, match=r"^b2 has shape \(4, 1\), expected \(3, 1\) \(p x 1\)$"):
        numeric.backward(dict(P, b2=np.zeros((4, 1))), X, Y)
    with pytest.raises(ShapeError, match=r"^b3 has shape \(3, 1\), expected \(2, 1\) \(q x 1\)$"):
        numeric.backward(dict(P, b3=np.zeros((3, 1))), X, Y)


# ---- row blocks and scratch arrays -----------------------------------------

@pytest.mark.parametrize(("rows", "cols"), [(0, 5), (1, 1), (7, 3), (5, 1 << 16), (300, 2000), (1, 1 << 20)],
                         ids=["empty", "one", "small", "wide", "threaded", "one-huge-row"])
def test_row_blocks_cover_every_row_once_in_order(rows, cols):
    seen = row_blocks(rows, cols, lambda s: (s.start, s.stop))
    flat = [i for a, b in seen for i in range(a, b)]
    assert flat == list(range(rows))
    assert all(b > a for a, b in seen)
    assert all((b - a) * cols <= max(BLOCK, cols) for a, b in seen)


def test_threads_follow_the_blas_variables(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "0")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "5")
    assert threads() == 5
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "two")
    monkeypatch.delenv("OMP_NUM_THREADS")
    import os
    assert threads() == (os.cpu_count() or 1)


def test_threaded_blocks_run_everything_with_one_and_many_threads(monkeypatch):
    for n in ("1", "2", "3"):
        monkeypatch.setenv("OMP_NUM_THREADS", n)
        out = row_blocks(1000, 600, lambda s: s.stop - s.start)
        assert sum(out) == 1000


def test_scratch_is_reused_per_key_shape_and_dtype():
    import numeric._blocks as blocks

    blocks._local.__dict__.pop("arrays", None)  # earlier tests may have filled the cache to its bound
    a = scratch(("t", 1), (3, 4), np.float64)
    assert scratch(("t", 1), (3, 4), np.float64) is a
    assert scratch(("t", 1), (4, 3), np.float64) is not a
    assert scratch(("t", 1), (3, 4), np.complex128).dtype == np.complex128
    assert scratch(("t", 2), (3, 4), np.float64) is not a
    assert a.shape == (3, 4) and a.dtype == np.float64
    assert scratch(("t", 1), (3, 4), np.float64) is a  # still reused after other keys were made


def _thread_names(rows: int, cols: int) -> set[str]:
    return set(row_blocks(rows, cols, lambda s: threading.current_thread().name))


def test_big_problems_run_on_worker_threads_and_small_ones_inline(monkeypatch):
    from numeric._blocks import THREADED

    here = threading.current_thread().name
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    big = _thread_names(THREADED // 600 + 1, 600)
    assert here in big and any(n.startswith("numeric-blocks") for n in big)  # the caller takes a run itself
    exact = _thread_names(THREADED // BLOCK, BLOCK)  # exactly THREADED elements: shared
    assert here in exact and any(n.startswith("numeric-blocks") for n in exact)
    assert _thread_names(THREADED - 1, 1) == {here}  # just below: inline
    assert _thread_names(10, 10) == {here}
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert _thread_names(THREADED // 600 + 1, 600) == {here}  # one thread: inline whatever the size


def test_threaded_blocks_keep_row_order_and_lose_nothing(monkeypatch):
    from numeric._blocks import THREADED

    for n in ("2", "3"):
        monkeypatch.setenv("OMP_NUM_THREADS", n)
        rows = THREADED // 64 + 7
        out = row_blocks(rows, 64, lambda s: (s.start, s.stop))
        assert [a for a, _ in out] == sorted(a for a, _ in out) and out[0][0] == 0 and out[-1][1] == rows
        assert all(b == c for (_, b), (c, _) in zip(out, out[1:]))


# ---- init_params and the network= argument -----------------------------------

def test_init_params_takes_widths_in_three_forms():
    a = numeric.init_params((3, 4, 2), seed=5)
    assert {k: v.shape for k, v in a.items()} == {"W1": (4, 3), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1)}
    b = numeric.init_params([3, 4, 2], seed=5)
    c = numeric.init_params(numeric.Network((3, 4, 2), ("tanh",)), seed=5)
    assert all(np.array_equal(a[k], b[k]) and np.array_equal(a[k], c[k]) for k in a)
    d = numeric.init_params(3, 4, 2, 2, seed=5)
    assert d["W3"].shape == (2, 2) and d["W1"].shape == (4, 3)
    big = numeric.init_params((400, 300, 1), seed=0)
    assert np.std(big["W1"]) == pytest.approx(1 / np.sqrt(400), rel=0.05)  # N(0, 1/fan-in)
    assert np.std(big["b1"]) == pytest.approx(0.1, rel=0.15)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: numeric.init_params((3, 4, 2), 5), "init_params(widths, seed=...) takes the widths as one sequence"),
    (lambda: numeric.init_params(numeric.Network()), "this Network leaves its widths open; pass the widths: "
                                                     "init_params((d, n, ..., q))"),
    (lambda: numeric.init_params(3, 4), "init_params needs the widths: init_params((d, n, ..., q)) or "
                                        "init_params(d, n, p, q)"),
    (lambda: numeric.init_params(3, 4, 0), "p must be a positive integer, got 0"),
    (lambda: numeric.init_params(3, 4, 2, True), "q must be a positive integer, got True"),
    (lambda: numeric.init_params((3, 2.0)), "widths[1] must be a positive integer, got 2.0"),
    (lambda: numeric.init_params((3,)), "widths need an input and an output width, got (3,)"),
], ids=["n-with-sequence", "open-widths", "no-p", "p-zero", "q-bool", "float-width", "one-width"])
def test_init_params_errors_read_exactly(call, message):
    with pytest.raises(InputError) as info:
        call()
    assert str(info.value) == message


@pytest.mark.parametrize("fn", ["forward", "cost", "backward"])
def test_network_argument_errors_read_exactly(fn):
    P, X, Y = _problem(q=1, seed=0)
    args = (P, X) if fn == "forward" else (P, X, Y)
    with pytest.raises(InputError) as info:
        getattr(numeric, fn)(*args, "tanh", network=numeric.Network())
    assert str(info.value) == "give the activations in the Network, not as f= and g= as well"
    with pytest.raises(InputError) as info:
        getattr(numeric, fn)(*args, network={"head": "sigmoid-bce"})
    assert str(info.value) == "network must be a numeric.Network, got dict"


@pytest.mark.parametrize("widths", [None, (3, 4, 3, 1)], ids=["open", "fixed"])
def test_the_articles_description_gives_the_articles_results(widths):
    P, X, Y = _problem(q=1, seed=9)
    net = numeric.Network(widths, ("sigmoid", "relu"))
    want = numeric.backward(P, X, Y, "sigmoid", "relu", return_dZ=True)
    got = numeric.backward(P, X, Y, network=net, return_dZ=True)
    _assert_grads(got, want, rtol=1e-13, atol=1e-16)
    assert numeric.cost(P, X, Y, network=net) == numeric.cost(P, X, Y, "sigmoid", "relu")
    cache = numeric.forward(P, X, network=net)
    np.testing.assert_array_equal(cache["A3"], numeric.forward(P, X, "sigmoid", "relu")["A3"])


def test_defaults_are_swish_and_leaky_relu():
    P, X, Y = _problem(q=1, seed=2)
    want = numeric.backward(P, X, Y, "swish", "leaky_relu")
    _assert_grads(numeric.backward(P, X, Y), want, rtol=0, atol=0)
    _assert_grads(numeric.backward(P, X, Y, None, "leaky_relu"), want, rtol=0, atol=0)
    _assert_grads(numeric.backward(P, X, Y, "swish", None), want, rtol=0, atol=0)
    assert numeric.cost(P, X, Y) == numeric.cost(P, X, Y, "swish", "leaky_relu")


def test_the_pool_grows_to_the_thread_count(monkeypatch):
    # three runs that can only finish together: the caller and two workers at once
    from numeric._blocks import THREADED

    cols = THREADED // 3 + 1  # one row per block, three blocks, over the threading threshold
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    row_blocks(3, cols, lambda s: None)  # a pool of one worker
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    barrier = threading.Barrier(3, timeout=20)
    assert row_blocks(3, cols, lambda s: barrier.wait() >= 0) == [True, True, True]
