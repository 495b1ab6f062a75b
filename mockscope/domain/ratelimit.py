"""Sliding-window rate limits on the injected clock.

A window of `window_ms` may hold at most `limit` accepted calls, whatever their alignment: a
fixed per-second bucket would let 2 × limit calls through across a bucket boundary, which the
live service does not.

The window's far edge has a little give: a call made `grace_ms` or less before the window would
have let go of the oldest accepted one is let through too. A client pacing itself at exactly the
limit (one submit every 500 ms at 2 per second) reaches the fake with a few milliseconds of
jitter, and without the give two short gaps in a row (0, 501, 998) meet a 429 about one call in
seven. The give is a tenth of the pacing interval (`window_ms / limit / 10`: 50 ms at 2 per
second, 5 ms at 20), so a third call within the same second is still refused unless it comes in
the last `grace_ms` of it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from mockscope.domain.operations import Operation


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a call may go ahead, and if not, how long until it could (milliseconds)."""

    allowed: bool
    retry_after_ms: int = 0


ALLOWED = Decision(True)


class SlidingWindowLimiter:
    """At most `limit` calls per key in any window of `window_ms` milliseconds, less the
    pacing give (`grace_ms`, see the module's docstring)."""

    def __init__(self, limit: int, window_ms: int = 1000) -> None:
        if limit < 1 or window_ms < 1:
            raise ValueError("a rate limit needs limit >= 1 and window_ms >= 1")
        self.window_ms = window_ms
        self.limit = limit
        self._accepted: dict[Hashable, deque[int]] = {}

    @property
    def limit(self) -> int:
        return self._limit

    @limit.setter
    def limit(self, limit: int) -> None:
        self._limit = limit
        self.grace_ms = self.window_ms // (10 * limit)
        #: How long an accepted call counts: the window less the pacing give.
        self._span_ms = self.window_ms - self.grace_ms

    def acquire(self, key: Hashable, now_ms: int) -> Decision:
        """Count a call for `key` at `now_ms` if the window has room; refused calls don't count."""
        accepted = self._accepted.get(key)
        if accepted is None:
            accepted = self._accepted[key] = deque()
        horizon = now_ms - self._span_ms
        while accepted and accepted[0] <= horizon:
            accepted.popleft()
        if len(accepted) < self._limit:
            accepted.append(now_ms)
            return ALLOWED
        return Decision(False, accepted[0] + self._span_ms - now_ms)

    def forget(self, key: Hashable) -> None:
        self._accepted.pop(key, None)

    def prune(self, now_ms: int) -> None:
        """Drop keys whose windows are empty, so idle callers cost no memory."""
        horizon = now_ms - self.window_ms
        idle = [key for key, times in self._accepted.items() if not times or times[-1] <= horizon]
        for key in idle:
            del self._accepted[key]

    def __len__(self) -> int:
        return len(self._accepted)


@dataclass(frozen=True)
class Limits:
    """An account's limits. None switches one off; the defaults are the live service's."""

    #: Task submissions per second per account, for models without their own entry.
    create_per_second: int | None = 2
    get_per_second: int | None = 20
    list_per_second: int | None = 20
    cancel_per_second: int | None = 20
    #: Upload certificates (getPolicy) per second per account (100 per account and model live).
    upload_per_second: int | None = 100
    #: Per-model submission limits that replace `create_per_second` (None: unlimited).
    create_per_model: Mapping[str, int | None] = field(default_factory=dict)
    #: Tasks one account may have running at once; the rest wait PENDING.
    concurrency: int = 1
    #: Send `Retry-After` with a 429. Off by default: no recording shows the live service
    #: sending it (wan family facts §5), so clients must not be trained to rely on it. Turn it
    #: on to exercise a client that honours it; the journal's `retry_after_ignored` check
    #: needs it, since it compares each retry with the Retry-After that was sent.
    retry_after: bool = False

    def __post_init__(self) -> None:
        rates = [
            self.create_per_second,
            self.get_per_second,
            self.list_per_second,
            self.cancel_per_second,
            self.upload_per_second,
            *self.create_per_model.values(),
        ]
        if any(rate is not None and rate < 1 for rate in rates):
            raise ValueError("a rate limit is a whole number of calls per second, at least 1")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")

    @classmethod
    def unlimited(cls, concurrency: int = 1) -> Limits:
        """No rate limits at all (the run queue still applies)."""
        return cls(None, None, None, None, None, concurrency=concurrency)

    def per_second(self, operation: Operation, model: str = "") -> int | None:
        if operation is Operation.GET:
            return self.get_per_second
        if operation is Operation.CREATE:
            if model in self.create_per_model:
                return self.create_per_model[model]
            return self.create_per_second
        if operation is Operation.LIST:
            return self.list_per_second
        if operation is Operation.UPLOAD:
            return self.upload_per_second
        return self.cancel_per_second


class RateLimiter:
    """Applies `Limits` per account (and per model for submissions) on the injected clock."""

    def __init__(self, limits: Limits) -> None:
        self._windows: dict[tuple[Operation, str], SlidingWindowLimiter] = {}
        self.limits = limits

    @property
    def limits(self) -> Limits:
        return self._limits

    @limits.setter
    def limits(self, limits: Limits) -> None:
        self._limits = limits
        # Reads are the hottest path: their rates are looked up once per change of limits.
        self._unlimited_reads = {
            operation
            for operation in (Operation.GET, Operation.LIST, Operation.CANCEL, Operation.UPLOAD)
            if limits.per_second(operation) is None
        }

    def check(self, operation: Operation, account: str, now_ms: int, model: str = "") -> Decision:
        """Count the call if there is room; refused calls are not counted."""
        if operation in self._unlimited_reads:
            return ALLOWED
        rate = self._limits.per_second(operation, model)
        if rate is None:
            return ALLOWED
        bucket = (operation, model if operation is Operation.CREATE else "")
        window = self._windows.get(bucket)
        if window is None:
            window = self._windows[bucket] = SlidingWindowLimiter(rate)
        # A changed limit applies to the calls already counted in the window, too.
        if window.limit != rate:
            window.limit = rate
        return window.acquire(account, now_ms)

    def forget(self, account: str) -> None:
        for window in self._windows.values():
            window.forget(account)

    def prune(self, now_ms: int) -> None:
        for window in self._windows.values():
            window.prune(now_ms)

    def clear(self) -> None:
        self._windows.clear()
