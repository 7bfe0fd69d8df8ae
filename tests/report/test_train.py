"""The digits task: vendored data, two runs from one start, gradient checks,
the report section and the ``train`` command."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

import derive.train as training
from derive.report.training import loss_csv, render_training
from derive.train import TrainConfig, load_digits, split, train
from numeric.errors import BackpropDeriveError, InputError

DATA = Path(training.__file__).parent / "data"


@pytest.fixture(scope="module")
def short():
    return train(TrainConfig(epochs=6))


def test_vendored_digits_are_the_0_and_1_images_with_attribution():
    X, labels = load_digits()
    assert X.shape == (64, 360) and labels.shape == (360,)
    assert (int(np.sum(labels == 0)), int(np.sum(labels == 1))) == (178, 182)
    assert X.min() == 0.0 and X.max() == 1.0 and np.all(X * 16 == np.round(X * 16))
    # a 0 has an empty centre and a ring around it; a 1 is a vertical stroke through the centre
    zero, one = X[:, labels == 0].mean(axis=1).reshape(8, 8), X[:, labels == 1].mean(axis=1).reshape(8, 8)
    assert zero[3:5, 3:5].mean() < one[3:5, 3:5].mean()
    text = (DATA / "ATTRIBUTION.md").read_text()
    assert "CC BY 4.0" in text and "Alpaydin" in text and "Kaynak" in text
    assert (DATA / "digits01.csv.gz").stat().st_size < 20_000


def test_split_holds_out_every_fourth_image():
    X, labels = load_digits()
    Xtr, Ytr, Xte, Yte = split(X, labels)
    assert Xtr.shape == (64, 270) and Xte.shape == (64, 90) and Ytr.shape == (1, 270) and Yte.shape == (1, 90)
    assert np.array_equal(Xte[:, 0], X[:, 3])


def test_two_runs_agree_and_the_cost_falls(short):
    assert short.ok, short.failures()
    assert short.loss_derived[-1] < 0.6 * short.loss_derived[0]
    assert short.max_loss_diff <= 1e-12 and short.max_grad_diff <= 1e-12
    assert [c.epoch for c in short.checkpoints] == [0, 3, 6]


def test_a_wrong_gradient_is_caught(monkeypatch):
    """Negative control: dW3 doubled on the derived side fails every comparison."""
    real = training.gradient_function

    def wrong(f, g):
        fn = real(f, g)

        def call(P, X, Y):
            out = dict(fn(P, X, Y))
            out["dW3"] = 2 * out["dW3"]
            return out

        return call

    monkeypatch.setattr(training, "gradient_function", wrong)
    result = train(TrainConfig(epochs=2))
    failures = result.failures()
    assert any("gradients differ" in f for f in failures)
    assert any("gradient check at epoch 0" in f for f in failures)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"epochs": 0}, "epochs"), ({"rate": -1.0}, "learning rate"), ({"hidden": (4, 0)}, "hidden"),
     ({"f": "nope"}, "nope")],
    ids=["epochs", "rate", "hidden", "activation"],
)
def test_bad_configs_are_refused(kwargs, match):
    with pytest.raises(BackpropDeriveError, match=match):
        TrainConfig(**kwargs)


def test_section_and_csv(short):
    tex = render_training(short)
    assert "\\label{sec:training}" in tex and "\\label{fig:training}" in tex and "\\label{tab:training}" in tex
    assert "ylabel={training cost $J$}" in tex and "xlabel={epoch" in tex
    assert r"\failed" not in tex and "CC BY 4.0" in tex
    csv = loss_csv(short).splitlines()
    assert csv[0] == "epoch,loss_derived,loss_numeric" and len(csv) == 8
    assert csv[1].startswith("0,0.69")


def _parser() -> argparse.ArgumentParser:
    from derive.cli import train as cmd

    parser = argparse.ArgumentParser(prog="backprop-derive")
    cmd.register(parser.add_subparsers(dest="command"))
    return parser


def test_train_command_writes_the_csv_with_a_progress_bar(tmp_path, capsys):
    args = _parser().parse_args(["train", "--epochs", "4", "--out", str(tmp_path), "--no-pdf"])
    assert args.run(args) == 0
    out, err = capsys.readouterr()
    assert (tmp_path / "train-swish-leaky_relu.csv").read_text().count("\n") == 6
    assert "held-out accuracy" in out and str(tmp_path / "train-swish-leaky_relu.csv") in out
    assert "[backprop-derive] train: [" in err and "4/4 epochs" in err


@pytest.mark.parametrize("argv", [["--hidden", "4,3,2"], ["--epochs", "0"], ["--rate", "nan"], ["--seed", "-1"]],
                         ids=["three-widths", "zero-epochs", "nan-rate", "negative-seed"])
def test_train_command_refuses_bad_options(argv, tmp_path, capsys):
    parser = _parser()
    try:
        args = parser.parse_args(["train", "--out", str(tmp_path), *argv])
    except SystemExit as exc:
        assert exc.code == 2
        assert "error: argument" in capsys.readouterr().err
        return
    with pytest.raises(InputError, match="--hidden takes two widths"):
        args.run(args)
    assert list(tmp_path.iterdir()) == []


def test_central_differences_leave_out_examples_at_a_kink(monkeypatch):
    """At epoch 1 of the default start a pre-activation sits near leaky_relu's
    kink: with the examples near kinks left out the check passes; with none
    left out (margin 0) the difference across the kink fails it."""
    result = train(TrainConfig(epochs=2))
    at1 = result.checkpoints[1]
    assert at1.epoch == 1 and at1.fd_examples < result.n_train and at1.ok
    monkeypatch.setattr(training, "KINK_MARGIN", 0.0)
    naive = train(TrainConfig(epochs=2)).checkpoints[1]
    assert naive.fd_examples == result.n_train and not naive.ok
    assert naive.derived_vs_numeric <= training.SAME_TOL  # the gradients themselves agree
