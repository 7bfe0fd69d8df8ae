"""The import graph of ``derive/`` and ``numeric/``: no circles, and ``numeric`` never imports sympy.

Every import statement counts, wherever it stands: module level, inside a
function, under ``if TYPE_CHECKING:``.  An edge goes from a module to the
module it names (``from derive.expr import parser`` names the submodule
``derive.expr.parser``); a package's ``__init__`` re-exporting its own
modules is an edge from the package to those modules, as Python runs it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("derive", "numeric")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module of ``known`` (and every outside top-level name) that ``path`` imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
        else:
            continue
        for t in targets:
            if t in known:
                out.add(t)
            elif t.split(".")[0] not in PACKAGES:
                out.add(t.split(".")[0])
    out.discard(name)
    return out


def graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: _imports(name, path, set(mods)) for name, path in mods.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(u: str) -> list[str] | None:
        state[u] = 1
        stack.append(u)
        for v in sorted(edges.get(u, ())):
            if v not in edges:
                continue
            if state.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if v not in state and (found := visit(v)):
                return found
        stack.pop()
        state[u] = 2
        return None

    for u in sorted(edges):
        if u not in state and (found := visit(u)):
            return found
    return None


def test_no_import_circles():
    cycle = find_cycle(graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_numeric_never_imports_sympy_or_derive():
    bad = {m: sorted(t for t in deps if t in ("sympy", "mpmath") or t.startswith("derive"))
           for m, deps in graph().items() if m.startswith("numeric")}
    assert not {m: t for m, t in bad.items() if t}


@pytest.mark.parametrize(
    "edges, circle",
    [
        ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"b"}, "b": set()}, None),
    ],
    ids=["two", "three", "none"],
)
def test_cycle_finder_finds_circles(edges, circle):
    """Negative control: the finder is able to fail."""
    assert find_cycle(edges) == circle


def test_function_level_and_type_checking_imports_count(tmp_path):
    """Negative control: a circle closed only inside a function or under TYPE_CHECKING is found."""
    pkg = tmp_path / "derive"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from derive.b import g\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from derive import a\n")
    mods = {_module_name_at(tmp_path, p): p for p in sorted(pkg.rglob("*.py"))}
    edges = {n: _imports(n, p, set(mods)) for n, p in mods.items()}
    assert find_cycle(edges) == ["derive.a", "derive.b", "derive.a"]


def _module_name_at(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)
