"""Check a JAX activation (``jax.custom_vjp`` / ``custom_jvp`` or plain) against the truth.

JAX is imported inside the functions only.  float64 runs inside a *scoped*
setting (:func:`x64`: ``jax.enable_x64(True)`` as a context manager, or
``jax.experimental.enable_x64()`` on older JAX), never through the
process-wide ``jax_enable_x64`` flag, so the user's other code and tests keep
their setting.  JAX arrays are immutable, so there is no in-place probe; the
structural probes are a 3-d array, a 0-d array and ``jax.grad`` of a sum (an
upstream gradient of ones).  Everything runs under ``jax.jit`` when the
function can be traced (a few compilations per dtype instead of one per
primitive and shape in eager mode).
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from derive.frameworks._extras import require
from derive.frameworks.compare import UserError, run_checks
from derive.frameworks.limit import DEFAULT_CALL_LIMIT
from derive.frameworks.reference import truth_for
from derive.frameworks.report import Finding, FrameworkReport
from derive.frameworks.validate import check_options, qualname

__all__ = ["check_jax_activation", "x64"]


@contextlib.contextmanager
def x64(enabled: bool = True) -> Iterator[None]:
    """Run the block with 64-bit JAX types, for this thread and block only.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> with x64():
        ...     str(jnp.ones(1).dtype)
        'float64'
        >>> jax.config.jax_enable_x64
        False
    """
    if not enabled:
        yield
        return
    jax = require("jax")
    state = getattr(jax, "enable_x64", None)
    if state is not None and callable(state):
        with state(True):
            yield
        return
    from jax.experimental import enable_x64  # JAX before the scoped config state

    with enable_x64():
        yield


def _first(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    return text if len(text) <= 160 else text[:157] + "..."


class JaxRunner:
    """Runs a user's JAX function on NumPy inputs (see :class:`derive.frameworks.compare.Runner`).

    Forward and backward run as one ``jax.jit`` (one compilation per shape and
    dtype, instead of one per primitive in eager mode); a function that cannot
    be traced runs eagerly.
    """

    framework = "jax"

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.jax = require("jax")
        self.jnp = require("jax.numpy")
        self._fb = self.jax.jit(self._fwd_bwd)
        self._all = self.jax.jit(self._fwd_bwd_second)
        self._eager = False
        self._no_second = False

    def _guard(self, what: Callable[[], Any]) -> Any:
        try:
            return what()
        except UserError:
            raise
        except (Exception, SystemExit) as exc:
            raise UserError(f"{type(exc).__name__}: {_first(exc)}") from None

    def _np(self, y: Any) -> np.ndarray:
        if not hasattr(y, "shape") or not hasattr(y, "dtype"):
            raise UserError(f"returned {type(y).__name__}, not an array")
        return np.asarray(y).copy()

    def _vjp(self, x: Any, g: Any) -> Any:
        y, pull = self.jax.vjp(self.fn, x)
        if getattr(y, "shape", None) != x.shape:
            raise UserError(f"forward returned shape {getattr(y, 'shape', None)} for input shape {x.shape}")
        return pull(g)[0]

    def _fwd_bwd(self, x: Any, g: Any) -> tuple[Any, Any]:
        y, pull = self.jax.vjp(self.fn, x)
        if getattr(y, "shape", None) != x.shape:
            raise UserError(f"forward returned shape {getattr(y, 'shape', None)} for input shape {x.shape}")
        return y, pull(g)[0]

    def _fwd_bwd_second(self, x: Any, g: Any, v: Any) -> tuple[Any, Any, Any]:
        y, gx = self._fwd_bwd(x, g)
        _, pull = self.jax.vjp(lambda t: self._vjp(t, g), x)
        return y, gx, pull(v)[0]

    def _run(self, xs: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with x64(xs.dtype == np.float64):
            x, gj = self.jnp.asarray(xs), self.jnp.asarray(g)
            if not self._eager and not self._no_second:
                try:  # one compilation serves forward, backward and the second derivative
                    y, gx, _ = self._all(x, gj, gj)
                    return self._np(y), self._np(gx)
                except UserError:
                    raise
                except (Exception, SystemExit):
                    self._no_second = True
            if not self._eager:
                try:
                    y, gx = self._fb(x, gj)
                    return self._np(y), self._np(gx)
                except UserError:
                    raise
                except (Exception, SystemExit):  # not traceable (Python control flow on values...): eager
                    self._eager = True
            y = self._guard(lambda: self.fn(x))
            if getattr(y, "shape", None) != x.shape:
                raise UserError(f"forward returned shape {getattr(y, 'shape', None)} for input shape {x.shape}")
            return self._np(y), self._np(self._guard(lambda: self._vjp(x, gj)))

    def forward(self, xs: np.ndarray) -> np.ndarray:
        with x64(xs.dtype == np.float64):
            try:
                return self._run(xs, np.ones_like(xs))[0]
            except UserError as exc:
                if "forward returned shape" in str(exc):
                    raise
            return self._np(self._guard(lambda: self.fn(self.jnp.asarray(xs))))

    def backward(self, xs: np.ndarray, g: np.ndarray) -> np.ndarray:
        return self._run(xs, g)[1]

    def second(self, xs: np.ndarray, g: np.ndarray, v: np.ndarray) -> np.ndarray | str:
        with x64(xs.dtype == np.float64):
            args = (self.jnp.asarray(xs), self.jnp.asarray(g), self.jnp.asarray(v))
            try:
                return self._np((self._all if not self._eager else self._fwd_bwd_second)(*args)[2])
            except UserError:
                raise
            except (Exception, SystemExit) as exc:
                return f"the backward rule cannot be differentiated again ({type(exc).__name__}: {_first(exc)})"

    def structure(self, xs: np.ndarray, g: np.ndarray, want_y: np.ndarray, want_gx: np.ndarray,
                  close: Callable[..., np.ndarray], want_ones: np.ndarray) -> list[Finding]:
        dt = str(xs.dtype)
        idx = np.flatnonzero((np.abs(xs) >= 2.0**-10) & (np.abs(xs) <= 2.0**10)
                             & np.isfinite(want_y) & np.isfinite(want_gx))[:24]
        if idx.size < 24:
            return []
        xs, g, want_y, want_gx, want = xs[idx], g[idx], want_y[idx], want_gx[idx], want_ones[idx]
        jax, jnp, fn = self.jax, self.jnp, self.fn

        def probes(x3: Any, g3: Any, x0: Any, x1: Any) -> tuple[Any, ...]:
            y3, gx3 = self._fwd_bwd(x3, g3)
            return y3, gx3, jax.grad(fn)(x0), jax.grad(lambda t: jnp.sum(fn(t)))(x1)

        with x64(xs.dtype == np.float64):
            args = (jnp.asarray(xs.reshape(2, 3, 4)), jnp.asarray(g.reshape(2, 3, 4)), jnp.asarray(xs[0]),
                    jnp.asarray(xs))
            try:
                out = (probes if self._eager else jax.jit(probes))(*args)
                y3, gx3, d0, ds = (np.asarray(o, np.float64) for o in out)
            except (Exception, SystemExit) as exc:
                return [Finding("FAIL", "broadcasting", dt, "on a 3-d array, a 0-d array or jax.grad of a sum: "
                                f"{type(exc).__name__}: {_first(exc)}")]
        if y3.shape != (2, 3, 4) or gx3.shape != (2, 3, 4) or d0.shape != ():
            return [Finding("FAIL", "broadcasting", dt, "a 3-d or 0-d input gives an output of another shape")]
        yv, gv = y3.reshape(-1), gx3.reshape(-1)
        bad = ~close(yv, want_y, np.ones_like(want_y)) | ~close(gv, want_gx, g)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            return [Finding("FAIL", "broadcasting", dt, "values on a 3-d array of shape (2, 3, 4) differ from the "
                            "same inputs as a 1-d array", float(xs[i]), float(g[i]), float(gv[i]), float(want_gx[i]))]
        if not close(np.array([float(d0)]), want[:1], np.ones(1)).all():
            return [Finding("FAIL", "broadcasting", dt, "jax.grad on a 0-d array differs from the vjp of ones on a "
                            "1-d array", float(xs[0]), 1.0, float(d0), float(want[0]))]
        bad = ~close(ds, want, np.ones_like(want))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            return [Finding("FAIL", "broadcasting", dt, "jax.grad of sum(f(x)) differs from the vjp of ones on the "
                            "same inputs", float(xs[i]), 1.0, float(ds[i]), float(want[i]))]
        return []


def check_jax_activation(
    activation: Any,
    fn: Callable[..., Any],
    *,
    rtol: float | dict[str, float] | None = None,
    atol: float | dict[str, float] | None = None,
    dtypes: Sequence[str] = ("float64", "float32"),
    seed: int = 0,
    name: str | None = None,
    call_limit: float = DEFAULT_CALL_LIMIT,
) -> FrameworkReport:
    """Check a JAX implementation ``fn`` (``custom_vjp``, ``custom_jvp`` or plain) of ``activation``.

    The checks and options are those of
    :func:`~derive.frameworks.torch_check.check_torch_activation`; the
    backward is ``jax.vjp`` with a random cotangent, the second derivative
    the vjp of that vjp (reverse over reverse), and float64 runs under the
    scoped :func:`x64` setting (the global flag is left as it was).  A call
    that hangs (also while JAX traces the function) is stopped after
    ``call_limit`` seconds and reported.

    Raises:
        InputError: ``fn`` is not callable, or an option is invalid.
        MissingExtraError: JAX is not installed.

    Example:
        >>> import jax.numpy as jnp
        >>> check_jax_activation("tanh", jnp.tanh).ok
        True
    """
    check_options(fn, rtol, atol, dtypes, seed, call_limit)
    runner = JaxRunner(fn)
    truth = truth_for(activation)
    text = activation if isinstance(activation, str) else truth.text
    report = FrameworkReport("jax", name or qualname(fn), text, dtypes=list(dtypes),
                             kinks=[k.at for k in truth.kinks],
                             checked=["forward", "backward (vjp) with a random cotangent", "kinks",
                                      "second derivative (vjp of vjp)", "broadcasting"])
    return run_checks(runner, truth, report, dtypes=list(dtypes), seed=seed, rtol=rtol, atol=atol,
                      call_limit=call_limit)
