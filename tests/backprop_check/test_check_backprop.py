"""derive.check_backprop: no false alarms, kinks, shapes, localisation,
shrinking, the report, bad input, the CLI, and use inside hypothesis tests.

The catalog of classic bugs is in test_bug_catalog.py.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

from bug_catalog import CATALOG, correct_backward  # noqa: E402

import derive  # noqa: E402
import derive.cli  # noqa: E402
import numeric  # noqa: E402
from derive.backprop_check.check import assert_backprop_ok, check_backprop  # noqa: E402
from derive.cli.check_backprop import load_target  # noqa: E402
from derive.backprop_check.localise import Case, Reference, run_case  # noqa: E402
from numeric.errors import InputError, UnknownActivationError  # noqa: E402
from numeric.strategies import problems  # noqa: E402

FAST = {"max_examples": 10}

# every activation appears in at least one pair; the one-off 10,000-example
# run (CHECK_BACKPROP_EXAMPLES=10000) draws from all 169 pairs
PAIRS = [("swish", "leaky_relu"), ("relu", "tanh"), ("gelu", "sigmoid"), ("mish", "elu"),
         ("softsign", "selu"), ("softplus", "gelu_tanh"), ("identity", "relu"), ("leaky_relu", "swish")]
EXAMPLES = int(os.environ.get("CHECK_BACKPROP_EXAMPLES", "60"))
ALL_PAIRS = "CHECK_BACKPROP_EXAMPLES" in os.environ


def hand_written(P, X, Y, f="swish", g="leaky_relu"):
    return numeric.backward(P, X, Y, f, g, return_dZ=True)


# ---------------------------------------------------------------- no false alarms
@settings(max_examples=EXAMPLES)
@given(problems(max_d=6, max_n=6, max_p=6, max_q=3, max_m=7, weight_bound=3.0, kink_margin=1e-3,
                activations=st.sampled_from(list(itertools.product(numeric.ACTIVATIONS, repeat=2))
                                            if ALL_PAIRS else PAIRS)),
       st.sampled_from([0.0, 0.0, 30.0, -30.0, 40.0]))
def test_no_false_alarm_on_the_hand_written_backward(problem, offset):
    """Hypothesis-drawn shapes and values (m = 1, q > 1, n = 1 included), very
    confident outputs by shifting b3; pre-activations 1e-3 away from kinks."""
    params = {**problem.params, "b3": problem.params["b3"] + offset}
    case = Case("hypothesis", params, problem.X, problem.Y)
    fa, ga = numeric.get_activation(problem.f), numeric.get_activation(problem.g)
    ref = Reference(case, derive.gradient_function(problem.f, problem.g), fa, ga)
    res = run_case(lambda P, X, Y: hand_written(P, X, Y, problem.f, problem.g), case, ref)
    assert res.ok, (problem, offset, res.bad)


@settings(max_examples=60)
@given(problems(max_d=6, max_n=6, max_p=6, max_q=3, max_m=7, kink_margin=1e-3,
                activations=st.just(("swish", "leaky_relu"))))
def test_no_false_alarm_on_an_independent_user_implementation(problem):
    """The catalog's correct_backward: naive sigmoid, its own swish', no shared code."""
    case = Case("hypothesis", problem.params, problem.X, problem.Y)
    ref = Reference(case, derive.gradient_function(), numeric.get_activation("swish"),
                    numeric.get_activation("leaky_relu"))
    assert run_case(correct_backward, case, ref).ok


@pytest.mark.parametrize("f, g", PAIRS)
def test_the_whole_check_passes_correct_code(f, g):
    report = check_backprop(lambda P, X, Y: hand_written(P, X, Y, f, g), f=f, g=g, max_examples=30)
    assert report.ok, str(report)
    assert str(report).splitlines()[0].endswith("ok -- all six gradients and dZ1..dZ3 match the derived ones")


# ---------------------------------------------------------------- kinks
def right_hand_relu_backward(P, X, Y):
    """relu'(0) = 1 and leaky_relu'(0) = 1: the other common convention."""
    c = numeric.forward(P, X, "relu", "leaky_relu")
    m = X.shape[1]
    dZ3 = c["A3"] - Y
    dZ2 = (P["W3"].T @ dZ3) * np.where(c["Z2"] >= 0, 1.0, 0.01)
    dZ1 = (P["W2"].T @ dZ2) * (c["Z1"] >= 0)
    out = {}
    for layer, dZ, A in ((1, dZ1, X), (2, dZ2, c["A1"]), (3, dZ3, c["A2"])):
        out[f"dW{layer}"], out[f"db{layer}"] = dZ @ A.T / m, dZ.sum(axis=1, keepdims=True) / m
    return out


def test_kinks_never_cause_a_false_alarm():
    """Sampling keeps pre-activations away from 0, where the conventions agree."""
    assert check_backprop(right_hand_relu_backward, f="relu", g="leaky_relu", max_examples=40).ok


def test_kinks_are_tested_on_purpose_with_the_left_convention():
    assert numeric.activations.KINK_CONVENTION == "left"
    ok = check_backprop(lambda P, X, Y: hand_written(P, X, Y, "relu", "leaky_relu"), f="relu", g="leaky_relu",
                        at_kinks=True, **FAST)
    assert ok.ok and "pre-activations at the kinks" in ok.probes
    report = check_backprop(right_hand_relu_backward, f="relu", g="leaky_relu", at_kinks=True, **FAST)
    assert not report.ok
    assert {fd.kind for fd in report.findings.values()} == {"kink convention"}
    assert "left-hand" in str(report) and "KINK_CONVENTION" in str(report)


# ---------------------------------------------------------------- shapes and localisation
def _with(**changes):
    def backward(P, X, Y):
        G = numeric.backward(P, X, Y)
        c = numeric.forward(P, X)
        m = X.shape[1]
        for k, fn in changes.items():
            G[k] = fn(G, c, P, X, Y, m)
        return G
    return backward


@pytest.mark.parametrize("name, changes, kind, phrase", [
    ("db without keepdims", {"db2": lambda G, *a: G["db2"].ravel()}, "keepdims", "broadcast silently to"),
    ("dW3 transposed", {"dW3": lambda G, *a: G["dW3"].T}, "transposed", "truth transposed"),
    ("sign flipped", {"dW1": lambda G, *a: -G["dW1"]}, "sign flipped", "exactly -1 times"),
    ("missing 1/m", {"db1": lambda G, c, P, X, Y, m: G["db1"] * m}, "missing 1/m", "m = 7 times too large"),
    ("1/m twice", {"dW2": lambda G, c, P, X, Y, m: G["dW2"] / m}, "1/m twice", "m = 7 times too small"),
    ("divided by d", {"dW3": lambda G, c, P, X, Y, m: G["dW3"] * m / X.shape[0]}, "wrong m", "= X.shape[0] = "),
    ("constant factor", {"db3": lambda G, *a: 1.7 * G["db3"]}, "scaled", "1.7 times"),
    ("x2", {"dW2": lambda G, *a: 2 * G["dW2"]}, "constant factor", "exactly 2 times too large"),
    ("x4", {"dW1": lambda G, *a: 4 * G["dW1"]}, "constant factor", "exactly 4 times too large"),
    ("offset", {"dW2": lambda G, *a: G["dW2"] + 1e-6}, "offset", "+1e-06 in every entry"),
    ("dropped", {"dW1": lambda G, *a: np.zeros_like(G["dW1"])}, "dropped", "all zeros"),
    ("nan", {"db2": lambda G, *a: G["db2"] * np.nan}, "nonfinite", "nan"),
    ("float32", {"dW2": lambda G, *a: G["dW2"].astype(np.float32)}, "float32", "returned as float32"),
])
def test_each_kind_of_error_is_named(name, changes, kind, phrase):
    report = check_backprop(_with(**changes), **FAST)
    (grad,) = changes
    assert report.wrong == [grad], str(report)
    assert report.findings[grad].kind == kind, str(report)
    assert phrase in report.findings[grad].message, str(report)


def test_a_square_transposed_gradient_is_caught_by_its_values():
    """dW2 transposed has the right shape when n == p: the square probe shows it."""
    report = check_backprop(_with(dW2=lambda G, *a: G["dW2"].T if G["dW2"].shape[0] == G["dW2"].shape[1]
                                  else G["dW2"]), **FAST)
    assert report.wrong == ["dW2"] and report.findings["dW2"].kind == "transposed"
    assert "square" in report.findings["dW2"].message


def test_a_transposed_gradient_that_would_broadcast_is_called_out():
    """q = 1: dW3 of shape (p, 1) instead of (1, p); W3 - lr * dW3 would be (p, p)."""
    report = check_backprop(_with(dW3=lambda G, *a: G["dW3"].T if G["dW3"].shape[0] == 1 else G["dW3"]), **FAST)
    finding = report.findings["dW3"]
    assert report.wrong == ["dW3"] and finding.kind == "transposed"
    assert "has shape (5, 1), expected (1, 5)" in finding.message
    assert "W3 -= lr * dW3 would broadcast silently to (5, 5)" in finding.message


def test_worst_entries_carry_indices_and_both_values():
    report = check_backprop(_with(dW1=lambda G, *a: G["dW1"] + np.eye(*G["dW1"].shape)), **FAST)
    worst = report.findings["dW1"].worst
    assert 1 <= len(worst) <= 3
    index, yours, truth = worst[0]
    assert index[0] == index[1] and yours == pytest.approx(truth + 1.0)
    assert "worst entries [index]: yours vs truth:" in str(report)


def test_divergence_with_dZs_names_the_first_wrong_dZ_going_backwards():
    report = check_backprop(CATALOG["wrong dZ2 (dZ's returned)"][0], **FAST)
    assert report.diverges_at == 2 and report.returns_dZ
    assert "dZ2 is the first wrong dZ" in report.divergence and "layer 3 is right" in report.divergence
    assert "dZ2" in report.wrong and "dZ3" not in report.wrong


def test_divergence_with_right_dZs_blames_the_dW_step():
    report = check_backprop(CATALOG["in-place mutation of a cached array"][0], **FAST)
    assert "dZ2 is right, so the error is in dW2 = dZ2 A1^T / m" in report.divergence


def test_the_dJ_dZ_convention_is_a_note_not_an_error():
    def backward(P, X, Y):
        G = hand_written(P, X, Y)
        return {**G, **{k: G[k] / X.shape[1] for k in ("dZ1", "dZ2", "dZ3")}}

    report = check_backprop(backward, **FAST)
    assert report.ok and any("1/m of the article's convention" in n for n in report.notes)


def test_a_backward_that_raises_is_a_bug_with_its_message():
    def backward(P, X, Y):
        if X.shape[1] == 1:
            raise ZeroDivisionError("m - 1 = 0")
        return numeric.backward(P, X, Y)

    report = check_backprop(backward, **FAST)
    assert not report.ok and report.wrong == []
    assert report.findings["backward"].kind == "raised" and "ZeroDivisionError: m - 1 = 0" in str(report)
    assert report.smallest is not None and report.smallest.shape[4] == 1


# ---------------------------------------------------------------- shrinking, search, determinism
def test_hypothesis_shrinks_to_the_smallest_shape():
    report = check_backprop(_with(db1=lambda G, c, P, X, Y, m: G["db1"] * m), max_examples=30)
    assert report.smallest_how == "hypothesis shrinking"
    assert report.smallest.shape == (1, 1, 1, 1, 2)  # m = 2: the smallest m where a missing 1/m shows


def test_the_same_seed_gives_the_same_report():
    bug = CATALOG["unparenthesised loss"][0]
    a, b = (check_backprop(bug, max_examples=15, seed=3).to_dict() for _ in range(2))
    assert "seconds" not in a  # nothing that depends on machine load is printed
    assert a == b


def test_it_is_fast_with_default_settings():
    report = check_backprop(lambda P, X, Y: hand_written(P, X, Y))
    assert report.ok and report.examples == 60 and report.seconds < 5.0


@settings(max_examples=3, deadline=None)
@given(st.integers(0, 5))
def test_it_works_inside_a_users_hypothesis_test(seed):
    """No nested @given: a seeded random search with greedy shape reduction instead."""
    report = check_backprop(_with(db1=lambda G, c, P, X, Y, m: G["db1"] * m), max_examples=8, seed=seed)
    assert not report.ok and report.wrong == ["db1"]
    assert "nested search is not allowed" in report.search
    ok = check_backprop(lambda P, X, Y: hand_written(P, X, Y), max_examples=5, seed=seed)
    assert ok.ok


def test_without_hypothesis_it_falls_back_to_a_seeded_search(monkeypatch):
    monkeypatch.setitem(sys.modules, "hypothesis", None)  # `import hypothesis` raises ImportError
    report = check_backprop(_with(db1=lambda G, c, P, X, Y, m: G["db1"] * m), max_examples=8)
    assert report.search == "seeded random (hypothesis is not installed)"
    assert report.smallest.shape == (1, 1, 1, 1, 2) and report.smallest_how == "greedy shape reduction"
    assert "seeded random example (hypothesis is not installed)" in str(report)


# ---------------------------------------------------------------- the report
def test_report_renders_and_serialises():
    report = check_backprop(CATALOG["db without keepdims"][0], **FAST)
    data = json.loads(json.dumps(report.to_dict()))
    # a shape-only slip: every value is right, so the chain does not diverge anywhere
    assert data["ok"] is False and data["wrong"] == ["db1"] and data["diverges_at"] is None
    assert "only the shape of db1 is wrong" in data["divergence"]
    assert data["findings"]["db1"]["kind"] == "keepdims"
    assert data["smallest"]["shape"] == [1, 1, 1, 1, 1]
    text = str(report)
    for phrase in ("FAILED -- wrong: db1", "expected db1 = sum(dZ1, axis=1, keepdims) / m",
                   "smallest failing shape (hypothesis shrinking)", "convention: dZl = m dJ/dZl"):
        assert phrase in text


def test_assert_backprop_ok_raises_with_the_report():
    assert assert_backprop_ok(lambda P, X, Y: hand_written(P, X, Y), **FAST).ok
    with pytest.raises(AssertionError, match=r"(?s)FAILED -- wrong: dW3.*truth transposed"):
        assert_backprop_ok(CATALOG["wrong operand order"][0], **FAST)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("backward, options, error, match", [
    (42, {}, InputError, "backward must be a function"),
    (lambda P, X: None, {}, InputError, r"must accept \(params, X, Y\)"),
    (correct_backward, {"f": "swishh"}, UnknownActivationError, "unknown activation 'swishh'; known: sigmoid"),
    (correct_backward, {"f": object()}, InputError, "catalog names for f"),
    (correct_backward, {"rtol": 0}, InputError, "rtol must be a number in"),
    (correct_backward, {"max_examples": -1}, InputError, "max_examples must be an int >= 0"),
    (correct_backward, {"max_size": 0}, InputError, "max_size must be a positive int"),
    (correct_backward, {"kink_margin": -1}, InputError, r"kink_margin must be a number in \[0, 1\)"),
])
def test_unusable_input_raises_with_a_clear_message(backward, options, error, match):
    with pytest.raises(error, match=match):
        check_backprop(backward, **options)


# ---------------------------------------------------------------- the CLI
@pytest.fixture
def cli():
    """derive.cli.main, which lists check-backprop among its commands."""
    return derive.cli.main


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    src = Path(__file__).parent / "bug_catalog.py"
    (tmp_path / "my_backprop_mod.py").write_text(src.read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("my_backprop_mod", None)


def test_cli_exit_0_when_right(cli, user_module, capsys):
    assert cli(["check-backprop", "my_backprop_mod:correct_backward", "--max-examples", "5"]) == 0
    assert "ok -- all six gradients" in capsys.readouterr().out


def test_cli_exit_1_with_the_report_when_wrong(cli, user_module, capsys):
    target = f"{user_module / 'my_backprop_mod.py'}:missing_1_over_m"
    assert cli(["check-backprop", target, "--max-examples", "5"]) == 1
    assert "dW2: exactly m = 7 times too large" in capsys.readouterr().out


def test_cli_json(cli, user_module, capsys):
    assert cli(["check-backprop", "my_backprop_mod:sign_flipped", "--json", "--max-examples", "5"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["wrong"] == ["dW3", "db3", "dW2", "db2", "dW1", "db1"]


@pytest.mark.parametrize("target, message", [
    ("no_colon", "expected MODULE:FUNCTION"),
    ("no_such_module_xyz:backward", "cannot import 'no_such_module_xyz'"),
    ("my_backprop_mod:nope", "has no attribute 'nope'"),
    ("my_backprop_mod:ALL", "is a tuple, not a function"),
    ("missing_file.py:backward", "no such file"),
])
def test_cli_exit_2_with_one_line_for_unusable_input(cli, user_module, capsys, target, message):
    assert cli(["check-backprop", target]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_cli_unknown_activation_exits_2(cli, user_module, capsys):
    assert cli(["check-backprop", "my_backprop_mod:correct_backward", "--f", "swishh"]) == 2
    assert "unknown activation 'swishh'" in capsys.readouterr().err


def test_load_target_accepts_dotted_attributes():
    assert load_target("numeric:network.backward") is numeric.network.backward
