"""The client's wire behaviour against scripted answers (httpx.MockTransport): what it sends,
how it reads recorded live bodies, how it maps errors, when it retries and when it must not."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from wanx_client import (
    AccessDeniedError,
    AsyncClient,
    AuthenticationError,
    Backoff,
    Client,
    DashScopeError,
    ImageFailure,
    ImageResult,
    InvalidParameterError,
    NetworkError,
    OutcomeUnknown,
    ResponseError,
    ServerError,
    TaskStatus,
    ThrottlingError,
    UnsupportedOperationError,
    WaitTimeout,
)
from wanx_client._models import BEIJING

BASE = "https://dashscope.test/api/v1"
TASK_ID = "9e2b6ef6-285d-4efa-8651-4dbda7d571fa"

# Recorded live bodies (fact sheet §4), ids completed where the sheet elides them.
SUBMITTED = (
    '{"output":{"task_status":"PENDING","task_id":"9e2b6ef6-285d-4efa-8651-4dbda7d571fa"},'
    '"request_id":"33da8e6b-1309-9a44-be83-352165959608"}'
)
RUNNING = (
    '{"request_id":"edbd4e81-d3a6-9e9b-b5b8-2b0c3f0d7a51","output":{"task_id":'
    '"9e2b6ef6-285d-4efa-8651-4dbda7d571fa","task_status":"RUNNING","submit_time":'
    '"2024-03-01 17:38:24.817","scheduled_time":"2024-03-01 17:38:24.831","task_metrics":'
    '{"TOTAL":4,"SUCCEEDED":0,"FAILED":0}}}'
)
_URL = "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com/1d/d4/20240301/8d820c8d/{}.png"
SUCCEEDED = json.dumps(
    {
        "request_id": "6662e925-4846-9afe-a7c2-7c8a2e2e0a7d",
        "output": {
            "task_id": TASK_ID,
            "task_status": "SUCCEEDED",
            "submit_time": "2024-03-01 17:38:24.817",
            "scheduled_time": "2024-03-01 17:38:24.831",
            "end_time": "2024-03-01 17:38:55.565",
            "results": [{"url": _URL.format(k)} for k in range(4)],
            "task_metrics": {"TOTAL": 4, "SUCCEEDED": 4, "FAILED": 0},
        },
        "usage": {"image_count": 4},
    },
    separators=(",", ":"),
)
UNKNOWN = (
    '{"request_id":"85c25460-6440-91a7-b14e-2978fe60bd0f",'
    '"output":{"task_id":"1111","task_status":"UNKNOWN"}}'
)
LISTED = (
    '{"total":1,"data":[{"api_key_id":"42677","caller_parent_id":"1493478651020171",'
    '"caller_uid":"1493478651020171","end_time":1709260685184,"gmt_create":1709260684485,'
    '"model_name":"text-embedding-async-v2","region":"cn-beijing","request_id":'
    '"db5ce040-8bd4-9a1c-a1d2-9b0c1f4e7a11","start_time":1709260684527,"status":"SUCCEEDED",'
    '"task_id":"6075262c-8ec1-4f0e-9a8e-3f5f3f0d2b8c","user_api_unique_key":'
    '"apikey:v1:embeddings:text-embedding:text-embedding:text-embedding-async-v2"}],'
    '"total_page":1,"page_no":1,"request_id":"fcb29ae5-2f8a-9d9e-8b8e-0c3f7d2b1a55",'
    '"page_size":10}'
)
CANCEL_REFUSED = (
    '{"request_id":"4d496c94-1389-9ca9-a92a-3e732f675686","code":"UnsupportedOperation",'
    '"message":"Failed to cancel the task, please confirm if the task is in PENDING status."}'
)
BAD_KEY = (
    '{"code":"InvalidApiKey","message":"Invalid API-key provided.",'
    '"request_id":"a1c0561c-1dfe-98a6-a62f-983577b8bc5e"}'
)

Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def answer(status: int, body: str = "{}", **headers: str) -> httpx.Response:
    return httpx.Response(
        status, content=body.encode(), headers={"Content-Type": "application/json", **headers}
    )


def envelope(status: int, code: str, message: str = "m", **headers: str) -> httpx.Response:
    body = json.dumps({"code": code, "message": message, "request_id": "r-1"})
    return answer(status, body, **headers)


def task_body(status: str, **output: Any) -> str:
    return json.dumps(
        {"request_id": "r", "output": {"task_id": TASK_ID, "task_status": status, **output}}
    )


class Script:
    """Answers requests with the given steps in order (a Response, or an exception to raise)."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert self.steps, f"unexpected request {request.method} {request.url}"
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return step(request)

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        return self(request)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


