"""check_jax_activation with custom_vjp functions (see jax_zoo.py) and the scoped float64 setting.

JAX is not imported into the test process by the default run (the pair runs in a fresh interpreter,
see below), so the case names are listed here and checked against jax_zoo by a slow test.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

if importlib.util.find_spec("jax") is None:
    pytest.skip("JAX extra not installed: pip install 'backprop-derive[jax]'", allow_module_level=True)
HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # robust to pytest's import mode

CORRECT_NAMES = ("elu", "isrlu", "leaky_relu", "relu", "sigmoid", "softplus", "softsign", "swish", "tanh")
BUGGY_CASES = ("derivative from output applied to input (sigmoid)", "float32-only overflow (softplus)",
               "forgotten upstream factor (ISRLU)", "sign slip (tanh)", "wrong kink side (leaky_relu)")


def _zoo():
    import jax_zoo

    return jax_zoo


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
    out = subprocess.run([sys.executable, "-c", _PAIR, str(HERE)], capture_output=True, text=True, timeout=600)
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
def test_the_name_lists_match_the_zoo():
    zoo = _zoo()
    assert (tuple(sorted(zoo.CORRECT)), tuple(sorted(zoo.BUGGY))) == (CORRECT_NAMES, BUGGY_CASES)


@pytest.mark.slow
@pytest.mark.parametrize("name", CORRECT_NAMES)
def test_every_correct_function_passes(name):
    from derive.frameworks import check_jax_activation

    spec, fn = _zoo().CORRECT[name]
    report = check_jax_activation(spec, fn)
    assert report.ok, str(report)


@pytest.mark.slow
@pytest.mark.parametrize("case", BUGGY_CASES)
def test_buggy_functions_are_caught_and_named(case):
    from derive.frameworks import check_jax_activation

    spec, fn, piece = _zoo().BUGGY[case]
    report = check_jax_activation(spec, fn)
    assert not report.ok and piece in report.pieces, str(report)
