"""The reference client against a real MockServer: the happy path, each scenario, each fault.

Time is the fake's manual clock: the client's sleeps advance it, so nothing waits for real.
Every response the fake sends is checked against schemas/ by the `server` fixture.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image

from mockscope import AccountSpec, ManualClock, MockServer
from tests.support import API_KEY, VirtualTime, validated_server
from wanx_client import (
    AccessDeniedError,
    AuthenticationError,
    Client,
    DashScopeError,
    ImageFailure,
    OutcomeUnknown,
    ServerError,
    TaskFailed,
    TaskStatus,
    ThrottlingError,
    UnsupportedOperationError,
    WaitTimeout,
)


def only(operation: str, outcome: str, **rule: Any) -> dict[str, Any]:
    """A rule for one operation, e.g. only("get", "reset", times={"first": 2})."""
    return {"outcome": outcome, "match": {"operation": operation}, **rule}


def statuses(server: MockServer, operation: str) -> list[int]:
    return [entry.status for entry in server.journal.entries(operation=operation)]


# -- the happy path ---------------------------------------------------------------------------


def test_submit_wait_download_makes_real_pngs_of_the_asked_size(
    client: Client, server: MockServer, tmp_path: Path
) -> None:
    submitted = client.submit("a cat", n=2, size="720*1280", seed=42, style="<sketch>")
    assert submitted.status is TaskStatus.PENDING
    assert submitted.request_id

    task = client.wait(submitted).raise_for_status()

    assert task.status is TaskStatus.SUCCEEDED
    assert len(task.images) == 2
    assert task.usage is not None
    assert task.usage.image_count == 2
    assert task.metrics is not None
    assert (task.metrics.total, task.metrics.failed) == (2, 0)
    assert task.submit_time is not None
    assert task.end_time is not None
    assert task.end_time > task.submit_time
    paths = [client.download(image, tmp_path / f"{k}.png") for k, image in enumerate(task.images)]
    for path in paths:
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.size == (720, 1280)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.png", "1.png"], "no .part left"
    server.journal.assert_well_behaved_client(max_polls_per_second=1)


def test_wait_polls_at_once_then_backs_off_1_1_2_2_4(
    client: Client, server: MockServer, vtime: VirtualTime
) -> None:
    task = client.wait(client.submit("a cat", n=4))
    assert task.status is TaskStatus.SUCCEEDED
    # A four-image task takes ~31 s of simulated time.
    assert vtime.slept[:6] == [1, 1, 2, 2, 4, 4]
    assert set(vtime.slept[6:]) <= {5}
    reads = server.journal.entries(operation="get")
    assert reads[0].time_ms == server.journal.entries(operation="create")[0].time_ms
    assert reads[-1].task_status == "SUCCEEDED"
    assert len(reads) == len(vtime.slept) + 1


def test_download_into_a_directory_uses_the_url_name(client: Client, tmp_path: Path) -> None:
    task = client.wait(client.submit("a cat", n=1))
    url = task.images[0].url
    path = client.download(url, tmp_path)
    # The object's own name, not the query string: `<uuid>-1.png`.
    assert path == tmp_path / PurePosixPath(urlsplit(url).path).name
    assert path.name.endswith("-1.png")
    with Image.open(path) as image:
        assert image.size == (1024, 1024)


def test_get_reads_every_phase_and_unknown_ids(client: Client, clock: ManualClock) -> None:
    task_id = client.submit("a cat", n=1).task_id
    assert client.get(task_id).status is TaskStatus.PENDING
    clock.advance(1)
    running = client.get(task_id)
    assert running.status is TaskStatus.RUNNING
    assert running.scheduled_time is not None
    assert running.end_time is None
    clock.advance(60)
    assert client.get(task_id).status is TaskStatus.SUCCEEDED

    unknown = client.get("no-such-task")
    assert (unknown.task_id, unknown.status) == ("no-such-task", TaskStatus.UNKNOWN)
    with pytest.raises(TaskFailed) as failed:
        client.wait("no-such-task").raise_for_status()
    assert failed.value.code == "UNKNOWN"


def test_cancel_a_pending_task_and_refuse_a_running_one(
    client: Client, server: MockServer, clock: ManualClock
) -> None:
    first = client.submit("first", n=1)
    second = client.submit("second", n=1)
    clock.advance(1)  # one task runs at a time: the first runs, the second waits PENDING

    client.cancel(second.task_id)
    assert client.get(second.task_id).status is TaskStatus.CANCELED
    with pytest.raises(UnsupportedOperationError) as refused:
        client.cancel(first.task_id)
    assert (refused.value.status, refused.value.code) == (400, "UnsupportedOperation")
    assert statuses(server, "cancel") == [200, 400], "a refused cancel is not retried"
    with pytest.raises(TaskFailed) as canceled:
        client.wait(second).raise_for_status()
    assert canceled.value.code == "CANCELED"


def test_list_iterates_every_page_newest_first(
    client: Client, server: MockServer, vtime: VirtualTime
) -> None:
    submitted = [client.submit(f"cat {k}", n=1).task_id for k in range(5)]
    listed = list(client.list(page_size=2))
    assert [task.task_id for task in listed] == submitted[::-1]
    assert all(task.model_name == "wanx-v1" for task in listed)
    assert all(task.created_at is not None for task in listed)
    assert len(server.journal.entries(operation="list")) == 3
    # Five submits at the live 2-per-second limit: the client waited as told.
    assert server.journal.retry_after_ignored() == []
    assert sum(vtime.slept) >= 2


def test_list_filters_by_status(client: Client) -> None:
    client.submit("one", n=1)
    client.submit("two", n=1)
    pending = list(client.list(status=TaskStatus.PENDING))
    assert len(pending) == 2
    assert list(client.list(status="SUCCEEDED")) == []


# -- task outcomes ---------------------------------------------------------------------------


def test_a_failed_task_is_returned_and_raise_for_status_raises_with_its_code(
    client: Client, server: MockServer
) -> None:
    server.set_scenario(["failed; code=DataInspectionFailed"])
    task = client.wait(client.submit("a cat", n=1))
    assert task.status is TaskStatus.FAILED
    assert task.code == "DataInspectionFailed"
    with pytest.raises(TaskFailed) as failed:
        task.raise_for_status()
    assert failed.value.code == "DataInspectionFailed"
    assert failed.value.message == "Output data may contain inappropriate content."
    assert failed.value.task is task
    server.journal.assert_well_behaved_client()


def test_a_partial_failure_succeeds_with_its_failed_items(
    client: Client, server: MockServer
) -> None:
    server.set_scenario(["partial; failed=1"])
    task = client.wait(client.submit("a cat", n=3)).raise_for_status()
    assert len(task.images) == 2
    assert task.failures == (ImageFailure("InternalError.Timeout", task.failures[0].message),)
    assert task.usage is not None
    assert task.usage.image_count == 2
    assert task.metrics is not None
    assert task.metrics.failed == 1


def test_wait_polls_through_suspended(
    client: Client, server: MockServer, vtime: VirtualTime
) -> None:
    server.set_scenario(["suspended; after=1; for=30"])
    task = client.wait(client.submit("a cat", n=1))
    assert task.status is TaskStatus.SUCCEEDED
    seen = [entry.task_status for entry in server.journal.entries(operation="get")]
    assert "SUSPENDED" in seen
    assert sum(vtime.slept) >= 30 + 26
    server.journal.assert_well_behaved_client()


def test_wait_times_out_on_a_task_that_never_finishes(
    client: Client, server: MockServer, vtime: VirtualTime
) -> None:
    server.set_scenario(["never; phase=RUNNING"])
    task = client.submit("a cat", n=1)
    with pytest.raises(WaitTimeout) as timed_out:
        client.wait(task, timeout=60)
    assert timed_out.value.last is not None
    assert timed_out.value.last.status is TaskStatus.RUNNING
    assert 59 <= sum(vtime.slept) <= 60
    assert server.journal.polls_faster_than(1) == []


# -- errors, throttling and faults on reads ---------------------------------------------------


def test_the_live_submit_rate_limit_is_waited_out(
    client: Client, server: MockServer, vtime: VirtualTime
) -> None:
    tasks = [client.submit(f"cat {k}", n=1) for k in range(3)]
    assert len({task.task_id for task in tasks}) == 3
    assert statuses(server, "create") == [200, 200, 429, 200]
    assert vtime.slept == [1]  # Retry-After: 1
    assert server.journal.retry_after_ignored() == []
    assert server.journal.duplicate_submissions() == []


def test_injected_throttling_on_submit_is_retried_then_reported(
    client: Client, server: MockServer
) -> None:
    server.set_scenario([only("create", "error", status=429, code="Throttling.RateQuota")])
    with pytest.raises(ThrottlingError) as throttled:
        client.submit("a cat", n=1)
    assert throttled.value.code == "Throttling.RateQuota"
    assert statuses(server, "create") == [429, 429, 429]
    assert list(server.tasks()) == []


def test_model_unavailable_on_submit_is_retried(client: Client, server: MockServer) -> None:
    server.set_scenario([only("create", "error", code="ModelUnavailable", times={"first": 2})])
    task = client.submit("a cat", n=1)
    assert statuses(server, "create") == [503, 503, 200]
    assert server.journal.tasks_created() == [task.task_id]


def test_persistent_503_on_submit_ends_in_server_error_with_nothing_created(
    client: Client, server: MockServer
) -> None:
    server.set_scenario(["error; code=ModelUnavailable"])
    with pytest.raises(ServerError) as unavailable:
        client.submit("a cat", n=1)
    assert (unavailable.value.status, unavailable.value.code) == (503, "ModelUnavailable")
    assert server.journal.tasks_created() == []


@pytest.mark.parametrize(
    "rule",
    [
        {"outcome": "error", "code": "ModelUnavailable"},
        {"outcome": "error", "code": "InternalError"},
        {"outcome": "error", "status": 429, "code": "Throttling.RateQuota"},
        {"outcome": "reset"},
        {"outcome": "empty"},
        {"outcome": "truncate"},
    ],
    ids=["503", "500", "429", "reset", "empty", "truncate"],
)
def test_wait_rides_out_transient_faults_on_reads(
    client: Client, server: MockServer, rule: dict[str, Any]
) -> None:
    task = client.submit("a cat", n=1)
    server.set_scenario([{**rule, "times": {"first": 3}, "match": {"operation": "get"}}])
    assert client.wait(task).status is TaskStatus.SUCCEEDED
    reads = statuses(server, "get")
    assert len(reads) >= 4
    assert reads[-1] == 200
    assert server.journal.polls_faster_than(1) == []
    assert server.journal.polls_after_terminal() == []


@pytest.mark.parametrize("outcome", ["reset", "empty"])
def test_get_retries_a_dropped_connection(client: Client, server: MockServer, outcome: str) -> None:
    task = client.submit("a cat", n=1)
    server.set_scenario([only("get", outcome, times="once")])
    assert client.get(task.task_id).task_id == task.task_id
    assert statuses(server, "get") == [0, 200]
    assert server.journal.polls_faster_than(20) == []


def test_get_gives_up_after_three_attempts(client: Client, server: MockServer) -> None:
    server.set_scenario([only("get", "error", code="ModelUnavailable")])
    with pytest.raises(ServerError):
        client.get("any")
    assert statuses(server, "get") == [503, 503, 503]


def test_download_retries_a_dropped_or_cut_transfer(
    client: Client, server: MockServer, tmp_path: Path
) -> None:
    task = client.wait(client.submit("a cat", n=1))
    server.set_scenario(
        [only("download", "reset", times={"nth": 1}), only("download", "truncate", times="once")]
    )
    path = client.download(task.images[0], tmp_path / "cat.png")
    with Image.open(path) as image:
        image.load()
        assert image.size == (1024, 1024)
    assert len(server.journal.entries(operation="download")) == 3


def test_an_expired_result_url_raises_the_storage_error(
    client: Client, clock: ManualClock, tmp_path: Path
) -> None:
    task = client.wait(client.submit("a cat", n=1))
    clock.advance(25 * 3600)
    with pytest.raises(AccessDeniedError) as expired:
        client.download(task.images[0], tmp_path / "cat.png")
    assert (expired.value.status, expired.value.code) == (403, "AccessDenied")
    assert list(tmp_path.iterdir()) == []


def test_a_bad_key_is_reported_at_once(vtime: VirtualTime) -> None:
    with validated_server(clock=ManualClock(), api_keys={"sk-good"}) as strict:
        url = strict.base_http_api_url
        with (
            Client(api_key="sk-bad", base_url=url, sleep=vtime.sleep) as bad,
            pytest.raises(AuthenticationError) as denied,
        ):
            bad.submit("a cat")
        assert (denied.value.status, denied.value.code) == (401, "InvalidApiKey")
        assert denied.value.request_id
        assert len(strict.journal.entries()) == 1
    assert vtime.slept == []


def test_no_key_at_all_fails_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    with pytest.raises(AuthenticationError, match="DASHSCOPE_API_KEY"):
        Client(base_url="http://127.0.0.1:9")


def test_base_url_and_key_come_from_the_environment(
    server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", server.base_http_api_url + "/")
    monkeypatch.setenv("DASHSCOPE_API_KEY", API_KEY)
    with Client() as from_env:
        task = from_env.submit("a cat", n=1)
        assert from_env.get(task.task_id).task_id == task.task_id


def test_workspace_selects_the_account(vtime: VirtualTime) -> None:
    team = AccountSpec("team", api_keys=("sk-a",), workspaces=("ws-1",))
    other = AccountSpec("other", api_keys=("sk-b",), workspaces=("ws-2",))
    with validated_server(clock=ManualClock(), accounts=[team, other]) as server:
        url = server.base_http_api_url
        with Client(api_key="sk-a", base_url=url, workspace="ws-1", sleep=vtime.sleep) as ok:
            task = ok.submit("a cat", n=1)
            assert [listed.task_id for listed in ok.list()] == [task.task_id]
        with (
            Client(api_key="sk-a", base_url=url, workspace="ws-2", sleep=vtime.sleep) as wrong,
            pytest.raises(AccessDeniedError),
        ):
            wrong.get(task.task_id)


# -- the outcome-unknown rule ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "created"),
    [
        ("lost; via=reset", 1),
        ("lost; via=error", 1),
        ("truncate", 1),
        ("reset", 0),
        ("empty", 0),
        ("error; code=InternalError", 0),
    ],
)
def test_a_submit_without_a_usable_answer_is_never_resent(
    client: Client, server: MockServer, rule: str, created: int
) -> None:
    server.set_scenario([f"{rule}; times=once"])
    with pytest.raises(OutcomeUnknown) as unknown:
        client.submit("a cat", n=1)
    assert unknown.value.operation == "submit"
    assert unknown.value.request is not None
    assert unknown.value.request["input"] == {"prompt": "a cat"}
    assert len(server.journal.entries(operation="create")) == 1, "sent exactly once"
    assert len(server.journal.tasks_created()) == created
    assert len(list(server.tasks())) == created


def test_a_lost_500_reports_its_status_and_code(client: Client, server: MockServer) -> None:
    server.set_scenario(["lost; via=error"])
    with pytest.raises(OutcomeUnknown) as unknown:
        client.submit("a cat", n=1)
    assert (unknown.value.status, unknown.value.code) == (500, "InternalError")
    assert isinstance(unknown.value.cause, ServerError)
    assert isinstance(unknown.value, DashScopeError)


def test_after_an_unknown_outcome_the_caller_finds_the_task_by_listing(
    client: Client, server: MockServer
) -> None:
    known = {client.submit("earlier", n=1).task_id}
    server.set_scenario(["lost; via=reset; times=once"])
    with pytest.raises(OutcomeUnknown):
        client.submit("a cat", n=1)
    found = [task for task in client.list() if task.task_id not in known]
    assert [task.task_id for task in found] == server.journal.tasks_created()[1:]
    assert client.wait(found[0].task_id).status is TaskStatus.SUCCEEDED
    assert server.journal.duplicate_submissions() == []


def test_a_cancel_without_an_answer_is_not_resent(client: Client, server: MockServer) -> None:
    client.submit("first", n=1)
    second = client.submit("second", n=1)
    server.set_scenario([only("cancel", "lost", via="reset")])
    with pytest.raises(OutcomeUnknown) as unknown:
        client.cancel(second.task_id)
    assert (unknown.value.operation, unknown.value.task_id) == ("cancel", second.task_id)
    assert len(server.journal.entries(operation="cancel")) == 1
    assert client.get(second.task_id).status is TaskStatus.CANCELED
