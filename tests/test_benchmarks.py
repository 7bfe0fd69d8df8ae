"""The benchmark harness's own wiring (benchmarks/): each tool it compares is
called as the tool's users call it, and reads a correct backward as correct
and a wrong one as wrong.  A tool that raised for its own wiring (calling a
module, a renamed function) was once counted as "caught" for every bug."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gcc():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gradcheck_cost

        yield gradcheck_cost
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


@pytest.mark.slow
def test_every_numpy_tool_passes_the_correct_backward_and_fails_a_wrong_one(gcc):
    P, X, Y = gcc.small_problem()
    tools = gcc.catalog_tools(P, X, Y, torch=None)
    assert "derive.check_backprop" in tools
    correct = gcc.correct_backward()
    wrong = gcc.fresh_catalog()["missing 1/m"][0]
    for name, tool in tools.items():
        assert tool(correct) is True, name  # a verdict, not an exception
        assert tool(wrong) is False, name
