"""Gradient evaluation at (784, 128, 64, 1): hand-written, lambdified, generated, GEMM-only (and torch).

Each configuration (BLAS threads x OpenBLAS setting) runs in a fresh
subprocess, several times, the runs of different configurations taking
turns; inside a run the candidates are timed interleaved, round by round
(:func:`_harness.measure`).  A ratio is the median of per-round ratios
pooled over the runs; beside it, in brackets, the lowest and highest
per-run median (the spread between runs).

The OpenBLAS setting is changed in the benchmark subprocess alone:
"as set" inherits the environment (``OPENBLAS_CORETYPE``,
``OPENBLAS_L2_SIZE`` as the machine sets them, or ``--coretype``),
"unset" removes both, so OpenBLAS picks the kernel for the CPU it
detects.  Which kernel ran is read in the subprocess with threadpoolctl.

Run it through ``python benchmarks/run.py --section 1``, or directly:
``python benchmarks/gradients.py --worker --threads 2`` prints one run as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHAPE = dict(d=784, n=128, p=64, q=1)
SIZES = (1024, 8192)
BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
CANDIDATES = ("hand", "lambdified", "generated", "gemm", "torch")


# ------------------------------------------------------------------ inside the subprocess
def _problem(m: int, seed: int = 0) -> tuple[dict, Any, Any]:
    import numpy as np

    import numeric

    params = numeric.init_params(**SHAPE, seed=seed)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((SHAPE["d"], m))
    Y = (rng.random((SHAPE["q"], m)) < 0.5).astype(np.float64)
    return params, X, Y


def gemm_only(params: dict, X: Any) -> Callable[[], None]:
    """The eight matrix products of forward + backward and nothing else, into
    preallocated outputs where the result is m columns wide (the machine's floor)."""
    import numpy as np

    W1, W2, W3 = params["W1"], params["W2"], params["W3"]
    m = X.shape[1]
    Z1, Z2, Z3 = (np.empty((W.shape[0], m)) for W in (W1, W2, W3))
    G2, G1 = np.empty((W2.shape[0], m)), np.empty((W1.shape[0], m))

    def run() -> None:
        np.matmul(W1, X, out=Z1)
        np.matmul(W2, Z1, out=Z2)
        np.matmul(W3, Z2, out=Z3)
        np.matmul(W3.T, Z3, out=G2)
        _ = Z3 @ Z2.T
        np.matmul(W2.T, G2, out=G1)
        _ = G2 @ Z1.T
        _ = G1 @ X.T

    return run


def torch_backward(torch: Any, params: dict, X: Any, Y: Any) -> Callable[[], Any]:
    """The same network in torch, gradients by autograd."""
    names = ["W1", "b1", "W2", "b2", "W3", "b3"]
    tp = [torch.tensor(params[k], dtype=torch.float64, requires_grad=True) for k in names]
    tX, tY = torch.tensor(X), torch.tensor(Y)
    F = torch.nn.functional
    m = X.shape[1]

    def run() -> Any:
        W1, b1, W2, b2, W3, b3 = tp
        A1 = F.silu(W1 @ tX + b1)
        A2 = F.leaky_relu(W2 @ A1 + b2, 0.01)
        Z3 = W3 @ A2 + b3
        J = F.binary_cross_entropy_with_logits(Z3, tY, reduction="sum") / m
        return torch.autograd.grad(J, tp)

    return run


def _blas_info() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"internal_api": "unknown (threadpoolctl not installed)"}]
    return [{k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for i in threadpool_info() if i.get("user_api") == "blas"]


def worker(sizes: list[int], rounds: list[int], warmup: int, with_torch: bool) -> dict[str, Any]:
    """One run: every candidate timed interleaved at each m; seconds per round."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(HERE))
    import numpy as np  # noqa: F401 - loads OpenBLAS before threadpoolctl looks
    from _harness import measure

    import numeric
    from derive.codegen import compile_gradient

    torch = None
    if with_torch:
        try:
            import torch
            torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "0") or os.cpu_count() or 1))
        except ImportError:
            torch = None
    lam = lambdified("swish", "leaky_relu")
    gen = compile_gradient("swish", "leaky_relu")
    out: dict[str, Any] = {"blas": _blas_info(), "torch": torch is not None, "m": {}}
    for m, reps in zip(sizes, rounds):
        params, X, Y = _problem(m)
        cands = {
            "hand": lambda: numeric.backward(params, X, Y, "swish", "leaky_relu"),
            "lambdified": lambda: lam(params, X, Y),
            "generated": lambda: gen(params, X, Y),
            "gemm": gemm_only(params, X),
        }
        if torch is not None:
            cands["torch"] = torch_backward(torch, params, X, Y)
        t = measure(cands, repeats=reps, warmup=warmup)
        out["m"][str(m)] = {k: v.samples for k, v in t.items()}
    return out


def lambdified(f: str, g: str) -> Any:
    """sympy's lambdify path: ``derive.lambdified.lambdified_gradient`` once
    ``derive.gradient_function`` returns the generated code, else ``derive.gradient_function``."""
    import derive.lambdified as lam

    return getattr(lam, "lambdified_gradient", lam.gradient_function)(f, g)


# ------------------------------------------------------------------ in the parent
def _env(threads: int, setting: str, coretype: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), OMP_WAIT_POLICY="PASSIVE")
    if setting == "unset":
        for var in BLAS_VARS:
            env.pop(var, None)
    elif coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    return env


def _label(setting: str, coretype: str | None) -> str:
    if setting == "unset":
        return "OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset"
    if coretype:
        return f"OPENBLAS_CORETYPE={coretype}"
    vals = [f"{v}={os.environ[v]}" for v in BLAS_VARS if v in os.environ]
    return "as set: " + (", ".join(vals) if vals else "neither variable set")


def _run_once(threads: int, setting: str, coretype: str | None, sizes: list[int], rounds: list[int],
              warmup: int, with_torch: bool) -> dict[str, Any]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--worker", "--sizes", *map(str, sizes),
            "--rounds", *map(str, rounds), "--warmup", str(warmup)] + ([] if with_torch else ["--no-torch"])
    proc = subprocess.run(argv, env=_env(threads, setting, coretype), capture_output=True, text=True,
                          timeout=900, cwd=ROOT)
    if proc.returncode:
        raise RuntimeError(f"benchmark worker failed ({threads} threads, {setting}): {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _ratio(runs: list[dict[str, list[float]]], a: str, b: str) -> str:
    per_run = [[x / y for x, y in zip(r[a], r[b])] for r in runs]
    pooled = statistics.median(v for run in per_run for v in run)
    meds = [statistics.median(run) for run in per_run]
    return f"{pooled:.3f} [{min(meds):.3f}-{max(meds):.3f}]"


def _ms(runs: list[dict[str, list[float]]], name: str) -> str:
    s = [v * 1e3 for r in runs for v in r[name]]
    return f"{statistics.median(s):.2f} ({min(s):.2f}-{max(s):.2f})"


def _kernel(info: list[dict[str, Any]]) -> str:
    return "; ".join(f"{i.get('internal_api')} {i.get('version') or ''} {i.get('architecture') or ''}, "
                     f"{i.get('num_threads')} thread{'' if i.get('num_threads') == 1 else 's'}".replace("  ", " ") for i in info) or "no BLAS found"


def section(*, quick: bool = False, runs: int = 3, threads: tuple[int, ...] = (1, 2), coretype: str | None = None,
            with_torch: bool = True, progress: Callable[[str], None] = lambda s: None) -> str:
    """The markdown section: one row per (threads, OpenBLAS setting, m)."""
    runs = 1 if quick else runs
    rounds = [5, 3] if quick else [40, 15]
    warmup = 1 if quick else 3
    settings = ["as set", "unset"]
    results: dict[tuple[int, str], list[dict[str, Any]]] = {}
    t0 = time.perf_counter()
    for r in range(runs):
        for t in threads:
            for s in settings:
                progress(f"run {r + 1}/{runs}, {t} thread(s), OpenBLAS {s}")
                results.setdefault((t, s), []).append(
                    _run_once(t, s, coretype, list(SIZES), rounds, warmup, with_torch))
    secs = time.perf_counter() - t0
    torch_ok = all(x["torch"] for v in results.values() for x in v)
    rows = []
    for (t, s), res in results.items():
        kernels = sorted({_kernel(x["blas"]) for x in res})
        for m in SIZES:
            per = [x["m"][str(m)] for x in res]
            rows.append([t, _label(s, coretype), " / ".join(kernels), m, _ms(per, "hand"), _ms(per, "lambdified"),
                         _ms(per, "generated"), _ms(per, "gemm"), _ms(per, "torch") if torch_ok else "n/a",
                         _ratio(per, "generated", "hand"), _ratio(per, "lambdified", "hand"),
                         _ratio(per, "hand", "gemm"), _ratio(per, "generated", "gemm"),
                         _ratio(per, "hand", "torch") if torch_ok else "n/a"])
    header = ["threads", "OpenBLAS setting (benchmark subprocess only)", "kernel that ran (threadpoolctl)", "m",
              "hand-written ms", "lambdified ms", "generated ms", "GEMM-only ms", "torch autograd ms",
              "generated / hand (<= 1.00)", "lambdified / hand", "hand / GEMM-only (<= 1.20)",
              "generated / GEMM-only", "hand / torch"]
    from _harness import markdown_table

    n_rounds = ", ".join(f"{n} at m = {m}" for n, m in zip(rounds, SIZES))
    title = (f"## 1. Gradient evaluation, (d, n, p, q) = (784, 128, 64, 1), f = swish, g = leaky_relu, float64\n\n"
             f"hand-written: `numeric.backward`; lambdified: sympy's lambdify path (`derive.lambdified`); "
             f"generated: `derive.codegen.compile_gradient` (in-place NumPy source); GEMM-only: the eight matrix "
             f"products alone, into preallocated outputs (the floor); torch: autograd, OpenMP threads passive. "
             f"{runs} run(s) per configuration, each a fresh process, configurations taking turns; {n_rounds} "
             f"interleaved rounds per run after {warmup} warm-up rounds. Times: median (min-max) in ms over all "
             f"rounds; ratios: median of the per-round ratios over all rounds [lowest-highest per-run median]. "
             f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores "
             f"(numpy {_numpy_version()}, Python {sys.version.split()[0]}) in {secs:.0f} s.\n")
    return title + "\n" + markdown_table(header, rows)


def _numpy_version() -> str:
    import numpy

    return numpy.__version__


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worker", action="store_true", help="one run in this process; print JSON")
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--rounds", type=int, nargs="+", default=[40, 15])
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--coretype", help="OPENBLAS_CORETYPE for the 'as set' configuration")
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.sizes, args.rounds, args.warmup, not args.no_torch)))
        return 0
    print(section(quick=args.quick, coretype=args.coretype, with_torch=not args.no_torch,
                  progress=lambda s: print(f"[bench] {s}", file=sys.stderr, flush=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
