"""The asyncio client against a real MockServer; its sleeps advance the fake's clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from mockscope import MockServer
from tests.support import API_KEY, VirtualTime
from wanx_client import AsyncClient, OutcomeUnknown, Task, TaskStatus


def async_sleep(vtime: VirtualTime) -> Callable[[float], Coroutine[Any, Any, None]]:
    async def sleep(seconds: float) -> None:
        vtime.sleep(seconds)
        await asyncio.sleep(0)  # still let the other coroutines run

    return sleep


def make(server: MockServer, vtime: VirtualTime) -> AsyncClient:
    return AsyncClient(
        api_key=API_KEY,
        base_url=server.base_http_api_url,
        sleep=async_sleep(vtime),
        clock=vtime.time,
    )


@pytest.mark.asyncio
async def test_submit_wait_download(server: MockServer, vtime: VirtualTime, tmp_path: Path) -> None:
    async with make(server, vtime) as client:
        task = (
            await client.wait(await client.submit("a cat", n=1, size="1280*720"))
        ).raise_for_status()
        path = await client.download(task.images[0], tmp_path)
    with Image.open(path) as image:
        assert image.size == (1280, 720)
    server.journal.assert_well_behaved_client()


@pytest.mark.asyncio
async def test_concurrent_submits_and_waits_respect_the_limits(
    server: MockServer, vtime: VirtualTime
) -> None:
    async with make(server, vtime) as client:

        async def one(k: int) -> Task:
            return await client.wait(await client.submit(f"cat {k}", n=1))

        tasks = await asyncio.gather(*(one(k) for k in range(4)))
        listed = [item.task_id async for item in client.list(page_size=3)]
    assert {task.status for task in tasks} == {TaskStatus.SUCCEEDED}
    assert sorted(listed) == sorted(task.task_id for task in tasks)
    server.journal.assert_well_behaved_client()


@pytest.mark.asyncio
async def test_cancel_and_a_lost_submit(server: MockServer, vtime: VirtualTime) -> None:
    async with make(server, vtime) as client:
        await client.submit("first", n=1)
        second = await client.submit("second", n=1)
        await client.cancel(second.task_id)
        assert (await client.get(second.task_id)).status is TaskStatus.CANCELED
        server.set_scenario(["lost; via=reset"])
        with pytest.raises(OutcomeUnknown):
            await client.submit("third", n=1)
    # The third submit met the 2-per-second limit, waited, and was sent again: that answer lost.
    creates = [entry.status for entry in server.journal.entries(operation="create")]
    assert creates == [200, 200, 429, 0]
    assert len(server.journal.tasks_created()) == 3
    assert server.journal.retry_after_ignored() == []
