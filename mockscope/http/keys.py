"""Typed keys for what the application object carries."""

from __future__ import annotations

import asyncio

from aiohttp import web

from mockscope.backend import Backend

BACKEND = web.AppKey("backend", Backend)
#: Base of the result URLs handed out; empty to derive it from each request's Host.
PUBLIC_URL = web.AppKey("public_url", str)
#: A token that opens the control plane to non-loopback callers; empty keeps it loopback-only.
CONTROL_TOKEN = web.AppKey("control_token", str)
#: Whether a request may declare its own outcome in X-Mockscope-Scenario (off on shared servers).
HEADER_SCENARIOS = web.AppKey("header_scenarios", bool)
#: Answers held back on purpose (delays, lost answers); let go when the server stops.
WAITERS = web.AppKey("waiters", set[asyncio.Future[None]])
#: Path parameters of the control route, e.g. the task id of .../tasks/{task_id}/finish.
PARAMS = web.RequestKey("control_params", dict[str, str])
#: The control operation a request was dispatched to (its operationId in openapi.yaml).
OPERATION_ID = web.RequestKey("control_operation", str)
