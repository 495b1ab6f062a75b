"""create_app(backend): the route table, with an optional trailing slash on every API route."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from mockscope import spec
from mockscope.backend import Backend
from mockscope.http import conformance, control, files, handlers, parse
from mockscope.http.errors import error_middleware
from mockscope.http.keys import BACKEND, CONTROL_TOKEN, PUBLIC_URL

API = "/api/v1"

# (method, path, handler, operationId); every API path also answers with a trailing slash.
ROUTES: tuple[tuple[str, str, Handler, str], ...] = (
    (
        "POST",
        f"{API}/services/aigc/text2image/image-synthesis",
        handlers.create_task,
        "create_task",
    ),
    ("GET", f"{API}/tasks", handlers.list_tasks, "list_tasks"),
    ("GET", f"{API}/tasks/{{task_id}}", handlers.get_task, "get_task"),
    ("POST", f"{API}/tasks/{{task_id}}/cancel", handlers.cancel_task, "cancel_task"),
    ("GET", "/results/{task_id}/{index:\\d{1,3}}.png", files.download_result, "download_result"),
    ("GET", f"{control.PREFIX}/clock", control.get_clock, "get_clock"),
    ("POST", f"{control.PREFIX}/clock/advance", control.advance_clock, "advance_clock"),
    ("POST", f"{control.PREFIX}/reset", control.reset, "reset"),
    ("GET", f"{control.PREFIX}/limits", control.get_limits, "get_limits"),
    ("POST", f"{control.PREFIX}/limits", control.set_limits, "set_limits"),
    ("GET", f"{control.PREFIX}/tasks", control.list_all_tasks, "list_all_tasks"),
)


def create_app(
    backend: Backend,
    *,
    public_url: str = "",
    control_token: str = "",
    validate_responses: bool = False,
) -> web.Application:
    """The fake service as an aiohttp application around `backend`."""
    # Compile the request schemas now (once per process), not on the first request.
    spec.request_schema(parse.CREATE_REQUEST_SCHEMA)
    spec.request_schema(control.ADVANCE_SCHEMA)
    spec.request_schema(control.LIMITS_SCHEMA)
    middlewares = [error_middleware]
    if validate_responses:
        middlewares.insert(0, conformance.conformance_middleware)
    app = web.Application(middlewares=middlewares)
    if validate_responses:
        conformance.install(app)
    app[BACKEND] = backend
    app[PUBLIC_URL] = public_url.rstrip("/")
    app[CONTROL_TOKEN] = control_token
    for method, path, handler, operation_id in ROUTES:
        app.router.add_route(method, path, handler, name=operation_id)
        if path.startswith(API):
            app.router.add_route(method, path + "/", handler, name=f"{operation_id}_slash")
    return app
