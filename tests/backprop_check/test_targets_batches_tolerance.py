"""check_backprop: soft targets, a larger batch, the sigmoid's O(1) rounding, dJ/dZ in float32,
the time limit, and what the report says about descriptions and scalar returns.

Each test pairs a wrong backward the checker must call wrong (a negative control) with the
right variant it must call right.  Small shapes, ``max_examples=0`` where a fixed probe decides.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

import numeric
from derive.backprop_check.check import check_backprop
from derive.backprop_check.probes import probes_for
from derive.backprop_check.reference import Reference, make_case, soft_targets
from derive.lambdified import gradient_function

ONLY_PROBES = {"max_examples": 0, "isolate": False}


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _tanh_sigmoid(z):  # exact identity sigma(z) = (1 + tanh(z/2)) / 2; absolute error ~ eps near 0
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _article(P, X, Y, *, sig=_sigmoid, hard=False, chunk=None, db3_slip=False, dz_per_example=False):
    """The article's network (swish, leaky_relu, sigmoid + BCE), column layout, as users write it."""
    if chunk is not None:  # sums over chunks of examples (memory-bounded)
        m, acc = X.shape[1], None
        for s in range(0, m, chunk):
            g = _article(P, X[:, s:s + chunk], Y[:, s:s + chunk], sig=sig)
            g = {k: v * X[:, s:s + chunk].shape[1] for k, v in g.items()}
            if acc is None:
                acc = g
            else:
                acc = {k: (g[k] if (k == "db3" and db3_slip) else acc[k] + g[k]) for k in acc}
        return {k: v / m for k, v in acc.items()}
    m = X.shape[1]
    Z1 = P["W1"] @ X + P["b1"]
    s1 = sig(Z1)
    A1 = Z1 * s1
    Z2 = P["W2"] @ A1 + P["b2"]
    A2 = np.where(Z2 > 0, Z2, 0.01 * Z2)
    A3 = sig(P["W3"] @ A2 + P["b3"])
    dZ3 = A3 - ((Y > 0.5).astype(A3.dtype) if hard else Y)
    dZ2 = (P["W3"].T @ dZ3) * np.where(Z2 > 0, 1.0, 0.01)
    dZ1 = (P["W2"].T @ dZ2) * (s1 + Z1 * s1 * (1 - s1))
    out = {"dW1": dZ1 @ X.T / m, "db1": dZ1.sum(1, keepdims=True) / m, "dW2": dZ2 @ A1.T / m,
           "db2": dZ2.sum(1, keepdims=True) / m, "dW3": dZ3 @ A2.T / m, "db3": dZ3.sum(1, keepdims=True) / m}
    if dz_per_example:  # dJ/dZ, as autograd gives it
        out.update(dZ3=dZ3 / m, dZ2=dZ2 / m, dZ1=dZ1 / m)
    return out


def _softmax_rows(P, X, Y, *, hard=False):
    """A cs231n-style two-layer softmax classifier, one example per row."""
    m = X.shape[0]
    h = np.maximum(0, X @ P["W1"] + P["b1"])
    s = h @ P["W2"] + P["b2"]
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    if hard:  # integer labels taken from Y: right for one-hot Y only
        ds = p.copy()
        ds[np.arange(m), Y.argmax(axis=1)] -= 1
    else:
        ds = p - Y
    ds /= m
    dh = ds @ P["W2"].T
    dh[h <= 0] = 0
    return {"dW1": X.T @ dh, "db1": dh.sum(0), "dW2": h.T @ ds, "db2": ds.sum(0)}


SOFTMAX = numeric.Network(widths=(5, 4, 3), activations=("relu",), head="softmax-ce")


