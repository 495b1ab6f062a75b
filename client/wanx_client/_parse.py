"""Response bodies to typed values, and error answers to typed errors.

Parsing accepts everything schemas/ allows (unknown fields are ignored) but checks the type of
every field it reads, so a garbled answer becomes a ResponseError that says what is wrong
instead of a KeyError deep inside the caller's code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

import httpx

from wanx_client._backoff import retry_after_seconds
from wanx_client._errors import (
    AccessDeniedError,
    AuthenticationError,
    DashScopeError,
    InvalidParameterError,
    ResponseError,
    ServerError,
    ThrottlingError,
    UnsupportedOperationError,
)
from wanx_client._kinds import ImageProtocol, TaskStatus
from wanx_client._models import (
    BEIJING,
    ImageFailure,
    ImageResult,
    ListedTask,
    Task,
    TaskMetrics,
    Usage,
)

_TASK_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?",
    re.ASCII,
)


class _Reader:
    """Typed access to one JSON object, naming the path of whatever is wrong."""

    def __init__(self, value: object, path: str, response: httpx.Response | None) -> None:
        self.path = path
        self.response = response
        if not isinstance(value, dict):
            raise self.error(f"{path} is not an object: {_short(value)}")
        self.data: dict[str, Any] = value

    def error(self, problem: str) -> ResponseError:
        return _unexpected(self.response, problem)

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def child(self, name: str) -> _Reader:
        return _Reader(self.data.get(name), f"{self.path}.{name}", self.response)

    def string(self, name: str, *, required: bool = False, non_empty: bool = False) -> str | None:
        value = self.data.get(name)
        if value is None:
            if required:
                raise self.error(f"{self.path}.{name} is missing")
            return None
        if not isinstance(value, str):
            raise self.error(f"{self.path}.{name} is not a string: {_short(value)}")
        if non_empty and not value:
            raise self.error(f"{self.path}.{name} is empty")
        return value

    def required_string(self, name: str) -> str:
        value = self.string(name, required=True, non_empty=True)
        assert value is not None
        return value

    def count(self, name: str, *, required: bool = False) -> int | None:
        value = self.data.get(name)
        if value is None:
            if required:
                raise self.error(f"{self.path}.{name} is missing")
            return None
        # bool is an int in Python, but `true` is not a count.
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(f"{self.path}.{name} is not a count: {_short(value)}")
        return value

    def required_count(self, name: str) -> int:
        value = self.count(name, required=True)
        assert value is not None
        return value

    def status(self, name: str) -> TaskStatus:
        text = self.required_string(name)
        try:
            return TaskStatus(text)
        except ValueError:
            raise self.error(f"{self.path}.{name} is not a task status: {_short(text)}") from None

    def task_time(self, name: str) -> datetime | None:
        text = self.string(name)
        if text is None:
            return None
        match = _TASK_TIME.fullmatch(text)
        if match is None:
            raise self.error(f"{self.path}.{name} is not a task time: {_short(text)}")
        year, month, day, hour, minute, second, fraction = match.groups()
        micro = int((fraction or "0").ljust(6, "0"))
        try:
            return datetime(
                int(year), int(month), int(day), int(hour), int(minute), int(second), micro, BEIJING
            )
        except ValueError:
            raise self.error(f"{self.path}.{name} is not a real time: {_short(text)}") from None

    def epoch_ms(self, name: str) -> datetime | None:
        value = self.count(name)
        if value is None:
            return None
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise self.error(f"{self.path}.{name} is out of range: {value}") from None

    def items(self, name: str, *, required: bool = False) -> list[object]:
        value = self.data.get(name)
        if value is None:
            if required:
                raise self.error(f"{self.path}.{name} is missing")
            return []
        if not isinstance(value, list):
            raise self.error(f"{self.path}.{name} is not a list: {_short(value)}")
        return value


def json_body(response: httpx.Response) -> object:
    """The answer's JSON, or a ResponseError for anything else."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        raise _unexpected(response, f"the body is not JSON: {_short(response.text)}") from None


def _unexpected(response: httpx.Response | None, problem: str) -> ResponseError:
    if response is None:
        return ResponseError(None, None, f"Unexpected answer: {problem}.")
    return ResponseError(
        response.status_code,
        None,
        f"Unexpected answer: {problem}.",
        response.headers.get("X-Request-ID"),
    )


def task_from(response: httpx.Response) -> Task:
    """The task a success answer carries (GET /tasks/{id}, or the answer to a submit)."""
    return parse_task(json_body(response), response)


def page_from(response: httpx.Response) -> ListPage:
    """The page of tasks a success answer to GET /tasks carries."""
    return parse_page(json_body(response), response)


