"""Deliberately broken fakes: each tampers with one kind of answer, as a regression would.

The contract suite builds its fake target from one of these when MOCKSCOPE_CONTRACT_FAKE names
it ("tests.contract_suite.broken:wrong_status"). They answer without the server-side schema
check, so only the suite's own checks can notice.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from contract_tests.support import FAKE_KEY
from mockscope import ManualClock, MockServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Tamper = Callable[[web.Request, web.Response], web.Response | None]


def _with(tamper: Tamper) -> Callable[[ManualClock], MockServer]:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if isinstance(response, web.Response):
            return tamper(request, response) or response
        return response

    def factory(clock: ManualClock) -> MockServer:
        server = MockServer(clock=clock, api_keys={FAKE_KEY}, seed=11)
        server.app.middlewares.append(middleware)
        return server

    return factory


def _json(response: web.Response) -> object:
    assert isinstance(response.body, bytes)
    return json.loads(response.body)


def _answer(status: int, document: object, content_type: str = "application/json") -> web.Response:
    return web.Response(
        status=status, body=json.dumps(document).encode(), content_type=content_type
    )


def _is_task_read(request: web.Request) -> bool:
    return request.method == "GET" and request.path.startswith("/api/v1/tasks/")


def _wrong_status(request: web.Request, response: web.Response) -> web.Response | None:
    """A task read answers 202 instead of 200 (with the same body)."""
    if _is_task_read(request) and response.status == 200:
        return _answer(202, _json(response))
    return None


def _dropped_field(request: web.Request, response: web.Response) -> web.Response | None:
    """A task read loses the required `output.task_status`."""
    if _is_task_read(request) and response.status == 200:
        document = _json(response)
        assert isinstance(document, dict)
        document["output"].pop("task_status", None)
        return _answer(200, document)
    return None


def _server_error(request: web.Request, response: web.Response) -> web.Response | None:
    """Listing fails with a 500 (in a proper envelope)."""
    if request.method == "GET" and request.path.rstrip("/") == "/api/v1/tasks":
        error = {"code": "InternalError", "message": "boom", "request_id": "r"}
        return _answer(500, error)
    return None


def _accepts_invalid(request: web.Request, response: web.Response) -> web.Response | None:
    """A submission with invalid parameters is accepted instead of refused."""
    if request.path.endswith("/image-synthesis") and response.status == 400:
        document = _json(response)
        if isinstance(document, dict) and document.get("code") == "InvalidParameter":
            output = {"task_status": "PENDING", "task_id": "6f2a9a8e-0000-4000-8000-000000000001"}
            return _answer(200, {"output": output, "request_id": "r"})
    return None


def _wrong_content_type(request: web.Request, response: web.Response) -> web.Response | None:
    """The upload certificate comes back as text/plain."""
    if request.path.startswith("/api/v1/uploads") and response.status == 200:
        return _answer(200, _json(response), content_type="text/plain")
    return None


def _wrong_error_status(request: web.Request, response: web.Response) -> web.Response | None:
    """A refused submission answers 422 instead of 400 (a valid envelope all the same)."""
    if request.path.endswith("/image-synthesis") and response.status == 400:
        return _answer(422, _json(response))
    return None


def _miscounted_usage(request: web.Request, response: web.Response) -> web.Response | None:
    """A SUCCEEDED task bills one image more than it made (still schema-valid)."""
    if _is_task_read(request) and response.status == 200:
        document = _json(response)
        if isinstance(document, dict) and "usage" in document:
            document["usage"]["image_count"] += 1
            return _answer(200, document)
    return None


wrong_status = _with(_wrong_status)
dropped_field = _with(_dropped_field)
server_error = _with(_server_error)
accepts_invalid = _with(_accepts_invalid)
wrong_content_type = _with(_wrong_content_type)
wrong_error_status = _with(_wrong_error_status)
miscounted_usage = _with(_miscounted_usage)
