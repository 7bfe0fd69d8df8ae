"""Strength tests for numeric.description (the Network description) and
numeric.general (forward, cost and backward for any description).

Costs are checked against the textbook formulas written plainly here, and
gradients against central differences of those costs, for every head,
reduction, MSE convention and L2 convention.  Written to kill the mutants
that survived ``python tools/mutate.py --area numeric``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import numeric
from numeric import InputError, NonFiniteError, ShapeError, TargetRangeError
from numeric.description import HEADS, Network
from numeric.general import l2_rate, output_scale

WIDTHS = (3, 4, 3, 3)  # d, n, p, q
M = 5


def _problem(head: str, widths=WIDTHS, m=M, seed=0):
    rng = np.random.default_rng(seed)
    P = numeric.init_params(widths, seed=seed)
    P = {k: v + 0.3 * rng.standard_normal(v.shape) for k, v in P.items()}
    X = rng.standard_normal((widths[0], m))
    q = widths[-1]
    if head == "softmax-ce":
        Y = np.zeros((q, m))
        Y[rng.integers(0, q, m), np.arange(m)] = 1.0
    elif head == "sigmoid-bce":
        Y = (rng.random((q, m)) < 0.5).astype(float)
    else:
        Y = rng.standard_normal((q, m))  # regression targets: any real value
    return P, X, Y


def _plain_cost(P, X, Y, net: Network) -> float:
    """The module docstring's table, written directly (logs and exps, no tricks)."""
    A = X
    L = net.depth
    for layer in range(1, L + 1):
        Z = P[f"W{layer}"] @ A + P[f"b{layer}"]
        if layer < L:
            A = numeric.get_activation(net.activations[layer - 1]).value(Z)
    q, m = Z.shape
    N = m if net.reduction == "mean" else 1
    if net.head == "sigmoid-bce":
        A = 1 / (1 + np.exp(-Z))
        J = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / N
    elif net.head == "softmax-ce":
        A = np.exp(Z) / np.exp(Z).sum(axis=0)
        J = -np.sum(Y * np.log(A)) / N
    else:
        A = 1 / (1 + np.exp(-Z)) if net.head == "sigmoid-mse" else Z
        sq = np.sum((A - Y) ** 2)
        if net.mse == "half":
            J = sq / (2 * N)
        else:
            J = sq / (q * m) if net.reduction == "mean" else sq
    W2 = sum(np.sum(P[f"W{layer}"] ** 2) for layer in range(1, L + 1))
    if net.l2:
        J += (net.l2 / (2 * m) if net.l2_convention == "lambda/2m" else net.l2 / 2) * W2
    return float(J)


def _central(P, X, Y, net, h=1e-6):
    out = {}
    for k, v in P.items():
        g = np.empty_like(v)
        for idx in np.ndindex(v.shape):
            plus = {**P, k: v.copy()}
            minus = {**P, k: v.copy()}
            plus[k][idx] += h
            minus[k][idx] -= h
            g[idx] = (_plain_cost(plus, X, Y, net) - _plain_cost(minus, X, Y, net)) / (2 * h)
        out["d" + k] = g
    return out


CONFIGS = [
    dict(head=h, reduction=r, mse=s, l2=l2, l2_convention=c)
    for h, r in itertools.product(HEADS, ("mean", "sum"))
    for s in (("half", "torch") if h.endswith("mse") else ("half",))
    for l2, c in ((0.0, "lambda/2m"), (0.7, "lambda/2m"), (0.7, "lambda/2"))
]
IDS = [f"{c['head']}-{c['reduction']}-{c['mse']}-l2={c['l2']}-{c['l2_convention']}" for c in CONFIGS]


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_cost_and_gradients_of_every_description(config):
    net = Network(WIDTHS, ("tanh", "sigmoid"), **config)
    P, X, Y = _problem(config["head"])
    J = numeric.cost(P, X, Y, network=net)
    assert J == pytest.approx(_plain_cost(P, X, Y, net), rel=1e-12)
    grads = numeric.backward(P, X, Y, network=net, return_dZ=True)
    fd = _central(P, X, Y, net)
    for k in fd:
        np.testing.assert_allclose(grads[k], fd[k], rtol=1e-6, atol=1e-8, err_msg=k)
    # dZ_l = N dJ/dZ_l: the last layer's, from its definition
    cache = numeric.forward(P, X, network=net)
    A_L = cache["A3"]
    c = output_scale(net, WIDTHS[-1])
    want = c * (A_L - Y) * (A_L * (1 - A_L) if config["head"] == "sigmoid-mse" else 1.0)
    np.testing.assert_allclose(grads["dZ3"], want, rtol=1e-13, atol=1e-15)
    N = M if config["reduction"] == "mean" else 1
    np.testing.assert_allclose(grads["db3"], grads["dZ3"].sum(axis=1, keepdims=True) / N, rtol=1e-13)


