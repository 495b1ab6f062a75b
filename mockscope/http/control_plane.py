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
from mockscope.http import control, control_scenarios
from mockscope.http.keys import OPERATION_ID, PARAMS

PREFIX = control.PREFIX

# (method, path below /_mockscope/, handler, operationId)
ROUTES: tuple[tuple[str, str, Handler, str], ...] = (
    ("GET", "clock", control.get_clock, "get_clock"),
    ("POST", "clock/advance", control.advance_clock, "advance_clock"),
    ("POST", "reset", control.reset, "reset"),
    ("GET", "limits", control.get_limits, "get_limits"),
    ("POST", "limits", control.set_limits, "set_limits"),
    ("GET", "tasks", control.list_all_tasks, "list_all_tasks"),
    ("POST", "tasks/{task_id}/finish", control_scenarios.finish_task, "finish_task"),
    ("GET", "scenarios", control_scenarios.get_scenario, "get_scenario"),
    ("POST", "scenarios", control_scenarios.set_scenario, "set_scenario"),
    ("DELETE", "scenarios", control_scenarios.clear_scenario, "clear_scenario"),
    ("GET", "journal", control_scenarios.get_journal, "get_journal"),
    ("DELETE", "journal", control_scenarios.clear_journal, "clear_journal"),
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
            raise errors.MethodNotAllowed()
        handler, operation_id = path.methods[request.method]
        request[OPERATION_ID] = operation_id
        request[PARAMS] = found.groupdict()
        return await handler(request)
    raise errors.NotFound()
