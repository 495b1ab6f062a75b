"""Serving a stored object as OSS serves it: its headers, conditional requests and ranges.

What a GetObject answer carries (aliyun-oss-python-sdk's recorded responses, OSS HeadObject
reference): `ETag` (the MD5, upper-case hex, quoted), `Last-Modified`, `Content-Length`,
`Accept-Ranges: bytes`, `Content-MD5`, `x-oss-request-id`, `x-oss-object-type: Normal`,
`x-oss-storage-class: Standard`, `Server: AliyunOSS`.

Conditional requests (OSS GetObject): a failed `If-Match` or `If-Unmodified-Since` answers 412
PreconditionFailed; then `If-None-Match` naming the ETag, or `If-Modified-Since` not before
Last-Modified, answer 304 Not Modified (RFC 7232's order). They are judged before the range.

Ranges (OSS "HTTP Range requests", alibabacloud.com/help/en/oss/…/range-requests, and its
HTTP 416 page): one range per request (with several, OSS serves the first); a valid one answers
206 with `Content-Range`; an end past the object is cut to the object. Sources disagree on a
start past the end: by default OSS ignores such a range and sends the whole object (200), with
`x-oss-range-behavior: standard` it answers 416 InvalidRange "The requested range cannot be
satisfied", as RFC 7233 does; the fake answers 416. A range that does not parse is ignored
(200 and the whole object), as OSS does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from email.utils import formatdate, parsedate_to_datetime

from aiohttp import web
from multidict import CIMultiDict

from mockscope.domain.images import Rendered
from mockscope.domain.objects import ObjectError
from mockscope.http.wire import WholeAnswer

PRECONDITION_MESSAGE = "At least one of the pre-conditions you specified did not hold."
RANGE_MESSAGE = "The requested range cannot be satisfied"


def etag_of(data: bytes) -> str:
    """The ETag OSS gives a simply uploaded object: its MD5, upper-case hex, quoted."""
    return f'"{hashlib.md5(data).hexdigest().upper()}"'


def http_date(epoch_ms: int) -> str:
    """`Fri, 24 Feb 2012 06:07:48 GMT`."""
    return formatdate(epoch_ms // 1000, usegmt=True)


#: Request headers that ask for less than the whole object, unconditionally.
_NARROWING = ("If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "Range")
#: The headers every answer about one object carries, by (ETag, Last-Modified): made once.
_OBJECT_HEADERS: dict[tuple[str, int], CIMultiDict[str]] = {}
_OBJECT_HEADERS_KEPT = 256


def object_response(
    request: web.Request, image: Rendered, modified_ms: int, request_id: str
) -> web.Response:
    """The answer to a GET (or HEAD) of an object the caller may read; ObjectError for a
    failed precondition (PreconditionFailed) or a range past the end (InvalidRange)."""
    headers = _object_headers(image, modified_ms).copy()
    headers["x-oss-request-id"] = request_id
    asked = request.headers
    if not any(name in asked for name in _NARROWING):  # the common case, kept cheap
        headers["Content-Type"] = "image/png"
        headers["Content-MD5"] = image.content_md5
        return WholeAnswer(body=image.png, headers=headers)
    # In RFC 7232's order: the preconditions that fail with 412 come first.
    if not _preconditions_hold(asked, image.etag, modified_ms):
        raise ObjectError("PreconditionFailed", PRECONDITION_MESSAGE)
    if _not_modified(asked, image.etag, modified_ms):
        return web.Response(status=304, headers=headers)
    size = len(image.png)
    span = _range(asked.get("Range"), size)
    headers["Content-Type"] = "image/png"
    if span is None:
        headers["Content-MD5"] = image.content_md5
        return WholeAnswer(body=image.png, headers=headers)
    first, last = span
    headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return web.Response(status=206, body=image.png[first : last + 1], headers=headers)


def _object_headers(image: Rendered, modified_ms: int) -> CIMultiDict[str]:
    key = (image.etag, modified_ms)
    headers = _OBJECT_HEADERS.get(key)
    if headers is None:
        headers = CIMultiDict(
            {
                "Server": "AliyunOSS",
                "Accept-Ranges": "bytes",
                "ETag": image.etag,
                "Last-Modified": http_date(modified_ms),
                "x-oss-object-type": "Normal",
                "x-oss-storage-class": "Standard",
            }
        )
        if len(_OBJECT_HEADERS) >= _OBJECT_HEADERS_KEPT:
            _OBJECT_HEADERS.clear()
        _OBJECT_HEADERS[key] = headers
    return headers


def _not_modified(headers: Mapping[str, str], etag: str, modified_ms: int) -> bool:
    none_match = headers.get("If-None-Match")
    if none_match is not None:
        return _etag_listed(none_match, etag, weak=True)
    since = _parse_date(headers.get("If-Modified-Since"))
    return since is not None and modified_ms // 1000 <= since


def _preconditions_hold(headers: Mapping[str, str], etag: str, modified_ms: int) -> bool:
    match = headers.get("If-Match")
    if match is not None and not _etag_listed(match, etag, weak=False):
        return False
    since = _parse_date(headers.get("If-Unmodified-Since"))
    return since is None or modified_ms // 1000 <= since


def _etag_listed(header: str, etag: str, *, weak: bool) -> bool:
    if header.strip() == "*":
        return True
    for candidate in header.split(","):
        candidate = candidate.strip()
        if weak and candidate.startswith("W/"):
            candidate = candidate[2:]
        # Some clients send the ETag without its quotes; OSS compares the value.
        if candidate.strip('"').upper() == etag.strip('"'):
            return True
    return False


def _parse_date(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(parsedate_to_datetime(text).timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) byte of a satisfiable range; None to send the whole object."""
    if header is None:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec:
        return None
    spec = spec.split(",")[0].strip()  # OSS serves only the first of several ranges
    start, dash, end = spec.partition("-")
    start, end = start.strip(), end.strip()
    if not dash or not (start.isdigit() or start == "") or not (end.isdigit() or end == ""):
        return None
    if start == "":
        if end == "":
            return None
        suffix = int(end)
        if suffix == 0 or size == 0:
            raise _unsatisfiable()
        return max(size - suffix, 0), size - 1
    first = int(start)
    if end != "" and int(end) < first:
        return None  # not a range at all: ignored
    if first >= size:
        raise _unsatisfiable()
    last = min(int(end), size - 1) if end != "" else size - 1
    return first, last


def _unsatisfiable() -> ObjectError:
    return ObjectError("InvalidRange", RANGE_MESSAGE)
