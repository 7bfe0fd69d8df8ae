"""check_backprop against the catalog of classic backprop bugs: every bug is
caught, the right gradients are named, and the right kind of error is said."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # robust to pytest's import mode

from bug_catalog import CATALOG, correct_backward  # noqa: E402

from derive.backprop_check.check import check_backprop  # noqa: E402
from derive.backprop_check.localise import GRADS  # noqa: E402

# a short search: the probes alone catch every entry; the search only shrinks
OPTIONS = {"max_examples": 20, "seed": 0}


def _kind_said(report, wrong, kind):
    """``kind`` appears in the call's finding, the divergence line, or every named gradient's finding."""
    texts = {k: f"{fd.kind}: {fd.message}" for k, fd in report.findings.items()}
    if kind in texts.get("backward", "") or kind in report.divergence:
        return True
    return bool(wrong) and all(kind in texts.get(name, "") for name in wrong)


def test_the_catalog_has_at_least_20_bugs():
    assert len(CATALOG) >= 20
    assert all(set(wrong) <= set(GRADS) for _, wrong, _ in CATALOG.values())


def test_the_correct_user_implementation_passes():
    """Control: the catalog's own bug-free backward (naive sigmoid and all) is not flagged."""
    report = check_backprop(correct_backward, **OPTIONS)
    assert report.ok, str(report)


@pytest.mark.parametrize("name", list(CATALOG))
def test_every_bug_is_caught_named_and_explained(name):
    backward, wrong, kind = CATALOG[name]
    report = check_backprop(backward, **OPTIONS)
    assert not report.ok, f"{name} was not caught"
    named = [k for k in report.wrong if k in GRADS]
    assert sorted(named) == sorted(wrong), f"{name}: named {named}, expected {list(wrong)}\n{report}"
    if kind is not None:
        assert _kind_said(report, wrong, kind), f"{name}: the report does not say {kind!r}\n{report}"
    text = str(report)
    assert text.startswith(f"check_backprop({backward.__qualname__})") and "FAILED" in text
    assert all(g in text for g in wrong)
    assert report.smallest is not None


def test_localisation_is_the_first_wrong_layer_going_backwards():
    expected = {"sign flipped": 3, "missing 1/m": 2, "f'(A) instead of f'(Z)": 1, "stale cache (A1 for A2)": 3,
                "wrong dZ2 (dZ's returned)": 2}
    for name, layer in expected.items():
        assert check_backprop(CATALOG[name][0], **OPTIONS).diverges_at == layer, name


def test_kill_rate_is_100_percent():
    caught = sum(not check_backprop(fn, max_examples=0).ok for fn, _, _ in CATALOG.values())
    assert caught == len(CATALOG)
