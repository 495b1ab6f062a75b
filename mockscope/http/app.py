"""create_app(backend): the route table, with an optional trailing slash on every API route."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from mockscope import spec
from mockscope.backend import Backend
from mockscope.http import conformance, control, files, handlers, parse
from mockscope.http.errors import enveloped, unrouted
from mockscope.http.keys import BACKEND, CONTROL_TOKEN, PUBLIC_URL

API = "/api/v1"

CREATE_PATH = f"{API}/services/aigc/text2image/image-synthesis"

# (method, path, handler, operationId); every API path also answers with a trailing slash.
# aiohttp tries the routes under one path prefix in the order they were added, so the route
# polled most (GET a task) goes before the others under /api/v1/tasks.
ROUTES: tuple[tuple[str, str, Handler, str], ...] = (
    ("GET", f"{API}/tasks/{{task_id}}", handlers.get_task, "get_task"),
    ("POST", CREATE_PATH, handlers.create_task, "create_task"),
    ("GET", f"{API}/tasks", handlers.list_tasks, "list_tasks"),
    ("POST", f"{API}/tasks/{{task_id}}/cancel", handlers.cancel_task, "cancel_task"),
    ("GET", "/results/{task_id}/{index:\\d{1,3}}.png", files.download_result, "download_result"),
    ("GET", f"{control.PREFIX}/clock", control.get_clock, "get_clock"),
    ("POST", f"{control.PREFIX}/clock/advance", control.advance_clock, "advance_clock"),
    ("POST", f"{control.PREFIX}/reset", control.reset, "reset"),
    ("GET", f"{control.PREFIX}/limits", control.get_limits, "get_limits"),
    ("POST", f"{control.PREFIX}/limits", control.set_limits, "set_limits"),
    ("GET", f"{control.PREFIX}/tasks", control.list_all_tasks, "list_all_tasks"),
)


# The request schemas are compiled once per process, on import: every server started in the
# process (a test session starts many) then begins serving without that cost.
for _schema in (parse.CREATE_REQUEST_SCHEMA, control.ADVANCE_SCHEMA, control.LIMITS_SCHEMA):
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
    for method, path, handler, operation_id in ROUTES:
        answer = enveloped(handler)
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
    app.router.add_route("*", "/{path:.*}", enveloped(unrouted))
    return app


# One throwaway application is built at import, so the once-per-process costs of the first
# one (compiling the route patterns, aiohttp's own lazy set-up) are paid with the import and
# not by the first server a test session starts.
create_app(Backend())
