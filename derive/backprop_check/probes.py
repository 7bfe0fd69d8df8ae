"""The fixed probes check_backprop runs first, for the article's network or any description.

:data:`PROBES` are the article's: distinct sizes (a ratio then names one
size), q = 1, m = 1, n = 1, a square shape, confident and saturated
outputs.  :func:`probes_for` says them for a description's depth and head,
adds one probe at the description's own widths when they are given, and
then the :data:`EXTRA_PROBES`: a larger batch (m = 29: code that works in
chunks of examples, or treats the first few specially, shows its slip only
past m = 8) and soft targets (Y in (0, 1) for sigmoid + BCE, label smoothing
for softmax + CE), for code that is right for 0/1 labels only.  An extra
probe's findings are reported only where no other case shows the same kind
(the main probes' smaller sizes read better).

Example:
    >>> import numeric
    >>> [p.label for p in probes_for(numeric.Network(widths=(6, 4, 3), activations=("relu",),
    ...                                                 head="softmax-ce"))][-4:]
    ['saturated one class = 1.0', 'your widths', 'm = 29', 'label smoothing']
"""

from __future__ import annotations

from typing import NamedTuple

import numeric
from derive.backprop_check.reference import takes_soft_targets

__all__ = ["PROBES", "EXTRA_PROBES", "Probe", "probe_shape", "probes_for"]


class Probe(NamedTuple):
    """One fixed probe: its label, shape ``(d, n, p, q, m)`` (or the widths then m), the shift of
    the last bias, whether its targets are soft, and whether it is an extra probe."""

    label: str
    shape: tuple[int, ...]
    offset: float
    soft: bool = False
    extra: bool = False

# label, (d, n, p, q, m), b3 offset.  Sizes are distinct where possible so
# that a ratio names one size (m = 7 in "generic" is no other size).
PROBES: tuple[tuple[str, tuple[int, int, int, int, int], float], ...] = (
    ("generic", (5, 4, 6, 3, 7), 0.0),
    ("article q = 1", (4, 3, 5, 1, 6), 0.0),
    ("m = 1", (3, 4, 2, 2, 1), 0.0),
    ("n = 1", (3, 1, 2, 2, 4), 0.0),
    ("square", (3, 3, 3, 3, 3), 0.0),
    ("confident outputs A3 ~ 1", (4, 3, 5, 2, 6), 30.0),
    ("confident outputs A3 ~ 0", (4, 3, 5, 2, 6), -30.0),
    ("saturated A3 = 1.0", (2, 3, 2, 1, 5), 40.0),
)

# label, (d, n, p, q, m), b3 offset, soft targets: after the others, each a single cheap call.
EXTRA_PROBES: tuple[tuple[str, tuple[int, int, int, int, int], float, bool], ...] = (
    ("m = 29", (3, 4, 5, 2, 29), 0.0, False),
    ("soft targets Y in (0, 1)", (5, 4, 6, 3, 7), 0.0, True),
)


def probe_shape(shape: tuple[int, int, int, int, int], net: numeric.Network) -> tuple[int, ...]:
    """A probe's ``(d, n, p, q, m)`` for a network of another depth: ``(d, n1, ..., q, m)``, hidden
    widths taken from n, p and then n + 1, p + 1, ... (so they stay distinct); q >= 2 for softmax."""
    d, n, p, q, m = shape
    L = net.depth
    if L == 3 and net.head != "softmax-ce":
        return shape
    pool = [n, p] + [v + 1 + i // 2 for i, v in enumerate([n, p] * L)]
    q = max(q, 2) if net.head == "softmax-ce" else q
    return (d, *pool[:L - 1], q, m)


_WIDTHS_PROBE_LIMIT = 2_000_000  # weights: a probe at the description's own widths when no larger


def probes_for(net: numeric.Network) -> list[Probe]:
    """The fixed probes for ``net``: :data:`PROBES` at its depth and head, one at its own widths, then
    :data:`EXTRA_PROBES` (soft targets only for the heads that take them)."""
    out = [(label, probe_shape(shape, net), offset) for label, shape, offset in PROBES]
    L = net.depth
    said = {
        "softmax-ce": {"A3 ~ 1": "one class ~ 1", "A3 ~ 0": "one class ~ 0", "A3 = 1.0": "one class = 1.0"},
        "identity-mse": {"confident outputs A3 ~ 1": f"large outputs (b{L} + 30)",
                         "confident outputs A3 ~ 0": f"large negative outputs (b{L} - 30)",
                         "saturated A3 = 1.0": f"very large outputs (b{L} + 40)"},
    }.get(net.head, {"A3": f"A{L}"})
    if net.head != "sigmoid-bce" or L != 3:
        relabelled = []
        for label, shape, offset in out:
            if (net.head == "softmax-ce" and label == "article q = 1") or (L == 1 and label == "n = 1"):
                continue  # one class: the softmax is constant; no hidden layer: no n
            label = "q = 1" if label == "article q = 1" else label
            for old, new in said.items():
                label = label.replace(old, new)
            relabelled.append((label, shape, offset))
        out = relabelled
    widths = net.widths
    if widths is not None and sum(a * b for a, b in zip(widths, widths[1:])) <= _WIDTHS_PROBE_LIMIT:
        out.append(("your widths", (*widths, 7), 0.0))
    probes = [Probe(*p) for p in out]
    for label, shape, offset, soft in EXTRA_PROBES:
        if soft and not takes_soft_targets(net):
            continue  # the MSE heads' targets are any reals in every probe already
        if soft and net.head == "softmax-ce":
            label = "label smoothing"
        probes.append(Probe(label, probe_shape(shape, net), offset, soft, True))
    return probes