def make(script: Script, time: FakeTime | None = None, **options: Any) -> Client:
    time = time or FakeTime()
    return Client(
        api_key="sk-test",
        base_url=BASE,
        transport=httpx.MockTransport(script),
        sleep=time.sleep,
        clock=time.clock,
        **options,
    )


def network(kind: type[httpx.TransportError]) -> httpx.TransportError:
    return kind("scripted", request=httpx.Request("GET", BASE))


# -- what is sent ------------------------------------------------------------------------------


def test_submit_sends_the_documented_request() -> None:
    script = Script(answer(200, SUBMITTED))
    with make(script, workspace="ws-123") as client:
        task = client.submit(
            "一只奔跑的猫",
            negative_prompt="低质量",
            ref_img="https://example.com/ref.png",
            style="<sketch>",
            size="1024*1024",
            n=2,
            seed=42,
            ref_strength=0.5,
            ref_mode="repaint",
        )
    assert (task.task_id, task.status) == (TASK_ID, TaskStatus.PENDING)
    assert task.request_id == "33da8e6b-1309-9a44-be83-352165959608"
    (request,) = script.requests
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/services/aigc/text2image/image-synthesis"
    assert request.headers["Authorization"] == "Bearer sk-test"
    assert request.headers["X-DashScope-Async"] == "enable"
    assert request.headers["X-DashScope-WorkSpace"] == "ws-123"
    assert request.headers["Content-Type"].startswith("application/json")
    assert "X-DashScope-OssResourceResolve" not in request.headers
    assert "一只奔跑的猫".encode() in request.content, "raw UTF-8, not \\u escapes"
    assert json.loads(request.content) == {
        "model": "wanx-v1",
        "input": {
            "prompt": "一只奔跑的猫",
            "negative_prompt": "低质量",
            "ref_img": "https://example.com/ref.png",
        },
        "parameters": {
            "style": "<sketch>",
            "size": "1024*1024",
            "n": 2,
            "seed": 42,
            "ref_strength": 0.5,
            "ref_mode": "repaint",
        },
    }


def test_submit_sends_only_the_options_given() -> None:
    script = Script(answer(200, SUBMITTED), answer(200, SUBMITTED))
    with make(script, model="wanx-v1") as client:
        client.submit("a cat")
        client.submit("a cat", seed=0, ref_img="oss://dashscope-instant/x/ref.png")
    plain, with_oss = script.requests
    assert json.loads(plain.content) == {
        "model": "wanx-v1",
        "input": {"prompt": "a cat"},
        "parameters": {},
    }
    assert "X-DashScope-WorkSpace" not in plain.headers
    assert json.loads(with_oss.content)["parameters"] == {"seed": 0}
    assert with_oss.headers["X-DashScope-OssResourceResolve"] == "enable"


def test_an_empty_prompt_is_refused_before_sending() -> None:
    script = Script()
    with make(script) as client, pytest.raises(InvalidParameterError):
        client.submit("  ")
    assert script.requests == []


