"""Strength tests for numeric.strategies: what each strategy draws stays in
its documented bounds, reaches the documented extremes, and bad bounds are
refused with a message that names the fix.

Written to kill the mutants that survived ``python tools/mutate.py --area numeric``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import find as _find
from hypothesis import strategies as st

from numeric.activations import ACTIVATIONS, Activation
from numeric.compare import kink_distance
from numeric.strategies import (
    ACTIVATION_PARAM_RANGES,
    Problem,
    activation_names,
    activation_pairs,
    activation_params,
    activation_points,
    activations,
    problems,
    shapes,
)

NO_SHRINK = settings(phases=[Phase.generate], max_examples=500, database=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def find(strategy, condition):
    """The first drawn example meeting ``condition`` (no shrinking: quick)."""
    return _find(strategy, condition, settings=NO_SHRINK)


FAST = settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@FAST
@given(shapes(max_d=3, max_n=4, max_p=5, max_q=2, max_m=6))
def test_shapes_stay_in_their_bounds(shape):
    d, n, p, q, m = shape
    assert 1 <= d <= 3 and 1 <= n <= 4 and 1 <= p <= 5 and 1 <= q <= 2 and 1 <= m <= 6


def test_shapes_reach_their_bounds():
    strat = shapes(max_d=3, max_n=4, max_p=5, max_q=2, max_m=6)
    for i, top in enumerate((3, 4, 5, 2, 6)):
        assert find(strat, lambda s, i=i, top=top: s[i] == top)[i] == top
    assert find(shapes(), lambda s: s[4] == 1)[4] == 1


@FAST
@given(problems(max_d=3, max_n=3, max_p=3, max_q=2, max_m=4, weight_bound=0.5, input_bound=2.0))
def test_problems_are_bounded_and_consistent(problem):
    d, n, p, q, m = problem.shape
    P = problem.params
    assert {k: v.shape for k, v in P.items()} == {"W1": (n, d), "b1": (n, 1), "W2": (p, n), "b2": (p, 1),
                                                  "W3": (q, p), "b3": (q, 1)}
    assert problem.X.shape == (d, m) and problem.Y.shape == (q, m)
    for layer, fan_in in ((1, d), (2, n), (3, p)):
        assert np.all(np.abs(P[f"W{layer}"]) <= 0.5 / math.sqrt(fan_in) * (1 + 1e-15))
        assert np.all(np.abs(P[f"b{layer}"]) <= 0.5)
    assert np.all(np.abs(problem.X) <= 2.0)
    assert set(np.unique(problem.Y)) <= {0.0, 1.0}
    assert problem.f in ACTIVATIONS and problem.g in ACTIVATIONS
    assert all(np.all(np.isfinite(v)) for v in P.values())


@settings(max_examples=6, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(problems(max_d=2, max_n=3, max_p=3, max_q=1, max_m=3, kink_margin=0.1,
                activations=st.just(("relu", "leaky_relu"))))
def test_problems_keep_the_kink_margin(problem):
    assert (problem.f, problem.g) == ("relu", "leaky_relu")
    assert kink_distance(problem.params, problem.X, "relu", "leaky_relu") > 0.1


def test_problem_shape_and_repr():
    P = {"W1": np.zeros((4, 3)), "b1": np.zeros((4, 1)), "W2": np.zeros((2, 4)), "b2": np.zeros((2, 1)),
         "W3": np.zeros((5, 2)), "b3": np.zeros((5, 1))}
    prob = Problem(P, np.zeros((3, 7)), np.zeros((5, 7)), "tanh", "relu")
    assert prob.shape == (3, 4, 2, 5, 7)
    assert repr(prob) == "Problem(shape(d,n,p,q,m)=(3, 4, 2, 5, 7), f='tanh', g='relu', params=..., X=..., Y=...)"
    assert (Problem(P, prob.X, prob.Y).f, Problem(P, prob.X, prob.Y).g) == ("swish", "leaky_relu")


def test_problems_draw_both_targets_and_large_weights():
    strat = problems(max_d=2, max_n=2, max_p=2, max_q=1, max_m=4)
    assert find(strat, lambda pr: set(np.unique(pr.Y)) == {0.0, 1.0})
    assert find(strat, lambda pr: np.max(np.abs(pr.params["b2"])) > 1.0)  # weight_bound 2 by default
    assert find(strat, lambda pr: np.max(np.abs(pr.X)) > 2.0)  # input_bound 3 by default


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(max_d=0), "max_d must be a positive int, got 0; e.g. max_d=8"),
    (dict(max_m=True), "max_m must be a positive int, got True; e.g. max_m=8"),
    (dict(max_q=2.0), "max_q must be a positive int, got 2.0; e.g. max_q=8"),
], ids=["zero", "bool", "float"])
def test_bad_shape_bounds_read_exactly(kwargs, message):
    with pytest.raises(ValueError) as info:
        shapes(**kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize("kwargs", [dict(weight_bound=0.0), dict(input_bound=-1.0)], ids=["weights", "inputs"])
def test_bad_value_bounds_are_refused(kwargs):
    with pytest.raises(ValueError) as info:
        find(problems(**kwargs), lambda p: True)
    assert str(info.value) == "weight_bound and input_bound must be positive, e.g. weight_bound=2.0"


@FAST
@given(activation_names(smooth_only=True), activation_names(analytic_only=True))
def test_activation_names_filter_the_catalog(smooth, analytic):
    assert not ACTIVATIONS[smooth].kinks
    assert ACTIVATIONS[analytic].analytic


def test_activation_names_reach_the_filtered_catalog():
    assert find(activation_names(), lambda n: n == "relu") == "relu"
    assert find(activation_names(smooth_only=True), lambda n: n == "gelu") == "gelu"  # smooth, not analytic
    assert find(activation_names(analytic_only=True), lambda n: n == "elu") == "elu"  # analytic, kinked
    assert find(activation_pairs(smooth_only=True), lambda pr: pr[0] != pr[1])


@FAST
@given(st.sampled_from(sorted(ACTIVATION_PARAM_RANGES)).flatmap(
    lambda name: st.tuples(st.just(name), activation_params(name))))
def test_activation_params_stay_in_their_ranges(drawn):
    name, params = drawn
    ranges = ACTIVATION_PARAM_RANGES[name]
    assert set(params) == set(ranges)
    for k, v in params.items():
        lo, hi = ranges[k]
        assert lo <= v <= hi


def test_activation_params_of_a_parameterless_activation_and_errors():
    assert find(activation_params("tanh"), lambda p: True) == {}
    assert ACTIVATION_PARAM_RANGES["leaky_relu"] == {"alpha": (0.001, 0.5)}
    assert ACTIVATION_PARAM_RANGES["selu"] == {"scale": (0.5, 2.0), "alpha": (0.5, 2.0)}
    with pytest.raises(ValueError) as info:
        activation_params("tanhh")
    assert str(info.value).startswith("unknown activation 'tanhh'; pass one of sigmoid, tanh, relu")


@FAST
@given(activations(names=["leaky_relu", "swish", "tanh"]))
def test_activations_are_catalog_objects_with_drawn_parameters(act):
    assert isinstance(act, Activation) and act.name in ("leaky_relu", "swish", "tanh")
    for k, v in act.params.items():
        lo, hi = ACTIVATION_PARAM_RANGES[act.name][k]
        assert lo <= v <= hi


@FAST
@given(activations(smooth_only=True))
def test_smooth_activations_have_no_kinks(act):
    assert not act.kinks


def test_activations_draw_parameters_and_refuse_unknown_names():
    assert find(activations(), lambda a: bool(a.kinks)).kinks == (0.0,)
    assert find(activations(names=("elu",)), lambda a: a.params["alpha"] != 1.0).name == "elu"
    for names, shown in ((["tanh", "tanhh"], "['tanhh']"), ([], "[]")):
        with pytest.raises(ValueError) as info:
            activations(names=names)
        assert str(info.value) == f"names must be catalog names, got {shown}; e.g. names=['tanh', 'swish']"


@FAST
@given(activation_points(min_value=-50.0, max_value=20.0, avoid=[0.0, 5.0], margin=1e-3))
def test_points_stay_in_bounds_and_away_from_kinks(z):
    assert -50.0 <= z <= 20.0 and math.isfinite(z)
    assert abs(z) > 1e-3 and abs(z - 5.0) > 5e-3


@pytest.mark.parametrize("point", [0.0, 1e-8, -1e-8, 30.0, -700.0, 800.0, 1e4, -1e4])
def test_points_reach_every_extreme(point):
    assert find(activation_points(), lambda z: z == point) == point


def test_points_spread_over_magnitudes():
    assert abs(find(activation_points(), lambda z: 0 < abs(z) < 1e-6)) < 1e-6
    assert abs(find(activation_points(), lambda z: 1e3 < abs(z) < 1e4 and z not in (1e4, -1e4))) > 1e3
    assert find(activation_points(min_value=0.5, max_value=2e3), lambda z: z > 1e3) <= 2e3
    assert find(activation_points(min_value=20.0, max_value=40.0), lambda z: z == 30.0) == 30.0
    tiny = find(activation_points(min_value=-1e-9, max_value=1e-9), lambda z: z != 0.0)
    assert abs(tiny) <= 1e-9


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(min_value=1.0, max_value=1.0), "need finite min_value < max_value, got 1.0, 1.0; "
                                         "e.g. min_value=-1e4, max_value=1e4"),
    (dict(min_value=-math.inf), "need finite min_value < max_value, got -inf, 10000.0; "
                                "e.g. min_value=-1e4, max_value=1e4"),
    (dict(max_value=math.nan), "need finite min_value < max_value, got -10000.0, nan; "
                               "e.g. min_value=-1e4, max_value=1e4"),
    (dict(margin=-1.0), "margin must be >= 0, got -1.0; e.g. margin=1e-6"),
    (dict(margin=math.nan), "margin must be >= 0, got nan; e.g. margin=1e-6"),
], ids=["empty", "inf", "nan", "negative-margin", "nan-margin"])
def test_bad_point_bounds_read_exactly(kwargs, message):
    with pytest.raises(ValueError) as info:
        activation_points(**kwargs)
    assert str(info.value) == message


# ---- descriptions -----------------------------------------------------------------

@FAST
@given(__import__("numeric.strategies", fromlist=["networks"]).networks(
    heads=("softmax-ce", "identity-mse"), max_depth=3, max_width=3, l2=False, analytic_only=True))
def test_networks_stay_in_their_bounds(net):
    assert net.head in ("softmax-ce", "identity-mse")
    assert 1 <= net.depth <= 3 and len(net.widths) == net.depth + 1
    assert all(1 <= w <= 3 for w in net.widths)
    assert net.widths[-1] >= (2 if net.head == "softmax-ce" else 1)
    assert net.l2 == 0.0
    assert all(ACTIVATIONS[a].analytic for a in net.activations)
    if net.activations:  # a pair, cycled over the hidden layers
        assert net.activations[::2] == (net.activations[0],) * len(net.activations[::2])


def test_networks_reach_every_option():
    from numeric.strategies import networks

    strat = networks()
    deep = find(strat, lambda n: n.depth == 5 and len(set(n.activations)) == 2)
    assert deep.activations[2] == deep.activations[0] != deep.activations[1]
    for cond in (lambda n: n.depth == 1, lambda n: max(n.widths) == 4, lambda n: n.l2 == 1.0,
                 lambda n: n.l2 == 0.05, lambda n: n.reduction == "sum", lambda n: n.mse == "torch",
                 lambda n: n.l2_convention == "lambda/2", lambda n: n.head == "sigmoid-mse",
                 lambda n: n.head == "sigmoid-bce" and n.widths[-1] == 1):
        assert find(strat, cond)


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(heads=("tanh-ce",)), "heads must be a non-empty subset of ('sigmoid-bce', 'softmax-ce', 'identity-mse', "
                               "'sigmoid-mse'); got ('tanh-ce',)"),
    (dict(heads=()), "heads must be a non-empty subset of ('sigmoid-bce', 'softmax-ce', 'identity-mse', "
                     "'sigmoid-mse'); got ()"),
    (dict(max_width=1), "softmax-ce needs max_width >= 2 (q >= 2)"),
    (dict(max_depth=0), "max_depth must be a positive int, got 0; e.g. max_depth=8"),
], ids=["unknown-head", "no-heads", "softmax-width", "depth"])
def test_bad_network_bounds_read_exactly(kwargs, message):
    from numeric.strategies import networks

    with pytest.raises(ValueError) as info:
        networks(**kwargs)
    assert str(info.value) == message
    if "max_width" in kwargs:
        networks(heads=("identity-mse",), max_width=1)  # fine without softmax


@FAST
@given(shapes(), problems(max_d=2, max_n=2, max_p=2, max_q=1, max_m=2))
def test_default_bounds(shape, problem):
    d, n, p, q, m = shape
    assert d <= 32 and n <= 32 and p <= 32 and q <= 4 and m <= 64
    assert np.all(np.abs(problem.X) <= 3.0) and np.all(np.abs(problem.params["b1"]) <= 2.0)


def test_default_bounds_are_reached_and_values_take_both_signs():
    assert find(shapes(), lambda s: s[0] == 32)[0] == 32
    assert find(shapes(), lambda s: s[3] == 4)[3] == 4
    strat = problems(max_d=2, max_n=2, max_p=2, max_q=1, max_m=4)
    assert find(strat, lambda pr: np.min(pr.X) < -1.0 and np.max(pr.X) > 1.0)
    assert find(strat, lambda pr: np.min(pr.params["b2"]) < -0.5)


@FAST
@given(activation_points(min_value=990.0, max_value=1010.0, avoid=[1000.0], margin=1e-3))
def test_the_margin_around_an_avoided_point_scales_with_it(z):
    assert abs(z - 1000.0) > 1.0  # margin * max(1, |b|)


def test_points_accept_a_zero_margin_and_ranges_left_of_the_moderate_band():
    assert find(activation_points(avoid=[0.0], margin=0.0), lambda z: True) is not None
    z = find(activation_points(min_value=-20.0, max_value=-10.5), lambda z: True)
    assert -20.0 <= z <= -10.5
    z = find(activation_points(min_value=10.5, max_value=20.0), lambda z: True)
    assert 10.5 <= z <= 20.0


def test_networks_also_draw_no_weight_decay():
    from numeric.strategies import networks

    assert find(networks(), lambda n: n.l2 == 0.0).l2 == 0.0


def test_the_moderate_band_is_within_ten():
    # derandomised, so the counts are the same on every run: most draws are moderate (|z| <= 10),
    # and values just outside the band come only from the wide branches
    seen = []

    @settings(max_examples=300, derandomize=True, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(activation_points())
    def draw(z):
        seen.append(z)

    draw()
    assert sum(abs(z) <= 10 for z in seen) > 150
    assert sum(-20 <= z < -10 for z in seen) < 10 and sum(10 < z <= 20 for z in seen) < 10
