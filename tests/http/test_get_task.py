"""GET /api/v1/tasks/{task_id}: the lifecycle on a manual clock, read over HTTP."""

from __future__ import annotations

import httpx

from mockscope import MockServer
from tests.support import READ_HEADERS, read_task, result_url_for, result_url_parts, submit

QUEUE_MS, RUN_MS_N2 = 14, 25_500 + 1_300 * 2


def test_pending_running_succeeded_exactly_at_the_planned_times(
    api: httpx.Client, server: MockServer
) -> None:
    task_id = submit(api, n=2)
    pending = read_task(api, task_id)
    assert pending["task_status"] == "PENDING"
    assert pending["submit_time"] == "2024-03-01 17:38:24.000"
    assert "scheduled_time" not in pending
    assert pending["task_metrics"] == {"TOTAL": 2, "SUCCEEDED": 0, "FAILED": 0}

    server.clock.advance((QUEUE_MS - 1) / 1000)
    assert read_task(api, task_id)["task_status"] == "PENDING"
    server.clock.advance(0.001)
    running = read_task(api, task_id)
    assert running["task_status"] == "RUNNING"
    assert running["scheduled_time"] == "2024-03-01 17:38:24.014"
    assert "end_time" not in running

    server.clock.advance((RUN_MS_N2 - 1) / 1000)
    assert read_task(api, task_id)["task_status"] == "RUNNING"
    server.clock.advance(0.001)
    done = read_task(api, task_id)
    assert done["task_status"] == "SUCCEEDED"
    assert done["end_time"] == "2024-03-01 17:38:52.114"
    assert done["task_metrics"] == {"TOTAL": 2, "SUCCEEDED": 2, "FAILED": 0}
    assert len(done["results"]) == 2  # type: ignore[arg-type]


def test_succeeded_body_has_usage_counting_images_and_request_id_first(
    api: httpx.Client, server: MockServer
) -> None:
    task_id = submit(api, n=3)
    server.clock.advance(3600)
    body = api.get(f"/api/v1/tasks/{task_id}", headers=READ_HEADERS).json()
    assert list(body) == ["request_id", "output", "usage"]
    assert body["usage"] == {"image_count": 3}
    urls = [item["url"] for item in body["output"]["results"]]
    assert urls == [result_url_for(server, task_id, k) for k in range(3)]
    assert [result_url_parts(url)["number"] for url in urls] == ["1", "2", "3"]


def test_n_defaults_to_four(api: httpx.Client, server: MockServer) -> None:
    task_id = submit(api)
    server.clock.advance(3600)
    assert read_task(api, task_id)["task_metrics"] == {"TOTAL": 4, "SUCCEEDED": 4, "FAILED": 0}


def test_unknown_ids_read_as_unknown_with_200(api: httpx.Client) -> None:
    response = api.get("/api/v1/tasks/1111", headers=READ_HEADERS)
    assert response.status_code == 200
    assert response.json()["output"] == {"task_id": "1111", "task_status": "UNKNOWN"}


def test_another_accounts_task_reads_as_unknown(api: httpx.Client) -> None:
    task_id = submit(api)
    response = api.get(f"/api/v1/tasks/{task_id}", headers={"Authorization": "Bearer sk-other"})
    assert response.json()["output"] == {"task_id": task_id, "task_status": "UNKNOWN"}


def test_a_finished_task_is_gone_24_hours_after_it_ended(
    api: httpx.Client, server: MockServer
) -> None:
    task_id = submit(api, n=1)
    server.clock.advance((QUEUE_MS + 25_500 + 1_300) / 1000)
    assert read_task(api, task_id)["task_status"] == "SUCCEEDED"
    server.clock.advance(24 * 3600 - 0.001)
    assert read_task(api, task_id)["task_status"] == "SUCCEEDED"
    server.clock.advance(0.001)
    assert read_task(api, task_id)["task_status"] == "UNKNOWN"


def test_trailing_slash_and_lowercase_header_names(api: httpx.Client) -> None:
    task_id = submit(api)
    response = api.get(f"/api/v1/tasks/{task_id}/", headers={"authorization": "Bearer sk-test"})
    assert response.json()["output"]["task_status"] == "PENDING"


def test_reading_needs_a_key(api: httpx.Client) -> None:
    response = api.get("/api/v1/tasks/whatever")
    assert response.status_code == 401
    assert response.json()["code"] == "InvalidApiKey"
