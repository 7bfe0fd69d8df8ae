"""torch_backward / jax_backward: a network's autograd as the hand-written side of check_backprop.

check_backprop runs ``backward`` in a forked child by default; the slow tests
first run the framework in this (the parent) process, which is what made a
forked child hang before the adapters handled it (see derive.frameworks.network).
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="PyTorch extra not installed: pip install 'backprop-derive[torch]'")
sys.path.insert(0, str(Path(__file__).parent))

from torch_zoo import BUGGY, CORRECT  # noqa: E402

import derive  # noqa: E402
from derive.frameworks import torch_backward  # noqa: E402
from derive.frameworks.fresh import FreshProcess, FreshProcessError  # noqa: E402


class _Act(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _net(f, g):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), _Act(f), torch.nn.Linear(3, 2), _Act(g), torch.nn.Linear(2, 1))


@pytest.mark.slow
def test_correct_custom_function_inside_a_module_passes_and_a_buggy_one_is_caught():
    """Negative control: the sign slip in the tanh Function makes dW1 and db1 wrong, nothing else."""
    good = _net(CORRECT["tanh"][1].apply, CORRECT["sigmoid"][1].apply)
    report = derive.check_backprop(torch_backward(good), f="tanh", g="sigmoid", max_examples=0)
    assert report.ok, str(report)
    bad = _net(BUGGY["sign slip (tanh)"][1].apply, CORRECT["sigmoid"][1].apply)
    report = derive.check_backprop(torch_backward(bad), f="tanh", g="sigmoid", max_examples=0)
    assert not report.ok
    assert "dW1" in report.wrong and "dW3" not in report.wrong


def test_module_with_wrong_parameter_count_is_refused():
    with pytest.raises(derive.InputError, match="six"):
        torch_backward(torch.nn.Linear(3, 2))


def test_a_closure_cannot_go_to_a_fresh_process_and_the_message_says_why():
    with pytest.raises(FreshProcessError, match=r"cannot be sent to a fresh process .*module level") as err:
        FreshProcess(lambda x: x)
    assert "0x" not in str(err.value)  # no memory address: the finding's text is reproducible


@pytest.mark.slow
def test_fresh_process_returns_values_and_reports_exceptions():
    import math

    with FreshProcess(math.sqrt) as proc:
        assert proc.call(16.0) == 4.0
        with pytest.raises(FreshProcessError, match="ValueError: math domain error"):
            proc.call(-1.0)
        assert proc.call(9.0) == 3.0  # still serving after the user's exception
        if Path("/proc/self/cmdline").exists():
            assert proc._proc.pid in _fresh_processes()  # negative control of the leftover-process scan


class _RefusesToLoad:
    """Pickles fine here; unpickling raises (in the fresh process)."""

    def __init__(self):
        self.state = 1

    def __setstate__(self, state):
        raise RuntimeError("refuses to load")

    def __call__(self):
        return "never"


@pytest.mark.slow
def test_a_fresh_process_that_cannot_load_the_function_says_so_on_every_call():
    proc = FreshProcess(_RefusesToLoad())
    for _ in range(2):
        with pytest.raises(FreshProcessError, match="loading the function in the fresh process failed: "
                                                    "RuntimeError: refuses to load"):
            proc.call()
    proc.close()


@pytest.mark.slow
def test_torch_network_in_the_forked_child_after_threaded_work_in_the_parent():
    """A multi-threaded op here used to make the forked child's first op wait forever (call_limit time-out)."""
    a = torch.randn(600, 600, dtype=torch.float64)
    for _ in range(3):
        (a @ a).sum()
    good = torch_backward(_net(CORRECT["tanh"][1].apply, CORRECT["sigmoid"][1].apply))
    report = derive.check_backprop(good, f="tanh", g="sigmoid", max_examples=3, call_limit=60)
    assert report.ok, str(report)
    bad = torch_backward(_net(BUGGY["sign slip (tanh)"][1].apply, CORRECT["sigmoid"][1].apply))
    assert not derive.check_backprop(bad, f="tanh", g="sigmoid", max_examples=3, call_limit=60).ok


def test_torch_adapter_pickles_and_its_twin_computes_the_same_gradients():
    """Where there is no fork, check_backprop's child is spawned and gets the adapter by pickle."""
    import numpy as np
    import numeric

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2), torch.nn.Tanh(),
                              torch.nn.Linear(2, 1))
    good = torch_backward(net)
    twin = pickle.loads(pickle.dumps(good))
    assert twin.__qualname__ == good.__qualname__ == "torch_backward(Sequential)"
    P = numeric.init_params(4, 3, 2, 1, seed=1)
    X, Y = np.linspace(-1, 1, 20).reshape(4, 5), np.array([[0.0, 1.0, 1.0, 0.0, 1.0]])
    mine, theirs = good(P, X, Y), twin(P, X, Y)
    assert all(np.array_equal(mine[k], theirs[k]) for k in mine)
    want = numeric.backward(P, X, Y, f="tanh", g="tanh")
    assert np.allclose(mine["dW1"], want["dW1"], rtol=1e-12, atol=1e-15)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # JAX's warning; the adapter does not fork JAX
