"""The request journal, and the checks on it that catch real client bugs."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import httpx
import pytest
from dashscope import ImageSynthesis
from multidict import CIMultiDict, CIMultiDictProxy

from mockscope import BackendConfig, Journal, Limits, ManualClock, MockServer, Operation
from mockscope.sdk import DashScopeBinding
from tests.support import (
    CREATE_PATH,
    READ_HEADERS,
    SUBMIT_HEADERS,
    read_task,
    submit,
    validated_server,
)


def test_every_answered_request_is_journaled(api: httpx.Client, server: MockServer) -> None:
    task_id = submit(api, n=1)
    server.clock.advance(60)
    read_task(api, task_id)
    api.get("/api/v1/tasks", headers=READ_HEADERS)
    api.get("/_mockscope/clock")  # the control plane is not journaled
    entries = server.journal.entries()
    assert [(e.operation, e.status) for e in entries] == [
        (Operation.CREATE, 200),
        (Operation.GET, 200),
        (Operation.LIST, 200),
    ]
    assert entries[0].task_id == entries[1].task_id == task_id
    assert entries[1].task_status == "SUCCEEDED"
    assert entries[1].time_ms - entries[0].time_ms == 60_000
    assert entries[0].api_key == "sk-test"


def test_the_journal_over_http_filters_and_clears(api: httpx.Client, server: MockServer) -> None:
    first, second = submit(api, n=1), submit(api, n=1)
    read_task(api, first)
    read_task(api, second)
    body = api.get("/_mockscope/journal", params={"task_id": first}).json()
    assert [(e["operation"], e["task_id"]) for e in body["entries"]] == [
        ("create", first),
        ("get", first),
    ]
    assert body["entries"][0]["api_key_id"].isdigit()
    gets = api.get("/_mockscope/journal", params={"operation": "get"}).json()["entries"]
    assert len(gets) == 2
    assert api.get("/_mockscope/journal", params={"operation": "poke"}).status_code == 400
    assert api.delete("/_mockscope/journal").json() == {"ok": True}
    assert api.get("/_mockscope/journal").json()["entries"] == []


def test_the_journal_stays_within_its_bound_under_100000_requests() -> None:
    journal = Journal(capacity=1000)
    for k in range(100_000):
        journal.record(k, Operation.GET, "a", "sk", f"t{k % 7}", 200)
    assert len(journal) == 1000
    entries = journal.entries()
    assert (entries[0].seq, entries[-1].seq) == (99_001, 100_000)


def test_a_server_journal_keeps_only_the_newest_requests() -> None:
    config = BackendConfig(journal_size=5)
    with validated_server(clock=ManualClock(), config=config) as server:
        with httpx.Client(base_url=server.url) as api:
            for _ in range(12):
                api.get("/api/v1/tasks/x", headers=READ_HEADERS)
        assert [entry.seq for entry in server.journal.entries()] == [8, 9, 10, 11, 12]


def test_a_well_behaved_client_passes_every_check(
    sdk: DashScopeBinding, server: MockServer
) -> None:
    for prompt in ("a cat", "a dog"):
        assert ImageSynthesis.call(model="wanx-v1", prompt=prompt, n=1).status_code == 200
    assert server.journal.client_problems(max_polls_per_second=1) == []
    server.journal.assert_well_behaved_client()


def test_polling_too_fast_is_caught(api: httpx.Client, server: MockServer) -> None:
    task_id = submit(api, n=1)
    for _ in range(3):
        server.clock.advance(0.2)
        read_task(api, task_id)
    problems = server.journal.polls_faster_than(1)
    assert len(problems) == 2
    assert "200 ms after the previous read" in problems[0]


def test_polling_after_a_terminal_status_is_caught(api: httpx.Client, server: MockServer) -> None:
    task_id = submit(api, n=1)
    server.clock.advance(60)
    for _ in range(3):
        read_task(api, task_id)
        server.clock.advance(5)
    assert server.journal.polls_after_terminal() == [
        f"task {task_id} was read 2 more time(s) after it showed SUCCEEDED"
    ]


def test_ignoring_retry_after_is_caught_when_it_is_sent() -> None:
    body = {"model": "wanx-v1", "input": {"prompt": "p"}, "parameters": {"n": 1}}
    clock = ManualClock()
    with (
        validated_server(clock=clock, limits=Limits(retry_after=True)) as server,
        httpx.Client(base_url=server.url) as api,
    ):
        statuses = [
            api.post(CREATE_PATH, json=body, headers=SUBMIT_HEADERS).status_code for _ in range(4)
        ]
        assert statuses == [200, 200, 429, 429]
        problems = server.journal.retry_after_ignored()
        assert problems == ["create by sk-test came 0 ms after a 429 that said Retry-After: 1"]
        clock.advance(1)
        api.post(CREATE_PATH, json=body, headers=SUBMIT_HEADERS)
        assert len(server.journal.retry_after_ignored()) == 1, "waiting the full second is fine"


def test_without_retry_after_there_is_nothing_to_ignore(
    api: httpx.Client, server: MockServer
) -> None:
    body = {"model": "wanx-v1", "input": {"prompt": "p"}, "parameters": {"n": 1}}
    statuses = [
        api.post(CREATE_PATH, json=body, headers=SUBMIT_HEADERS).status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 429, 429]
    assert [entry.retry_after_s for entry in server.journal.entries()] == [None] * 4
    assert server.journal.retry_after_ignored() == []


def test_a_resubmission_after_a_lost_answer_is_caught(
    api: httpx.Client, server: MockServer
) -> None:
    body = {"model": "wanx-v1", "input": {"prompt": "p"}, "parameters": {"n": 1}}
    lost = api.post(
        CREATE_PATH, json=body, headers={**SUBMIT_HEADERS, "X-Mockscope-Scenario": "lost"}
    )
    assert lost.status_code == 500
    server.clock.advance(1)
    api.post(CREATE_PATH, json=body, headers=SUBMIT_HEADERS)  # the naive retry
    problems = server.journal.duplicate_submissions()
    assert len(problems) == 1
    assert "submitted the same work 2 times" in problems[0]
    assert len(server.journal.tasks_created("sk-test")) == 2


def test_a_task_never_read_is_caught(api: httpx.Client, server: MockServer) -> None:
    read = submit(api, n=1)
    forgotten = submit(api, n=1)
    read_task(api, read)
    assert server.journal.unpolled_tasks() == [f"task {forgotten} was created and never read"]
    with pytest.raises(AssertionError, match="never read"):
        server.journal.assert_well_behaved_client()


def test_reset_clears_the_journal(api: httpx.Client, server: MockServer) -> None:
    submit(api, n=1)
    server.reset()
    assert server.journal.entries() == []


def test_100000_requests_through_the_real_handlers_keep_the_journal_bounded() -> None:
    server = MockServer(
        clock=ManualClock(), limits=Limits.unlimited(), config=BackendConfig(journal_size=2_000)
    )
    route = next(r for r in server.app.router.routes() if r.name == "get_task")
    headers = CIMultiDictProxy(CIMultiDict(READ_HEADERS))

    class Request:
        """What the read handler and its wrapper look at (an aiohttp request has much more,
        and costs far more to fake 100,000 times)."""

        def __init__(self, task_id: str) -> None:
            self.headers = headers
            self.match_info = {"task_id": task_id}
            self.method = "GET"
            self.rel_url = SimpleNamespace(raw_path=f"/api/v1/tasks/{task_id}")

    async def hammer() -> None:
        for k in range(100_000):
            response = await route.handler(Request(f"t{k}"))  # type: ignore[arg-type]
            assert response.status == 200

    asyncio.run(hammer())
    entries = server.journal.entries()
    assert len(entries) == 2_000
    assert (entries[0].seq, entries[-1].seq) == (98_001, 100_000)
    assert entries[-1].task_id == "t99999"


def test_findings_are_the_same_problems_with_their_entries() -> None:
    journal = Journal()
    journal.record(0, Operation.CREATE, "a", "sk-a", "t1", 200, work="w")
    journal.record(10, Operation.CREATE, "a", "sk-a", "t2", 200, work="w")
    journal.record(500, Operation.GET, "a", "sk-a", "t1", 200, task_status="SUCCEEDED")
    journal.record(900, Operation.GET, "a", "sk-a", "t1", 200, task_status="SUCCEEDED")
    found = journal.findings()
    assert [f.message for f in found] == journal.client_problems()
    assert [(f.check, f.task_id, f.seqs) for f in found] == [
        ("polls_too_fast", "t1", (3, 4)),
        ("polls_after_terminal", "t1", (3, 4)),
        ("duplicate_submissions", "t1", (1, 2)),
        ("unpolled_tasks", "t2", (2,)),
    ]
    duplicate = found[2]
    assert duplicate.worded(lambda key: "sk-…") == (
        "sk-… submitted the same work 2 times: tasks t1, t2"
    )


def test_findings_are_kept_until_the_journal_changes() -> None:
    journal = Journal()
    journal.record(0, Operation.CREATE, "a", "sk-a", "t1", 200)
    first = journal.findings()
    assert journal.findings() == first
    assert journal.findings() is not journal.findings(), "each caller gets its own list"
    journal.record(10, Operation.GET, "a", "sk-a", "t1", 200, task_status="PENDING")
    assert journal.findings() == [], "the task has been read now"
    journal.clear()
    assert journal.findings() == []
    assert journal.findings(max_polls_per_second=5) == []


def test_the_latest_entries_only() -> None:
    journal = Journal()
    for k in range(5):
        journal.record(k, Operation.GET if k % 2 else Operation.CREATE, "a", "sk-a", f"t{k}", 200)
    assert [e.seq for e in journal.entries(latest=2)] == [4, 5]
    assert [e.seq for e in journal.entries(operation=Operation.GET, latest=1)] == [4]
    assert [e.seq for e in journal.entries(latest=10)] == [1, 2, 3, 4, 5]
