"""Task statuses and the timing plan from which a task's status is derived when read.

A task never changes state by itself: its plan says when it was submitted, when it starts and
when it ends, and the status is read off the clock. There are no timers, so jumping the clock
24 hours costs nothing and every read is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TaskStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUSPENDED = "SUSPENDED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    UNKNOWN = "UNKNOWN"


TERMINAL_STATUSES = frozenset(
    {TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELED, TaskStatus.UNKNOWN}
)


@dataclass(frozen=True, slots=True)
class Timing:
    """How long the simulated service takes, in milliseconds of simulated time.

    The defaults are shaped like recorded live traffic: ~14 ms from submit to start and
    ~27 s of work for one image, ~31 s for four.
    """

    queue_ms: int = 14
    run_base_ms: int = 25_500
    run_per_image_ms: int = 1_300
    #: How quickly a task the model rejects (e.g. an unsupported size) ends FAILED.
    reject_ms: int = 500
    #: What rewriting the prompt (`prompt_extend`, V2 models) adds to a run.
    prompt_extend_ms: int = 0

    @classmethod
    def instant(cls) -> Timing:
        """Every task is finished at its first read: for fast tests of client code."""
        return cls(queue_ms=0, run_base_ms=0, run_per_image_ms=0, reject_ms=0)

    def run_ms(self, n: int, prompt_extend: bool = False) -> int:
        extra = self.prompt_extend_ms if prompt_extend else 0
        return self.run_base_ms + self.run_per_image_ms * n + extra

    def __post_init__(self) -> None:
        for name in (
            "queue_ms",
            "run_base_ms",
            "run_per_image_ms",
            "reject_ms",
            "prompt_extend_ms",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"Timing.{name} must not be negative")


#: The end of a task that runs until told otherwise: later than any clock will read.
FOREVER_MS = 2**62


@dataclass(slots=True)
class Plan:
    """When a task was accepted, starts and ends (epoch ms); `canceled_ms` once canceled.

    `run_ms` is how long it works once started (including any suspension) and `queue_ms` how
    long it takes to reach the queue, so the start can be drawn (or redrawn) when a run slot
    frees up. A task `waiting` for a slot has no start yet (FOREVER_MS): its run queue draws it
    when someone looks (`accounts.Lane`). A task may be SUSPENDED for `suspend_ms`, starting
    `suspend_after_ms` into its run. A start or end of FOREVER_MS means "not yet known" (waiting)
    or "until told otherwise" (held, or never ending).
    """

    submit_ms: int
    scheduled_ms: int
    end_ms: int
    canceled_ms: int | None = None
    suspend_after_ms: int | None = None
    suspend_ms: int = 0
    #: A held task starts only when told to (reads, or a finish), wherever it is in the queue.
    held: bool = False
    #: How long it works once started; by default what scheduled and end say.
    run_ms: int = -1
    #: How long after submission it may start at the earliest.
    queue_ms: int = 0
    #: Waiting for a run slot: start and end are drawn once one frees up.
    waiting: bool = False

    def __post_init__(self) -> None:
        if self.run_ms < 0:
            self.run_ms = self.end_ms - self.scheduled_ms

    @classmethod
    def queued(cls, submit_ms: int, queue_ms: int, run_ms: int) -> Plan:
        """The plan of a task submitted to a run queue: waiting until its lane draws it."""
        # Positional (the field order): this runs on every create.
        return cls(submit_ms, FOREVER_MS, FOREVER_MS, None, None, 0, False, run_ms, queue_ms, True)

    def start_at(self, scheduled_ms: int) -> None:
        """Draw (or move) the start, and so the end, of a task that has not started yet."""
        self.waiting = False
        if self.held:
            return
        self.scheduled_ms = scheduled_ms
        self.end_ms = min(scheduled_ms + self.run_ms, FOREVER_MS)

    def unplan(self) -> None:
        """Back to waiting for a run slot: the queue ahead of it changed before it started."""
        self.waiting = True
        if not self.held:
            self.scheduled_ms = self.end_ms = FOREVER_MS

    def begin_at(self, now_ms: int) -> None:
        """Start a held task now; it runs until it is finished."""
        self.held = self.waiting = False
        self.scheduled_ms = now_ms

    def finish_at(self, now_ms: int) -> None:
        """End the task now (starting it first if it never did)."""
        self.held = self.waiting = False
        if self.scheduled_ms > now_ms:
            self.scheduled_ms = now_ms
        self.end_ms = min(self.end_ms, now_ms)
        after = self.suspend_after_ms
        if after is not None and self.scheduled_ms + after >= now_ms:
            self.suspend_after_ms, self.suspend_ms = None, 0

    def phase_at(self, now_ms: int) -> TaskStatus:
        """PENDING, RUNNING, SUSPENDED, CANCELED, or SUCCEEDED standing for 'finished'."""
        if self.canceled_ms is not None and now_ms >= self.canceled_ms:
            return TaskStatus.CANCELED
        if now_ms < self.scheduled_ms:
            return TaskStatus.PENDING
        if now_ms < self.end_ms:
            after = self.suspend_after_ms
            if after is not None and 0 <= now_ms - self.scheduled_ms - after < self.suspend_ms:
                return TaskStatus.SUSPENDED
            return TaskStatus.RUNNING
        return TaskStatus.SUCCEEDED

    def jump_target(self, now_ms: int) -> int | None:
        """Where a clock that jumps instead of waiting goes when the task is read at `now_ms`.

        Its end; but first the start of a suspension still ahead, so that a reader sees it
        SUSPENDED; for a task held until told (end FOREVER_MS) at most its start. None when
        the task is finished or held where it is.
        """
        if self.canceled_ms is not None or now_ms >= self.end_ms:
            return None
        if self.end_ms < FOREVER_MS:
            after = self.suspend_after_ms
            if after is not None and self.suspend_ms and now_ms < self.scheduled_ms + after:
                return self.scheduled_ms + after
            return self.end_ms
        return self.scheduled_ms if now_ms < self.scheduled_ms < FOREVER_MS else None

    def finished_ms(self) -> int:
        """When the task stopped being live: its end, or its cancellation."""
        return self.canceled_ms if self.canceled_ms is not None else self.end_ms
