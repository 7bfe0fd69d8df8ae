"""Check a PyTorch activation (e.g. a ``torch.autograd.Function``'s ``apply``) against the truth.

PyTorch is imported inside the functions only: importing this module (or
``derive``) never imports torch.  The checks are those of
:mod:`derive.frameworks.compare`; this module runs the user's function through
autograd and adds torch's structural probes:

* broadcasting: a 3-d tensor, a non-contiguous (transposed) view and a 0-d
  tensor give the same values and shapes as the flat grid;
* an expanded upstream gradient (``y.sum().backward()`` hands ``backward`` a
  stride-0 ``grad_output``), which breaks a backward that writes into it;
* in-place misuse: a forward that modifies its input, a backward that
  modifies ``grad_output``, and a tensor saved with ``ctx.save_for_backward``
  then modified in place (torch's version-counter error, turned into a
  finding that says what happened).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from derive.frameworks._extras import require
from derive.frameworks.compare import UserError, run_checks
from derive.frameworks.limit import DEFAULT_CALL_LIMIT
from derive.frameworks.reference import truth_for
from derive.frameworks.report import Finding, FrameworkReport
from derive.frameworks.validate import check_options, qualname

__all__ = ["check_torch_activation"]

_VERSION_ERROR = "modified by an inplace operation"
_OVERLAP_ERROR = "refers to a single memory location"
_ONCE = "once_differentiable"


def _inplace_text(exc: BaseException) -> str | None:
    text = str(exc)
    if _VERSION_ERROR in text:
        return ("in-place: a tensor saved with ctx.save_for_backward was modified in place after it was saved "
                "(torch's version-counter check fails in backward); save a copy, or compute the result out of place")
    if _OVERLAP_ERROR in text:
        return ("in-place: backward writes into grad_output in place, which fails when grad_output is an "
                "expanded tensor (as y.sum().backward() gives); compute a new tensor instead")
    return None


class TorchRunner:
    """Runs a user's torch function on NumPy inputs (see :class:`derive.frameworks.compare.Runner`)."""

    framework = "torch"

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.torch = require("torch")

    def _apply(self, x: Any) -> Any:
        torch = self.torch
        try:
            # an activation sees an intermediate tensor in a network, not a leaf: in-place
            # Functions (ctx.mark_dirty) are legal there
            y = self.fn(x.clone() if x.requires_grad else x)
        except (Exception, SystemExit) as exc:
            raise UserError(_inplace_text(exc) or f"{type(exc).__name__}: {_first(exc)}") from None
        if not isinstance(y, torch.Tensor):
            raise UserError(f"returned {type(y).__name__}, not a tensor")
        return y

    def _grad(self, y: Any, x: Any, g: Any, **kw: Any) -> Any:
        try:
            (gx,) = self.torch.autograd.grad(y, x, g, **kw)
        except (Exception, SystemExit) as exc:
            raise UserError(_inplace_text(exc) or f"{type(exc).__name__}: {_first(exc)}") from None
        if gx is None:
            raise UserError("gave no gradient for the input")
        return gx

    def _leaf(self, xs: np.ndarray) -> Any:
        return self.torch.tensor(xs.copy()).requires_grad_(True)

    def forward(self, xs: np.ndarray) -> np.ndarray:
        y = self._apply(self._leaf(xs))
        return y.detach().numpy().copy()

    def backward(self, xs: np.ndarray, g: np.ndarray) -> np.ndarray:
        x = self._leaf(xs)
        y = self._apply(x)
        if y.shape != x.shape:
            raise UserError(f"forward returned shape {tuple(y.shape)} for input shape {tuple(x.shape)}")
        return self._grad(y, x, self.torch.tensor(g.copy())).detach().numpy().copy()

    def second(self, xs: np.ndarray, g: np.ndarray, v: np.ndarray) -> np.ndarray | str:
        torch = self.torch
        x = self._leaf(xs)
        y = self._apply(x)
        gx = self._grad(y, x, torch.tensor(g.copy()), create_graph=True)
        if not gx.requires_grad:
            return ("backward is not differentiable (no graph under create_graph=True): the function does not "
                    "claim second derivatives")
        try:
            (h,) = torch.autograd.grad(gx, x, torch.tensor(v.copy()), allow_unused=True)
        except (Exception, SystemExit) as exc:
            if _ONCE in str(exc):
                return "backward is marked @once_differentiable: the function does not claim second derivatives"
            raise UserError(_inplace_text(exc) or f"{type(exc).__name__}: {_first(exc)}") from None
        return np.zeros_like(xs) if h is None else h.detach().numpy().copy()

    def structure(self, xs: np.ndarray, g: np.ndarray, want_y: np.ndarray, want_gx: np.ndarray,
                  close: Callable[..., np.ndarray], want_ones: np.ndarray) -> list[Finding]:
        dt = str(xs.dtype)
        found: list[Finding] = []
        idx = np.flatnonzero((np.abs(xs) >= 2.0**-10) & (np.abs(xs) <= 2.0**10)
                             & np.isfinite(want_y) & np.isfinite(want_gx))[:24]
        if idx.size < 24:
            return found
        found += self._shapes(xs[idx], g[idx], want_y[idx], want_gx[idx], close, dt)
        found += self._inplace(xs[idx], g[idx], want_ones[idx], close, dt)
        return found

    def _shapes(self, xs: np.ndarray, g: np.ndarray, want_y: np.ndarray, want_gx: np.ndarray,
                close: Callable[..., np.ndarray], dt: str) -> list[Finding]:
        torch = self.torch
        cases: list[tuple[str, Any, Any]] = [
            ("a 3-d tensor of shape (2, 3, 4)", lambda a: torch.tensor(a.reshape(2, 3, 4)), lambda t: t.reshape(-1)),
            ("a non-contiguous (transposed) 2-d view", lambda a: torch.tensor(a.reshape(4, 6)).t(),
             lambda t: t.t().reshape(-1)),
        ]
        for what, make, flat in cases:
            try:
                x = make(xs.copy()).requires_grad_(True)
                y = self._apply(x)
                if tuple(y.shape) != tuple(x.shape):
                    return [Finding("FAIL", "broadcasting", dt, f"forward on {what} returned shape "
                                    f"{tuple(y.shape)} for input shape {tuple(x.shape)}")]
                gt = make(g.copy())
                gx = self._grad(y, x, gt)
                yv, gv = flat(y.detach()).numpy(), flat(gx.detach()).numpy()
            except UserError as exc:
                return [Finding("FAIL", "broadcasting", dt, f"on {what}: {exc}")]
            bad = ~close(yv, want_y, np.ones_like(want_y)) | ~close(gv, want_gx, g)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                return [Finding("FAIL", "broadcasting", dt, f"values on {what} differ from the same inputs as a "
                                "1-d tensor (forward or backward mixes up elements)", float(xs[i]), float(g[i]),
                                float(gv[i]), float(want_gx[i]))]
        try:
            x = torch.tensor(xs[0]).requires_grad_(True)
            y = self._apply(x)
            if y.shape != x.shape:
                return [Finding("FAIL", "broadcasting", dt, f"forward on a 0-d tensor returned shape {tuple(y.shape)}")]
            gx = self._grad(y, x, torch.tensor(g[0]))
        except UserError as exc:
            return [Finding("FAIL", "broadcasting", dt, f"on a 0-d tensor: {exc}", float(xs[0]))]
        if not close(np.array([float(gx)]), want_gx[:1], g[:1]).all():
            return [Finding("FAIL", "broadcasting", dt, "backward on a 0-d tensor differs from the 1-d result",
                            float(xs[0]), float(g[0]), float(gx), float(want_gx[0]))]
        return []

    def _inplace(self, xs: np.ndarray, g: np.ndarray, want_ones: np.ndarray, close: Callable[..., np.ndarray],
                 dt: str) -> list[Finding]:
        torch = self.torch
        found: list[Finding] = []
        leaf = self._leaf(xs)
        x = leaf.clone()
        before = x.detach().clone()
        try:
            y = self.fn(x)
        except (Exception, SystemExit):
            return found  # reported by the forward check
        dirty = isinstance(y, torch.Tensor) and y.data_ptr() == x.data_ptr()  # an in-place Function, declared
        if not dirty and not torch.equal(x.detach(), before):
            i = int(np.flatnonzero((x.detach() != before).numpy())[0])
            found.append(Finding("FAIL", "in-place", dt, "forward modified its input tensor in place (the caller's "
                                 "x changes, and a tensor saved from it for backward is no longer the input); "
                                 "compute out of place, or return the input and call ctx.mark_dirty", float(xs[i]),
                                 got=float(x.detach()[i]), want=float(xs[i])))
        x = leaf
        try:
            y = self._apply(x)
        except UserError:
            return found
        gt = torch.tensor(g.copy())
        g_before = gt.clone()
        try:
            self._grad(y, x, gt)
        except UserError:
            return found  # reported by the backward check
        if not torch.equal(gt, g_before):
            i = int(np.flatnonzero((gt != g_before).numpy())[0])
            found.append(Finding("FAIL", "in-place", dt, "backward modified grad_output in place (autograd may "
                                 "reuse that tensor for other inputs)", float(xs[i]), float(g[i]),
                                 float(gt[i]), float(g[i])))
        x = self._leaf(xs)
        try:
            self._apply(x).sum().backward()
        except UserError:
            return found
        except (Exception, SystemExit) as exc:
            text = _inplace_text(exc)
            if text:
                found.append(Finding("FAIL", "in-place", dt, text[len("in-place: "):] + " (seen with y.sum().backward())"))
            else:
                found.append(Finding("FAIL", "backward", dt, f"y.sum().backward() raised {type(exc).__name__}: "
                                     f"{_first(exc)} (an expanded upstream gradient)"))
            return found
        gx = x.grad.detach().numpy() if x.grad is not None else np.full_like(xs, np.nan)
        bad = ~close(gx, want_ones, np.ones_like(g))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            found.append(Finding("FAIL", "broadcasting", dt, "y.sum().backward() (an expanded upstream gradient of "
                                 "ones) gives another gradient than backward with a contiguous one of ones",
                                 float(xs[i]), 1.0, float(gx[i]), float(want_ones[i])))
        return found


