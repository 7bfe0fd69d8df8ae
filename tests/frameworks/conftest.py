"""After each module: release JAX's backend, so later tests that fork do not fork its threads.

JAX starts XLA's thread pools at its first computation; a process forked
after that copies none of them (JAX warns on every ``os.fork``).  The default
run computes JAX only in subprocesses; the slow tests compute here, and
clearing the backend after them stops most of those threads (not all: JAX
keeps a few process-wide ones).
"""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(autouse=True, scope="module")
def _release_jax_backend():
    yield
    if "jax" in sys.modules:
        try:
            from jax.extend.backend import clear_backends
        except ImportError:  # older JAX
            return
        clear_backends()
