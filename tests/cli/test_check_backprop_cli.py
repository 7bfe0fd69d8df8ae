"""backprop-derive check-backprop: sealed against the user's module, layouts, JSON, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from derive.cli import main

HEADER = "import os, sys, time\nimport numpy as np\nimport numeric\n"
MODULES = {
    "exit_on_import": HEADER + "sys.exit(0)\ndef backward(P, X, Y):\n    return numeric.backward(P, X, Y)\n",
    "hard_exit_on_import": HEADER + "os._exit(0)\ndef backward(P, X, Y):\n    return numeric.backward(P, X, Y)\n",
    "raise_on_import": HEADER + "raise ImportError('needs torch')\n",
    "missing_dependency": HEADER + "import no_such_dependency_b2\n",
    "softmax_l2_forgotten": HEADER + textwrap.dedent("""
        def backward(P, X, Y):
            net = numeric.Network(activations=("relu",), head="softmax-ce", l2=0.01)
            G = dict(numeric.backward(P, X, Y, network=net))
            G["dW2"] = G["dW2"] - 0.01 / X.shape[1] * P["W2"]
            return G
        """),
    "softmax_right": HEADER + textwrap.dedent("""
        def backward(P, X, Y):
            net = numeric.Network(activations=("relu",), head="softmax-ce", l2=0.01)
            return numeric.backward(P, X, Y, network=net)
        """),
    "exit_in_call": HEADER + "def backward(P, X, Y):\n    sys.exit(0)\n",
    "nan_grad": HEADER + textwrap.dedent("""
        def backward(P, X, Y):
            G = dict(numeric.backward(P, X, Y))
            G["db1"] = G["db1"] * np.nan
            return G
        """),
    "rows_code": HEADER + textwrap.dedent("""
        def backward(params, X, Y):
            pairs = [(params["W1"], params["b1"]), (params["W2"], params["b2"]), (params["W3"], params["b3"])]
            m = X.shape[0]
            P = {k: v.T if k[0] == "W" else v.reshape(-1, 1) for k, v in params.items()}
            G = numeric.backward(P, X.T, Y.T)
            return {k: v.T if k[0] == "d" and k[1] == "W" else v.ravel() for k, v in G.items()}
        """),
}


@pytest.fixture
def modules(tmp_path, monkeypatch):
    for name, text in MODULES.items():
        (tmp_path / f"{name}.py").write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in MODULES:
        sys.modules.pop(name, None)


@pytest.mark.parametrize("module, message", [
    ("exit_on_import", "cannot import 'exit_on_import': SystemExit(0) (sys.exit) (at exit_on_import.py:4"),
    ("hard_exit_on_import", "ended the process (exit status 0"),
    ("raise_on_import", "ImportError: needs torch (at raise_on_import.py:4"),
    ("missing_dependency", "ModuleNotFoundError: No module named 'no_such_dependency_b2'"),
], ids=["sys.exit at import", "os._exit at import", "raise at import", "missing dependency"])
def test_an_import_that_exits_or_raises_is_a_finding_not_the_checkers_exit(modules, capsys, module, message):
    """Issue 11: the module's own code failing at import is a FAILED report (exit 1) with its traceback excerpt."""
    assert main(["check-backprop", f"{module}:backward", "--max-examples", "0"]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"check_backprop({module}:backward), f=swish, g=leaky_relu: FAILED -- the call "
                                   "itself (import failed)")
    assert message in captured.out and "[import failed]" in captured.out
    assert captured.err == "" and "Traceback" not in captured.out


