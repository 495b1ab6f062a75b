"""The official SDK sees each task-level outcome as the live service would show it."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from dashscope import ImageSynthesis

from mockscope import MockServer
from mockscope.sdk import DashScopeBinding


def test_call_returns_failed_with_the_code(sdk: DashScopeBinding, server: MockServer) -> None:
    server.set_scenario(["failed; code=DataInspectionFailed"])
    response = ImageSynthesis.call(model="wanx-v1", prompt="a cat", n=1)
    assert response.status_code == HTTPStatus.OK
    assert response.output.task_status == "FAILED"
    assert response.output.code == "DataInspectionFailed"
    assert response.output.message == "Output data may contain inappropriate content."


def test_content_inspection_at_submit_reaches_the_sdk_as_an_input_error(
    sdk: DashScopeBinding, server: MockServer
) -> None:
    server.set_scenario(["error; code=DataInspectionFailed"])
    response = ImageSynthesis.async_call(model="wanx-v1", prompt="a cat", n=1)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.code == "DataInspectionFailed"
    assert response.message == "Input data may contain inappropriate content."


def test_call_returns_partial_results_with_urls_and_failed_items(
    sdk: DashScopeBinding, server: MockServer
) -> None:
    server.set_scenario(["partial; items=1"])
    response = ImageSynthesis.call(model="wanx-v1", prompt="a cat", n=3)
    assert response.output.task_status == "SUCCEEDED"
    results = response.output.results
    assert [bool(result.url) for result in results] == [True, False, True]
    assert results[1].code == "InternalError.Timeout"
    assert response.usage.image_count == 2


def test_wait_keeps_polling_through_suspended_and_finishes(
    sdk: DashScopeBinding, server: MockServer
) -> None:
    server.set_scenario(["suspended; after=1; for=40"])
    submitted = ImageSynthesis.async_call(model="wanx-v1", prompt="a cat", n=1)
    response = ImageSynthesis.wait(submitted)
    assert response.output.task_status == "SUCCEEDED"
    statuses = [entry.task_status for entry in server.journal.entries(operation="get")]
    assert "SUSPENDED" in statuses
    assert statuses[-1] == "SUCCEEDED"
    assert sum(sdk.slept) >= 40 + 26, "it waited through the suspension"


def test_wait_retries_through_injected_503s(sdk: DashScopeBinding, server: MockServer) -> None:
    server.set_scenario(
        [
            {
                "outcome": "error",
                "code": "ModelUnavailable",
                "times": {"first": 3},
                "match": {"operation": "get"},
            }
        ]
    )
    submitted = ImageSynthesis.async_call(model="wanx-v1", prompt="a cat", n=1)
    response = ImageSynthesis.wait(submitted)
    assert response.status_code == HTTPStatus.OK
    assert response.output.task_status == "SUCCEEDED"
    reads = [entry.status for entry in server.journal.entries(operation="get")]
    assert reads[:3] == [503, 503, 503]
    assert reads[-1] == 200


def test_a_429_ends_wait_at_once_as_the_sdk_does_live(
    sdk: DashScopeBinding, server: MockServer
) -> None:
    server.set_scenario(["error; status=429; code=Throttling.RateQuota; times=once"])
    submitted = ImageSynthesis.async_call(model="wanx-v1", prompt="a cat", n=1)
    assert submitted.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert submitted.code == "Throttling.RateQuota"


@pytest.mark.parametrize("phase", ["PENDING", "RUNNING"])
def test_wait_timeout_against_a_task_that_never_finishes(
    sdk: DashScopeBinding, server: MockServer, phase: str
) -> None:
    server.set_scenario([f"never; phase={phase}"])
    submitted = ImageSynthesis.async_call(model="wanx-v1", prompt="a cat", n=1)
    response = ImageSynthesis.wait(submitted, wait_timeout=600)
    assert response.code == "WaitTaskTimeout"
    server.finish(submitted.output.task_id)
    assert ImageSynthesis.fetch(submitted).output.task_status == "SUCCEEDED"