def test_get_cancel_and_list_requests() -> None:
    start = datetime(2024, 3, 1, 1, 0, tzinfo=UTC)
    script = Script(answer(200, UNKNOWN), answer(200, '{"request_id":"r"}'), answer(200, LISTED))
    with make(script) as client:
        client.get("a/b?c")
        client.cancel(TASK_ID)
        listed = list(
            client.list(
                status=TaskStatus.SUCCEEDED,
                model_name="wanx-v1",
                start_time=start,
                end_time="20240302000000",
                page_size=5,
            )
        )
    get, cancel, page = script.requests
    assert get.url.raw_path == b"/api/v1/tasks/a%2Fb%3Fc"
    assert get.method == "GET"
    assert "X-DashScope-Async" not in get.headers
    assert (cancel.method, cancel.url.path) == ("POST", f"/api/v1/tasks/{TASK_ID}/cancel")
    assert cancel.content == b""
    assert dict(page.url.params) == {
        "page_no": "1",
        "page_size": "5",
        "status": "SUCCEEDED",
        "model_name": "wanx-v1",
        "start_time": "20240301090000",  # 01:00 UTC is 09:00 in Beijing
        "end_time": "20240302000000",
    }
    assert [task.task_id for task in listed] == ["6075262c-8ec1-4f0e-9a8e-3f5f3f0d2b8c"]


def test_list_refuses_bad_arguments_at_the_call() -> None:
    with make(Script()) as client:
        with pytest.raises(InvalidParameterError):
            client.list(page_size=0)
        with pytest.raises(InvalidParameterError, match="timezone"):
            client.list(start_time=datetime(2024, 3, 1))


def test_list_follows_pages_and_skips_tasks_that_moved() -> None:
    def page(no: int, total_page: int, ids: list[str]) -> httpx.Response:
        data = [{"task_id": task_id, "status": "PENDING"} for task_id in ids]
        body = {"total": 9, "data": data, "total_page": total_page, "page_no": no}
        return answer(200, json.dumps({**body, "page_size": 2, "request_id": "r"}))

    # A task created while listing pushes "b" from page 1 onto page 2.
    script = Script(page(1, 2, ["a", "b"]), page(2, 3, ["b", "c"]), page(3, 3, ["d"]))
    with make(script) as client:
        assert [task.task_id for task in client.list(page_size=2)] == ["a", "b", "c", "d"]
    assert [r.url.params["page_no"] for r in script.requests] == ["1", "2", "3"]


def test_a_missing_key_raises_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    with pytest.raises(AuthenticationError) as missing:
        Client(transport=httpx.MockTransport(Script()))
    assert missing.value.status is None


def test_the_default_base_url_is_the_live_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASHSCOPE_HTTP_BASE_URL", raising=False)
    script = Script(answer(200, UNKNOWN))
    with Client(api_key="k", transport=httpx.MockTransport(script)) as client:
        client.get("1111")
    assert str(script.requests[0].url) == "https://dashscope.aliyuncs.com/api/v1/tasks/1111"


def test_an_injected_http_client_is_used_and_left_open() -> None:
    script = Script(answer(200, UNKNOWN))
    http = httpx.Client(transport=httpx.MockTransport(script))
    with Client(api_key="k", base_url=BASE, http_client=http) as client:
        client.get("1111")
    assert not http.is_closed
    http.close()
    with pytest.raises(ValueError, match="not both"):
        Client(api_key="k", http_client=http, transport=httpx.MockTransport(script))


# -- recorded live bodies ----------------------------------------------------------------------


def test_recorded_running_and_succeeded_bodies_parse() -> None:
    script = Script(answer(200, RUNNING), answer(200, SUCCEEDED))
    with make(script) as client:
        running = client.get(TASK_ID)
        done = client.get(TASK_ID)
    assert running.status is TaskStatus.RUNNING
    assert running.submit_time == datetime(2024, 3, 1, 17, 38, 24, 817000, BEIJING)
    assert running.scheduled_time == datetime(2024, 3, 1, 9, 38, 24, 831000, UTC)
    assert running.end_time is None
    assert running.results == ()
    assert running.usage is None
    assert running.metrics is not None
    assert running.metrics.total == 4
    assert done.status is TaskStatus.SUCCEEDED
    assert done.images == tuple(ImageResult(_URL.format(k)) for k in range(4))
    assert done.usage is not None
    assert done.usage.image_count == 4
    assert done.end_time is not None
    assert done.submit_time is not None
    assert done.end_time - done.submit_time == timedelta(seconds=30, milliseconds=748)
    assert done.to_wire() == json.loads(SUCCEEDED)


