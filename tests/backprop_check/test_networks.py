"""check_backprop on network descriptions (issue 12): any depth, every head, L2, reduction.

The thirteen head/L2 bugs of ``tests/core/head_bugs.py`` (engineer C's
catalog; sources cited there) are each caught, with the right gradients
named and, where the slip has a name, the named pattern; the catalog's
correct backward and ``numeric.backward`` pass for every head.  The
false-alarm property runs CHECK_BACKPROP_NETWORK_EXAMPLES search examples
per description (default small; ``-m slow`` runs the many-example version).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

import numeric

sys.path.insert(0, str(Path(__file__).parents[1] / "core"))  # robust to pytest's import mode

from head_bugs import BUGS, CATALOG, correct_backward  # noqa: E402

from derive.backprop_check import check_backprop  # noqa: E402

# the pattern each catalog bug must be named as (every wrong gradient carries it among its findings)
NAMED = {
    "softmax_missing_jacobian_cross_terms": "missing softmax Jacobian term",
    "ce_on_probabilities_as_logits": "CE on probabilities as logits",
    "softmax_replaced_by_sigmoid": "sigmoid for softmax",
    "sum_reduction_for_mean": "missing 1/m",
    "mse_torch_missing_2_over_q": "MSE convention",
    "mse_half_with_factor_2": "constant factor",
    "identity_mse_with_sigmoid_derivative": "sigmoid derivative at a linear output",
    "sigmoid_mse_missing_sigmoid_prime": "sigmoid derivative dropped",
    "l2_forgotten": "L2 forgotten",
    "l2_added_to_bias": "L2 on bias",
    "l2_convention_mixed": "L2 convention",
    "l2_missing_factor_2": "L2 factor",
    "derivative_at_activation": "f'(A) instead of f'(Z)",
}
# the four patterns issue 12 names: also the WORST finding of every wrong gradient
HEADLINE = {"softmax_missing_jacobian_cross_terms", "ce_on_probabilities_as_logits", "l2_forgotten",
            "l2_added_to_bias"}
DEPTHS = {2: ("tanh",), 4: ("tanh", "swish", "sigmoid")}  # no relu: relu'(A) = relu'(Z) hides one bug
FAST = {"max_examples": 5, "isolate": False}


def _network(head: str, acts: tuple[str, ...], **options: object) -> numeric.Network:
    return numeric.Network(activations=acts, head=head, **options)


def _user(bug, net):
    return lambda P, X, Y: bug(P, X, Y, net)


def test_the_catalog_is_fully_named():
    assert set(NAMED) == set(CATALOG)


# every bug at depth 2; the four headline patterns and the every-layer f'(A) slip at depth 4 too
# (all thirteen at depth 4 with -m slow)
_CASES = [pytest.param(name, 2, id=f"{name}-L=2") for name in sorted(CATALOG)] + [
    pytest.param(name, 4, id=f"{name}-L=4",
                 marks=() if name in HEADLINE | {"derivative_at_activation"} else pytest.mark.slow)
    for name in sorted(CATALOG)]


@pytest.mark.parametrize("name, depth", _CASES)
def test_each_head_bug_is_caught_named_and_placed(name, depth):
    head, options, changed = CATALOG[name]
    net = _network(head, DEPTHS[depth], **options)
    report = check_backprop(_user(BUGS[name], net), network=net, **FAST)
    assert not report.ok, str(report)
    wrong = set(report.wrong)
    assert {k[:2] for k in wrong} == set(changed), str(report)
    if name == "derivative_at_activation":  # a hidden-layer slip: the output layer is right
        assert f"dW{depth}" not in wrong and "dW1" in wrong and report.diverges_at == depth - 1, str(report)
    else:  # a head or L2 slip: every gradient of a changed kind is wrong, from the output layer down
        assert wrong == {f"{kind}{layer}" for kind in changed for layer in range(1, depth + 1)}, str(report)
        assert report.diverges_at == depth, str(report)
    kind = NAMED[name]
    for grad in wrong:
        kinds = [fd.kind for fd in report.all_findings[grad]]
        assert kind in kinds, f"{grad}: {kinds}\n{report}"
        if name in HEADLINE:
            assert report.findings[grad].kind == kind, str(report)


@pytest.mark.parametrize("head", ["sigmoid-bce", "softmax-ce", "identity-mse", "sigmoid-mse"])
@pytest.mark.parametrize("acts, options", [
    ((), {}),
    (("relu",), {"l2": 0.3}),
    (("tanh", "leaky_relu", "swish"), {"reduction": "sum", "l2": 0.2, "l2_convention": "lambda/2"}),
], ids=["L=1", "L=2 l2", "L=4 sum l2/2"])
def test_correct_backward_passes_for_every_head(head, acts, options):
    net = _network(head, acts, **options)
    for user in (lambda P, X, Y: numeric.backward(P, X, Y, network=net), _user(correct_backward, net)):
        report = check_backprop(user, network=net, max_examples=5, isolate=False)
        assert report.ok, str(report)
        assert report.to_dict()["network"]["depth"] == len(acts) + 1


def test_mse_torch_convention_is_said():
    net = _network("identity-mse", ("tanh",), mse="torch")
    report = check_backprop(_user(BUGS["mse_torch_missing_2_over_q"], net), network=net, **FAST)
    text = str(report)
    assert "head identity-mse" in text and "2/q" in text and "expected dZ2" not in text


@pytest.mark.parametrize("layout, params_as", [("rows", "pairs"), ("linear", "dict"), ("columns", "pairs")])
@pytest.mark.parametrize("acts", [(), ("tanh", "relu", "swish")], ids=["L=1", "L=4"])
def test_layouts_and_pairs_at_any_depth(layout, params_as, acts):
    """Row-major code taking L (W, b) pairs or W1..WL, at depth 1 and 4; a bug is still named."""
    net = _network("softmax-ce", acts, l2=0.1)
    L = len(acts) + 1

    def backward(params, X, Y, *, bug=False):
        items = params if params_as == "pairs" else [(params[f"W{i}"], params[f"b{i}"]) for i in range(1, L + 1)]
        P = {}
        for i, (W, b) in enumerate(items, 1):
            P[f"W{i}"] = W if layout != "rows" else W.T
            P[f"b{i}"] = np.reshape(b, (-1, 1))
        Xc, Yc = (X, Y) if layout == "columns" else (X.T, Y.T)
        G = BUGS["l2_forgotten"](P, Xc, Yc, net) if bug else numeric.backward(P, Xc, Yc, network=net)
        out = []
        for i in range(1, L + 1):
            dW, db = G[f"dW{i}"], G[f"db{i}"]
            out.append((dW.T if layout == "rows" else dW, db if layout == "columns" else db.ravel()))
        return out

    ok = check_backprop(backward, network=net, layout=layout, params_as=params_as, **FAST)
    assert ok.ok, str(ok)
    bad = check_backprop(lambda P, X, Y: backward(P, X, Y, bug=True), network=net, layout=layout,
                         params_as=params_as, **FAST)
    assert not bad.ok and bad.wrong == [f"dW{i}" for i in range(L, 0, -1)], str(bad)
    assert all(bad.findings[k].kind == "L2 forgotten" for k in bad.wrong), str(bad)


def test_the_articles_network_as_a_description_reads_as_before():
    """network=Network() (or the same three layers) is the article's check, word for word."""
    def user(P, X, Y):
        return numeric.backward(P, X, Y)

    plain = check_backprop(user, max_examples=5, isolate=False)
    described = check_backprop(user, network=numeric.Network(), max_examples=5, isolate=False)
    assert str(plain).split("\n")[:-0 or None] == str(described).split("\n")
    assert "network" not in described.to_dict()


