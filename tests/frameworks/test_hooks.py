"""check_activation(torch_function=...) and check-activation --torch: the framework checks reached
from the activation checker, the CLI and the plugin (the ISRLU case of pytorch/pytorch#4355)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch", reason="the torch extra is not installed (pip install -e '.[torch]')")

ISRLU = "where(z >= 0, z, z / sqrt(1 + z**2))"

ACTS = textwrap.dedent('''
    import torch

    class Isrlu(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            neg = x.clamp(max=0)
            return torch.where(x >= 0, x, neg * torch.rsqrt(1 + neg * neg))

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            neg = x.clamp(max=0)
            return grad_output * torch.where(x >= 0, torch.ones_like(x), torch.rsqrt(1 + neg * neg) ** 3)

    class IsrluForgetsGrad(Isrlu):
        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            neg = x.clamp(max=0)
            return torch.where(x >= 0, torch.ones_like(x), torch.rsqrt(1 + neg * neg) ** 3)

    good = Isrlu.apply
    bad = IsrluForgetsGrad.apply
''')


@pytest.fixture(scope="module")
def acts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("acts")
    (folder / "acts.py").write_text(ACTS)
    sys.path.insert(0, str(folder))
    try:
        import acts as module

        yield folder, module
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("acts", None)


def test_check_activation_fails_a_forgotten_upstream_factor(acts):
    import derive

    _, module = acts
    report = derive.check_activation(ISRLU, torch_function=module.bad, network=False)
    assert not report.ok
    assert any("upstream-gradient factor" in f for f in report.faults)
    assert report.to_dict()["frameworks"][0]["framework"] == "torch"
    assert "check_torch_activation" in str(report)


def test_check_activation_passes_the_correct_function(acts):
    """Negative control of the test above: the same Function with the factor passes."""
    import derive

    _, module = acts
    report = derive.check_activation(ISRLU, torch_function=module.good, network=False)
    assert report.ok, report.faults
    assert report.frameworks and report.frameworks[0].ok


@pytest.mark.slow
@pytest.mark.parametrize("name, code", [("bad", 1), ("good", 0), ("missing", 2)])
def test_cli_torch_option_exit_codes(acts, name, code):
    folder, _ = acts
    proc = subprocess.run([sys.executable, "-m", "derive", "check-activation", ISRLU, "--no-network",
                           "--torch", f"acts:{name}"], cwd=folder, capture_output=True, text=True, timeout=300)
    assert proc.returncode == code, proc.stderr
    if code == 2:
        assert len(proc.stderr.strip().splitlines()) == 1 and "has no attribute" in proc.stderr
