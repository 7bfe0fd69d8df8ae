#!/usr/bin/env python3
"""Sampled mutation testing of ``numeric/`` and the derivation core.

Usage (from the repository root)::

    python tools/mutate.py --area numeric --sample 200 --seed 1
    python tools/mutate.py --area core --sample 200 --seed 1 --write-results
    python tools/mutate.py --area numeric --list            # count mutants per file
    python tools/mutate.py --area codegen --sample 80 --seed 1   # the generated-code builder
    python tools/mutate.py --only 'numeric/activations.py:140:8:Add->Sub'

How it works:

1. The source tree of a committed revision (``--rev``, default ``HEAD``) is
   exported with ``git archive`` into a temporary directory; the working
   tree is never written to.  The project's own ``test_strength_*.py`` files
   are overlaid from the working tree, so new tests can be tried before they
   are committed (``--no-overlay`` turns this off).
2. An ``ast`` mutator lists every mutant of the area's files: arithmetic
   swaps (``+ -``, ``* /``, ``** -> *``, ``@ -> *``, ``| &``...), the same in
   augmented assignments, comparison boundary shifts and negations
   (``< -> <=``, ``< -> >=``, ``== -> !=``, ``is -> is not``...),
   ``and <-> or``, removal of a unary ``-``/``not``/``~``, constant changes
   (``0 <-> 1``, ``n -> n + 1``, ``x -> 2 x`` for floats, ``True <-> False``,
   a string -> ``""``), and ``return x -> return None``.  Function defaults and
   keyword arguments are constants like any other.  Docstrings, annotations,
   ``__all__``, ``TYPE_CHECKING`` blocks and statements marked
   ``# pragma: no mutate`` or ``# pragma: no cover`` are not mutated.
   Each mutant is checked to parse to exactly the intended syntax tree.
3. ``--sample N`` mutants are drawn with ``random.Random(seed)`` from the
   sorted list, so a seed names the same sample on any machine.
4. Each mutant is written into the copy and the area's test files run in a
   FRESH process (``python -m pytest -x -q -p no:cacheprovider ...``, with
   ``CI=true``, no bytecode caching), under a time limit derived from the
   unmutated run.  The activation catalogs are built at import time, so a
   forked, already-imported runner would miss those mutants.
5. It prints killed / survived / timeout counts, the score, and the unified
   diff of every survivor.  Survivors listed in
   ``tools/equivalent_mutants.txt`` (``<id> <one-line reason>``) are
   equivalent: they leave the score's denominator.

A mutant's id is ``path:line:col:operator`` in the mutated revision.
Score = (killed + timeout) / (sampled - equivalent survivors).  Exit status:
0 when the score reaches ``--fail-under`` (default 0: always 0), else 1.
"""

from __future__ import annotations

import argparse
import ast
import copy
import difflib
import io
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = Path(__file__).resolve().parent / "equivalent_mutants.txt"
RESULTS = Path(__file__).resolve().parent / "mutation_results.md"
OVERLAY_GLOBS = ("tests/numeric/test_strength_*.py", "tests/core/test_strength_*.py")

