"""Any model, two protocols, against scripted answers (httpx.MockTransport): text2image
(`input.prompt`, images in `output.results`) and messages (wan2.6: `input.messages`, images in
`output.choices`). What is sent, how both result shapes read, sync and async."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from wanx_client import (
    AsyncClient,
    Client,
    ImageProtocol,
    ImageResult,
    InvalidParameterError,
    OutcomeUnknown,
    ResponseError,
    Task,
    TaskStatus,
    parse_task,
)

BASE = "https://dashscope.test/api/v1"
TASK_ID = "0385dc79-5ff8-4d82-bcb6-2ea4b4e8b1f2"
TEXT2IMAGE_PATH = "/api/v1/services/aigc/text2image/image-synthesis"
MESSAGES_PATH = "/api/v1/services/aigc/image-generation/generation"
V2_MODELS = [
    "wanx2.0-t2i-turbo",
    "wanx2.1-t2i-turbo",
    "wanx2.1-t2i-plus",
    "wan2.2-t2i-flash",
    "wan2.2-t2i-plus",
    "wan2.5-t2i-preview",
]
_URL = "https://dashscope-result-sh.oss-cn-shanghai.aliyuncs.com/1d/7a/20251216/{}.png"
_TIMES = {
    "submit_time": "2025-12-16 00:25:59.869",
    "scheduled_time": "2025-12-16 00:25:59.900",
}
PENDING = {"request_id": "r-0", "output": {"task_id": TASK_ID, "task_status": "PENDING"}}
RUNNING = {
    "request_id": "r-1",
    "output": {
        "task_id": TASK_ID,
        "task_status": "RUNNING",
        **_TIMES,
        "task_metrics": {"TOTAL": 2, "SUCCEEDED": 0, "FAILED": 0},
    },
}
# A finished wan2.6-t2i task: its images are message content, not `results`.
MESSAGES_SUCCEEDED = {
    "request_id": "r-2",
    "output": {
        "task_id": TASK_ID,
        "task_status": "SUCCEEDED",
        **_TIMES,
        "end_time": "2025-12-16 00:26:19.146",
        "finished": True,
        "choices": [
            {
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": [{"image": _URL.format(k), "type": "image"}],
                },
            }
            for k in range(2)
        ],
        "task_metrics": {"TOTAL": 2, "SUCCEEDED": 2, "FAILED": 0},
    },
    "usage": {"image_count": 2, "size": "1280*1280"},
}
TEXT2IMAGE_SUCCEEDED = {
    "request_id": "r-3",
    "output": {
        "task_id": TASK_ID,
        "task_status": "SUCCEEDED",
        **_TIMES,
        "end_time": "2025-12-16 00:26:19.146",
        "results": [{"url": _URL.format(k), "orig_prompt": "a cat"} for k in range(2)],
        "task_metrics": {"TOTAL": 2, "SUCCEEDED": 2, "FAILED": 0},
    },
    "usage": {"image_count": 2},
}


class Script:
    """Answers requests with the given bodies in order (status 200), recording the requests."""

    def __init__(self, *bodies: dict[str, Any]) -> None:
        self.bodies = list(bodies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert self.bodies, f"unexpected request {request.method} {request.url}"
        return httpx.Response(200, json=self.bodies.pop(0))

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        return self(request)


def make(script: Script, model: str, **options: Any) -> Client:
    return Client(
        api_key="sk-test",
        base_url=BASE,
        model=model,
        transport=httpx.MockTransport(script),
        sleep=lambda seconds: None,
        **options,
    )


def amake(script: Script, model: str, **options: Any) -> AsyncClient:
    async def sleep(seconds: float) -> None:
        pass

    return AsyncClient(
        api_key="sk-test",
        base_url=BASE,
        model=model,
        transport=httpx.MockTransport(script.handle_async),
        sleep=sleep,
        **options,
    )


def sent(request: httpx.Request) -> Any:
    return json.loads(request.content)


# -- which protocol a model speaks --------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "protocol"),
    [
        *[(model, ImageProtocol.TEXT2IMAGE) for model in ["wanx-v1", *V2_MODELS]],
        ("wan2.6-t2i", ImageProtocol.MESSAGES),
        ("wan2.6-image", ImageProtocol.MESSAGES),
        ("wan3.0-something-new", ImageProtocol.TEXT2IMAGE),
        ("my-fine-tune", ImageProtocol.TEXT2IMAGE),
    ],
)
def test_the_protocol_follows_the_model_name(model: str, protocol: ImageProtocol) -> None:
    assert ImageProtocol.for_model(model) is protocol
    with make(Script(), model) as client:
        assert client.settings.protocol is protocol


def test_the_protocol_can_be_chosen_for_any_model() -> None:
    script = Script(PENDING, PENDING)
    with make(script, "my-wan-fine-tune", protocol="messages") as client:
        client.submit("a cat")
    with make(script, "wan2.6-t2i", protocol=ImageProtocol.TEXT2IMAGE) as client:
        client.submit("a cat")
    messages, text2image = script.requests
    assert messages.url.path == MESSAGES_PATH
    assert sent(messages)["model"] == "my-wan-fine-tune"
    assert "messages" in sent(messages)["input"]
    assert text2image.url.path == TEXT2IMAGE_PATH
    assert sent(text2image)["input"] == {"prompt": "a cat"}
    with pytest.raises(ValueError, match="ImageProtocol"):
        make(Script(), "wanx-v1", protocol="smoke-signals")


# -- what is sent -------------------------------------------------------------------------------


@pytest.mark.parametrize("model", V2_MODELS)
def test_v2_models_submit_to_text2image_with_their_parameters(model: str) -> None:
    script = Script(PENDING)
    with make(script, model) as client:
        task = client.submit(
            "一只猫",
            negative_prompt="模糊",
            size="1280*720",
            n=2,
            seed=7,
            prompt_extend=False,
            watermark=True,
        )
    assert (task.task_id, task.status) == (TASK_ID, TaskStatus.PENDING)
    (request,) = script.requests
    assert (request.method, request.url.path) == ("POST", TEXT2IMAGE_PATH)
    assert request.headers["X-DashScope-Async"] == "enable"
    assert request.headers["Authorization"] == "Bearer sk-test"
    assert request.headers["Content-Type"].startswith("application/json")
    assert sent(request) == {
        "model": model,
        "input": {"prompt": "一只猫", "negative_prompt": "模糊"},
        "parameters": {
            "size": "1280*720",
            "n": 2,
            "seed": 7,
            "prompt_extend": False,
            "watermark": True,
        },
    }


def test_wan26_submits_messages_to_image_generation() -> None:
    script = Script(PENDING, PENDING)
    with make(script, "wan2.6-t2i") as client:
        assert client.submit("a cat", size="1280*1280", n=1).task_id == TASK_ID
        client.submit("a cat", negative_prompt="blurry", seed=3, watermark=False)
    plain, negative = script.requests
    assert (plain.method, plain.url.path) == ("POST", MESSAGES_PATH)
    assert plain.headers["X-DashScope-Async"] == "enable"
    assert plain.headers["Authorization"] == "Bearer sk-test"
    assert plain.headers["Content-Type"].startswith("application/json")
    assert sent(plain) == {
        "model": "wan2.6-t2i",
        "input": {"messages": [{"role": "user", "content": [{"text": "a cat"}]}]},
        "parameters": {"size": "1280*1280", "n": 1},
    }
    assert sent(negative)["input"] == {
        "messages": [{"role": "user", "content": [{"text": "a cat"}]}]
    }
    assert sent(negative)["parameters"] == {
        "seed": 3,
        "watermark": False,
        "negative_prompt": "blurry",
    }


def test_extra_parameters_are_sent_as_given() -> None:
    script = Script(PENDING, PENDING)
    extra = {"size": "1024*1024", "new_knob": {"level": 2}, "unset": None}
    with make(script, "wan2.5-t2i-preview") as client:
        client.submit("a cat", n=1, parameters=extra)
    with make(script, "wan2.6-t2i") as client:
        client.submit("a cat", parameters={"negative_prompt": "blurry", "max_images": 1})
    text2image, messages = script.requests
    assert sent(text2image)["parameters"] == {"n": 1, "size": "1024*1024", "new_knob": {"level": 2}}
    assert sent(messages)["parameters"] == {"negative_prompt": "blurry", "max_images": 1}


def test_wanx_v1_options_still_go_where_they_went() -> None:
    script = Script(PENDING)
    with make(script, "wanx-v1") as client:
        client.submit(
            "a cat",
            ref_img="https://example.com/ref.png",
            style="<watercolor>",
            ref_strength=0.3,
            ref_mode="refonly",
        )
    (request,) = script.requests
    assert request.url.path == TEXT2IMAGE_PATH
    assert sent(request) == {
        "model": "wanx-v1",
        "input": {"prompt": "a cat", "ref_img": "https://example.com/ref.png"},
        "parameters": {"style": "<watercolor>", "ref_strength": 0.3, "ref_mode": "refonly"},
    }


def test_what_cannot_be_sent_is_refused_before_sending() -> None:
    script = Script()
    with make(script, "wan2.6-t2i") as client:
        with pytest.raises(InvalidParameterError, match="ref_img"):
            client.submit("a cat", ref_img="https://example.com/ref.png")
        with pytest.raises(InvalidParameterError, match="negative_prompt is given twice"):
            client.submit("a cat", negative_prompt="x", parameters={"negative_prompt": "y"})
        with pytest.raises(InvalidParameterError, match="prompt"):
            client.submit(" ")
    with make(script, "wan2.2-t2i-flash") as client, pytest.raises(InvalidParameterError):
        client.submit("a cat", n=1, parameters={"n": 2})
    assert script.requests == []


def test_an_unknown_outcome_reports_the_messages_body() -> None:
    def lost(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("scripted", request=request)

    with (
        Client(
            api_key="k", base_url=BASE, model="wan2.6-t2i", transport=httpx.MockTransport(lost)
        ) as client,
        pytest.raises(OutcomeUnknown) as unknown,
    ):
        client.submit("a cat", n=1)
    assert unknown.value.request == {
        "model": "wan2.6-t2i",
        "input": {"messages": [{"role": "user", "content": [{"text": "a cat"}]}]},
        "parameters": {"n": 1},
    }


# -- how both result shapes read ----------------------------------------------------------------


def test_a_wan26_task_is_polled_at_tasks_and_its_images_read_from_choices() -> None:
    script = Script(PENDING, PENDING, RUNNING, MESSAGES_SUCCEEDED)
    with make(script, "wan2.6-t2i") as client:
        task = client.wait(client.submit("a cat", n=2)).raise_for_status()
    submit, *polls = script.requests
    assert submit.url.path == MESSAGES_PATH
    assert [(poll.method, poll.url.path) for poll in polls] == [
        ("GET", f"/api/v1/tasks/{TASK_ID}")
    ] * 3
    assert all("X-DashScope-Async" not in poll.headers for poll in polls)
    assert task.status is TaskStatus.SUCCEEDED
    assert task.image_urls == (_URL.format(0), _URL.format(1))
    assert task.images == (ImageResult(_URL.format(0)), ImageResult(_URL.format(1)))
    assert task.failures == ()
    assert task.protocol is ImageProtocol.MESSAGES
    assert task.metrics is not None
    assert (task.metrics.total, task.metrics.succeeded) == (2, 2)
    assert task.usage is not None
    assert task.usage.image_count == 2
    assert task.end_time is not None


def test_both_result_shapes_give_the_same_image_urls() -> None:
    messages = parse_task(MESSAGES_SUCCEEDED)
    text2image = parse_task(TEXT2IMAGE_SUCCEEDED)
    assert messages.image_urls == text2image.image_urls == (_URL.format(0), _URL.format(1))
    assert (messages.protocol, text2image.protocol) == (
        ImageProtocol.MESSAGES,
        ImageProtocol.TEXT2IMAGE,
    )
    assert parse_task(RUNNING).protocol is None


@pytest.mark.parametrize("body", [MESSAGES_SUCCEEDED, TEXT2IMAGE_SUCCEEDED])
def test_a_task_reserialises_in_the_shape_it_was_read_in(body: dict[str, Any]) -> None:
    task = parse_task(body)
    wire = task.to_wire()
    listed_in = "choices" if task.protocol is ImageProtocol.MESSAGES else "results"
    assert set(wire["output"]) & {"choices", "results"} == {listed_in}
    assert parse_task(json.loads(json.dumps(wire))) == task


def test_message_content_that_is_not_an_image_is_skipped() -> None:
    body = json.loads(json.dumps(MESSAGES_SUCCEEDED))
    body["output"]["choices"][0]["message"]["content"].insert(
        0, {"type": "text", "text": "Here is your cat."}
    )
    assert parse_task(body).image_urls == (_URL.format(0), _URL.format(1))


@pytest.mark.parametrize(
    ("choices", "problem"),
    [
        ([{"message": {"content": [{"type": "image"}]}}], "image without a URL"),
        ([{"message": {"content": [{"image": 42, "type": "image"}]}}], "not a string"),
        ([{"finish_reason": "stop"}], "output.choices[0].message is not an object"),
        ({"message": {}}, "output.choices is not a list"),
    ],
)
def test_garbled_choices_are_a_response_error(choices: object, problem: str) -> None:
    body = {"output": {"task_id": "t", "task_status": "SUCCEEDED", "choices": choices}}
    with pytest.raises(ResponseError) as garbled:
        parse_task(body)
    assert problem in str(garbled.value)


# -- the async client: the same requests and results --------------------------------------------


@pytest.mark.asyncio
async def test_async_wan26_submit_wait_and_results() -> None:
    script = Script(PENDING, RUNNING, MESSAGES_SUCCEEDED)
    async with amake(script, "wan2.6-t2i") as client:
        task: Task = await client.wait(
            await client.submit("a cat", size="1280*1280", n=1, negative_prompt="blurry")
        )
    submit, *polls = script.requests
    assert (submit.method, submit.url.path) == ("POST", MESSAGES_PATH)
    assert submit.headers["X-DashScope-Async"] == "enable"
    assert sent(submit) == {
        "model": "wan2.6-t2i",
        "input": {"messages": [{"role": "user", "content": [{"text": "a cat"}]}]},
        "parameters": {"size": "1280*1280", "n": 1, "negative_prompt": "blurry"},
    }
    assert [poll.url.path for poll in polls] == [f"/api/v1/tasks/{TASK_ID}"] * 2
    assert task.image_urls == (_URL.format(0), _URL.format(1))


@pytest.mark.asyncio
async def test_async_v2_submit_and_text2image_results() -> None:
    script = Script(PENDING, TEXT2IMAGE_SUCCEEDED)
    async with amake(script, "wan2.2-t2i-plus") as client:
        submitted = await client.submit("a cat", n=2, prompt_extend=True, parameters={"x": 1})
        task = await client.wait(submitted)
    submit, poll = script.requests
    assert (submit.method, submit.url.path) == ("POST", TEXT2IMAGE_PATH)
    assert submit.headers["X-DashScope-Async"] == "enable"
    assert sent(submit) == {
        "model": "wan2.2-t2i-plus",
        "input": {"prompt": "a cat"},
        "parameters": {"n": 2, "prompt_extend": True, "x": 1},
    }
    assert poll.url.path == f"/api/v1/tasks/{TASK_ID}"
    assert task.protocol is ImageProtocol.TEXT2IMAGE
    assert task.image_urls == (_URL.format(0), _URL.format(1))