def test_an_import_failure_in_json(modules, capsys):
    assert main(["check-backprop", "raise_on_import:backward", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["findings"]["backward"]["kind"] == "import failed"
    assert "needs torch" in data["findings"]["backward"]["message"]


@pytest.mark.parametrize("target, message", [
    ("no_such_module_b2:backward", "cannot import 'no_such_module_b2': ModuleNotFoundError"),
    ("nan_grad:no_such_function", "'nan_grad' has no attribute 'no_such_function'"),
    ("no_such_file_b2.py:backward", "no such file: no_such_file_b2.py"),
], ids=["no module", "no name", "no file"])
def test_a_module_or_name_that_does_not_exist_stays_unusable_input(modules, capsys, target, message):
    assert main(["check-backprop", target, "--max-examples", "0"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_an_exit_in_the_call_is_a_failed_check(modules, capsys):
    assert main(["check-backprop", "exit_in_call:backward", "--max-examples", "0"]) == 1
    out = capsys.readouterr().out
    assert "FAILED -- the call itself (exited)" in out and "exit_in_call.py:5 in backward: sys.exit(0)" in out


def test_json_is_strict_and_numbers_are_plain(modules, capsys):
    assert main(["check-backprop", "nan_grad:backward", "--json", "--max-examples", "0"]) == 1
    text = capsys.readouterr().out
    data = json.loads(text)  # strict: NaN would be written as NaN, which is not JSON
    assert "NaN" not in text and data["schema"] == 2
    assert data["findings"]["db1"]["kind"] == "nonfinite" and "holds nan" in data["findings"]["db1"]["message"]
    assert data["all_findings"]["db1"][0] == data["findings"]["db1"]


def test_layout_option(modules, capsys):
    assert main(["check-backprop", "rows_code:backward", "--max-examples", "0"]) == 2
    assert "pass layout='rows' (CLI --layout rows)" in capsys.readouterr().err
    assert main(["check-backprop", "rows_code:backward", "--layout", "rows", "--max-examples", "3"]) == 0
    assert "layout=rows: ok" in capsys.readouterr().out


def test_float32_option(modules, capsys):
    assert main(["check-backprop", "rows_code:backward", "--layout", "rows", "--dtype", "float32",
                 "--max-examples", "0"]) == 0  # float32 inputs, computed in float64: fine
    out = capsys.readouterr().out
    assert "dtype=float32: ok" in out and "tolerance: |yours - truth| <= 5e-04 S" in out


def test_the_console_script_pipes_into_head_quietly(modules):
    proc = subprocess.run(f"{sys.executable} -m derive check-backprop nan_grad:backward --max-examples 0 | head -1",
                          shell=True, capture_output=True, text=True, timeout=120, cwd=modules)
    assert proc.stdout.startswith("check_backprop(backward)") and proc.stderr == ""


NET = ["--widths", "12,7,4", "--activations", "relu", "--head", "softmax-ce", "--l2", "0.01"]


def test_a_network_description(modules, capsys):
    assert main(["check-backprop", "softmax_right:backward", *NET, "--max-examples", "3"]) == 0
    out = capsys.readouterr().out
    assert "network widths 12-7-4, relu, head softmax-ce, reduction mean, l2 0.01" in out
    assert "all 4 gradients match" in out and "your widths" in out
    assert main(["check-backprop", "softmax_l2_forgotten:backward", *NET, "--max-examples", "3", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["wrong"] == ["dW2"] and data["findings"]["dW2"]["kind"] == "L2 forgotten"
    assert data["network"]["head"] == "softmax-ce" and data["network"]["widths"] == [12, 7, 4]


@pytest.mark.parametrize("options, message", [
    (["--head", "softmax-ce"], "--head describes a network: give its widths too"),
    (["--widths", "3"], "--widths needs an input and an output width"),
    (["--widths", "3,0,2"], "argument --widths: expected comma-separated positive integers"),
    (["--widths", "3,4,2", "--activations", "relu,tanh"], "--activations: 2 names for 1 hidden layer"),
    (["--widths", "3,2", "--activations", "relu"], "no hidden layer"),
    (["--widths", "3,4,2", "--activations", "nosuch"], "catalog names as the network's activations"),
    (["--widths", "3,4,2", "--l2", "-1"], "--l2: expected a finite number >= 0"),
    (["--widths", "3,4,2", "--l2", "nan"], "argument --l2: expected a finite number"),
    (["--widths", "3,4,2", "--l2-convention", "lambda/2"], "--l2-convention needs --l2 LAMBDA > 0"),
    (["--widths", "3,4,2", "--mse-convention", "torch"], "--mse-convention applies to the MSE heads"),
    (["--widths", "3,4,2", "--head", "softmax"], "argument --head: invalid choice"),
    (["--widths", "3,4,2", "--f", "relu"], "--f and --g name the article's activations"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_network_options_exit_2_with_one_line(modules, capsys, options, message):
    assert main(["check-backprop", "softmax_right:backward", *options, "--max-examples", "0"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_the_cli_choices_are_the_librarys_and_help_loads_no_sympy():
    import derive.backprop_check.layout as layout
    import derive.cli.check_backprop as cli
    from numeric.description import Network

    assert (cli.LAYOUTS, cli.PARAMS_AS, cli.DTYPES) == (layout.LAYOUTS, layout.PARAMS_AS, layout.DTYPES)
    for head in cli.HEADS:
        assert Network(head=head).head == head
    for reduction, mse, conv in zip(cli.REDUCTIONS, cli.MSE_CONVENTIONS, cli.L2_CONVENTIONS):
        Network(reduction=reduction, mse=mse, l2=0.1, l2_convention=conv)
    code = "import sys; from derive.cli.main import build_parser; build_parser(); print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