# ------------------------------------------------------------------ areas
# Each area: the files to mutate (globs in the revision) and the tests that
# guard them.  Tests are listed fastest-and-sharpest first: with -x the first
# failure ends the run.  Per-file test lists override the area default.
_CORE_DESELECT = ("--deselect", "tests/core/test_proof.py::test_every_default_shape_proves_exactly")
AREAS: dict[str, dict[str, Any]] = {
    "numeric": {
        "files": ("numeric/*.py",),
        "tests": ("tests/numeric/test_strength_*.py", "tests/numeric/*.py"),
        "per_file": {
            "numeric/_blocks.py": ("tests/numeric/test_strength_network.py", "tests/numeric/test_network.py"),
            "numeric/_special.py": ("tests/numeric/test_numeric_activations.py",
                                   "tests/numeric/test_strength_activations.py"),
            "numeric/activations.py": ("tests/numeric/test_strength_activations.py",
                                       "tests/numeric/test_numeric_activations.py",
                                       "tests/numeric/test_strength_network.py", "tests/numeric/test_network.py"),
            "numeric/_validate.py": ("tests/numeric/test_strength_network.py", "tests/numeric/test_network.py",
                                     "tests/numeric/test_strength_*.py", "tests/numeric/*.py"),
        },
        "extra": (),
    },
    "core": {
        "files": ("derive/chain.py", "derive/heads.py", "derive/matrix.py", "derive/lambdified.py",
                  "derive/steps.py", "derive/scalar*.py", "derive/proof/*.py"),
        "tests": ("tests/core/test_strength_*.py", "tests/core/test_derivation.py", "tests/core/test_proof.py",
                  "tests/core/test_heads.py", "tests/core/test_gradients.py"),
        "per_file": {
            "derive/steps.py": ("tests/core/test_strength_matrix.py", "tests/core/test_strength_proof.py",
                                "tests/core/test_derivation.py"),
            "derive/scalar.py": ("tests/core/test_strength_proof.py", "tests/core/test_derivation.py",
                                 "tests/core/test_strength_*.py"),
            "derive/lambdified.py": ("tests/core/test_strength_lambdified.py", "tests/core/test_strength_heads.py",
                                     "tests/core/test_strength_*.py", "tests/core/test_gradients.py",
                                     "tests/core/test_heads.py", "tests/core/test_cross_autodiff*.py",
                                     "tests/core/test_network_property.py"),
            "derive/matrix.py": ("tests/core/test_strength_matrix.py", "tests/core/test_strength_*.py",
                                 "tests/core/test_derivation.py", "tests/core/test_gradients.py",
                                 "tests/core/test_proof.py"),
        },
        "extra": _CORE_DESELECT,
    },
    "codegen": {
        "files": ("derive/codegen.py", "derive/codegen_inplace.py", "derive/codegen_elementwise.py",
                  "derive/codegen_plan.py"),
        "tests": ("tests/core/test_strength_codegen.py", "tests/core/test_codegen.py"),
        "per_file": {},
        "extra": (),
    },
}


# ------------------------------------------------------------------ mutants
@dataclass(frozen=True)
class Mutant:
    """One mutated copy of one file."""

    path: str
    line: int
    col: int
    op: str
    original: str = field(repr=False, compare=False)
    mutated: str = field(repr=False, compare=False)

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}:{self.col}:{self.op}"

    def diff(self) -> str:
        return "".join(difflib.unified_diff(
            self.original.splitlines(keepends=True), self.mutated.splitlines(keepends=True),
            f"a/{self.path}", f"b/{self.path}", n=1))


_BINOP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
          ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.MatMult: ast.Mult,
          ast.BitOr: ast.BitAnd, ast.BitAnd: ast.BitOr, ast.BitXor: ast.BitOr,
          ast.LShift: ast.RShift, ast.RShift: ast.LShift}
_CMP = {ast.Lt: (ast.LtE, ast.GtE), ast.LtE: (ast.Lt, ast.Gt), ast.Gt: (ast.GtE, ast.LtE),
        ast.GtE: (ast.Gt, ast.Lt), ast.Eq: (ast.NotEq,), ast.NotEq: (ast.Eq,),
        ast.Is: (ast.IsNot,), ast.IsNot: (ast.Is,), ast.In: (ast.NotIn,), ast.NotIn: (ast.In,)}
_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
           ast.Pow: "**", ast.MatMult: "@", ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^",
           ast.LShift: "<<", ast.RShift: ">>", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
           ast.Eq: "==", ast.NotEq: "!=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in",
           ast.NotIn: "not in", ast.And: "and", ast.Or: "or"}
_TOKEN_RE = {"is not": r"\bis\s+not\b", "not in": r"\bnot\s+in\b", "is": r"\bis\b", "in": r"\bin\b",
             "and": r"\band\b", "or": r"\bor\b", "*": r"(?<![*])\*(?![*=])", "/": r"(?<!/)/(?![/=])",
             "<": r"(?<!<)<(?![<=])", ">": r"(?<!>)>(?![>=])"}


def _name(op: type) -> str:
    return op.__name__


def _const_variants(value: Any) -> list[tuple[Any, str]]:
    if isinstance(value, bool):
        return [(not value, f"{value}->{not value}")]
    if isinstance(value, int):
        new = {0: 1, 1: 0}.get(value, value + 1)
        return [(new, f"{value}->{new}")]
    if isinstance(value, float):
        new = 1.0 if value == 0.0 else value * 2.0
        return [(new, "float->1.0" if value == 0.0 else "float*2")]
    if isinstance(value, complex):
        return [(value * 2, "complex*2")]
    if isinstance(value, str):
        return [("", "str->empty")] if value else [("XX", "str->XX")]
    return []


