"""Synchronous calls: held until the task is finished, on the fake's clock, then answered once.

The wan2.2 models answer a create without X-DashScope-Async on text2image (the SDK's
ImageSynthesis.sync_call) with the finished task's body; wan2.6-t2i answers on
multimodal-generation with its choices. Every other model keeps answering 403.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from mockscope import Limits, ManualClock, MockServer, model_catalogue
from tests.support import API_KEY, READ_HEADERS, SUBMIT_HEADERS, validated_server

T2I = "/api/v1/services/aigc/text2image/image-synthesis"
MULTIMODAL = "/api/v1/services/aigc/multimodal-generation/generation"
SYNC_HEADERS = {"Authorization": f"Bearer {API_KEY}"}
WAN26 = {
    "model": "wan2.6-t2i",
    "input": {"messages": [{"role": "user", "content": [{"text": "a cat"}]}]},
    "parameters": {"n": 2, "size": "1024*1536"},
}


def wan22(model: str = "wan2.2-t2i-flash", **parameters: Any) -> dict[str, Any]:
    return {"model": model, "input": {"prompt": "a cat"}, "parameters": {"n": 1, **parameters}}


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=2) as executor:
        yield executor


def held(
    pool: ThreadPoolExecutor, api: httpx.Client, server: MockServer, path: str, body: Any
) -> Future[httpx.Response]:
    """Send a synchronous call from another thread; return once its task exists."""
    before = len(list(server.tasks()))
    answer = pool.submit(api.post, path, json=body, headers=SYNC_HEADERS, timeout=10)
    _until(lambda: len(list(server.tasks())) > before or answer.done())
    return answer


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _still_held(answer: Future[httpx.Response]) -> bool:
    time.sleep(0.05)  # real time, only to give a wrongly released answer the chance to arrive
    return not answer.done()


@pytest.mark.parametrize("model", ["wan2.2-t2i-flash", "wan2.2-t2i-plus"])
def test_wan22_answers_a_sync_call_with_the_finished_task(
    api: httpx.Client, server: MockServer, clock: ManualClock, pool: ThreadPoolExecutor, model: str
) -> None:
    answer = held(pool, api, server, T2I, wan22(model, size="1024*768"))
    assert _still_held(answer)
    clock.advance(1)
    assert _still_held(answer)  # running, not finished
    clock.advance(60)
    response = answer.result(timeout=5)
    assert response.status_code == 200, response.text
    body = response.json()
    output = body["output"]
    assert output["task_status"] == "SUCCEEDED"
    assert output["results"][0]["orig_prompt"] == "a cat"
    assert body["usage"] == {"image_count": 1}
    # A task like any other: readable by id, and listed.
    read = api.get(f"/api/v1/tasks/{output['task_id']}", headers=READ_HEADERS).json()
    assert read["output"] == output
    listed = api.get("/api/v1/tasks", headers=READ_HEADERS).json()["data"]
    assert [item["task_id"] for item in listed] == [output["task_id"]]
    (entry,) = server.journal.entries(operation="create")
    assert (entry.status, entry.task_status, entry.model) == (200, "SUCCEEDED", model)
    assert server.journal.unpolled_tasks() == []  # the answer was its read


def test_a_sync_wan22_task_queues_behind_the_others(
    api: httpx.Client, server: MockServer, clock: ManualClock, pool: ThreadPoolExecutor
) -> None:
    server.set_limits(Limits(concurrency_per_model={"wan2.2-t2i-flash": 1}))
    first = api.post(T2I, json=wan22(), headers=SUBMIT_HEADERS).json()["output"]["task_id"]
    answer = held(pool, api, server, T2I, wan22())
    task = next(t for t in server.tasks() if t.task_id != first)
    end = task.end_ms
    assert end is not None
    clock.set(end - 1)
    assert _still_held(answer)
    clock.advance(0.001)
    assert answer.result(timeout=5).json()["output"]["task_status"] == "SUCCEEDED"


def test_wan26_answers_its_sync_endpoint_with_choices(
    api: httpx.Client, server: MockServer, clock: ManualClock, pool: ThreadPoolExecutor
) -> None:
    answer = held(pool, api, server, MULTIMODAL, WAN26)
    assert _still_held(answer)
    clock.advance(600)
    response = answer.result(timeout=5)
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["output", "usage", "request_id"]
    assert body["output"]["finished"] is True
    assert len(body["output"]["choices"]) == 2
    assert body["usage"] == {
        "image_count": 2,
        "input_tokens": 0,
        "output_tokens": 0,
        "size": "1024*1536",
        "total_tokens": 0,
    }
    url = body["output"]["choices"][1]["message"]["content"][0]["image"]
    assert api.get(url).status_code == 200
    # No task id was handed out: the call is neither listed nor readable.
    (task,) = server.tasks()
    assert api.get("/api/v1/tasks", headers=READ_HEADERS).json()["total"] == 0
    hidden = api.get(f"/api/v1/tasks/{task.task_id}", headers=READ_HEADERS).json()
    assert hidden["output"]["task_status"] == "UNKNOWN"
    listed = api.get("/_mockscope/tasks").json()["accounts"][0]["tasks"][0]
    assert (listed["endpoint"], listed["listed"]) == (MULTIMODAL.removeprefix("/api/v1"), False)


def test_wan26_sync_calls_do_not_wait_in_the_queue(
    api: httpx.Client, server: MockServer, clock: ManualClock, pool: ThreadPoolExecutor
) -> None:
    server.set_limits(Limits(concurrency_per_model={"wan2.6-t2i": 1}))
    queued = [
        api.post(
            "/api/v1/services/aigc/image-generation/generation", json=WAN26, headers=SUBMIT_HEADERS
        ).json()["output"]["task_id"]
        for _ in range(2)
    ]
    answer = held(pool, api, server, MULTIMODAL, WAN26)
    clock.advance(30)  # one run: the second queued task has not ended, the sync call has
    assert answer.result(timeout=5).status_code == 200
    status = api.get(f"/api/v1/tasks/{queued[1]}", headers=READ_HEADERS).json()["output"]
    assert status["task_status"] == "RUNNING"


@pytest.mark.parametrize(
    "model",
    [
        spec.id
        for spec in model_catalogue()
        if spec.id not in ("wan2.2-t2i-flash", "wan2.2-t2i-plus")
    ],
)
def test_every_other_model_refuses_a_sync_call_on_its_async_endpoint(
    api: httpx.Client, model: str
) -> None:
    if model == "wan2.6-t2i":
        path, body = "/api/v1/services/aigc/image-generation/generation", WAN26
    else:
        path, body = T2I, wan22(model)
    response = api.post(path, json=body, headers=SYNC_HEADERS)
    assert response.status_code == 403
    assert response.json() == response.json() | {
        "code": "AccessDenied",
        "message": "current user api does not support synchronous calls",
    }


def test_the_async_header_on_the_sync_endpoint_is_ignored() -> None:
    with validated_server(time="jump") as server, httpx.Client(base_url=server.url) as api:
        response = api.post(MULTIMODAL, json=WAN26, headers=SUBMIT_HEADERS)
    assert response.status_code == 200
    assert "choices" in response.json()["output"]


def test_a_held_answer_is_let_go_by_finish(
    api: httpx.Client, server: MockServer, pool: ThreadPoolExecutor
) -> None:
    server.set_scenario(["never"])
    answer = held(pool, api, server, T2I, wan22())
    assert _still_held(answer)
    (task,) = server.tasks()
    server.finish(task.task_id)
    output = answer.result(timeout=5).json()["output"]
    assert (output["task_id"], output["task_status"]) == (task.task_id, "SUCCEEDED")


def test_a_held_answer_follows_a_cancel(
    api: httpx.Client, server: MockServer, clock: ManualClock, pool: ThreadPoolExecutor
) -> None:
    server.set_limits(Limits(concurrency_per_model={"wan2.2-t2i-plus": 1}))
    api.post(T2I, json=wan22("wan2.2-t2i-plus"), headers=SUBMIT_HEADERS)
    answer = held(pool, api, server, T2I, wan22("wan2.2-t2i-plus"))
    task_id = [t.task_id for t in server.tasks()][-1]
    canceled = api.post(f"/api/v1/tasks/{task_id}/cancel", headers=READ_HEADERS)
    assert canceled.status_code == 200
    assert answer.result(timeout=5).json()["output"]["task_status"] == "CANCELED"


def test_a_failed_task_is_the_sync_answer(
    api: httpx.Client, server: MockServer, clock: ManualClock, pool: ThreadPoolExecutor
) -> None:
    server.set_scenario(["failed; code=DataInspectionFailed"])
    prompt_answer = held(pool, api, server, T2I, wan22())
    clock.advance(60)
    output = prompt_answer.result(timeout=5).json()["output"]
    assert (output["task_status"], output["code"]) == ("FAILED", "DataInspectionFailed")
    messages_answer = held(pool, api, server, MULTIMODAL, WAN26)
    clock.advance(60)
    response = messages_answer.result(timeout=5)
    # No task to carry the failure: it is the error envelope, with the code's status.
    assert response.status_code == 400
    assert response.json()["code"] == "DataInspectionFailed"
    assert response.json()["message"] == "Output data may contain inappropriate content."


def test_request_outcomes_apply_to_sync_calls(
    api: httpx.Client, server: MockServer, clock: ManualClock, pool: ThreadPoolExecutor
) -> None:
    server.set_scenario(["error; code=ModelUnavailable"])
    refused = api.post(MULTIMODAL, json=WAN26, headers=SYNC_HEADERS)
    assert (refused.status_code, refused.json()["code"]) == (503, "ModelUnavailable")
    assert list(server.tasks()) == []
    server.set_scenario(["delay; seconds=5"])
    delayed = pool.submit(api.post, MULTIMODAL, json=WAN26, headers=SYNC_HEADERS, timeout=10)
    assert _still_held(delayed)
    clock.advance(5)  # the delay; then the task is created and runs
    _until(lambda: len(list(server.tasks())) == 1)
    assert _still_held(delayed)
    clock.advance(60)
    assert delayed.result(timeout=5).status_code == 200


def test_a_jumping_clock_answers_at_once_with_live_like_times() -> None:
    with validated_server(time="jump") as server, httpx.Client(base_url=server.url) as api:
        response = api.post(T2I, json=wan22(), headers=SYNC_HEADERS)
    output = response.json()["output"]
    assert output["task_status"] == "SUCCEEDED"
    assert output["end_time"] > output["scheduled_time"] > output["submit_time"]


def test_a_held_answer_does_not_keep_the_server_from_stopping(pool: ThreadPoolExecutor) -> None:
    server = MockServer(clock=ManualClock()).start()
    api = httpx.Client(base_url=server.url)
    try:
        answer = held(pool, api, server, T2I, wan22())
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 5
        with pytest.raises(httpx.HTTPError):
            answer.result(timeout=5).raise_for_status()
    finally:
        api.close()


def test_a_system_clock_lets_the_answer_go_when_the_task_ends() -> None:
    # A realistic clock running 1000x: the ~5 s task ends after ~5 ms of real time.
    with (
        validated_server(time="realistic", time_scale=1000) as server,
        httpx.Client(base_url=server.url) as api,
    ):
        response = api.post(T2I, json=wan22(prompt_extend=False), headers=SYNC_HEADERS)
    output = response.json()["output"]
    assert output["task_status"] == "SUCCEEDED"
    assert output["end_time"] > output["scheduled_time"]
