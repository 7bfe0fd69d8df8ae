"""Shared test settings.

Hypothesis: the ``ci`` profile (chosen when the CI environment variable is
set) is derandomised, so every CI run draws the same examples; ``dev`` keeps
random exploration.  Both have no deadline: sympy's first call in a process
is slow, and timing belongs to benchmarks, not tests.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, settings

# No "explain" phase: it traces every line of a failing example, which on
# numpy/sympy-heavy tests turns a quick failure into a very long run.
_PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    phases=_PHASES,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, phases=_PHASES, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


# The default run must stay under 60 s on 2 cores. These tests are kept out of it and run
# with the slow ones (``pytest -m slow``, which .ci/run runs): the mutation-strength files
# (tools/mutate.py runs them itself) and the heaviest single tests, each of which has a
# lighter sibling in the default run (the same check at a smaller size or on one case).
_SLOW_FILES = (
    "tests/numeric/test_strength_",
    "tests/core/test_strength_",
)
_SLOW_TESTS = (
    "tests/frameworks/test_jax_activation.py::test_isrlu_forgotten_cotangent_is_named",
    "tests/activation_check/test_check_activation.py::test_time_limit_and_check_off_the_main_thread",
    "tests/backprop_check/test_bug_catalog.py::test_kill_rate_is_100_percent",
    "tests/cli/test_cli.py::test_verify_reports_failure_with_nonzero_exit",
    "tests/report/test_train.py::test_central_differences_leave_out_examples_at_a_kink",
    "tests/report/test_report_atomic.py::test_sigkill_at_every_step_leaves_old_new_or_refused",
    "tests/backprop_check/test_sandbox.py::test_a_time_out_beside_a_threaded_ml_library_names_it",
    "tests/backprop_check/test_sandbox.py::test_prepare_child_runs_once_in_the_child_outside_the_call_limit",
    "tests/backprop_check/test_sandbox.py::test_a_hang_on_some_shapes_names_the_case",
    "tests/cli/test_check_backprop_cli.py::test_the_console_script_pipes_into_head_quietly",
    "tests/activation_check/test_check_activation.py::test_unusual_formulas_get_a_verdict_or_one_clean_error",
    "tests/frameworks/test_limit.py::test_a_hanging_torch_forward_is_a_call_finding",
    "tests/core/test_proof.py::test_proof_fails_on_a_wrong_formula",
    "tests/core/test_heads.py::test_exact_proof_fails_on_a_wrong_rule",
    "tests/backprop_check/test_check_backprop.py::test_no_false_alarm_on_an_independent_user_implementation",
    "tests/backprop_check/test_check_backprop.py::test_it_works_inside_a_users_hypothesis_test",
    "tests/report/test_report_latex.py::test_small_report_renders_deterministically_and_passes",
    "tests/report/test_report_latex.py::test_report_command_failed_check_writes_nothing",
    "tests/report/test_train.py::test_train_command_writes_the_csv_with_a_progress_bar",
    "tests/cli/test_plugin.py::test_backprop_fixture_passes_the_right_backward_and_names_the_wrong_gradient",
)


# Parametrised families of many similar cases: every second case runs with the slow ones
# (the default run keeps half of each family, negative controls included).
_HALF_SLOW = (
    "tests/backprop_check/test_bug_catalog.py::test_every_bug_is_caught_named_and_explained",
    "tests/backprop_check/test_check_backprop.py::test_each_kind_of_error_is_named",
    "tests/backprop_check/test_real_code.py::test_real_code_gets_the_right_verdict_set_and_pattern",
    "tests/backprop_check/test_networks.py::test_each_head_bug_is_caught_named_and_placed",
)


@pytest.hookimpl(tryfirst=True)  # before -m 'not slow' deselects
def pytest_collection_modifyitems(config, items):
    slow = pytest.mark.slow
    seen: dict[str, int] = {}
    for item in items:
        node = item.nodeid
        if node.startswith(_SLOW_FILES) or node.startswith(_SLOW_TESTS):
            item.add_marker(slow)
            continue
        family = node.split("[", 1)[0]
        if "[" in node and family in _HALF_SLOW:
            seen[family] = seen.get(family, -1) + 1
            if seen[family] % 2:
                item.add_marker(slow)
