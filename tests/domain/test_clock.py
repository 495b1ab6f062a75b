from __future__ import annotations

import pytest

from mockscope import ManualClock, SystemClock
from mockscope.domain.clock import DEFAULT_MANUAL_START_MS


def test_manual_clock_moves_only_when_advanced() -> None:
    clock = ManualClock()
    assert clock.now_ms() == DEFAULT_MANUAL_START_MS
    assert clock.now_ms() == DEFAULT_MANUAL_START_MS
    clock.advance(1.5)
    assert clock.now_ms() == DEFAULT_MANUAL_START_MS + 1500


def test_manual_clock_advances_in_exact_milliseconds() -> None:
    clock = ManualClock(start_ms=0)
    for _ in range(1000):
        clock.advance(0.001)
    assert clock.now_ms() == 1000


def test_manual_clock_set_and_restart() -> None:
    clock = ManualClock(start_ms=10)
    clock.set(5_000)
    assert clock.now_ms() == 5_000
    clock.restart()
    assert clock.now_ms() == 10


@pytest.mark.parametrize("bad", [-0.001, -5])
def test_time_never_runs_backwards(bad: float) -> None:
    clock = ManualClock(start_ms=1_000)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(bad)
    with pytest.raises(ValueError, match="forward"):
        clock.set(999)
    assert clock.now_ms() == 1_000


def test_system_clock_advance_adds_an_offset_that_restart_removes() -> None:
    clock = SystemClock()
    before = clock.now_ms()
    clock.advance(3600)
    assert clock.now_ms() >= before + 3_600_000
    clock.restart()
    assert clock.now_ms() < before + 3_600_000


def test_system_clock_rejects_a_non_positive_scale() -> None:
    with pytest.raises(ValueError, match="time_scale"):
        SystemClock(time_scale=0)