def test_scales_and_rates():
    assert output_scale(Network(head="identity-mse", mse="torch"), 4) == 0.5
    assert output_scale(Network(head="identity-mse", mse="torch", reduction="sum"), 4) == 2.0
    assert output_scale(Network(head="sigmoid-mse", mse="half"), 4) == 1.0
    assert output_scale(Network(head="softmax-ce", mse="torch"), 4) == 1.0
    assert l2_rate(Network(l2=0.6), 3) == pytest.approx(0.2)
    assert l2_rate(Network(l2=0.6, l2_convention="lambda/2"), 3) == 0.6


def test_a_deeper_network_and_the_forward_cache():
    net = Network((2, 3, 4, 3, 2), ("relu", "tanh", "swish"), head="sigmoid-bce")
    P, X, Y = _problem("sigmoid-bce", widths=(2, 3, 4, 3, 2), seed=4)
    cache = numeric.forward(P, X, network=net)
    assert sorted(cache) == ["A1", "A2", "A3", "A4", "Z1", "Z2", "Z3", "Z4"]
    np.testing.assert_allclose(cache["A4"], 1 / (1 + np.exp(-cache["Z4"])), rtol=1e-14)
    np.testing.assert_allclose(cache["Z2"], P["W2"] @ cache["A1"] + P["b2"], rtol=1e-14)
    grads = numeric.backward(P, X, Y, network=net)
    assert list(grads) == ["dW1", "db1", "dW2", "db2", "dW3", "db3", "dW4", "db4"]
    fd = _central(P, X, Y, net)
    for k in fd:
        np.testing.assert_allclose(grads[k], fd[k], rtol=1e-6, atol=1e-8, err_msg=k)


def test_article_description_takes_the_article_path_and_agrees():
    P, X, Y = _problem("sigmoid-bce", widths=(3, 4, 3, 1))
    a = numeric.backward(P, X, Y, network=Network())
    b = numeric.backward(P, X, Y, "swish", "leaky_relu")
    for k in b:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-13, atol=1e-16)
    # fixed article widths that disagree with the arrays: the generic path names the array
    with pytest.raises(ShapeError, match=r"X has shape \(3, 5\), expected \(4, m\)"):
        numeric.backward(P, X, Y, network=Network((4, 4, 3, 1)))


def test_softmax_outputs_sum_to_one_even_for_huge_logits():
    net = Network((2, 3, 3), ("tanh",), head="softmax-ce")
    P, X, Y = _problem("softmax-ce", widths=(2, 3, 3))
    P["W2"] = P["W2"] * 1e3
    with np.errstate(all="raise"):
        A = numeric.forward(P, X, network=net)["A2"]
        J = numeric.cost(P, X, Y, network=net)
    np.testing.assert_allclose(A.sum(axis=0), 1.0, rtol=1e-14)
    assert np.isfinite(J) and J >= 0


def test_integer_labels_are_one_hot_for_softmax():
    net = Network((3, 4, 3, 3), ("tanh", "tanh"), head="softmax-ce")
    P, X, Y = _problem("softmax-ce")
    labels = np.argmax(Y, axis=0)
    for form in (labels, labels.reshape(1, -1)):
        assert numeric.cost(P, X, form, network=net) == pytest.approx(numeric.cost(P, X, Y, network=net), rel=1e-15)
    with pytest.raises(TargetRangeError) as info:
        numeric.cost(P, X, np.array([0, 1, 3, 2, 0]), network=net)
    assert str(info.value) == "Y[2] = 3 is not a class label in 0..2"
    with pytest.raises(TargetRangeError, match=r"^Y\[4\] = -1 is not a class label in 0\.\.2$"):
        numeric.cost(P, X, np.array([0, 1, 2, 2, -1]), network=net)
    with pytest.raises(ShapeError) as info:
        numeric.cost(P, X, np.array([0, 1, 2]), network=net)
    assert str(info.value) == "Y holds 3 integer labels but X has m = 5 examples"


