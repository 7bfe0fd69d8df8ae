"""The backprop checker: is a user's hand-written backward right, and if not, where and why?

Open :mod:`derive.backprop_check.check` first: :func:`check_backprop` runs the
user's code on probes and hypothesis-drawn problems. Beside it:

* :mod:`derive.backprop_check.reference`: the problems (cases) and the truth at each;
* :mod:`derive.backprop_check.localise`: where the chain diverges, and what each wrong gradient is;
* :mod:`derive.backprop_check.known_bugs`: the classic slips, as gradients they would give.
"""

from __future__ import annotations

from derive.backprop_check.check import PROBES, BackpropReport, assert_backprop_ok, check_backprop

__all__ = ["check_backprop", "assert_backprop_ok", "BackpropReport", "PROBES"]
