"""The client's small vocabularies, as StrEnums: what a request does and what state a task is in.

They compare equal to the strings the API and the errors use ("submit", "RUNNING"), so callers
may use either.
"""

from __future__ import annotations

from enum import StrEnum


class Operation(StrEnum):
    """What a request does; it decides which failures may be retried."""

    SUBMIT = "submit"
    GET = "get"
    CANCEL = "cancel"
    LIST = "list"
    DOWNLOAD = "download"

    @property
    def changes_state(self) -> bool:
        """Submits and cancels change the service's state, so they are never blindly resent."""
        return self in (Operation.SUBMIT, Operation.CANCEL)


class TaskStatus(StrEnum):
    """A task's `task_status`. The terminal ones are SUCCEEDED, FAILED, CANCELED and UNKNOWN."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUSPENDED = "SUSPENDED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    UNKNOWN = "UNKNOWN"

    @property
    def is_terminal(self) -> bool:
        """True once the status will not change (polling stops here)."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELED, TaskStatus.UNKNOWN}
)