def test_softmax_targets_must_be_distributions():
    net = Network((3, 4, 3, 3), ("tanh", "tanh"), head="softmax-ce")
    P, X, Y = _problem("softmax-ce")
    smooth = Y * 0.9 + 0.1 / 3  # label smoothing: columns still sum to 1
    numeric.cost(P, X, smooth, network=net)
    Y2 = Y.copy()
    Y2[:, 3] *= 0.5
    with pytest.raises(TargetRangeError) as info:
        numeric.cost(P, X, Y2, network=net)
    assert str(info.value) == ("softmax-ce needs each column of Y to sum to 1 (one-hot, or label smoothing); "
                               "column 3 sums to 0.5")
    Y3 = Y.copy()
    Y3[0, 0] = 1.5
    with pytest.raises(TargetRangeError, match=r"^Y must lie in \[0, 1\] for softmax-ce; Y\[0, 0\] = 1.5$"):
        numeric.cost(P, X, Y3, network=net)


def test_bce_targets_in_range_and_mse_targets_anywhere():
    P, X, Y = _problem("identity-mse")
    numeric.cost(P, X, Y * 100, network=Network(WIDTHS, ("tanh", "tanh"), head="identity-mse"))
    numeric.cost(P, X, Y * 100, network=Network(WIDTHS, ("tanh", "tanh"), head="sigmoid-mse"))
    bad = np.zeros((3, M))
    bad[1, 2] = -0.25
    with pytest.raises(TargetRangeError) as info:  # reduction sum: the generic path
        numeric.cost(P, X, bad, network=Network(WIDTHS, ("tanh", "tanh"), head="sigmoid-bce", reduction="sum"))
    assert str(info.value) == "Y must lie in [0, 1] for sigmoid-bce; Y[1, 2] = -0.25"
    numeric.cost(P, X, np.ones((3, M)), network=Network(WIDTHS, ("tanh", "tanh")))  # the ends are allowed


@pytest.mark.parametrize(("change", "error", "message"), [
    (lambda P, X, Y: (P, X.T, Y), ShapeError,
     "X has shape (5, 3), expected (3, m) (d x m, one example per column; it looks transposed)"),
    (lambda P, X, Y: (P, np.zeros((4, 5)), Y), ShapeError,
     "X has shape (4, 5), expected (3, m) (d x m, one example per column)"),
    (lambda P, X, Y: (P, np.zeros((3, 0)), Y), ShapeError,
     "X has shape (3, 0): the batch needs at least one example (m >= 1) and d >= 1"),
    (lambda P, X, Y: (dict(P, W2=P["W2"].T), X, Y), ShapeError,
     "W2 has shape (4, 3), expected (3, 4); it looks transposed"),
    (lambda P, X, Y: (dict(P, b2=np.zeros((4, 1))), X, Y), ShapeError, "b2 has shape (4, 1), expected (3, 1)"),
    (lambda P, X, Y: (P, X, Y.T), ShapeError,
     "Y has shape (5, 3), expected (3, 5) (q x m, one target column per example; it looks transposed)"),
    (lambda P, X, Y: (P, X, Y[:2]), ShapeError,
     "Y has shape (2, 5), expected (3, 5) (q x m, one target column per example)"),
    (lambda P, X, Y: ({k: v for k, v in P.items() if k != "b3"}, X, Y), InputError,
     "params is missing ['b3']; a depth-3 network needs ['W1', 'b1', 'W2', 'b2', 'W3', 'b3']"),
    (lambda P, X, Y: ([P], X, Y), InputError,
     "params must be a mapping with keys ['W1', 'b1', 'W2', 'b2', 'W3', 'b3']"),
    (lambda P, X, Y: (P, np.full((3, 5), np.inf), Y), NonFiniteError, "X holds a non-finite value inf at index (0, 0)"),
], ids=["X-transposed", "X-rows", "X-empty", "W2-transposed", "b2-rows", "Y-transposed", "Y-rows",
        "missing", "not-a-mapping", "X-inf"])
