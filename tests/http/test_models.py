"""Every model of the catalogue over HTTP: rules, defaults, result fields, limits and errors.

Expectations are read from schemas/catalogue/models.json (through the built-in catalogue), so
a change of the data moves the tests with it; the few literal values are the documented ones
the issue names (defaults, limits, messages).
"""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image

from mockscope import Limits, ManualClock, MockServer, model_catalogue
from mockscope.domain.models import PerSide
from tests.support import API_KEY, READ_HEADERS, SUBMIT_HEADERS, validated_server

CATALOGUE = model_catalogue()
T2I = "/api/v1/services/aigc/text2image/image-synthesis"
GENERATION = "/api/v1/services/aigc/image-generation/generation"
MULTIMODAL = "/api/v1/services/aigc/multimodal-generation/generation"
PROMPT_MODELS = [spec.id for spec in CATALOGUE if spec.protocol == "prompt"]
V2_PROMPT_MODELS = [m for m in PROMPT_MODELS if m != "wanx-v1"]
SYNC_HEADERS = {"Authorization": f"Bearer {API_KEY}"}


def body_for(model: str, prompt: str = "a cat", **parameters: Any) -> dict[str, Any]:
    """A create body in the model's protocol, the negative prompt where the model takes it."""
    spec = CATALOGUE[model]
    if spec.protocol == "prompt":
        return {"model": model, "input": {"prompt": prompt}, "parameters": parameters}
    message = {"role": "user", "content": [{"text": prompt}]}
    return {"model": model, "input": {"messages": [message]}, "parameters": parameters}


def path_for(model: str) -> str:
    return T2I if CATALOGUE[model].protocol == "prompt" else GENERATION


def create(api: httpx.Client, model: str, prompt: str = "a cat", **parameters: Any) -> str:
    response = api.post(
        path_for(model), json=body_for(model, prompt, **parameters), headers=SUBMIT_HEADERS
    )
    assert response.status_code == 200, response.text
    assert response.json()["output"]["task_status"] == "PENDING"
    task_id: str = response.json()["output"]["task_id"]
    return task_id


