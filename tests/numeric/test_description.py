"""numeric.Network: the plain description, and forward/cost/backward for any of them.

The costs are written again here from their textbook definitions (log of
the softmax quotient, squares of residuals) so that a convention mix-up in
numeric.general is caught by an independent formula.
"""

from __future__ import annotations

import numpy as np
import pytest

import numeric
from numeric import Network
from numeric.compare import compare_gradients, draw_network_problem
from numeric.errors import InputError, ShapeError, TargetRangeError


# ------------------------------------------------------------ the description
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"head": "softmax"}, "head must be one of"),
        ({"reduction": "avg"}, "reduction must be one of"),
        ({"mse": "pytorch"}, "mse must be one of"),
        ({"l2_convention": "1/m"}, "l2_convention must be one of"),
        ({"l2": -0.1}, "l2 must be a finite number"),
        ({"l2": float("nan")}, "l2 must be a finite number"),
        ({"widths": (4, 3), "activations": ("relu",)}, "1 activations were given"),
        ({"widths": (4, 0, 2), "activations": ("relu",)}, "positive integers"),
        ({"widths": (4,), "activations": ()}, "input and an output width"),
        ({"widths": ("d", "n", "q"), "activations": ("f",)}, "SymbolicNetwork"),
        ({"widths": (4, 3, 1), "activations": ("relu",), "head": "softmax-ce"}, "at least 2 outputs"),
        ({"activations": (None, "relu")}, "hidden layer 1 is not usable"),
    ],
    ids=["head", "reduction", "mse", "l2-convention", "l2-negative", "l2-nan", "count", "zero-width",
         "one-width", "symbolic-widths", "softmax-q1", "none-activation"],
)
def test_bad_descriptions_are_refused(kwargs, match):
    with pytest.raises(InputError, match=match):
        Network(**kwargs)


def test_default_is_the_article():
    net = Network()
    assert net.is_article and net.depth == 3 and net.head == "sigmoid-bce"
    assert net.parameter_names() == ("W1", "b1", "W2", "b2", "W3", "b3")
    assert Network(widths=(4, 3, 2, 1)).is_article
    assert not Network(l2=0.1).is_article


def test_description_is_hashable_plain_data():
    a = Network(widths=(784, 128, 10), activations=("relu",), head="softmax-ce")
    b = Network(widths=[784, 128, 10], activations=["relu"], head="softmax-ce")
    assert a == b and hash(a) == hash(b)
    assert a.describe() == "widths 784-128-10, relu, head softmax-ce, reduction mean"
    assert "mse torch: 1/(q m) sum (A - Y)^2" in Network(widths=(2, 2), activations=(), head="identity-mse",
                                                         mse="torch").describe()


def test_init_params_both_forms():
    P = numeric.init_params((5, 4, 3, 2, 6), seed=1)
    assert [P[f"W{l}"].shape for l in range(1, 5)] == [(4, 5), (3, 4), (2, 3), (6, 2)]
    assert P["b4"].shape == (6, 1)
    old = numeric.init_params(4, 3, 2, q=2, seed=1)
    new = numeric.init_params((4, 3, 2, 2), seed=1)
    assert all(np.array_equal(old[k], new[k]) for k in old)
    net = Network(widths=(3, 2), activations=())
    assert sorted(numeric.init_params(net)) == ["W1", "b1"]
    with pytest.raises(InputError, match="leaves its widths open"):
        numeric.init_params(Network())
    with pytest.raises(InputError, match="positive integer"):
        numeric.init_params((3, 0, 2))


# ------------------------------------------------------------ costs from definitions
def _reference_cost(P, X, Y, net):
    """The cost from its definition, sharing nothing with numeric.general."""
    A = X
    acts = [numeric.get_activation(a) for a in net.activations]
    for l in range(1, net.depth + 1):
        Z = P[f"W{l}"] @ A + P[f"b{l}"]
        A = acts[l - 1].value(Z) if l < net.depth else Z
    q, m = Z.shape
    N = m if net.reduction == "mean" else 1
    if net.head == "sigmoid-bce":
        S = 1 / (1 + np.exp(-Z))
        J = -np.sum(Y * np.log(S) + (1 - Y) * np.log(1 - S)) / N
    elif net.head == "softmax-ce":
        S = np.exp(Z) / np.exp(Z).sum(axis=0)
        J = -np.sum(Y * np.log(S)) / N
    else:
        out = 1 / (1 + np.exp(-Z)) if net.head == "sigmoid-mse" else Z
        sq = np.sum((out - Y) ** 2)
        J = sq / (2 * N) if net.mse == "half" else (sq / (q * m) if net.reduction == "mean" else sq)
    W2 = sum(np.sum(P[f"W{l}"] ** 2) for l in range(1, net.depth + 1))
    return J + (net.l2 / (2 * m) if net.l2_convention == "lambda/2m" else net.l2 / 2) * W2


CASES = [
    (head, red, mse, l2c)
    for head in numeric.HEADS
    for red in ("mean", "sum")
    for mse in (("half", "torch") if head.endswith("mse") else ("half",))
    for l2c in ("lambda/2m", "lambda/2")
]


