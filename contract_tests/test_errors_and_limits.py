"""Refusals that cost nothing, through the reference client and raw HTTP, and the rate limits.

Nothing here creates a task: bad keys, refused bodies, synchronous calls and unknown tasks are
answered before anything is billed (fact sheet §7). The burst that provokes a 429 is run on the
fake only: live, the suite keeps inside the documented limits instead of testing them.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from contract_tests.support import CREATE_PATH, Target, skip_unless_fake, validator
from wanx_client import (
    AuthenticationError,
    InvalidParameterError,
    TaskStatus,
    UnsupportedOperationError,
)

ERROR = validator("error.json")
ONE_IMAGE = {"model": "wanx-v1", "input": {"prompt": "a cat"}, "parameters": {"n": 1}}


def _post_create(target: Target, body: Any, **headers: str) -> httpx.Response:
    target.pace(create=True)
    sent = {**target.auth, "X-DashScope-Async": "enable", **headers}
    with httpx.Client(base_url=target.url, timeout=60) as api:
        if isinstance(body, bytes):
            sent.setdefault("Content-Type", "application/json")
            return api.post(CREATE_PATH, content=body, headers=sent)
        return api.post(CREATE_PATH, json=body, headers=sent)


def _assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert ERROR.is_valid(body), body
    assert body["code"] == code, body
    assert response.headers.get("X-Request-ID") == body["request_id"]


def test_an_invalid_key_is_refused(target: Target) -> None:
    with target.client(api_key="sk-contract-not-a-key") as client:
        target.pace(create=True)
        with pytest.raises(AuthenticationError) as refused:
            client.submit("a cat", n=1)
        assert (refused.value.status, refused.value.code) == (401, "InvalidApiKey")
        target.pace(create=False)
        with pytest.raises(AuthenticationError):
            client.get(str(uuid.uuid4()))


def test_a_missing_key_is_refused(target: Target) -> None:
    response = _post_create(target, ONE_IMAGE, Authorization="")
    _assert_error(response, 401, "InvalidApiKey")


def test_a_synchronous_call_is_refused(target: Target) -> None:
    # Documented and recorded as 403 for wanx-v1: nothing is created, nothing billed.
    with httpx.Client(base_url=target.url, timeout=60) as api:
        target.pace(create=True)
        response = api.post(CREATE_PATH, json=ONE_IMAGE, headers=target.auth)
    _assert_error(response, 403, "AccessDenied")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(b"{not json", "BadRequest.IllegalInput", id="not-json"),
        pytest.param({"input": {"prompt": "a cat"}}, "BadRequest.EmptyModel", id="no-model"),
        pytest.param({"model": "wanx-v1"}, "BadRequest.EmptyInput", id="no-input"),
        pytest.param({**ONE_IMAGE, "parameters": {"n": 9}}, "InvalidParameter", id="n-9"),
        pytest.param({**ONE_IMAGE, "parameters": {"n": 0}}, "InvalidParameter", id="n-0"),
        pytest.param({**ONE_IMAGE, "parameters": {"seed": -1}}, "InvalidParameter", id="seed"),
        pytest.param(
            {**ONE_IMAGE, "parameters": {"style": "<nope>"}}, "InvalidParameter", id="style"
        ),
    ],
)
def test_a_refused_body_creates_nothing(target: Target, body: Any, code: str) -> None:
    _assert_error(_post_create(target, body), 400, code)


def test_the_client_raises_typed_errors_for_refused_options(target: Target) -> None:
    with target.client() as client:
        target.pace(create=True)
        with pytest.raises(InvalidParameterError) as refused:
            client.submit("a cat", n=9)
        assert refused.value.status == 400


def test_an_unknown_task_reads_unknown_and_cannot_be_cancelled(target: Target) -> None:
    task_id = str(uuid.uuid4())
    with target.client() as client:
        target.pace(create=False)
        assert client.get(task_id).status is TaskStatus.UNKNOWN
        target.pace(create=False)
        with pytest.raises(UnsupportedOperationError) as refused:
            client.cancel(task_id)
        assert refused.value.code == "UnsupportedOperation"


def test_the_task_list_is_readable(target: Target) -> None:
    with target.client() as client:
        target.pace(create=False)
        listed = list(client.list(page_size=100))
    assert len({task.task_id for task in listed}) == len(listed)


def test_a_list_page_past_the_documented_range_is_refused(target: Target) -> None:
    with httpx.Client(base_url=target.url, timeout=10) as api:
        target.pace(create=False)
        response = api.get("/api/v1/tasks", params={"page_no": 2**64}, headers=target.auth)
    _assert_error(response, 400, "InvalidParameter")


def test_a_burst_is_throttled_and_the_client_waits_it_out(
    fresh_target: Target,
) -> None:
    target = fresh_target
    skip_unless_fake(target, "it exceeds the live rate limit on purpose")
    assert target.server is not None
    with httpx.Client(base_url=target.url, timeout=10) as api:
        headers = {**target.auth, "X-DashScope-Async": "enable"}
        answers = [api.post(CREATE_PATH, json=ONE_IMAGE, headers=headers) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    _assert_error(answers[2], 429, "Throttling.RateQuota")
    # No recording shows the live service sending Retry-After; when one is sent, it is short.
    assert float(answers[2].headers.get("Retry-After", "1")) <= 1
    with target.client() as client:
        # Still inside the window: the client meets a 429 of its own and waits it out on its
        # own backoff (at least 1 s), having no Retry-After to go by.
        task = client.submit("a cat", n=1)
    assert task.status is TaskStatus.PENDING
    creates = target.server.journal.entries(operation="create")[3:]
    assert [entry.status for entry in creates] == [429, 200]
    refused, accepted = creates
    assert refused.retry_after_s is None
    assert accepted.time_ms - refused.time_ms >= 1000