# ---------------------------------------------------------------- 1. soft targets
def test_soft_targets_keep_the_hard_labels_and_are_exact():
    Y = np.zeros((3, 6))
    Y[[0, 1, 2, 0, 1, 2], np.arange(6)] = 1.0
    S = soft_targets(Y, "softmax-ce", seed=4)
    assert np.all(S > 0) and np.array_equal(S.sum(axis=0), np.ones(6))  # exactly 1: numeric accepts them
    assert np.array_equal(S.argmax(axis=0), Y.argmax(axis=0)) and not np.any(S == 1.0)
    assert np.array_equal(S.astype(np.float32).astype(np.float64), S)  # the float32 check sees the same Y
    B = soft_targets((Y > 0).astype(float), "sigmoid-bce", seed=4)
    assert np.all((B > 0) & (B < 1)) and np.array_equal(B > 0.5, Y > 0)


def test_softmax_code_right_for_one_hot_labels_only_fails_and_says_so():
    wrong = check_backprop(lambda P, X, Y: _softmax_rows(P, X, Y, hard=True), network=SOFTMAX, layout="rows",
                           **ONLY_PROBES)
    assert not wrong.ok and "dW2" in wrong.wrong
    fd = wrong.findings["dW2"]
    assert fd.kind == "hard labels" and "right for one-hot labels only" in fd.message
    assert fd.case.soft and "label smoothing" in fd.case.label
    assert check_backprop(_softmax_rows, network=SOFTMAX, layout="rows", **ONLY_PROBES).ok


def test_bce_code_that_rounds_the_targets_fails_and_says_so():
    wrong = check_backprop(lambda P, X, Y: _article(P, X, Y, hard=True), **ONLY_PROBES)
    assert not wrong.ok and wrong.wrong == ["dW3", "db3", "dW2", "db2", "dW1", "db1"]
    assert wrong.findings["db3"].kind == "hard labels"
    assert "right for 0/1 labels only" in wrong.findings["db3"].message
    assert check_backprop(_article, **ONLY_PROBES).ok
    assert check_backprop(lambda P, X, Y: numeric.backward(P, X, Y), **ONLY_PROBES).ok


def test_the_search_draws_soft_targets_too():
    report = check_backprop(lambda P, X, Y: _article(P, X, Y, hard=True), max_examples=20, isolate=False)
    assert not report.ok and report.smallest is not None and report.smallest.soft
    assert "soft targets" in str(report)


def test_mse_heads_get_no_soft_target_probe():
    net = numeric.Network(widths=(3, 4, 2), activations=("tanh",), head="identity-mse")
    assert not any(p.soft for p in probes_for(net))
    assert [p.label for p in probes_for(SOFTMAX) if p.soft] == ["label smoothing"]


# ---------------------------------------------------------------- 2. the sigmoid's O(1) rounding
def test_a_sigmoid_through_tanh_passes_at_confident_outputs():
    case = make_case((1, 1, 1, 1, 1), seed=0, offset=-30.0)  # A3 ~ 1e-13, Y = 0
    ref = Reference(case, gradient_function(), numeric.get_activation("swish"),
                    numeric.get_activation("leaky_relu"))
    G = _article(dict(case.params), case.X, case.Y, sig=_tanh_sigmoid)
    for k in ("dW3", "db3", "dW1"):  # about eps absolute in A3: float rounding of O(1) quantities
        assert np.all(np.abs(G[k] - ref.truth[k]) <= 1e-12 * ref.scale[k]), k
    assert check_backprop(lambda P, X, Y: _article(P, X, Y, sig=_tanh_sigmoid), max_examples=20,
                          isolate=False).ok


def test_the_float32_tanh_sigmoid_passes_at_float32():
    def f32(P, X, Y):
        G = _article({k: v.astype(np.float32) for k, v in P.items()}, X.astype(np.float32), Y.astype(np.float32),
                     sig=_tanh_sigmoid)
        return {k: v.astype(np.float32) for k, v in G.items()}

    assert check_backprop(f32, dtype="float32", max_examples=20, isolate=False).ok


@pytest.mark.parametrize("factor", [1 + 1e-6, 1 + 1e-9])
def test_a_small_scale_on_one_bias_still_fails_in_float64(factor):
    def slip(P, X, Y):
        G = _article(P, X, Y, sig=_tanh_sigmoid)
        return {**G, "db3": G["db3"] * factor}

    report = check_backprop(slip, **ONLY_PROBES)
    assert not report.ok and report.wrong == ["db3"]


