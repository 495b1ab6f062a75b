"""Every scenario outcome through real HTTP; every answer still checked against schemas/."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import httpx
import pytest

from mockscope import ManualClock, MockServer, ScenarioError
from tests.support import (
    CREATE_PATH,
    READ_HEADERS,
    SUBMIT_HEADERS,
    assert_service_voice,
    held_answers,
    read_task,
    result_url_for,
    settle,
    validated_server,
    wait_until,
)

SCENARIO = "X-Mockscope-Scenario"
RUN_N1_MS = 25_500 + 1_300


def _create(api: httpx.Client, scenario: str | None = None, **params: Any) -> httpx.Response:
    headers = dict(SUBMIT_HEADERS)
    if scenario is not None:
        headers[SCENARIO] = scenario
    body = {"model": "wanx-v1", "input": {"prompt": "a cat"}, "parameters": params}
    return api.post(CREATE_PATH, json=body, headers=headers)


def _task_id(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    task_id: str = response.json()["output"]["task_id"]
    return task_id


@pytest.mark.parametrize(
    ("declared", "code", "message"),
    [
        ("failed", "InternalError.Algo", "An internal error has occured during execution"),
        ("failed; code=DataInspectionFailed", "DataInspectionFailed", "Output data may contain"),
        ("failed; code=Custom.Code; message=It broke", "Custom.Code", "It broke"),
    ],
)
def test_failed_tasks_are_http_200_with_code_and_message_in_output(
    api: httpx.Client, server: MockServer, declared: str, code: str, message: str
) -> None:
    task_id = _task_id(_create(api, declared, n=2))
    server.clock.advance(60)
    output = read_task(api, task_id)
    assert output["task_status"] == "FAILED"
    assert output["code"] == code
    assert str(output["message"]).startswith(message)
    assert output["task_metrics"] == {"TOTAL": 2, "SUCCEEDED": 0, "FAILED": 2}


def test_partial_failure_succeeds_with_failed_items_counted(
    api: httpx.Client, server: MockServer
) -> None:
    task_id = _task_id(_create(api, "partial; items=1,3", n=4))
    server.clock.advance(60)
    body = api.get(f"/api/v1/tasks/{task_id}", headers=READ_HEADERS).json()
    output = body["output"]
    assert output["task_status"] == "SUCCEEDED"
    results = output["results"]
    assert ["url" in item for item in results] == [True, False, True, False]
    assert results[1]["code"] == "InternalError.Timeout"
    assert output["task_metrics"] == {"TOTAL": 4, "SUCCEEDED": 2, "FAILED": 2}
    assert body["usage"] == {"image_count": 2}
    assert api.get(results[0]["url"]).status_code == 200
    assert api.get(result_url_for(server, task_id, 1)).status_code == 404


def test_partial_failure_always_leaves_one_image(api: httpx.Client, server: MockServer) -> None:
    task_id = _task_id(_create(api, "partial; failed=3", n=2))
    server.clock.advance(60)
    assert read_task(api, task_id)["task_metrics"] == {"TOTAL": 2, "SUCCEEDED": 1, "FAILED": 1}


def test_suspended_for_a_while_then_resumes(api: httpx.Client, server: MockServer) -> None:
    task_id = _task_id(_create(api, "suspended; after=2; for=30", n=1))
    server.clock.advance(0.014 + 1.999)
    assert read_task(api, task_id)["task_status"] == "RUNNING"
    server.clock.advance(0.001)
    suspended = read_task(api, task_id)
    assert suspended["task_status"] == "SUSPENDED"
    assert "scheduled_time" in suspended
    server.clock.advance(29.999)
    assert read_task(api, task_id)["task_status"] == "SUSPENDED"
    server.clock.advance(0.001)
    assert read_task(api, task_id)["task_status"] == "RUNNING"
    server.clock.advance((RUN_N1_MS - 2000) / 1000)
    assert read_task(api, task_id)["task_status"] == "SUCCEEDED"


@pytest.mark.parametrize("phase", ["PENDING", "RUNNING"])
def test_never_waits_until_told_to_finish(
    api: httpx.Client, server: MockServer, phase: str
) -> None:
    task_id = _task_id(_create(api, f"never; phase={phase}", n=1))
    behind = _task_id(_create(api, n=1))
    server.clock.advance(7 * 24 * 3600)
    assert read_task(api, task_id)["task_status"] == phase
    assert read_task(api, behind)["task_status"] == "PENDING", "the account's queue is stuck"
    finished = api.post(f"/_mockscope/tasks/{task_id}/finish")
    assert finished.status_code == 200
    assert finished.json()["output"]["task_status"] == "SUCCEEDED"
    assert read_task(api, behind)["task_status"] == "RUNNING", "the queue moves on"
    again = api.post(f"/_mockscope/tasks/{task_id}/finish")
    assert (again.status_code, again.json()["code"]) == (400, "UnsupportedOperation")
    assert api.post("/_mockscope/tasks/nope/finish").status_code == 404


def test_timing_makes_a_task_slow_or_fast(api: httpx.Client, server: MockServer) -> None:
    slow = _task_id(_create(api, "timing; queue=10; run=300", n=1))
    server.clock.advance(9.999)
    assert read_task(api, slow)["task_status"] == "PENDING"
    server.clock.advance(0.001)
    assert read_task(api, slow)["task_status"] == "RUNNING"
    server.clock.advance(299.999)
    assert read_task(api, slow)["task_status"] == "RUNNING"
    server.clock.advance(0.001)
    assert read_task(api, slow)["task_status"] == "SUCCEEDED"
    fast = _task_id(_create(api, "timing; queue=0; run=0", n=1))
    assert read_task(api, fast)["task_status"] == "SUCCEEDED"


def test_polls_move_the_task_not_time(api: httpx.Client, server: MockServer) -> None:
    task_id = _task_id(_create(api, "polls; running=2; done=4", n=1))
    server.clock.advance(3600)
    seen = [read_task(api, task_id)["task_status"] for _ in range(5)]
    assert seen == ["PENDING", "RUNNING", "RUNNING", "SUCCEEDED", "SUCCEEDED"]


@pytest.mark.parametrize(
    ("declared", "status", "code"),
    [
        ("error; status=429; code=Throttling", 429, "Throttling"),
        ("error; code=InternalError", 500, "InternalError"),
        ("error; code=ModelUnavailable", 503, "ModelUnavailable"),
        ("error; status=400; code=DataInspectionFailed", 400, "DataInspectionFailed"),
    ],
)
def test_injected_errors_answer_the_envelope_and_create_nothing(
    api: httpx.Client, server: MockServer, declared: str, status: int, code: str
) -> None:
    response = _create(api, declared)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.headers["X-Request-ID"] == response.json()["request_id"]
    assert server.tasks() == []


def test_content_inspection_speaks_of_the_input_at_submit_and_of_the_output_in_a_task(
    api: httpx.Client, server: MockServer
) -> None:
    refused = _create(api, "error; code=DataInspectionFailed")
    assert refused.status_code == 400
    assert refused.json()["code"] == "DataInspectionFailed"
    assert refused.json()["message"] == "Input data may contain inappropriate content."
    task_id = _task_id(_create(api, "failed; code=DataInspectionFailed"))
    server.clock.advance(60)
    assert read_task(api, task_id)["message"] == "Output data may contain inappropriate content."


@pytest.mark.parametrize(
    ("declared", "failure"),
    [("reset", httpx.ReadError), ("empty", httpx.RemoteProtocolError)],
)
def test_dropped_connections_create_nothing(
    api: httpx.Client, server: MockServer, declared: str, failure: type[Exception]
) -> None:
    with pytest.raises(failure):
        _create(api, declared)
    assert server.tasks() == []
    assert [entry.status for entry in server.journal.entries()] == [0]


def test_a_truncated_answer_still_created_its_task(api: httpx.Client, server: MockServer) -> None:
    with pytest.raises(httpx.RemoteProtocolError, match=r"complete message body"):
        _create(api, "truncate")
    assert len(server.tasks()) == 1


@pytest.mark.parametrize(
    ("via", "failure"),
    [("error", None), ("reset", httpx.ReadError), ("timeout", httpx.ReadTimeout)],
)
def test_a_lost_answer_still_created_and_would_have_billed_its_task(
    server: MockServer, via: str, failure: type[Exception] | None
) -> None:
    with httpx.Client(base_url=server.url, timeout=httpx.Timeout(5, read=0.5)) as api:
        if failure is None:
            response = _create(api, f"lost; via={via}")
            assert (response.status_code, response.json()["code"]) == (500, "InternalError")
        else:
            with pytest.raises(failure):
                _create(api, f"lost; via={via}")
    created = server.tasks()
    assert len(created) == 1, "the duplicate-submission trap: the task exists"
    # A timed-out answer is journaled once the server sees the client go.
    wait_until(server.journal.entries, "the lost answer in the journal")
    assert server.journal.tasks_created() == [created[0].task_id]


def test_a_delay_holds_the_answer_until_the_clock_gets_there(
    api: httpx.Client, server: MockServer
) -> None:
    answers: list[httpx.Response] = []
    caller = threading.Thread(target=lambda: answers.append(_create(api, "delay; seconds=30")))
    caller.start()
    (held,) = held_answers(server)
    server.clock.advance(29.999)
    settle(server)  # whatever that advance let go has been let go
    assert not held.done(), "released before the clock got there"
    assert not answers
    server.clock.advance(0.001)
    caller.join(5)
    assert held.done()
    assert answers[0].status_code == 200


def test_a_held_answer_does_not_keep_the_server_from_stopping() -> None:
    server = MockServer(clock=ManualClock(), validate_responses=True).start()
    with httpx.Client(base_url=server.url, timeout=5) as api:
        caller = threading.Thread(
            target=lambda: _swallow(lambda: _create(api, "lost; via=timeout"))
        )
        caller.start()
        held_answers(server)
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 2
        caller.join(5)
        assert not caller.is_alive()


def _swallow(call: Any) -> None:
    with contextlib.suppress(httpx.HTTPError):
        call()


def test_a_seeded_probability_gives_the_same_sequence_every_run() -> None:
    def run() -> list[int]:
        statuses = []
        with validated_server(clock=ManualClock(), seed=11) as server:
            server.set_scenario(
                [
                    {
                        "outcome": "error",
                        "code": "ModelUnavailable",
                        "probability": 0.3,
                        "match": {"operation": "get"},
                    }
                ]
            )
            with httpx.Client(base_url=server.url) as api:
                for _ in range(20):
                    statuses.append(api.get("/api/v1/tasks/x", headers=READ_HEADERS).status_code)
        return statuses

    first = run()
    assert first == run()
    assert set(first) == {200, 503}


def test_rules_from_python_match_by_prompt_and_count(api: httpx.Client, server: MockServer) -> None:
    server.set_scenario(
        [{"outcome": "failed", "code": "DataInspectionFailed", "match": {"prompt": "forbidden"}}]
    )
    server.add_rule("error; code=ModelUnavailable; times=once")
    assert _create(api).status_code == 503, "the once-rule fires first"
    ok = _task_id(_create(api, n=1))
    body = {"model": "wanx-v1", "input": {"prompt": "a forbidden cat"}, "parameters": {"n": 1}}
    server.clock.advance(1)
    blocked = _task_id(api.post(CREATE_PATH, json=body, headers=SUBMIT_HEADERS))
    server.clock.advance(120)
    assert read_task(api, ok)["task_status"] == "SUCCEEDED"
    assert read_task(api, blocked)["code"] == "DataInspectionFailed"


def test_a_malformed_scenario_is_refused_and_the_old_one_stays(
    api: httpx.Client, server: MockServer
) -> None:
    server.set_scenario(["reset; times=once"])
    with pytest.raises(ScenarioError, match=r"`rules\.1\.outcome` must be one of"):
        server.set_scenario(["failed", "explode"])
    response = api.post("/_mockscope/scenarios", json={"rules": [{"outcome": "delay"}]})
    assert response.status_code == 400
    assert response.json()["message"].startswith("Invalid scenario: ")
    assert_service_voice(response.json()["message"])
    kept = api.get("/_mockscope/scenarios").json()["rules"]
    assert [entry["rule"]["outcome"] for entry in kept] == ["reset"]


def test_a_malformed_header_is_a_clear_400(api: httpx.Client, server: MockServer) -> None:
    response = _create(api, "partial; failed=lots")
    assert response.status_code == 400
    assert response.json()["message"] == (
        "Invalid X-Mockscope-Scenario `partial; failed=lots`: "
        "Parameter `rule.failed` must be an integer between 1 and 3."
    )
    assert_service_voice(response.json()["message"].split(":", 1)[1])
    assert server.tasks() == []


def test_the_control_plane_installs_shows_counts_and_clears(api: httpx.Client) -> None:
    rule = {"outcome": "error", "code": "ModelUnavailable", "match": {"operation": "list"}}
    document = {"seed": 3, "rules": [{**rule, "times": {"first": 2}}]}
    installed = api.post("/_mockscope/scenarios", json=document)
    assert installed.status_code == 200
    assert installed.json()["seed"] == 3
    statuses = [api.get("/api/v1/tasks", headers=READ_HEADERS).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    shown = api.get("/_mockscope/scenarios").json()["rules"][0]
    assert (shown["calls"], shown["fired"]) == (3, 2)
    assert api.delete("/_mockscope/scenarios").json() == {"ok": True}
    assert api.get("/_mockscope/scenarios").json()["rules"] == []


def test_reset_restores_the_scenario_the_server_started_with() -> None:
    with validated_server(clock=ManualClock(), scenario=["error; code=SystemError"]) as server:
        server.set_scenario(None)
        server.reset()
        with httpx.Client(base_url=server.url) as api:
            assert api.get("/api/v1/tasks/x", headers=READ_HEADERS).status_code == 500


def test_a_delay_drawn_between_min_and_max_is_released_by_max(
    api: httpx.Client, server: MockServer
) -> None:
    answers: list[httpx.Response] = []
    caller = threading.Thread(target=lambda: answers.append(_create(api, "delay; min=1; max=3")))
    caller.start()
    (held,) = held_answers(server)
    server.clock.advance(0.999)
    settle(server)
    assert not held.done(), "held for at least the minimum"
    server.clock.advance(2.001)
    caller.join(5)
    assert answers[0].status_code == 200


def test_task_outcomes_count_only_the_creates_that_make_a_task(
    api: httpx.Client, server: MockServer
) -> None:
    server.set_scenario(
        [
            {"outcome": "error", "code": "SystemError", "times": "once"},
            {"outcome": "failed", "times": "once"},
        ]
    )
    assert _create(api).status_code == 500, "the error answers; no task, so no task outcome"
    api.get("/api/v1/tasks", headers=READ_HEADERS)  # reads are no creates either
    failed, fine = _task_id(_create(api, n=1)), _task_id(_create(api, n=1))
    server.clock.advance(120)
    assert read_task(api, failed)["task_status"] == "FAILED"
    assert read_task(api, fine)["task_status"] == "SUCCEEDED"
    (error_rule, failed_rule) = api.get("/_mockscope/scenarios").json()["rules"]
    assert (failed_rule["calls"], failed_rule["fired"]) == (2, 1)
    assert error_rule["rule"]["status"] == 500, "shown with the status its code answers"


def test_the_journal_names_the_request_and_the_task_outcome(
    api: httpx.Client, server: MockServer
) -> None:
    server.set_scenario(["delay; seconds=0"])
    task_id = _task_id(_create(api, "partial; failed=1", n=2))
    (entry,) = server.journal.entries(task_id=task_id)
    assert entry.outcome == "delay; seconds=0, partial; code=InternalError.Timeout; failed=1"
    assert server.tasks()[0].declared == "partial; code=InternalError.Timeout; failed=1"
