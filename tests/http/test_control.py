"""The /_mockscope/ control plane: clock, advance, reset, and who may use it."""

from __future__ import annotations

import httpx
import pytest
from aiohttp.test_utils import make_mocked_request

from mockscope import AccountSpec, ManualClock, MockServer
from mockscope.domain import errors
from mockscope.domain.clock import DEFAULT_MANUAL_START_MS
from mockscope.http.control import clock_limits
from tests.support import assert_service_voice, read_task, submit, validated_server


def test_clock_reports_manual_time(api: httpx.Client) -> None:
    body = api.get("/_mockscope/clock").json()
    assert body == {
        "now_ms": DEFAULT_MANUAL_START_MS,
        "now": "2024-03-01 17:38:24.000",
        "mode": "manual",
        "time_scale": 1.0,
    }


def test_advance_moves_tasks_along(api: httpx.Client) -> None:
    task_id = submit(api, n=1)
    response = api.post("/_mockscope/clock/advance", json={"seconds": 86_400})
    assert response.status_code == 200
    assert response.json()["now_ms"] == DEFAULT_MANUAL_START_MS + 86_400_000
    assert read_task(api, task_id)["task_status"] == "SUCCEEDED"


@pytest.mark.parametrize(
    "body", [b"{}", b'{"seconds": -1}', b'{"seconds": "1"}', b"nope", b'{"seconds": 1, "x": 2}']
)
def test_bad_advances_are_refused_and_change_nothing(
    api: httpx.Client, server: MockServer, body: bytes
) -> None:
    response = api.post("/_mockscope/clock/advance", content=body)
    assert response.status_code == 400
    assert response.json()["code"] in {"InvalidParameter", "BadRequest.IllegalInput"}
    assert_service_voice(response.json()["message"])
    assert server.clock.now_ms() == DEFAULT_MANUAL_START_MS


def test_reset_forgets_tasks_and_restarts_the_clock(api: httpx.Client, server: MockServer) -> None:
    task_id = submit(api, n=1)
    api.post("/_mockscope/clock/advance", json={"seconds": 5})
    assert api.post("/_mockscope/reset").json() == {"ok": True}
    assert read_task(api, task_id)["task_status"] == "UNKNOWN"
    assert server.clock.now_ms() == DEFAULT_MANUAL_START_MS
    assert submit(api, n=1) == task_id, "the seeded id sequence starts over"


def _remote_request(remote: str, headers: dict[str, str] | None = None) -> object:
    app = MockServer(clock=ManualClock(), control_token="").app
    request = make_mocked_request("GET", "/_mockscope/clock", headers=headers, app=app)
    return request.clone(remote=remote)


@pytest.mark.parametrize("remote", ["127.0.0.1", "::1", "127.9.9.9"])
def test_loopback_callers_may_use_the_control_plane(remote: str) -> None:
    clock_limits.guard(_remote_request(remote))  # type: ignore[arg-type]


@pytest.mark.parametrize("remote", ["10.0.0.5", "192.168.1.2", "2001:db8::1", None])
def test_other_callers_are_refused_without_a_token(remote: str | None) -> None:
    with pytest.raises(errors.AccessDenied):
        clock_limits.guard(_remote_request(remote))  # type: ignore[arg-type]


def test_a_configured_token_is_required_from_everyone() -> None:
    with MockServer(clock=ManualClock(), control_token="s3cret", validate_responses=True) as server:
        with httpx.Client(base_url=server.url) as api:
            refused = api.get("/_mockscope/clock")
            wrong = api.get("/_mockscope/clock", headers={"X-Mockscope-Token": "nope"})
            allowed = api.get("/_mockscope/clock", headers={"X-Mockscope-Token": "s3cret"})
        assert not server.schema_violations
    assert (refused.status_code, refused.json()["code"]) == (403, "AccessDenied")
    assert wrong.status_code == 403
    assert allowed.status_code == 200


def test_limits_read_as_the_live_defaults(api: httpx.Client) -> None:
    assert api.get("/_mockscope/limits").json() == {
        "create_per_second": 2,
        "get_per_second": 20,
        "list_per_second": 20,
        "cancel_per_second": 20,
        "upload_per_second": 100,
        "create_per_model": {},
        "concurrency": 1,
        "retry_after": False,
    }


def test_limits_change_in_part_and_take_effect(api: httpx.Client) -> None:
    changed = api.post("/_mockscope/limits", json={"create_per_second": None}).json()
    assert changed["create_per_second"] is None
    assert changed["get_per_second"] == 20
    ids = [submit(api, n=1) for _ in range(5)]
    assert len(ids) == 5
    api.post("/_mockscope/limits", json={"create_per_model": {"wanx-v1": 1}})
    statuses = [
        api.post(
            "/api/v1/services/aigc/text2image/image-synthesis",
            json={"model": "wanx-v1", "input": {"prompt": "p"}},
            headers={"Authorization": "Bearer sk-test", "X-DashScope-Async": "enable"},
        ).status_code
        for _ in range(2)
    ]
    assert statuses == [200, 429]