# ---------------------------------------------------------------- 3. dJ/dZ in float32
def test_dz_per_example_is_a_note_in_float32_too():
    def torchlike(P, X, Y):
        G = _article({k: v.astype(np.float32) for k, v in P.items()}, X.astype(np.float32), Y.astype(np.float32),
                     dz_per_example=True)
        return {k: v.astype(np.float32) for k, v in G.items()}

    for dtype in ("float64", "float32"):
        report = check_backprop(torchlike, dtype=dtype, **ONLY_PROBES) if dtype == "float32" else \
            check_backprop(lambda P, X, Y: _article(P, X, Y, dz_per_example=True), **ONLY_PROBES)
        assert report.ok, str(report)
        assert any("are dJ/dZ" in n for n in report.notes), report.notes


def test_mixed_dz_conventions_still_fail_in_float32():
    def mixed(P, X, Y):
        G = _article({k: v.astype(np.float32) for k, v in P.items()}, X.astype(np.float32), Y.astype(np.float32),
                     dz_per_example=True)
        G["dZ2"] = G["dZ2"] * X.shape[1]  # dZ3, dZ1 are dJ/dZ; dZ2 is m dJ/dZ: not one convention
        return {k: v.astype(np.float32) for k, v in G.items()}

    report = check_backprop(mixed, dtype="float32", **ONLY_PROBES)
    assert not report.ok and set(report.wrong) == {"dZ3", "dZ1"}


# ---------------------------------------------------------------- 4. the time limit
def test_the_time_limit_stops_the_search_promptly():
    t0 = time.perf_counter()
    report = check_backprop(lambda P, X, Y: numeric.backward(P, X, Y), max_examples=20_000, time_limit=0.3,
                            isolate=False)
    assert time.perf_counter() - t0 < 10  # it drew every remaining example (about a minute) before
    assert report.ok and "stopped by time_limit = 0.3 s" in report.search and report.examples < 20_000


# ---------------------------------------------------------------- 5. a larger batch
def test_a_slip_that_shows_only_past_eight_examples_fails():
    wrong = check_backprop(lambda P, X, Y: _article(P, X, Y, chunk=8, db3_slip=True), **ONLY_PROBES)
    assert not wrong.ok and wrong.wrong == ["db3"]
    assert wrong.findings["db3"].case.m > 8
    assert check_backprop(lambda P, X, Y: _article(P, X, Y, chunk=8), **ONLY_PROBES).ok


def test_the_extra_probes_do_not_replace_what_the_main_probes_say():
    report = check_backprop(lambda P, X, Y: {**numeric.backward(P, X, Y), "db1": numeric.backward(P, X, Y)["db1"]
                                             * X.shape[1]}, **ONLY_PROBES)
    assert "m = 7 times too large" in report.findings["db1"].message
    assert "m = 29" in report.probes and "soft targets Y in (0, 1)" in report.probes


# ---------------------------------------------------------------- 6. the report
def test_a_three_layer_description_keeps_its_widths():
    net = numeric.Network(widths=(5, 4, 3, 1), activations=("relu", "relu"))
    report = check_backprop(lambda P, X, Y: numeric.backward(P, X, Y, "relu", "relu"), network=net, **ONLY_PROBES)
    assert report.ok and "network widths 5-4-3-1" in str(report).splitlines()[0]
    data = json.loads(json.dumps(report.to_dict()))
    assert data["network"]["widths"] == [5, 4, 3, 1] and data["network"]["depth"] == 3
    plain = check_backprop(lambda P, X, Y: numeric.backward(P, X, Y), **ONLY_PROBES)
    assert "network" not in plain.to_dict() and "f=swish, g=leaky_relu" in str(plain)


@pytest.mark.parametrize("value", [np.float64(0.0), 0.0, np.array(0.0)], ids=["np.float64", "float", "0-d array"])
def test_a_returned_number_is_called_a_number(value):
    report = check_backprop(lambda P, X, Y: value, **ONLY_PROBES)
    fd = report.findings["backward"]
    assert fd.kind == "bad return" and "a single number 0.0" in fd.message and "ndarray" not in fd.message
