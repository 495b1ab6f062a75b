"""The client's small vocabularies, as StrEnums: what a request does, which protocol a model
speaks, and what state a task is in.

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


class ImageProtocol(StrEnum):
    """How a model's tasks are created, and where a finished task lists its images.

    Both are asynchronous (`X-DashScope-Async: enable`) and polled at `GET /tasks/{id}`.
    """

    #: POST /services/aigc/text2image/image-synthesis with `input.prompt`; the images are
    #: `output.results[].url` (wanx-v1, wanx2.x, wan2.2, wan2.5).
    TEXT2IMAGE = "text2image"
    #: POST /services/aigc/image-generation/generation with `input.messages`; the images are
    #: `output.choices[].message.content[].image` (wan2.6).
    MESSAGES = "messages"

    @property
    def path(self) -> str:
        """Where a task is created, below the base URL."""
        return _CREATE_PATHS[self]

    @classmethod
    def for_model(cls, model: str) -> ImageProtocol:
        """The protocol of a model: the first prefix of MODEL_PROTOCOLS that the name starts
        with, else TEXT2IMAGE. Any name is accepted; the service decides what it serves."""
        for prefix, protocol in MODEL_PROTOCOLS:
            if model.startswith(prefix):
                return protocol
        return cls.TEXT2IMAGE


_CREATE_PATHS = {
    ImageProtocol.TEXT2IMAGE: "/services/aigc/text2image/image-synthesis",
    ImageProtocol.MESSAGES: "/services/aigc/image-generation/generation",
}

#: Model-name prefixes that speak another protocol than TEXT2IMAGE.
MODEL_PROTOCOLS: tuple[tuple[str, ImageProtocol], ...] = (("wan2.6", ImageProtocol.MESSAGES),)