@dataclass
class _Candidate:
    path: tuple[tuple[str, int | None], ...]  # where the replaced node sits in the tree
    node: ast.AST  # the node to replace
    new: ast.AST  # its replacement
    op: str
    gap: tuple[ast.AST, ast.AST, str, str] | None = None  # (before, after, old token, new token)
    text: str | None = None  # replacement text for the segment of ``span`` (default: the node)
    span: ast.AST | None = None


class _Collector:
    """Walks a module and lists mutation candidates with their tree paths."""

    def __init__(self, tree: ast.Module, lines: list[str]) -> None:
        self.lines = lines
        self.out: list[_Candidate] = []
        self._walk(tree, ())

    # -- exclusions
    def _excluded_stmt(self, node: ast.AST) -> bool:
        if isinstance(node, ast.stmt):
            head = self.lines[node.lineno - 1]
            if "pragma: no mutate" in head or "pragma: no cover" in head:
                return True
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(
                    node.value.value, str):
                return True  # docstrings and bare strings
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                    return True
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                return True
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                return True
        return False

    def _walk(self, node: ast.AST, path: tuple[tuple[str, int | None], ...]) -> None:
        if self._excluded_stmt(node):
            return
        self._mutations(node, path)
        if isinstance(node, ast.JoinedStr):
            return  # f-string parts have no usable positions in 3.11
        for name, value in ast.iter_fields(node):
            if name in ("annotation", "returns", "type_comment"):
                continue
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, ast.AST):
                        self._walk(item, path + ((name, i),))
            elif isinstance(value, ast.AST):
                self._walk(value, path + ((name, None),))

    def _add(self, path: Any, node: ast.AST, new: ast.AST, op: str, **kw: Any) -> None:
        self.out.append(_Candidate(path, node, new, op, **kw))

    def _mutations(self, node: ast.AST, path: Any) -> None:
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOP:
            new_op = _BINOP[type(node.op)]
            new = copy.deepcopy(node)
            new.op = new_op()
            self._add(path, node, new, f"{_name(type(node.op))}->{_name(new_op)}",
                      gap=(node.left, node.right, _SYMBOL[type(node.op)], _SYMBOL[new_op]))
        elif isinstance(node, ast.AugAssign) and type(node.op) in _BINOP:
            new_op = _BINOP[type(node.op)]
            new = copy.deepcopy(node)
            new.op = new_op()
            self._add(path, node, new, f"Aug{_name(type(node.op))}->{_name(new_op)}",
                      gap=(node.target, node.value, _SYMBOL[type(node.op)] + "=", _SYMBOL[new_op] + "="))
        elif isinstance(node, ast.Compare):
            for i, cop in enumerate(node.ops):
                for new_op in _CMP.get(type(cop), ()):
                    new = copy.deepcopy(node)
                    new.ops[i] = new_op()
                    before = node.left if i == 0 else node.comparators[i - 1]
                    self._add(path, node, new, f"{_name(type(cop))}->{_name(new_op)}",
                              gap=(before, node.comparators[i], _SYMBOL[type(cop)], _SYMBOL[new_op]))
        elif isinstance(node, ast.BoolOp):
            new_op = ast.Or if isinstance(node.op, ast.And) else ast.And
            new = copy.deepcopy(node)
            new.op = new_op()
            self._add(path, node, new, f"{_name(type(node.op))}->{_name(new_op)}")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not, ast.Invert)):
            self._add(path, node, copy.deepcopy(node.operand), f"remove {_name(type(node.op))}",
                      text=self._segment(node.operand))
        elif isinstance(node, ast.Constant) and not isinstance(node.value, bytes):
            for value, op in _const_variants(node.value):
                self._add(path, node, ast.Constant(value), op, text=repr(value))
        elif isinstance(node, ast.JoinedStr):
            self._add(path, node, ast.Constant(""), "fstr->empty", text='""')
        elif isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            new = copy.deepcopy(node)
            new.value = ast.Constant(None)
            self._add(path, node, new, "return->None", text="None", span=node.value)

    def _segment(self, node: ast.AST) -> str | None:
        return _segment(self.lines, node)


def _offset(lines: list[str], line: int, col: int) -> int:
    """Character offset of (1-based line, UTF-8 byte column)."""
    before = sum(len(s) for s in lines[:line - 1])
    return before + len(lines[line - 1].encode()[:col].decode())


