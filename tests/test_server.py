"""MockServer without pytest machinery: own thread, inside a running loop, reset, stop."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import httpx
import pytest

from mockscope import ManualClock, MockServer, Timing
from tests.support import (
    CREATE_PATH,
    READ_HEADERS,
    SUBMIT_HEADERS,
    assert_schema_conformance,
    validated_server,
)

BODY = {"model": "wanx-v1", "input": {"prompt": "a cat"}, "parameters": {"n": 1}}


def test_a_thread_server_listens_on_a_free_port_and_stops() -> None:
    with MockServer(clock=ManualClock(), validate_responses=True) as server:
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.base_http_api_url == server.url + "/api/v1"
        response = httpx.post(server.url + CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS)
        assert response.status_code == 200
        assert_schema_conformance(server)
        port = server.port
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/_mockscope/clock")


def test_two_servers_are_independent() -> None:
    with (
        validated_server(clock=ManualClock()) as one,
        validated_server(clock=ManualClock()) as two,
    ):
        assert one.port != two.port
        httpx.post(one.url + CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS)
        assert len(one.tasks()) == 1
        assert two.tasks() == []


def test_reset_from_the_test_thread_forgets_everything() -> None:
    clock = ManualClock()
    with validated_server(clock=clock, seed=3) as server:
        first = httpx.post(server.url + CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS).json()
        clock.advance(10)
        server.reset()
        assert server.tasks() == []
        assert clock.now_ms() == ManualClock().now_ms()
        again = httpx.post(server.url + CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS).json()
        assert again["output"]["task_id"] == first["output"]["task_id"]


def test_a_server_inside_a_running_loop() -> None:
    async def scenario() -> dict[str, object]:
        server = MockServer(clock=ManualClock(), timing=Timing.instant(), validate_responses=True)
        async with server, aiohttp.ClientSession(server.url) as session:
            async with session.post(CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS) as sent:
                task_id = (await sent.json())["output"]["task_id"]
            server.reset()
            async with session.get(f"/api/v1/tasks/{task_id}", headers=READ_HEADERS) as got:
                body: dict[str, object] = await got.json()
        assert_schema_conformance(server)
        return body

    body = asyncio.run(scenario())
    assert body["output"] == {"task_id": body["output"]["task_id"], "task_status": "UNKNOWN"}  # type: ignore[index]


def test_instant_timing_finishes_tasks_at_their_first_read() -> None:
    with validated_server(clock=ManualClock(), timing=Timing.instant()) as server:
        sent = httpx.post(server.url + CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS).json()
        task_id = sent["output"]["task_id"]
        got = httpx.get(f"{server.url}/api/v1/tasks/{task_id}", headers=READ_HEADERS).json()
        assert got["output"]["task_status"] == "SUCCEEDED"


def test_a_busy_port_fails_to_start_cleanly() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = MockServer(port=port)
        with pytest.raises(OSError, match="address already in use"):
            server.start()
        with pytest.raises(RuntimeError, match="not running"):
            _ = server.url


def test_starting_twice_is_an_error() -> None:
    with MockServer() as server, pytest.raises(RuntimeError, match="already running"):
        server.start()
