"""derive.cli.options (argparse validators) and derive.cli.main's error handling."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from derive.cli import main, options


@pytest.mark.parametrize("validator, text, value", [
    (options.seed, "0", 0),
    (options.seed, " 42 ", 42),
    (options.seed, "4294967295", 2**32 - 1),
    (options.positive_int, "3", 3),
    (options.nonnegative_int, "0", 0),
    (options.finite_float, "-1.5", -1.5),
    (options.positive_float, "1e-3", 1e-3),
    (options.int_list, "784, 16,1", [784, 16, 1]),
    (options.int_list, "5", [5]),
], ids=lambda v: repr(v) if isinstance(v, str) else None)
def test_validators_accept(validator, text, value):
    assert validator(text) == value


@pytest.mark.parametrize("validator, text, message", [
    (options.seed, "-1", "integer seed from 0"),
    (options.seed, "1.5", "integer seed from 0"),
    (options.seed, str(2**32), "integer seed from 0"),
    (options.positive_int, "0", "positive integer"),
    (options.nonnegative_int, "-2", "integer >= 0"),
    (options.finite_float, "nan", "finite number"),
    (options.finite_float, "inf", "finite number"),
    (options.finite_float, "1+1", "finite number"),
    (options.positive_float, "-1", "positive finite number"),
    (options.positive_float, "0", "positive finite number"),
    (options.positive_float, "inf", "positive finite number"),
    (options.int_list, "4,,1", "comma-separated positive integers"),
    (options.int_list, "4,0", "comma-separated positive integers"),
    (options.int_list, "a,b", "comma-separated positive integers"),
])
def test_validators_refuse_with_one_line(validator, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message) as info:
        validator(text)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("argv", [
    ["verify", "--seed", "-1"],
    ["check-backprop", "m:f", "--seed", "nan"],
    ["check-backprop", "m:f", "--max-examples", "-3"],
    ["check-backprop", "m:f", "--call-limit", "0"],
    ["check-backprop", "m:f", "--layout", "diagonal"],
    ["no-such-command"],
])
def test_bad_options_exit_2_with_one_line(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err and "Traceback" not in err


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "check-backprop" in capsys.readouterr().out


@pytest.mark.slow
def test_a_closed_pipe_ends_quietly():
    """``backprop-derive check-backprop ... | head -1``: no BrokenPipeError, the verdict kept."""
    code = (
        "import sys\n"
        "from derive.cli import main\n"
        "sys.exit(main(['check-backprop', 'numeric.network:backward', '--max-examples', '0']))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader goes away before anything is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "BrokenPipe" not in err and "Traceback" not in err
