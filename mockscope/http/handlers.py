"""One handler per API operation: parse, apply the request outcome, call the backend, serialise."""

from __future__ import annotations

import orjson
from aiohttp import web
from multidict import istr

from mockscope.domain.identity import Caller
from mockscope.domain.operations import Operation
from mockscope.domain.tasks import TaskRequest
from mockscope.http import faults, held
from mockscope.http.exchange import ApiHandler, Note
from mockscope.http.inbound import buffered_body, text
from mockscope.http.keys import PUBLIC_URL
from mockscope.http.parse import (
    MAX_JSON_BYTES,
    parse_create_request,
    parse_list_query,
    read_body,
)
from mockscope.http.serialize import cancel_body, create_answer, list_body

# Header names made once: a lookup by a ready case-insensitive key skips folding the name.
_AUTHORIZATION = istr("Authorization")
_WORKSPACE = istr("X-DashScope-WorkSpace")
_ASYNC = istr("X-DashScope-Async")
_RESOLVE_OSS = istr("X-DashScope-OssResourceResolve")
#: Without this header and without request-outcome rules a call has no request outcome:
#: checked here, it costs no call into `faults` (the hot routes).
_SCENARIO = istr(faults.SCENARIO_HEADER)


def caller_of(request: web.Request, noted: Note) -> Caller:
    """The authenticated caller of an API request (noted for the journal)."""
    headers = request.headers
    # Keys are data: bytes that are not UTF-8 become `\xNN` text (see inbound.text); ASCII,
    # as keys are, is taken as it is without a call per header.
    authorization, workspace = headers.get(_AUTHORIZATION), headers.get(_WORKSPACE)
    if authorization is not None and not authorization.isascii():
        authorization = text(authorization)
    if workspace is not None:
        workspace = text(workspace)
    caller = noted.backend.directory.authenticate(authorization, workspace)
    noted.caller = caller
    return caller


def base_url(request: web.Request) -> str:
    """Where this server is reachable as the caller sees it, for URLs it hands out."""
    return request.app[PUBLIC_URL] or f"{request.scheme}://{request.host}"


def creates_on(endpoint: str) -> ApiHandler:
    """The create handler of one endpoint (below /api/v1): each model of the catalogue says
    which endpoints serve it, asynchronously (X-DashScope-Async: enable) or synchronously."""

    async def create_task(request: web.Request, noted: Note) -> web.Response:
        api = noted.backend.api
        caller = caller_of(request, noted)
        headers = request.headers
        async_header = headers.get(_ASYNC, "").strip().lower() == "enable"
        raw = buffered_body(request, MAX_JSON_BYTES)
        if raw is None:
            raw = await read_body(request)
        submission = parse_create_request(raw, api.models, endpoint, async_header)
        task_request = submission.request
        noted.model, noted.endpoint = task_request.model, endpoint
        outcome = None
        if _SCENARIO in headers or noted.backend.scenario.request_rules:
            outcome = faults.request_outcome(
                request, noted, Operation.CREATE, task_request.prompt, task_request.model
            )
        resolve_oss = headers.get(_RESOLVE_OSS, "").lower() == "enable"
        synchronous = submission.mode == "sync"
        if not synchronous and outcome is None:
            # The usual create: made here, with no closure (and no cells for its variables).
            made = _submit(
                request, noted, caller, task_request, endpoint, resolve_oss, synchronous=False
            )
            return noted.answer(create_answer(*made))

        def create() -> tuple[str, str]:
            return _submit(request, noted, caller, task_request, endpoint, resolve_oss, synchronous)

        if synchronous:
            return await held.answer_when_finished(request, noted, outcome, create)
        assert outcome is not None
        return await faults.around(request, outcome, lambda: noted.answer(create_answer(*create())))

    create_task.__name__ = f"create_task_{endpoint.rsplit('/', 2)[-2].replace('-', '_')}"
    return create_task


def _submit(
    request: web.Request,
    noted: Note,
    caller: Caller,
    task_request: TaskRequest,
    endpoint: str,
    resolve_oss: bool,
    synchronous: bool,
) -> tuple[str, str]:
    """Create the task (noted for the journal); its id and the answer's request id."""
    api = noted.backend.api
    request_id = api.new_request_id()
    task = api.create_task(
        caller,
        task_request,
        request_id,
        resolve_oss=resolve_oss,
        headers=request.headers,
        own_rule=noted.own_rule,
        endpoint=endpoint,
        synchronous=synchronous,
    )
    noted.task_id, noted.work = task.task_id, task_request
    if task.declared:
        described = task.declared
        noted.outcome = f"{noted.outcome}, {described}" if noted.outcome else described
    return task.task_id, request_id


async def get_task(request: web.Request, noted: Note) -> web.Response:
    api = noted.backend.api
    caller = caller_of(request, noted)
    task_id = noted.task_id = request.match_info["task_id"]
    outcome = None
    if _SCENARIO in request.headers or noted.backend.scenario.request_rules:
        outcome = faults.request_outcome(request, noted, Operation.GET)
    # The most frequent call of all: written out rather than through faults.around.
    if outcome is not None:
        await faults.before(request, outcome)
    view = api.get_task(caller, task_id)
    noted.task_status = view.status
    body = noted.bodies.render(view, api.new_request_id(), lambda: base_url(request))
    response = noted.answer(body)
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
        return noted.answer(orjson.dumps(cancel_body(api.new_request_id())))

    return await faults.around(request, outcome, cancel)


async def list_tasks(request: web.Request, noted: Note) -> web.Response:
    api = noted.backend.api
    caller = caller_of(request, noted)
    query = parse_list_query(request.query)
    outcome = faults.request_outcome(request, noted, Operation.LIST)

    def answer() -> web.Response:
        page = api.list_tasks(caller, query)
        return noted.answer(orjson.dumps(list_body(page, api.new_request_id())))

    return await faults.around(request, outcome, answer)