@pytest.mark.parametrize("bad, match", [
    ({"network": "softmax"}, "numeric.Network description"),
    ({"network": numeric.Network(activations=("relu",)), "f": "tanh"}, "f and g name the article's"),
])
def test_bad_network_arguments_are_refused(bad, match):
    from numeric.errors import InputError

    with pytest.raises(InputError, match=match):
        check_backprop(lambda P, X, Y: None, isolate=False, **bad)


# ---------------------------------------------------------------- no false alarms
HEADS = ("sigmoid-bce", "softmax-ce", "identity-mse", "sigmoid-mse")
ACTS = (("relu",), ("tanh", "swish"), ("leaky_relu", "sigmoid", "gelu"), ("elu",), ())
SLOW_EXAMPLES = int(os.environ.get("CHECK_BACKPROP_NETWORK_EXAMPLES", "40"))


def _descriptions():
    """Every head x depth 1..4 x reduction x L2 convention x MSE convention, deterministic."""
    out = []
    for i, head in enumerate(HEADS):
        for j, acts in enumerate(ACTS):
            k = i + j
            out.append(numeric.Network(
                activations=acts, head=head, reduction=("mean", "sum")[k % 2],
                mse=("half", "torch")[(k // 2) % 2] if head.endswith("mse") else "half",
                l2=(0.0, 0.25, 1.5)[k % 3], l2_convention=("lambda/2m", "lambda/2")[(k // 3) % 2]))
    return out


def _no_false_alarm(examples: int) -> int:
    total = 0
    for net in _descriptions():
        for layout in ("columns", "rows"):
            user = (lambda P, X, Y, net=net: numeric.backward(P, X, Y, network=net)) if layout == "columns" else \
                _rows_backward(net)
            report = check_backprop(user, network=net, layout=layout, max_examples=examples, time_limit=1e6,
                                    isolate=False, seed=len(net.activations))
            assert report.ok, f"{net.describe()} {layout}\n{report}"
            total += report.examples + len(report.probes)
    return total


def _rows_backward(net):
    def backward(params, X, Y):
        P = {k: (v.T if k[0] == "W" else v.reshape(-1, 1)) for k, v in params.items()}
        G = numeric.backward(P, X.T, Y.T, network=net)
        return {k: (v.T if k[1] == "W" else v.ravel()) for k, v in G.items() if k[1] in "Wb"}
    return backward


def test_no_false_alarm_across_heads_few_examples():
    assert _no_false_alarm(2) >= len(_descriptions()) * 2 * 7


@pytest.mark.slow
def test_no_false_alarm_across_heads_many_examples():
    """CHECK_BACKPROP_NETWORK_EXAMPLES search examples per description and layout (default 40; the one-off run used 250, i.e. 10,302 examples)."""
    total = _no_false_alarm(SLOW_EXAMPLES)
    print(f"\nno false alarm over {total} examples (probes included) across "
          f"{len(_descriptions())} descriptions x 2 layouts")
