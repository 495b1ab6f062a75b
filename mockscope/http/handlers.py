"""One handler per API operation: parse, apply the request outcome, call the backend, serialise."""

from __future__ import annotations

from aiohttp import web

from mockscope.domain import errors
from mockscope.domain.identity import Caller
from mockscope.domain.operations import Operation
from mockscope.http import faults
from mockscope.http.exchange import Note
from mockscope.http.inbound import text
from mockscope.http.keys import PUBLIC_URL
from mockscope.http.parse import parse_create_request, parse_list_query, read_body
from mockscope.http.serialize import (
    cancel_body,
    create_body,
    json_bytes_response,
    json_response,
    list_body,
)


def caller_of(request: web.Request, noted: Note) -> Caller:
    """The authenticated caller of an API request (noted for the journal)."""
    headers = request.headers
    # Keys are data: bytes that are not UTF-8 become `\xNN` text (see inbound.text).
    caller = noted.backend.api.authenticate(
        text(headers.get("Authorization")), text(headers.get("X-DashScope-WorkSpace"))
    )
    noted.caller = caller
    return caller


def base_url(request: web.Request) -> str:
    """Where this server is reachable as the caller sees it, for URLs it hands out."""
    return request.app[PUBLIC_URL] or f"{request.scheme}://{request.host}"


async def create_task(request: web.Request, noted: Note) -> web.Response:
    api = noted.backend.api
    caller = caller_of(request, noted)
    headers = request.headers
    if headers.get("X-DashScope-Async", "").strip().lower() != "enable":
        raise errors.AccessDenied(errors.AccessDenied.synchronous_message)
    task_request = parse_create_request(await read_body(request), api.model_exists)
    outcome = faults.request_outcome(request, noted, Operation.CREATE, task_request.prompt)
    resolve_oss = headers.get("X-DashScope-OssResourceResolve", "").lower() == "enable"

    def create() -> web.Response:
        request_id = api.new_request_id()
        task = api.create_task(
            caller,
            task_request,
            request_id,
            resolve_oss=resolve_oss,
            headers=headers,
            own_rule=noted.own_rule,
        )
        noted.task_id, noted.work = task.task_id, task_request.digest()
        if task.declared:
            noted.outcome = f"{noted.outcome}, {task.declared}" if noted.outcome else task.declared
        return json_response(create_body(task.task_id, request_id))

    return await faults.around(request, outcome, create)


async def get_task(request: web.Request, noted: Note) -> web.Response:
    api = noted.backend.api
    caller = caller_of(request, noted)
    task_id = noted.task_id = request.match_info["task_id"]
    outcome = faults.request_outcome(request, noted, Operation.GET)
    # The most frequent call of all: written out rather than through faults.around.
    if outcome is not None:
        await faults.before(request, outcome)
    view = api.get_task(caller, task_id)
    noted.task_status = view.status
    body = noted.bodies.render(view, api.new_request_id(), lambda: base_url(request))
    response = json_bytes_response(body)
    if outcome is not None:
        return await faults.after(request, outcome, response)
    return response


async def cancel_task(request: web.Request, noted: Note) -> web.Response:
    # Any body is ignored: the aiohttp SDK sends one, the others send none.
    api = noted.backend.api
    caller = caller_of(request, noted)
    task_id = noted.task_id = request.match_info["task_id"]
    outcome = faults.request_outcome(request, noted, Operation.CANCEL)

    def cancel() -> web.Response:
        api.cancel_task(caller, task_id)
        return json_response(cancel_body(api.new_request_id()))

    return await faults.around(request, outcome, cancel)


async def list_tasks(request: web.Request, noted: Note) -> web.Response:
    api = noted.backend.api
    caller = caller_of(request, noted)
    query = parse_list_query(request.query)
    outcome = faults.request_outcome(request, noted, Operation.LIST)

    def answer() -> web.Response:
        page = api.list_tasks(caller, query)
        return json_response(list_body(page, api.new_request_id()))

    return await faults.around(request, outcome, answer)
