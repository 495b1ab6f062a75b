"""Response headers as recorded from the service, on every DashScope route."""

from __future__ import annotations

import threading

import httpx
import pytest

from mockscope import MockServer
from mockscope.domain.ids import REQUEST_ID_PATTERN
from tests.support import CREATE_PATH, READ_HEADERS, SUBMIT_HEADERS, held_answers, submit

BODY = {"model": "wanx-v1", "input": {"prompt": "a cat"}, "parameters": {"n": 1}}
TASK_ROUTES = "application/json;charset=UTF-8"


def _calls(api: httpx.Client, task_id: str) -> dict[str, httpx.Response]:
    return {
        "create": api.post(CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS),
        "create refused": api.post(CREATE_PATH, json={"model": "wanx-v1"}, headers=SUBMIT_HEADERS),
        "create unauthenticated": api.post(CREATE_PATH, json=BODY),
        "get": api.get(f"/api/v1/tasks/{task_id}", headers=READ_HEADERS),
        "get slashed": api.get(f"/api/v1/tasks/{task_id}/", headers=READ_HEADERS),
        "list": api.get("/api/v1/tasks", headers=READ_HEADERS),
        "list refused": api.get("/api/v1/tasks?page_no=x", headers=READ_HEADERS),
        "cancel refused": api.post("/api/v1/tasks/nope/cancel", headers=READ_HEADERS),
        "uploads": api.get(
            "/api/v1/uploads", params={"action": "getPolicy", "model": "m"}, headers=READ_HEADERS
        ),
    }


EXPECTED = {
    "create": "application/json",
    "create refused": "application/json",
    "create unauthenticated": "application/json",
    "get": TASK_ROUTES,
    "get slashed": TASK_ROUTES,
    "list": TASK_ROUTES,
    "list refused": TASK_ROUTES,
    "cancel refused": TASK_ROUTES,
    "uploads": "application/json",
}


def test_each_route_answers_with_its_recorded_content_type(
    api: httpx.Client, server: MockServer
) -> None:
    answers = _calls(api, submit(api, n=1))
    assert {name: answer.headers["Content-Type"] for name, answer in answers.items()} == EXPECTED


def test_every_api_answer_carries_the_gateways_timing_headers(
    api: httpx.Client, server: MockServer
) -> None:
    task_id = submit(api, n=1)
    now = server.clock.now_ms()
    for name, answer in _calls(api, task_id).items():
        arrived = int(answer.headers["req-arrive-time"])
        started = int(answer.headers["resp-start-time"])
        assert arrived == now, name
        assert int(answer.headers["req-cost-time"]) == started - arrived == 0, name


def test_the_cost_is_the_time_the_answer_took_on_the_fakes_clock(
    api: httpx.Client, server: MockServer
) -> None:
    delayed = {**SUBMIT_HEADERS, "X-Mockscope-Scenario": "delay; seconds=2"}
    answers: list[httpx.Response] = []
    sender = threading.Thread(
        target=lambda: answers.append(api.post(CREATE_PATH, json=BODY, headers=delayed))
    )
    sender.start()
    held_answers(server)  # the answer waits on the fake's clock
    server.clock.advance(2)
    sender.join(5)
    (answer,) = answers
    assert answer.status_code == 200
    assert answer.headers["req-cost-time"] == "2000"
    start, arrive = answer.headers["resp-start-time"], answer.headers["req-arrive-time"]
    assert int(start) - int(arrive) == 2000


@pytest.mark.parametrize("path", ["/results/x/y.png", "/_mockscope/clock"])
def test_object_storage_and_the_control_plane_are_not_dashscope_answers(
    api: httpx.Client, path: str
) -> None:
    answer = api.get(path)
    assert "req-cost-time" not in answer.headers


def test_every_request_id_has_the_recorded_shape(api: httpx.Client, server: MockServer) -> None:
    """`xxxxxxxx-xxxx-9xxx-[89ab]xxx-xxxxxxxxxxxx`, in bodies and in X-Request-ID alike."""
    for name, answer in _calls(api, submit(api, n=1)).items():
        body = answer.json()
        request_id = body.get("request_id")
        assert isinstance(request_id, str), name
        assert REQUEST_ID_PATTERN.match(request_id), (name, request_id)
        if answer.status_code >= 400:
            assert answer.headers["X-Request-ID"] == request_id, name
