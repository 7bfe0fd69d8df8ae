"""The command line: backprop-derive verify, help, exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from derive.cli import main


@pytest.mark.slow
def test_verify_runs_and_passes(capsys):
    code = main(["verify", "--f", "tanh", "--g", "relu"])
    out, err = capsys.readouterr()
    assert code == 0, out
    assert "RESULT: all checks passed" in out
    assert "dW1 = dZ1 X^T / m" in out and "(W3^T dZ3) * g'(Z2)" in out
    assert "level 1 (exact)" in out
    assert "f=swish, g=leaky_relu" in out and "f=tanh, g=relu" in out
    assert "lambdified vs hand-written" in out and "hand-written vs central differences" in out
    assert "[backprop-derive] prove:" in err  # progress goes to stderr


def test_verify_reports_failure_with_nonzero_exit(monkeypatch, capsys):
    """Negative control: a broken hand-written side makes verify fail."""
    import numeric.network

    real = numeric.network.backward

    def broken(*args, **kwargs):
        grads = real(*args, **kwargs)
        grads["db1"] = grads["db1"] * 2
        return grads

    monkeypatch.setattr(numeric, "backward", broken)
    assert main(["verify"]) == 1
    assert "FAILURE" in capsys.readouterr().out


def test_unknown_activation_exits_2(capsys):
    assert main(["verify", "--f", "swishh"]) == 2
    err = capsys.readouterr().err
    assert "unknown activation 'swishh'" in err and "known: sigmoid" in err


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "verify" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["-m", "derive", "--help"], ["-m", "derive", "verify", "--help"]])
def test_python_dash_m_help(argv):
    out = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "backprop-derive" in out.stdout
