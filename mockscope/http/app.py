"""create_app(backend): the route table, with an optional trailing slash on every API route."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.typedefs import Handler

from mockscope import spec
from mockscope.backend import Backend
from mockscope.domain.operations import Operation
from mockscope.http import conformance, control, files, handlers, parse
from mockscope.http import control_scenarios as scenarios
from mockscope.http.errors import unrouted
from mockscope.http.exchange import exchange
from mockscope.http.faults import release_waiters
from mockscope.http.keys import BACKEND, CONTROL_TOKEN, PUBLIC_URL, WAITERS

API = "/api/v1"

CREATE_PATH = f"{API}/services/aigc/text2image/image-synthesis"

CONTROL = control.PREFIX

# (method, path, handler, operationId); every API path also answers with a trailing slash.
# aiohttp tries the routes under one path prefix in the order they were added, so the route
# polled most (GET a task) goes before the others under /api/v1/tasks.
ROUTES: tuple[tuple[str, str, Handler, str], ...] = (
    ("GET", f"{API}/tasks/{{task_id}}", handlers.get_task, "get_task"),
    ("POST", CREATE_PATH, handlers.create_task, "create_task"),
    ("GET", f"{API}/tasks", handlers.list_tasks, "list_tasks"),
    ("POST", f"{API}/tasks/{{task_id}}/cancel", handlers.cancel_task, "cancel_task"),
    ("GET", "/results/{task_id}/{index:\\d{1,3}}.png", files.download_result, "download_result"),
    ("GET", f"{CONTROL}/clock", control.get_clock, "get_clock"),
    ("POST", f"{CONTROL}/clock/advance", control.advance_clock, "advance_clock"),
    ("POST", f"{CONTROL}/reset", control.reset, "reset"),
    ("GET", f"{CONTROL}/limits", control.get_limits, "get_limits"),
    ("POST", f"{CONTROL}/limits", control.set_limits, "set_limits"),
    ("GET", f"{CONTROL}/tasks", control.list_all_tasks, "list_all_tasks"),
    ("POST", f"{CONTROL}/tasks/{{task_id}}/finish", scenarios.finish_task, "finish_task"),
    ("GET", f"{CONTROL}/scenarios", scenarios.get_scenario, "get_scenario"),
    ("POST", f"{CONTROL}/scenarios", scenarios.set_scenario, "set_scenario"),
    ("DELETE", f"{CONTROL}/scenarios", scenarios.clear_scenario, "clear_scenario"),
    ("GET", f"{CONTROL}/journal", scenarios.get_journal, "get_journal"),
    ("DELETE", f"{CONTROL}/journal", scenarios.clear_journal, "clear_journal"),
)

#: The journaled operation of each API route; control routes are not journaled.
OPERATIONS = {
    "create_task": Operation.CREATE,
    "get_task": Operation.GET,
    "list_tasks": Operation.LIST,
    "cancel_task": Operation.CANCEL,
    "download_result": Operation.DOWNLOAD,
}


# The request schemas are compiled once per process, on import: every server started in the
# process (a test session starts many) then begins serving without that cost.
for _schema in (
    parse.CREATE_REQUEST_SCHEMA,
    control.ADVANCE_SCHEMA,
    control.LIMITS_SCHEMA,
    scenarios.SCENARIO_SCHEMA,
):
    spec.request_schema(_schema)


def create_app(
    backend: Backend,
    *,
    public_url: str = "",
    control_token: str = "",
    validate_responses: bool = False,
) -> web.Application:
    """The fake service as an aiohttp application around `backend`."""
    middlewares = [conformance.conformance_middleware] if validate_responses else []
    app = web.Application(middlewares=middlewares)
    if validate_responses:
        conformance.install(app)
    app[BACKEND] = backend
    app[PUBLIC_URL] = public_url.rstrip("/")
    app[CONTROL_TOKEN] = control_token
    app[WAITERS] = set()
    app.on_shutdown.append(_let_go_of_waiters)
    for method, path, handler, operation_id in ROUTES:
        answer = exchange(OPERATIONS.get(operation_id), handler)
        if not path.startswith(API):
            app.router.add_route(method, path, answer, name=operation_id)
        elif "{" in path:
            # One pattern with an optional slash: each dynamic route costs a regex per start.
            app.router.add_route(method, path + "{slash:/?}", answer, name=operation_id)
        else:
            # Fixed paths are looked up exactly, so the slashed form is a route of its own.
            app.router.add_route(method, path, answer, name=operation_id)
            app.router.add_route(method, path + "/", answer, name=f"{operation_id}_slash")
    # Anything else: a 404 or 405 envelope rather than aiohttp's plain-text page.
    app.router.add_route("*", "/{path:.*}", exchange(None, unrouted))
    return app


async def _let_go_of_waiters(app: web.Application) -> None:
    """Answers held back on purpose must not keep the server from stopping."""
    waiting: set[asyncio.Future[None]] = app[WAITERS]
    release_waiters(list(waiting))


# One throwaway application is built at import, so the once-per-process costs of the first
# one (compiling the route patterns, aiohttp's own lazy set-up) are paid with the import and
# not by the first server a test session starts.
create_app(Backend())
