"""POST /api/v1/tasks/{task_id}/cancel: only PENDING tasks, and the queue moves up."""

from __future__ import annotations

import httpx
import pytest

from mockscope import MockServer
from tests.support import READ_HEADERS, beijing, read_task, submit

RUN_MS_N1 = 25_500 + 1_300


def _cancel(api: httpx.Client, task_id: str, suffix: str = "", **kwargs: object) -> httpx.Response:
    return api.post(f"/api/v1/tasks/{task_id}/cancel{suffix}", headers=READ_HEADERS, **kwargs)  # type: ignore[arg-type]


def test_a_pending_task_is_canceled(api: httpx.Client, server: MockServer) -> None:
    task_id = submit(api, n=1)
    response = _cancel(api, task_id)
    assert response.status_code == 200
    assert list(response.json()) == ["request_id"]
    output = read_task(api, task_id)
    assert output["task_status"] == "CANCELED"
    assert output["end_time"] == beijing(server.clock.now_ms())
    server.clock.advance(3600)
    assert read_task(api, task_id)["task_status"] == "CANCELED"


def test_the_aiohttp_sdk_form_with_slash_and_body_is_accepted(api: httpx.Client) -> None:
    task_id = submit(api, n=1)
    body = b'{"model": "", "parameters": {}, "input": ""}'
    headers = {**READ_HEADERS, "Content-Type": "application/json; charset=utf-8"}
    response = api.post(f"/api/v1/tasks/{task_id}/cancel/", content=body, headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize("advance_s", [1, 3600])
def test_running_and_finished_tasks_cannot_be_canceled(
    api: httpx.Client, server: MockServer, advance_s: int
) -> None:
    task_id = submit(api, n=1)
    server.clock.advance(advance_s)
    before = read_task(api, task_id)
    response = _cancel(api, task_id)
    assert response.status_code == 400
    assert response.json()["code"] == "UnsupportedOperation"
    assert response.json()["message"] == (
        "Failed to cancel the task, please confirm if the task is in PENDING status."
    )
    assert read_task(api, task_id) == before


def test_canceling_twice_or_an_unknown_task_is_unsupported(api: httpx.Client) -> None:
    task_id = submit(api, n=1)
    assert _cancel(api, task_id).status_code == 200
    assert _cancel(api, task_id).status_code == 400
    assert _cancel(api, "no-such-task").status_code == 400


def test_canceling_a_queued_task_shifts_the_ones_behind_it(
    api: httpx.Client, server: MockServer
) -> None:
    first, second = submit(api, n=1), submit(api, n=1)
    server.clock.advance(1)
    third = submit(api, n=1)
    planned_third = read_task(api, third)
    server.clock.advance(1)
    assert _cancel(api, second).status_code == 200
    server.clock.advance(3600)
    first_out, third_out = read_task(api, first), read_task(api, third)
    assert third_out["scheduled_time"] == first_out["end_time"]
    assert planned_third["task_status"] == "PENDING"
    assert read_task(api, second)["task_status"] == "CANCELED"


def test_cancel_needs_a_key(api: httpx.Client) -> None:
    response = api.post("/api/v1/tasks/x/cancel")
    assert (response.status_code, response.json()["code"]) == (401, "InvalidApiKey")