@pytest.mark.parametrize("isolate", [True, False], ids=["forked-child", "in-process"])
def test_jax_loss_through_check_backprop_and_negative_control(isolate):
    """A correct loss passes and a custom_vjp tanh with a sign slip inside it fails, after JAX ran here."""
    jax = pytest.importorskip("jax", reason="JAX extra not installed: pip install 'backprop-derive[jax]'")
    import jax_zoo

    from derive.frameworks import jax_backward

    jax.numpy.ones(3).block_until_ready()  # JAX's threads now exist in this process: fork hazard
    kw = dict(f="tanh", g="tanh", max_examples=0, isolate=isolate, call_limit=120)
    report = derive.check_backprop(jax_backward(jax_zoo.loss_custom_tanh), **kw)
    assert report.ok, str(report)
    report = derive.check_backprop(jax_backward(jax_zoo.loss_sign_slip), **kw)
    assert not report.ok, str(report)
    # the slipped tanh is in both layers: dW2 is sign-flipped, dW1 flipped twice (right again)
    assert report.wrong == ["dW2", "db2"], str(report)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
def test_jax_closure_under_the_child_is_refused_with_the_fix():
    """The sandbox calls prepare_child() before the first call: a closure cannot reach a fresh process."""
    pytest.importorskip("jax", reason="JAX extra not installed: pip install 'backprop-derive[jax]'")
    import jax_zoo

    from derive.frameworks import jax_backward

    with pytest.raises(derive.InputError, match=r"cannot be sent to a fresh process .*define it at module level") as err:
        derive.check_backprop(jax_backward(lambda P, X, Y: jax_zoo.loss(P, X, Y)), f="tanh", g="tanh",
                              max_examples=0, call_limit=120)
    assert "0x" not in str(err.value)  # no memory address: the message is reproducible


@pytest.mark.slow
def test_jax_loss_that_cannot_be_traced_runs_eagerly_with_the_same_gradients():
    pytest.importorskip("jax", reason="JAX extra not installed: pip install 'backprop-derive[jax]'")
    import jax_zoo
    import numpy as np
    import numeric

    from derive.frameworks import jax_backward

    P = numeric.init_params(3, 4, 2, 1, seed=2)
    X, Y = np.linspace(-2, 2, 15).reshape(3, 5), np.array([[1.0, 0.0, 0.0, 1.0, 1.0]])
    got = jax_backward(jax_zoo.loss_untraceable)(P, X, Y)
    want = numeric.backward(P, X, Y, f="tanh", g="tanh")
    assert all(np.allclose(got[k], want[k], rtol=1e-12, atol=1e-15) for k in want)


def _fresh_processes():
    """Pids of running fresh-process servers (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"derive.frameworks.fresh import serve" in (entry / "cmdline").read_bytes():
                out.append(int(entry.name))
        except OSError:
            pass
    return out


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs Linux /proc to look for processes")
def test_a_hanging_jax_loss_times_out_and_leaves_no_process_behind():
    pytest.importorskip("jax", reason="JAX extra not installed: pip install 'backprop-derive[jax]'")
    import time

    import jax_zoo

    from derive.frameworks import jax_backward

    before = set(_fresh_processes())
    report = derive.check_backprop(jax_backward(jax_zoo.loss_hangs), f="tanh", g="tanh", max_examples=0,
                                   call_limit=5)
    assert not report.ok and "did not return within 5 s" in str(report), str(report)
    end = time.monotonic() + 10
    while set(_fresh_processes()) - before and time.monotonic() < end:
        time.sleep(0.1)
    assert not set(_fresh_processes()) - before  # the sandbox child's death ended its fresh process


@pytest.mark.slow
def test_jax_adapter_away_from_home_prepares_a_fresh_process_with_the_same_gradients():
    """What a forked child does (its pid differs from the adapter's home), without forking here."""
    pytest.importorskip("jax", reason="JAX extra not installed: pip install 'backprop-derive[jax]'")
    import jax_zoo
    import numpy as np
    import numeric

    from derive.frameworks import jax_backward

    P = numeric.init_params(3, 4, 2, 2, seed=3)
    X, Y = np.linspace(-2, 2, 15).reshape(3, 5), np.array([[1.0, 0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0, 0.0]])
    here = jax_backward(jax_zoo.loss_custom_tanh)
    away = jax_backward(jax_zoo.loss_custom_tanh)
    away._home = -1  # as if called in another process
    away.prepare_child()
    assert away._fresh is not None and away._fresh._loaded
    got, want = away(P, X, Y), here(P, X, Y)
    assert all(np.allclose(got[k], want[k], rtol=1e-13, atol=0) for k in want)
    away._fresh.close()
