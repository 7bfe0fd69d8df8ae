"""Benchmark harness: ``python benchmarks/run.py [--out FILE] [--quick] [--section N ...] [--skip-pytest] [--update-results]``.

Prints one markdown table per section.  Every figure is a median over
repeated runs after a warm-up, with min and max beside it; every comparison
is a ratio of two measurements taken in the same run, interleaved (the
median of per-round ratios).  Sections needing PyTorch (the ``bench``
extra) say "skipped: torch not installed" when it is absent.

Sections:
    1. gradient evaluation: numeric.backward, derive.gradient_function,
       the generated code (derive.codegen), the GEMM-only floor and torch
       autograd, at 1 and 2 threads, with the machine's OpenBLAS setting and
       with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset in the benchmark
       subprocess alone (module gradients.py; about 4 minutes);
    2. checking cost: check_backprop and directional checks vs
       torch.autograd.gradcheck, and which catalog bugs each catches;
    3. symbolic work: derive, prove exactly, lambdify; proof time vs size;
    4. user-facing latency: check_activation, the CLI, report, pytest.
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import tempfile
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
    # torch's OpenMP threads busy-wait after each call (up to 200 ms), which
    # steals the cores from whatever runs next in an interleaved round;
    # passive waiting keeps the comparison fair (set before torch loads).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
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


def section_gradients(opts: argparse.Namespace) -> str:
    """Hand-written, lambdified, generated and GEMM-only at 1 and 2 threads, both OpenBLAS settings
    (module :mod:`gradients`: each configuration in its own subprocesses)."""
    import gradients

    return gradients.section(quick=opts.quick, runs=opts.runs, coretype=opts.coretype,
                             progress=lambda s: print(f"[bench] section 1: {s}", file=sys.stderr, flush=True))


# ---------------------------------------------------------------- 2. checking cost
_SKIP_TORCH = "skipped: torch not installed"


def section_checking(opts: argparse.Namespace) -> str:
    """check_backprop, the numeric oracles and torch.autograd.gradcheck on one small network."""
    import gradcheck_cost as gcc
    from numeric.compare import compare_gradients
    from numeric.gradcheck import tolerance
    from numeric.oracles import check_gradients, directional_check

    torch = _torch()
    P, X, Y = gcc.small_problem()
    F, G = gcc.F, gcc.G
    size = sum(v.size for v in P.values())
    backward = gcc.correct_backward()
    # check_backprop calls the backward in a forked child (its sandbox): count the calls in a file
    fd, name = tempfile.mkstemp(prefix="bench-calls-")
    os.close(fd)
    tally = Path(name)

    @functools.wraps(backward)
    def counted(P_, X_, Y_):
        with tally.open("a") as fh:
            fh.write(".")
        return backward(P_, X_, Y_)

    cands: dict[str, Callable[[], Any]] = {
        "check_backprop": lambda: derive.check_backprop(backward, f=F, g=G),
        "directional": lambda: directional_check(P, X, Y, F, G, grads=backward),
        "every entry": lambda: check_gradients(P, X, Y, F, G, grads=backward),
    }
    if torch is not None:
        J, inputs, count = gcc.torch_network(torch, P, X, Y)
        cands["gradcheck"] = lambda: torch.autograd.gradcheck(J, inputs)
        cands["gradcheck fast"] = lambda: torch.autograd.gradcheck(J, inputs, fast_mode=True)
    t = measure(cands, repeats=3 if opts.quick else 15, warmup=1)

    # one more run of each, outside the timing, to count its work and read its verdict
    tally.write_text("")
    cb = derive.check_backprop(counted, f=F, g=G)
    calls = [len(tally.read_text())]
    tally.unlink()
    dr = directional_check(P, X, Y, F, G, grads=backward)
    ee = check_gradients(P, X, Y, F, G, grads=backward)
    central = tolerance("central")
    verdict = {True: "ok", False: "FAILED"}

    def vs_torch(name: str) -> str:
        return f"{ratio(t[name], t['gradcheck']):.3g}" if torch is not None else "n/a"

    rows = [
        ["derive.check_backprop", f"defaults: {len(cb.probes)} probes + hypothesis (max_examples 60, sizes "
         f"<= 6), rtol {cb.rtol:.0e} of each entry's rounding bound", "0",
         f"{calls[0]} backward calls; {len(cb.probes) + cb.examples} derived-gradient evaluations "
         f"({len(cb.probes)} probes, {cb.examples} examples)", verdict[cb.ok], t["check_backprop"].ms(),
         vs_torch("check_backprop")],
        ["numeric.oracles.directional_check", f"central, 2 random directions per parameter, "
         f"rtol = atol = {central.rtol:.1e}", dr.evaluations, "1 backward call", verdict[dr.ok],
         t["directional"].ms(), vs_torch("directional")],
        ["numeric.oracles.check_gradients", f"central, every entry, rtol = atol = {central.rtol:.1e}",
         ee.evaluations, "1 backward call", verdict[ee.ok], t["every entry"].ms(), vs_torch("every entry")],
    ]
    if torch is not None:
        for name, fast in (("gradcheck", False), ("gradcheck fast", True)):
            count.reset()
            ok = torch.autograd.gradcheck(J, inputs, fast_mode=fast)
            rows.append([f"torch.autograd.gradcheck{' (fast_mode)' if fast else ''}",
                         f"eps 1e-6, atol 1e-5, rtol 1e-3{', fast_mode=True' if fast else ''}", count.calls,
                         f"{count.backwards} backward passes (autograd)", verdict[ok], t[name].ms(), vs_torch(name)])
    else:
        rows += [[f"torch.autograd.gradcheck{label}", _SKIP_TORCH, "", "", "", "", ""]
                 for label in ("", " (fast_mode)")]
    shape = ", ".join(f"{k} = {v}" for k, v in gcc.SMALL.items())
    threads = f", torch {torch.get_num_threads()} threads" if torch is not None else ""
    out = (f"## 2. Checking cost, ({shape}), f = {F}, g = {G}, float64 ({size} parameters{threads})\n\n"
           "Each tool checks the same correct backward (the bug catalog's `correct_backward`; torch: the same "
           "network in torch, autograd's backward). Times are median (min-max) in ms; the last column is the "
           "median of per-round ratios against torch.autograd.gradcheck at its defaults.\n\n")
    out += markdown_table(["tool", "settings", "cost evaluations", "gradient work", "verdict",
                           "ms", "time / torch gradcheck"], rows)

    # which catalog bugs each tool catches at its default settings
    tools = gcc.catalog_tools(P, X, Y, torch)
    crows = []
    for label, tool in tools.items():
        t0 = time.perf_counter()
        res = gcc.catalog_outcomes({label: tool})[label]
        secs = time.perf_counter() - t0
        caught = [n for n, o in res.items() if o.caught]
        errors = [f"{n} ({o.detail})" for n, o in res.items() if o.verdict == "error"]
        missed = [n for n, o in res.items() if not o.caught]
        crows.append([label, f"{len(caught)}/{len(res)}", "; ".join(errors) or "none",
                      ", ".join(missed) or "none", f"{secs:.2f}"])
    if torch is None:
        crows += [[f"torch gradcheck ({m})", _SKIP_TORCH, "", "", ""] for m in ("default", "fast_mode")]
    out += ("\n\nThe 26-entry bug catalog (tests/backprop_check/bug_catalog.py: wrong backward functions), each tool at its "
            "default settings on the network above (check_backprop on its own probes and drawn shapes). "
            "\"Caught\" counts a failed check and an error that stops the tool (it rejects a gradient's shape "
            "or a missing key, or the user's backward raises inside it); the third column lists the errors. "
            "For torch, each entry is a `torch.autograd.Function` whose forward is the true cost and whose "
            "backward returns the entry's gradients times grad_output (a missing gradient becomes None); "
            "a GradcheckError counts as caught. The oracles compare the entry's gradients with their numeric "
            "derivatives.\n\n")
    out += markdown_table(["tool", "caught", "of which by an error, not a verdict", "missed",
                           "s for the catalog"], crows)
    catalog = gcc.fresh_catalog()
    truth = backward(P, X, Y)
    small = {name: max(compare_gradients(catalog[name][0](P, X, Y), truth).values())
             for name in ("epsilon shift", "float32 gradients", "mean over q x m")}
    out += (f"\n\nNote on the misses, at this shape: the largest relative error of the gradients of \"mean over "
            f"q x m\" is {small['mean over q x m']:.1g} (at q = 1 it is the correct formula, so no check at this "
            f"shape can see it); of \"epsilon shift\" {small['epsilon shift']:.1g} and of \"float32 gradients\" "
            f"{small['float32 gradients']:.1g}, which finite differences do not resolve at their default "
            f"tolerances (oracles: rtol = atol = {central.rtol:.1e}; gradcheck: atol 1e-5, rtol 1e-3). "
            "\"accumulated gradients\" is right on its first call and wrong on the next, so only a tool that "
            "calls the backward twice on one input sees it (torch gradcheck's reentrancy check, check_backprop's "
            "repeat call). check_backprop also varies the shapes (q > 1) and compares with the derived gradients "
            "to 1e-12 of each entry's rounding bound.")
    return out


def section_symbolic(opts: argparse.Namespace) -> str:
    quick = opts.quick
    from derive.chain import derive_backward, derive_forward
    import derive.lambdified as lambdified_module
    from derive.codegen import GeneratedGradient
    from derive.expr import activation_expr
    from derive.proof.exact import PROOF_SHAPES, prove_exact
    from sympy.core.cache import clear_cache

    t = measure({"derive": lambda: (derive_forward(), derive_backward())}, repeats=5 if quick else 15)
    # the lambdify class: LambdifiedGradient once gradient_function returns the generated code
    Lambdified = getattr(lambdified_module, "LambdifiedGradient", lambdified_module.GradientFunction)
    acts = {"f": activation_expr("swish"), "g": activation_expr("leaky_relu")}
    lam = measure({"lambdify": lambda: Lambdified(acts), "generate": lambda: GeneratedGradient(acts)},
                  repeats=3 if quick else 7)
    rows = [["derive forward + backward (symbolic)", t["derive"].ms()],
            ["lambdify the gradient function (swish, leaky_relu)", lam["lambdify"].ms()],
            ["generate and compile the in-place gradient code (derive.codegen; swish, leaky_relu)",
             lam["generate"].ms()]]
    for shape in PROOF_SHAPES:
        # cold: sympy's cache would otherwise make every repeat a lookup
        p = measure({"prove": lambda: (clear_cache(), prove_exact(shape))}, repeats=1 if quick else 3, warmup=0)
        rows.append([f"prove exactly at (d, n, p, q, m) = {shape}", p["prove"].ms()])
    # growth, cold: each size in a fresh interpreter (import of derive and sympy included), k = 1..5
    # or until one size takes over 60 s
    import proof_growth

    growth = []
    largest = None
    for k in (1, 2, 3, 4, 5):
        line = proof_growth.run((k,) * 5)  # "(k, ...)  entries N  wall W s  cpu C s  proof P s  verdict  (load L)"
        fields = line.split()
        wall, cpu, proof = (float(fields[fields.index(w) + 1]) for w in ("wall", "cpu", "proof"))
        ok = "proven" in fields
        growth.append([str((k,) * 5), f"{wall:.2f} s", f"{cpu:.2f} s", f"{proof:.2f} s",
                       "proven" if ok else "FAILED"])
        if wall <= 10 and ok:
            largest = (k,) * 5
        if wall > 60 or quick and k >= 3:
            break
    out = "## 3. Symbolic work\n\n" + markdown_table(["step", "median (min-max) ms"], rows)
    out += ("\n\nProof time against size (d = n = p = q = m = k), cold: each size in a fresh process "
            "(`benchmarks/proof_growth.py`); wall includes starting Python and importing derive and sympy, "
            "CPU is the whole child process, proof is `prove_exact`'s own time:\n\n")
    out += markdown_table(["(d, n, p, q, m)", "wall", "CPU", "proof", "result"], growth)
    out += f"\n\nLargest of these proven exactly within 10 s (wall, cold): {largest}."
    return out


# ---------------------------------------------------------------- 4. user-facing latency
def _subprocess(argv: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def _last_line(text: str) -> str:
    lines = [ln.strip(" =") for ln in text.splitlines() if ln.strip(" =")]
    return lines[-1] if lines else ""


def section_latency(opts: argparse.Namespace) -> str:
    """check_activation warm, the CLI cold, the report (.tex, PDF) and the pytest run, as a user sees them."""
    import check_activation as cab
    from derive.report.build import latexmk_available

    quick = opts.quick
    rows = []
    names = ["swish", "gelu"]
    warm = cab.warm(names, repeats=3 if quick else 15)
    for name in names:
        ok = cab.ca.check_activation(name).ok
        rows.append([f"`derive.check_activation({name!r})`, warm", "in process, defaults, after a warm-up call",
                     len(warm[name].samples), warm[name].s(), "ok" if ok else "FAILED"])

    cli, code = cab.cli_cold(["swish"], runs=2 if quick else 7, warmup=1)
    rows.append(["`python -m derive check-activation swish`, cold", "fresh process, start-up included",
                 len(cli.samples), cli.s(), f"exit {code}"])

    results: dict[str, str] = {}

    def report(kind: str, extra: list[str]) -> Callable[[], None]:
        def run() -> None:
            with tempfile.TemporaryDirectory() as tmp:
                proc = _subprocess([sys.executable, "-m", "derive", "report", "--out", tmp, *extra], timeout=1200)
                files = sorted(p.name for p in Path(tmp).iterdir())
            results[kind] = f"exit {proc.returncode}; wrote {', '.join(files) or 'nothing'}"
            if proc.returncode:
                results[kind] += f"; {_last_line(proc.stderr)}"
        return run

    cands = {"tex": report("tex", ["--no-pdf"])}
    pdf = latexmk_available()
    if pdf:
        cands["pdf"] = report("pdf", [])
    t = measure(cands, repeats=1 if quick else 3, warmup=0 if quick else 1)
    rows.append(["`python -m derive report --no-pdf --out TMP`", "fresh process and temp dir, .tex only",
                 len(t["tex"].samples), t["tex"].s(), results["tex"]])
    if pdf:
        rows.append(["`python -m derive report --out TMP`", "fresh process and temp dir, .tex and PDF (latexmk)",
                     len(t["pdf"].samples), t["pdf"].s(), results["pdf"]])
    else:
        rows.append(["`python -m derive report --out TMP`", "skipped: latexmk not installed", "", "", ""])

    cmd = "`python -m pytest -q -p no:cacheprovider`"
    if opts.skip_pytest:
        rows.append([cmd, "skipped (--skip-pytest)", "", "", ""])
    else:
        t0 = time.perf_counter()
        proc = _subprocess([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], timeout=3600)
        secs = time.perf_counter() - t0
        rows.append([cmd, "the full test suite, one run, in the repository root", 1, f"{secs:.3f}",
                     f"exit {proc.returncode}; {_last_line(proc.stdout)}"])
    out = (f"## 4. User-facing latency ({sys.executable})\n\nWall time in s: median (min-max) over the runs "
           "after a warm-up run (none for pytest, none with --quick for the report).\n\n")
    return out + markdown_table(["what", "how", "runs", "s", "result"], rows)


SECTIONS = {1: section_gradients, 2: section_checking, 3: section_symbolic, 4: section_latency}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="also write the tables to this markdown file")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument("--section", type=int, action="append", choices=sorted(SECTIONS),
                        help="run only these sections (repeatable)")
    parser.add_argument("--skip-pytest", action="store_true",
                        help="section 4: do not time the full pytest run (about 35 s)")
    parser.add_argument("--runs", type=int, default=3,
                        help="section 1: fresh-process runs per configuration (default 3; 1 with --quick)")
    parser.add_argument("--coretype", help="section 1: OPENBLAS_CORETYPE of the 'as set' configuration "
                        "(default: the environment's)")
    parser.add_argument("--update-results", action="store_true",
                        help="replace the sections run in benchmarks/RESULTS.md by the new tables")
    args = parser.parse_args(argv)
    chosen = args.section or sorted(SECTIONS)
    parts = [f"# backprop-derive benchmarks\n\nnumpy {np.__version__}, python {sys.version.split()[0]}, "
             f"{os.cpu_count()} cores\n"]
    for n in chosen:
        print(f"[bench] section {n} ...", file=sys.stderr, flush=True)
        text = SECTIONS[n](args)
        print(text + "\n", flush=True)
        parts.append(text)
    if args.out:
        args.out.write_text("\n\n".join(parts) + "\n")
    if args.update_results:
        path = ROOT / "benchmarks" / "RESULTS.md"
        path.write_text(replace_sections(path.read_text(), parts[1:]))
        print(f"[bench] updated {path}", file=sys.stderr)
    return 0


def replace_sections(text: str, sections: list[str]) -> str:
    """``text`` with each ``## N.`` section replaced by the new one of the same number (or appended)."""
    for new in sections:
        number = new.split(".", 1)[0] + "."  # "## 1."
        start = text.find(number)
        if start < 0:
            text = text.rstrip("\n") + "\n\n" + new + "\n"
            continue
        end = text.find("\n## ", start + len(number))
        end = len(text) if end < 0 else end + 1
        text = text[:start] + new.rstrip("\n") + "\n\n" + text[end:].lstrip("\n") if end < len(text) \
            else text[:start] + new.rstrip("\n") + "\n"
    return text


if __name__ == "__main__":
    sys.exit(main())