def read(api: httpx.Client, task_id: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/tasks/{task_id}", headers=READ_HEADERS)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def image_urls(output: dict[str, Any]) -> list[str]:
    if "choices" in output:
        return [c["message"]["content"][0]["image"] for c in output["choices"]]
    return [item["url"] for item in output.get("results", []) if "url" in item]


# -- defaults --------------------------------------------------------------------------------


@pytest.mark.parametrize("model", CATALOGUE.ids())
def test_defaults_n_and_size(api: httpx.Client, clock: ManualClock, model: str) -> None:
    spec = CATALOGUE[model]
    task_id = create(api, model)
    clock.advance(600)
    body = read(api, task_id)
    output = body["output"]
    assert output["task_status"] == "SUCCEEDED"
    urls = image_urls(output)
    assert len(urls) == spec.n_default == 4
    expected = {"wan2.5-t2i-preview": "1280*1280", "wan2.6-t2i": "1280*1280"}.get(
        model, "1024*1024"
    )
    assert spec.size.default == expected
    width, height = map(int, expected.split("*"))
    png = Image.open(io.BytesIO(api.get(urls[-1]).content))
    assert png.size == (width, height)
    if spec.result.shape == "choices":
        assert body["usage"]["size"] == expected
        assert body["usage"]["image_count"] == 4
    else:
        assert output["task_metrics"] == {"TOTAL": 4, "SUCCEEDED": 4, "FAILED": 0}


# -- sizes: inside, on the boundary, outside --------------------------------------------------

PER_SIDE_MODELS = [spec.id for spec in CATALOGUE if isinstance(spec.size, PerSide)]
#: (model, size, inside): every rule kind, its boundaries and just past them.
SIZES = [
    ("wanx-v1", "1024*1024", True),
    ("wanx-v1", "720*1280", True),
    ("wanx-v1", "768*1152", True),
    ("wanx-v1", "1280*720", True),
    ("wanx-v1", "1024*1023", False),
    ("wanx-v1", "1280*1280", False),
    *[
        case
        for model in PER_SIDE_MODELS
        for case in [
            (model, "1024*1024", True),
            (model, "512*512", True),  # both sides on the lower bound
            (model, "1440*1440", True),  # both on the upper bound, pixels on the cap
            (model, "512*1440", True),
            (model, "511*1024", False),
            (model, "1024*1441", False),
            (model, "768*2700", False),  # the docs' counter-example for 2.2 and below
        ]
    ],
    *[
        case
        for model in ("wan2.5-t2i-preview", "wan2.6-t2i")
        for case in [
            (model, "1280*1280", True),
            (model, "768*2700", True),  # the docs' example
            (model, "768*768", True),  # the lower pixel bound
            (model, "1440*1440", True),  # the upper pixel bound
            (model, "720*2880", True),  # aspect exactly 1:4
            (model, "2880*720", True),  # aspect exactly 4:1
            (model, "767*768", False),  # one pixel row short
            (model, "1440*1441", False),  # one pixel row over
            (model, "700*2801", False),  # aspect past 1:4
            (model, "1280x1280", False),  # not W*H
        ]
    ],
]


@pytest.mark.parametrize(("model", "size", "inside"), SIZES)
def test_size_rules(
    api: httpx.Client, clock: ManualClock, model: str, size: str, inside: bool
) -> None:
    spec = CATALOGUE[model]
    task_id = create(api, model, size=size, n=1)  # accepted at submit either way, as live
    clock.advance(600)
    body = read(api, task_id)
    output = body["output"]
    if inside:
        assert output["task_status"] == "SUCCEEDED"
        png = Image.open(io.BytesIO(api.get(image_urls(output)[0]).content))
        assert png.size == tuple(map(int, size.split("*")))  # rendered at the requested size
        return
    violation = spec.size.violation
    assert output["task_status"] == "FAILED"
    assert (output["code"], output["message"]) == (violation.code, violation.message)
    if spec.result.task_metrics:
        assert output["task_metrics"] == {"TOTAL": 1, "SUCCEEDED": 0, "FAILED": 1}


def test_the_wanx_v1_size_message_is_the_documented_one(
    api: httpx.Client, clock: ManualClock
) -> None:
    task_id = create(api, "wanx-v1", size="2048*2048")
    clock.advance(60)
    assert read(api, task_id)["output"]["message"] == (
        "The size is not match the allowed size ['1024*1024', '720*1280', '1280*720']"
    )


def test_a_wan26_sync_call_outside_the_size_rule_is_an_error() -> None:
    with validated_server(time="jump") as server, httpx.Client(base_url=server.url) as api:
        response = api.post(
            MULTIMODAL, json=body_for("wan2.6-t2i", size="4000*4000", n=1), headers=SYNC_HEADERS
        )
    # No task to fail: the rule's code and message come back as the error (the catalogue's
    # inference for the synchronous endpoint).
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParameter"
    assert response.json()["message"] == CATALOGUE["wan2.6-t2i"].size.violation.message


# -- prompts: truncation, orig_prompt, actual_prompt --------------------------------------------


@pytest.mark.parametrize("model", CATALOGUE.ids())
def test_prompts_are_truncated_at_the_models_limit(
    api: httpx.Client, server: MockServer, model: str
) -> None:
    spec = CATALOGUE[model]
    expected = {
        "wanx-v1": 800,
        "wanx2.0-t2i-turbo": 800,
        "wanx2.1-t2i-turbo": 800,
        "wanx2.1-t2i-plus": 800,
        "wan2.2-t2i-flash": 500,
        "wan2.2-t2i-plus": 500,
        "wan2.5-t2i-preview": 2000,
        "wan2.6-t2i": 2100,
    }[model]
    assert spec.prompt_max == expected
    prompt = "猫" * (expected + 37)
    negative = "狗" * 600
    body = body_for(model, prompt, n=1)
    where = body["input"] if spec.negative_prompt_in == "input" else body["parameters"]
    where["negative_prompt"] = negative
    response = api.post(path_for(model), json=body, headers=SUBMIT_HEADERS)
    assert response.status_code == 200, response.text
    (task,) = server.tasks()
    assert len(task.request.prompt) == expected
    assert task.request.negative_prompt is not None
    assert len(task.request.negative_prompt) == spec.negative_prompt_max == 500


@pytest.mark.parametrize("model", V2_PROMPT_MODELS)
@pytest.mark.parametrize("extend", [None, True, False])
def test_prompt_extend_shows_in_the_results(
    api: httpx.Client, clock: ManualClock, model: str, extend: bool | None
) -> None:
    parameters: dict[str, Any] = {"n": 2}
    if extend is not None:
        parameters["prompt_extend"] = extend
    task_id = create(api, model, "一间花店", **parameters)
    clock.advance(600)
    output = read(api, task_id)["output"]
    assert output["task_status"] == "SUCCEEDED"
    for result in output["results"]:
        assert result["orig_prompt"] == "一间花店"  # always
        if extend is False:
            assert "actual_prompt" not in result
        else:  # on by default
            assert result["actual_prompt"].startswith("一间花店")
            assert result["actual_prompt"] != "一间花店"
        assert list(result)[-1] == "url"  # documented order: orig, actual, url
        assert "Signature=" in result["url"]


def test_wanx_v1_results_carry_only_a_url(api: httpx.Client, clock: ManualClock) -> None:
    task_id = create(api, "wanx-v1", n=1, prompt_extend=True)  # unknown to wanx-v1: ignored
    clock.advance(60)
    (result,) = read(api, task_id)["output"]["results"]
    assert list(result) == ["url"]


def test_prompt_extend_takes_its_documented_time(api: httpx.Client, server: MockServer) -> None:
    model = "wanx2.1-t2i-turbo"
    on, off = create(api, model, n=1), create(api, model, n=1, prompt_extend=False)
    runs = {task.task_id: (task.end_ms or 0) - task.scheduled_ms for task in server.tasks()}
    timing = CATALOGUE[model].timing
    assert runs[on] == timing.run_ms(1) + timing.prompt_extend_ms
    assert runs[off] == timing.run_ms(1)
    assert timing.prompt_extend_ms == 3_500


def test_the_documented_wanx21_turbo_timing_is_reproduced(
    api: httpx.Client, clock: ManualClock
) -> None:
    task_id = create(api, "wanx2.1-t2i-turbo", n=1)
    clock.advance(600)
    output = read(api, task_id)["output"]
    # Documented: scheduled +23 ms, end +10.8 s (n=1, prompt_extend on).
    assert output["scheduled_time"].endswith(":24.023")
    assert output["end_time"] == "2024-03-01 17:38:35.623"


# -- limits: tasks in progress and submissions, per account and model ---------------------------


@pytest.mark.parametrize(
    ("model", "in_progress"),
    [("wanx-v1", 1), ("wanx2.1-t2i-turbo", 2), ("wan2.2-t2i-flash", 2), ("wan2.5-t2i-preview", 5)],
)
def test_tasks_in_progress_per_model(model: str, in_progress: int) -> None:
    clock = ManualClock()
    with (
        validated_server(clock=clock, limits=Limits.unlimited()) as server,
        httpx.Client(base_url=server.url) as api,
    ):
        ids = [create(api, model, n=1) for _ in range(in_progress + 1)]
        clock.advance(1)
        statuses = [read(api, task_id)["output"]["task_status"] for task_id in ids]
    assert CATALOGUE[model].limits.tasks_in_progress == in_progress
    assert statuses == ["RUNNING"] * in_progress + ["PENDING"]


def test_each_model_has_a_queue_of_its_own(api: httpx.Client, clock: ManualClock) -> None:
    first, second = create(api, "wanx-v1", n=1), create(api, "wanx-v1", n=1)
    other = create(api, "wanx2.1-t2i-turbo", n=1)
    clock.advance(1)
    statuses = [read(api, t)["output"]["task_status"] for t in (first, second, other)]
    assert statuses == ["RUNNING", "PENDING", "RUNNING"]


def test_a_cancel_moves_up_only_its_models_queue(api: httpx.Client, clock: ManualClock) -> None:
    running = [create(api, "wanx2.1-t2i-turbo", n=1) for _ in range(2)]
    clock.advance(1)  # both run: the model runs 2 at a time, and takes 2 submissions a second
    waiting = create(api, "wanx2.1-t2i-turbo", n=1)
    assert api.post(f"/api/v1/tasks/{waiting}/cancel", headers=READ_HEADERS).status_code == 200
    assert [read(api, t)["output"]["task_status"] for t in running] == ["RUNNING", "RUNNING"]
    assert read(api, waiting)["output"]["task_status"] == "CANCELED"


@pytest.mark.parametrize(("model", "qps"), [("wanx-v1", 2), ("wan2.2-t2i-plus", 2)])
def test_submissions_per_second_per_model(
    api: httpx.Client, model: str, qps: int, clock: ManualClock
) -> None:
    statuses = [
        api.post(path_for(model), json=body_for(model, n=1), headers=SUBMIT_HEADERS).status_code
        for _ in range(qps + 1)
    ]
    assert statuses == [200] * qps + [429]
    # Another model's window is its own.
    other = "wan2.5-t2i-preview" if model != "wan2.5-t2i-preview" else "wanx-v1"
    assert create(api, other, n=1)


def test_wan25_and_wan26_take_five_submissions_a_second(api: httpx.Client) -> None:
    for model in ("wan2.5-t2i-preview", "wan2.6-t2i"):
        statuses = [
            api.post(path_for(model), json=body_for(model, n=1), headers=SUBMIT_HEADERS)
            for _ in range(6)
        ]
        assert [r.status_code for r in statuses] == [200] * 5 + [429]
        assert statuses[-1].json()["code"] == "Throttling.RateQuota"


def test_limits_can_be_set_per_model(api: httpx.Client, server: MockServer) -> None:
    server.set_limits(Limits(concurrency_per_model={"wanx-v1": 2}))
    ids = [create(api, "wanx-v1", n=1) for _ in range(2)]
    server.clock.advance(1)
    assert [read(api, t)["output"]["task_status"] for t in ids] == ["RUNNING", "RUNNING"]


# -- errors as the live service answers them -----------------------------------------------------

WRONG_MODEL_CASES = [
    (T2I, "wanx-v9", "Model not exist."),
    (GENERATION, "no-such-model", "Model not exist."),
    (MULTIMODAL, "wan9-t2i", "Model not exist."),
    (T2I, "wan2.6-t2i", "url error, please check url！"),
    (GENERATION, "wanx-v1", "url error, please check url！"),
    (GENERATION, "wan2.2-t2i-flash", "url error, please check url！"),
    (MULTIMODAL, "wanx-v1", "url error, please check url！"),
    (MULTIMODAL, "wan2.5-t2i-preview", "url error, please check url！"),
]


@pytest.mark.parametrize(("path", "model", "message"), WRONG_MODEL_CASES)
def test_wrong_models_get_the_live_answers(
    api: httpx.Client, server: MockServer, path: str, model: str, message: str
) -> None:
    message_body = {"role": "user", "content": [{"text": "x"}]}
    body = {"model": model, "input": {"prompt": "x", "messages": [message_body]}}
    response = api.post(path, json=body, headers=SUBMIT_HEADERS)
    assert response.status_code == 400
    error = response.json()
    assert (error["code"], error["message"]) == ("InvalidParameter", message)
    assert response.headers["X-Request-ID"] == error["request_id"]
    assert list(server.tasks()) == []


def test_ip_infringement_is_available_to_scenarios(api: httpx.Client, server: MockServer) -> None:
    server.set_scenario(["error; code=IPInfringementSuspect"])
    response = api.post(T2I, json=body_for("wan2.2-t2i-plus"), headers=SUBMIT_HEADERS)
    assert response.status_code == 400
    assert response.json()["code"] == "IPInfringementSuspect"
    assert response.json()["message"] == (
        "Input data is suspected of being involved in IP infringement."
    )
    server.set_scenario([{"outcome": "failed", "code": "IPInfringementSuspect"}])
    task_id = create(api, "wan2.6-t2i", n=1)
    server.clock.advance(600)
    output = read(api, task_id)["output"]
    assert (output["task_status"], output["code"]) == ("FAILED", "IPInfringementSuspect")


def test_rules_can_match_by_model(api: httpx.Client, server: MockServer) -> None:
    server.set_scenario(
        [{"outcome": "failed", "code": "DataInspectionFailed", "match": {"model": "wan2.6-t2i"}}]
    )
    failing, fine = create(api, "wan2.6-t2i", n=1), create(api, "wanx-v1", n=1)
    server.clock.advance(600)
    assert read(api, failing)["output"]["task_status"] == "FAILED"
    assert read(api, fine)["output"]["task_status"] == "SUCCEEDED"
    rule = api.get("/_mockscope/scenarios").json()["rules"][0]
    assert rule["rule"]["match"] == {"model": ["wan2.6-t2i"]}
    assert (rule["calls"], rule["fired"]) == (1, 1)


@pytest.mark.parametrize("model", ["wanx2.1-t2i-turbo", "wan2.6-t2i"])
def test_partial_and_suspended_work_for_every_shape(
    api: httpx.Client, server: MockServer, model: str
) -> None:
    server.set_scenario(["partial; failed=1"])
    task_id = create(api, model, n=2)
    server.clock.advance(600)
    body = read(api, task_id)
    assert body["output"]["task_status"] == "SUCCEEDED"
    assert len(image_urls(body["output"])) == 1
    assert body["usage"]["image_count"] == 1
    server.set_scenario(["suspended; after=1; for=60"])
    suspended = create(api, model, n=1)
    server.clock.advance(5)
    assert read(api, suspended)["output"]["task_status"] == "SUSPENDED"


def test_the_alias_spelling_is_served_as_its_model(api: httpx.Client, server: MockServer) -> None:
    create(api, "wan2.1-t2i-turbo", n=1)
    (task,) = server.tasks()
    assert task.request.model == "wanx2.1-t2i-turbo"


def test_unknown_parameters_are_ignored(api: httpx.Client, clock: ManualClock) -> None:
    # The SDK's ImageGeneration.async_call sends its own `is_async`; style is wanx-v1's only.
    task_id = create(api, "wan2.6-t2i", n=1, is_async=True, style="<anime>")
    clock.advance(600)
    assert read(api, task_id)["output"]["task_status"] == "SUCCEEDED"


# -- bad input on the new endpoints -------------------------------------------------------------


def _wan26(**change: Any) -> dict[str, Any]:
    body = body_for("wan2.6-t2i", n=1)
    for where, value in change.items():
        *parents, leaf = where.split("__")
        node = body
        for part in parents:
            node = node[part]
        if value is ...:
            del node[leaf]
        else:
            node[leaf] = value
    return body


def _message(*content: dict[str, Any], role: str = "user") -> list[dict[str, Any]]:
    return [{"role": role, "content": list(content)}]


BAD_GENERATION_BODIES = [
    pytest.param(b"{not json", 400, "BadRequest.IllegalInput", id="not-json"),
    pytest.param(_wan26(model=...), 400, "BadRequest.EmptyModel", id="no-model"),
    pytest.param(_wan26(input=...), 400, "BadRequest.EmptyInput", id="no-input"),
    pytest.param(_wan26(input__messages=[]), 400, "BadRequest.EmptyInput", id="no-messages"),
    pytest.param(
        _wan26(input__messages=_message({"text": ""})), 400, "BadRequest.EmptyInput", id="empty"
    ),
    pytest.param(_wan26(input__messages="a cat"), 400, "InvalidParameter", id="messages-text"),
    pytest.param(
        _wan26(input__messages=_message({"text": "a"}) * 2), 400, "InvalidParameter", id="two"
    ),
    pytest.param(
        _wan26(input__messages=_message({"text": "a"}, role="assistant")),
        400,
        "InvalidParameter",
        id="assistant",
    ),
    pytest.param(
        _wan26(input__messages=_message({"text": "a"}, {"text": "b"})),
        400,
        "InvalidParameter",
        id="two-texts",
    ),
    pytest.param(
        _wan26(input__messages=_message({"text": "a"}, {"image": "https://x/y.png"})),
        400,
        "InvalidParameter",
        id="image-item",
    ),
    pytest.param(_wan26(parameters__n=5), 400, "InvalidParameter", id="n-5"),
    pytest.param(_wan26(parameters__seed=-1), 400, "InvalidParameter", id="seed"),
    pytest.param(_wan26(parameters__prompt_extend="yes"), 400, "InvalidParameter", id="extend"),
    pytest.param(_wan26(parameters__negative_prompt=3), 400, "InvalidParameter", id="negative"),
    pytest.param(_wan26(parameters__size=1280), 400, "InvalidParameter", id="size-number"),
    pytest.param(_wan26(model="wanx-v1"), 400, "InvalidParameter", id="wrong-model"),
]


@pytest.mark.parametrize("path", [GENERATION, MULTIMODAL])
@pytest.mark.parametrize(("body", "status", "code"), BAD_GENERATION_BODIES)
def test_bad_input_on_the_new_endpoints(
    api: httpx.Client, server: MockServer, path: str, body: object, status: int, code: str
) -> None:
    kept = create(api, "wan2.6-t2i", n=1)
    before = read(api, kept)["output"]
    content = body if isinstance(body, bytes) else None
    headers = SUBMIT_HEADERS if path == GENERATION else SYNC_HEADERS
    response = api.post(path, content=content, json=None if content else body, headers=headers)
    assert response.status_code == status, response.text
    error = response.json()
    assert error["code"] == code
    assert error["message"]
    assert response.headers["X-Request-ID"] == error["request_id"]
    assert [task.task_id for task in server.tasks()] == [kept]
    assert read(api, kept)["output"] == before


def test_the_messages_rules_say_what_is_wrong(api: httpx.Client) -> None:
    two = api.post(
        GENERATION, json=_wan26(input__messages=_message({"text": "a"}) * 2), headers=SUBMIT_HEADERS
    )
    assert two.json()["message"] == CATALOGUE.errors["messages_count"].message
    texts = api.post(
        GENERATION,
        json=_wan26(input__messages=_message({"text": "a"}, {"text": "b"})),
        headers=SUBMIT_HEADERS,
    )
    assert texts.json()["message"] == CATALOGUE.errors["messages_text_count"].message


def test_the_async_endpoint_needs_the_header(api: httpx.Client) -> None:
    response = api.post(GENERATION, json=_wan26(), headers=SYNC_HEADERS)
    assert response.status_code == 403
    assert response.json()["message"] == "current user api does not support synchronous calls"


# -- wan2.6-t2i tasks: read, cancel, list, expire like every task --------------------------------


def test_a_wan26_task_lives_as_every_task(api: httpx.Client, clock: ManualClock) -> None:
    task_id = create(api, "wan2.6-t2i", n=2, size="768*2700")
    pending = read(api, task_id)["output"]
    assert pending["task_status"] == "PENDING"
    assert "task_metrics" not in pending  # as the documented wan2.6 bodies
    clock.advance(1)
    assert read(api, task_id)["output"]["task_status"] == "RUNNING"
    clock.advance(600)
    body = read(api, task_id)
    output = body["output"]
    assert output["task_status"] == "SUCCEEDED"
    assert output["finished"] is True
    assert "results" not in output
    assert [c["finish_reason"] for c in output["choices"]] == ["stop", "stop"]
    assert all(c["message"]["role"] == "assistant" for c in output["choices"])
    assert body["usage"] == {
        "size": "768*2700",
        "total_tokens": 0,
        "image_count": 2,
        "output_tokens": 0,
        "input_tokens": 0,
    }
    listed = api.get("/api/v1/tasks", headers=READ_HEADERS).json()["data"]
    assert [(i["task_id"], i["model_name"]) for i in listed] == [(task_id, "wan2.6-t2i")]
    assert listed[0]["user_api_unique_key"] == (
        "apikey:v1:aigc:image-generation:generation:wan2.6-t2i"
    )
    clock.advance(24 * 3600)
    assert read(api, task_id)["output"]["task_status"] == "UNKNOWN"
    assert api.get(image_urls(output)[0]).status_code == 403


def test_a_queued_wan26_task_can_be_canceled(api: httpx.Client, server: MockServer) -> None:
    server.set_limits(Limits(concurrency_per_model={"wan2.6-t2i": 1}))
    running, queued = create(api, "wan2.6-t2i", n=1), create(api, "wan2.6-t2i", n=1)
    server.clock.advance(1)
    assert api.post(f"/api/v1/tasks/{queued}/cancel", headers=READ_HEADERS).status_code == 200
    assert read(api, queued)["output"]["task_status"] == "CANCELED"
    refused = api.post(f"/api/v1/tasks/{running}/cancel", headers=READ_HEADERS)
    assert refused.json()["code"] == "UnsupportedOperation"


# -- the served set and a user's models ------------------------------------------------------


def test_the_served_set_can_be_restricted() -> None:
    with validated_server(models=["wanx-v1"]) as server, httpx.Client(base_url=server.url) as api:
        refused = api.post(T2I, json=body_for("wan2.2-t2i-flash"), headers=SUBMIT_HEADERS)
        served = api.post(T2I, json=body_for("wanx-v1", n=1), headers=SUBMIT_HEADERS)
    assert (refused.status_code, refused.json()["message"]) == (400, "Model not exist.")
    assert served.status_code == 200


def test_a_models_file_changes_and_adds_models(tmp_path: Any) -> None:
    entry = dict(CATALOGUE["wan2.2-t2i-flash"].entry)
    entry.update(id="wan9-t2i-test", aliases=[], description="A model of this test's own.")
    models = tmp_path / "models.yaml"
    import yaml

    models.write_text(
        yaml.safe_dump(
            {
                "serve": ["wanx-v1", "wan9-t2i-test"],
                "models": [
                    {"id": "wanx-v1", "limits": {"submit_qps": 9, "tasks_in_progress": 3,
                                                  "source": ["USER"]}},
                    entry,
                ],
            }
        )
    )  # fmt: skip
    clock = ManualClock()
    with (
        validated_server(models=str(models), clock=clock) as server,
        httpx.Client(base_url=server.url) as api,
    ):
        ids = [create(api, "wanx-v1", n=1) for _ in range(4)]
        clock.advance(1)
        statuses = [read(api, t)["output"]["task_status"] for t in ids]
        added = api.post(T2I, json=body_for("wanx-v1", n=1) | {"model": "wan9-t2i-test"},
                         headers=SUBMIT_HEADERS).json()["output"]["task_id"]  # fmt: skip
        clock.advance(600)
        assert read(api, added)["output"]["task_status"] == "SUCCEEDED"
        refused = api.post(T2I, json=body_for("wanx2.1-t2i-turbo"), headers=SUBMIT_HEADERS)
    assert statuses == ["RUNNING"] * 3 + ["PENDING"]
    assert refused.json()["message"] == "Model not exist."


def test_a_broken_models_file_is_refused_saying_why(tmp_path: Any) -> None:
    from mockscope.options import OptionError

    models = tmp_path / "models.json"
    models.write_text('{"models": [{"id": "wanx-v1", "limits": {"submit_qps": 0}}]}')
    with pytest.raises(OptionError, match="limits"):
        MockServer(models=str(models))


def test_the_catalogues_answers_travel_with_their_statuses() -> None:
    from mockscope.domain import errors
    from mockscope.http.envelopes import status_for

    for key, answer in CATALOGUE.errors.items():
        if answer.status != 200:  # 200: a task-level failure, not an HTTP error
            assert status_for(errors.Refused(answer.code, answer.message)) == answer.status, key


# -- faults, the journal and the control plane on every create endpoint ------------------------

ENDPOINTS = [
    pytest.param(T2I, "wanx2.1-t2i-turbo", SUBMIT_HEADERS, id="text2image"),
    pytest.param(T2I, "wan2.2-t2i-flash", SYNC_HEADERS, id="text2image-sync"),
    pytest.param(GENERATION, "wan2.6-t2i", SUBMIT_HEADERS, id="image-generation"),
    pytest.param(MULTIMODAL, "wan2.6-t2i", SYNC_HEADERS, id="multimodal-generation"),
]


@pytest.mark.parametrize(("path", "model", "headers"), ENDPOINTS)
def test_request_outcomes_apply_on_every_create_endpoint(
    path: str, model: str, headers: dict[str, str]
) -> None:
    body = body_for(model, n=1)
    with validated_server(time="jump") as server, httpx.Client(base_url=server.url) as api:
        scenario = {"X-Mockscope-Scenario": "error; code=ModelServingError"}
        refused = api.post(path, json=body, headers={**headers, **scenario})
        assert (refused.status_code, refused.json()["code"]) == (503, "ModelServingError")
        assert server.tasks() == []
        lost = api.post(path, json=body, headers={**headers, "X-Mockscope-Scenario": "lost"})
        assert lost.status_code == 500
        assert len(server.tasks()) == 1  # a lost create has created its task
        with pytest.raises(httpx.TransportError):
            api.post(path, json=body, headers={**headers, "X-Mockscope-Scenario": "reset"})
        ok = api.post(path, json=body, headers=headers)
        assert ok.status_code == 200
        created = server.journal.entries(operation="create", model=model)
        assert [entry.status for entry in created] == [503, 500, 0, 200]
        assert {entry.endpoint for entry in created} == {path.removeprefix("/api/v1")}
        journal = api.get("/_mockscope/journal", params={"model": model}).json()["entries"]
        assert [entry["model"] for entry in journal] == [model] * 4
        tasks = api.get("/_mockscope/tasks").json()["accounts"][0]["tasks"]
        assert {task["endpoint"] for task in tasks} == {path.removeprefix("/api/v1")}
