"""The bookkeeping of `wait`: polls so far, the deadline, the next delay. No I/O."""

from __future__ import annotations

from wanx_client._backoff import Backoff
from wanx_client._errors import DashScopeError, WaitTimeout
from wanx_client._models import Task

#: `wait`'s default deadline: tasks queue one at a time per account, so allow for a queue.
DEFAULT_WAIT_TIMEOUT = 1800.0


class Poller:
    """Spaces the polls of one task by `backoff` and ends them at `timeout` seconds."""

    def __init__(self, task_id: str, backoff: Backoff, timeout: float | None, now: float) -> None:
        if timeout is not None and timeout < 0:
            raise ValueError("timeout must not be negative")
        self.task_id = task_id
        self.backoff = backoff
        self.timeout = timeout
        self.deadline = None if timeout is None else now + timeout
        self.polls = 0
        self.last: Task | None = None
        self.last_error: DashScopeError | None = None

    def saw(self, task: Task) -> None:
        """A poll read the task (not yet finished)."""
        self.polls += 1
        self.last = task

    def failed(self, error: DashScopeError) -> None:
        """A poll failed transiently (5xx, 429, dropped connection): polling goes on."""
        self.polls += 1
        self.last_error = error

    def next_delay(self, now: float, retry_after: float | None = None) -> float:
        """Seconds until the next poll; WaitTimeout if it could only come after the deadline.

        A backoff delay is shortened to end at the deadline (one last look), but never below
        the rate limit's interval; a Retry-After is never shortened.
        """
        delay = self.backoff.delay(max(self.polls - 1, 0), retry_after)
        if self.deadline is None:
            return delay
        remaining = self.deadline - now
        if remaining < self.backoff.min_interval or (retry_after or 0.0) > remaining:
            assert self.timeout is not None
            raise WaitTimeout(self.task_id, self.timeout, self.last, self.last_error)
        return max(min(delay, remaining), self.backoff.min_interval)
