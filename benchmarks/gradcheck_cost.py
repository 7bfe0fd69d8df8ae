"""Cost and power of gradient checks: helpers for section 2 of ``run.py``,
and a standalone run at the article's size.

Helpers (imported by ``benchmarks/run.py``):

* :func:`small_problem`: the small network every tool checks
  (``SMALL``: d = 6, n = 5, p = 4, q = 1, m = 8, f = swish, g = leaky_relu,
  float64), drawn clear of leaky_relu's kink;
* :func:`torch_network`: that network as a torch function of the six
  parameter tensors, counting its calls (cost evaluations) and the backward
  passes through its output;
* :func:`torch_catalog_function`: a catalog entry (a wrong *backward*) as a
  ``torch.autograd.Function`` whose forward is the true cost and whose
  backward returns the entry's gradients times ``grad_output``;
* :func:`catalog_tools` and :func:`catalog_outcomes`: run every catalog
  entry through every tool at its default settings and classify the result.

Standalone, at the article's size (d = 784, n = 128, p = 64, q = 1; 108,801
parameters) and a small batch (m = 8), the script runs
``numeric.oracles.directional_check`` (k random unit directions per
parameter, 2 cost evaluations each by central differences, 1 by the complex
step) and ``numeric.oracles.check_gradients`` (central differences on every
entry, 2 evaluations per parameter), then checks the catalog with the
directional check at full size.

Usage::

    PYTHONPATH=. python3 benchmarks/gradcheck_cost.py            # full every-entry run (~30 s)
    PYTHONPATH=. python3 benchmarks/gradcheck_cost.py --entries 20000   # time a prefix, extrapolate
"""

from __future__ import annotations

import argparse
import functools
import importlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "backprop_check"))  # bug_catalog.py

import numeric  # noqa: E402
from numeric.compare import draw_problem  # noqa: E402
from numeric.errors import InputError  # noqa: E402
from numeric.gradcheck import _Cost, _entry, default_step  # noqa: E402
from numeric.oracles import check_gradients, directional_check  # noqa: E402

NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")
SMALL = dict(d=6, n=5, p=4, q=1, m=8)
F, G = "swish", "leaky_relu"

Problem = tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]


def small_problem(seed: int = 0) -> Problem:
    """Parameters, X and Y of the small network (pre-activations 1e-3 clear of kinks)."""
    return draw_problem(**SMALL, f=F, g=G, seed=seed)


def fresh_catalog() -> dict[str, Any]:
    """The bug catalog, re-imported: one entry ("accumulated gradients") keeps
    state between calls, so every tool gets its own copy, as a user's process would."""
    import bug_catalog

    return importlib.reload(bug_catalog).CATALOG


def correct_backward() -> Callable[..., Mapping[str, np.ndarray]]:
    """The catalog's bug-free backward (the user's own NumPy code)."""
    import bug_catalog

    return bug_catalog.correct_backward


# ---------------------------------------------------------------- torch wrappers
class Counter:
    """Counts cost evaluations (calls) and backward passes of a torch cost function."""

    def __init__(self) -> None:
        self.calls = 0
        self.backwards = 0

    def reset(self) -> None:
        self.calls = self.backwards = 0


def torch_network(torch: Any, P: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray
                  ) -> tuple[Callable[..., Any], tuple[Any, ...], Counter]:
    """The network as ``J(W1, b1, W2, b2, W3, b3)`` in torch (autograd gives its backward).

    Returns the function, its float64 input tensors (requiring grad) and a
    :class:`Counter` of its calls and of the backward passes through ``J``.
    """
    tX, tY = torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64)
    nn_f, m, count = torch.nn.functional, X.shape[1], Counter()

    def _backward_seen(grad: Any) -> None:
        count.backwards += 1

    def J(W1: Any, b1: Any, W2: Any, b2: Any, W3: Any, b3: Any) -> Any:
        count.calls += 1
        A1 = nn_f.silu(W1 @ tX + b1)
        A2 = nn_f.leaky_relu(W2 @ A1 + b2, 0.01)
        Z3 = W3 @ A2 + b3
        out = nn_f.binary_cross_entropy_with_logits(Z3, tY, reduction="sum") / m
        if out.requires_grad:
            out.register_hook(_backward_seen)
        return out

    inputs = tuple(torch.tensor(P[k], dtype=torch.float64, requires_grad=True) for k in NAMES)
    return J, inputs, count


def torch_catalog_function(torch: Any, backward: Callable[..., Mapping[str, Any]],
                           X: np.ndarray, Y: np.ndarray) -> Callable[..., Any]:
    """``backward`` (NumPy, possibly wrong) as the backward of a torch Function.

    The forward is the true cost (:func:`numeric.cost`); the backward calls
    ``backward`` on copies of the saved parameters and returns each gradient
    times ``grad_output``.  A gradient the user's code does not return becomes
    ``None`` (torch's "no gradient"), as in a hand-written Function that
    forgets one; a gradient of the wrong shape is passed on as is, for torch to judge.
    """

    class UserBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, *params: Any) -> Any:
            ctx.save_for_backward(*params)
            P = {k: t.detach().numpy() for k, t in zip(NAMES, params)}
            return torch.tensor(numeric.cost(P, X, Y, F, G), dtype=torch.float64)

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> tuple[Any, ...]:
            P = {k: t.detach().numpy().copy() for k, t in zip(NAMES, ctx.saved_tensors)}
            grads = backward(P, X.copy(), Y.copy())
            return tuple(grad_output * torch.as_tensor(np.asarray(grads["d" + k], dtype=np.float64))
                         if "d" + k in grads else None for k in NAMES)

    return UserBackward.apply