def _segment(lines: list[str], node: ast.AST) -> str | None:
    if getattr(node, "end_lineno", None) is None:
        return None
    src = "".join(lines)
    return src[_offset(lines, node.lineno, node.col_offset):_offset(lines, node.end_lineno, node.end_col_offset)]


def _dump_replaced(tree: ast.Module, path: Any, new: ast.AST) -> str:
    """``ast.dump`` of ``tree`` with the node at ``path`` replaced by ``new``
    (swapped in place and back: no copy of the tree)."""
    parent: Any = tree
    for name, index in path[:-1]:
        parent = getattr(parent, name) if index is None else getattr(parent, name)[index]
    name, index = path[-1]
    holder = getattr(parent, name)
    if index is None:
        old = holder
        setattr(parent, name, new)
    else:
        old, holder[index] = holder[index], new
    try:
        return ast.dump(tree)
    finally:
        if index is None:
            setattr(parent, name, old)
        else:
            holder[index] = old


def _texts(cand: _Candidate, lines: list[str]) -> Iterator[str]:
    """Candidate mutated sources, most readable first."""
    src = "".join(lines)
    node = cand.node
    if cand.gap is not None:
        before, after, old, new = cand.gap
        start = _offset(lines, before.end_lineno, before.end_col_offset)
        end = _offset(lines, after.lineno, after.col_offset)
        gap = src[start:end]
        pattern = _TOKEN_RE.get(old, re.escape(old))
        match = re.search(pattern, gap)
        if match:
            yield src[:start] + gap[:match.start()] + new + gap[match.end():] + src[end:]
    span = cand.span or node
    start = _offset(lines, span.lineno, span.col_offset)
    end = _offset(lines, span.end_lineno, span.end_col_offset)
    if cand.text is not None:
        yield src[:start] + cand.text + src[end:]
        yield src[:start] + "(" + cand.text + ")" + src[end:]
    start = _offset(lines, node.lineno, node.col_offset)
    end = _offset(lines, node.end_lineno, node.end_col_offset)
    if isinstance(node, ast.expr):
        yield src[:start] + "(" + ast.unparse(cand.new) + ")" + src[end:]
    elif isinstance(node, ast.stmt) and node.lineno == node.end_lineno:
        yield src[:start] + ast.unparse(cand.new) + src[end:]


def mutants_of(path: str, source: str) -> tuple[list[Mutant], int]:
    """Every mutant of one file, and the number of candidates that could not
    be written as source (skipped)."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    out, skipped = [], 0
    for cand in _Collector(tree, lines).out:
        if not cand.path:
            continue
        want = _dump_replaced(tree, cand.path, cand.new)
        for text in _texts(cand, lines):
            try:
                ok = ast.dump(ast.parse(text)) == want
            except SyntaxError:
                ok = False
            if ok:
                out.append(Mutant(path, cand.node.lineno, cand.node.col_offset, cand.op, source, text))
                break
        else:
            skipped += 1
            if os.environ.get("MUTATE_DEBUG"):
                print(f"  not expressible: {path}:{cand.node.lineno}:{cand.node.col_offset}:{cand.op}")
    unique = {m.id: m for m in out}  # same place, same operator: keep one
    return sorted(unique.values(), key=lambda m: (m.path, m.line, m.col, m.op)), skipped


# ------------------------------------------------------------------ running
def _export(rev: str, dest: Path, overlay: bool) -> str:
    """Export ``rev`` into ``dest`` (git archive); return its commit hash."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", rev], check=True,
                            capture_output=True, text=True).stdout.strip()
    data = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit],
                          check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    if overlay:
        for pattern in OVERLAY_GLOBS:
            for f in ROOT.glob(pattern):
                target = dest / f.relative_to(ROOT)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, target)
    return commit


def _tests_for(area: dict[str, Any], path: str, copy_dir: Path) -> list[str]:
    patterns = area["per_file"].get(path, area["tests"])
    found: list[str] = []
    for pattern in patterns:
        for f in sorted(copy_dir.glob(pattern)):
            rel = str(f.relative_to(copy_dir))
            if rel not in found and f.name.startswith("test_"):
                found.append(rel)
    return found


def _env(copy_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONPATH=str(copy_dir), PYTHONDONTWRITEBYTECODE="1", CI="true",
               PYTHONHASHSEED="0")
    return env