@pytest.mark.parametrize(("head", "reduction", "mse", "l2c"), CASES, ids=["-".join(c) for c in CASES])
def test_cost_matches_definition_and_backward_matches_central_differences(head, reduction, mse, l2c):
    net = Network(widths=(3, 4, 2, 3), activations=("tanh", "swish"), head=head, reduction=reduction,
                  mse=mse, l2=0.3, l2_convention=l2c)
    P, X, Y = draw_network_problem(net, 5, seed=3)
    assert numeric.cost(P, X, Y, network=net) == pytest.approx(_reference_cost(P, X, Y, net), rel=1e-12)
    G = numeric.backward(P, X, Y, network=net)
    C = numeric.numerical_gradient(P, X, Y, network=net, method="central")
    assert max(compare_gradients(G, C, net.gradient_names()).values()) < 1e-6


def test_torch_mse_is_the_mean_over_all_entries():
    net = Network(widths=(2, 3), activations=(), head="identity-mse", mse="torch")
    P, X, Y = draw_network_problem(net, 4, seed=0)
    A = P["W1"] @ X + P["b1"]
    assert numeric.cost(P, X, Y, network=net) == pytest.approx(np.mean((A - Y) ** 2), rel=1e-14)


def test_article_description_takes_the_fast_path_with_the_same_result():
    P = numeric.init_params(4, 3, 2, q=2, seed=2)
    X, Y = np.random.default_rng(0).standard_normal((4, 6)), np.ones((2, 6))
    old = numeric.backward(P, X, Y, "tanh", "relu")
    for net in (Network(activations=("tanh", "relu")), Network(widths=(4, 3, 2, 2), activations=("tanh", "relu"))):
        new = numeric.backward(P, X, Y, network=net)
        assert all(np.array_equal(old[k], new[k]) for k in old)
    with pytest.raises(ShapeError, match="W1 has shape"):
        numeric.backward(P, X, Y, network=Network(widths=(4, 5, 2, 2), activations=("tanh", "relu")))
    with pytest.raises(InputError, match="not as f= and g="):
        numeric.backward(P, X, Y, "tanh", network=Network())


# ------------------------------------------------------------ softmax targets
def _softmax_problem():
    net = Network(widths=(3, 4), activations=(), head="softmax-ce")
    P, X, Y = draw_network_problem(net, 5, seed=1)
    return net, P, X, Y


def test_integer_labels_are_one_hot_at_the_boundary():
    net, P, X, Y = _softmax_problem()
    labels = np.argmax(Y, axis=0)
    G = numeric.backward(P, X, Y, network=net)
    for form in (labels, labels.reshape(1, -1)):
        H = numeric.backward(P, X, form, network=net)
        assert all(np.array_equal(G[k], H[k]) for k in G)
    with pytest.raises(TargetRangeError, match=r"Y\[2\] = 7 is not a class label in 0..3"):
        numeric.backward(P, X, np.array([0, 1, 7, 0, 0]), network=net)


def test_label_smoothing_is_accepted_and_other_sums_are_refused():
    net, P, X, Y = _softmax_problem()
    eps = 0.1
    smooth = Y * (1 - eps) + eps / Y.shape[0]
    G = numeric.backward(P, X, smooth, network=net)
    C = numeric.numerical_gradient(P, X, smooth, network=net, method="complex")
    assert max(compare_gradients(G, C, net.gradient_names()).values()) < 1e-12
    bad = smooth.copy()
    bad[0, 2] += 0.05
    with pytest.raises(TargetRangeError, match="column 2 sums to 1.05"):
        numeric.backward(P, X, bad, network=net)
    with pytest.raises(TargetRangeError, match=r"\[0, 1\] for softmax-ce"):
        numeric.cost(P, X, Y * 2 - 0.5, network=net)


def test_softmax_cost_is_stable_for_huge_logits():
    net = Network(widths=(1, 3), activations=(), head="softmax-ce")
    P = {"W1": np.array([[1.0], [0.0], [-1.0]]), "b1": np.zeros((3, 1))}
    X, Y = np.array([[1000.0, -1000.0]]), np.eye(3)[:, [2, 0]]
    J = numeric.cost(P, X, Y, network=net)
    assert J == pytest.approx(2000.0, rel=1e-12)  # log-sum-exp: 1000 - (-1000) per column, mean over 2
    G = numeric.backward(P, X, Y, network=net)
    assert all(np.isfinite(v).all() for v in G.values())


# ------------------------------------------------------------ the public strategy
from hypothesis import given, settings  # noqa: E402

from numeric.strategies import networks  # noqa: E402


@settings(max_examples=15)
@given(networks(max_depth=4))
def test_drawn_networks_run_forward_and_backward(net):
    P, X, Y = draw_network_problem(net, 3, seed=0)
    G = numeric.backward(P, X, Y, network=net)
    assert sorted(G) == sorted(net.gradient_names())
    assert net.head != "softmax-ce" or net.widths[-1] >= 2


@pytest.mark.parametrize(("kwargs", "match"), [({"heads": ("softmax",)}, "non-empty subset"),
                                               ({"max_depth": 0}, "max_depth must be a positive int"),
                                               ({"heads": ("softmax-ce",), "max_width": 1}, "max_width >= 2")],
                         ids=["head", "depth", "width"])
def test_network_strategy_validates_its_bounds(kwargs, match):
    with pytest.raises(ValueError, match=match):
        networks(**kwargs)
