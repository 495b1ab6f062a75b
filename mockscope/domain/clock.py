"""Injected time. The domain reads time only through a `Clock`, in integer epoch milliseconds.

Integer milliseconds keep time travel exact: a task that ends at `t` is still running at `t - 1`.

Three clocks: `SystemClock` (the wall clock, optionally scaled), `ManualClock` (moves only when
advanced) and `JumpingClock` (a manual clock that never lets anyone wait: whoever would wait for
a later moment, such as a reader of an unfinished task, jumps it there instead).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Literal, Protocol, runtime_checkable

#: A day of simulated time: how long finished tasks are kept, and the widest listing window.
DAY_MS = 24 * 60 * 60 * 1000
#: 2024-03-01 09:38:24 UTC (17:38:24 in Beijing), the start of a manual clock unless told otherwise.
DEFAULT_MANUAL_START_MS = 1_709_285_904_000


@runtime_checkable
class Clock(Protocol):
    """A source of the current simulated time."""

    mode: Literal["manual", "system"]
    time_scale: float
    #: True for a clock that jumps to a task's end when the unfinished task is read.
    jumps: bool

    def now_ms(self) -> int:
        """The current simulated time in epoch milliseconds."""
        ...

    def advance(self, seconds: float) -> None:
        """Jump forward by `seconds` of simulated time."""
        ...

    def advance_to(self, epoch_ms: int) -> int:
        """Move forward to `epoch_ms` unless already there or later; returns the time now."""
        ...

    def restart(self) -> None:
        """Return to the state the clock was created in (used by reset)."""
        ...


def _to_ms(seconds: float) -> int:
    if seconds < 0:
        raise ValueError(f"time only moves forward; cannot advance by {seconds} s")
    return round(seconds * 1000)


class ManualClock:
    """A clock that moves only when told to: tests advance it instead of sleeping.

    Whoever must wait for simulated time (a delayed answer, say) leaves an alarm with
    `call_at`; advancing the clock past it calls it back, from the advancing thread.
    """

    mode: Literal["manual", "system"] = "manual"
    time_scale: float = 1.0
    jumps: bool = False

    def __init__(self, start_ms: int = DEFAULT_MANUAL_START_MS) -> None:
        self._start_ms = start_ms
        self._now_ms = start_ms
        self._lock = threading.Lock()
        self._alarms: list[tuple[int, int, Callable[[], None]]] = []
        self._alarm_order = itertools.count()

    def now_ms(self) -> int:
        return self._now_ms

    def advance(self, seconds: float) -> None:
        step = _to_ms(seconds)
        with self._lock:
            self._now_ms += step
        self._ring()

    def set(self, epoch_ms: int) -> None:
        """Move to an absolute time; it may not go backwards."""
        with self._lock:
            if epoch_ms < self._now_ms:
                raise ValueError("time only moves forward; cannot set the clock into the past")
            self._now_ms = epoch_ms
        self._ring()

    def advance_to(self, epoch_ms: int) -> int:
        with self._lock:
            self._now_ms = max(self._now_ms, epoch_ms)
        self._ring()
        return self.now_ms()

    def restart(self) -> None:
        with self._lock:
            self._now_ms = self._start_ms
            # Whoever waited is let go rather than left waiting for a time that now lies far ahead.
            due, self._alarms = self._alarms, []
        for _, _, callback in sorted(due):
            callback()

    def call_at(self, at_ms: int, callback: Callable[[], None]) -> None:
        """Call `callback` once the clock reads `at_ms` (at once if it already does)."""
        with self._lock:
            if at_ms > self._now_ms:
                heapq.heappush(self._alarms, (at_ms, next(self._alarm_order), callback))
                return
        callback()

    def _ring(self) -> None:
        due = []
        with self._lock:
            while self._alarms and self._alarms[0][0] <= self._now_ms:
                due.append(heapq.heappop(self._alarms)[2])
        for callback in due:
            callback()


class SystemClock:
    """Wall-clock time, optionally running `time_scale` times faster, plus any advances.

    It reads the wall clock's time unless given `start_ms`: then it starts there (and again at
    every restart) and runs on from it at `time_scale`.
    """

    mode: Literal["manual", "system"] = "system"
    jumps: bool = False

    def __init__(self, time_scale: float = 1.0, *, start_ms: int | None = None) -> None:
        if not time_scale > 0:
            raise ValueError(f"time_scale must be positive, got {time_scale}")
        self.time_scale = time_scale
        self._start_ms = start_ms
        self._offset_ms = 0
        self._restart_origin()

    def _restart_origin(self) -> None:
        start = self._start_ms
        self._origin_wall_ms = start if start is not None else time.time_ns() // 1_000_000
        self._origin_mono_ns = time.monotonic_ns()

    def now_ms(self) -> int:
        elapsed_ms = (time.monotonic_ns() - self._origin_mono_ns) / 1_000_000
        return self._origin_wall_ms + int(elapsed_ms * self.time_scale) + self._offset_ms

    def advance(self, seconds: float) -> None:
        self._offset_ms += _to_ms(seconds)

    def advance_to(self, epoch_ms: int) -> int:
        now = self.now_ms()
        if epoch_ms > now:
            self._offset_ms += epoch_ms - now
            now = epoch_ms
        return now

    def restart(self) -> None:
        self._offset_ms = 0
        self._restart_origin()


class JumpingClock(ManualClock):
    """A clock that never makes anyone wait: it jumps to the moment they would wait for.

    Tasks keep their realistic plan (queue wait, run time); when a client reads a task that is
    not finished, the backend jumps this clock to the task's end, so the read answers the
    finished task with live-like times, and everything else on the clock (queues, other tasks,
    rate-limit windows, expiry) moves with it. A delayed answer jumps it by its delay. Otherwise
    it moves only when advanced, like a ManualClock, unless `flow` is set: then it also runs at
    `flow` simulated seconds per real second (for a long-lived `mockscope serve`, so rate-limit
    windows slide while a client waits on the real clock).

    It starts at `start_ms`, by default the wall-clock time when it is created, and again at
    every restart, so timestamps look current.
    """

    jumps: bool = True

    def __init__(self, start_ms: int | None = None, *, flow: float = 0.0) -> None:
        if flow < 0:
            raise ValueError(f"flow must not be negative, got {flow}")
        self._fixed_start_ms = start_ms
        super().__init__(start_ms if start_ms is not None else _wall_ms())
        self._flow = flow
        if flow:  # between jumps it runs like a scaled system clock
            self.mode, self.time_scale = "system", flow
        self._origin_ns = time.monotonic_ns()

    def now_ms(self) -> int:
        if not self._flow:
            return self._now_ms
        elapsed_ms = (time.monotonic_ns() - self._origin_ns) / 1_000_000
        return self._now_ms + int(elapsed_ms * self._flow)

    def advance_to(self, epoch_ms: int) -> int:
        with self._lock:
            self._now_ms += max(0, epoch_ms - self.now_ms())
        return self.now_ms()

    def set(self, epoch_ms: int) -> None:
        if epoch_ms < self.now_ms():
            raise ValueError("time only moves forward; cannot set the clock into the past")
        self.advance_to(epoch_ms)

    def call_at(self, at_ms: int, callback: Callable[[], None]) -> None:
        """Jump to `at_ms` (if it lies ahead) and call `callback`: nobody waits on this clock."""
        self.advance_to(at_ms)
        callback()

    def restart(self) -> None:
        with self._lock:
            fixed = self._fixed_start_ms
            self._start_ms = self._now_ms = fixed if fixed is not None else _wall_ms()
            self._origin_ns = time.monotonic_ns()


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000
