"""derive.plugin: unusable input (a bad option, code in another layout, a formula
that does not parse) shows the user's test line and the one-line message, not
the checker's frames and the reprs of its internal objects; the exception is
still the library's own, so ``pytest.raises(InputError)`` keeps working."""

from __future__ import annotations

import importlib.metadata

import pytest

import derive.activation_check.check  # loaded here, so in-process pytester runs never re-import
import derive.backprop_check.check
import derive.plugin  # noqa: F401 - numpy's C extension stays loaded across pytester runs

pytest_plugins = ["pytester"]


def _run(pytester: pytest.Pytester) -> pytest.RunResult:
    entry_points = importlib.metadata.entry_points(group="pytest11")
    plugin = [] if any(ep.value == "derive.plugin" for ep in entry_points) else ["-p", "derive.plugin"]
    return pytester.runpytest(*plugin, "-p", "no:cacheprovider")


_ROW_MAJOR = '''
import numpy as np
import pytest
from numeric.errors import InputError
from derive.plugin import assert_activation_ok, assert_backprop_ok


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def rows(params, X, Y):
    """Row-major code (X is m x d, X @ W + b), checked without layout='rows'."""
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    m = X.shape[0]
    Z1 = X @ W1 + b1
    A1 = Z1 * _sigmoid(Z1)
    Z2 = A1 @ W2 + b2
    A2 = np.where(Z2 > 0, Z2, 0.01 * Z2)
    dZ3 = _sigmoid(A2 @ W3 + b3) - Y
    dZ2 = (dZ3 @ W3.T) * np.where(Z2 > 0, 1.0, 0.01)
    s = _sigmoid(Z1)
    dZ1 = (dZ2 @ W2.T) * (s * (1 + Z1 * (1 - s)))
    return {"dW1": X.T @ dZ1 / m, "db1": dZ1.sum(axis=0) / m, "dW2": A1.T @ dZ2 / m,
            "db2": dZ2.sum(axis=0) / m, "dW3": A2.T @ dZ3 / m, "db3": dZ3.sum(axis=0) / m}


def test_wrong_layout(backprop_check):
    backprop_check(rows, max_examples=0)  # USER LINE ONE


def test_bad_option(backprop_check):
    backprop_check(rows, layout="diagonal")  # USER LINE TWO


def test_bad_formula(activation_check):
    activation_check("tanh(z", network=False)  # USER LINE THREE


def test_still_catchable():
    with pytest.raises(InputError, match="layout must be one of"):
        assert_backprop_ok(rows, layout="diagonal")
'''


def test_an_input_error_shows_the_users_line_and_one_message(pytester):
    pytester.makepyfile(_ROW_MAJOR)
    result = _run(pytester)
    result.assert_outcomes(passed=1, failed=3)
    out = result.stdout.str()
    for line in ("USER LINE ONE", "USER LINE TWO", "USER LINE THREE"):
        assert line in out
    assert "backward looks like row-major code" in out and "pass layout='rows'" in out
    assert "InputError: layout must be one of 'columns', 'rows', 'linear'; got 'diagonal'" in out
    assert "ParseError:" in out
    assert "backprop_check/check.py" not in out and "activation_check/check.py" not in out, out
    assert "derive/plugin.py" not in out and "CaseResult(" not in out and "_Checker object" not in out, out
