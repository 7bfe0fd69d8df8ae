"""Shared test settings.

Hypothesis: the ``ci`` profile (chosen when the CI environment variable is
set) is derandomised, so every CI run draws the same examples; ``dev`` keeps
random exploration.  Both have no deadline: sympy's first call in a process
is slow, and timing belongs to benchmarks, not tests.
"""

from __future__ import annotations

import os

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
