"""One handler per API operation: parse, call the backend, serialise."""

from __future__ import annotations

from aiohttp import web

from mockscope.domain import errors
from mockscope.http.keys import BACKEND, PUBLIC_URL
from mockscope.http.parse import parse_create_request
from mockscope.http.serialize import create_body, json_response, task_body


def _account(request: web.Request) -> str:
    return request.app[BACKEND].authenticate(request.headers.get("Authorization"))


def base_url(request: web.Request) -> str:
    """Where this server is reachable as the caller sees it, for URLs it hands out."""
    return request.app[PUBLIC_URL] or f"{request.scheme}://{request.host}"


async def create_task(request: web.Request) -> web.Response:
    backend = request.app[BACKEND]
    account = _account(request)
    if request.headers.get("X-DashScope-Async", "").strip().lower() != "enable":
        raise errors.AccessDenied(errors.AccessDenied.synchronous_message)
    task_request = parse_create_request(await request.read(), backend.config.models.__contains__)
    view = backend.create_task(account, task_request)
    return json_response(create_body(view, backend.new_request_id()))


async def get_task(request: web.Request) -> web.Response:
    backend = request.app[BACKEND]
    view = backend.get_task(_account(request), request.match_info["task_id"])
    return json_response(task_body(view, backend.new_request_id(), base_url(request)))
