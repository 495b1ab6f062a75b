"""POST /api/v1/services/aigc/text2image/image-synthesis: the happy path and every bad input."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from mockscope import MockServer
from tests.support import (
    CREATE_PATH,
    READ_HEADERS,
    SUBMIT_HEADERS,
    assert_service_voice,
    read_task,
    submit,
)

UUID_SHAPE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
VALID_BODY: dict[str, Any] = {"model": "wanx-v1", "input": {"prompt": "a cat"}, "parameters": {}}


def test_submit_answers_200_pending_with_a_uuid4_task_id(api: httpx.Client) -> None:
    response = api.post(CREATE_PATH, json=VALID_BODY, headers=SUBMIT_HEADERS)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["output", "request_id"]
    assert body["output"]["task_status"] == "PENDING"
    assert uuid.UUID(body["output"]["task_id"]).version == 4
    assert UUID_SHAPE.match(body["request_id"])


def test_the_exact_sdk_request_is_accepted(api: httpx.Client) -> None:
    raw = (
        '{"model": "wanx-v1", "parameters": {"size": "1024*1024", "n": 2, "seed": 42, '
        '"style": "<sketch>", "ref_strength": 0.5, "ref_mode": "repaint"}, "input": {"prompt": '
        '"一只奔跑的猫", "negative_prompt": "低质量", "ref_img": "https://example.com/ref.png"}}'
    )
    headers = {
        "authorization": "Bearer sk-test",
        "x-dashscope-async": "enable",
        "content-type": "application/json; charset=utf-8",
        "X-DashScope-WorkSpace": "ws-123",
    }
    response = api.post(CREATE_PATH, content=raw.encode(), headers=headers)
    assert response.status_code == 200, response.text


def test_a_trailing_slash_and_the_ref_image_alias_are_accepted(api: httpx.Client) -> None:
    body = {"model": "wanx-v1", "input": {"prompt": "p", "ref_image": "https://x/y.png"}}
    response = api.post(CREATE_PATH + "/", json=body, headers=SUBMIT_HEADERS)
    assert response.status_code == 200, response.text


def test_unknown_parameters_are_passed_over_as_the_service_does(api: httpx.Client) -> None:
    body = {"model": "wanx-v1", "input": {"prompt": "p"}, "parameters": {"watermark": True}}
    assert api.post(CREATE_PATH, json=body, headers=SUBMIT_HEADERS).status_code == 200


def test_an_unsupported_size_is_accepted_and_the_task_ends_failed(
    api: httpx.Client, server: MockServer
) -> None:
    task_id = submit(api, size="512*512")
    server.clock.advance(60)
    output = read_task(api, task_id)
    assert output["task_status"] == "FAILED"
    assert output["code"] == "InvalidParameter"
    assert output["message"] == (
        "The size is not match the allowed size ['1024*1024', '720*1280', '1280*720']"
    )
    assert output["task_metrics"] == {"TOTAL": 4, "SUCCEEDED": 0, "FAILED": 4}


def _post(api: httpx.Client, body: object, **headers: str) -> httpx.Response:
    all_headers = {**SUBMIT_HEADERS, **headers}
    if isinstance(body, bytes):
        return api.post(CREATE_PATH, content=body, headers=all_headers)
    return api.post(CREATE_PATH, json=body, headers=all_headers)


def _with(path: str, value: object) -> dict[str, Any]:
    """VALID_BODY with one field replaced (value ... deletes it)."""
    body: dict[str, Any] = {
        "model": "wanx-v1",
        "input": {"prompt": "a cat"},
        "parameters": {"n": 1},
    }
    *parents, leaf = path.split(".")
    node = body
    for part in parents:
        node = node[part]
    if value is ...:
        del node[leaf]
    else:
        node[leaf] = value
    return body


BAD_BODIES = [
    pytest.param(b"not json", 400, "BadRequest.IllegalInput", id="not-json"),
    pytest.param(b"", 400, "BadRequest.IllegalInput", id="empty-body"),
    pytest.param(b'{"model": "wanx-v1", "input": {', 400, "BadRequest.IllegalInput", id="cut-off"),
    pytest.param(b"\xff\xfe{}", 400, "BadRequest.IllegalInput", id="not-utf8"),
    pytest.param(b"[1, 2]", 400, "BadRequest.IllegalInput", id="json-array"),
    pytest.param(b'"text"', 400, "BadRequest.IllegalInput", id="json-string"),
    pytest.param(_with("model", ...), 400, "BadRequest.EmptyModel", id="no-model"),
    pytest.param(_with("model", ""), 400, "BadRequest.EmptyModel", id="empty-model"),
    pytest.param(_with("model", None), 400, "BadRequest.EmptyModel", id="null-model"),
    pytest.param(_with("model", 7), 400, "InvalidParameter", id="model-not-string"),
    pytest.param(_with("model", "wanx-v9"), 404, "ModelNotFound", id="unknown-model"),
    pytest.param(_with("input", ...), 400, "BadRequest.EmptyInput", id="no-input"),
    pytest.param(_with("input", "a cat"), 400, "BadRequest.EmptyInput", id="input-not-object"),
    pytest.param(_with("input.prompt", ...), 400, "BadRequest.EmptyInput", id="no-prompt"),
    pytest.param(_with("input.prompt", ""), 400, "BadRequest.EmptyInput", id="empty-prompt"),
    pytest.param(_with("input.prompt", 12), 400, "InvalidParameter", id="prompt-not-string"),
    pytest.param(_with("input.negative_prompt", 1), 400, "InvalidParameter", id="neg-prompt"),
    pytest.param(_with("parameters", []), 400, "InvalidParameter", id="parameters-not-object"),
    pytest.param(_with("parameters.n", 0), 400, "InvalidParameter", id="n-0"),
    pytest.param(_with("parameters.n", 5), 400, "InvalidParameter", id="n-5"),
    pytest.param(_with("parameters.n", "2"), 400, "InvalidParameter", id="n-string"),
    pytest.param(_with("parameters.n", 1.5), 400, "InvalidParameter", id="n-fraction"),
    pytest.param(_with("parameters.seed", -1), 400, "InvalidParameter", id="seed-negative"),
    pytest.param(_with("parameters.seed", 4294967291), 400, "InvalidParameter", id="seed-high"),
    pytest.param(_with("parameters.style", "<cubism>"), 400, "InvalidParameter", id="style"),
    pytest.param(_with("parameters.size", 1024), 400, "InvalidParameter", id="size-not-string"),
    pytest.param(_with("parameters.ref_strength", 1.5), 400, "InvalidParameter", id="strength"),
    pytest.param(_with("parameters.ref_mode", "copy"), 400, "InvalidParameter", id="ref-mode"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_BODIES)
def test_bad_bodies_get_the_documented_error(
    api: httpx.Client, server: MockServer, body: object, status: int, code: str
) -> None:
    kept = submit(api, n=1)
    before = read_task(api, kept)
    response = _post(api, body)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()
    assert error["code"] == code
    assert_service_voice(error["message"])
    assert response.headers["X-Request-ID"] == error["request_id"]
    # Nothing stored is created, lost or changed by a refused request.
    assert [task.task_id for task in server.tasks()] == [kept]
    assert read_task(api, kept) == before


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("parameters.n", 9, "Parameter `parameters.n` must be between 1 and 4."),
        ("parameters.n", "2", "Parameter `parameters.n` must be an integer between 1 and 4."),
        ("parameters.n", None, "Parameter `parameters.n` must be an integer between 1 and 4."),
        ("parameters", None, "Parameter `parameters` must be an object."),
        ("parameters.seed", -1, "Parameter `parameters.seed` must be between 0 and 4294967290."),
        (
            "parameters.ref_strength",
            "x",
            "Parameter `parameters.ref_strength` must be a number between 0 and 1.",
        ),
        (
            "parameters.ref_mode",
            "copy",
            "Parameter `parameters.ref_mode` must be one of repaint, refonly.",
        ),
        ("parameters.size", 1024, "Parameter `parameters.size` must be a string."),
        ("input.negative_prompt", False, "Parameter `input.negative_prompt` must be a string."),
        ("model", 7, "Parameter `model` must be a string."),
    ],
)
def test_the_invalid_parameter_message_names_the_parameter_and_the_rule(
    api: httpx.Client, path: str, value: object, message: str
) -> None:
    error = _post(api, _with(path, value)).json()
    assert (error["code"], error["message"]) == ("InvalidParameter", message)
    assert_service_voice(error["message"])


def test_a_missing_key_is_told_apart_from_a_wrong_one() -> None:
    with MockServer(api_keys={"sk-good"}, validate_responses=True) as server:
        with httpx.Client(base_url=server.url) as api:
            missing = api.post(
                CREATE_PATH, json=VALID_BODY, headers={"X-DashScope-Async": "enable"}
            )
            wrong = _post(api, VALID_BODY, Authorization="Bearer sk-bad")
            scheme = _post(api, VALID_BODY, Authorization="sk-good")
            good = _post(api, VALID_BODY, Authorization="Bearer sk-good")
        assert not server.schema_violations
    assert (missing.status_code, missing.json()["code"]) == (401, "InvalidApiKey")
    assert missing.json()["message"] == "No API-key provided."
    assert (wrong.status_code, wrong.json()["message"]) == (401, "Invalid API-key provided.")
    assert scheme.status_code == 401
    assert good.status_code == 200


@pytest.mark.parametrize("value", [None, "disable", ""])
def test_synchronous_calls_are_refused(api: httpx.Client, value: str | None) -> None:
    headers = dict(SUBMIT_HEADERS)
    del headers["X-DashScope-Async"]
    if value is not None:
        headers["X-DashScope-Async"] = value
    response = api.post(CREATE_PATH, json=VALID_BODY, headers=headers)
    assert response.status_code == 403
    assert response.json()["code"] == "AccessDenied"
    assert response.json()["message"] == "current user api does not support synchronous calls"


def test_authentication_is_checked_before_the_body(api: httpx.Client) -> None:
    response = api.post(CREATE_PATH, content=b"garbage", headers={"X-DashScope-Async": "enable"})
    assert response.status_code == 401


def test_an_oversized_body_gets_an_envelope_not_a_crash(api: httpx.Client) -> None:
    huge = b'{"model": "wanx-v1", "input": {"prompt": "' + b"x" * (2 * 1024 * 1024) + b'"}}'
    response = _post(api, huge)
    assert response.status_code == 413
    assert response.json()["code"] == "RequestEntityTooLarge"


def test_read_headers_work_for_reads(api: httpx.Client) -> None:
    task_id = submit(api)
    assert api.get(f"/api/v1/tasks/{task_id}", headers=READ_HEADERS).status_code == 200


@pytest.mark.parametrize(
    "reference",
    [
        "./girl.png",
        "girl.png",
        "/tmp/girl.png",
        "file:///tmp/girl.png",
        "ftp://example.com/girl.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "http://",
        "https:///girl.png",
        "https//example.com/girl.png",
        " https://example.com/girl.png",
        "https://example.com/a girl.png",
        "oss://",
        "",
    ],
)
@pytest.mark.parametrize("field", ["ref_img", "ref_image"])
def test_a_reference_that_is_not_a_url_is_refused_at_submit(
    api: httpx.Client, server: MockServer, field: str, reference: str
) -> None:
    body = {"model": "wanx-v1", "input": {"prompt": "p", field: reference}, "parameters": {}}
    response = api.post(CREATE_PATH, json=body, headers=SUBMIT_HEADERS)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "InvalidURL"
    assert response.json()["message"] == "Invalid URL provided in your request."
    assert server.tasks() == []


@pytest.mark.parametrize(
    "reference",
    ["https://example.com/ref.png", "http://127.0.0.1:8080/r.png?x=1", "HTTPS://EXAMPLE.COM/R.PNG"],
)
def test_http_and_https_references_are_taken(api: httpx.Client, reference: str) -> None:
    body = {"model": "wanx-v1", "input": {"prompt": "p", "ref_img": reference}, "parameters": {}}
    assert api.post(CREATE_PATH, json=body, headers=SUBMIT_HEADERS).status_code == 200
