"""Account realism over HTTP: rate limits, one running task, isolation and shared accounts."""

from __future__ import annotations

import httpx
import pytest

from mockscope import AccountSpec, Limits, ManualClock, MockServer
from tests.support import (
    CREATE_PATH,
    READ_HEADERS,
    SUBMIT_HEADERS,
    assert_schema_conformance,
    beijing,
    headers_for,
    read_task,
    submit,
    validated_server,
)

QUEUE_MS, RUN_MS_N1 = 14, 25_500 + 1_300
BODY = {"model": "wanx-v1", "input": {"prompt": "a cat"}, "parameters": {"n": 1}}


def test_the_third_submission_inside_one_second_is_throttled(
    api: httpx.Client, server: MockServer
) -> None:
    assert api.post(CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS).status_code == 200
    server.clock.advance(0.5)
    assert api.post(CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS).status_code == 200
    server.clock.advance(0.2)
    throttled = api.post(CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS)
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "Throttling.RateQuota"
    assert throttled.json()["message"] == "Requests rate limit exceeded, please try again later."
    # No recording shows the live service sending Retry-After, so by default neither does the
    # fake: a client must not come to rely on it.
    assert "Retry-After" not in throttled.headers
    assert len(server.tasks()) == 2, "a throttled request creates nothing"
    server.clock.advance(0.3)
    assert api.post(CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS).status_code == 200


def test_retry_after_is_sent_when_asked_for() -> None:
    clock = ManualClock()
    with (
        validated_server(clock=clock, limits=Limits(retry_after=True)) as server,
        httpx.Client(base_url=server.url) as api,
    ):
        for _ in range(2):
            assert api.post(CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS).status_code == 200
        clock.advance(0.7)
        throttled = api.post(CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS)
        assert throttled.status_code == 429
        assert throttled.headers["Retry-After"] == "1"
        clock.advance(int(throttled.headers["Retry-After"]))
        assert api.post(CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS).status_code == 200
        limits = api.get("/_mockscope/limits").json()
        assert limits["retry_after"] is True
        api.post("/_mockscope/limits", json={"retry_after": False})
        for _ in range(2):
            api.post(CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS)
        assert "Retry-After" not in api.post(CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS).headers


def test_the_window_slides_rather_than_resetting_each_second(
    api: httpx.Client, server: MockServer
) -> None:
    server.clock.advance(0.9)
    for _ in range(2):
        assert api.post(CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS).status_code == 200
    server.clock.advance(0.2)  # a new calendar second, but the same sliding second
    assert api.post(CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS).status_code == 429


def test_other_accounts_have_their_own_budget(api: httpx.Client) -> None:
    for key in ("sk-a", "sk-a", "sk-b", "sk-b"):
        assert api.post(CREATE_PATH, json=BODY, headers=headers_for(key)).status_code == 200
    assert api.post(CREATE_PATH, json=BODY, headers=headers_for("sk-a")).status_code == 429


@pytest.mark.parametrize("operation", ["get", "list", "cancel"])
def test_reads_lists_and_cancels_are_limited_to_20_per_second(
    api: httpx.Client, operation: str
) -> None:
    requests = {
        "get": lambda: api.get("/api/v1/tasks/x", headers=READ_HEADERS),
        "list": lambda: api.get("/api/v1/tasks", headers=READ_HEADERS),
        "cancel": lambda: api.post("/api/v1/tasks/x/cancel", headers=READ_HEADERS),
    }
    statuses = [requests[operation]().status_code for _ in range(21)]
    assert 429 not in statuses[:20]
    assert statuses[20] == 429


