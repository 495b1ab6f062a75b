"""The asynchronous client: the core's decisions (BaseClient) with asyncio I/O."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from wanx_client._backoff import Backoff
from wanx_client._core import Answer, BaseClient, Exchange, Sleep
from wanx_client._kinds import ImageProtocol, TaskStatus
from wanx_client._models import ImageResult, ListedTask, Task
from wanx_client._polling import DEFAULT_WAIT_TIMEOUT
from wanx_client._wire import DEFAULT_MODEL, DEFAULT_TIMEOUT

T = TypeVar("T")


class AsyncClient(BaseClient):
    """The asyncio twin of Client: the same arguments and API, awaited.

    `sleep` is a coroutine function; `list` is iterated with `async for`. Use it as an async
    context manager, or await `aclose()`.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        workspace: str | None = None,
        model: str = DEFAULT_MODEL,
        protocol: ImageProtocol | str | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        backoff: Backoff | None = None,
        max_attempts: int = 3,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            workspace=workspace,
            model=model,
            protocol=protocol,
            http_client=http_client,
            transport=transport,
            backoff=backoff,
            max_attempts=max_attempts,
            clock=clock,
        )
        self._http = http_client or httpx.AsyncClient(transport=transport, timeout=timeout)
        self._sleep = sleep
        self._submit_lock = asyncio.Lock()  # one submit at a time (see BaseClient)

    # -- the API: as Client's ------------------------------------------------------------------

    async def submit(
        self,
        prompt: str,
        *,
        negative_prompt: str | None = None,
        ref_img: str | None = None,
        style: str | None = None,
        size: str | None = None,
        n: int | None = None,
        seed: int | None = None,
        ref_strength: float | None = None,
        ref_mode: str | None = None,
        prompt_extend: bool | None = None,
        watermark: bool | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> Task:
        """Create a task; returns it PENDING (see Client.submit and OutcomeUnknown)."""
        options = {
            "negative_prompt": negative_prompt,
            "ref_img": ref_img,
            "style": style,
            "size": size,
            "n": n,
            "seed": seed,
            "ref_strength": ref_strength,
            "ref_mode": ref_mode,
            "prompt_extend": prompt_extend,
            "watermark": watermark,
        }
        exchange = self._submitting(prompt, options, parameters)
        async with self._submit_lock:
            return await self._run(exchange)

    async def get(self, task_id: str) -> Task:
        """Read a task once (transient failures are retried). Unknown ids read UNKNOWN."""
        return await self._run(self._getting(task_id))

    async def wait(
        self,
        task: Task | str,
        *,
        # A deadline on the injected clock, which asyncio.timeout could not follow.
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,  # noqa: ASYNC109
        poll: Backoff | None = None,
    ) -> Task:
        """Poll until the task is SUCCEEDED, FAILED, CANCELED or UNKNOWN (see Client.wait)."""
        return await self._run(self._waiting(task, timeout, poll))

    async def cancel(self, task_id: str) -> None:
        """Cancel a PENDING task (see Client.cancel)."""
        await self._run(self._cancelling(task_id))

    async def download(self, result: ImageResult | str, path: str | os.PathLike[str]) -> Path:
        """Stream an image to `path` (a file or a directory); returns the file's path."""
        exchange, sink = self._downloading(result, path)
        with sink:
            return await self._run(exchange)

    def list(
        self,
        *,
        status: TaskStatus | str | None = None,
        model_name: str | None = None,
        start_time: datetime | str | None = None,
        end_time: datetime | str | None = None,
        page_size: int = 10,
    ) -> AsyncIterator[ListedTask]:
        """Every task of the account matching the filters, newest first (see Client.list)."""
        listing = self._listing(status, model_name, start_time, end_time, page_size)

        async def pages() -> AsyncIterator[ListedTask]:
            while (page := listing.next_page()) is not None:
                for listed in listing.take(await self._run(page)):
                    yield listed

        return pages()

    # -- the I/O ------------------------------------------------------------------------------

    async def _run(self, exchange: Exchange[T]) -> T:
        """Try the exchange until it settles, sleeping as it says."""
        while True:
            pause = exchange.pause()
            if pause:
                await self._sleep(pause)
            step = exchange.settle(await self._try(exchange))
            if not isinstance(step, Sleep):
                return step
            await self._sleep(step.seconds)

    async def _try(self, exchange: Exchange[Any]) -> Answer:
        """Send the call once: the response (read, or a success streamed into the sink), or
        the httpx error that came instead."""
        call, sink = exchange.call, exchange.sink
        try:
            response = await self._http.send(
                call.build(self._http), stream=True, follow_redirects=call.follow_redirects
            )
            try:
                if sink is not None and response.is_success:
                    sink.start()
                    async for chunk in response.aiter_bytes():
                        sink.write(chunk)
                    sink.finish()
                else:
                    await response.aread()
            finally:
                await response.aclose()
        except httpx.RequestError as error:
            return error
        return response

    async def aclose(self) -> None:
        """Close the HTTP connections (an injected http_client is left open)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
