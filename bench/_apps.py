"""The two servers under test, started the same way: mockscope's fake and a bare aiohttp app.

The baseline answers the same routes with bodies of the same shape and about the same size as
the fake's, but does no authentication, validation, signing or bookkeeping: it is the floor
that aiohttp itself sets on this machine. Both answer `POST /_mockscope/clock/advance`, after
which their tasks read SUCCEEDED with one result URL, and both serve that URL's image.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from aiohttp import web

Kind = Literal["baseline", "fake"]
KINDS: tuple[Kind, ...] = ("baseline", "fake")

HOST = "127.0.0.1"
CREATE_PATH = "/api/v1/services/aigc/text2image/image-synthesis"
TASK_PATH = "/api/v1/tasks/{task_id}"
ADVANCE_PATH = "/_mockscope/clock/advance"

AUTH_HEADERS = {"Authorization": "Bearer sk-bench"}
CREATE_HEADERS = {
    **AUTH_HEADERS,
    "X-DashScope-Async": "enable",
    "Content-Type": "application/json",
}
CREATE_BODY = orjson.dumps(
    {"model": "wanx-v1", "parameters": {"size": "1024*1024", "n": 1}, "input": {"prompt": "a cat"}}
)
# A well-formed id nobody created: the fake answers it as an UNKNOWN task, still with a 200.
PROBE_TASK_ID = "00000000-0000-4000-8000-000000000000"

# Request ids and times as the fake writes them, so both servers send bodies of the same size.
_REQUEST_ID = "7ed4d57b-1e2f-eb89-414c-343c1027c4d1"
_TASK_ID = "cd613e30-d8f1-4adf-91b7-584a2265b1f5"
# A result URL shaped like a live signed one, so the SUCCEEDED bodies are of the same size.
_RESULT_PATH = (
    "/results/1d/d4/20240301/cd613e30-d8f1-4adf-91b7-584a2265b1f5/"
    "4c48fa53-0b9e-4d27-9a51-6f2c0e3b7d18-1.png"
    "?Expires=1709372335&OSSAccessKeyId=LTAI5tMockscopeBenchKey0&Signature=n3dNX%2FaD3%2BWAly0QgzsURfiIk00%3D"
)
#: The baseline's image: about the size of the fake's 1024*1024 PNG (compress level 1).
_IMAGE = bytes(range(256)) * 256


def task_path(task_id: str) -> str:
    return TASK_PATH.format(task_id=task_id)


@dataclass(frozen=True)
class Running:
    """A server listening on HOST:port in the current event loop."""

    port: int
    stop: Callable[[], Awaitable[None]]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


async def start(kind: Kind, port: int = 0) -> Running:
    """Construct and start one server; port 0 picks a free port."""
    if kind == "fake":
        return await _start_fake(port)
    return await _start_baseline(port)


async def _start_fake(port: int) -> Running:
    # Imported here rather than at the top so that a baseline-only process never loads
    # mockscope, and so the first-start probe can time mockscope's import on its own.
    from mockscope import BackendConfig, ManualClock, MockServer
    from mockscope.domain.ratelimit import Limits

    # The fake enforces DashScope's per-account rate limits by default (2 creates/s, 20 gets/s),
    # and under a manual clock the window never slides: all but the first few requests would be
    # cheap 429s. Switch them off to measure the path real tests take.
    config = BackendConfig(limits=Limits.unlimited())
    # A manual clock keeps every task PENDING, so GET always takes the same code path.
    server = MockServer(port=port, clock=ManualClock(), seed=1, config=config)
    await server.start_async()
    return Running(server.port, server.stop_async)


# -- the baseline ----------------------------------------------------------------------------


def _pending_task(task_id: str) -> dict[str, Any]:
    return {
        "request_id": _REQUEST_ID,
        "output": {
            "task_id": task_id,
            "task_status": "PENDING",
            "submit_time": "2024-03-01 17:38:24.000",
            "task_metrics": {"TOTAL": 1, "SUCCEEDED": 0, "FAILED": 0},
        },
    }


_CREATED = {"output": {"task_status": "PENDING", "task_id": _TASK_ID}, "request_id": _REQUEST_ID}


def _json(body: object) -> web.Response:
    # Same content type and charset as the fake, so the response headers match byte for byte.
    return web.Response(body=orjson.dumps(body), content_type="application/json", charset="utf-8")


def _succeeded_task(task_id: str, base_url: str) -> dict[str, Any]:
    return {
        "request_id": _REQUEST_ID,
        "output": {
            "task_id": task_id,
            "task_status": "SUCCEEDED",
            "submit_time": "2024-03-01 17:38:24.000",
            "scheduled_time": "2024-03-01 17:38:24.014",
            "end_time": "2024-03-01 17:38:51.014",
            "results": [{"url": base_url + _RESULT_PATH}],
            "task_metrics": {"TOTAL": 1, "SUCCEEDED": 1, "FAILED": 0},
        },
        "usage": {"image_count": 1},
    }


_DONE = web.AppKey("done", list[bool])


async def _baseline_get_task(request: web.Request) -> web.Response:
    task_id = request.match_info["task_id"]
    if request.app[_DONE]:
        return _json(_succeeded_task(task_id, f"{request.scheme}://{request.host}"))
    return _json(_pending_task(task_id))


async def _baseline_advance(request: web.Request) -> web.Response:
    request.app[_DONE].append(True)
    return _json({"ok": True})


async def _baseline_download(request: web.Request) -> web.Response:
    return web.Response(body=_IMAGE, content_type="image/png")


async def _baseline_create_task(request: web.Request) -> web.Response:
    # Read and decode the body like the fake must, but validate nothing.
    orjson.loads(await request.read())
    return _json(_CREATED)


def baseline_app() -> web.Application:
    """A bare aiohttp app with the fake's hot routes and no middlewares."""
    app = web.Application()
    app[_DONE] = []
    app.router.add_post(CREATE_PATH, _baseline_create_task)
    app.router.add_get(TASK_PATH, _baseline_get_task)
    app.router.add_post(ADVANCE_PATH, _baseline_advance)
    app.router.add_get("/results/{path:.*}", _baseline_download)
    return app


async def _start_baseline(port: int) -> Running:
    # The same runner settings MockServer uses: no signal handling, no access log.
    runner = web.AppRunner(baseline_app(), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port, reuse_address=True)
    await site.start()
    return Running(runner.addresses[0][1], runner.cleanup)
