"""The ``backprop-derive`` command (also ``python -m derive``).

Open :mod:`derive.cli.main` first (the parser, the exit codes 0/1/2 and the
error handling); each command is one module beside it: ``verify``,
``report``, ``check_activation``, ``check_backprop``.
"""

from __future__ import annotations

from derive.cli.main import COMMANDS, build_parser, main

__all__ = ["main", "build_parser", "COMMANDS"]
