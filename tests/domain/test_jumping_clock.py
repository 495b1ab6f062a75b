"""The jumping clock, and where a read of an unfinished task sends it."""

from __future__ import annotations

import time

import pytest

from mockscope import JumpingClock, ManualClock, SystemClock
from mockscope.domain.lifecycle import FOREVER_MS, Plan, TaskStatus


def test_it_starts_at_the_wall_clock_and_moves_only_when_told() -> None:
    clock = JumpingClock()
    assert abs(clock.now_ms() - time.time() * 1000) < 5_000
    start = clock.now_ms()
    assert clock.now_ms() == start, "no flow: it stands still between jumps"
    assert clock.advance_to(start + 26_814) == start + 26_814
    assert clock.advance_to(start) == start + 26_814, "a jump never goes back"
    clock.advance(1)
    assert clock.now_ms() == start + 27_814
    assert (clock.jumps, clock.mode, clock.time_scale) == (True, "manual", 1.0)


def test_a_fixed_start_makes_it_reproducible_across_restarts() -> None:
    clock = JumpingClock(start_ms=1_000)
    clock.advance_to(50_000)
    clock.restart()
    assert clock.now_ms() == 1_000
    with pytest.raises(ValueError, match="forward"):
        clock.set(999)


def test_restart_returns_to_the_wall_clock_when_no_start_was_given() -> None:
    clock = JumpingClock()
    clock.advance(86_400)
    clock.restart()
    assert abs(clock.now_ms() - time.time() * 1000) < 5_000


def test_whoever_would_wait_on_it_makes_it_jump_instead() -> None:
    clock, called = JumpingClock(start_ms=0), []
    clock.call_at(2_000, lambda: called.append(clock.now_ms()))
    assert called == [2_000]
    clock.call_at(1_000, lambda: called.append(clock.now_ms()))
    assert called == [2_000, 2_000], "a moment already passed is answered at once"


def test_with_flow_it_also_runs_on_the_wall_clock() -> None:
    clock = JumpingClock(start_ms=0, flow=1000.0)
    assert (clock.mode, clock.time_scale) == ("system", 1000.0)
    first = clock.now_ms()
    deadline = time.monotonic() + 5
    while clock.now_ms() == first and time.monotonic() < deadline:
        pass  # a busy wait of about a millisecond, not a sleep
    assert clock.now_ms() > first
    assert clock.advance_to(10**9) >= 10**9
    with pytest.raises(ValueError, match="flow"):
        JumpingClock(flow=-1)


@pytest.mark.parametrize("clock", [ManualClock(start_ms=0), SystemClock()])
def test_the_other_clocks_do_not_jump_but_can_be_moved_to_a_moment(
    clock: ManualClock | SystemClock,
) -> None:
    assert not clock.jumps
    target = clock.now_ms() + 60_000
    assert clock.advance_to(target) >= target


def plan(**changes: int) -> Plan:
    fields = {"submit_ms": 0, "scheduled_ms": 14, "end_ms": 26_814, **changes}
    return Plan(**fields)


def test_a_read_jumps_to_the_end_of_a_pending_or_running_task() -> None:
    assert plan().jump_target(0) == 26_814
    assert plan().jump_target(5_000) == 26_814
    assert plan().jump_target(26_814) is None, "finished: nowhere to go"
    canceled = plan(canceled_ms=3)
    assert canceled.jump_target(5) is None


def test_a_suspension_ahead_is_shown_before_the_end() -> None:
    suspended = plan(end_ms=66_814, suspend_after_ms=1_000)
    suspended.suspend_ms = 40_000
    first = suspended.jump_target(0)
    assert first == 1_014
    assert suspended.phase_at(first) is TaskStatus.SUSPENDED
    assert suspended.jump_target(first) == 66_814


def test_a_task_held_until_told_is_never_jumped_to_forever() -> None:
    held_pending = plan(scheduled_ms=FOREVER_MS, end_ms=FOREVER_MS)
    assert held_pending.jump_target(0) is None
    held_running = plan(end_ms=FOREVER_MS)
    assert held_running.jump_target(0) == 14, "at most to its start: it shows RUNNING"
    assert held_running.jump_target(14) is None