_CHILD: list[subprocess.Popen] = []  # the test process running now, for the signal handler


def _stop(signum: int, frame: Any) -> None:
    """SIGTERM/SIGINT: stop the running test process group, then exit (the
    temporary copy is removed on the way out)."""
    for proc in _CHILD:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    raise SystemExit(128 + signum)


def _run(cmd: list[str], cwd: Path, timeout: float, keep: bool = False) -> tuple[str, float, str]:
    """Run one fresh pytest process; ``("killed"|"survived"|"timeout", seconds, tail)``."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=_env(cwd), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    _CHILD[:] = [proc]
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return "timeout", time.monotonic() - t0, ""
    finally:
        _CHILD.clear()
    seconds = time.monotonic() - t0
    if keep:
        return ("survived" if proc.returncode == 0 else "killed"), seconds, out
    if proc.returncode == 0:
        return "survived", seconds, out[-2000:]
    if proc.returncode == 5:
        return "error", seconds, out[-2000:]  # no tests collected: a broken selection
    return "killed", seconds, out[-2000:]


def _pytest(tests: list[str], extra: tuple[str, ...]) -> list[str]:
    # "-m slow or not slow": the strength tests are slow-marked out of the default run (tests/conftest.py)
    return [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "slow or not slow",
            *extra, *tests]


def load_equivalents(path: Path = EQUIVALENTS) -> dict[str, str]:
    """``id -> reason`` from the equivalent-mutants list (``#`` starts a comment line)."""
    out: dict[str, str] = {}
    if path.exists():
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if line and not line.startswith("#"):
                key, _, reason = line.partition(" ")
                out[key] = reason.strip()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--area", choices=sorted(AREAS), default="numeric")
    ap.add_argument("--sample", type=int, default=200, help="mutants drawn at random (0: all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1, help="only 1 is supported (shared machine)")
    ap.add_argument("--rev", default="HEAD", help="committed revision to mutate (default HEAD)")
    ap.add_argument("--files", nargs="*", help="restrict to these files of the area")
    ap.add_argument("--only", nargs="*", help="run just these mutant ids")
    ap.add_argument("--list", action="store_true", help="count mutants per file and exit")
    ap.add_argument("--no-overlay", action="store_true",
                    help="do not overlay the working tree's test_strength_*.py files")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per mutant (default 4 x unmutated + 10)")
    ap.add_argument("--write-results", action="store_true", help=f"append a summary to {RESULTS.name}")
    ap.add_argument("--fail-under", type=float, default=0.0, help="exit 1 below this score (percent)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if args.jobs != 1:
        ap.error("--jobs: only 1 job is supported")
    if args.only:
        first = args.only[0].split(":")[0]
        args.area = ("numeric" if first.startswith("numeric") else
                     "codegen" if first.startswith("derive/codegen") else "core")
    area = AREAS[args.area]

    with tempfile.TemporaryDirectory(prefix="mutate-") as tmp:
        copy_dir = Path(tmp) / "repo"
        copy_dir.mkdir()
        commit = _export(args.rev, copy_dir, overlay=not args.no_overlay)
        files = sorted({str(f.relative_to(copy_dir)) for pattern in area["files"]
                        for f in copy_dir.glob(pattern) if f.is_file()})
        if args.files:
            files = [f for f in files if f in args.files]
        every: list[Mutant] = []
        print(f"area {args.area}, revision {commit[:12]}")
        for f in files:
            found, skipped = mutants_of(f, (copy_dir / f).read_text())
            every += found
            if args.list:
                print(f"  {f:40s} {len(found):5d} mutants ({skipped} not expressible)")
        print(f"{len(every)} mutants in {len(files)} files")
        if args.list:
            return 0
        if args.only:
            wanted = set(args.only)
            chosen = [m for m in every if m.id in wanted]
            missing = wanted - {m.id for m in chosen}
            if missing:
                print(f"unknown mutant ids: {sorted(missing)}")
        elif args.sample and args.sample < len(every):
            chosen = sorted(random.Random(args.seed).sample(every, args.sample),
                            key=lambda m: (m.path, m.line, m.col, m.op))
        else:
            chosen = every

        # the unmutated run: must pass, and must import the copy
        probe = subprocess.run([sys.executable, "-c", "import numeric, derive; print(numeric.__file__, derive.__file__)"],
                               cwd=copy_dir, env=_env(copy_dir), capture_output=True, text=True)
        if not all(p.startswith(str(copy_dir)) for p in probe.stdout.split()):
            print(f"the copy is not what gets imported: {probe.stdout or probe.stderr}")
            return 2
        baseline = 0.0
        broken: list[str] = []  # tests that fail on the unmutated revision: deselected, and said so
        for tests in sorted({tuple(_tests_for(area, f, copy_dir)) for f in {m.path for m in chosen}}):
            status, seconds, tail = _run(_pytest(list(tests), area["extra"]), copy_dir, 900)
            if status == "killed":
                cmd = [a for a in _pytest(list(tests), area["extra"]) if a != "-x"] + ["-rf"]
                _, _, out = _run(cmd, copy_dir, 1800, keep=True)
                broken += [m for m in re.findall(r"^FAILED (\S+)", out, re.M) if m not in broken]
                area["extra"] = (*area["extra"], *(a for b in broken for a in ("--deselect", b)))
                status, seconds, tail = _run(_pytest(list(tests), area["extra"]), copy_dir, 900)
            if status != "survived":
                print(f"unmutated tests fail ({status}): {' '.join(tests)}\n{tail}")
                return 2
            baseline = max(baseline, seconds)
        if broken:
            print(f"failing before any mutation, deselected: {' '.join(broken)}")
        limit = args.timeout or 4 * baseline + 10
        print(f"unmutated run {baseline:.1f} s; limit per mutant {limit:.0f} s; "
              f"running {len(chosen)} mutants (seed {args.seed})")

        equivalents = load_equivalents()
        results: list[tuple[Mutant, str, float]] = []
        t_start = time.monotonic()
        for i, mut in enumerate(chosen, 1):
            target = copy_dir / mut.path
            target.write_text(mut.mutated)
            try:
                status, seconds, _ = _run(_pytest(_tests_for(area, mut.path, copy_dir), area["extra"]),
                                          copy_dir, limit)
            finally:
                target.write_text(mut.original)
            if status == "survived" and mut.id in equivalents:
                status = "equivalent"
            results.append((mut, status, seconds))
            print(f"[{i:3d}/{len(chosen)}] {status:10s} {seconds:5.1f}s {mut.id}", flush=True)

    counts = {k: sum(1 for _, s, _ in results if s == k)
              for k in ("killed", "timeout", "survived", "equivalent", "error")}
    denominator = len(results) - counts["equivalent"] - counts["error"]
    score = 100.0 * (counts["killed"] + counts["timeout"]) / denominator if denominator else 100.0
    minutes = (time.monotonic() - t_start) / 60
    summary = (f"area {args.area}, revision {commit[:12]}, seed {args.seed}: {len(results)} of {len(every)} "
               f"mutants; killed {counts['killed']}, timeout {counts['timeout']}, survived "
               f"{counts['survived']}, equivalent {counts['equivalent']}, error {counts['error']}; "
               f"score {score:.1f}% of {denominator} non-equivalent ({minutes:.1f} min)")
    for label in ("survived", "error", "equivalent"):
        rows = [m for m, s, _ in results if s == label]
        if rows:
            print(f"\n==== {label} ({len(rows)}) ====")
        for m in rows:
            reason = f"  [equivalent: {equivalents[m.id]}]" if label == "equivalent" else ""
            print(f"\n--- {m.id}{reason}\n{m.diff()}")
    stale = sorted({m.id for m, s, _ in results if s in ("killed", "timeout")} & set(equivalents))
    if stale:
        print(f"\nlisted as equivalent but killed (remove from the list): {stale}")
    if broken:
        print(f"\nfailing before any mutation, deselected: {' '.join(broken)}")
    print("\n" + summary)
    if args.write_results and not args.only:
        with RESULTS.open("a") as fh:
            fh.write(f"\n## {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
                     f"`python tools/mutate.py --area {args.area} --sample {args.sample} --seed {args.seed}`\n\n"
                     f"{summary}\n")
            if broken:
                fh.write("\nfailing before any mutation, deselected: " + ", ".join(f"`{b}`" for b in broken) + "\n")
            for label in ("survived", "equivalent", "error"):
                ids = [m.id for m, s, _ in results if s == label]
                if ids:
                    fh.write(f"\n{label}:\n" + "".join(f"- `{x}`\n" for x in ids))
    return 0 if score >= args.fail_under else 1


if __name__ == "__main__":
    sys.exit(main())
