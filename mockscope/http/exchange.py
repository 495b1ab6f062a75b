"""Wraps each handler: one request in, one answer out, one journal entry kept.

Handlers are wrapped one by one rather than through an aiohttp middleware: an application
with any middleware pays two extra coroutine layers on every request, and the fake's hot
routes are meant to stay close to bare aiohttp. The wrapper turns every failure into a
DashScope envelope (never a traceback) and journals what the handler noted about the call.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from mockscope.domain import errors
from mockscope.domain.identity import Caller
from mockscope.domain.journal import NO_ANSWER
from mockscope.domain.operations import Operation
from mockscope.http.errors import dashscope_error_response, log, router_error
from mockscope.http.faults import Dropped
from mockscope.http.keys import BACKEND


@dataclass(slots=True)
class Note:
    """What a handler learned about its call, for the journal."""

    caller: Caller | None = None
    task_id: str | None = None
    task_status: str | None = None
    work: str | None = None
    outcome: str = ""


NOTE = web.RequestKey("note", Note)
#: Marks the placeholder answer of a dropped connection (nothing of it reaches the wire).
DROPPED = web.ResponseKey("dropped", bool)


def note(request: web.Request) -> Note:
    return request[NOTE]


def exchange(operation: Operation | None, handler: Handler) -> Handler:
    """The handler, answering every error as an envelope and journaling API calls."""

    @functools.wraps(handler)
    async def answer(request: web.Request) -> web.StreamResponse:
        request[NOTE] = noted = Note()
        status = NO_ANSWER
        response: web.StreamResponse | None = None
        try:
            response = await _answer(handler, request)
            status = NO_ANSWER if DROPPED in response else response.status
            return response
        finally:
            # Journaled even when the answer never goes out (dropped, or the client gave up).
            if operation is not None:
                _journal(request, operation, noted, status, response)

    return answer


async def _answer(handler: Handler, request: web.Request) -> web.StreamResponse:
    try:
        return await handler(request)
    except errors.DashScopeError as error:
        return dashscope_error_response(request, error)
    except Dropped:
        # The connection is gone; aiohttp writes nothing on a closed transport.
        placeholder = web.Response(status=499)
        placeholder[DROPPED] = True
        return placeholder
    except web.HTTPException as http_error:
        if http_error.status < 400:
            raise
        return router_error(request, http_error)
    except Exception:
        log.exception("unexpected error answering %s %s", request.method, request.path)
        return dashscope_error_response(request, errors.InternalError())


def _journal(
    request: web.Request,
    operation: Operation,
    noted: Note,
    status: int,
    response: web.StreamResponse | None,
) -> None:
    backend = request.app[BACKEND]
    caller = noted.caller
    retry_after = None
    if status == 429 and response is not None and "Retry-After" in response.headers:
        retry_after = int(response.headers["Retry-After"])
    backend.journal.record(
        backend.clock.now_ms(),
        operation,
        caller.account if caller else None,
        caller.api_key if caller else None,
        noted.task_id,
        status,
        noted.outcome,
        noted.task_status,
        retry_after,
        noted.work,
    )
