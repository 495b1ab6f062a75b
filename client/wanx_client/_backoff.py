"""How long to wait between polls and retries: pure functions of the attempt and Retry-After."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: The task endpoints allow 20 queries per second per account (fact sheet §8).
TASK_QUERIES_PER_SECOND = 20


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays that start at `initial`, grow by `multiplier` every `repeat` attempts and stop
    growing at `maximum`: by default 1, 1, 2, 2, 4, 4, 5, 5, ... seconds.

    No delay is ever below `min_interval` (the documented 20 queries per second), and a
    server's Retry-After always wins over a shorter delay. The same policy spaces `wait`'s polls
    and the retries of a failed request.

    (The dashscope SDK's `wait` differs: after its first, immediate poll it sleeps 1, 1, 2, 2,
    2, 4, 4, 4, 5, 5, 5, ... seconds, starting at 1 s, doubling after every third poll and
    capped at 5 s.)
    """

    initial: float = 1.0
    multiplier: float = 2.0
    repeat: int = 2
    maximum: float = 5.0
    min_interval: float = 1 / TASK_QUERIES_PER_SECOND

    def __post_init__(self) -> None:
        if not self.initial > 0 or not self.min_interval > 0:
            raise ValueError("Backoff delays must be positive")
        if self.multiplier < 1 or self.repeat < 1:
            raise ValueError("Backoff must not shrink: multiplier >= 1 and repeat >= 1")
        if self.maximum < self.initial:
            raise ValueError("Backoff.maximum must be at least Backoff.initial")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the `attempt`-th call (from 0) before the next one."""
        if attempt < 0:
            raise ValueError("attempt counts from 0")
        # Exponent capped so a very long wait cannot overflow the float.
        steps = min(attempt // self.repeat, 64)
        grown = min(self.initial * self.multiplier**steps, self.maximum)
        return max(grown, self.min_interval, retry_after or 0.0)

    def delays(self) -> Iterator[float]:
        """The delays without Retry-After, attempt after attempt (endless)."""
        attempt = 0
        while True:
            yield self.delay(attempt)
            attempt += 1


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """The server's wish in seconds: `retry-after-ms`, or `Retry-After` as seconds or an
    HTTP date (relative to the answer's `Date`, else `now`). None when absent or unreadable."""
    lowered = {name.lower(): value for name, value in headers.items()}
    milliseconds = _number(lowered.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000
    value = lowered.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    when = _http_date(value)
    if when is None:
        return None
    reference = _http_date(lowered.get("date", "")) or now or datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    # NaN and infinities are not waits; negative waits mean "now".
    if not math.isfinite(value):
        return None
    return max(0.0, value)


def _http_date(text: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
