"""Sealing: whatever the user's backward does (exit, hang, crash, raise from
its own objects, return junk or NaN), check_backprop gives a verdict."""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pytest

import numeric
from derive.backprop_check.check import check_backprop
from derive.backprop_check.sandbox import Sandbox
from numeric.errors import InputError

FAST = {"max_examples": 0}


def right(P, X, Y):
    return numeric.backward(P, X, Y)


def exits(P, X, Y):
    sys.exit(0)


def hard_exit(P, X, Y):
    os._exit(0)


def interrupts(P, X, Y):
    raise KeyboardInterrupt


def sleeps(P, X, Y):
    time.sleep(30)


def sleeps_on_small_batches(P, X, Y):
    if X.shape[1] == 1:
        time.sleep(30)
    return numeric.backward(P, X, Y)


class Grads(dict):
    def __getitem__(self, key):
        raise RuntimeError("lazy gradient not computed")


def raising_dict(P, X, Y):
    return Grads(numeric.backward(P, X, Y))


class Loud:
    def __str__(self):
        raise ValueError("no printing")


def odd_types(P, X, Y):
    G = dict(numeric.backward(P, X, Y))
    G["dW2"] = Loud()
    G["db1"] = "0.5"
    return G


def returns_a_string(P, X, Y):
    return "dW1 db1"


def nan_gradient(P, X, Y):
    G = dict(numeric.backward(P, X, Y))
    G["db2"] = G["db2"] * np.nan
    return G


def prints(P, X, Y):
    print("debug output from the user's code")
    return numeric.backward(P, X, Y)


@pytest.mark.parametrize("fn, kind, phrase", [
    (exits, "exited", "SystemExit(0) (sys.exit)"),
    (interrupts, "interrupted", "KeyboardInterrupt"),
    (raising_dict, "raised", "RuntimeError: lazy gradient not computed"),
    (returns_a_string, "bad return", "it returned str"),
], ids=["sys.exit", "KeyboardInterrupt", "dict subclass raising", "a string"])
def test_the_users_exit_or_exception_is_a_finding_with_its_traceback(fn, kind, phrase):
    report = check_backprop(fn, **FAST)
    assert not report.ok and report.findings["backward"].kind == kind, str(report)
    assert phrase in report.findings["backward"].message
    if kind != "bad return":
        assert "test_sandbox.py:" in report.findings["backward"].message  # the user's frame, not ours


def test_a_hard_exit_ends_only_the_child_and_is_reported():
    report = check_backprop(hard_exit, **FAST)
    fd = report.findings["backward"]
    assert not report.ok and fd.kind == "process ended" and "exit status 0" in fd.message
    assert any("later probes were not run" in n for n in report.notes)


def test_a_hang_is_stopped_by_the_call_limit_and_the_checker_stops_calling():
    t0 = time.perf_counter()
    report = check_backprop(sleeps, call_limit=0.5, max_examples=20)
    assert time.perf_counter() - t0 < 15
    fd = report.findings["backward"]
    assert not report.ok and fd.kind == "timed out" and "did not return within 0.5 s" in fd.message
    assert "call_limit / --call-limit" in fd.message
    later = len(report.probes) - 1  # every probe after the first, which timed out
    assert any(f"{later} later probes were not run, nor any further search" in n for n in report.notes), report.notes


def test_a_hang_on_some_shapes_names_the_case():
    report = check_backprop(sleeps_on_small_batches, call_limit=0.5, **FAST)
    fd = report.findings["backward"]
    assert fd.kind == "timed out" and fd.case.shape[4] == 1


def test_odd_return_types_are_findings_not_tracebacks():
    report = check_backprop(odd_types, **FAST)
    assert not report.ok and report.findings["dW2"].kind == "not an array"
    assert "Loud" in report.findings["dW2"].message and report.findings["db1"].kind == "not an array"


def test_a_nan_gradient_is_named_as_such_not_as_kept_state():
    report = check_backprop(nan_gradient, **FAST)
    assert report.wrong == ["db2"] and report.findings["db2"].kind == "nonfinite"
    assert "backward" not in report.findings and "nan" in report.findings["db2"].message
    assert "np.float64" not in str(report)


def test_the_users_prints_do_not_reach_stdout(capfd):
    assert check_backprop(prints, **FAST).ok
    out, err = capfd.readouterr()
    assert "debug output" not in out and "debug output" in err


