"""pytest plugin: check your own activations and backprop in your test suite.

Registered under the ``pytest11`` entry point, so it is active wherever
backprop-derive is installed.  Loading it imports no sympy (and nothing from
:mod:`derive.activation_check.check`): the symbolic machinery loads the first time
a check runs, so pytest start-up stays fast.

Example::

    import numpy as np
    from derive.plugin import assert_activation_ok

    def test_my_softplus():
        assert_activation_ok(
            "log(1 + exp(z))",
            derivative="sigmoid(z)",
            numpy_value=lambda z: np.logaddexp(0.0, z),
        )

    def test_with_fixture(activation_check):        # the same helper as a fixture
        activation_check("swish", numpy_value=my_swish, numpy_derivative=my_swish_grad)

    def test_my_backprop(backprop_check):          # a hand-written backward(params, X, Y)
        backprop_check(mynet.backward, f="swish", g="leaky_relu")

    def test_row_major(backprop_check):             # X is (m, d), X @ W + b
        backprop_check(mynet.backward_rows, layout="rows", params_as="pairs")

A failing check raises ``AssertionError`` whose message lists every fault
with its counterexample (the point, the value obtained and the true value),
followed by the full report; the traceback shows the user's test line, not
the checker's frames (``__tracebackhide__``).  Unusable input (a bad option,
code in another layout, a formula that does not parse) raises the library's own
exception (``InputError``, ``ParseError``...), also with the user's line and
its one-line message only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from derive.activation_check.check import ActivationReport
    from derive.backprop_check.check import BackpropReport

__all__ = ["assert_activation_ok", "check_activation_fixture", "assert_backprop_ok", "check_backprop_fixture"]


def _as_given(check: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``check(*args, **kwargs)``; unusable input (:class:`numeric.errors.BackpropDeriveError`:
    a bad option, code in another layout, a formula that does not parse) is re-raised
    without the checker's frames, so pytest shows the user's line and the one-line
    message.  It is the same exception object: ``pytest.raises(InputError)`` works."""
    __tracebackhide__ = True
    from numeric.errors import BackpropDeriveError

    try:
        return check(*args, **kwargs)
    except BackpropDeriveError as exc:
        raise exc.with_traceback(None) from None


def assert_activation_ok(activation: Any, **kwargs: Any) -> "ActivationReport":
    """Run :func:`derive.activation_check.check` and fail the test on any fault.

    Args:
        activation: a catalog name, a sympy expression or a string in ``z``.
        **kwargs: passed on (``derivative``, ``numpy_value``,
            ``numpy_derivative``, ``params``, ``seed``, ...).

    Returns:
        The report, when the check passes.

    Raises:
        AssertionError: the check found a fault; the message gives each
            counterexample.

    Example:
        >>> assert_activation_ok("tanh", derivative="1 - tanh(z)**2").ok
        True
    """
    __tracebackhide__ = True
    from derive.activation_check.check import check_activation  # sympy loads here, not at plugin load

    report = _as_given(check_activation, activation, **kwargs)
    if not report.ok:
        faults = "\n".join(f"  - {f}" for f in report.faults)
        raise AssertionError(f"activation check failed for {report.activation}:\n{faults}\n\n{report}")
    return report


@pytest.fixture(name="activation_check")
def check_activation_fixture() -> Callable[..., "ActivationReport"]:
    """The fixture ``activation_check``: :func:`assert_activation_ok` as a callable."""
    return assert_activation_ok


def assert_backprop_ok(backward: Callable[..., Any], **kwargs: Any) -> "BackpropReport":
    """Run :func:`derive.backprop_check.check` on a hand-written ``backward(params, X, Y)``
    and fail the test with the whole report unless every gradient is right.

    Args:
        backward: returns dW1 db1 dW2 db2 dW3 db3 (dZ1..dZ3 optional).
        **kwargs: passed on (``f``, ``g``, ``layout``, ``params_as``, ``dtype``,
            ``max_examples``, ``seed``, ``at_kinks``, ``call_limit``...).
            Works inside a user's own ``@given`` test too (no nested search).

    Example:
        >>> import numeric
        >>> assert_backprop_ok(lambda P, X, Y: numeric.backward(P, X, Y), max_examples=5).ok
        True
    """
    __tracebackhide__ = True  # a failure shows the user's test line and the report, not this frame
    from derive.backprop_check.check import check_backprop  # sympy loads here, not at plugin load

    report = _as_given(check_backprop, backward, **kwargs)
    if not report.ok:
        raise AssertionError(str(report))
    return report


@pytest.fixture(name="backprop_check")
def check_backprop_fixture() -> Callable[..., "BackpropReport"]:
    """The fixture ``backprop_check``: :func:`assert_backprop_ok` as a callable."""
    return assert_backprop_ok
