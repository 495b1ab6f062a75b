"""The /_mockscope/ routes: one aiohttp route that dispatches to the control handlers.

One route rather than one per endpoint, because every route costs a little at every server
start, and a test session starts many servers; the control plane is never a hot path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from mockscope.domain import errors
from mockscope.http.control import clock_limits, describe, inspector, scenarios, views
from mockscope.http.keys import OPERATION_ID, PARAMS

PREFIX = clock_limits.PREFIX

# (method, path below /_mockscope/, handler, operationId)
ROUTES: tuple[tuple[str, str, Handler, str], ...] = (
    ("GET", "", inspector.get_page, "get_inspector"),
    ("GET", "ui", inspector.get_page, "get_inspector_ui"),
    ("GET", "ui/{asset}", inspector.get_asset, "get_inspector_asset"),
    ("GET", "openapi.json", describe.get_openapi, "get_openapi"),
    ("GET", "clock", clock_limits.get_clock, "get_clock"),
    ("POST", "clock/advance", clock_limits.advance_clock, "advance_clock"),
    ("POST", "reset", clock_limits.reset, "reset"),
    ("GET", "limits", clock_limits.get_limits, "get_limits"),
    ("POST", "limits", clock_limits.set_limits, "set_limits"),
    ("GET", "tasks", clock_limits.list_all_tasks, "list_all_tasks"),
    ("GET", "tasks/page", views.get_task_page, "get_task_page"),
    ("POST", "tasks/{task_id}/finish", scenarios.finish_task, "finish_task"),
    ("GET", "scenarios", scenarios.get_scenario, "get_scenario"),
    ("POST", "scenarios", scenarios.set_scenario, "set_scenario"),
    ("DELETE", "scenarios", scenarios.clear_scenario, "clear_scenario"),
    ("POST", "scenarios/rules", scenarios.add_rule, "add_rule"),
    ("DELETE", "scenarios/rules/{position}", scenarios.remove_rule, "remove_rule"),
    ("GET", "journal", scenarios.get_journal, "get_journal"),
    ("DELETE", "journal", scenarios.clear_journal, "clear_journal"),
    ("GET", "journal/checks", views.get_journal_checks, "get_journal_checks"),
)


@dataclass(frozen=True, slots=True)
class _Path:
    pattern: re.Pattern[str]
    methods: dict[str, tuple[Handler, str]]


def _compile() -> list[_Path]:
    paths: dict[str, _Path] = {}
    for method, template, handler, operation_id in ROUTES:
        if template not in paths:
            regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
            paths[template] = _Path(re.compile(regex + "/?"), {})
        paths[template].methods[method] = (handler, operation_id)
    return list(paths.values())


_PATHS = _compile()


async def dispatch(request: web.Request) -> web.StreamResponse:
    """Find the control handler for the path and method, or answer 404 / 405."""
    rest = request.match_info["path"]
    for path in _PATHS:
        found = path.pattern.fullmatch(rest)
        if found is None:
            continue
        if request.method not in path.methods:
            raise web.HTTPMethodNotAllowed(request.method, path.methods)
        handler, operation_id = path.methods[request.method]
        request[OPERATION_ID] = operation_id
        request[PARAMS] = found.groupdict()
        return await handler(request)
    raise errors.NotFound()