def _first(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    return text if len(text) <= 160 else text[:157] + "..."


def check_torch_activation(
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
    """Check a PyTorch implementation ``fn`` (e.g. ``MyAct.apply``) of ``activation``.

    Checks forward against the mpmath reference over the whole float range,
    backward with a random upstream gradient (a forgotten ``grad_output``
    factor is named), the derivative at and around each kink (another
    legitimate convention is a note, not a failure), float64 and float32,
    second derivatives via ``create_graph`` where the function is
    differentiable twice, broadcasting, and in-place misuse.  A call that
    hangs is stopped after ``call_limit`` seconds and reported.

    Args:
        activation: anything :func:`derive.activation_expr` takes
            (``"elu"``, ``"where(z >= 0, z, z / sqrt(1 + z**2))"``, a sympy expression).
        fn: the implementation, called as ``fn(x)`` on a tensor.
        rtol: relative tolerance, one number or ``{dtype: number}``; default
            64 machine epsilons of the dtype (see :mod:`derive.frameworks.compare`
            for why it scales with ``|f| + |z f'|``).
        atol: absolute floor, one number or per dtype; default the smallest
            normal number of the dtype.
        dtypes: among ``"float64"`` and ``"float32"``.
        seed: seed of the moderate inputs and of the upstream gradients.
        name: the name shown in the report (default: ``fn``'s qualified name).
        call_limit: seconds each call of the user's code may take (forward,
            backward, ... over a whole grid; see :mod:`derive.frameworks.limit`).
            A call that does not return in time is a ``call`` FAIL naming it,
            and the function is not called again.

    Returns:
        A :class:`~derive.frameworks.report.FrameworkReport`.

    Raises:
        InputError: ``fn`` is not callable, or an option is invalid.
        MissingExtraError: PyTorch is not installed.

    Example:
        >>> import torch
        >>> check_torch_activation("tanh", torch.tanh).ok
        True
    """
    check_options(fn, rtol, atol, dtypes, seed, call_limit)
    runner = TorchRunner(fn)
    truth = truth_for(activation)
    text = activation if isinstance(activation, str) else truth.text
    report = FrameworkReport("torch", name or qualname(fn), text, dtypes=list(dtypes),
                             kinks=[k.at for k in truth.kinks],
                             checked=["forward", "backward with a random upstream gradient", "kinks",
                                      "second derivative (create_graph)", "broadcasting", "in-place"])
    return run_checks(runner, truth, report, dtypes=list(dtypes), seed=seed, rtol=rtol, atol=atol,
                      call_limit=call_limit)