def test_recorded_unknown_and_list_bodies_parse() -> None:
    script = Script(answer(200, UNKNOWN), answer(200, LISTED))
    with make(script) as client:
        unknown = client.get("1111")
        (listed,) = list(client.list())
    assert (unknown.task_id, unknown.status, unknown.metrics) == ("1111", TaskStatus.UNKNOWN, None)
    assert listed.status is TaskStatus.SUCCEEDED
    assert listed.model_name == "text-embedding-async-v2"
    assert listed.created_at == datetime(2024, 3, 1, 2, 38, 4, 485000, UTC)
    assert listed.ended_at == datetime(2024, 3, 1, 2, 38, 5, 184000, UTC)
    assert (listed.api_key_id, listed.region) == ("42677", "cn-beijing")


def test_a_partial_failure_and_a_failed_task_parse() -> None:
    partial = json.dumps(
        {
            "request_id": "r",
            "output": {
                "task_id": TASK_ID,
                "task_status": "SUCCEEDED",
                "results": [
                    {"url": "https://x/0.png"},
                    {"code": "InternalError.Timeout", "message": "late"},
                ],
                "task_metrics": {"TOTAL": 2, "SUCCEEDED": 1, "FAILED": 1},
                "new_field": {"ignored": True},
            },
            "usage": {"image_count": 1},
        }
    )
    failed = task_body(
        "FAILED",
        code="InvalidParameter",
        message="The size is not match the allowed size ['1024*1024', '720*1280', '1280*720']",
    )
    with make(Script(answer(200, partial), answer(200, failed))) as client:
        got = client.get(TASK_ID)
        assert got.results == (
            ImageResult("https://x/0.png"),
            ImageFailure("InternalError.Timeout", "late"),
        )
        lost = client.get(TASK_ID)
    assert (lost.status, lost.code) == (TaskStatus.FAILED, "InvalidParameter")
    assert lost.message is not None
    assert "allowed size" in lost.message


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("not json", "not JSON"),
        ("[]", "body is not an object"),
        ('{"request_id":"r"}', "body.output is not an object"),
        ('{"output":{"task_id":"t"}}', "task_status is missing"),
        ('{"output":{"task_id":"t","task_status":"DONE"}}', "not a task status"),
        ('{"output":{"task_status":"RUNNING"}}', "task_id is missing"),
        ('{"output":{"task_id":7,"task_status":"RUNNING"}}', "not a string"),
        ('{"output":{"task_id":"t","task_status":"RUNNING","results":{}}}', "not a list"),
        ('{"output":{"task_id":"t","task_status":"RUNNING","results":["u"]}}', "not an object"),
        ('{"output":{"task_id":"t","task_status":"RUNNING","results":[{}]}}', "neither a url"),
        (
            '{"output":{"task_id":"t","task_status":"RUNNING","task_metrics":'
            '{"TOTAL":true,"SUCCEEDED":0,"FAILED":0}}}',
            "not a count",
        ),
        ('{"output":{"task_id":"t","task_status":"RUNNING","submit_time":"yesterday"}}', "time"),
        (
            '{"output":{"task_id":"t","task_status":"RUNNING","submit_time":'
            '"2024-02-30 10:00:00.000"}}',
            "not a real time",
        ),
        (
            '{"output":{"task_id":"t","task_status":"SUCCEEDED"},"usage":{"image_count":-1}}',
            "count",
        ),
    ],
)
def test_garbage_is_a_response_error_saying_what_is_wrong(body: str, problem: str) -> None:
    with make(Script(answer(200, body))) as client, pytest.raises(ResponseError) as garbage:
        client.get("t")
    assert problem in str(garbage.value)
    assert garbage.value.status == 200


# -- error mapping -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "InvalidParameter", InvalidParameterError),
        (400, "BadRequest.EmptyInput", InvalidParameterError),
        (400, "DataInspectionFailed", InvalidParameterError),
        (400, "UnsupportedOperation", UnsupportedOperationError),
        (401, "InvalidApiKey", AuthenticationError),
        (403, "AccessDenied", AccessDeniedError),
        (403, "AccessDenied.Unpurchased", AccessDeniedError),
        (404, "ModelNotFound", DashScopeError),
    ],
)
def test_client_errors_map_by_status_and_are_not_retried(
    status: int, code: str, kind: type[DashScopeError]
) -> None:
    script = Script(envelope(status, code, "why", **{"X-Request-ID": "r-1"}))
    with make(script) as client, pytest.raises(kind) as raised:
        client.submit("a cat")
    assert type(raised.value) is kind
    error = raised.value
    assert (error.status, error.code, error.message, error.request_id) == (
        status,
        code,
        "why",
        "r-1",
    )
    assert len(script.requests) == 1


