"""Strength tests for numeric.compare, numeric.gradcheck and numeric.oracles:
exact error figures, kink distances, drawn problems, the report's text and
dict, and the wording of bad-argument errors.

Written to kill the mutants that survived ``python tools/mutate.py --area numeric``.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import numeric
from numeric import InputError
from numeric.compare import (
    compare_gradients,
    draw_network_problem,
    draw_problem,
    kink_distance,
    network_kink_distance,
    relative_error,
)
from numeric.gradcheck import default_step, numerical_gradient, tolerance
from numeric.oracles import GradCheckReport, ParamCheck, check_gradients, directional_check


# ---- compare ------------------------------------------------------------------

@pytest.mark.parametrize(("actual", "expected", "error"), [
    ([1.0, 2.0], [1.0, 4.0], 0.5),  # max|a - e| = 2 over max|e| = 4
    ([[3.0, -1.0]], [[2.0, -2.0]], 0.5),
    ([0.0, 0.0], [-8.0, 2.0], 1.0),
    ([1e-3, 0.0], [0.0, 0.0], 1e-3),  # nothing to scale by: the absolute error
    ([], [], 0.0),
    ([1.0, 2.0], [[1.0, 2.0]], math.inf),  # shapes must match exactly
    ([1.0, 2.0, 3.0], [1.0, 2.0], math.inf),
], ids=["relative", "2-d", "all-wrong", "zero-expected", "empty", "broadcastable", "longer"])
def test_relative_error_values(actual, expected, error):
    assert relative_error(np.array(actual), np.array(expected)) == pytest.approx(error, rel=1e-15)


def test_compare_gradients_names_every_gradient():
    e = {"dW1": np.ones((2, 2)), "db1": np.ones((2, 1))}
    a = {"dW1": 1.5 * np.ones((2, 2))}
    assert compare_gradients(a, e, names=("dW1", "db1")) == {"dW1": 0.5, "db1": math.inf}
    P, X, Y = draw_problem(2, 2, 2, seed=0)
    G = numeric.backward(P, X, Y)
    assert compare_gradients(G, G) == {k: 0.0 for k in ("dW1", "db1", "dW2", "db2", "dW3", "db3")}


def _constant_layer_problem(z1: float, z2: float):
    """Every pre-activation of layer 1 equals z1 and of layer 2 equals z2."""
    P = {"W1": np.zeros((2, 3)), "b1": np.full((2, 1), z1), "W2": np.zeros((2, 2)),
         "b2": np.full((2, 1), z2), "W3": np.ones((1, 2)), "b3": np.zeros((1, 1))}
    return P, np.ones((3, 4))


@pytest.mark.parametrize(("f", "g", "distance"), [
    ("relu", "tanh", 0.25), ("tanh", "relu", 0.75), ("relu", "relu", 0.25), ("tanh", "tanh", math.inf),
    ("softsign", "tanh", 0.25), ("tanh", "elu", 0.75),
], ids=["f-kink", "g-kink", "both", "none", "rough-point", "elu"])
def test_kink_distance_is_the_nearest_kink_or_rough_point(f, g, distance):
    P, X = _constant_layer_problem(0.25, -0.75)
    assert kink_distance(P, X, f, g) == distance
    net = numeric.Network(None, (f, g))
    assert network_kink_distance(P, X, net) == distance


def test_drawn_problems_keep_their_margin_and_say_when_they_cannot():
    P, X, Y = draw_problem(3, 4, 3, 2, 5, f="relu", g="leaky_relu", seed=2, kink_margin=0.05)
    assert kink_distance(P, X, "relu", "leaky_relu") > 0.05
    assert {k: v.shape for k, v in P.items()} == {"W1": (4, 3), "b1": (4, 1), "W2": (3, 4), "b2": (3, 1),
                                                  "W3": (2, 3), "b3": (2, 1)}
    assert X.shape == (3, 5) and Y.shape == (2, 5) and set(np.unique(Y)) <= {0.0, 1.0}
    with pytest.raises(RuntimeError) as info:
        draw_problem(3, 4, 3, f="relu", kink_margin=100.0)
    assert str(info.value) == "no draw kept pre-activations 100.0 away from the kinks"
    a = draw_problem(3, 4, 3, seed=7)
    b = draw_problem(3, 4, 3, seed=7)
    assert all(np.array_equal(a[0][k], b[0][k]) for k in a[0]) and np.array_equal(a[1], b[1])


def test_drawn_problems_scale_the_weights():
    small = draw_problem(50, 40, 30, 20, seed=1, scale=1.0)[0]
    big = draw_problem(50, 40, 30, 20, seed=1, scale=3.0)[0]
    for k, fan_in in (("W1", 50), ("W2", 40), ("W3", 30)):
        np.testing.assert_allclose(big[k], 3.0 * small[k], rtol=1e-15)
        assert np.std(small[k]) == pytest.approx(1 / math.sqrt(fan_in), rel=0.15), k  # N(0, 1/fan-in)
    for k in ("b1", "b2", "b3"):
        np.testing.assert_array_equal(big[k], small[k])
        assert np.std(small[k]) == pytest.approx(0.5, rel=0.35), k


@pytest.mark.parametrize("head", numeric.HEADS)
def test_drawn_network_problems_fit_the_head(head):
    net = numeric.Network(None, ("relu", "tanh"), head=head)
    P, X, Y = draw_network_problem(net, 6, widths=(3, 4, 3, 3), seed=1, kink_margin=0.02)
    assert network_kink_distance(P, X, net) > 0.02
    assert X.shape == (3, 6) and Y.shape == (3, 6) and P["W3"].shape == (3, 3)
    if head == "sigmoid-bce":
        assert set(np.unique(Y)) <= {0.0, 1.0}
    elif head == "softmax-ce":
        np.testing.assert_array_equal(Y.sum(axis=0), 1.0)
        assert set(np.unique(Y)) == {0.0, 1.0}
    else:
        assert not set(np.unique(Y)) <= {0.0, 1.0}
    numeric.cost(P, X, Y, network=net)  # the head accepts its targets


def test_drawn_network_problems_need_widths():
    with pytest.raises(ValueError) as info:
        draw_network_problem(numeric.Network(None, ("relu", "tanh")))
    assert str(info.value) == "give 4 widths for this network"
    with pytest.raises(ValueError, match="give 4 widths"):
        draw_network_problem(numeric.Network(None, ("relu", "tanh")), widths=(3, 2, 1))
    P, X, Y = draw_network_problem(numeric.Network((2, 3, 1), ("tanh",)), 3)
    assert P["W1"].shape == (3, 2) and X.shape == (2, 3)
    with pytest.raises(RuntimeError, match="no draw kept pre-activations 50.0 away"):
        draw_network_problem(numeric.Network((2, 3, 1), ("relu",)), kink_margin=50.0)


# ---- gradcheck ------------------------------------------------------------------

def test_numerical_gradient_with_a_given_step():
    P, X, Y = draw_problem(2, 3, 2, seed=3)
    G = numeric.backward(P, X, Y)
    for step, tol in ((1e-4, 1e-6), (1e-2, 1e-3)):
        fd = numerical_gradient(P, X, Y, step=step)
        assert max(compare_gradients(fd, G).values()) < tol
    coarse = max(compare_gradients(numerical_gradient(P, X, Y, step=0.3), G).values())
    assert coarse > 1e-4  # a big step is visibly worse: the step is really used


def test_default_steps_scale_with_the_entries():
    x = np.array([0.0, 0.5, 2.0, -8.0])
    eps = np.finfo(np.float64).eps
    np.testing.assert_array_equal(default_step(x), np.cbrt(eps) * np.array([1.0, 1.0, 2.0, 8.0]))
    eps32 = float(np.finfo(np.float32).eps)
    np.testing.assert_allclose(default_step(x, np.float32, method="richardson"),
                               eps32 ** 0.2 / 8 * np.array([1.0, 1.0, 2.0, 8.0]), rtol=1e-15)
    assert default_step(x, method="complex").shape == (4,)


@pytest.mark.parametrize(("method", "order"), [("central", 2 / 3), ("richardson", 4 / 5), ("complex", 1.0)])
def test_tolerance_is_a_thousand_eps_to_the_order(method, order):
    for dtype in (np.float64, np.float32):
        eps = float(np.finfo(dtype).eps)
        t = tolerance(method, dtype)
        assert t.rtol == pytest.approx(1e3 * eps ** order, rel=1e-12) and t.atol == t.rtol


def test_gradcheck_argument_errors_read_exactly():
    P, X, Y = draw_problem(2, 2, 2, seed=0)
    with pytest.raises(ValueError) as info:
        numerical_gradient(P, X, Y, method="forward")
    assert str(info.value) == "method must be one of central, richardson, complex; got 'forward'"
    with pytest.raises(InputError) as info:
        tolerance("central", np.int32)
    assert str(info.value) == "dtype must be float64 or float32, got int32"
    with pytest.raises(ValueError) as info:
        numerical_gradient(P, X, Y, "gelu", "relu", method="complex")
    assert str(info.value) == ("the complex step needs analytic activations; ['gelu'] do not accept complex input "
                               "(use method='central')")


# ---- reports ----------------------------------------------------------------------

def _check(abs_error: float, allowed: float) -> ParamCheck:
    return ParamCheck("dW1", "(0, 1)", 1.0, 1.0 + abs_error, abs_error, abs_error, allowed, 1e-5, None, 4)


def test_a_check_passes_up_to_and_including_the_allowed_error():
    assert _check(1e-8, 1e-8).ok
    assert not _check(1.0000001e-8, 1e-8).ok
    assert _check(0.0, 0.0).ok
    d = _check(2e-9, 1e-8).to_dict()
    assert d["ok"] is True and d["abs_error"] == 2e-9 and d["name"] == "dW1" and d["evaluations"] == 4


def test_report_text_and_dict():
    P, X, Y = draw_problem(2, 2, 2, seed=0)
    G = numeric.backward(P, X, Y)
    bad = {**G, "db2": G["db2"] * 3.0}
    report = check_gradients(P, X, Y, grads=bad, method="complex")
    assert not report.ok and report.failures == ["db2"]
    lines = str(report).splitlines()
    assert re.fullmatch(r"gradient check \(complex, every entry, float64; rtol 2\.2e-13, atol 2\.2e-13\): "
                        r"FAILED: db2; 15 cost evaluations, \d+\.\d{3} s", lines[0])
    assert lines[1].split() == ["grad", "worst", "at", "analytic", "numeric", "abs", "error", "allowed",
                                "rel", "error", "step"]
    assert len(lines) == 8
    assert lines[5].startswith("  db2") and lines[5].endswith("  FAILED")
    assert not any(line.endswith("FAILED") for i, line in enumerate(lines[2:]) if i != 3)
    assert "estimate" not in str(report)
    d = report.to_dict()
    assert (d["method"], d["dtype"], d["kind"], d["ok"], d["evaluations"]) == (
        "complex", "float64", "every entry", False, 15)
    assert d["rtol"] == tolerance("complex").rtol and d["atol"] == tolerance("complex").atol
    assert list(d["checks"]) == ["dW1", "db1", "dW2", "db2", "dW3", "db3"]
    assert d["checks"]["db2"]["ok"] is False and d["checks"]["dW1"]["ok"] is True
    c = report.checks["db2"]
    assert c.analytic == pytest.approx(3.0 * c.numeric, rel=1e-9)
    assert c.rel_error == pytest.approx(abs(c.analytic - c.numeric) / abs(c.numeric), rel=1e-9)
    assert c.evaluations == 2 and c.step == 1e-20 and c.error_estimate is None


def test_an_empty_report_is_ok_and_says_so():
    r = GradCheckReport("central", "float64", "every entry", tolerance())
    assert r.ok and r.failures == []
    assert "): ok; 0 cost evaluations" in str(r)


def test_richardson_rows_show_their_estimate():
    P, X, Y = draw_problem(2, 2, 2, seed=0)
    r = directional_check(P, X, Y, method="richardson", directions=1)
    rows = str(r).splitlines()[2:]
    assert len(rows) == 6 and all("  estimate " in row for row in rows)
    assert r.kind == "1 random direction(s) per parameter"
    assert all(c.where == "direction 0" for c in r.checks.values())
    assert r.evaluations == 6 * 4


@pytest.mark.parametrize(("grads", "message"), [
    ([1, 2], "grads must be a mapping dW1 ... db3 or a backward function, got list"),
    ({"dW1": 1}, "grads is missing ['db1', 'dW2', 'db2', 'dW3', 'db3']"),
], ids=["list", "missing"])
def test_bad_analytic_gradients_read_exactly(grads, message):
    P, X, Y = draw_problem(2, 2, 2, seed=0)
    with pytest.raises(InputError) as info:
        check_gradients(P, X, Y, grads=grads)
    assert str(info.value) == message


def test_misshapen_analytic_gradient_reads_exactly():
    P, X, Y = draw_problem(2, 3, 2, seed=0)
    G = numeric.backward(P, X, Y)
    with pytest.raises(InputError) as info:
        directional_check(P, X, Y, grads={**G, "dW2": G["dW2"].T})
    assert str(info.value) == "dW2 has shape (3, 2), expected (2, 3) (the shape of W2)"


def test_a_backward_that_writes_into_its_inputs_cannot_change_the_check():
    P, X, Y = draw_problem(2, 3, 2, seed=0)
    keep = {k: v.copy() for k, v in P.items()}

    def vandal(params, X_, Y_):
        G = numeric.backward(params, X_, Y_)
        for v in params.values():
            v[...] = 0.0
        X_[...] = 0.0
        return G

    assert check_gradients(P, X, Y, grads=vandal).ok
    assert directional_check(P, X, Y, grads=vandal).ok
    assert all(np.array_equal(P[k], keep[k]) for k in P)


@pytest.mark.parametrize("directions", [0, -1, True, 1.0, "2"], ids=["zero", "negative", "bool", "float", "str"])
def test_directions_must_be_a_positive_int(directions):
    P, X, Y = draw_problem(2, 2, 2, seed=0)
    with pytest.raises(ValueError) as info:
        directional_check(P, X, Y, directions=directions)
    assert str(info.value) == f"directions must be a positive int, got {directions!r}; e.g. directions=2"


def test_tolerance_overrides_are_used():
    P, X, Y = draw_problem(2, 2, 2, seed=0)
    loose = check_gradients(P, X, Y, rtol=0.5, atol=0.0)
    assert loose.tolerance == (0.5, 0.0)
    c = loose.checks["dW1"]
    assert c.allowed == pytest.approx(0.5 * np.max(np.abs(numerical_gradient(P, X, Y)["dW1"])), rel=1e-6)
    tight = directional_check(P, X, Y, rtol=1e-30, atol=0.0, method="central")
    assert not tight.ok  # nothing passes a vanishing tolerance with central differences


def test_zero_tolerances_give_a_verdict():
    P, X, Y = draw_problem(2, 2, 2, seed=0)
    assert not directional_check(P, X, Y, rtol=0.0, atol=0.0).ok


def test_richardson_removes_the_second_order_error():
    # with a large step, central differences are off by O(h^2); Richardson's extrapolation removes that term
    P, X, Y = draw_problem(2, 3, 2, seed=3)
    G = numeric.backward(P, X, Y)
    central = max(compare_gradients(numerical_gradient(P, X, Y, step=1e-2), G).values())
    richardson = max(compare_gradients(numerical_gradient(P, X, Y, method="richardson", step=1e-2), G).values())
    assert central > 1e-6 and richardson < central / 100


def _heads_problem(head):
    net = numeric.Network(None, ("tanh", "swish"), head=head, l2=0.3)
    P, X, Y = draw_network_problem(net, 4, widths=(2, 3, 2, 3), seed=5)
    return net, P, X, Y


@pytest.mark.parametrize("method", ["central", "richardson", "complex"])
@pytest.mark.parametrize("head", ["softmax-ce", "sigmoid-mse"])
def test_numerical_gradient_of_a_description(head, method):
    net, P, X, Y = _heads_problem(head)
    with np.errstate(all="raise"):
        fd = numerical_gradient(P, X, Y, network=net, method=method)
    G = numeric.backward(P, X, Y, network=net)
    assert list(fd) == list(G)
    assert max(compare_gradients(fd, G, names=list(G)).values()) < {"central": 1e-7, "richardson": 1e-8,
                                                                     "complex": 1e-12}[method]


def test_a_description_refuses_extra_activations_and_float32():
    net, P, X, Y = _heads_problem("softmax-ce")
    with pytest.raises(InputError) as info:
        numerical_gradient(P, X, Y, "tanh", network=net)
    assert str(info.value) == "give the activations in the Network, not as f= and g= as well"
    with pytest.raises(InputError) as info:
        numerical_gradient(P, X, Y, network=net, dtype=np.float32)
    assert str(info.value) == "a Network's numerical gradient runs in float64 only"


@pytest.mark.parametrize(("method", "per"), [("central", 2), ("richardson", 4), ("complex", 1)])
def test_each_check_counts_its_own_evaluations(method, per):
    import time

    P, X, Y = draw_problem(2, 3, 2, seed=1)
    t0 = time.perf_counter()
    every = check_gradients(P, X, Y, method=method)
    along = directional_check(P, X, Y, method=method, directions=3)
    elapsed = time.perf_counter() - t0
    assert {k: c.evaluations for k, c in every.checks.items()} == {"d" + k: per * v.size for k, v in P.items()}
    assert all(c.evaluations == per * 3 for c in along.checks.values())
    assert along.evaluations == per * 3 * 6
    assert 0 < every.seconds <= elapsed and 0 < along.seconds <= elapsed


def test_a_failing_direction_is_reported_even_when_another_agrees_exactly(monkeypatch):
    """Zero tolerances: a direction that agrees exactly must not hide one that disagrees
    (a tie of the two would report the first, passing one: a wrong thing called right)."""
    import numeric.oracles as oracles

    P, X, Y = draw_problem(2, 2, 2, seed=0)
    answers = iter([(1.0, 1.0), (1.0, 2.0)] * len(P))  # per parameter: exact, then off by 1

    def along(J, name, v, grad, method):
        a, n = next(answers)
        return a, n, 1e-6, None

    monkeypatch.setattr(oracles, "_along", along)
    report = directional_check(P, X, Y, directions=2, rtol=0.0, atol=0.0)
    assert not report.ok and report.failures == [f"d{k}" for k in P]
    assert all(c.where == "direction 1" and c.abs_error == 1.0 for c in report.checks.values())