def test_raising_concurrency_starts_queued_tasks(api: httpx.Client, server: MockServer) -> None:
    ids = [submit(api, n=1) for _ in range(2)]
    server.clock.advance(1)
    assert [read_task(api, t)["task_status"] for t in ids] == ["RUNNING", "PENDING"]
    assert api.post("/_mockscope/limits", json={"concurrency": 2}).json()["concurrency"] == 2
    assert [read_task(api, t)["task_status"] for t in ids] == ["RUNNING", "RUNNING"]


@pytest.mark.parametrize(
    "body", [b'{"concurrency": 0}', b'{"create_per_second": 1.5}', b'{"nope": 1}', b"[]", b"{"]
)
def test_bad_limits_are_refused_whole(api: httpx.Client, body: bytes) -> None:
    before = api.get("/_mockscope/limits").json()
    response = api.post("/_mockscope/limits", content=body)
    assert response.status_code == 400
    assert api.get("/_mockscope/limits").json() == before


OTHER_KEY = "sk-0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def test_tasks_lists_every_account_with_plans(api: httpx.Client, server: MockServer) -> None:
    mine = submit(api, n=1)
    theirs = api.post(
        "/api/v1/services/aigc/text2image/image-synthesis",
        json={"model": "wanx-v1", "input": {"prompt": "p"}, "parameters": {"n": 2}},
        headers={"Authorization": f"Bearer {OTHER_KEY}", "X-DashScope-Async": "enable"},
    ).json()["output"]["task_id"]
    body = api.get("/_mockscope/tasks").json()
    assert body["now_ms"] == server.clock.now_ms()
    # An account that is just its key is shown by the key masked (a short one fully).
    by_account = {entry["account"]: entry["tasks"] for entry in body["accounts"]}
    assert [task["task_id"] for task in by_account["sk-…"]] == [mine]
    assert [task["task_id"] for task in by_account["sk-…e1f0"]] == [theirs]
    plan = by_account["sk-…e1f0"][0]
    assert plan["n"] == 2
    assert plan["scheduled_ms"] == plan["submit_ms"] + 14
    assert plan["expires_ms"] == plan["end_ms"] + 24 * 3600 * 1000
    only = api.get("/_mockscope/tasks", params={"account": OTHER_KEY}).json()
    assert [entry["account"] for entry in only["accounts"]] == ["sk-…e1f0"]


def test_reset_of_one_account_keeps_the_others(api: httpx.Client, server: MockServer) -> None:
    mine = submit(api, n=1)
    theirs_headers = {"Authorization": "Bearer sk-other", "X-DashScope-Async": "enable"}
    theirs = api.post(
        "/api/v1/services/aigc/text2image/image-synthesis",
        json={"model": "wanx-v1", "input": {"prompt": "p"}},
        headers=theirs_headers,
    ).json()["output"]["task_id"]
    server.clock.advance(5)
    assert api.post("/_mockscope/reset", params={"account": "sk-other"}).json() == {"ok": True}
    assert read_task(api, mine)["task_status"] == "RUNNING"
    gone = api.get(f"/api/v1/tasks/{theirs}", headers={"Authorization": "Bearer sk-other"})
    assert gone.json()["output"]["task_status"] == "UNKNOWN"
    assert server.clock.now_ms() == DEFAULT_MANUAL_START_MS + 5000, "the clock goes on"


def test_keys_leave_the_control_plane_only_masked_or_as_account_names() -> None:
    own = "sk-93a0d1c2b3a4f5e6d7c8b9a0f1e2d3c4"
    team_key = "sk-team-0a1b2c3d4e5f60718293a4b5c6d7"
    team = AccountSpec("team", api_keys=(team_key,))
    with (
        validated_server(clock=ManualClock(), accounts=[team]) as server,
        httpx.Client(base_url=server.url) as api,
    ):
        for key in (own, team_key):
            headers = {"Authorization": f"Bearer {key}", "X-DashScope-Async": "enable"}
            body = {"model": "wanx-v1", "input": {"prompt": "p"}, "parameters": {"n": 1}}
            create = "/api/v1/services/aigc/text2image/image-synthesis"
            assert api.post(create, json=body, headers=headers).status_code == 200
        server.set_scenario([{"outcome": "failed", "match": {"api_key": own, "account": own}}])
        answers = [
            api.get("/_mockscope/journal"),
            api.get("/_mockscope/tasks"),
            api.get("/_mockscope/scenarios"),
        ]
    for answer in answers:
        assert own not in answer.text
        assert team_key not in answer.text
    journal, tasks, scenarios = (answer.json() for answer in answers)
    assert [entry["account"] for entry in journal["entries"]] == ["sk-…d3c4", "team"]
    assert sorted(entry["account"] for entry in tasks["accounts"]) == ["sk-…d3c4", "team"]
    assert scenarios["rules"][0]["rule"]["match"] == {"api_key": "sk-…d3c4", "account": "sk-…d3c4"}