def test_tasks_submitted_at_once_run_strictly_one_after_another(
    api: httpx.Client, server: MockServer
) -> None:
    ids = []
    for _ in range(4):
        ids.append(submit(api, n=1))
        server.clock.advance(0.5)
    start = ManualClock().now_ms()
    ends = []
    server.clock.advance(4 * (RUN_MS_N1 + QUEUE_MS) / 1000)
    for k, task_id in enumerate(ids):
        output = read_task(api, task_id)
        assert output["submit_time"] == beijing(start + 500 * k)
        scheduled = start + QUEUE_MS + k * RUN_MS_N1
        assert output["scheduled_time"] == beijing(scheduled)
        assert output["end_time"] == beijing(scheduled + RUN_MS_N1)
        ends.append(output["end_time"])
    assert ends == sorted(ends)


def test_only_one_task_runs_at_any_moment(api: httpx.Client, server: MockServer) -> None:
    ids = [submit(api, n=1), submit(api, n=1)]
    server.clock.advance(1)
    ids.append(submit(api, n=1))
    for _ in range(100):
        statuses = [read_task(api, task_id)["task_status"] for task_id in ids]
        assert statuses.count("RUNNING") <= 1
        server.clock.advance(1)
    assert statuses == ["SUCCEEDED"] * 3


def test_foreign_keys_see_unknown_and_cannot_cancel(api: httpx.Client) -> None:
    task_id = submit(api, n=1)
    other = {"Authorization": "Bearer sk-intruder"}
    got = api.get(f"/api/v1/tasks/{task_id}", headers=other).json()
    assert got["output"] == {"task_id": task_id, "task_status": "UNKNOWN"}
    cancel = api.post(f"/api/v1/tasks/{task_id}/cancel", headers=other)
    assert (cancel.status_code, cancel.json()["code"]) == (400, "UnsupportedOperation")
    assert api.get("/api/v1/tasks", headers=other).json()["total"] == 0
    assert read_task(api, task_id)["task_status"] == "PENDING"


def test_keys_and_workspaces_of_one_account_share_tasks_and_limits() -> None:
    team = AccountSpec("team", api_keys=("sk-1", "sk-2"), workspaces=("ws-team",))
    with MockServer(clock=ManualClock(), accounts=[team], validate_responses=True) as server:
        with httpx.Client(base_url=server.url) as api:
            first = api.post(CREATE_PATH, json=BODY, headers=headers_for("sk-1")).json()
            task_id = first["output"]["task_id"]
            seen = api.get(f"/api/v1/tasks/{task_id}", headers={"Authorization": "Bearer sk-2"})
            assert seen.json()["output"]["task_status"] == "PENDING"
            via_ws = headers_for("sk-solo", **{"X-DashScope-WorkSpace": "ws-team"})
            assert api.post(CREATE_PATH, json=BODY, headers=via_ws).status_code == 200
            third = api.post(CREATE_PATH, json=BODY, headers=headers_for("sk-2"))
            assert third.status_code == 429, "the account's 2 per second are used up"
            solo = api.get(f"/api/v1/tasks/{task_id}", headers={"Authorization": "Bearer sk-solo"})
            assert solo.json()["output"]["task_status"] == "UNKNOWN"
        assert_schema_conformance(server)


def test_a_key_cannot_act_in_another_accounts_workspace() -> None:
    accounts = [AccountSpec("a", api_keys=("sk-a",)), AccountSpec("b", workspaces=("ws-b",))]
    with MockServer(clock=ManualClock(), accounts=accounts, validate_responses=True) as server:
        response = httpx.post(
            server.url + CREATE_PATH,
            json=BODY,
            headers=headers_for("sk-a", **{"X-DashScope-WorkSpace": "ws-b"}),
        )
        assert (response.status_code, response.json()["code"]) == (403, "AccessDenied")
        assert_schema_conformance(server)


def test_limits_can_be_switched_off_per_server() -> None:
    with (
        validated_server(clock=ManualClock(), limits=Limits.unlimited()) as server,
        httpx.Client(base_url=server.url) as api,
    ):
        statuses = {
            api.post(CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS).status_code for _ in range(30)
        }
    assert statuses == {200}