def test_recorded_error_bodies_map() -> None:
    script = Script(answer(400, CANCEL_REFUSED), answer(401, BAD_KEY))
    with make(script) as client:
        with pytest.raises(UnsupportedOperationError) as refused:
            client.cancel(TASK_ID)
        with pytest.raises(AuthenticationError) as denied:
            client.get(TASK_ID)
    assert refused.value.request_id == "4d496c94-1389-9ca9-a92a-3e732f675686"
    assert denied.value.message == "Invalid API-key provided."
    assert "401 InvalidApiKey" in str(denied.value)


def test_errors_without_an_envelope_keep_what_they_said() -> None:
    html = httpx.Response(502, text="<html>Bad Gateway</html>", headers={"X-Request-ID": "g-1"})
    xml = httpx.Response(
        403,
        text='<?xml version="1.0"?><Error><Code>AccessDenied</Code>'
        "<Message>Request has expired.</Message></Error>",
        headers={"Content-Type": "application/xml"},
    )
    script = Script(html, html, html, xml)
    with make(script) as client:
        with pytest.raises(ServerError) as gateway:
            client.get("t")
        with pytest.raises(AccessDeniedError) as expired:
            client.download("https://oss.test/r/0.png", "/nonexistent/never-written.png")
    assert (gateway.value.code, gateway.value.request_id) == (None, "g-1")
    assert "Bad Gateway" in gateway.value.message
    assert (expired.value.code, expired.value.message) == ("AccessDenied", "Request has expired.")
    assert "Authorization" not in script.requests[-1].headers, "the key never goes to storage"


# -- retries, Retry-After, and the create-never-resent rule ------------------------------------


def test_submit_retries_throttling_honouring_retry_after() -> None:
    time = FakeTime()
    script = Script(
        envelope(429, "Throttling.RateQuota", **{"Retry-After": "7"}), answer(200, SUBMITTED)
    )
    with make(script, time) as client:
        assert client.submit("a cat").task_id == TASK_ID
    assert time.slept == [7]
    assert len(script.requests) == 2


def test_retry_after_as_an_http_date_and_in_milliseconds() -> None:
    time = FakeTime()
    date = "Fri, 01 Mar 2024 09:38:24 GMT"
    later = "Fri, 01 Mar 2024 09:38:27 GMT"
    script = Script(
        envelope(429, "Throttling", **{"Retry-After": later, "Date": date}),
        envelope(429, "Throttling", **{"retry-after-ms": "1500"}),
        answer(200, UNKNOWN),
    )
    with make(script, time) as client:
        client.get("1111")
    assert time.slept == [3, 1.5]


def test_a_retry_after_holds_back_the_next_call_of_that_operation() -> None:
    time = FakeTime()
    throttled = envelope(429, "Throttling.RateQuota", **{"Retry-After": "30"})
    script = Script(throttled, answer(200, UNKNOWN), answer(200, SUBMITTED))
    with make(script, time, max_attempts=1) as client:
        with pytest.raises(ThrottlingError) as raised:
            client.get("1111")
        assert raised.value.retry_after == 30
        client.submit("a cat")  # other operations are not held back
        assert time.slept == []
        time.now += 10
        client.get("1111")
    assert time.slept == [20]


@pytest.mark.parametrize(
    "first",
    [
        envelope(503, "ModelUnavailable"),
        envelope(503, "ModelServingError"),
        envelope(429, "Throttling"),
        network(httpx.ConnectError),
        network(httpx.ConnectTimeout),
    ],
    ids=["503", "503-capacity", "429-no-retry-after", "connect-error", "connect-timeout"],
)
def test_submit_retries_what_proves_nothing_was_created(first: Step) -> None:
    time = FakeTime()
    script = Script(first, answer(200, SUBMITTED))
    with make(script, time) as client:
        assert client.submit("a cat").task_id == TASK_ID
    assert len(script.requests) == 2
    assert time.slept == [1.0]


