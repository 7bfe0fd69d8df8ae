"""check_torch_activation: correct and buggy autograd Functions (see torch_zoo.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="PyTorch extra not installed: pip install 'backprop-derive[torch]'")
sys.path.insert(0, str(Path(__file__).parent))  # robust to pytest's import mode

from torch_zoo import BUGGY, CORRECT, DIAGNOSIS, ISRLU, IsrluForgetsGrad  # noqa: E402

from derive.frameworks import check_torch_activation  # noqa: E402
from numeric.errors import InputError  # noqa: E402

FAST = ("relu", "tanh", "isrlu")


def test_isrlu_forgotten_grad_output_pytorch_4355():
    """pytorch/pytorch#4355: the backward forgets grad_output; the finding names it, with an input."""
    report = check_torch_activation(ISRLU, IsrluForgetsGrad.apply)
    assert not report.ok
    first = report.findings[0]
    assert (first.severity, first.piece) == ("FAIL", "upstream-gradient factor")
    assert "ignores the upstream gradient (grad_output)" in first.message
    assert first.x is not None and first.upstream is not None and first.upstream != 1.0
    assert "broadcasting" not in report.pieces  # the ones-upstream probes compare with its own backward of ones
    assert str(report) == str(check_torch_activation(ISRLU, IsrluForgetsGrad.apply))  # deterministic text
    json.dumps(report.to_dict())
    assert check_torch_activation(ISRLU, CORRECT["isrlu"][1].apply).ok  # the correct one passes


@pytest.mark.parametrize("name", FAST)
def test_correct_functions_pass(name):
    spec, fn = CORRECT[name]
    report = check_torch_activation(spec, fn.apply)
    assert report.ok, str(report)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CORRECT))
def test_every_correct_function_passes(name):
    spec, fn = CORRECT[name]
    report = check_torch_activation(spec, fn.apply)
    assert report.ok, str(report)


SLOW_BUGS = {"second derivative: saved intermediate treated as constant (mish)",
             "derivative from output applied to input (sigmoid)"}


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c in SLOW_BUGS else c
                                  for c in sorted(BUGGY)])
def test_buggy_functions_are_caught_and_named(case):
    spec, fn, piece = BUGGY[case]
    report = check_torch_activation(spec, fn.apply)
    assert not report.ok
    assert piece in report.pieces, str(report)
    assert DIAGNOSIS[case] in str(report)


def test_float32_only_failure_is_a_dtype_finding_and_float64_alone_passes():
    spec, fn, _ = BUGGY["float32-only overflow (softplus)"]
    assert check_torch_activation(spec, fn.apply, dtypes=("float64",)).ok
    report = check_torch_activation(spec, fn.apply)
    assert report.pieces == ["dtype"] and report.findings[0].dtype == "float32"


def test_other_kink_side_is_a_convention_note_not_a_failure():
    relu_ge = type("ReluGe", (torch.autograd.Function,), {
        "forward": staticmethod(lambda ctx, x: (ctx.save_for_backward(x), x.clamp(min=0))[1]),
        "backward": staticmethod(lambda ctx, g: g * (ctx.saved_tensors[0] >= 0).to(g.dtype)),
    })
    report = check_torch_activation("relu", relu_ge.apply)
    assert report.ok, str(report)
    assert any(f.piece == "kink convention" and "right-hand derivative 1" in f.message for f in report.findings)


def test_exceptions_from_user_code_become_findings():
    def broken(x):
        raise ZeroDivisionError("user bug")

    def exits(x):
        raise SystemExit(3)

    for fn in (broken, exits):
        report = check_torch_activation("tanh", fn, dtypes=("float64",))
        assert not report.ok and report.findings[0].piece == "forward"


def test_builtin_torch_tanh_passes_and_negative_control_fails():
    assert check_torch_activation("tanh", torch.tanh, dtypes=("float64",)).ok
    assert not check_torch_activation("tanh", torch.sigmoid, dtypes=("float64",)).ok


@pytest.mark.parametrize("kw, match", [
    ({"dtypes": ("float16",)}, "dtypes"), ({"rtol": -1}, "rtol"), ({"seed": -2}, "seed")], ids=["dtype", "rtol", "seed"])
def test_bad_options_name_the_fix(kw, match):
    with pytest.raises(InputError, match=match):
        check_torch_activation("tanh", torch.tanh, **kw)


class _TanhSavesOutput(torch.autograd.Function):
    """A correct tanh that saves its output for backward (1 - y^2)."""

    @staticmethod
    def forward(ctx, x):
        y = torch.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1 - y * y)


def _tanh_then_clamp_in_place(x):
    """The caller modifies the saved output in place after the Function returned (values unchanged)."""
    y = _TanhSavesOutput.apply(x)
    y.clamp_(-1.0, 1.0)
    return y


def test_saved_output_modified_in_place_after_the_call_is_torchs_version_counter_error_named():
    assert check_torch_activation("tanh", _TanhSavesOutput.apply, dtypes=("float64",)).ok  # negative control
    report = check_torch_activation("tanh", _tanh_then_clamp_in_place, dtypes=("float64",))
    assert not report.ok and report.pieces == ["in-place"], str(report)
    first = report.findings[0]
    assert first.message.startswith("a tensor saved with ctx.save_for_backward was modified in place after it was "
                                    "saved (torch's version-counter check fails in backward)"), str(report)
    assert "inplace operation" not in str(report)  # torch's own wording is translated, not passed through
