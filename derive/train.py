"""The article's task, trained: tell a handwritten 0 from a 1.

The data are the 360 images of 0s and 1s of the UCI optical digits
(8x8 pixels, 0..16; vendored in ``derive/data``, see its ATTRIBUTION.md).
Every fourth image (index 3, 7, 11, ...) is held out; the rest train the
article's network (d = 64 inputs, hidden widths n and p, one sigmoid
output, mean binary cross-entropy) by full-batch gradient descent.

Two runs start from the same parameters: one steps with the sympy-derived
gradients (:func:`derive.lambdified.gradient_function`), the other with the
hand-written :func:`numeric.backward`.  The gradients of the two are
compared at every step; at initialisation, mid-training and the end (where
outputs saturate and most real bugs show) both are also compared with
central differences of the cost, on the examples whose pre-activations keep
:data:`KINK_MARGIN` from every kink (a difference across a kink is not a
derivative).

Example:
    >>> result = train(TrainConfig(epochs=3))
    >>> result.ok, len(result.loss_derived)
    (True, 4)
"""

from __future__ import annotations

import gzip
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Callable

import numpy as np

import numeric
from derive.lambdified import gradient_function
from numeric.compare import compare_gradients
from numeric.errors import InputError
from numeric.gradcheck import numerical_gradient

__all__ = ["TrainConfig", "Checkpoint", "TrainingResult", "load_digits", "split", "train", "SAME_TOL", "FD_TOL",
           "KINK_MARGIN"]

# relative max-norm difference under which two float64 computations of the
# same gradient count as "identical to rounding": a few hundred ulps of the
# largest entry, far above BLAS reordering (~1e-16), far below any bug
SAME_TOL = 1e-12
# derived against central differences: the differences' own truncation and
# rounding error is ~1e-9 relative at the default steps
FD_TOL = 1e-6
# a central difference moves a pre-activation by about h |x| <= 1e-5 (steps ~1e-6
# relative, pixels <= 1); examples with a pre-activation this close to a kink of
# f or g are left out of the central-difference check (a difference across a
# kink measures neither one-sided derivative)
KINK_MARGIN = 1e-3

Progress = Callable[[int, int, float], None]


@dataclass(frozen=True)
class TrainConfig:
    """One training run (keyword-only use: ``TrainConfig(epochs=50)``).

    Attributes:
        hidden: the hidden widths (n, p).
        f, g: the hidden activations (catalog names).
        epochs: full-batch gradient-descent steps.
        rate: the learning rate.
        seed: seed of the initial parameters.
    """

    hidden: tuple[int, int] = (16, 8)
    f: str = "swish"
    g: str = "leaky_relu"
    epochs: int = 60
    rate: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.hidden) != 2 or any(int(w) < 1 for w in self.hidden):
            raise InputError(f"hidden takes two positive widths (n, p), got {self.hidden}")
        if self.epochs < 1:
            raise InputError(f"epochs must be at least 1, got {self.epochs}")
        if not (np.isfinite(self.rate) and self.rate > 0):
            raise InputError(f"the learning rate must be a positive number, got {self.rate}")
        for name in (self.f, self.g):
            numeric.get_activation(name)  # UnknownActivationError names the catalog


@dataclass(frozen=True)
class Checkpoint:
    """The gradient checks at one epoch (errors are max-norm relative)."""

    epoch: int
    loss: float
    derived_vs_numeric: float
    derived_vs_central: float
    numeric_vs_central: float
    saturated: int  # training outputs with A3 < 1e-4 or A3 > 1 - 1e-4
    outputs: int
    fd_examples: int = 0  # examples in the central-difference check (those away from kinks)

    @property
    def ok(self) -> bool:
        return (self.derived_vs_numeric <= SAME_TOL and self.derived_vs_central <= FD_TOL
                and self.numeric_vs_central <= FD_TOL)


@dataclass
class TrainingResult:
    """What :func:`train` measured; ``failures()`` lists what did not hold."""

    config: TrainConfig
    n_train: int
    n_test: int
    loss_derived: list[float] = field(default_factory=list)
    loss_numeric: list[float] = field(default_factory=list)
    max_grad_diff: float = 0.0  # over every step: derived vs numeric gradients
    max_param_diff: float = 0.0  # at the end: the two runs' parameters
    test_correct: int = 0
    test_correct_numeric: int = 0
    train_correct: int = 0
    checkpoints: list[Checkpoint] = field(default_factory=list)
    seconds: float = 0.0  # wall time (never printed in a report)

    @property
    def max_loss_diff(self) -> float:
        return max(abs(a - b) for a, b in zip(self.loss_derived, self.loss_numeric))

    def failures(self) -> list[str]:
        out = []
        if self.max_grad_diff > SAME_TOL:
            out.append(f"training: derived and numeric gradients differ by {self.max_grad_diff:.1e} (relative)")
        if self.max_loss_diff > SAME_TOL * max(1.0, max(self.loss_derived)):
            out.append(f"training: the two loss curves differ by {self.max_loss_diff:.1e}")
        if self.test_correct != self.test_correct_numeric:
            out.append("training: the two runs classify the held-out images differently")
        out += [f"training: gradient check at epoch {c.epoch}" for c in self.checkpoints if not c.ok]
        return out

    @property
    def ok(self) -> bool:
        return not self.failures()


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The vendored 0/1 digits: X (64 x 360, pixels scaled to [0, 1]) and labels (360,)."""
    raw = resources.files("derive").joinpath("data", "digits01.csv.gz").read_bytes()
    rows = np.array(
        [[int(v) for v in line.split(",")] for line in gzip.decompress(raw).decode("ascii").split()],
        dtype=np.float64,
    )
    return np.ascontiguousarray(rows[:, :64].T / 16.0), rows[:, 64].astype(int)


def split(X: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every fourth image held out: (X_train, Y_train, X_test, Y_test), Y as 1 x m rows."""
    held = np.arange(X.shape[1]) % 4 == 3
    Y = labels.astype(np.float64)[None, :]
    return (np.ascontiguousarray(X[:, ~held]), Y[:, ~held], np.ascontiguousarray(X[:, held]), Y[:, held])


