"""torch_backward / jax_backward: a network's autograd as the hand-written side of check_backprop."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="PyTorch extra not installed: pip install 'backprop-derive[torch]'")
sys.path.insert(0, str(Path(__file__).parent))

from torch_zoo import BUGGY, CORRECT  # noqa: E402

import derive  # noqa: E402
from derive.frameworks import torch_backward  # noqa: E402


class _Act(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _net(f, g):
    return torch.nn.Sequential(torch.nn.Linear(4, 3), _Act(f), torch.nn.Linear(3, 2), _Act(g), torch.nn.Linear(2, 1))


def test_correct_custom_function_inside_a_module_passes():
    net = _net(CORRECT["tanh"][1].apply, CORRECT["sigmoid"][1].apply)
    report = derive.check_backprop(torch_backward(net), f="tanh", g="sigmoid", max_examples=5)
    assert report.ok, str(report)


def test_buggy_custom_function_inside_a_module_is_caught():
    """Negative control: the sign slip in the tanh Function makes dW1 and db1 wrong."""
    net = _net(BUGGY["sign slip (tanh)"][1].apply, CORRECT["sigmoid"][1].apply)
    report = derive.check_backprop(torch_backward(net), f="tanh", g="sigmoid", max_examples=5)
    assert not report.ok
    assert "dW1" in report.wrong and "dW3" not in report.wrong


def test_module_with_wrong_parameter_count_is_refused():
    with pytest.raises(derive.InputError, match="six"):
        torch_backward(torch.nn.Linear(3, 2))