# ---------------------------------------------------------------- the catalog, tool by tool
@dataclass
class Outcome:
    """One tool on one catalog entry.

    ``verdict``: "caught" (the check failed), "error" (the tool stopped with an
    error: it rejected the gradients' shapes or keys, or the user's backward
    raised inside it), or "missed" (the check passed).
    """

    verdict: str
    detail: str = ""

    @property
    def caught(self) -> bool:
        return self.verdict != "missed"


Tool = Callable[[Callable[..., Any]], bool]  # backward -> the check passed


def catalog_tools(P: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray,
                  torch: Any | None) -> dict[str, Tool]:
    """Each tool at its default settings, as ``backward -> passed``."""
    import derive

    tools: dict[str, Tool] = {
        "derive.check_backprop": lambda bw: derive.check_backprop(bw, f=F, g=G).ok,
        "directional_check (central, 2 directions)": lambda bw: directional_check(P, X, Y, F, G, grads=bw).ok,
        "check_gradients (central, every entry)": lambda bw: check_gradients(P, X, Y, F, G, grads=bw).ok,
    }
    if torch is not None:
        inputs = tuple(torch.tensor(P[k], dtype=torch.float64, requires_grad=True) for k in NAMES)
        for label, fast in (("torch gradcheck (default)", False), ("torch gradcheck (fast_mode)", True)):
            tools[label] = functools.partial(_torch_gradcheck, torch, X, Y, inputs, fast)
    return tools


def _torch_gradcheck(torch: Any, X: np.ndarray, Y: np.ndarray, inputs: tuple[Any, ...], fast: bool,
                     backward: Callable[..., Any]) -> bool:
    GradcheckError = importlib.import_module("torch.autograd.gradcheck").GradcheckError
    try:
        return bool(torch.autograd.gradcheck(torch_catalog_function(torch, backward, X, Y), inputs,
                                             fast_mode=fast))
    except GradcheckError:
        return False


def catalog_outcomes(tools: Mapping[str, Tool]) -> dict[str, dict[str, Outcome]]:
    """tool -> entry -> :class:`Outcome`, each tool with a fresh catalog."""
    out: dict[str, dict[str, Outcome]] = {}
    for label, tool in tools.items():
        out[label] = {}
        for name, (backward, _, _) in fresh_catalog().items():
            raised: list[BaseException] = []

            @functools.wraps(backward)
            def watched(P: Any, X: Any, Y: Any, _bw: Callable[..., Any] = backward) -> Any:
                try:
                    return _bw(P, X, Y)
                except Exception as exc:
                    raised.append(exc)
                    raise

            try:
                with np.errstate(all="ignore"):
                    passed = tool(watched)
                out[label][name] = Outcome("missed" if passed else "caught")
            except Exception as exc:  # noqa: BLE001 - an error stops the user too: reported as such
                who = "backward raised" if raised else "tool raised"
                out[label][name] = Outcome("error", f"{who} {type(exc).__name__}")
    return out


# ---------------------------------------------------------------- standalone run at full size
def _prefix_timing(P, X, Y, entries: int) -> tuple[int, float]:
    """Central differences on the first ``entries`` entries (W1 first), timed."""
    J = _Cost(P, X, Y, F, G, np.float64)
    steps = default_step(J.base["W1"])
    t0 = time.perf_counter()
    for i, idx in enumerate(np.ndindex(J.base["W1"].shape)):
        if i == entries:
            break
        _entry(J, "central", "W1", idx, float(steps[idx]))
    return J.evaluations, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--m", type=int, default=8, help="batch size (default 8)")
    ap.add_argument("--directions", type=int, default=2, help="directions per parameter (default 2)")
    ap.add_argument("--entries", type=int, default=0,
                    help="time only this many entries of the every-entry check and extrapolate (0: all)")
    args = ap.parse_args(argv)

    d, n, p, q, m = 784, 128, 64, 1, args.m
    P, X, Y = draw_problem(d, n, p, q, m, seed=0)
    N = sum(v.size for v in P.values())
    print(f"network d={d} n={n} p={p} q={q}, m={m}: {N} parameters")

    for method in ("central", "complex"):
        r = directional_check(P, X, Y, method=method, directions=args.directions)
        print(f"directional ({method}, {args.directions} directions x 6 parameters): "
              f"{r.evaluations} evaluations, {r.seconds:.4f} s, ok={r.ok}")

    if args.entries:
        evals, secs = _prefix_timing(P, X, Y, args.entries)
        print(f"every entry (central): timed {evals} evaluations in {secs:.2f} s; "
              f"extrapolated to {2 * N} evaluations: {secs / evals * 2 * N:.1f} s")
    else:
        r = check_gradients(P, X, Y, method="central")
        worst = max(c.rel_error for c in r.checks.values())
        print(f"every entry (central): {r.evaluations} evaluations, {r.seconds:.1f} s, ok={r.ok}, "
              f"worst relative error {worst:.1e}")

    for method in ("central", "complex"):
        missed, t0 = [], time.perf_counter()
        catalog = fresh_catalog()
        for name, (backward, _, _) in catalog.items():
            try:
                with np.errstate(all="ignore"):
                    ok = directional_check(P, X, Y, grads=backward, method=method, directions=args.directions).ok
            except (InputError, ValueError, KeyError):  # wrong shapes, missing keys, crashes
                ok = False
            if ok:
                missed.append(name)
        print(f"directional ({method}) at full size catches {len(catalog) - len(missed)}/{len(catalog)} catalog "
              f"bugs in {time.perf_counter() - t0:.2f} s; missed: {', '.join(missed) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
