"""One handler per API operation: parse, call the backend, serialise."""

from __future__ import annotations

from aiohttp import web

from mockscope.domain import errors
from mockscope.domain.identity import Caller
from mockscope.http.keys import BACKEND, PUBLIC_URL
from mockscope.http.parse import parse_create_request, parse_list_query
from mockscope.http.serialize import (
    cancel_body,
    create_body,
    json_response,
    list_body,
    task_body,
)


def _caller(request: web.Request) -> Caller:
    headers = request.headers
    return request.app[BACKEND].authenticate(
        headers.get("Authorization"), headers.get("X-DashScope-WorkSpace")
    )


def base_url(request: web.Request) -> str:
    """Where this server is reachable as the caller sees it, for URLs it hands out."""
    return request.app[PUBLIC_URL] or f"{request.scheme}://{request.host}"


async def create_task(request: web.Request) -> web.Response:
    backend = request.app[BACKEND]
    caller = _caller(request)
    if request.headers.get("X-DashScope-Async", "").strip().lower() != "enable":
        raise errors.AccessDenied(errors.AccessDenied.synchronous_message)
    task_request = parse_create_request(await request.read(), backend.model_exists)
    request_id = backend.new_request_id()
    task_id = backend.create_task(caller, task_request, request_id)
    return json_response(create_body(task_id, request_id))


async def get_task(request: web.Request) -> web.Response:
    backend = request.app[BACKEND]
    view = backend.get_task(_caller(request), request.match_info["task_id"])
    return json_response(task_body(view, backend.new_request_id(), lambda: base_url(request)))


async def cancel_task(request: web.Request) -> web.Response:
    # Any body is ignored: the aiohttp SDK sends one, the others send none.
    backend = request.app[BACKEND]
    backend.cancel_task(_caller(request), request.match_info["task_id"])
    return json_response(cancel_body(backend.new_request_id()))


async def list_tasks(request: web.Request) -> web.Response:
    backend = request.app[BACKEND]
    caller = _caller(request)
    page = backend.list_tasks(caller, parse_list_query(request.query))
    return json_response(list_body(page, backend.new_request_id()))
