"""What a failed request means and whether it may be sent again. Pure decisions, no I/O.

The rule that shapes everything: a request that changes state (submit, cancel) is only resent
when the failure proves the service did not act on it — a 429, a 503, or a connection that was
never made. Any failure after the request may have been processed (a dropped connection, a
read timeout, a 500/502/504, an unreadable success) is reported as OutcomeUnknown instead, so
the caller never gets a second task it did not ask for. Reads change nothing and are retried
on every transient failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from wanx_client._errors import DashScopeError, NetworkError, OutcomeUnknown, ThrottlingError
from wanx_client._kinds import Operation
from wanx_client._parse import error_from_response
from wanx_client._wire import Call

#: Answers to a submit or cancel that prove nothing happened: throttled, or refused because the
#: model is unavailable. 500 is not here: a lost answer is reported as a 500 InternalError. Nor
#: are 502/504: a gateway says them when the service behind it did not answer in time, which
#: says nothing about whether it acted.
STATE_CHANGE_RETRY_STATUSES = frozenset({429, 503})
#: Answers to a read worth trying again.
READ_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Failures before any byte of the request left: safe to retry whatever the operation.
_NOT_SENT_RETRYABLE = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
)
#: Failures that no retry can fix (a bad URL or header): nothing was sent either.
_NOT_SENT_FATAL = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A failed attempt: the error to raise, whether the same request may be sent again, and
    the server's Retry-After (seconds) if it gave one."""

    error: DashScopeError
    retryable: bool = False
    retry_after: float | None = None


def judge_response(call: Call, response: httpx.Response) -> Verdict | None:
    """None for a success (any 2xx); else what the error answer means for this call."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    error = error_from_response(response)
    retry_after = error.retry_after if isinstance(error, ThrottlingError) else None
    if not call.operation.changes_state:
        return Verdict(error, status in READ_RETRY_STATUSES, retry_after)
    if status in STATE_CHANGE_RETRY_STATUSES:
        return Verdict(error, True, retry_after)
    if status == 408 or status >= 500:
        return Verdict(outcome_unknown(call, error))
    return Verdict(error)


def judge_exception(call: Call, exc: httpx.RequestError) -> Verdict:
    """What a request that got no (complete) answer means for this call."""
    error = NetworkError(None, None, f"{type(exc).__name__}: {str(exc) or 'no details'}")
    error.__cause__ = exc
    if isinstance(exc, _NOT_SENT_RETRYABLE):
        return Verdict(error, True)
    if isinstance(exc, _NOT_SENT_FATAL):
        return Verdict(error)
    if call.operation.changes_state:
        return Verdict(outcome_unknown(call, error))
    # A read that failed on the way (reset, timeout, cut-off body) may simply be asked again;
    # a decoding or redirect problem would only repeat.
    return Verdict(error, isinstance(exc, httpx.TransportError))


def outcome_unknown(call: Call, cause: BaseException) -> OutcomeUnknown:
    unknown = OutcomeUnknown(call.operation, cause, request=call.payload, task_id=call.task_id)
    unknown.__cause__ = cause
    return unknown


@dataclass(slots=True)
class Gates:
    """Per operation, the earliest time (client clock) the next call may go, set by a 429's
    Retry-After. The service limits each operation separately, so each has its own gate."""

    not_before: dict[Operation, float] = field(default_factory=dict)

    def note(self, operation: Operation, retry_after: float | None, now: float) -> None:
        if retry_after is not None and retry_after > 0:
            until = now + retry_after
            self.not_before[operation] = max(until, self.not_before.get(operation, until))

    def wait_time(self, operation: Operation, now: float) -> float:
        """Seconds to wait before calling `operation` now (0 when free to go)."""
        remaining = self.not_before.get(operation, now) - now
        # Below a millisecond is clock rounding, not a wait.
        return remaining if remaining >= 0.001 else 0.0
