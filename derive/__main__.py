"""``python -m derive`` runs the ``backprop-derive`` command."""

import sys

from derive.cli import main

sys.exit(main())