def test_generic_input_errors_read_exactly(change, error, message):
    net = Network(WIDTHS, ("tanh", "tanh"), head="identity-mse")
    P, X, Y = _problem("identity-mse")
    P2, X2, Y2 = change(P, X, Y)
    with pytest.raises(error) as info:
        numeric.backward(P2, X2, Y2, network=net)
    assert str(info.value) == message


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # see the xfail below
def test_overflowing_layers_are_named():
    net = Network(None, ("identity", "identity"), head="identity-mse")
    P, X, Y = _problem("identity-mse")
    P["W2"] = np.full_like(P["W2"], 1e308)
    X = np.abs(X) + 1.0
    P["W1"], P["b1"] = np.abs(P["W1"]) + 1.0, np.abs(P["b1"])
    with pytest.raises(NonFiniteError) as info:
        numeric.backward(P, X, Y, network=net)
    assert str(info.value) == ("Z2 = W2 A1 + b2 overflows float64: the inputs or weights are too large")


def test_overflow_is_named_without_a_warning_first():
    import warnings

    net = Network(None, ("identity", "identity"), head="identity-mse")
    P, X, Y = _problem("identity-mse")
    P["W1"] = np.full_like(P["W1"], 1e308)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(NonFiniteError, match="overflows float64"):
            numeric.backward(P, X, Y, network=net)


def test_softmax_needs_two_outputs():
    with pytest.raises(InputError) as info:
        Network((3, 2, 1), ("tanh",), head="softmax-ce")
    assert str(info.value) == "softmax-ce needs at least 2 outputs (q >= 2); for one output use sigmoid-bce"
    P, X, _ = _problem("softmax-ce", widths=(3, 2, 1))
    with pytest.raises(InputError, match="softmax-ce needs at least 2 outputs"):
        numeric.cost(P, X, np.ones((1, M)), network=Network(None, ("tanh",), head="softmax-ce"))


# ---- the description ----------------------------------------------------------

def test_description_defaults_and_queries():
    net = Network()
    assert (net.widths, net.activations, net.head, net.reduction, net.mse, net.l2, net.l2_convention) == (
        None, ("swish", "leaky_relu"), "sigmoid-bce", "mean", "half", 0.0, "lambda/2m")
    assert net.depth == 3 and net.is_article
    assert net.parameter_names() == ("W1", "b1", "W2", "b2", "W3", "b3")
    assert net.gradient_names() == ("dW1", "db1", "dW2", "db2", "dW3", "db3")
    assert Network(activations="relu").activations == ("relu",)  # one bare activation
    assert Network(activations=["relu", "tanh"]).activations == ("relu", "tanh")
    assert Network(widths=[4, 3, 2, 1]).widths == (4, 3, 2, 1)
    assert Network(widths=(np.int64(4), 3, 2, 1)).widths == (4, 3, 2, 1)
    assert Network(l2=1).l2 == 1.0 and isinstance(Network(l2=1).l2, float)


@pytest.mark.parametrize("change", [dict(activations=("relu",)), dict(head="softmax-ce"), dict(reduction="sum"),
                                    dict(l2=0.1)], ids=["depth", "head", "reduction", "l2"])
def test_only_the_articles_shape_is_the_article(change):
    assert not Network(**change).is_article
    assert Network(mse="torch").is_article and Network(widths=(2, 3, 4, 5)).is_article


def test_descriptions_compare_and_hash_by_value():
    a = Network((3, 4, 3, 1), ("tanh", "relu"), l2=0.5)
    b = Network((3, 4, 3, 1), ["tanh", "relu"], l2=0.5)
    assert a == b and hash(a) == hash(b)
    assert a != Network((3, 4, 3, 1), ("tanh", "relu"), l2=0.25)
    assert a.with_activations("relu", "relu") == Network((3, 4, 3, 1), ("relu", "relu"), l2=0.5)
    unhashable = Network(activations=(numeric.get_activation("elu", alpha=0.5), "tanh"))
    assert hash(unhashable) == hash(unhashable)


