"""Turns every failure into a DashScope error envelope with the right status.

Domain errors carry a code; the HTTP status comes from this table. Router errors (404, 405,
413) get an envelope too, and anything unexpected becomes a 500 envelope, never a traceback.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from aiohttp import web

from mockscope.domain import errors
from mockscope.http.keys import BACKEND
from mockscope.http.serialize import error_body, json_response

log = logging.getLogger("mockscope.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_STATUS_BY_CODE: dict[str, int] = {
    errors.InvalidApiKey.code: 401,
    errors.AccessDenied.code: 403,
    errors.IllegalInput.code: 400,
    errors.EmptyModel.code: 400,
    errors.EmptyInput.code: 400,
    errors.InvalidParameter.code: 400,
    errors.InvalidURL.code: 400,
    errors.UnsupportedOperation.code: 400,
    errors.ModelNotFound.code: 404,
    errors.NotFound.code: 404,
    errors.MethodNotAllowed.code: 405,
    errors.RateQuotaExceeded.code: 429,
    errors.InternalError.code: 500,
}


class Dropped(Exception):
    """The connection was dropped on purpose: there is no answer to send."""


class InjectedError(errors.DashScopeError):
    """An error a scenario declared, with the status and code it named."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # type: ignore[misc]  # per instance: any code a scenario names
        self.status = status


def status_for(error: errors.DashScopeError) -> int:
    if isinstance(error, InjectedError):
        return error.status
    return _STATUS_BY_CODE.get(error.code, 500)


def error_response(request: web.Request, status: int, code: str, message: str) -> web.Response:
    request_id = request.app[BACKEND].new_request_id()
    headers = {"X-Request-ID": request_id}
    return json_response(error_body(code, message, request_id), status, headers)


def dashscope_error_response(request: web.Request, error: errors.DashScopeError) -> web.Response:
    response = error_response(request, status_for(error), error.code, error.message)
    if isinstance(error, errors.RateQuotaExceeded) and error.retry_after_s is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(error.retry_after_s)))
    return response


async def unrouted(request: web.Request) -> web.StreamResponse:
    """The last route: 405 where the path exists with other methods, else 404."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource.name is None:
            continue
        match, methods = await resource.resolve(request)
        if match is None:
            allowed |= methods
    if allowed:
        return dashscope_error_response(request, errors.MethodNotAllowed())
    return dashscope_error_response(request, errors.NotFound())


def router_error(request: web.Request, http_error: web.HTTPException) -> web.Response:
    if http_error.status == 404:
        error: errors.DashScopeError = errors.NotFound()
        return dashscope_error_response(request, error)
    if http_error.status == 405:
        return dashscope_error_response(request, errors.MethodNotAllowed())
    code = HTTPStatus(http_error.status).phrase.title().replace(" ", "")
    return error_response(request, http_error.status, code, http_error.text or http_error.reason)
