"""check_backprop on code written the way people write it (tests/backprop_check/real_code.py):
course-style L layers with caches, row-major layer classes, nn.Linear weights,
per-example loops over lists of (W, b).  Each is checked as it is, no wrapper;
the verdict, the wrong set, the named pattern and the localisation are asserted."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import real_code as rc  # noqa: E402

from derive.backprop_check.check import check_backprop  # noqa: E402

ALL = ["dW3", "db3", "dW2", "db2", "dW1", "db1"]
COURSE = {"f": "relu", "g": "tanh"}
ROWS = {"f": "tanh", "g": "relu", "layout": "rows"}
LINEAR = {"f": "tanh", "g": "relu", "layout": "linear"}
PAIRS = {"f": "tanh", "g": "relu", "params_as": "pairs"}

# function, options, wrong (None: passes), {gradient: kind of its worst finding}, diverges_at
TABLE = {
    "course, stable start": (rc.course_backward_stable, COURSE, None, {}, None),
    "course, from dAL": (rc.course_backward, COURSE, ALL, {k: "unstable at saturation" for k in ALL}, None),
    "course, tanh' as 1 - Z**2": (rc.course_tanh_prime_on_z, COURSE, ALL,
                                  {"dW3": "unstable at saturation", "db3": "unstable at saturation",
                                   "dW2": "from-output formula on Z", "db1": "from-output formula on Z"}, 2),
    "course, epsilon in dAL": (rc.course_epsilon, COURSE, ALL, {k: "epsilon in gradient" for k in ALL}, 3),
    "course, missing (1-Y)/(1-A)": (rc.course_missing_term, COURSE, ALL,
                                    {k: "missing (1-Y)/(1-A) term" for k in ALL}, 3),
    "course, sigmoid'(A) at the output": (rc.course_output_cache_holds_A, COURSE, ALL,
                                         {k: "f'(A) instead of f'(Z)" for k in ALL}, 3),
    "layer classes": (rc.layers_backward, ROWS, None, {}, None),
    "layer classes, tanh'(A)": (rc.layers_tanh_of_output, ROWS, ["dW1", "db1"],
                                {"dW1": "f'(A) instead of f'(Z)", "db1": "f'(A) instead of f'(Z)"}, 1),
    "nn.Linear": (rc.linear_backward, LINEAR, None, {}, None),
    "nn.Linear, dW3 transposed": (rc.linear_weight_grad_transposed, LINEAR, ["dW3"], {"dW3": "transposed"}, 3),
    "nn.Linear, db1 and db2 swapped": (rc.linear_layers_swapped, LINEAR, ["db2", "db1"],
                                       {"db2": "swapped", "db1": "swapped"}, 2),
    "per-example loop": (rc.loop_backward, PAIRS, None, {}, None),
    "per-example loop, quadratic cost": (rc.loop_quadratic, PAIRS, ALL, {k: "sigmoid derivative twice" for k in ALL}, 3),
    "per-example loop, no mean": (rc.loop_sum_not_mean, PAIRS, ALL, {k: "missing 1/m" for k in ALL}, 3),
    "pairs, 1/m twice": (rc.pairs_one_over_m_twice, PAIRS, ALL, {k: "1/m twice" for k in ALL}, 3),
    "pairs, x2": (rc.pairs_times_two, PAIRS, ALL, {k: "constant factor" for k in ALL}, 3),
}


@pytest.mark.parametrize("name", list(TABLE))
def test_real_code_gets_the_right_verdict_set_and_pattern(name):
    fn, options, wrong, kinds, layer = TABLE[name]
    report = check_backprop(fn, max_examples=0, **options)  # the probes find each; the search is tested elsewhere
    if wrong is None:
        assert report.ok, str(report)
        return
    assert not report.ok and report.wrong == wrong, str(report)
    for grad, kind in kinds.items():
        assert report.findings[grad].kind == kind, f"{grad}\n{report}"
    assert report.diverges_at == layer, str(report)


def test_the_saturation_report_says_the_formulas_are_right_and_names_the_fix():
    report = check_backprop(rc.course_backward, max_examples=0, **COURSE)
    text = str(report)
    assert "every finite value is right: the formulas are right" in text
    assert "a division by 1 - A3" in text and "start from dZ3 = A3 - Y" in text
    assert report.findings["dW1"].case.offset == 40.0  # seen only where A3 = 1.0 exactly


def test_every_finding_is_kept_worst_first_in_text_and_json():
    """The epsilon is tiny at ordinary outputs and ~100% wrong at confident ones: the worst leads."""
    report = check_backprop(rc.course_epsilon, max_examples=0, **COURSE)
    fds = report.all_findings["dW3"]
    assert report.findings["dW3"] is fds[0] and fds[0].rel_error > 0.5
    assert [fd.kind for fd in fds] == ["epsilon in gradient", "sigmoid derivative twice"]
    data = report.to_dict()
    assert data["schema"] == 2 and data["findings"]["dW3"]["kind"] == "epsilon in gradient"
    assert [d["kind"] for d in data["all_findings"]["dW3"]] == ["epsilon in gradient", "sigmoid derivative twice"]
    assert "    also: " in str(report)


def test_shapes_and_indices_are_echoed_in_the_users_layout():
    report = check_backprop(rc.linear_weight_grad_transposed, max_examples=0, **LINEAR)
    assert "has shape (6, 3), expected (3, 6)" in report.findings["dW3"].message  # (in, out) vs nn.Linear's (out, in)
    text = str(check_backprop(rc.layers_tanh_of_output, max_examples=0, **ROWS))
    assert "expected dW1 = X.T @ dZ1 / m" in text and "layout=rows" in text


@pytest.mark.parametrize("fn, asked, wanted", [
    (rc.layers_backward, {"f": "tanh", "g": "relu"}, "layout='rows' (CLI --layout rows)"),
    (rc.linear_backward, {"f": "tanh", "g": "relu"}, "layout='linear' (CLI --layout linear)"),
    (rc.loop_backward, {"f": "tanh", "g": "relu"}, "params_as='pairs' (CLI --layout columns --params pairs)"),
    (rc.course_backward_stable, {"f": "relu", "g": "tanh", "layout": "rows"}, "layout='columns'"),
], ids=["rows given as columns", "linear given as columns", "pairs given as dict", "columns given as rows"])
def test_code_in_another_layout_is_refused_with_the_option_to_pass(fn, asked, wanted):
    from numeric.errors import InputError

    with pytest.raises(InputError, match="looks like") as info:
        check_backprop(fn, max_examples=0, **asked)
    assert wanted in str(info.value)


def test_float32_code_passes_with_dtype_float32_and_is_named_as_precision_loss_in_float64():
    assert check_backprop(rc.linear_backward_float32, dtype="float32", max_examples=5, **LINEAR).ok
    report = check_backprop(rc.linear_backward_float32, max_examples=0, **LINEAR)
    assert not report.ok and {fd.kind for fd in report.findings.values()} == {"float32"}, str(report)
    # negative control: a real bug is still caught at float32 tolerances
    bug = check_backprop(rc.linear_weight_grad_transposed, dtype="float32", max_examples=0, **LINEAR)
    assert bug.wrong == ["dW3"]