def test_widths_from_parameters():
    P = numeric.init_params((5, 4, 3, 2))
    assert Network().widths_from(P) == (5, 4, 3, 2)
    assert Network((9, 9, 9, 9)).widths_from(P) == (9, 9, 9, 9)
    with pytest.raises(InputError) as info:
        Network().widths_from({"W1": np.zeros((4, 5)), "W2": np.zeros(3)})
    assert str(info.value) == "params needs a 2-D W2"


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(head="softmax"), "head must be one of 'sigmoid-bce', 'softmax-ce', 'identity-mse', 'sigmoid-mse'; "
                           "got 'softmax'"),
    (dict(reduction="avg"), "reduction must be one of 'mean', 'sum'; got 'avg'"),
    (dict(mse="full"), "mse must be one of 'half', 'torch'; got 'full'"),
    (dict(l2_convention=2), "l2_convention must be one of 'lambda/2m', 'lambda/2'; got 2"),
    (dict(l2=-0.1), "l2 must be a finite number >= 0, got -0.1"),
    (dict(l2=float("inf")), "l2 must be a finite number >= 0, got inf"),
    (dict(l2=True), "l2 must be a finite number >= 0, got True"),
    (dict(l2="0.1"), "l2 must be a finite number >= 0, got '0.1'"),
    (dict(widths=(3, 0, 2, 1)), "widths must be a sequence of positive integers, got (3, 0, 2, 1)"),
    (dict(widths=(3, 2.5, 2, 1)), "widths must be a sequence of positive integers, got (3, 2.5, 2, 1)"),
    (dict(widths=(3, True, 2, 1)), "widths must be a sequence of positive integers, got (3, True, 2, 1)"),
    (dict(widths=7), "widths must be a sequence of positive integers, got 7"),
    (dict(widths=("d", "n", "p", "q")), "Network widths are integers; symbolic widths such as ('d', 'n', 'q') "
                                        "belong to derive.SymbolicNetwork"),
    (dict(widths=(3,), activations=()), "widths need an input and an output width, got (3,)"),
    (dict(widths=(3, 4, 1)), "widths (3, 4, 1) have 1 hidden layers but 2 activations were given: "
                             "('swish', 'leaky_relu')"),
    (dict(activations=("relu", None)), "activation of hidden layer 2 is not usable: None"),
    (dict(activations=(1.5, "relu")), "activation of hidden layer 1 is not usable: 1.5"),
    (dict(activations=((np.sin,), "relu")), "activation of hidden layer 1 is not usable: (<ufunc 'sin'>,)"),
    (dict(activations=((np.sin, 2), "relu")), "activation of hidden layer 1 is not usable: (<ufunc 'sin'>, 2)"),
], ids=["head", "reduction", "mse", "l2-convention", "l2-negative", "l2-inf", "l2-bool", "l2-str", "width-0",
        "width-float", "width-bool", "widths-int", "widths-symbolic", "widths-short", "widths-count",
        "activation-none", "activation-number", "activation-one-callable", "activation-not-callable"])
def test_bad_descriptions_read_exactly(kwargs, message):
    with pytest.raises(InputError) as info:
        Network(**kwargs)
    assert str(info.value) == message


def test_usable_activation_specs():
    Network(activations=((np.sin, np.cos), numeric.ACTIVATIONS["tanh"]))
    Network(activations=("z*tanh(z)", "relu"))  # expression text: derive parses it


@pytest.mark.parametrize(("net", "text"), [
    (Network(), "widths any (depth 3), swish, leaky_relu, head sigmoid-bce, reduction mean"),
    (Network((4, 3, 2), ("relu",), head="identity-mse", mse="torch"),
     "widths 4-3-2, relu, head identity-mse (mse torch: 1/(q m) sum (A - Y)^2), reduction mean"),
    (Network((4, 3, 2), ("relu",), head="sigmoid-mse", reduction="sum", mse="torch"),
     "widths 4-3-2, relu, head sigmoid-mse (mse torch: sum (A - Y)^2), reduction sum"),
    (Network((4, 3, 2), ("relu",), head="identity-mse"),
     "widths 4-3-2, relu, head identity-mse (mse half: (1/2m) sum (A - Y)^2), reduction mean"),
    (Network((4, 3, 2), ("relu",), head="identity-mse", reduction="sum"),
     "widths 4-3-2, relu, head identity-mse (mse half: (1/2) sum (A - Y)^2), reduction sum"),
    (Network((4, 3, 2), ((np.sin, np.cos),), head="softmax-ce", l2=0.5),
     "widths 4-3-2, custom, head softmax-ce, reduction mean, l2 0.5 (lambda/2m sum ||W||^2, biases not "
     "regularised)"),
    (Network(activations=(numeric.get_activation("elu", alpha=0.5), "tanh"), l2=2, l2_convention="lambda/2"),
     "widths any (depth 3), elu, tanh, head sigmoid-bce, reduction mean, l2 2 (lambda/2 sum ||W||^2, biases not "
     "regularised)"),
], ids=["article", "torch-mean", "torch-sum", "half-mean", "half-sum", "custom-l2", "object-l2"])
def test_describe_names_everything(net, text):
    assert net.describe() == text
