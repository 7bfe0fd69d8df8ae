"""How the user's code holds its arrays, and the translation to the article's.

The checker works in the article's layout (``columns``: X is d x m, Wl is
n_l x n_{l-1}, bl is n_l x 1, Y is q x m).  Real code also comes as

* ``rows``: X (m, d), Wl (n_{l-1}, n_l), bl (n_l,), Y (m, q): ``X @ W + b``
  (cs231n, most NumPy-from-scratch code);
* ``linear``: X (m, d), Wl (n_l, n_{l-1}) as ``torch.nn.Linear`` stores it,
  bl (n_l,), Y (m, q): ``X @ W.T + b``;

and the parameters as the dict of DESIGN.md (``params_as="dict"``) or a
list of ``(W, b)`` pairs (``params_as="pairs"``).  Gradients may come back
under ``dW1``/``db1`` keys or ``W1``/``b1`` keys, or as a list in the order
of the parameters (three ``(dW, db)`` pairs, or six arrays).  In the row
layouts a bias gradient may be ``(n,)`` or ``(1, n)``.  Anything that could
be read two ways (both ``W1`` and ``dW1`` keys) is refused, never guessed.

:class:`Layout` hands the user its arrays (:meth:`Layout.to_user`), reads
what came back into the article's layout (:meth:`Layout.read`), and says
shapes, indices and formulas in the user's terms for the report.

Example:
    >>> import numpy as np
    >>> lay = Layout("rows")
    >>> P = {"W1": np.zeros((3, 2)), "b1": np.zeros((3, 1))}
    >>> params, X, Y = lay.to_user(P, np.zeros((2, 5)), np.zeros((1, 5)))[:3]
    >>> params["W1"].shape, params["b1"].shape, X.shape, Y.shape
    ((2, 3), (3,), (5, 2), (5, 1))
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

__all__ = ["LAYOUTS", "PARAMS_AS", "DTYPES", "Layout", "Unreadable"]

LAYOUTS = ("columns", "rows", "linear")
PARAMS_AS = ("dict", "pairs")
DTYPES = ("float64", "float32")
_DESCRIBE = {
    "columns": "column-major code (X of shape (d, m), W of shape (n, d): W @ X + b)",
    "rows": "row-major code (X of shape (m, d), W of shape (d, n): X @ W + b)",
    "linear": "row-major code with nn.Linear weights (X of shape (m, d), W of shape (n, d): X @ W.T + b)",
}


class Unreadable(Exception):
    """The returned value has no readable gradients (the message says why)."""


@dataclass(frozen=True)
class Layout:
    """Where the user's arrays put examples and units (see the module docstring)."""

    layout: str = "columns"
    params_as: str = "dict"
    dtype: str = "float64"

    @property
    def rowwise(self) -> bool:
        return self.layout != "columns"

    def describe(self) -> str:
        return _DESCRIBE[self.layout]

    def option_text(self) -> str:
        """How to ask for this layout, e.g. ``layout='rows', params_as='pairs' (CLI --layout rows --params pairs)``."""
        api = [f"layout={self.layout!r}"] + ([f"params_as={self.params_as!r}"] if self.params_as != "dict" else [])
        cli = [f"--layout {self.layout}"] + ([f"--params {self.params_as}"] if self.params_as != "dict" else [])
        return f"{', '.join(api)} (CLI {' '.join(cli)})"

    # ------------------------------------------------------------ to the user
    def _user_array(self, name: str, arr: np.ndarray) -> np.ndarray:
        arr = np.asarray(arr, dtype=self.dtype)
        if not self.rowwise:
            return arr.copy()
        kind = name.lstrip("d")[0]
        if kind == "b":
            return arr.reshape(-1).copy()
        if kind == "W" and self.layout == "linear":
            return arr.copy()
        return np.ascontiguousarray(arr.T)

    def to_user(self, params: Mapping[str, np.ndarray], X: np.ndarray,
                Y: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray, dict[str, str]]:
        """``(params, X, Y, names)`` as the user's code takes them; ``names``
        maps the sandbox's input names back to ``W1``, ``b1``..."""
        user = {k: self._user_array(k, v) for k, v in params.items()}
        layers = len(params) // 2
        if self.params_as == "pairs":
            obj: Any = [(user[f"W{i}"], user[f"b{i}"]) for i in range(1, layers + 1)]
            names = {f"params[{i - 1}][{j}]": f"{w}{i}" for i in range(1, layers + 1) for j, w in enumerate("Wb")}
        else:
            obj, names = user, {k: k for k in user}
        return obj, self._user_array("X", X), self._user_array("Y", Y), names

    # ------------------------------------------------------------ from the user
    def user_shape(self, name: str, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape the user's code should give for ``name`` (article's ``shape``)."""
        if not self.rowwise:
            return shape
        if name.startswith("db"):
            return (shape[0],)
        if name.startswith("dW") and self.layout == "linear":
            return shape
        return shape[::-1]

    def fits(self, name: str, got: tuple[int, ...], shape: tuple[int, ...]) -> bool:
        """``got`` is a shape the user's code may give for ``name`` (article's ``shape``)."""
        if self.rowwise and name.startswith("db"):
            return got in ((shape[0],), (1, shape[0]))
        return got == self.user_shape(name, shape)

    def from_user(self, name: str, arr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """The user's ``arr`` in the article's layout when its shape is one the
        layout allows (for a row bias also ``(1, n)``); otherwise ``arr`` as given."""
        if not self.rowwise:
            return arr
        if name.startswith("db") and arr.shape in ((shape[0],), (1, shape[0])):
            return arr.reshape(shape)
        if arr.shape == self.user_shape(name, shape):
            return arr if (name.startswith("dW") and self.layout == "linear") else arr.T
        return arr

    def user_index(self, name: str, index: tuple[int, ...]) -> tuple[int, ...]:
        """An index into the article's array as an index into the user's."""
        if not self.rowwise or len(index) != 2:
            return index
        if name.startswith("db"):
            return (index[0],)
        if name.startswith("dW") and self.layout == "linear":
            return index
        return index[::-1]

    def read(self, output: Any, layers: int) -> dict[str, Any]:
        """The returned gradients under ``dW1 db1 ... dZ1 ...`` keys, still in the user's shapes.

        Raises:
            Unreadable: no gradients, an ambiguous dict, or a list of the wrong length.
        """
        grads = [f"d{w}{i}" for i in range(1, layers + 1) for w in "Wb"]
        expected = " ".join(grads)
        if isinstance(output, Mapping):
            with_d = [k for k in output if k in grads]
            plain = [k for k in output if f"d{k}" in grads]
            if with_d and plain:
                raise Unreadable(f"backward returned both {with_d[0]!r} and {plain[0]!r} keys: return the "
                                 f"gradients under one set of names (dW1 db1 ... or W1 b1 ...), not both")
            if not with_d and not plain:
                raise Unreadable(f"backward returned keys {sorted(map(str, output))}; expected {expected} "
                                 f"(or W1 b1 ..., and optionally dZ1 ... dZ{layers})")
            out = {(f"d{k}" if k in plain else k): v for k, v in output.items()}
            return {k: v for k, v in out.items() if k in grads or (k.startswith("dZ") and k[2:].isdigit())}
        if isinstance(output, list):
            if len(output) == layers and all(isinstance(x, list) and len(x) == 2 for x in output):
                flat = [a for pair in output for a in pair]
            elif len(output) == 2 * layers and not any(isinstance(x, list) for x in output):
                flat = list(output)
            else:
                raise Unreadable(f"backward returned a list of {len(output)} items; expected {layers} "
                                 f"(dW, db) pairs or {2 * layers} arrays in the order of the parameters "
                                 f"(W1, b1, ..., W{layers}, b{layers})")
            return dict(zip(grads, flat))
        kind = getattr(output, "type_name", None) or _returned(output)
        raise Unreadable(f"backward must return a dict with keys {expected} (or W1 b1 ..., or a list in the "
                         f"order of the parameters); it returned {kind}")

    def say(self, text: str) -> str:
        """A sentence with the article's column-form products rewritten for this layout.

        Example:
            >>> Layout("rows").say("dZ1 = (W2^T dZ2) * f'(A1); dW3 = dZ3 A1^T / m")
            "dZ1 = (dZ2 @ W2.T) * f'(A1); dW3 = A1.T @ dZ3 / m"
        """
        if not self.rowwise:
            return text
        rows = self.layout == "rows"
        rules = [
            (r"W(\d) used where W\1\^T belongs", r"W\1 used where W\1.T belongs" if rows
             else r"W\1.T used where W\1 belongs"),
            (r"\(W(\d)\^T dZ(\d)\)", r"(dZ\2 @ W\1.T)" if rows else r"(dZ\2 @ W\1)"),
            (r"W(\d)\^T dZ(\d)", r"dZ\2 @ W\1.T" if rows else r"dZ\2 @ W\1"),
            (r"\(W(\d) dZ(\d)\)", r"(dZ\2 @ W\1)" if rows else r"(dZ\2 @ W\1.T)"),
            (r"dZ(\d) (X|[AZ]\d)\^T / m", r"\2.T @ dZ\1 / m" if rows else r"dZ\1.T @ \2 / m"),
            (r"sum\(dZ(\d), axis=1, keepdims\)", r"sum(dZ\1, axis=0)"),
        ]
        if not rows:
            rules.append((r"\(missing transpose\)", "(an extra transpose: nn.Linear weights are used as stored)"))
        for pattern, repl in rules:
            text = re.sub(pattern, repl, text)
        return text

    def formula(self, name: str, article: str) -> str:
        """The article's formula for ``name`` in the user's layout."""
        if not self.rowwise:
            return article
        layer = name[-1]
        prev = "X" if layer == "1" else f"A{int(layer) - 1}"
        wt = "" if self.layout == "linear" else ".T"
        table = {
            "dW": (f"dW{layer} = dZ{layer}.T @ {prev} / m" if self.layout == "linear"
                   else f"dW{layer} = {prev}.T @ dZ{layer} / m"),
            "db": f"db{layer} = sum(dZ{layer}, axis=0) / m",
        }
        if name[:2] in table:
            return table[name[:2]]
        if name.startswith("dZ"):
            nxt = int(layer) + 1
            if article.startswith(f"dZ{layer} = A"):
                return article
            act = "g" if "g'" in article else "f"
            w_t = f"W{nxt}" if self.layout == "linear" else f"W{nxt}{wt}"
            return f"dZ{layer} = (dZ{nxt} @ {w_t}) * {act}'(Z{layer})"
        return article


def _returned(output: Any) -> str:
    """What came back, said plainly: a number comes back from the child as a 0-d array
    (``np.float64(0.0)``, ``0.0``, ``np.array(0.0)`` alike), so say "a single number 0.0"."""
    if isinstance(output, np.ndarray):
        if output.ndim == 0:
            return f"a single number {output.item()!r}, not gradients"
        return f"one array of shape {output.shape}"
    return type(output).__name__
