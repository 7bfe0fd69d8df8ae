"""The per-call time limit: a hanging user function becomes a ``call`` finding naming the call."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from derive.frameworks.limit import CallTimeout, Limited


class _Runner:
    framework = "test"

    def __init__(self, forward):
        self.forward_fn = forward

    def forward(self, xs):
        return self.forward_fn(xs)


def _spin(xs):
    while True:
        pass


def _stubborn(xs):
    """Catches everything, even the checker's request to stop, and keeps going for a while."""
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        try:
            while time.monotonic() < end:
                pass
        except BaseException:  # noqa: BLE001
            pass
    return xs


def _gone(prefix="derive-frameworks-", wait=10.0):
    end = time.monotonic() + wait
    while time.monotonic() < end:
        if not any(t.name.startswith(prefix) and t.is_alive() for t in threading.enumerate()):
            return True
        time.sleep(0.05)
    return False


def test_a_call_in_time_returns_its_value_and_a_raise_passes_through():
    """Negative control: the limit changes nothing for a call that returns (or raises) in time."""
    limited = Limited(_Runner(lambda xs: xs * 2), call_limit=30)
    assert np.array_equal(limited.forward(np.arange(3.0)), [0.0, 2.0, 4.0])
    with pytest.raises(ZeroDivisionError, match="user"):
        Limited(_Runner(lambda xs: (_ for _ in ()).throw(ZeroDivisionError("user"))), call_limit=30).forward(1)


@pytest.mark.parametrize("fn", [_spin, _stubborn], ids=["spins", "swallows-the-stop"])
def test_a_hang_raises_call_timeout_naming_the_call_and_the_thread_ends(fn):
    with pytest.raises(CallTimeout, match=r"^forward did not return within 0\.2 s$") as err:
        Limited(_Runner(fn), call_limit=0.2).forward(np.zeros(2))
    assert (err.value.what, err.value.limit) == ("forward", 0.2)
    assert _gone(), "the overrunning thread is still running"


def test_a_hanging_torch_forward_is_a_call_finding_and_nothing_is_called_after_it():
    torch = pytest.importorskip("torch", reason="PyTorch extra not installed: pip install 'backprop-derive[torch]'")
    from derive.frameworks import check_torch_activation

    calls = []

    def hangs(x):
        calls.append(1)
        while True:
            pass

    report = check_torch_activation("tanh", hangs, call_limit=0.3)
    assert not report.ok and [f.piece for f in report.findings] == ["call"], str(report)
    assert report.findings[0].message.startswith("forward did not return within 0.3 s (call_limit)")
    assert report.findings[0].message.endswith("float32 not checked")
    assert len(calls) == 1 and _gone()
    assert str(report) == str(check_torch_activation("tanh", hangs, call_limit=0.3))  # no measured time in it
    assert check_torch_activation("tanh", torch.tanh, dtypes=("float64",), call_limit=30).ok


@pytest.mark.slow
def test_a_hanging_torch_backward_is_named_after_forward_passed():
    torch = pytest.importorskip("torch", reason="PyTorch extra not installed: pip install 'backprop-derive[torch]'")
    from derive.frameworks import check_torch_activation

    class TanhBackwardHangs(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return torch.tanh(x)

        @staticmethod
        def backward(ctx, grad):
            while True:
                try:
                    while True:
                        pass
                except Exception:  # noqa: BLE001 - the user's; the checker's stop is not an Exception
                    pass

    report = check_torch_activation("tanh", TanhBackwardHangs.apply, dtypes=("float64",), call_limit=5)
    assert [f.piece for f in report.findings] == ["call"], str(report)
    assert report.findings[0].message.startswith("backward did not return within 5 s")
    assert _gone()


@pytest.mark.slow
def test_a_jax_function_that_hangs_while_traced_is_a_call_finding():
    pytest.importorskip("jax", reason="JAX extra not installed: pip install 'backprop-derive[jax]'")
    from derive.frameworks import check_jax_activation

    def hangs(x):
        while True:
            pass

    report = check_jax_activation("tanh", hangs, call_limit=2)
    assert [f.piece for f in report.findings] == ["call"], str(report)
    assert report.findings[0].message.startswith("forward did not return within 2 s")
    assert _gone()


@pytest.mark.slow
def test_a_float32_only_hang_is_a_call_finding_not_a_dtype_fault():
    torch = pytest.importorskip("torch", reason="PyTorch extra not installed: pip install 'backprop-derive[torch]'")
    from derive.frameworks import check_torch_activation

    def hangs_in_float32(x):
        while x.dtype == torch.float32:
            pass
        return torch.tanh(x)

    report = check_torch_activation("tanh", hangs_in_float32, call_limit=5)
    fails = [f for f in report.findings if f.severity == "FAIL"]
    assert [(f.piece, f.dtype) for f in fails] == [("call", "float32")], str(report)
    assert _gone()
