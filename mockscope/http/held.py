"""Synchronous calls: the answer is held until the task is finished, on the fake's clock.

Like a delayed answer (`faults.sleep_on_clock`), a held answer waits on the injected clock: a
manual clock lets it go when it is advanced past the task's end, a system clock when that time
comes, and a jumping clock jumps there at once. Plans can move by other means too (a cancel
ahead in the queue, `finish`, new limits, a reset); the backend tells its watchers, and every
held answer looks again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

from mockscope.backend import Backend
from mockscope.domain import errors
from mockscope.domain.clock import ManualClock
from mockscope.domain.lifecycle import FOREVER_MS, TaskStatus
from mockscope.domain.tasks import TaskView
from mockscope.http import faults
from mockscope.http.exchange import Note
from mockscope.http.keys import BACKEND, PUBLIC_URL, STOPPING, WAITERS
from mockscope.http.serialize import generation_body, json_response, task_body
from mockscope.scenarios.rules import DeclaredOutcome

#: A system clock can also jump (a control-plane advance): look again at least this often.
_RECHECK_S = 1.0


async def answer_when_finished(
    request: web.Request,
    noted: Note,
    outcome: DeclaredOutcome | None,
    create: Callable[[], tuple[str, str]],
) -> web.Response:
    """Create the task, hold the answer until it is finished, answer with its result."""
    if outcome is not None:
        await faults.before(request, outcome)
    task_id, request_id = create()
    view = await until_finished(request, noted.backend, task_id)
    if view is None:
        raise errors.InternalError()  # reset or stopped while the caller waited
    noted.task_status = view.status
    response = answer(request, view, request_id)
    if outcome is not None:
        return await faults.after(request, outcome, response)
    return response


def answer(request: web.Request, view: TaskView, request_id: str) -> web.Response:
    """A finished task as a synchronous call answers it: the final task body (prompt protocol),
    or the generation body, a failure being an error envelope (no task to put it in)."""
    base = request.app[PUBLIC_URL] or f"{request.scheme}://{request.host}"
    objects = request.app[BACKEND].objects
    style = view.style
    if style is None or style.shape != "choices":
        return json_response(task_body(view, request_id, lambda: base, objects))
    if view.status is TaskStatus.SUCCEEDED:
        return json_response(generation_body(view, request_id, base, objects))
    failure = view.failure
    if failure is None:
        raise errors.InternalError()
    raise errors.Refused(failure.code, failure.message)


async def until_finished(request: web.Request, backend: Backend, task_id: str) -> TaskView | None:
    """The task once it has stopped being live; None if it is gone or the server stops."""
    while True:
        state = backend.api.answer_of(task_id)
        if state is None or request.app[STOPPING].is_set():
            return None
        view, finished_ms = state
        if finished_ms <= backend.clock.now_ms():
            return view
        await _wait_for(request, backend, finished_ms)


async def _wait_for(request: web.Request, backend: Backend, at_ms: int) -> None:
    """Until the clock reads `at_ms`, a plan moves, or the server stops: whichever is first."""
    loop = asyncio.get_running_loop()
    woken: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        loop.call_soon_threadsafe(faults.settle, woken)

    clock = backend.clock
    waiters = request.app[WAITERS]
    waiters.add(woken)
    backend.api.watchers.add(wake)
    timer = None
    if at_ms >= FOREVER_MS:
        pass  # a task told to wait `never`: only a finish (a watcher call) lets it go
    elif isinstance(clock, ManualClock):
        # A jumping clock (a ManualClock) jumps to the end at once: nobody waits on it.
        clock.call_at(at_ms, wake)
    else:
        seconds = (at_ms - clock.now_ms()) / 1000 / clock.time_scale
        timer = loop.call_later(min(max(seconds, 0.0), _RECHECK_S), faults.settle, woken)
    try:
        await woken
    finally:
        waiters.discard(woken)
        backend.api.watchers.discard(wake)
        if timer is not None:
            timer.cancel()
