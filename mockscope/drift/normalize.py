"""An answer reduced to what must agree between the service and the fake.

Values that differ on every call (ids, times, URLs, counts) are dropped; what stays is the
HTTP status, the error code, the task status (and, polled, the sequence of statuses), the set
of fields with their JSON types, and the headers clients act on: the media type, X-Request-ID on
errors (documented there) and Retry-After on 429. Error messages are kept for the report but
not compared: the service rewords them, and no client may depend on their text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from mockscope.drift.runner import ProbeRun
from mockscope.drift.wire import Response


@dataclass(frozen=True, slots=True)
class Normal:
    status: int
    error_code: str | None = None
    task_status: str | None = None
    #: `output.code` of a task that ended FAILED (a task-level error, inside a 200).
    task_code: str | None = None
    #: JSON path -> type, e.g. {"output.results[].url": "string"}; "$" for a non-object body.
    fields: Mapping[str, str] = field(default_factory=dict)
    #: Paths of arrays that were empty, whose items therefore have no shape to compare.
    empty_arrays: frozenset[str] = frozenset()
    headers: Mapping[str, str] = field(default_factory=dict)
    sequence: tuple[str, ...] = ()
    message: str = ""

    def summary(self) -> str:
        """`401 InvalidApiKey`, `200 RUNNING → SUCCEEDED`, `0 (no answer)`..."""
        if self.status == 0:
            return "no answer"
        parts = [str(self.status)]
        if self.error_code:
            parts.append(self.error_code)
        if self.sequence:
            parts.append(" → ".join(self.sequence))
        elif self.task_status:
            parts.append(self.task_status)
        if self.task_code:
            parts.append(f"({self.task_code})")
        return " ".join(parts)


def normalize(outcome: ProbeRun) -> Normal:
    """The normal form of a probe's last answer (and of its status sequence when it polled)."""
    response = outcome.last
    if response is None:
        return Normal(status=0, message="skipped")
    normal = normalize_response(response)
    if not outcome.probe.poll:
        return normal
    return Normal(
        normal.status,
        normal.error_code,
        normal.task_status,
        normal.task_code,
        normal.fields,
        normal.empty_arrays,
        normal.headers,
        outcome.sequence,
        normal.message,
    )


def normalize_response(response: Response) -> Normal:
    if response.status == 0:
        return Normal(status=0, message=response.error)
    headers = _headers(response)
    document = _json(response.body)
    if document is None:
        kind = "empty" if not response.body else "text"
        return Normal(response.status, fields={"$": kind}, headers=headers)
    fields: dict[str, str] = {}
    empty: set[str] = set()
    _walk(document, "", fields, empty)
    error_code = task_status = task_code = None
    message = ""
    if isinstance(document, dict):
        if response.status >= 400:
            error_code = _text(document.get("code"))
            message = _text(document.get("message")) or ""
        output = document.get("output")
        if isinstance(output, dict):
            task_status = _text(output.get("task_status"))
            if task_status == "FAILED":
                task_code = _text(output.get("code"))
    return Normal(
        response.status,
        error_code,
        task_status,
        task_code,
        fields,
        frozenset(empty),
        headers,
        message=message,
    )


def _headers(response: Response) -> dict[str, str]:
    content_type = response.headers.get("content-type")
    media_type = content_type.split(";")[0].strip().lower() if content_type else "absent"
    headers = {"content-type": media_type}
    if response.status >= 400:
        headers["x-request-id"] = "present" if "x-request-id" in response.headers else "absent"
    if response.status == 429:
        headers["retry-after"] = "present" if "retry-after" in response.headers else "absent"
    return headers


def _json(body: bytes) -> object | None:
    if not body:
        return None
    try:
        document: object = json.loads(body)
    except ValueError:
        return None
    return document


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _walk(value: object, path: str, fields: dict[str, str], empty: set[str]) -> None:
    """Record the type at `path`, then the fields below it; array items share one path."""
    here = path or "$"
    kind = json_type(value)
    known = fields.get(here)
    if known is not None and kind not in known.split("|"):
        kind = "|".join(sorted({*known.split("|"), kind}))
    fields[here] = kind
    if isinstance(value, dict):
        for key, child in value.items():
            _walk(child, f"{path}.{key}" if path else str(key), fields, empty)
    elif isinstance(value, list):
        if not value:
            empty.add(here)
        for item in value:
            _walk(item, f"{path}[]" if path else "$[]", fields, empty)
