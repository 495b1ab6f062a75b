"""create_app(backend): the route table, with an optional trailing slash on every API route."""

from __future__ import annotations

import asyncio

from aiohttp import web

from mockscope import schemas
from mockscope.backend import Backend
from mockscope.backend.catalogue import built_in
from mockscope.domain.operations import Operation
from mockscope.http import conformance, envelopes, handlers, model_rules, storage
from mockscope.http.control import clock_limits, dispatch, scenarios
from mockscope.http.envelopes import unrouted
from mockscope.http.exchange import ApiHandler, api_route, plain_route
from mockscope.http.faults import release_waiters
from mockscope.http.keys import (
    BACKEND,
    CONTROL_TOKEN,
    HEADER_SCENARIOS,
    PUBLIC_URL,
    STOPPING,
    WAITERS,
)
from mockscope.http.task_bodies import TaskBodies

API = "/api/v1"

#: The endpoints a task is created on (below /api/v1): each model of the catalogue names the
#: ones that serve it, and in which mode (async with X-DashScope-Async, sync without).
TEXT2IMAGE = "/services/aigc/text2image/image-synthesis"
IMAGE_GENERATION = "/services/aigc/image-generation/generation"
MULTIMODAL_GENERATION = "/services/aigc/multimodal-generation/generation"
CREATE_PATH = f"{API}{TEXT2IMAGE}"

# (method, path, handler, operation); every API path also answers with a trailing slash.
# aiohttp tries the routes under one path prefix in the order they were added, so the route
# polled most (GET a task) goes before the others under /api/v1/tasks.
ROUTES: tuple[tuple[str, str, ApiHandler, Operation], ...] = (
    ("GET", f"{API}/tasks/{{task_id}}", handlers.get_task, Operation.GET),
    ("POST", CREATE_PATH, handlers.creates_on(TEXT2IMAGE), Operation.CREATE),
    (
        "POST",
        f"{API}{IMAGE_GENERATION}",
        handlers.creates_on(IMAGE_GENERATION),
        Operation.CREATE,
    ),
    (
        "POST",
        f"{API}{MULTIMODAL_GENERATION}",
        handlers.creates_on(MULTIMODAL_GENERATION),
        Operation.CREATE,
    ),
    ("GET", f"{API}/tasks", handlers.list_tasks, Operation.LIST),
    ("POST", f"{API}/tasks/{{task_id}}/cancel", handlers.cancel_task, Operation.CANCEL),
    ("GET", "/results/{key:[\\s\\S]+}", storage.download_result, Operation.DOWNLOAD),
    ("GET", f"{API}/uploads", storage.get_upload_policy, Operation.UPLOAD),
    ("POST", storage.UPLOAD_PATH, storage.upload_file, Operation.UPLOAD),
)
#: Content-Type of each DashScope route's JSON answers, as recorded (fact sheet §4: the submit
#: and upload-policy answers say `application/json`, the task routes
#: `application/json;charset=UTF-8`). Object storage's routes are not listed: they are not
#: DashScope answers.
CONTENT_TYPES = {
    CREATE_PATH: "application/json",
    f"{API}/tasks/{{task_id}}": "application/json;charset=UTF-8",
    f"{API}/tasks": "application/json;charset=UTF-8",
    f"{API}/tasks/{{task_id}}/cancel": "application/json;charset=UTF-8",
    f"{API}/uploads": "application/json",
}
#: The operationId in openapi.yaml of each API route, by path.
OPERATION_IDS = {
    f"{API}/tasks/{{task_id}}": "get_task",
    CREATE_PATH: "create_task",
    f"{API}{IMAGE_GENERATION}": "create_generation_task",
    f"{API}{MULTIMODAL_GENERATION}": "generate",
    f"{API}/tasks": "list_tasks",
    f"{API}/tasks/{{task_id}}/cancel": "cancel_task",
    "/results/{key:[\\s\\S]+}": "download_result",
    f"{API}/uploads": "get_upload_policy",
    storage.UPLOAD_PATH: "upload_file",
}
#: Large enough for a 10 MB reference image in a form; JSON bodies have their own 1 MB limit.
CLIENT_MAX_SIZE = 11 * 1024 * 1024


# The request schemas are compiled once per process, on import: every server started in the
# process (a test session starts many) then begins serving without that cost.
for _schema in (
    clock_limits.ADVANCE_SCHEMA,
    clock_limits.LIMITS_SCHEMA,
    scenarios.SCENARIO_SCHEMA,
    scenarios.RULE_SCHEMA,
):
    schemas.request_schema(_schema)
for _spec in built_in():
    model_rules.rules(_spec)


def create_app(
    backend: Backend,
    *,
    public_url: str = "",
    control_token: str = "",
    validate_responses: bool = False,
    header_scenarios: bool = True,
) -> web.Application:
    """The fake service as an aiohttp application around `backend`."""
    middlewares = [conformance.conformance_middleware] if validate_responses else []
    app = web.Application(middlewares=middlewares, client_max_size=CLIENT_MAX_SIZE)
    if validate_responses:
        conformance.install(app)
    envelopes.install(app)
    app[BACKEND] = backend
    app[PUBLIC_URL] = public_url.rstrip("/")
    app[CONTROL_TOKEN] = control_token
    app[WAITERS] = set()
    app[STOPPING] = asyncio.Event()
    app[HEADER_SCENARIOS] = header_scenarios
    app.on_shutdown.append(_let_go_of_waiters)
    bodies = TaskBodies(backend.objects)
    for method, path, handler, operation in ROUTES:
        answer = api_route(operation, handler, backend, bodies, CONTENT_TYPES.get(path))
        operation_id = OPERATION_IDS[path]
        if not path.startswith(API) and method == "GET":
            # Object storage answers HEAD as well (judged on its own signature).
            app.router.add_get(path, answer, name=operation_id, allow_head=True)
        elif not path.startswith(API):
            app.router.add_route(method, path, answer, name=operation_id)
        elif "{" in path:
            # One pattern with an optional slash: each dynamic route costs a regex per start.
            app.router.add_route(method, path + "{slash:/?}", answer, name=operation_id)
        else:
            # Fixed paths are looked up exactly, so the slashed form is a route of its own.
            app.router.add_route(method, path, answer, name=operation_id)
            app.router.add_route(method, path + "/", answer, name=f"{operation_id}_slash")
    app.router.add_route(
        "*", f"{dispatch.PREFIX}/{{path:[\\s\\S]*}}", plain_route(dispatch.dispatch)
    )
    # Anything else: a 404 or 405 envelope rather than aiohttp's plain-text page.
    app.router.add_route("*", "/{path:[\\s\\S]*}", plain_route(unrouted))
    return app


async def _let_go_of_waiters(app: web.Application) -> None:
    """Answers held back on purpose must not keep the server from stopping."""
    app[STOPPING].set()
    waiting: set[asyncio.Future[None]] = app[WAITERS]
    release_waiters(list(waiting))


# One throwaway application is built at import, so the once-per-process costs of the first
# one (compiling the route patterns, aiohttp's own lazy set-up) are paid with the import and
# not by the first server a test session starts.
create_app(Backend())