def _correct(params: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray, f: str, g: str) -> int:
    A3 = numeric.forward(params, X, f, g)["A3"]
    return int(np.sum((A3 > 0.5) == (Y > 0.5)))


def _away_from_kinks(cache: dict[str, np.ndarray], cfg: TrainConfig) -> np.ndarray:
    """Columns (examples) whose hidden pre-activations all keep :data:`KINK_MARGIN`
    from every kink of f and g: there a central difference does not straddle a kink."""
    keep = np.ones(cache["Z1"].shape[1], dtype=bool)
    for layer, name in ((1, cfg.f), (2, cfg.g)):
        act = numeric.get_activation(name)
        for k in tuple(act.kinks) + tuple(getattr(act, "rough", ())):
            keep &= np.min(np.abs(cache[f"Z{layer}"] - k), axis=0) > KINK_MARGIN
    return keep


def _check(epoch: int, params: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray, cfg: TrainConfig,
           grad_fn: Any) -> Checkpoint:
    derived = grad_fn(params, X, Y)
    hand = numeric.backward(params, X, Y, cfg.f, cfg.g)
    cache = numeric.forward(params, X, cfg.f, cfg.g)
    keep = _away_from_kinks(cache, cfg)
    Xk, Yk = np.ascontiguousarray(X[:, keep]), np.ascontiguousarray(Y[:, keep])
    central = numerical_gradient(params, Xk, Yk, cfg.f, cfg.g, method="central")
    A3 = cache["A3"]
    saturated = int(np.sum((A3 < 1e-4) | (A3 > 1 - 1e-4)))
    return Checkpoint(
        epoch,
        numeric.cost(params, X, Y, cfg.f, cfg.g),
        max(compare_gradients(derived, hand).values()),
        max(compare_gradients(grad_fn(params, Xk, Yk), central).values()),
        max(compare_gradients(numeric.backward(params, Xk, Yk, cfg.f, cfg.g), central).values()),
        saturated,
        int(A3.size),
        int(keep.sum()),
    )


def train(config: TrainConfig | None = None, *, progress: Progress | None = None) -> TrainingResult:
    """Train twice from one start, with the derived and with the hand-written gradients.

    Args:
        config: the run (default :class:`TrainConfig()`: 60 epochs, about a second).
        progress: called as ``progress(epoch, epochs, loss)`` after every epoch.
    """
    cfg = config or TrainConfig()
    start = time.perf_counter()
    X, labels = load_digits()
    Xtr, Ytr, Xte, Yte = split(X, labels)
    n, p = (int(w) for w in cfg.hidden)
    init = numeric.init_params(Xtr.shape[0], n, p, 1, seed=cfg.seed)
    derived = {k: v.copy() for k, v in init.items()}
    hand = {k: v.copy() for k, v in init.items()}
    grad_fn = gradient_function(cfg.f, cfg.g)
    result = TrainingResult(cfg, Xtr.shape[1], Xte.shape[1])
    marks = {0, cfg.epochs // 2, cfg.epochs}
    for epoch in range(cfg.epochs + 1):
        result.loss_derived.append(numeric.cost(derived, Xtr, Ytr, cfg.f, cfg.g))
        result.loss_numeric.append(numeric.cost(hand, Xtr, Ytr, cfg.f, cfg.g))
        if epoch in marks:
            result.checkpoints.append(_check(epoch, derived, Xtr, Ytr, cfg, grad_fn))
        if progress is not None:
            progress(epoch, cfg.epochs, result.loss_derived[-1])
        if epoch == cfg.epochs:
            break
        gd = grad_fn(derived, Xtr, Ytr)
        gh = numeric.backward(hand, Xtr, Ytr, cfg.f, cfg.g)
        result.max_grad_diff = max(result.max_grad_diff, max(compare_gradients(gd, gh).values()))
        for k in init:
            derived[k] -= cfg.rate * gd["d" + k]
            hand[k] -= cfg.rate * gh["d" + k]
    result.max_param_diff = max(float(np.max(np.abs(derived[k] - hand[k]))) for k in init)
    result.test_correct = _correct(derived, Xte, Yte, cfg.f, cfg.g)
    result.test_correct_numeric = _correct(hand, Xte, Yte, cfg.f, cfg.g)
    result.train_correct = _correct(derived, Xtr, Ytr, cfg.f, cfg.g)
    result.seconds = time.perf_counter() - start
    return result
