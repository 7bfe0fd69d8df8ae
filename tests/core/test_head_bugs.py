"""The head and L2 bug catalog (tests/core/head_bugs.py): every slip is
caught by comparing with the derived gradients and points at the right
gradients; the slip-free twin raises no false alarm.

The false-alarm count runs over ``BACKPROP_DERIVE_FALSE_ALARM_EXAMPLES``
examples (default 10000) in the slow run; its figure is printed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

import derive
import numeric
from derive.verify import TOLERANCES
from numeric import Network
from numeric.compare import compare_gradients, draw_network_problem
sys.path.insert(0, str(Path(__file__).parent))  # robust to pytest's import mode

from head_bugs import BUGS, CATALOG, correct_backward  # noqa: E402

TOL = TOLERANCES["lambdified vs hand-written"]


def _errors(backward, net: Network, m: int, seed: int, widths=None) -> dict[str, float]:
    P, X, Y = draw_network_problem(net, m, seed=seed, widths=widths)
    return compare_gradients(backward(P, X, Y, net), derive.gradient_function(net)(P, X, Y), net.gradient_names())


def test_catalog_has_at_least_eight_bugs_over_every_head():
    assert len(CATALOG) >= 8
    assert {head for head, _, _ in CATALOG.values()} == set(numeric.HEADS)


@pytest.mark.parametrize("name", list(CATALOG))
@pytest.mark.parametrize("widths", [(3, 4, 3), (2, 5, 4, 3)], ids=["L2", "L3"])
def test_every_bug_is_caught_and_located(name, widths):
    head, options, changes = CATALOG[name]
    net = Network(widths=widths, activations=("tanh",) * (len(widths) - 2), head=head, **options)
    errors = _errors(BUGS[name], net, 4, seed=11)
    assert max(errors.values()) > 1e3 * TOL, (name, errors)
    flagged = {k[:2] for k, v in errors.items() if v > TOL}
    assert flagged == changes, (name, flagged)
    # the slip-free twin of the same code passes the same comparison
    assert max(_errors(correct_backward, net, 4, seed=11).values()) <= TOL


def _pool(rng: np.random.Generator, size: int = 96) -> list[Network]:
    """Descriptions with open widths (one compiled gradient function each):
    every head, depths 1..4, both reductions, MSE conventions, L2 off/small/large
    under both conventions, activations drawn from the catalog."""
    acts = ("tanh", "swish", "softplus", "relu", "leaky_relu", "gelu_tanh", "elu", "sigmoid", "mish", "selu")
    out = []
    for i in range(size):
        depth = 1 + (i // 4) % 4
        out.append(Network(
            activations=tuple(acts[int(j)] for j in rng.integers(0, len(acts), depth - 1)),
            head=numeric.HEADS[i % 4], reduction=("mean", "sum")[int(rng.integers(0, 2))],
            mse=("half", "torch")[int(rng.integers(0, 2))], l2=float(rng.choice([0.0, 0.01, 1.0])),
            l2_convention=("lambda/2m", "lambda/2")[int(rng.integers(0, 2))],
        ))
    return out


def _false_alarms(count: int) -> tuple[int, float]:
    """Run the slip-free backward on ``count`` drawn examples across the pool
    of descriptions, with random widths (1..5, q >= 2 for softmax), m (1..8)
    and values; return (alarms, worst error)."""
    rng = np.random.default_rng(20261130)
    pool = _pool(rng)
    alarms, worst = 0, 0.0
    for i in range(count):
        net = pool[i % len(pool)]
        q = int(rng.integers(2 if net.head == "softmax-ce" else 1, 5))
        widths = (*(int(w) for w in rng.integers(1, 6, net.depth)), q)
        err = max(_errors(correct_backward, net, int(rng.integers(1, 9)), seed=i, widths=widths).values())
        worst = max(worst, err)
        alarms += err > TOL
    return alarms, worst


def test_no_false_alarm_on_a_few_examples():
    alarms, worst = _false_alarms(12)
    assert alarms == 0, worst


@pytest.mark.slow
def test_no_false_alarm_over_ten_thousand_examples():
    count = int(os.environ.get("BACKPROP_DERIVE_FALSE_ALARM_EXAMPLES", "1000"))  # the one-off run: 10000
    alarms, worst = _false_alarms(count)
    print(f"\nfalse alarms: {alarms} of {count} examples; worst relative error {worst:.2e} (tolerance {TOL:.0e})")
    assert alarms == 0
