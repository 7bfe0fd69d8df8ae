"""Property tests for any description: lambdified vs numeric vs central
differences vs complex step, for every head, depths 1 to 5, and activation
pairs drawn by hypothesis (cycled over the hidden layers).

Tolerances are verify's (:data:`derive.verify.TOLERANCES`).  The default
run draws a few examples per head; the slow run draws many more.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import derive
import numeric
from derive.verify import TOLERANCES
from numeric import Network
from numeric.compare import compare_gradients, draw_network_problem
from numeric.gradcheck import tolerance
from numeric.strategies import activation_pairs


@st.composite
def networks(draw, head: str, depths: tuple[int, ...] = (1, 2, 3, 4, 5)):
    """A description of the given head with small random widths, and m."""
    depth = draw(st.sampled_from(depths))
    f, g = draw(activation_pairs())
    acts = tuple((f, g)[i % 2] for i in range(depth - 1))
    low_q = 2 if head == "softmax-ce" else 1
    widths = (draw(st.integers(1, 4)), *draw(st.lists(st.integers(1, 4), min_size=depth - 1, max_size=depth - 1)),
              draw(st.integers(low_q, 4)))
    net = Network(
        widths=widths, activations=acts, head=head,
        reduction=draw(st.sampled_from(("mean", "sum"))),
        mse=draw(st.sampled_from(("half", "torch"))),
        l2=draw(st.sampled_from((0.0, 0.05, 1.0))),
        l2_convention=draw(st.sampled_from(("lambda/2m", "lambda/2"))),
    )
    return net, draw(st.integers(1, 4)), draw(st.integers(0, 2**16))


def _check(net: Network, m: int, seed: int) -> None:
    P, X, Y = draw_network_problem(net, m, seed=seed)
    names = net.gradient_names()
    derived = derive.gradient_function(net)(P, X, Y)
    hand = numeric.backward(P, X, Y, network=net)
    central = numeric.numerical_gradient(P, X, Y, network=net, method="central")
    errors = {"lambdified vs hand-written": compare_gradients(derived, hand, names)}
    # central differences carry an absolute error of order eps^(2/3) max(1, |J|) however
    # small the gradient (a deep sigmoid chain's gradient vanishes): the oracle's atol
    J = abs(numeric.cost(P, X, Y, network=net))
    floor = tolerance("central").atol * max(1.0, J)
    errors["hand-written vs central differences"] = {
        k: float(np.max(np.abs(hand[k] - central[k]))) / max(float(np.max(np.abs(central[k]))), floor / TOLERANCES[
            "hand-written vs central differences"]) for k in names}
    if all(numeric.get_activation(a).analytic for a in net.activations):
        errors["lambdified vs complex step"] = compare_gradients(
            derived, numeric.numerical_gradient(P, X, Y, network=net, method="complex"), names)
    worst = {k: max(v.values()) for k, v in errors.items()}
    assert all(worst[k] <= TOLERANCES[k] for k in worst), (net.describe(), m, seed, worst)


def _property(head: str, examples: int):
    @settings(max_examples=examples, suppress_health_check=[HealthCheck.too_slow], deadline=None)
    @given(networks(head))
    def run(case):
        _check(*case)

    return run


@pytest.mark.parametrize("head", numeric.HEADS)
def test_four_ways_agree(head):
    _property(head, 3)()


@pytest.mark.slow
@pytest.mark.parametrize("head", numeric.HEADS)
def test_four_ways_agree_many(head):
    _property(head, 60)()


@pytest.mark.parametrize("head", numeric.HEADS)
@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_every_depth_once(head, depth):
    widths = (3, 4, 2, 5, 3, 2)[:depth] + (3,)
    net = Network(widths=widths, activations=("tanh", "swish", "softplus", "gelu_tanh")[: depth - 1], head=head,
                  l2=0.1)
    _check(net, 3, depth)


def test_property_check_catches_a_wrong_head():
    """Negative control: the hand-written side of another convention fails the comparison."""
    net = Network(widths=(2, 3, 3), activations=("tanh",), head="identity-mse", mse="torch")
    other = Network(widths=(2, 3, 3), activations=("tanh",), head="identity-mse", mse="half")
    P, X, Y = draw_network_problem(net, 3, seed=1)
    errors = compare_gradients(derive.gradient_function(net)(P, X, Y), numeric.backward(P, X, Y, network=other),
                               net.gradient_names())
    assert max(errors.values()) > 1e-3
