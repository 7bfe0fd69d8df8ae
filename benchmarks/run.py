"""Benchmark harness: ``python benchmarks/run.py [--out FILE] [--quick] [--section N ...]``.

Prints one markdown table per section.  Every figure is a median over
repeated runs after a warm-up, with min and max beside it; every comparison
is a ratio of two measurements taken in the same run, interleaved (the
median of per-round ratios).  Sections needing PyTorch (the ``bench``
extra) say "skipped: torch not installed" when it is absent.

Sections:
    1. gradient evaluation: numeric.backward, derive.gradient_function,
       torch autograd, and the matmul-only time (the machine's limit);
    2. checking cost: check_backprop and directional checks vs
       torch.autograd.gradcheck, and which catalog bugs each catches;
    3. symbolic work: derive, prove exactly, lambdify; proof time vs size;
    4. user-facing latency: check_activation, the CLI, report, pytest.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _harness import markdown_table, measure, ratio  # noqa: E402

import derive  # noqa: E402
import numeric  # noqa: E402

SHAPE = dict(d=784, n=128, p=64, q=1)


def _torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(_blas_threads())
    return torch


def _blas_threads() -> int:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return os.cpu_count() or 1


def _problem(m: int, seed: int = 0):
    params = numeric.init_params(**SHAPE, seed=seed)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((SHAPE["d"], m))
    Y = (rng.random((SHAPE["q"], m)) < 0.5).astype(np.float64)
    return params, X, Y


def _torch_backward(torch, params, X, Y) -> Callable[[], Any]:
    names = ["W1", "b1", "W2", "b2", "W3", "b3"]
    tp = [torch.tensor(params[k], dtype=torch.float64, requires_grad=True) for k in names]
    tX, tY = torch.tensor(X), torch.tensor(Y)
    F = torch.nn.functional
    m = X.shape[1]

    def run():
        W1, b1, W2, b2, W3, b3 = tp
        A1 = F.silu(W1 @ tX + b1)
        A2 = F.leaky_relu(W2 @ A1 + b2, 0.01)
        Z3 = W3 @ A2 + b3
        J = F.binary_cross_entropy_with_logits(Z3, tY, reduction="sum") / m
        return torch.autograd.grad(J, tp)

    return run


def _matmul_only(params, X, Y) -> Callable[[], Any]:
    """The eight GEMMs of forward + backward, with no elementwise work."""
    W1, W2, W3 = params["W1"], params["W2"], params["W3"]

    def run():
        Z1 = W1 @ X
        Z2 = W2 @ Z1
        Z3 = W3 @ Z2
        G2 = W3.T @ Z3
        _ = Z3 @ Z2.T
        G1 = W2.T @ G2
        _ = G2 @ Z1.T
        _ = G1 @ X.T

    return run


def section_gradients(quick: bool) -> str:
    torch = _torch()
    grad_fn = derive.gradient_function("swish", "leaky_relu")
    rows = []
    for m in (64, 1024, 8192):
        params, X, Y = _problem(m)
        cands = {
            "hand": lambda: numeric.backward(params, X, Y, "swish", "leaky_relu"),
            "lambdified": lambda: grad_fn(params, X, Y),
            "matmul": _matmul_only(params, X, Y),
        }
        if torch is not None:
            cands["torch"] = _torch_backward(torch, params, X, Y)
        reps = 7 if quick else (41 if m <= 1024 else 21)
        t = measure(cands, repeats=reps, warmup=3)
        row = [m, t["hand"].ms(), t["lambdified"].ms(), t["torch"].ms() if torch else "skipped: torch not installed",
               t["matmul"].ms(), f"{ratio(t['lambdified'], t['hand']):.3f}",
               f"{ratio(t['hand'], t['torch']):.3f}" if torch else "n/a",
               f"{ratio(t['hand'], t['matmul']):.3f}"]
        rows.append(row)
    header = ["m", "hand-written ms", "lambdified ms", "torch autograd ms", "matmul-only ms",
              "lambdified / hand (<= 1.05)", "hand / torch (<= 0.90 at m >= 1024)",
              "hand / matmul-only (<= 1.3)"]
    threads = _blas_threads()
    title = (f"## 1. Gradient evaluation, (d, n, p, q) = (784, 128, 64, 1), f = swish, g = leaky_relu, "
             f"float64, {threads} threads\n\nmedian (min-max) in ms; ratios are medians of per-round ratios.\n")
    return title + "\n" + markdown_table(header, rows)


def section_symbolic(quick: bool) -> str:
    from derive.chain import derive_backward, derive_forward
    from derive.lambdified import GradientFunction
    from derive.activations import activation_expr
    from derive.proof import PROOF_SHAPES, prove_exact

    t = measure({"derive": lambda: (derive_forward(), derive_backward())}, repeats=5 if quick else 15)
    lam = measure(
        {"lambdify": lambda: GradientFunction({"f": activation_expr("swish"), "g": activation_expr("leaky_relu")})},
        repeats=3 if quick else 7,
    )
    rows = [["derive forward + backward (symbolic)", t["derive"].ms()],
            ["lambdify the gradient function (swish, leaky_relu)", lam["lambdify"].ms()]]
    for shape in PROOF_SHAPES:
        p = measure({"prove": lambda: prove_exact(shape)}, repeats=1 if quick else 3, warmup=0)
        rows.append([f"prove exactly at (d, n, p, q, m) = {shape}", p["prove"].ms()])
    # growth: square-ish steps until one exceeds 10 s
    growth = []
    largest = None
    for k in (1, 2, 3, 4):
        shape = (k, k, k, k, k)
        t0 = time.perf_counter()
        ok = prove_exact(shape).ok
        dt = time.perf_counter() - t0
        growth.append([str(shape), f"{dt:.2f} s", "proven" if ok else "FAILED"])
        if dt <= 10 and ok:
            largest = shape
        if dt > 10 or quick and k >= 3:
            break
    out = "## 3. Symbolic work\n\n" + markdown_table(["step", "median (min-max) ms"], rows)
    out += "\n\nProof time against size (d = n = p = q = m = k):\n\n"
    out += markdown_table(["(d, n, p, q, m)", "time", "result"], growth)
    out += f"\n\nLargest of these proven exactly within 10 s: {largest}."
    return out


SECTIONS = {1: section_gradients, 3: section_symbolic}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="also write the tables to this markdown file")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument("--section", type=int, action="append", choices=sorted(SECTIONS),
                        help="run only these sections (repeatable)")
    args = parser.parse_args(argv)
    chosen = args.section or sorted(SECTIONS)
    parts = [f"# backprop-derive benchmarks\n\nnumpy {np.__version__}, python {sys.version.split()[0]}, "
             f"{os.cpu_count()} cores\n"]
    for n in chosen:
        print(f"[bench] section {n} ...", file=sys.stderr, flush=True)
        text = SECTIONS[n](args.quick)
        print(text + "\n", flush=True)
        parts.append(text)
    if args.out:
        args.out.write_text("\n\n".join(parts) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
