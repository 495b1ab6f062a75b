"""The official SDK on a jumping clock, outside pytest's plugin: what live clients see, at once.

A read of an unfinished task jumps the fake's clock to that task's end, so sequential flows see
finished tasks with live-like times and never meet the submission limit, while bursts still do.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from http import HTTPStatus
from typing import Any

import pytest
from dashscope import ImageSynthesis

from mockscope import JumpingClock, MockServer
from mockscope.sdk import DashScopeBinding, bind_dashscope
from tests.support import API_KEY, validated_server

START_MS = 1_717_200_000_000


@pytest.fixture
def jumping() -> Iterator[tuple[MockServer, DashScopeBinding]]:
    with (
        validated_server(clock=JumpingClock(start_ms=START_MS), seed=5) as server,
        bind_dashscope(server, api_key=API_KEY) as sdk,
    ):
        yield server, sdk


def _offsets(output: Any) -> tuple[float, float]:
    submit, scheduled, end = (
        datetime.fromisoformat(getattr(output, name)).timestamp()
        for name in ("submit_time", "scheduled_time", "end_time")
    )
    return scheduled - submit, end - submit


def test_sequential_calls_finish_with_live_like_times_and_no_429(
    jumping: tuple[MockServer, DashScopeBinding],
) -> None:
    server, sdk = jumping
    started = time.perf_counter()
    for k in range(5):
        response = ImageSynthesis.call(model="wanx-v1", prompt=f"a cat {k}", n=1)
        assert response.status_code == HTTPStatus.OK
        assert response.output.task_status == "SUCCEEDED"
        queued, took = _offsets(response.output)
        assert 0 < queued < 1
        assert took >= 20
    assert time.perf_counter() - started < 5
    assert sdk.slept == []
    assert server.clock.now_ms() - START_MS >= 5 * 26_000, "the clock jumped over five tasks"
    server.journal.assert_well_behaved_client(max_polls_per_second=1)


def test_a_burst_meets_the_limit_as_live(jumping: tuple[MockServer, DashScopeBinding]) -> None:
    codes = [
        ImageSynthesis.async_call(model="wanx-v1", prompt=f"a dog {k}", n=1).status_code
        for k in range(3)
    ]
    assert codes == [200, 200, 429]


def test_wait_on_a_task_queued_behind_another_jumps_past_both(
    jumping: tuple[MockServer, DashScopeBinding],
) -> None:
    first = ImageSynthesis.async_call(model="wanx-v1", prompt="first", n=1)
    second = ImageSynthesis.async_call(model="wanx-v1", prompt="second", n=4)
    done = ImageSynthesis.wait(second)
    assert done.output.task_status == "SUCCEEDED"
    earlier = ImageSynthesis.fetch(first).output
    assert earlier.task_status == "SUCCEEDED"
    assert earlier.end_time <= done.output.scheduled_time


def test_the_serve_option_builds_a_clock_that_also_flows() -> None:
    server = MockServer(time="jump", time_scale=1)
    assert isinstance(server.clock, JumpingClock)
    assert (server.clock.mode, server.clock.time_scale) == ("system", 1.0)
    assert MockServer(time="jump").clock.mode == "manual", "under tests: it stands still"
