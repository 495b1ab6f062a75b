"""Wraps each handler: one request in, one answer out, one journal entry kept.

Handlers are wrapped one by one rather than through an aiohttp middleware: an application
with any middleware pays two extra coroutine layers on every request, and the fake's hot
routes are meant to stay close to bare aiohttp. The wrapper turns every failure into a
DashScope envelope (never a traceback) and journals what the handler noted about the call.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import istr

from mockscope.backend import Backend
from mockscope.domain import errors
from mockscope.domain.identity import Caller
from mockscope.domain.journal import NO_ANSWER
from mockscope.domain.operations import Operation
from mockscope.http.envelopes import (
    Dropped,
    dashscope_error_response,
    router_error,
    unexpected_error_response,
)
from mockscope.http.task_bodies import TaskBodies
from mockscope.scenarios.rules import Rule


@dataclass(slots=True)
class Note:
    """One API call's context: the backend serving it, and what the handler learned about it
    for the journal (and the rule the request declared for itself, for the backend)."""

    backend: Backend
    bodies: TaskBodies
    caller: Caller | None = None
    task_id: str | None = None
    task_status: str | None = None
    work: str | None = None
    outcome: str = ""
    own_rule: Rule | None = None
    model: str | None = None
    endpoint: str | None = None


class DroppedResponse(web.Response):
    """The placeholder answer of a dropped connection: nothing of it reaches the wire."""

    def __init__(self) -> None:
        super().__init__(status=499)


ApiHandler = Callable[[web.Request, Note], Awaitable[web.StreamResponse]]


def api_route(
    operation: Operation,
    handler: ApiHandler,
    backend: Backend,
    bodies: TaskBodies,
    content_type: str | None = None,
) -> Handler:
    """An API handler for one app's backend, answering every error as an envelope and
    journaling the call.

    With a `content_type` (the DashScope routes; not object storage's), every JSON answer is
    sent with that Content-Type and the gateway's timing headers, as the service sends them.
    """
    clock = backend.clock

    @functools.wraps(handler)
    async def answer(request: web.Request) -> web.StreamResponse:
        noted = Note(backend, bodies)
        status = NO_ANSWER
        response: web.StreamResponse | None = None
        arrived = clock.now_ms()
        try:
            try:
                response = await handler(request, noted)
            except Exception as error:
                response = _failure(request, error)
            if not isinstance(response, DroppedResponse):
                status = response.status
                if content_type is not None:
                    started = clock.now_ms()
                    if clock.jumps:
                        # A jumping clock moves to a task's end on a read: that is time the
                        # client spent waiting before it, not time the answer took.
                        arrived = started
                    _as_the_gateway_sends_it(response, content_type, arrived, started)
            return response
        finally:
            # Journaled even when the answer never goes out (dropped, or the client gave up).
            _journal(operation, noted, status, response, request, arrived)

    return answer


def _as_the_gateway_sends_it(
    response: web.StreamResponse, content_type: str, arrived_ms: int, started_ms: int
) -> None:
    """The recorded headers of a DashScope answer (fact sheet §4; cnblogs/dashscope-sdk
    RawHttpData `*.response.header.txt`): `req-arrive-time` and `resp-start-time` in epoch
    milliseconds (the fake's clock), `req-cost-time` the milliseconds between them, and the
    route's own Content-Type (`application/json` on submit and uploads, `application/json;
    charset=UTF-8` on the task routes)."""
    # Every answer of these routes is JSON (an envelope or a body); a dropped one never gets here.
    headers = response.headers
    headers[_CONTENT_TYPE] = content_type
    headers.extend(
        (
            (_COST, f"{started_ms - arrived_ms}"),
            (_ARRIVE, f"{arrived_ms}"),
            (_START, f"{started_ms}"),
        )
    )


# Header names made once: the hot path then skips turning them into case-insensitive keys.
_CONTENT_TYPE = istr("Content-Type")
_COST = istr("req-cost-time")
_ARRIVE = istr("req-arrive-time")
_START = istr("resp-start-time")


def plain_route(handler: Handler) -> Handler:
    """A handler that is not journaled, answering every error as an envelope."""

    @functools.wraps(handler)
    async def answer(request: web.Request) -> web.StreamResponse:
        return await _answer(request, handler(request))

    return answer


async def _answer(
    request: web.Request, answering: Awaitable[web.StreamResponse]
) -> web.StreamResponse:
    try:
        return await answering
    except Exception as error:
        return _failure(request, error)


def _failure(request: web.Request, error: Exception) -> web.StreamResponse:
    """The answer to a handler that raised: an envelope, or nothing for a dropped line."""
    if isinstance(error, errors.DashScopeError):
        return dashscope_error_response(request, error)
    if isinstance(error, Dropped):
        # The connection is gone; aiohttp writes nothing on a closed transport.
        return DroppedResponse()
    if isinstance(error, web.HTTPException) and error.status >= 400:
        return router_error(request, error)
    if isinstance(error, web.HTTPException):
        raise error
    return unexpected_error_response(request, error)


def _journal(
    operation: Operation,
    noted: Note,
    status: int,
    response: web.StreamResponse | None,
    request: web.Request,
    arrived_ms: int,
) -> None:
    backend = noted.backend
    now = backend.clock.now_ms()
    caller = noted.caller
    retry_after = None
    if status == 429 and response is not None and "Retry-After" in response.headers:
        retry_after = int(response.headers["Retry-After"])
    backend.journal.record(
        now,
        operation,
        caller.account if caller else None,
        caller.api_key if caller else None,
        noted.task_id,
        status,
        noted.outcome,
        noted.task_status,
        retry_after,
        noted.work,
        noted.model,
        noted.endpoint,
        request.method,
        # The raw path is ASCII (percent-encoded) and carries no query: no signature, no secret.
        request.rel_url.raw_path,
        # A reset while the answer was on its way (a download rendering its image) moves the
        # clock back: that time is not the answer's.
        max(0, now - arrived_ms),
    )
