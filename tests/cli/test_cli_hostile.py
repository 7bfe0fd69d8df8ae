"""The command line under hostile input: values that start with '-', blank
padding, an interrupt at any moment, an output that cannot be written."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from derive.cli import main

_ROOT = str(Path(__file__).resolve().parents[2])


# ---------------------------------------------------------------- values starting with '-'
def test_an_expression_starting_with_minus_is_the_expression(capsys):
    assert main(["check-activation", "-log(1+exp(-x))", "--no-network"]) == 0
    out = capsys.readouterr().out
    assert "check_activation: -log(1+exp(-x))  (variable x" in out and "RESULT: PASS" in out


def test_a_derivative_starting_with_minus_is_the_derivative(capsys):
    assert main(["check-activation", "exp(-x**2)", "--derivative", "-2*x*exp(-x**2)", "--no-network"]) == 0
    assert "claimed derivative -2*z*exp(-z**2): proven equal" in capsys.readouterr().out


def test_a_wrong_derivative_starting_with_minus_is_a_fault(capsys):
    assert main(["check-activation", "x**2", "--derivative", "-2*x", "--no-network"]) == 1


def test_a_bare_negated_variable_is_an_expression(capsys):
    assert main(["check-activation", "-x", "--no-network"]) == 0
    assert "f(z)  = -z" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["check-backprop", "m:f", "--widths", "-1,3,2"],
     "argument --widths: expected comma-separated positive integers, e.g. 4,3,1, got '-1,3,2'"),
    (["check-activation", "tanh", "--rtol", "-1e-6"],
     "argument --rtol: expected a relative tolerance in (0, 1) such as 1e-6, got '-1e-6'"),
    (["check-activation", "tanh", "--time-limit", "-.5"], "argument --time-limit: expected a positive"),
    (["check-activation", "tanh", "--seed", "-1"], "argument --seed: expected an integer seed"),
    (["train", "--hidden", "-3,2"], "argument --hidden:"),
])
def test_a_negative_value_gets_the_options_own_message(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "expected one argument" not in err, err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", [
    ["check-activation", "tanh", "-json"],  # a slip for --json stays an error
    ["check-activation", "tanh", "-j"],
    ["check-activation", "tanh", "--no-such-option"],
])
def test_a_slip_for_an_option_is_still_an_error(capsys, argv):
    assert main(argv) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["--help"], ["-h"], ["verify", "--help"], ["report", "-h"], ["check-activation", "--help"],
    ["check-backprop", "--help"], ["train", "--help"],
])
def test_help_still_works_everywhere(capsys, argv):
    assert main(argv) == 0
    assert "usage: backprop-derive" in capsys.readouterr().out


def test_after_a_double_dash_everything_is_positional(capsys):
    assert main(["check-activation", "--", "-x*2", ]) == 0
    assert "check_activation: -x*2" in capsys.readouterr().out


# ---------------------------------------------------------------- blanks around a formula
def test_blanks_around_the_expression_and_the_derivative_are_ignored(capsys):
    assert main(["check-activation", " tanh(x)", "--derivative", "\n    sech(x)**2\n", "--no-network"]) == 0
    out = capsys.readouterr().out
    assert "claimed derivative sech(z)**2: proven equal" in out


def test_a_parse_error_in_a_padded_derivative_names_the_derivative(capsys):
    assert main(["check-activation", "tanh(x)", "--derivative", "  sech(x $", "--no-network"]) == 2
    assert "error in --derivative" in capsys.readouterr().err


# ---------------------------------------------------------------- an output that cannot be written
class _Full(io.TextIOBase):
    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def flush(self) -> None:
        pass


def test_an_unwritable_output_is_one_line_not_an_internal_error(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", _Full())
    assert main(["check-activation", "tanh", "--no-network"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("backprop-derive: error: cannot write the output:") and "No space left" in err, err
    assert "internal error" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_output_to_dev_full_is_one_line_and_exit_2():
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "derive", "check-activation", "tanh", "--no-network"],
                              check=False, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120,
                              env=dict(os.environ, PYTHONPATH=_ROOT), cwd="/")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("backprop-derive: error: cannot write the output:"), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


# ---------------------------------------------------------------- an interrupt at any moment
_INTERRUPT_IN_IMPORT = r"""
import sys

class CtrlC:
    '''Ctrl-C while numpy is being imported (the first ~0.3 s of the command).'''
    def find_spec(self, name, path=None, target=None):
        if name == "numpy":
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, CtrlC())
sys.argv = ["backprop-derive", "check-activation", "tanh(x)"]
from derive.cli import main
sys.exit(main())
"""


def test_an_interrupt_while_the_command_imports_numpy_is_one_line_and_130():
    proc = subprocess.run([sys.executable, "-c", _INTERRUPT_IN_IMPORT], check=False, capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, PYTHONPATH=_ROOT), cwd="/")
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr == "backprop-derive: interrupted\n", proc.stderr


def test_an_interrupt_anywhere_in_the_command_is_one_line_and_130(monkeypatch, capsys):
    cli_main = sys.modules["derive.cli.main"]  # derive.cli.main is also the function's name

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main, "build_parser", interrupted)
    try:
        code = main(["check-activation", "tanh"])
    except KeyboardInterrupt:  # escaping, it would end this whole pytest session
        pytest.fail("KeyboardInterrupt escaped main()")
    assert code == 130
    assert capsys.readouterr().err == "backprop-derive: interrupted\n"
