"""MockServer's public surface: what a test reads from the fake and changes in it."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest

from mockscope import Limits, ManualClock, MockServer, ScenarioError, TaskRecord, TaskStatus
from mockscope.backend import Operations
from mockscope.domain.errors import DashScopeError
from tests.support import CREATE_PATH, READ_HEADERS, headers_for, read_task, submit

BODY = {"model": "wanx-v1", "input": {"prompt": "a cat"}, "parameters": {"n": 1}}


def test_tasks_are_views_of_every_stored_task(api: httpx.Client, server: MockServer) -> None:
    mine = submit(api, n=2)
    failing = api.post(
        CREATE_PATH, json=BODY, headers=headers_for("sk-other", **_declare("failed"))
    )
    theirs = failing.json()["output"]["task_id"]
    records = server.tasks()
    assert [(r.task_id, r.account, r.status) for r in records] == [
        (mine, "sk-test", TaskStatus.PENDING),
        (theirs, "sk-other", TaskStatus.PENDING),
    ]
    assert [r.task_id for r in server.tasks("sk-other")] == [theirs]
    first = records[0]
    assert (first.request.model, first.request.prompt, first.request.n) == ("wanx-v1", "a cat", 2)
    assert first.submit_ms == server.clock.now_ms()
    assert first.end_ms is not None
    assert first.expires_ms == first.end_ms + 24 * 3600 * 1000
    assert (first.declared, records[1].declared) == ("", "failed; code=InternalError.Algo")


def test_task_views_cannot_change_the_fake(api: httpx.Client, server: MockServer) -> None:
    submit(api, n=1)
    (record,) = server.tasks()
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.status = TaskStatus.FAILED  # type: ignore[misc]
    record.request.prompt = "a dog"
    assert server.tasks()[0].request.prompt == "a cat"


def test_limits_read_change_and_come_back_on_a_full_reset(
    api: httpx.Client, server: MockServer
) -> None:
    assert server.limits == Limits()
    server.set_limits(Limits(create_per_second=1))
    assert server.limits.create_per_second == 1
    statuses = [api.post(CREATE_PATH, json=BODY, headers=headers_for("sk-test")) for _ in "ab"]
    assert [response.status_code for response in statuses] == [200, 429]
    server.reset("sk-test")
    assert server.tasks() == []
    assert server.limits.create_per_second == 1, "an account's reset leaves the limits"
    server.reset()
    assert server.limits == Limits()


def test_a_reset_of_one_account_keeps_the_others(api: httpx.Client, server: MockServer) -> None:
    mine = submit(api, n=1)
    api.post(CREATE_PATH, json=BODY, headers=headers_for("sk-other"))
    server.reset("sk-other")
    assert [record.task_id for record in server.tasks()] == [mine]


def test_scenario_rules_are_set_added_read_and_cleared(server: MockServer) -> None:
    assert server.rules == ()
    server.set_scenario(["failed; code=DataInspectionFailed"], seed=3)
    server.add_rule({"outcome": "error", "code": "ModelUnavailable", "times": "once"})
    kinds = [(rule.outcome.kind, rule.times) for rule in server.rules]
    assert kinds == [("failed", "always"), ("error", "once")]
    assert isinstance(server.rules, tuple), "read-only: change rules through the methods"
    with pytest.raises(ScenarioError, match=r"^Parameter `rule\.outcome` must be one of"):
        server.add_rule("explode")
    assert len(server.rules) == 2, "a malformed rule is not added"
    server.clear_scenario()
    assert server.rules == ()


def test_finish_ends_a_task_told_to_wait(api: httpx.Client, server: MockServer) -> None:
    response = api.post(CREATE_PATH, json=BODY, headers=headers_for("sk-test", **_declare("never")))
    task_id = response.json()["output"]["task_id"]
    server.clock.advance(3600)
    assert read_task(api, task_id)["task_status"] == "RUNNING"
    server.finish(task_id)
    assert read_task(api, task_id)["task_status"] == "SUCCEEDED"
    with pytest.raises(DashScopeError, match="already finished"):
        server.finish(task_id)


def test_check_is_quiet_on_a_clean_server(api: httpx.Client, server: MockServer) -> None:
    submit(api, n=1)
    server.check()
    assert server.server_failures == []


def test_check_raises_a_failure_inside_the_fake_once(
    api: httpx.Client, server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("a bug in the fake")

    monkeypatch.setattr(Operations, "get_task", broken)
    monkeypatch.setattr(Operations, "list_tasks", broken)
    assert api.get("/api/v1/tasks/x", headers=READ_HEADERS).status_code == 500
    assert api.get("/api/v1/tasks", headers=READ_HEADERS).status_code == 500
    assert [failure.path for failure in server.server_failures] == [
        "/api/v1/tasks/x",
        "/api/v1/tasks",
    ]
    with pytest.raises(RuntimeError, match="a bug in the fake") as raised:
        server.check()
    assert raised.value.__notes__ == [
        "mockscope: raised inside the fake answering GET /api/v1/tasks/x; "
        "the client got a 500 InternalError envelope; 1 more after it"
    ]
    server.check()  # what was raised is forgotten


def test_check_raises_schema_violations(
    api: httpx.Client, server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mockscope.http.handlers.cancel_body", lambda request_id: {})
    task_id = submit(api, n=1)
    assert api.post(f"/api/v1/tasks/{task_id}/cancel", headers=READ_HEADERS).status_code == 200
    with pytest.raises(AssertionError, match="responses that break schemas/") as raised:
        server.check()
    assert f"/api/v1/tasks/{task_id}/cancel" in str(raised.value)
    assert server.schema_violations == []
    server.check()


def test_check_raises_failures_before_violations(
    api: httpx.Client, server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("a bug in the fake")

    monkeypatch.setattr("mockscope.http.handlers.cancel_body", lambda request_id: {})
    monkeypatch.setattr(Operations, "list_tasks", broken)
    api.post(f"/api/v1/tasks/{submit(api, n=1)}/cancel", headers=READ_HEADERS)
    api.get("/api/v1/tasks", headers=READ_HEADERS)
    with pytest.raises(RuntimeError):
        server.check()
    with pytest.raises(AssertionError):
        server.check()
    server.check()


def test_the_surface_works_inside_the_servers_own_loop() -> None:
    async def scenario() -> list[TaskRecord]:
        async with (
            MockServer(clock=ManualClock(), validate_responses=True) as server,
            httpx.AsyncClient(base_url=server.url) as api,
        ):
            await api.post(CREATE_PATH, json=BODY, headers=headers_for("sk-test"))
            server.set_scenario(["reset"])
            server.check()
            records = server.tasks()
            server.reset()
            assert server.tasks() == []
            return records

    assert len(asyncio.run(scenario())) == 1


def _declare(rule: str) -> dict[str, str]:
    return {"X-Mockscope-Scenario": rule}