def test_submit_gives_up_after_max_attempts_saying_nothing_was_created() -> None:
    time = FakeTime()
    script = Script(*[envelope(503, "ModelUnavailable")] * 3)
    with make(script, time) as client, pytest.raises(ServerError):
        client.submit("a cat")
    assert len(script.requests) == 3
    assert time.slept == [1, 1]
    connect = Script(*[network(httpx.ConnectError)] * 3)
    with make(connect) as client, pytest.raises(NetworkError):
        client.submit("a cat")


@pytest.mark.parametrize(
    "failure",
    [
        network(httpx.ReadTimeout),
        network(httpx.ReadError),
        network(httpx.RemoteProtocolError),
        network(httpx.WriteError),
        network(httpx.WriteTimeout),
        envelope(500, "InternalError"),
        envelope(502, "BadGateway"),
        envelope(504, "GatewayTimeout"),
        envelope(408, "RequestTimeOut"),
        answer(200, '{"output":'),
        answer(200, '{"request_id":"r"}'),
    ],
    ids=[
        "read-timeout",
        "read-error",
        "disconnected",
        "write-error",
        "write-timeout",
        "500",
        "502",
        "504",
        "408",
        "200-cut",
        "200-without-task",
    ],
)
def test_a_submit_that_may_have_created_a_task_is_never_resent(failure: Step) -> None:
    time = FakeTime()
    script = Script(failure)  # a second request would fail the Script
    with make(script, time) as client, pytest.raises(OutcomeUnknown) as unknown:
        client.submit("a cat", n=1)
    assert len(script.requests) == 1
    assert unknown.value.operation == "submit"
    assert unknown.value.request == {
        "model": "wanx-v1",
        "input": {"prompt": "a cat"},
        "parameters": {"n": 1},
    }
    assert unknown.value.__cause__ is unknown.value.cause
    assert time.slept == []


def test_a_throttled_submit_then_a_lost_answer_is_unknown_not_resent() -> None:
    script = Script(envelope(429, "Throttling"), network(httpx.ReadTimeout))
    with make(script) as client, pytest.raises(OutcomeUnknown):
        client.submit("a cat")
    assert len(script.requests) == 2


def test_a_cancel_that_may_have_happened_is_never_resent() -> None:
    script = Script(network(httpx.ReadTimeout))
    with make(script) as client, pytest.raises(OutcomeUnknown) as unknown:
        client.cancel(TASK_ID)
    assert (unknown.value.operation, unknown.value.task_id) == ("cancel", TASK_ID)
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    "failure",
    [
        network(httpx.ReadTimeout),
        network(httpx.RemoteProtocolError),
        envelope(500, "InternalError"),
        envelope(502, "BadGateway"),
        envelope(504, "GatewayTimeout"),
    ],
    ids=["read-timeout", "disconnected", "500", "502", "504"],
)
def test_reads_retry_what_submits_must_not(failure: Step) -> None:
    script = Script(failure, answer(200, UNKNOWN))
    with make(script) as client:
        assert client.get("1111").status is TaskStatus.UNKNOWN
    assert len(script.requests) == 2


def test_a_bad_url_is_not_retried() -> None:
    script = Script(network(httpx.UnsupportedProtocol))
    with make(script) as client, pytest.raises(NetworkError):
        client.get("t")
    assert len(script.requests) == 1


# -- wait --------------------------------------------------------------------------------------


def test_wait_keeps_polling_until_a_terminal_status() -> None:
    time = FakeTime()
    script = Script(
        answer(200, task_body("PENDING")),
        answer(200, task_body("RUNNING")),
        answer(200, task_body("SUSPENDED")),
        envelope(503, "ModelUnavailable"),
        network(httpx.ReadError),
        envelope(429, "Throttling", **{"Retry-After": "9"}),
        answer(200, task_body("RUNNING")),
        answer(200, task_body("CANCELED")),
    )
    with make(script, time) as client:
        task = client.wait(TASK_ID)
    assert task.status is TaskStatus.CANCELED
    assert time.slept == [1, 1, 2, 2, 4, 9, 5]


