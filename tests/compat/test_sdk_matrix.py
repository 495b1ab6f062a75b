"""The compatibility matrix: every SDK entry point against the fake, only the base URL changed.

ImageSynthesis (sync, requests), AioImageSynthesis (aiohttp: trailing slashes, a body on
cancel), and the v2 client (httpx). Polling sleeps are moved onto the fake's manual clock.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Coroutine, Iterator
from http import HTTPStatus
from typing import Any, TypeVar

import dashscope
import pytest
from dashscope import ImageSynthesis
from dashscope.aigc.image_synthesis import AioImageSynthesis
from dashscope.api_entities.aio_session import close_shared_aio_session

from mockscope import ManualClock, MockServer
from mockscope.sdk import DashScopeBinding
from tests.support import API_KEY, validated_server

T = TypeVar("T")


def _submit(**kwargs: object) -> str:
    response = ImageSynthesis.async_call(model="wanx-v1", prompt="a cat", n=1, **kwargs)
    assert response.status_code == HTTPStatus.OK, response
    task_id: str = response.output.task_id
    return task_id


# -- ImageSynthesis: cancel and list ----------------------------------------------------------


def test_cancel_of_a_pending_task_and_of_a_running_one(
    sdk: DashScopeBinding, clock: ManualClock
) -> None:
    running, queued = _submit(), _submit()
    clock.advance(1)
    canceled = ImageSynthesis.cancel(queued)
    assert canceled.status_code == HTTPStatus.OK
    assert ImageSynthesis.fetch(queued).output.task_status == "CANCELED"
    refused = ImageSynthesis.cancel(running)
    assert (refused.status_code, refused.code) == (400, "UnsupportedOperation")


def test_list_with_filters_and_pages(sdk: DashScopeBinding, clock: ManualClock) -> None:
    ids = []
    for _ in range(5):
        ids.append(_submit())
        clock.advance(1)
    page = ImageSynthesis.list(page_no=1, page_size=2)
    assert page.status_code == HTTPStatus.OK
    assert (page.output["total"], page.output["total_page"]) == (5, 3)
    assert [item["task_id"] for item in page.output["data"]] == ids[::-1][:2]
    clock.advance(30)  # the first task has finished; the others queue behind it
    filtered = ImageSynthesis.list(
        start_time="20240301000000",
        end_time="20240302000000",
        model_name="wanx-v1",
        region="cn-beijing",
        status="SUCCEEDED",
        page_no=1,
        page_size=10,
    )
    assert [item["task_id"] for item in filtered.output["data"]] == [ids[0]]


# -- AioImageSynthesis -------------------------------------------------------------------------


def _run(scenario: Coroutine[Any, Any, T]) -> T:
    """Run an async scenario, closing the aiohttp session the SDK keeps per event loop."""

    async def closing() -> T:
        try:
            return await scenario
        finally:
            await close_shared_aio_session()

    return asyncio.run(closing())


def test_aio_call_async_call_fetch_wait(sdk: DashScopeBinding, clock: ManualClock) -> None:
    async def scenario() -> None:
        done = await AioImageSynthesis.call(model="wanx-v1", prompt="a cat", n=1)
        assert done.output.task_status == "SUCCEEDED"
        submitted = await AioImageSynthesis.async_call(model="wanx-v1", prompt="a dog", n=1)
        assert submitted.output.task_status == "PENDING"
        clock.advance(1)
        running = await AioImageSynthesis.fetch(submitted)
        assert running.output.task_status == "RUNNING"
        finished = await AioImageSynthesis.wait(submitted)
        assert finished.output.task_status == "SUCCEEDED"

    _run(scenario())
    assert sdk.slept, "wait polled on the fake's clock"


def test_aio_cancel_sends_a_body_to_a_slashed_path(
    sdk: DashScopeBinding, server: MockServer
) -> None:
    async def scenario() -> tuple[int, int]:
        first = await AioImageSynthesis.async_call(model="wanx-v1", prompt="a", n=1)
        second = await AioImageSynthesis.async_call(model="wanx-v1", prompt="b", n=1)
        server.clock.advance(1)
        ok = await AioImageSynthesis.cancel(second)
        refused = await AioImageSynthesis.cancel(first)
        return ok.status_code, refused.status_code

    assert _run(scenario()) == (200, 400)
    assert [entry.status for entry in server.journal.entries(operation="cancel")] == [200, 400]


def test_aio_list(sdk: DashScopeBinding) -> None:
    async def scenario() -> int:
        await AioImageSynthesis.async_call(model="wanx-v1", prompt="a", n=1)
        listed = await AioImageSynthesis.list(page_no=1, page_size=10)
        total: int = listed.output["total"]
        return total

    assert _run(scenario()) == 1


# -- the v2 client -----------------------------------------------------------------------------


@pytest.fixture
def v2(server: MockServer, sdk: DashScopeBinding) -> Iterator[object]:
    from dashscope.v2 import Client

    client = Client(api_key=sdk.api_key, base_url=server.base_http_api_url, max_retries=0)
    yield client
    client.close()


def test_v2_jobs_create_fetch_wait(v2: object, clock: ManualClock) -> None:
    jobs = v2.images.jobs  # type: ignore[attr-defined]
    job = jobs.create(model="wanx-v1", prompt="v2 cat", n=1, size="1024x1024", style="<anime>")
    assert job.status == "PENDING"
    clock.advance(1)
    assert jobs.fetch(job.task_id).status == "RUNNING"
    done = jobs.wait(job)  # its sleeps advance the fake's clock: the binding covers v2 too
    assert done.succeeded
    assert len(done.image_urls) == 1


def test_v2_jobs_cancel_and_list(v2: object, clock: ManualClock) -> None:
    jobs = v2.images.jobs  # type: ignore[attr-defined]
    first = jobs.create(model="wanx-v1", prompt="a", n=1)
    second = jobs.create(model="wanx-v1", prompt="b", n=1)
    clock.advance(1)
    assert jobs.cancel(second.task_id).request_id
    listed = jobs.list(page_no=1, page_size=10)
    # v2 reads the tasks from `tasks`, while the service (and the fake) answer `data`:
    # v2 itself shows the total but no tasks. That is v2's divergence, not the fake's.
    assert listed.total == 2
    del first


def test_v2_raises_on_a_failed_task(v2: object, server: MockServer) -> None:
    from dashscope.v2.errors import DashScopeError

    server.set_scenario(["failed; code=DataInspectionFailed"])
    server.clock.advance(0)
    jobs = v2.images.jobs  # type: ignore[attr-defined]
    job = jobs.create(model="wanx-v1", prompt="a", n=1)
    with pytest.raises(DashScopeError):
        jobs.wait(job)


# -- the one-line switch -------------------------------------------------------------------------


def test_the_environment_variable_switch_before_import() -> None:
    program = (
        "import dashscope\n"
        "from dashscope import ImageSynthesis\n"
        "r = ImageSynthesis.call(model='wanx-v1', prompt='a cat', n=1)\n"
        "print(r.status_code, r.output.task_status)\n"
    )
    # A jumping clock: the child's SDK, which sleeps for real, finds its task finished at once.
    with validated_server(time="jump") as server:
        environment = {
            **os.environ,
            "DASHSCOPE_HTTP_BASE_URL": server.base_http_api_url,
            "DASHSCOPE_API_KEY": API_KEY,
        }
        result = subprocess.run(
            [sys.executable, "-c", program],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "SUCCEEDED"]
    (task,) = server.tasks()
    assert task.end_ms is not None
    assert task.end_ms - task.submit_ms > 20_000, "with live-like times"


def test_the_module_attribute_switch(server: MockServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashscope, "base_http_api_url", server.base_http_api_url)
    monkeypatch.setattr(dashscope, "api_key", API_KEY)
    assert ImageSynthesis.fetch("no-such-task").output.task_status == "UNKNOWN"
