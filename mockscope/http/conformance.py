"""Checks every response the server sends against `schemas/openapi.yaml` (opt-in).

Used by mockscope's own tests and by anyone who wants proof that what their client saw is
what the schemas allow. Violations are recorded, not raised, so the client still gets its
answer and the test that owns the server decides what to do with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from aiohttp import web

from mockscope import schemas
from mockscope.http.envelopes import Handler
from mockscope.http.exchange import DroppedResponse
from mockscope.http.keys import OPERATION_ID

ERROR_SCHEMA = "error.json"


@dataclass(frozen=True, slots=True)
class Violation:
    """One response that the schemas do not allow."""

    method: str
    path: str
    status: int
    problem: str


VIOLATIONS = web.AppKey("schema_violations", list[Violation])


@web.middleware
async def conformance_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if isinstance(response, DroppedResponse):
        return response  # nothing was sent, so there is nothing to check
    problem = _check_aiohttp_response(_operation_id(request), response)
    if problem is not None:
        violation = Violation(request.method, request.path, response.status, problem)
        request.app[VIOLATIONS].append(violation)
    return response


def install(app: web.Application) -> None:
    app[VIOLATIONS] = []


def _operation_id(request: web.Request) -> str | None:
    if OPERATION_ID in request:
        return request[OPERATION_ID]
    route = request.match_info.route
    name = route.name if route is not None else None
    return name.removesuffix("_slash") if name else None


def _check_aiohttp_response(operation_id: str | None, response: web.StreamResponse) -> str | None:
    if not isinstance(response, web.Response):
        return "streamed responses are not part of the API"
    body = b"" if response.body is None else response.body
    if not isinstance(body, bytes):
        return "response body is not bytes"
    return check_response(operation_id, response.status, response.content_type, body)


def check_response(
    operation_id: str | None, status: int, content_type: str, body: bytes
) -> str | None:
    """What is wrong with a response to `operation_id` (None: no route), or None if it conforms.

    `content_type` is the media type without parameters. Usable on either side of the wire.
    """
    if operation_id is None:
        if status < 400:
            return f"unrouted request answered {status}"
        return _check_json(ERROR_SCHEMA, content_type, body)
    expected = schemas.response_spec(operation_id, status)
    if expected is None:
        return f"{operation_id} does not document status {status}"
    if not expected.media_types:
        return None if not body else f"{operation_id} {status}: documented without a body"
    if content_type not in expected.media_types:
        return f"{operation_id} {status}: content type {content_type!r} not documented"
    if expected.json_ref is not None and content_type == "application/json":
        return _check_json(expected.json_ref, content_type, body)
    return None


def _check_json(schema_ref: str, content_type: str, body: bytes) -> str | None:
    if content_type != "application/json":
        return f"expected application/json, got {content_type!r}"
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        return f"body is not JSON: {error}"
    errors = sorted(schemas.validator(schema_ref).iter_errors(document), key=str)
    if errors:
        return f"{schema_ref}: " + "; ".join(error.message for error in errors[:3])
    return None
