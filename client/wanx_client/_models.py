"""Typed results: what the API's JSON means, as immutable values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Self

from wanx_client._errors import TaskFailed
from wanx_client._kinds import ImageProtocol, TaskStatus

#: Task times are written in Beijing time (UTC+8) without an offset.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class ImageResult:
    """One generated image; `url` is valid for about 24 hours."""

    url: str


@dataclass(frozen=True, slots=True)
class ImageFailure:
    """One image that failed while others of the task succeeded (a partial failure)."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class TaskMetrics:
    """Per-image counts: requested, made, failed."""

    total: int
    succeeded: int
    failed: int


@dataclass(frozen=True, slots=True)
class Usage:
    """Billing: images made (failed images are not billed)."""

    image_count: int


@dataclass(frozen=True, slots=True)
class Task:
    """A task as one read showed it (GET /tasks/{id}, or the answer to a submit).

    `code`/`message` explain a FAILED task; `results` holds one entry per image, an
    ImageResult or (partial failure) an ImageFailure, whichever protocol the task was made in:
    `protocol` tells where the body listed them (TEXT2IMAGE: `output.results`, MESSAGES:
    `output.choices`; None while there are none). `usage` is reported once SUCCEEDED.
    Times are timezone-aware (the API writes Beijing time); None where the answer had none.
    """

    task_id: str
    status: TaskStatus
    request_id: str = ""
    submit_time: datetime | None = None
    scheduled_time: datetime | None = None
    end_time: datetime | None = None
    results: tuple[ImageResult | ImageFailure, ...] = ()
    metrics: TaskMetrics | None = None
    usage: Usage | None = None
    code: str | None = None
    message: str | None = None
    protocol: ImageProtocol | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    @property
    def images(self) -> tuple[ImageResult, ...]:
        """The images made, in order."""
        return tuple(item for item in self.results if isinstance(item, ImageResult))

    @property
    def image_urls(self) -> tuple[str, ...]:
        """The URLs of the images made, in order, whichever protocol listed them."""
        return tuple(image.url for image in self.images)

    @property
    def failures(self) -> tuple[ImageFailure, ...]:
        """The images that failed, in order (empty unless a partial failure)."""
        return tuple(item for item in self.results if isinstance(item, ImageFailure))

    def raise_for_status(self) -> Self:
        """Raise TaskFailed if the task ended without images (FAILED, CANCELED, UNKNOWN).

        Returns the task otherwise (SUCCEEDED, including partial failures, or unfinished),
        so calls chain: `client.wait(task_id).raise_for_status().images`.
        """
        if self.status in (TaskStatus.FAILED, TaskStatus.CANCELED, TaskStatus.UNKNOWN):
            raise TaskFailed(self)
        return self

    def to_wire(self) -> dict[str, Any]:
        """The task as a GET /tasks/{id} body (schemas/task.json), with the fields it was read
        with; fields the client does not model are not kept. A MESSAGES task lists its images
        as `output.choices`, one choice per image."""
        output: dict[str, Any] = {"task_id": self.task_id, "task_status": self.status.value}
        for name, value in (
            ("submit_time", self.submit_time),
            ("scheduled_time", self.scheduled_time),
            ("end_time", self.end_time),
        ):
            if value is not None:
                output[name] = format_task_time(value)
        if self.code is not None:
            output["code"] = self.code
        if self.message is not None:
            output["message"] = self.message
        if self.metrics is not None:
            output["task_metrics"] = {
                "TOTAL": self.metrics.total,
                "SUCCEEDED": self.metrics.succeeded,
                "FAILED": self.metrics.failed,
            }
        if self.protocol is ImageProtocol.MESSAGES:
            output["choices"] = [
                {"message": {"role": "assistant", "content": [{"image": url, "type": "image"}]}}
                for url in self.image_urls
            ]
        elif self.results:
            output["results"] = [
                {"url": item.url}
                if isinstance(item, ImageResult)
                else {"code": item.code, "message": item.message}
                for item in self.results
            ]
        body: dict[str, Any] = {"request_id": self.request_id, "output": output}
        if self.usage is not None:
            body["usage"] = {"image_count": self.usage.image_count}
        return body


@dataclass(frozen=True, slots=True)
class ListedTask:
    """One task of a listing (GET /tasks). Times are UTC; `ended_at` is None until finished."""

    task_id: str
    status: TaskStatus
    model_name: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    request_id: str | None = None
    api_key_id: str | None = None
    region: str | None = None


def format_task_time(value: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS.mmm` in Beijing time, as task bodies write times."""
    local = value.astimezone(BEIJING) if value.tzinfo is not None else value
    return f"{local:%Y-%m-%d %H:%M:%S}.{local.microsecond // 1000:03d}"
