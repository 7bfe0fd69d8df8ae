"""derive.timeout: the wall-clock safety net stops only the step it guards."""

from __future__ import annotations

import gc
import time

import pytest

from derive.timeout import StepTimeout, time_limit


def _busy(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sum(range(100))


def test_the_interrupt_never_lands_in_a_gc_callback(capfd):
    """Hypothesis registers a gc callback; an interrupt landing there printed
    'Exception ignored in gc_callback' and left it half done.  Here every
    callback that starts also finishes, the step still stops, nothing is printed."""
    log: list[str] = []

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            log.append("start")
            _busy(0.03)  # most of the block's time is spent in here
            log.append("end")

    gc.callbacks.append(callback)
    try:
        t0 = time.monotonic()
        with pytest.raises(StepTimeout, match="step 'collecting'"):
            with time_limit("collecting", 0.1):
                while time.monotonic() - t0 < 5.0:
                    gc.collect()
        assert time.monotonic() - t0 < 2.0
    finally:
        gc.callbacks.remove(callback)
    assert log and log.count("start") == log.count("end")
    assert "Exception ignored" not in capfd.readouterr().err


def test_a_finaliser_is_not_interrupted(capfd):
    done: list[int] = []

    class Slow:
        def __del__(self) -> None:
            _busy(0.03)
            done.append(1)

    t0 = time.monotonic()
    with pytest.raises(StepTimeout):
        with time_limit("finalisers", 0.1):
            while time.monotonic() - t0 < 5.0:
                Slow()  # freed at once: __del__ runs inside the block
    assert time.monotonic() - t0 < 2.0
    assert "Exception ignored" not in capfd.readouterr().err
