"""An answer reduced to what must agree between the service and the fake.

Values that differ on every call (ids, times, URLs, counts) are dropped; what stays is the
HTTP status, the error code, the task status (and, polled, the sequence of statuses), the set
of fields with their JSON types, the shapes of the values clients take apart (URLs, request
ids), and the headers clients act on: the media type, X-Request-ID on errors (documented there),
Retry-After on 429 and the gateway's timing headers on success. Error messages are kept for the
report but not compared: the service rewords them, and no client may depend on their text.

A URL's shape is its file extension and its query's parameter names in order, with `Expires`
told apart as epoch seconds: a live signed result URL (`https://dashscope-result-bj.oss-…/1d/d4/
…/<uuid>-1.png?Expires=1709372335&OSSAccessKeyId=LTAI…&Signature=…`) and the fake's (`http://
127.0.0.1:8080/results/…-1.png?Expires=…&OSSAccessKeyId=…&Signature=…`) have the same shape,
`url .png?Expires=<epoch>&OSSAccessKeyId=…&Signature=…`; an unsigned one does not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from urllib.parse import parse_qsl, urlsplit

from mockscope.domain.ids import REQUEST_ID_PATTERN
from mockscope.drift.runner import ProbeRun
from mockscope.drift.wire import Response

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: Headers the gateway adds to every answer of a DashScope route (fact sheet §4).
TIMING_HEADERS = ("req-cost-time", "req-arrive-time", "resp-start-time")


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
    #: JSON path -> the shape of its string values, for those with one (URLs, request ids).
    shapes: Mapping[str, str] = field(default_factory=dict)

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
    return replace(normal, sequence=outcome.sequence)


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
    shapes: dict[str, str] = {}
    _walk(document, "", fields, empty, shapes)
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
        shapes=shapes,
    )


def _headers(response: Response) -> dict[str, str]:
    content_type = response.headers.get("content-type")
    media_type = content_type.split(";")[0].strip().lower() if content_type else "absent"
    headers = {"content-type": media_type}
    if response.status >= 400:
        request_id = response.headers.get("x-request-id")
        headers["x-request-id"] = "absent" if request_id is None else id_shape(request_id)
    if response.status == 429:
        headers["retry-after"] = "present" if "retry-after" in response.headers else "absent"
    if 200 <= response.status < 300:
        for name in TIMING_HEADERS:
            headers[name] = "present" if name in response.headers else "absent"
    return headers


def id_shape(value: str) -> str:
    """`request-id` (the shape every recorded request id has), `uuid`, or `text`."""
    if REQUEST_ID_PATTERN.match(value):
        return "request-id"
    return "uuid" if _UUID.match(value) else "text"


def url_shape(value: str) -> str | None:
    """The shape of an http(s) URL (see the module docstring), or None for anything else."""
    if not value.startswith(("http://", "https://")):
        return None
    parts = urlsplit(value)
    suffix = PurePosixPath(parts.path).suffix
    shape = f"url {suffix or '(no extension)'}"
    if not parts.query:
        return shape
    names = []
    for name, text in parse_qsl(parts.query, keep_blank_values=True):
        names.append(f"{name}=<epoch>" if name == "Expires" and text.isdigit() else f"{name}=…")
    return f"{shape}?{'&'.join(names)}"


def _shape(value: str, key: str) -> str | None:
    if key == "request_id":
        return id_shape(value)
    return url_shape(value)


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


def _walk(
    value: object, path: str, fields: dict[str, str], empty: set[str], shapes: dict[str, str]
) -> None:
    """Record the type at `path`, then the fields below it; array items share one path."""
    here = path or "$"
    kind = json_type(value)
    known = fields.get(here)
    if known is not None and kind not in known.split("|"):
        kind = "|".join(sorted({*known.split("|"), kind}))
    fields[here] = kind
    if isinstance(value, str):
        shape = _shape(value, here.rsplit(".", 1)[-1])
        if shape is not None:
            seen = shapes.get(here)
            shapes[here] = shape if seen in (None, shape) else "|".join(sorted({seen, shape}))
    elif isinstance(value, dict):
        for key, child in value.items():
            _walk(child, f"{path}.{key}" if path else str(key), fields, empty, shapes)
    elif isinstance(value, list):
        if not value:
            empty.add(here)
        for item in value:
            _walk(item, f"{path}[]" if path else "$[]", fields, empty, shapes)
