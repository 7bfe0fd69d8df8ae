"""Importing derive or derive.frameworks never imports torch or jax.

The fast test reads the source: no module of ``derive`` or ``numeric``
imports torch or jax at module level (only inside functions, through
``derive.frameworks._extras.require``), so no import chain can pull them in.
The slow test imports the packages in a fresh interpreter and looks.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "jax", "jaxlib")


def _module_level_heavy_imports(source: str) -> list[str]:
    """Heavy imports in ``source`` that run when the module is imported (not inside a function)."""
    found = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                names = [child.module]
            elif (isinstance(child, ast.Call) and isinstance(child.func, ast.Name)
                  and child.func.id in ("require", "import_module") and child.args
                  and isinstance(child.args[0], ast.Constant)):
                names = [str(child.args[0].value)]
            found.extend(n for n in names if n.split(".")[0] in HEAVY)
            visit(child)

    visit(ast.parse(source))
    return found


def test_no_module_imports_a_framework_at_import_time():
    sources = {p: p.read_text() for pkg in ("derive", "numeric") for p in sorted((ROOT / pkg).rglob("*.py"))}
    assert len(sources) > 20  # the packages were found
    offenders = {str(p.relative_to(ROOT)): hits for p, text in sources.items()
                 if any(name in text for name in HEAVY) and (hits := _module_level_heavy_imports(text))}
    assert offenders == {}


@pytest.mark.parametrize("source, hits", [
    ("import torch", ["torch"]),
    ("from jax import numpy as jnp", ["jax"]),
    ("if True:\n    import jax.numpy", ["jax.numpy"]),
    ("x = require('torch')", ["torch"]),
    ("def f():\n    import torch\n    return require('jax')", []),
    ("import numpy", []),
], ids=["import", "from", "nested-block", "require", "inside-function", "other"])
def test_negative_control_the_scan_sees_module_level_imports(source, hits):
    assert _module_level_heavy_imports(source) == hits


@pytest.mark.slow
def test_import_does_not_pull_frameworks():
    code = ("import sys, derive, derive.frameworks, derive.plugin; "
            "from derive.frameworks import report, compare, limit, fresh, network; "
            "print(sorted(m for m in ('torch', 'jax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_negative_control_the_probe_sees_an_import():
    out = subprocess.run([sys.executable, "-c", "import sys, json; import numpy; print('numpy' in sys.modules)"],
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "True"
