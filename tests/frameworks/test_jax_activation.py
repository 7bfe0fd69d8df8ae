"""check_jax_activation with custom_vjp functions (see jax_zoo.py) and the scoped float64 setting."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

jax = pytest.importorskip("jax", reason="JAX extra not installed: pip install 'backprop-derive[jax]'")
jnp = jax.numpy
sys.path.insert(0, str(Path(__file__).parent))  # robust to pytest's import mode

from derive.frameworks import check_jax_activation  # noqa: E402

from jax_zoo import BUGGY, CORRECT, ISRLU  # noqa: E402


_PAIR = """
import json, sys
sys.path.insert(0, sys.argv[1])
import jax, jax.numpy as jnp
from jax_zoo import BUGGY, CORRECT, ISRLU
from derive.frameworks import check_jax_activation
before = jax.config.jax_enable_x64
bad = check_jax_activation(ISRLU, BUGGY["forgotten upstream factor (ISRLU)"][1], dtypes=("float64",))
good = check_jax_activation(ISRLU, CORRECT["isrlu"][1], dtypes=("float64",))
print(json.dumps({"bad": bad.to_dict(), "bad_text": str(bad), "good": good.to_dict(), "good_text": str(good),
                  "flag": [before, jax.config.jax_enable_x64], "dtype": str(jnp.ones(1).dtype)}))
"""


def test_isrlu_forgotten_cotangent_is_named_the_correct_one_passes_and_float64_is_scoped():
    """The default run's JAX pair (float64 only, to keep it fast): correct passes, buggy fails and is named.

    It runs in a fresh interpreter: JAX computing here would start XLA's threads in the test process,
    and every later test that forks (the sandbox, the report's kill tests) would fork a threaded process.
    """
    out = subprocess.run([sys.executable, "-c", _PAIR, str(Path(__file__).parent)], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout)
    bad, good = res["bad"], res["good"]
    assert not bad["ok"] and bad["pieces"][0] == "upstream-gradient factor", res["bad_text"]
    assert bad["findings"][0]["upstream"] not in (None, 1.0)  # a random cotangent, not ones
    assert "broadcasting" not in bad["pieces"]  # the ones-cotangent probes compare with its own vjp of ones
    assert good["ok"] and good["dtypes"] == ["float64"], res["good_text"]
    before, after = res["flag"]
    assert after == before and res["dtype"] == ("float64" if before else "float32")  # float64 scoped to the check


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
