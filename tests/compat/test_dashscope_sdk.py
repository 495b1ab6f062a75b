"""The official dashscope SDK, unchanged, against the fake: only its base URL is switched.

The SDK's `wait()` sleeps real seconds between polls (1, 1, 2, 2, 2, 4, ...). Here its sleep
advances the fake's manual clock instead, so a full realistic lifecycle runs in milliseconds.
"""

from __future__ import annotations

import io
from http import HTTPStatus

import pytest
import requests
from dashscope import ImageSynthesis
from PIL import Image

from mockscope import ManualClock
from mockscope.sdk import DashScopeBinding


def _assert_pngs(http: requests.Session, urls: list[str], size: tuple[int, int]) -> None:
    for url in urls:
        response = http.get(url, timeout=10)
        assert response.status_code == 200
        with Image.open(io.BytesIO(response.content)) as image:
            assert (image.format, image.size) == ("PNG", size)


def test_call_runs_to_succeeded_and_the_urls_download_pngs(
    sdk: DashScopeBinding, http: requests.Session
) -> None:
    response = ImageSynthesis.call(
        model=ImageSynthesis.Models.wanx_v1,
        prompt="近景镜头,18岁的中国女孩,古代服饰",
        n=2,
        style="<watercolor>",
        size="720*1280",
    )
    assert response.status_code == HTTPStatus.OK
    assert response.output.task_status == "SUCCEEDED"
    assert response.output.task_metrics["SUCCEEDED"] == 2
    assert response.usage.image_count == 2
    # The SDK really waited on the simulated service: ~28 s of its own back-off schedule.
    assert sdk.slept[:4] == [1, 1, 2, 2]
    assert 26 <= sum(sdk.slept) <= 40
    _assert_pngs(http, [result.url for result in response.output.results], (720, 1280))


def test_async_call_fetch_and_wait_see_the_whole_lifecycle(
    sdk: DashScopeBinding, clock: ManualClock, http: requests.Session
) -> None:
    submitted = ImageSynthesis.async_call(model="wanx-v1", prompt="a cat", n=1, seed=42)
    assert submitted.status_code == HTTPStatus.OK
    assert submitted.output.task_status == "PENDING"

    assert ImageSynthesis.fetch(submitted).output.task_status == "PENDING"
    clock.advance(1)
    running = ImageSynthesis.fetch(submitted)
    assert running.output.task_status == "RUNNING"
    assert running.output.scheduled_time

    done = ImageSynthesis.wait(submitted)
    assert done.status_code == HTTPStatus.OK
    assert done.output.task_status == "SUCCEEDED"
    assert done.output.end_time > done.output.scheduled_time > done.output.submit_time
    _assert_pngs(http, [result.url for result in done.output.results], (1024, 1024))


def test_wait_timeout_is_measured_on_the_simulated_clock(sdk: DashScopeBinding) -> None:
    submitted = ImageSynthesis.async_call(model="wanx-v1", prompt="a cat", n=4)
    response = ImageSynthesis.wait(submitted, wait_timeout=5)
    assert response.status_code == HTTPStatus.REQUEST_TIMEOUT
    assert response.code == "WaitTaskTimeout"


def test_a_failed_task_comes_back_as_failed_with_its_code(sdk: DashScopeBinding) -> None:
    response = ImageSynthesis.call(model="wanx-v1", prompt="a cat", n=1, size="333*333")
    assert response.status_code == HTTPStatus.OK
    assert response.output.task_status == "FAILED"
    assert response.output.code == "InvalidParameter"


def test_sdk_errors_are_parsed_from_the_envelope(
    sdk: DashScopeBinding, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = ImageSynthesis.async_call(model="wanx-v1", prompt="a cat", n=9)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.code == "InvalidParameter"
    assert response.request_id
    unknown_model = ImageSynthesis.async_call(model="wanx-v0", prompt="a cat")
    assert (unknown_model.status_code, unknown_model.code) == (404, "ModelNotFound")


def test_sync_call_is_refused_as_the_live_service_refuses_it(sdk: DashScopeBinding) -> None:
    response = ImageSynthesis.sync_call(model="wanx-v1", prompt="a cat")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.code == "AccessDenied"


def test_fetch_of_an_unknown_task_is_unknown(sdk: DashScopeBinding) -> None:
    response = ImageSynthesis.fetch("00000000-0000-4000-8000-000000000000")
    assert response.status_code == HTTPStatus.OK
    assert response.output.task_status == "UNKNOWN"
