"""check_jax_activation with custom_vjp functions (see jax_zoo.py) and the scoped float64 setting."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

jax = pytest.importorskip("jax", reason="JAX extra not installed: pip install 'backprop-derive[jax]'")
jnp = jax.numpy
sys.path.insert(0, str(Path(__file__).parent))  # robust to pytest's import mode

from derive.frameworks import check_jax_activation  # noqa: E402

from jax_zoo import BUGGY, CORRECT, ISRLU  # noqa: E402


def test_isrlu_forgotten_cotangent_is_named_the_correct_one_passes_and_float64_is_scoped():
    """The default run's JAX pair (float64 only, to keep it fast): correct passes, buggy fails and is named."""
    before = jax.config.jax_enable_x64
    bad = check_jax_activation(ISRLU, BUGGY["forgotten upstream factor (ISRLU)"][1], dtypes=("float64",))
    assert not bad.ok and bad.pieces[0] == "upstream-gradient factor", str(bad)
    assert bad.findings[0].upstream not in (None, 1.0)  # a random cotangent, not ones
    assert "broadcasting" not in bad.pieces  # the ones-cotangent probes compare with its own vjp of ones
    good = check_jax_activation(ISRLU, CORRECT["isrlu"][1], dtypes=("float64",))
    assert good.ok and good.dtypes == ["float64"], str(good)
    assert jax.config.jax_enable_x64 == before
    assert jnp.ones(1).dtype == (jnp.float64 if before else jnp.float32)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CORRECT))
def test_every_correct_function_passes(name):
    spec, fn = CORRECT[name]
    report = check_jax_activation(spec, fn)
    assert report.ok, str(report)


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(BUGGY))
def test_buggy_functions_are_caught_and_named(case):
    spec, fn, piece = BUGGY[case]
    report = check_jax_activation(spec, fn)
    assert not report.ok and piece in report.pieces, str(report)
