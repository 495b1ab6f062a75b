"""GET /api/v1/tasks: the flat listing, its window, filters and pages."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mockscope import BackendConfig, ManualClock, MockServer
from tests.support import (
    CREATE_PATH,
    READ_HEADERS,
    SUBMIT_HEADERS,
    assert_schema_conformance,
    assert_service_voice,
    submit,
)

HOUR = 3600


def _list(api: httpx.Client, suffix: str = "", **params: object) -> httpx.Response:
    return api.get("/api/v1/tasks" + suffix, params=params, headers=READ_HEADERS)  # type: ignore[arg-type]


def _ids(body: dict[str, Any]) -> list[str]:
    return [item["task_id"] for item in body["data"]]


def test_the_listing_is_flat_newest_first_with_epoch_ms_times(
    api: httpx.Client, server: MockServer
) -> None:
    older = submit(api, n=1)
    server.clock.advance(HOUR)
    newer = submit(api, n=1)
    body = _list(api).json()
    assert set(body) == {"total", "data", "total_page", "page_no", "page_size", "request_id"}
    assert (body["total"], body["total_page"], body["page_no"], body["page_size"]) == (2, 1, 1, 10)
    assert _ids(body) == [newer, older]
    finished, pending = body["data"][1], body["data"][0]
    assert finished["status"] == "SUCCEEDED"
    assert finished["end_time"] > finished["start_time"] > finished["gmt_create"]
    assert pending["status"] == "PENDING"
    assert "end_time" not in pending
    assert "start_time" not in pending
    assert pending["model_name"] == "wanx-v1"
    assert pending["region"] == "cn-beijing"
    assert pending["user_api_unique_key"] == "apikey:v1:aigc:text2image:image-synthesis:wanx-v1"
    assert "sk-test" not in str(body), "keys are shown only by id"


def test_the_sdk_query_with_every_filter_is_understood(api: httpx.Client) -> None:
    task_id = submit(api, n=1)
    listed = _list(api).json()["data"][0]
    response = _list(
        api,
        start_time="20240301000000",
        end_time="20240302000000",
        model_name="wanx-v1",
        api_key_id=listed["api_key_id"],
        region="cn-beijing",
        status="PENDING",
        page_no=1,
        page_size=5,
    )
    assert response.status_code == 200
    assert _ids(response.json()) == [task_id]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "SUCCEEDED"}, ["done"]),
        ({"status": "PENDING"}, ["queued"]),
        ({"status": "FAILED"}, []),
        ({"model_name": "wanx-v2"}, []),
        ({"region": "us-east-1"}, []),
        ({"api_key_id": "00000"}, []),
    ],
)
def test_filters(
    api: httpx.Client, server: MockServer, params: dict[str, str], expected: list[str]
) -> None:
    names = {"done": submit(api, n=1)}
    server.clock.advance(HOUR)
    names["queued"] = submit(api, n=1)
    assert _ids(_list(api, **params).json()) == [names[name] for name in expected]


def test_task_id_finds_one_task(api: httpx.Client) -> None:
    wanted, _ = submit(api, n=1), submit(api, n=1)
    assert _ids(_list(api, task_id=wanted).json()) == [wanted]
    assert _ids(_list(api, "/", task_id="nope").json()) == []


def test_pages(api: httpx.Client, server: MockServer) -> None:
    ids = []
    for _ in range(5):
        ids.append(submit(api, n=1))
        server.clock.advance(1)
    newest_first = ids[::-1]
    first = _list(api, page_size=2).json()
    assert (first["total"], first["total_page"]) == (5, 3)
    assert _ids(first) == newest_first[:2]
    assert _ids(_list(api, page_size=2, page_no=3).json()) == newest_first[4:]
    assert _ids(_list(api, page_size=2, page_no=4).json()) == []


def test_the_default_window_is_the_last_24_hours() -> None:
    # Tasks are kept 48 hours here, so the window, not expiry, decides what is listed.
    config = BackendConfig(retention_ms=48 * HOUR * 1000)
    with MockServer(clock=ManualClock(), config=config, validate_responses=True) as server:
        with httpx.Client(base_url=server.url) as api:
            old = submit(api, n=1)  # 2024-03-01 17:38:24 Beijing time
            server.clock.advance(20 * HOUR)
            recent = submit(api, n=1)  # 2024-03-02 13:38:24
            server.clock.advance(5 * HOUR)
            assert _ids(_list(api).json()) == [recent]
            # Given only a start, the window runs 24 hours from it.
            assert _ids(_list(api, start_time="20240301000000").json()) == [old]
            # Given only an end, the window runs the 24 hours before it.
            assert _ids(_list(api, end_time="20240302150000").json()) == [recent, old]
        assert_schema_conformance(server)


def test_expired_tasks_leave_the_list(api: httpx.Client, server: MockServer) -> None:
    task_id = submit(api, n=1)
    server.clock.advance(60)
    assert _ids(_list(api, start_time="20240301000000").json()) == [task_id]
    server.clock.advance(24 * HOUR)
    assert _list(api, start_time="20240301000000").json()["total"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"page_no": "0"},
        {"page_no": "abc"},
        {"page_size": "0"},
        {"page_size": "101"},
        {"page_size": "-3"},
        {"status": "DONE"},
        {"start_time": "2024-03-01"},
        {"start_time": "20241399000000"},
        {"end_time": "20240230250000"},
        {"start_time": "20240301000000", "end_time": "20240303000000"},
        {"start_time": "20240302000000", "end_time": "20240301000000"},
    ],
)
def test_bad_query_values_get_invalid_parameter(api: httpx.Client, params: dict[str, str]) -> None:
    response = _list(api, **params)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "InvalidParameter"
    assert_service_voice(response.json()["message"])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"page_no": "abc"}, "Parameter `page_no` must be an integer between 1 and 2147483647."),
        ({"page_size": "101"}, "Parameter `page_size` must be between 1 and 100."),
        ({"status": "DONE"}, "Parameter `status` must be one of PENDING, RUNNING, SUSPENDED, "),
        ({"start_time": "2024-03-01"}, "Parameter `start_time` must match the pattern"),
    ],
)
def test_query_messages_are_worded_as_the_body_messages_are(
    api: httpx.Client, params: dict[str, str], message: str
) -> None:
    """One wording for the API body and the list query: the parameter, then its rule."""
    response = _list(api, **params)
    assert response.json()["message"].startswith(message)
    body = {"model": "wanx-v1", "input": {"prompt": "p"}, "parameters": {"n": "x"}}
    answered = api.post(CREATE_PATH, json=body, headers=SUBMIT_HEADERS).json()["message"]
    assert answered == "Parameter `parameters.n` must be an integer between 1 and 4."


def test_a_page_number_past_32_bits_is_refused_not_a_crash(api: httpx.Client) -> None:
    response = _list(api, page_no=str(2**64))
    assert (response.status_code, response.json()["code"]) == (400, "InvalidParameter")
