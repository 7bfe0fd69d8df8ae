"""The backprop checker: is a user's hand-written backward right, and if not, where and why?

Open :mod:`derive.backprop_check.check` first: :func:`check_backprop` runs the
user's code on probes and hypothesis-drawn problems, for the article's network
or any :class:`numeric.Network` description (``network=``: depth, head,
reduction, L2). Beside it:

* :mod:`derive.backprop_check.sandbox`: the user's code in a child process, with a per-call limit;
* :mod:`derive.backprop_check.target`: ``module:function`` text to a function (imported in the child);
* :mod:`derive.backprop_check.layout`: columns / rows / nn.Linear layouts, dict or (W, b) pairs;
* :mod:`derive.backprop_check.reference`: the problems (cases) and the truth at each;
* :mod:`derive.backprop_check.localise`: what each wrong gradient is, on one case;
* :mod:`derive.backprop_check.known_bugs`: the classic slips (hidden layers, each head, L2), as gradients they would give;
* :mod:`derive.backprop_check.result`: the report: every finding worst first, saturation, localisation.
"""

from __future__ import annotations

from derive.backprop_check.check import (
           DEFAULT_RTOL,
           PROBES,
           assert_backprop_ok,
           check_backprop,
)
from derive.backprop_check.layout import DTYPES, LAYOUTS, PARAMS_AS
from derive.backprop_check.result import SCHEMA, BackpropReport

__all__ = ["check_backprop", "assert_backprop_ok", "BackpropReport", "PROBES", "DEFAULT_RTOL", "LAYOUTS",
           "PARAMS_AS", "DTYPES", "SCHEMA"]
