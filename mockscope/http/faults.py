"""Request outcomes: the scenario's injected errors, delays and socket faults, resolved and
applied around an API operation.

Outcomes that replace the answer (error, delay, reset, empty) act before the operation runs,
so nothing is created; `truncate` and `lost` act after it, so a create has created its task
(and on the live service would have billed it) when the answer goes wrong. Task outcomes are
the backend's: a create hands it the request's own rule and the backend resolves them.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable, Sequence

from aiohttp import web
from multidict import istr

from mockscope.domain import errors
from mockscope.domain.clock import ManualClock
from mockscope.domain.operations import Operation
from mockscope.http.envelopes import Dropped, InjectedError
from mockscope.http.exchange import Note
from mockscope.http.inbound import text
from mockscope.http.keys import BACKEND, HEADER_SCENARIOS, WAITERS
from mockscope.scenarios.reading import checked_rule
from mockscope.scenarios.rules import Call, DeclaredOutcome, OutcomeKind, Rule, ScenarioError

SCENARIO_HEADER = "X-Mockscope-Scenario"
_SCENARIO_KEY = istr(SCENARIO_HEADER)  # looked up on every API call


def request_outcome(
    request: web.Request,
    noted: Note,
    operation: Operation,
    prompt: str | None = None,
    model: str | None = None,
) -> DeclaredOutcome | None:
    """The request outcome the request's own header and then the scenario pick for this call.

    The request's own rule is noted (`noted.own_rule`) for the backend to resolve a task
    outcome with.
    """
    header = request.headers.get(_SCENARIO_KEY)
    if header is not None and not request.app[HEADER_SCENARIOS]:
        header = None  # switched off (`serve --no-header-scenarios`): the header is ignored
    scenario = noted.backend.scenario
    if header is None and not scenario.request_rules:
        return None
    own = None
    if header is not None:
        own = noted.own_rule = header_rule(text(header) or "")
    caller = noted.caller
    call = Call(
        operation,
        caller.api_key if caller else None,
        caller.account if caller else None,
        prompt,
        request.headers,
        model,
    )
    outcome = scenario.request_outcome(call, own)
    if outcome is not None:
        noted.outcome = outcome.describe()
    return outcome


async def around(
    request: web.Request, outcome: DeclaredOutcome | None, answer: Callable[[], web.Response]
) -> web.Response:
    """Make the answer, inside the call's request outcome when it has one."""
    if outcome is None:
        return answer()
    await before(request, outcome)
    return await after(request, outcome, answer())


def header_rule(value: str) -> Rule:
    """The rule a request declares for itself, or InvalidParameter saying what is wrong."""
    try:
        return checked_rule(value)
    except ScenarioError as error:
        raise errors.InvalidParameter(f"Invalid {SCENARIO_HEADER} `{value}`: {error}.") from None


async def before(request: web.Request, outcome: DeclaredOutcome) -> None:
    """Act on an outcome that replaces or holds back the answer, before the operation runs."""
    kind, params = outcome.kind, outcome.params
    if kind is OutcomeKind.ERROR:
        raise InjectedError(params["code"], params["message"], params.get("status"))
    if kind is OutcomeKind.DELAY:
        scenario = request.app[BACKEND].scenario
        seconds = params.get("seconds")
        if seconds is None:
            seconds = scenario.uniform(params["min"], params["max"])
        await sleep_on_clock(request, seconds)
    elif kind is OutcomeKind.RESET or kind is OutcomeKind.EMPTY:
        drop(request, reset=kind is OutcomeKind.RESET)


async def after(
    request: web.Request, outcome: DeclaredOutcome, response: web.Response
) -> web.Response:
    """Act on an outcome that spoils an answer already made."""
    kind = outcome.kind
    if kind is OutcomeKind.TRUNCATE:
        _send_truncated(request, response)
    elif kind is OutcomeKind.LOST:
        via = outcome.params.get("via", "error")
        if via == "error":
            raise InjectedError(errors.InternalError.code, errors.InternalError.default_message)
        if via == "timeout":
            await _wait_for_shutdown(request)
        drop(request, reset=True)
    return response


def drop(request: web.Request, *, reset: bool) -> None:
    """Close the connection with no answer: a reset (RST) or a plain close (FIN)."""
    transport = request.transport
    if transport is not None:
        if reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()
    raise Dropped()


def _send_truncated(request: web.Request, response: web.Response) -> None:
    body = response.body if isinstance(response.body, bytes) else b""
    head = (
        f"HTTP/1.1 {response.status} {response.reason}\r\n"
        f"Content-Type: {response.headers.get('Content-Type', 'application/json')}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    if request.transport is not None:
        request.transport.write(head + body[: len(body) // 2])
    drop(request, reset=False)


async def sleep_on_clock(request: web.Request, seconds: float) -> None:
    """Wait `seconds` of simulated time: a manual clock lets go when it is advanced that far."""
    if seconds <= 0:
        return
    clock = request.app[BACKEND].clock
    loop = asyncio.get_running_loop()
    woken: asyncio.Future[None] = loop.create_future()
    # Every held answer is a waiter, so a stopping server lets it go at once.
    request.app[WAITERS].add(woken)
    timer = None
    if isinstance(clock, ManualClock):

        def wake() -> None:
            loop.call_soon_threadsafe(settle, woken)

        clock.call_at(clock.now_ms() + round(seconds * 1000), wake)
    else:
        timer = loop.call_later(seconds / clock.time_scale, settle, woken)
    try:
        await woken
    finally:
        if timer is not None:
            timer.cancel()
        request.app[WAITERS].discard(woken)


async def _wait_for_shutdown(request: web.Request) -> None:
    """Hold the answer until the client gives up (the handler is cancelled) or the server stops."""
    woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    request.app[WAITERS].add(woken)
    try:
        await woken
    finally:
        request.app[WAITERS].discard(woken)


def release_waiters(waiting: Sequence[asyncio.Future[None]]) -> None:
    for woken in waiting:
        settle(woken)


def settle(woken: asyncio.Future[None]) -> None:
    """Let a held answer go (once; later calls do nothing)."""
    if not woken.done():
        woken.set_result(None)
