"""Importing derive or derive.frameworks never imports torch or jax."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_pull_frameworks():
    code = ("import sys, derive, derive.frameworks, derive.plugin; "
            "from derive.frameworks import report, compare; "
            "print(sorted(m for m in ('torch', 'jax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_negative_control_the_probe_sees_an_import():
    out = subprocess.run([sys.executable, "-c", "import sys, json; import numpy; print('numpy' in sys.modules)"],
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "True"
