"""Typed errors. Every error the client raises is a DashScopeError.

HTTP errors come from DashScope's envelope `{"code", "message", "request_id"}`; the class is
chosen by HTTP status (and, for 400, by code). The rest say what happened on the client's
side: a task that ended without images, a wait that ran out of time, a request whose effect
is unknown, an answer that makes no sense.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from wanx_client._kinds import Operation, TaskStatus

if TYPE_CHECKING:
    from wanx_client._models import Task


class DashScopeError(Exception):
    """Base of every error raised by wanx_client.

    `status` is the HTTP status (None when no HTTP answer is involved), `code` the DashScope
    error code (e.g. `Throttling.RateQuota`; None when the answer carried none), `message` the
    service's message, `request_id` the id of the request the service reported.
    """

    def __init__(
        self,
        status: int | None,
        code: str | None,
        message: str,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id

    def __str__(self) -> str:
        label = " ".join(str(part) for part in (self.status, self.code) if part is not None)
        text = f"[{label}] {self.message}" if label else self.message
        return f"{text} (request_id {self.request_id})" if self.request_id else text


class AuthenticationError(DashScopeError):
    """401 InvalidApiKey, or no API key configured at all (then no request is sent)."""


class AccessDeniedError(DashScopeError):
    """403: the key may not use this model or workspace (AccessDenied, Arrearage, ...)."""


class InvalidParameterError(DashScopeError):
    """400: the request was refused as invalid (InvalidParameter, BadRequest.*, InvalidURL,
    DataInspectionFailed on the input, ...). Nothing was created."""


class UnsupportedOperationError(DashScopeError):
    """400 UnsupportedOperation: e.g. cancelling a task that is no longer PENDING."""


class ThrottlingError(DashScopeError):
    """429: too many requests. `retry_after` is the server's Retry-After in seconds, if any."""

    def __init__(
        self,
        status: int | None,
        code: str | None,
        message: str,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, code, message, request_id)
        self.retry_after = retry_after


class ServerError(DashScopeError):
    """5xx from the service (InternalError, ModelUnavailable, a gateway error, ...)."""


class NetworkError(DashScopeError):
    """No HTTP answer at all (connection refused, reset, timed out), after any retries.

    Raised by reads, and by submit/cancel only when the request provably never left the client
    (a failed connect): anything less certain is OutcomeUnknown.
    """


class ResponseError(DashScopeError):
    """An answer that is not what the API documents (not JSON, missing or mistyped fields)."""


class TaskFailed(DashScopeError):
    """Raised by `Task.raise_for_status()` for a task that ended without images.

    That is FAILED (code and message from the task, e.g. DataInspectionFailed), CANCELED or
    UNKNOWN (no such task, expired after ~24 h, or not visible to this key). `task` is the
    final task as read.
    """

    def __init__(self, task: Task) -> None:
        code = task.code or task.status.value
        message = task.message or _STATUS_MESSAGES.get(task.status, "The task failed.")
        super().__init__(None, code, message, task.request_id or None)
        self.task = task
        self.task_id = task.task_id


_STATUS_MESSAGES = {
    TaskStatus.CANCELED: "The task was canceled before it started.",
    TaskStatus.UNKNOWN: (
        "No such task: unknown, expired (tasks are kept ~24 h), or not visible to this key."
    ),
}


class WaitTimeout(DashScopeError):
    """`wait` gave up: the task was not finished by the deadline (it may still finish).

    `last` is the last task read (None if no read succeeded), `last_error` the last transient
    error seen while polling, if any.
    """

    def __init__(
        self,
        task_id: str,
        timeout: float,
        last: Task | None,
        last_error: DashScopeError | None = None,
    ) -> None:
        status = f"; last seen {last.status.value}" if last is not None else ""
        super().__init__(
            None,
            "WaitTaskTimeout",
            f"Wait task: {task_id} timeout after {timeout:g} seconds{status}.",
        )
        self.task_id = task_id
        self.timeout = timeout
        self.last = last
        self.last_error = last_error


class OutcomeUnknown(DashScopeError):
    """A submit or cancel whose effect is unknown, and which was therefore NOT re-sent.

    The request reached the service (or may have), but no usable answer came back: the
    connection dropped after sending, the read timed out, or the service answered with an
    ambiguous 5xx (500, 502, 504) or an unreadable success. A submit may have created (and
    billed) a task; a cancel may have cancelled it. The caller decides what to do: look for the
    task with `list()` (it would be newer than the submit), or `get()` a cancelled task.

    `operation` is Operation.SUBMIT or Operation.CANCEL (equal to "submit" and "cancel");
    `request` the JSON body that was sent (submit); `task_id` the task concerned (cancel);
    `cause` the underlying error (also `__cause__`).
    """

    def __init__(
        self,
        operation: Operation | str,
        cause: BaseException,
        *,
        request: Mapping[str, Any] | None = None,
        task_id: str | None = None,
    ) -> None:
        status = cause.status if isinstance(cause, DashScopeError) else None
        code = cause.code if isinstance(cause, DashScopeError) else None
        request_id = cause.request_id if isinstance(cause, DashScopeError) else None
        kind = Operation(operation)
        effect = "created a task" if kind is Operation.SUBMIT else "taken effect"
        message = (
            f"The {kind} may or may not have {effect}; it was not re-sent "
            f"({type(cause).__name__}: {cause})."
        )
        super().__init__(status, code, message, request_id)
        self.operation = kind
        self.cause = cause
        self.request = request
        self.task_id = task_id
