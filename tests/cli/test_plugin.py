"""derive.plugin: the pytest plugin (assertion helper and fixture), exercised with pytester."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import derive.activation_check.check  # noqa: F401 - loaded here, so in-process pytester runs never re-import
import derive.plugin  # numpy's C extension (pytester restores sys.modules after each inner run)

pytest_plugins = ["pytester"]


def _plugin_args() -> list[str]:
    """``-p derive.plugin`` unless the pytest11 entry point already loads it."""
    entry_points = importlib.metadata.entry_points(group="pytest11")
    if any(ep.value == "derive.plugin" for ep in entry_points):
        return []
    return ["-p", "derive.plugin"]


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(*_plugin_args(), "-p", "no:cacheprovider", *args)


def test_helper_passes_a_correct_check_and_shows_the_counterexample_of_a_wrong_one(pytester):
    pytester.makepyfile(
        """
        import numpy as np
        from derive.plugin import assert_activation_ok

        def test_good():
            report = assert_activation_ok("log(1 + exp(z))", derivative="sigmoid(z)",
                                          numpy_value=lambda z: np.logaddexp(0.0, z), network=False)
            assert report.ok

        def test_wrong_derivative():
            assert_activation_ok("tanh", derivative="1 - tanh(z)", network=False)

        def test_unsound_numpy():
            assert_activation_ok("softplus", numpy_value=lambda z: np.log(1 + np.exp(z)), network=False)
        """
    )
    result = _run(pytester)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines([
        "*activation check failed for tanh:*",
        "*claimed derivative 1 - tanh(z) is wrong: at z = 1 the claim gives 0.238405844 but f'(1) = 0.4199743416*",
    ])
    result.stdout.fnmatch_lines(["*NumPy numpy_value: inf: at z = 800 it returns inf, true value 800*"])


def test_fixture_is_the_same_helper(pytester):
    pytester.makepyfile(
        """
        def test_fixture(activation_check):
            report = activation_check("relu", derivative="where(z > 0, 1, 0)", network=False)
            assert report.claim.status == "proven"

        def test_fixture_fails(activation_check):
            activation_check("relu", derivative="where(z > 1, 1, 0)", network=False)
        """
    )
    result = _run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*is wrong: at z = 1 the claim gives 0 but f'(1) = 1*"])


def test_helper_inside_a_hypothesis_test(pytester):
    """Users may call the helper from their own @given tests (no nested @given inside)."""
    pytester.makepyfile(
        """
        from hypothesis import given, settings, strategies as st
        from derive.plugin import assert_activation_ok

        @settings(max_examples=2, deadline=None, database=None)
        @given(st.floats(0.05, 0.5))
        def test_leaky(alpha):
            assert_activation_ok("where(z > 0, z, alpha*z)", params={"alpha": alpha}, network=False)
        """
    )
    _run(pytester).assert_outcomes(passed=1)


def test_plugin_module_imports_no_sympy():
    """Loaded on its own, the plugin module pulls in neither sympy nor derive's checker."""
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('bp_plugin', {str(Path(derive.plugin.__file__))!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "assert hasattr(module, 'assert_activation_ok')\n"
        "heavy = [m for m in ('sympy', 'mpmath', 'derive.activation_check.check') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_importing_derive_plugin_is_light():
    """``import derive.plugin`` (what the pytest11 entry point does) loads no sympy.

    This needs ``derive/__init__.py`` to import its submodules lazily; until it
    does, the test is skipped with the reason below.
    """
    code = "import sys, derive.plugin; print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=Path(derive.plugin.__file__).parents[1])
    assert out.returncode == 0, out.stderr
    if out.stdout.strip() == "True":
        pytest.skip("derive/__init__.py imports sympy eagerly, so 'import derive.plugin' does too "
                    "(make derive/__init__ lazy)")
    assert out.stdout.strip() == "False"


def test_backprop_fixture_passes_the_right_backward_and_names_the_wrong_gradient(pytester):
    pytester.makepyfile(
        """
        import numeric

        def right(params, X, Y):
            return numeric.backward(params, X, Y)

        def no_keepdims(params, X, Y):
            grads = dict(numeric.backward(params, X, Y))
            grads["db1"] = grads["db1"].ravel()
            return grads

        def test_right(backprop_check):
            assert backprop_check(right, max_examples=3).ok

        def test_wrong(backprop_check):
            backprop_check(no_keepdims, max_examples=3)
        """
    )
    result = _run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*db1*keepdims*"])


def test_a_backprop_failure_shows_the_users_line_and_the_report_not_the_library(pytester):
    pytester.makepyfile(
        """
        import numeric

        def doubled(params, X, Y):
            grads = dict(numeric.backward(params, X, Y))
            grads["dW2"] = 2 * grads["dW2"]
            return grads

        def test_doubled(backprop_check):
            backprop_check(doubled, max_examples=0)  # THE USER'S LINE
        """
    )
    result = _run(pytester)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "THE USER'S LINE" in out and "FAILED -- wrong: dW2" in out and "exactly 2 times too large" in out
    assert "backprop_check/check.py" not in out and "derive/plugin.py" not in out