@pytest.mark.parametrize("final", ["SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN"])
def test_wait_stops_at_every_terminal_status(final: str) -> None:
    body = task_body(final, code="X", message="m") if final == "FAILED" else task_body(final)
    script = Script(answer(200, task_body("RUNNING")), answer(200, body))
    with make(script) as client:
        assert client.wait(TASK_ID).status == final


def test_wait_raises_at_once_on_an_error_no_retry_can_fix() -> None:
    script = Script(answer(200, task_body("RUNNING")), answer(401, BAD_KEY))
    with make(script) as client, pytest.raises(AuthenticationError):
        client.wait(TASK_ID)


def test_wait_times_out_at_the_deadline_with_a_last_look() -> None:
    time = FakeTime()
    script = Script(*[answer(200, task_body("RUNNING"))] * 20)
    with make(script, time) as client, pytest.raises(WaitTimeout) as timed_out:
        client.wait(TASK_ID, timeout=10.5)
    assert time.slept == [1, 1, 2, 2, 4, 0.5]
    assert timed_out.value.last is not None
    assert timed_out.value.last.status is TaskStatus.RUNNING
    assert timed_out.value.code == "WaitTaskTimeout"


def test_wait_times_out_early_when_retry_after_passes_the_deadline() -> None:
    time = FakeTime()
    throttled = envelope(429, "Throttling", **{"Retry-After": "60"})
    script = Script(throttled)
    with make(script, time) as client, pytest.raises(WaitTimeout) as timed_out:
        client.wait(TASK_ID, timeout=30)
    assert time.slept == []
    assert isinstance(timed_out.value.last_error, ThrottlingError)


def test_wait_takes_its_own_poll_policy() -> None:
    time = FakeTime()
    script = Script(*[answer(200, task_body("RUNNING"))] * 3, answer(200, task_body("UNKNOWN")))
    policy = Backoff(initial=3, multiplier=1, maximum=3)
    with make(script, time) as client:
        client.wait(TASK_ID, poll=policy, timeout=None)
    assert time.slept == [3, 3, 3]


# -- the async client: same rules ------------------------------------------------------------


def amake(script: Script, time: FakeTime) -> AsyncClient:
    return AsyncClient(
        api_key="sk-test",
        base_url=BASE,
        transport=httpx.MockTransport(script.handle_async),
        sleep=time.asleep,
        clock=time.clock,
    )


@pytest.mark.asyncio
async def test_async_submit_never_resends_an_unknown_outcome() -> None:
    time = FakeTime()
    script = Script(envelope(503, "ModelUnavailable"), network(httpx.RemoteProtocolError))
    async with amake(script, time) as client:
        with pytest.raises(OutcomeUnknown):
            await client.submit("a cat")
    assert len(script.requests) == 2
    assert time.slept == [1]


@pytest.mark.asyncio
async def test_async_wait_and_list() -> None:
    time = FakeTime()
    script = Script(
        answer(200, task_body("RUNNING")),
        envelope(429, "Throttling", **{"Retry-After": "4"}),
        answer(200, SUCCEEDED),
        answer(200, LISTED),
    )
    async with amake(script, time) as client:
        task = await client.wait(TASK_ID)
        listed = [item async for item in client.list()]
    assert task.status is TaskStatus.SUCCEEDED
    assert time.slept == [1, 4]
    assert len(listed) == 1


def test_the_key_stays_out_of_reprs_and_errors() -> None:
    script = Script(network(httpx.ReadError))
    with make(script) as client:
        assert "sk-test" not in repr(client.settings)
        with pytest.raises(OutcomeUnknown) as unknown:
            client.submit("a cat")
    assert "sk-test" not in str(unknown.value)
    assert "ReadError: scripted" in str(unknown.value)


def test_raise_for_status_passes_unfinished_and_succeeded_tasks_through() -> None:
    script = Script(answer(200, RUNNING), answer(200, SUCCEEDED))
    with make(script) as client:
        running = client.get(TASK_ID)
        done = client.get(TASK_ID)
    assert running.raise_for_status() is running
    assert done.raise_for_status() is done
