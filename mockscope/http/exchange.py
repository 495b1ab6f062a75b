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
from multidict import CIMultiDict, istr

from mockscope.backend import Backend
from mockscope.domain import errors
from mockscope.domain.identity import Caller
from mockscope.domain.journal import NO_ANSWER
from mockscope.domain.operations import Operation
from mockscope.domain.tasks import TaskRequest
from mockscope.http.envelopes import (
    Dropped,
    dashscope_error_response,
    router_error,
    unexpected_error_response,
)
from mockscope.http.serialize import json_bytes_response
from mockscope.http.task_bodies import TaskBodies
from mockscope.http.wire import WholeAnswer
from mockscope.scenarios.rules import Rule


@dataclass(slots=True)
class Note:
    """One API call's context: the backend serving it, and what the handler learned about it
    for the journal (and the rule the request declared for itself, for the backend)."""

    backend: Backend
    bodies: TaskBodies
    #: The route's Content-Type for its JSON answers (None: object storage's routes), and
    #: when the call arrived on the fake's clock.
    content_type: str | None = None
    arrived_ms: int = 0
    caller: Caller | None = None
    task_id: str | None = None
    task_status: str | None = None
    #: What a create asked for: the journal digests it only when its entries are read.
    work: TaskRequest | None = None
    outcome: str = ""
    own_rule: Rule | None = None
    model: str | None = None
    endpoint: str | None = None
    #: Set once an answer was made with the gateway's headers (see `answer`).
    stamped: bool = False

    def answer(self, body: bytes) -> web.Response:
        """A 200 JSON answer with every header the gateway sends, made in one go (headers
        added to a made response cost more than the response itself)."""
        content_type = self.content_type
        if content_type is None:
            return json_bytes_response(body)
        clock = self.backend.clock
        started = clock.now_ms()
        if clock.jumps:
            # A jumping clock moves to a task's end on a read: that is time the client spent
            # waiting before it, not time the answer took.
            self.arrived_ms = started
        self.stamped = True
        arrived, last = self.arrived_ms, _last_headers
        if last[0] == arrived and last[1] == started and last[2] is content_type:
            return WholeAnswer.made_from(body, last[3])  # as _gateway_headers has it
        return WholeAnswer.made_from(body, _gateway_headers(content_type, arrived, started))


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
    clock, journal = backend.clock, backend.journal

    @functools.wraps(handler)
    async def answer(request: web.Request) -> web.StreamResponse:
        noted = Note(backend, bodies, content_type, clock.now_ms())
        status = NO_ANSWER
        response: web.StreamResponse | None = None
        try:
            try:
                response = await handler(request, noted)
            except Exception as error:
                response = _failure(request, error)
            if not isinstance(response, DroppedResponse):
                status = response.status
                if content_type is not None and not noted.stamped:
                    _as_the_gateway_sends_it(response, noted)
            return response
        finally:
            # Journaled even when the answer never goes out (dropped, or the client gave up);
            # written out here rather than in a function of its own: every request does it.
            now = clock.now_ms()
            caller = noted.caller
            retry_after = None
            if status == 429 and response is not None and "Retry-After" in response.headers:
                retry_after = int(response.headers["Retry-After"])
            # The raw path is ASCII (percent-encoded); its query is dropped: no signature, no
            # secret.
            path = request.raw_path
            if "?" in path:
                path = path.partition("?")[0]
            # A reset while the answer was on its way (a download rendering its image) moves
            # the clock back: that time is not the answer's.
            latency = now - noted.arrived_ms
            journal.record(
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
                path,
                latency if latency > 0 else 0,
            )

    return answer


def _as_the_gateway_sends_it(response: web.StreamResponse, noted: Note) -> None:
    """The gateway's headers on an answer made elsewhere (an envelope, a held answer)."""
    assert noted.content_type is not None
    clock = noted.backend.clock
    started = clock.now_ms()
    if clock.jumps:
        noted.arrived_ms = started  # as in Note.answer
    arrived = noted.arrived_ms
    # Every answer of these routes is JSON (an envelope or a body); a dropped one never gets here.
    response.headers.update(_gateway_headers(noted.content_type, arrived, started))


def _gateway_headers(content_type: str, arrived_ms: int, started_ms: int) -> CIMultiDict[str]:
    """The recorded headers of a DashScope answer (fact sheet §4; cnblogs/dashscope-sdk
    RawHttpData `*.response.header.txt`): `req-arrive-time` and `resp-start-time` in epoch
    milliseconds (the fake's clock), `req-cost-time` the milliseconds between them, and the
    route's own Content-Type (`application/json` on submit and uploads, `application/json;
    charset=UTF-8` on the task routes).

    Answers made in the same millisecond on the same route carry the same headers, so the last
    set made is handed out again; it is never changed (a response copies what it is given)."""
    global _last_headers
    last = _last_headers  # read once: servers in other threads may replace it meanwhile
    if last[0] == arrived_ms and last[1] == started_ms and last[2] is content_type:
        return last[3]
    started = _stamp(started_ms)
    if started_ms == arrived_ms:
        cost, arrived = _ZERO, started
    else:
        cost, arrived = f"{started_ms - arrived_ms}", _stamp(arrived_ms)
    headers = CIMultiDict(
        ((_CONTENT_TYPE, content_type), (_COST, cost), (_ARRIVE, arrived), (_START, started))
    )
    _last_headers = (arrived_ms, started_ms, content_type, headers)
    return headers


def _stamp(epoch_ms: int) -> str:
    """An epoch-ms header value; consecutive answers mostly share the same millisecond (and on
    a manual clock every answer does), so the last one made is kept."""
    global _last_stamp
    last = _last_stamp  # read once: servers in other threads may replace it meanwhile
    if last[0] != epoch_ms:
        last = _last_stamp = (epoch_ms, f"{epoch_ms}")
    return last[1]


_last_stamp = (-1, "-1")
_last_headers: tuple[int, int, str, CIMultiDict[str]] = (-1, -1, "", CIMultiDict())
_ZERO = "0"
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