def test_in_process_mode_gives_the_same_verdicts():
    a = check_backprop(nan_gradient, isolate=False, **FAST).to_dict()
    b = check_backprop(nan_gradient, **FAST).to_dict()
    assert a == b


def test_a_lambda_and_a_closure_run_in_the_child():
    scale = 2.0
    report = check_backprop(lambda P, X, Y: {k: scale * v for k, v in numeric.backward(P, X, Y).items()}, **FAST)
    assert report.wrong == ["dW3", "db3", "dW2", "db2", "dW1", "db1"]
    assert report.findings["dW1"].kind == "constant factor"


@pytest.mark.parametrize("option, value, match", [
    ("call_limit", 0, "call_limit must be a positive number"),
    ("call_limit", float("inf"), "call_limit must be a positive number"),
    ("layout", "cols", "layout must be one of 'columns', 'rows', 'linear'"),
    ("params_as", "list", "params_as must be one of 'dict', 'pairs'"),
    ("dtype", "float16", "dtype must be one of 'float64', 'float32'"),
    ("seed", -1, "seed must be an int >= 0, got -1"),
])
def test_bad_options_raise(option, value, match):
    with pytest.raises(InputError, match=match):
        check_backprop(right, **{option: value})


def test_sandbox_closes_its_child():
    box = Sandbox(right, call_limit=5)
    proc = box._proc
    box.close()
    assert not proc.is_alive()


@pytest.mark.parametrize("returned, name, kind, phrase", [
    (lambda G: {k: np.asarray(v).tolist() for k, v in G.items()}, None, None, ""),
    (lambda G: [(G[f"dW{i}"].tolist(), G[f"db{i}"].tolist()) for i in (1, 2, 3)], None, None, ""),
    (lambda G: {**G, "dW1": [[1.0, 2.0], [3.0]]}, "dW1", "not an array", "(list)"),
    (lambda G: {k: v + 0j for k, v in G.items()}, "dW3", "not an array", "a gradient must be real"),
    (lambda G: {k: v[None] for k, v in G.items()}, "dW3", "shape", "extra axes of size 1"),
], ids=["nested lists", "pairs of lists", "ragged", "complex", "extra axis"])
def test_returned_containers_are_read_or_named(returned, name, kind, phrase):
    report = check_backprop(lambda P, X, Y: returned(dict(numeric.backward(P, X, Y))), **FAST)
    if name is None:
        assert report.ok, str(report)
    else:
        assert report.findings[name].kind == kind and phrase in report.findings[name].message, str(report)


class NeedsDetach:
    """Like a torch tensor that requires grad: np.asarray raises."""

    def __array__(self, *args, **kwargs):
        raise RuntimeError("Can't call numpy() on Tensor that requires grad")


def test_an_object_that_refuses_conversion_is_named_with_its_error():
    report = check_backprop(lambda P, X, Y: {**numeric.backward(P, X, Y), "dW2": NeedsDetach()}, **FAST)
    message = report.findings["dW2"].message
    assert report.wrong == ["dW2"] and "NeedsDetach; converting it to an array raised RuntimeError" in message
    assert "test_sandbox.py" in message and "in __array__" in message


def test_a_time_out_beside_a_threaded_ml_library_names_it(monkeypatch):
    import types

    monkeypatch.setitem(sys.modules, "jax", types.ModuleType("jax"))
    assert check_backprop(right, **FAST).notes == []  # nothing said while nothing goes wrong
    report = check_backprop(sleeps, call_limit=0.5, **FAST)
    assert "jax" in report.findings["backward"].message and "whose threads do not survive" in \
        report.findings["backward"].message


class Prepared:
    """A callable that must be readied in the child, outside the call limit (like a framework adapter)."""

    def __init__(self):
        self.ready_in = None

    def prepare_child(self):
        time.sleep(1.0)  # longer than the call limit below
        self.ready_in = os.getpid()

    def __call__(self, P, X, Y):
        if self.ready_in != os.getpid():
            raise RuntimeError("not prepared in this process")
        return numeric.backward(P, X, Y)


def test_prepare_child_runs_once_in_the_child_outside_the_call_limit():
    assert check_backprop(Prepared(), call_limit=0.5, **FAST).ok
