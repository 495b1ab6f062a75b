"""Turns every failure into an error envelope with the right HTTP status.

This is the one place that knows which status a code travels with: domain errors, scenario
errors and object-storage refusals carry codes, and the tables here give their statuses (a
scenario error that names its own `status` keeps it). DashScope errors are JSON envelopes;
object-storage errors (result downloads, uploads) are OSS-style XML documents. Router errors
(404, 405, 413) get an envelope too, and anything unexpected becomes a 500 envelope, never a
traceback.
"""

from __future__ import annotations

import logging
import math
import re
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from xml.sax.saxutils import escape

import orjson
from aiohttp import web

from mockscope.domain import errors
from mockscope.http.keys import BACKEND, OPERATION_ID
from mockscope.http.serialize import error_body, json_response

log = logging.getLogger("mockscope.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: The status each DashScope code travels with (spec/dashscope-facts.md, section 7); any
#: other code answers 500.
STATUS_BY_CODE: dict[str, int] = {
    errors.InvalidParameter.code: 400,
    errors.IllegalInput.code: 400,
    errors.EmptyModel.code: 400,
    errors.EmptyInput.code: 400,
    "BadRequest.EmptyParameters": 400,
    errors.InvalidURL.code: 400,
    errors.UnsupportedOperation.code: 400,
    "DataInspectionFailed": 400,
    "Arrearage": 400,
    errors.InvalidApiKey.code: 401,
    errors.AccessDenied.code: 403,
    "AccessDenied.Unpurchased": 403,
    "AllocationQuota.FreeTierOnly": 403,
    errors.ModelNotFound.code: 404,
    errors.NotFound.code: 404,
    errors.MethodNotAllowed.code: 405,
    "RequestTimeOut": 408,
    "Throttling": 429,
    errors.RateQuotaExceeded.code: 429,
    "Throttling.AllocationQuota": 429,
    "Throttling.BurstRate": 429,
    errors.InternalError.code: 500,
    "InternalError.Algo": 500,
    "InternalError.Timeout": 500,
    "SystemError": 500,
    "ModelUnavailable": 503,
    "ModelServingError": 503,
}
#: The status each object-storage (OSS) error code travels with.
STORAGE_STATUS_BY_CODE: dict[str, int] = {
    "InvalidArgument": 400,
    "InvalidPolicyDocument": 400,
    "MalformedPOSTRequest": 400,
    "EntityTooLarge": 400,
    "AccessDenied": 403,
    "InvalidAccessKeyId": 403,
    "SignatureDoesNotMatch": 403,
    "QuotaExceeded": 403,
    "NoSuchKey": 404,
    "FileAlreadyExists": 409,
    "PreconditionFailed": 412,
    "InvalidRange": 416,
}


@dataclass(frozen=True, slots=True)
class ServerFailure:
    """An unexpected exception raised while answering a request (answered as a 500 envelope)."""

    method: str
    path: str
    error: Exception


#: The unexpected failures of an application, the most recent few (MockServer.check raises them).
FAILURES = web.AppKey("server_failures", deque[ServerFailure])
FAILURES_KEPT = 100


def install(app: web.Application) -> None:
    app[FAILURES] = deque(maxlen=FAILURES_KEPT)


def unexpected_error_response(request: web.Request, error: Exception) -> web.Response:
    """The 500 envelope for a failure of the fake itself: logged for the operator, recorded
    for the test, and never a traceback on the wire."""
    log.exception("unexpected error answering %s %s", request.method, request.path, exc_info=error)
    request.app[FAILURES].append(ServerFailure(request.method, request.path, error))
    return dashscope_error_response(request, errors.InternalError())


class Dropped(Exception):
    """The connection was dropped on purpose: there is no answer to send."""


class InjectedError(errors.DashScopeError):
    """An error a scenario declared: its code, and the status it named, if it named one."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code  # type: ignore[misc]  # per instance: any code a scenario names
        self.status = status


def status_for_code(code: str) -> int:
    """The status a DashScope error code travels with (500 for codes not in the table)."""
    return STATUS_BY_CODE.get(code, 500)


def status_for(error: errors.DashScopeError) -> int:
    if isinstance(error, InjectedError) and error.status is not None:
        return error.status
    return status_for_code(error.code)


def error_response(request: web.Request, status: int, code: str, message: str) -> web.Response:
    request_id = request.app[BACKEND].api.new_request_id()
    headers = {"X-Request-ID": request_id}
    return json_response(error_body(code, message, request_id), status, headers)


def dashscope_error_response(request: web.Request, error: errors.DashScopeError) -> web.Response:
    response = error_response(request, status_for(error), error.code, error.message)
    if isinstance(error, errors.RateQuotaExceeded) and error.retry_after_s is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(error.retry_after_s)))
    return response


async def unrouted(request: web.Request) -> web.StreamResponse:
    """The last route: 405 (with `Allow`) where the path exists with other methods, else 404;
    under /results/ an object-storage 404, as result URLs point at storage."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource.name is None:
            continue
        match, methods = await resource.resolve(request)
        if match is None:
            allowed |= methods
    if allowed:
        return method_not_allowed(request, allowed)
    if request.method in ("GET", "HEAD") and _RESULT_SHAPE.fullmatch(request.path):
        # /results/{task_id}/{file_name} with a file name off the pattern: still storage's 404.
        request[OPERATION_ID] = "download_result"
        return storage_error(request, "NoSuchKey", "The specified key does not exist.")
    return dashscope_error_response(request, errors.NotFound())


_RESULT_SHAPE = re.compile(r"/results/[^/]+/[^/]+")


def method_not_allowed(request: web.Request, allowed: set[str]) -> web.Response:
    response = dashscope_error_response(request, errors.MethodNotAllowed())
    response.headers["Allow"] = ", ".join(sorted(allowed))
    return response


def router_error(request: web.Request, http_error: web.HTTPException) -> web.Response:
    if http_error.status == 404:
        error: errors.DashScopeError = errors.NotFound()
        return dashscope_error_response(request, error)
    if http_error.status == 405:
        allow = http_error.headers.get("Allow", "")
        return method_not_allowed(request, {m.strip() for m in allow.split(",") if m.strip()})
    code = HTTPStatus(http_error.status).phrase.title().replace(" ", "")
    return error_response(request, http_error.status, code, http_error.text or http_error.reason)


def oss_request_id(request: web.Request) -> str:
    """An OSS request id: 24 upper-case hex digits (e.g. `559CC9BDC755F95A64485981`)."""
    return request.app[BACKEND].api.new_request_id().replace("-", "").upper()[:24]


def storage_error(
    request: web.Request, code: str, message: str, details: tuple[tuple[str, str], ...] = ()
) -> web.Response:
    """An OSS-style XML error document, with the status its code travels with; `details` are
    the extra elements some errors carry (`Expires` and `ServerTime` for an expired URL,
    `StringToSign` and `SignatureProvided` for a bad signature)."""
    request_id = oss_request_id(request)
    extra = "".join(f"  <{name}>{escape(value)}</{name}>\n" for name, value in details)
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Error>\n"
        f"  <Code>{code}</Code>\n"
        f"  <Message>{escape(message)}</Message>\n"
        f"{extra}"
        f"  <RequestId>{request_id}</RequestId>\n"
        f"  <HostId>{escape(request.host)}</HostId>\n"
        f"  <Key>{escape(request.path.lstrip('/'))}</Key>\n"
        "</Error>\n"
    )
    headers = {"x-oss-request-id": request_id, "Server": "AliyunOSS"}
    status = STORAGE_STATUS_BY_CODE.get(code, 400)
    return web.Response(
        text=document, status=status, content_type="application/xml", headers=headers
    )


def raw_error_answer(code: str, message: str, request_id: str) -> bytes:
    """A whole HTTP/1.1 error answer as bytes, for the socket when no request was read (a
    connection over the cap, a header too slow); the connection is closed after it."""
    status = status_for_code(code)
    body = orjson.dumps(error_body(code, message, request_id))
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"X-Request-ID: {request_id}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def error_answer(status: int, detail: str, request_id: str) -> web.Response:
    """The envelope for a request aiohttp's HTTP parser refused (no application, no route)."""
    if status == 400:
        code, message = errors.InvalidParameter.code, "The request is not valid HTTP"
        message = f"{message}: {detail.splitlines()[0]}" if detail else f"{message}."
    elif status >= 500:
        code, message = errors.InternalError.code, errors.InternalError.default_message
    else:
        code = HTTPStatus(status).phrase.title().replace(" ", "")
        message = detail.splitlines()[0] if detail else HTTPStatus(status).description
    headers = {"X-Request-ID": request_id}
    return json_response(error_body(code, message, request_id), status, headers)