def parse_task(body: object, response: httpx.Response | None = None) -> Task:
    """A task body (GET /tasks/{id}, or the answer to a submit)."""
    top = _Reader(body, "body", response)
    output = top.child("output")
    results = tuple(
        _result(_Reader(item, f"output.results[{k}]", response))
        for k, item in enumerate(output.items("results"))
    )
    # Images are listed in `results` (TEXT2IMAGE) or in `choices` (MESSAGES): one list here.
    chosen = _choice_images(output)
    protocol = None
    if results:
        protocol = ImageProtocol.TEXT2IMAGE
    elif chosen:
        protocol = ImageProtocol.MESSAGES
    metrics = None
    if output.has("task_metrics"):
        counts = output.child("task_metrics")
        metrics = TaskMetrics(
            counts.required_count("TOTAL"),
            counts.required_count("SUCCEEDED"),
            counts.required_count("FAILED"),
        )
    usage = Usage(top.child("usage").required_count("image_count")) if top.has("usage") else None
    return Task(
        task_id=output.required_string("task_id"),
        status=output.status("task_status"),
        request_id=top.string("request_id") or "",
        submit_time=output.task_time("submit_time"),
        scheduled_time=output.task_time("scheduled_time"),
        end_time=output.task_time("end_time"),
        results=results + chosen,
        metrics=metrics,
        usage=usage,
        code=output.string("code", non_empty=True),
        message=output.string("message"),
        protocol=protocol,
    )


def _choice_images(output: _Reader) -> tuple[ImageResult, ...]:
    """The images of a MESSAGES task: `choices[].message.content[]` items with an `image`
    URL (`"type": "image"`); other content (text) is not an image."""
    images = []
    for k, choice in enumerate(output.items("choices")):
        message = _Reader(choice, f"output.choices[{k}]", output.response).child("message")
        for j, item in enumerate(message.items("content")):
            part = _Reader(item, f"{message.path}.content[{j}]", output.response)
            url = part.string("image", non_empty=True)
            if url is not None:
                images.append(ImageResult(url))
            elif part.string("type") == "image":
                raise part.error(f"{part.path} is an image without a URL")
    return tuple(images)


def _result(item: _Reader) -> ImageResult | ImageFailure:
    # An entry may carry both shapes (schemas/task.json allows it); a URL means an image.
    url = item.string("url")
    if url:
        return ImageResult(url)
    code = item.string("code")
    if code:
        return ImageFailure(code, item.string("message") or "")
    raise item.error(f"{item.path} has neither a url nor a code")


def parse_page(body: object, response: httpx.Response | None = None) -> ListPage:
    """One page of GET /tasks (a flat body: no `output`)."""
    top = _Reader(body, "body", response)
    tasks = tuple(
        _listed(_Reader(item, f"data[{k}]", response))
        for k, item in enumerate(top.items("data", required=True))
    )
    return ListPage(tasks, top.count("total_page"), top.count("page_no"))


@dataclass(frozen=True, slots=True)
class ListPage:
    """The tasks of one page and how many pages there are (None if the page did not say)."""

    tasks: tuple[ListedTask, ...]
    total_page: int | None
    page_no: int | None

    def is_last(self, page_no: int, page_size: int) -> bool:
        """Whether no page follows page `page_no`."""
        if not self.tasks:
            return True
        if self.total_page is not None:
            return page_no >= self.total_page
        return len(self.tasks) < page_size


def _listed(item: _Reader) -> ListedTask:
    return ListedTask(
        task_id=item.required_string("task_id"),
        status=item.status("status"),
        model_name=item.string("model_name"),
        created_at=item.epoch_ms("gmt_create"),
        started_at=item.epoch_ms("start_time"),
        ended_at=item.epoch_ms("end_time"),
        request_id=item.string("request_id"),
        api_key_id=item.string("api_key_id"),
        region=item.string("region"),
    )


def error_from_response(response: httpx.Response) -> DashScopeError:
    """The typed error for a non-2xx answer: a DashScope envelope, or whatever came instead
    (an object store's XML error, a gateway's HTML page)."""
    code, message, request_id = _envelope(response)
    status = response.status_code
    request_id = request_id or response.headers.get("X-Request-ID")
    if status == 429:
        retry_after = retry_after_seconds(response.headers)
        return ThrottlingError(status, code, message, request_id, retry_after)
    kind = _KIND_BY_STATUS.get(status, ServerError if status >= 500 else DashScopeError)
    if status == 400 and code == "UnsupportedOperation":
        kind = UnsupportedOperationError
    return kind(status, code, message, request_id)


_KIND_BY_STATUS: Mapping[int, type[DashScopeError]] = {
    400: InvalidParameterError,
    401: AuthenticationError,
    403: AccessDeniedError,
}


def _envelope(response: httpx.Response) -> tuple[str | None, str, str | None]:
    """(code, message, request_id) from whatever the error answer carried."""
    fallback = response.reason_phrase or f"HTTP {response.status_code}"
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        code = body.get("code")
        # The SDK reads `msg` too; some gateways write it instead of `message`.
        message = body.get("message", body.get("msg"))
        request_id = body.get("request_id")
        return (
            code if isinstance(code, str) and code else None,
            message if isinstance(message, str) and message else fallback,
            request_id if isinstance(request_id, str) and request_id else None,
        )
    if body is None:
        code, message = _storage_error(response.content)
        return code, message or fallback, None
    return None, fallback, None


def _storage_error(content: bytes) -> tuple[str | None, str | None]:
    """An object store's `<Error><Code>…</Code><Message>…</Message></Error>`, or the raw text."""
    text = content.decode("utf-8", "replace").strip()
    # Only small documents are parsed: an error page needs no more, and it bounds the work.
    if text.startswith(("<?xml", "<Error")) and len(content) < 65536:
        try:
            root = ElementTree.fromstring(content)
        except ElementTree.ParseError:
            pass
        else:
            if root.tag == "Error":
                return root.findtext("Code") or None, root.findtext("Message") or None
    return None, _short(text) if text else None


def _short(value: object, limit: int = 120) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
