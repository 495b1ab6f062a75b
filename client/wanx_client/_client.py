"""The synchronous client: the core's decisions (BaseClient) with blocking I/O."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
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


class Client(BaseClient):
    """A client for DashScope's asynchronous text-to-image API (the Wan family, any model).

    `model` is sent as is; `protocol` (ImageProtocol) says how its tasks are created, by
    default from the model's name: `wan2.6*` speaks MESSAGES, any other TEXT2IMAGE.
    `api_key` defaults to $DASHSCOPE_API_KEY (none at all: AuthenticationError, at once);
    `base_url` to $DASHSCOPE_HTTP_BASE_URL, else the live `https://dashscope.aliyuncs.com/api/v1`.
    `workspace` is sent as X-DashScope-WorkSpace. Pass `http_client` (kept open) or `transport`
    to control HTTP; `sleep` and `clock` (monotonic seconds) to control time. `backoff` spaces
    polls and retries; a request is tried at most `max_attempts` times.

    Use it as a context manager, or call `close()`.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        workspace: str | None = None,
        model: str = DEFAULT_MODEL,
        protocol: ImageProtocol | str | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        backoff: Backoff | None = None,
        max_attempts: int = 3,
        sleep: Callable[[float], object] = time.sleep,
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
        self._http = http_client or httpx.Client(transport=transport, timeout=timeout)
        self._sleep = sleep
        self._submit_lock = threading.Lock()  # one submit at a time (see BaseClient)

    # -- the API ------------------------------------------------------------------------------

    def submit(
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
        """Create a task; returns it PENDING, with its `task_id`.

        Only the options given are sent, in the client's protocol (see Client): the prompt and
        `negative_prompt` go into the input (MESSAGES: the prompt as the user's message text,
        `negative_prompt` into the parameters); `ref_img` goes into the input (TEXT2IMAGE
        only); the rest, and the extra `parameters` (any names), into the parameters. Which
        ones a model takes is the service's to say (V2 models: size, n, seed, prompt_extend,
        watermark; wanx-v1: style, size, n, seed, ref_strength, ref_mode).

        Retried only when the failure proves nothing was created (429, 503, no connection).
        Raises OutcomeUnknown when the task may have been created but no answer says so; any
        other error means no task was created.
        """
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
        with self._submit_lock:
            return self._run(exchange)

    def get(self, task_id: str) -> Task:
        """Read a task once (transient failures are retried). Unknown ids read UNKNOWN."""
        return self._run(self._getting(task_id))

    def wait(
        self,
        task: Task | str,
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        poll: Backoff | None = None,
    ) -> Task:
        """Poll until the task is SUCCEEDED, FAILED, CANCELED or UNKNOWN, and return it.

        A FAILED task is returned, not raised: chain `.raise_for_status()` for TaskFailed.
        Polls start at once, then follow `poll` (default: the client's backoff, 1, 1, 2, 2, 4,
        4, 5, ... s); 5xx, 429 (honouring Retry-After) and dropped connections just count as
        polls. Raises WaitTimeout once `timeout` seconds pass (None: no limit), or the error of
        a poll that no retry can fix (e.g. 401).
        """
        return self._run(self._waiting(task, timeout, poll))

    def cancel(self, task_id: str) -> None:
        """Cancel a PENDING task. UnsupportedOperationError if it is not PENDING any more;
        OutcomeUnknown if the cancel may or may not have happened (`get` tells)."""
        self._run(self._cancelling(task_id))

    def download(self, result: ImageResult | str, path: str | os.PathLike[str]) -> Path:
        """Stream an image (an ImageResult or its URL) to `path` and return the file's path.

        `path` may be a directory: the file then takes the URL's name. The file appears whole
        or not at all. Failures are retried like reads; an expired URL raises (HTTP 403).
        """
        exchange, sink = self._downloading(result, path)
        with sink:
            return self._run(exchange)

    def list(
        self,
        *,
        status: TaskStatus | str | None = None,
        model_name: str | None = None,
        start_time: datetime | str | None = None,
        end_time: datetime | str | None = None,
        page_size: int = 10,
    ) -> Iterator[ListedTask]:
        """Every task of the account matching the filters, newest first, page after page.

        Times are aware datetimes or `YYYYMMDDhhmmss` strings (Beijing time); the service
        looks at most 24 hours back (the last 24 hours when no time is given). A task that
        moves to a later page while listing is yielded once.
        """
        listing = self._listing(status, model_name, start_time, end_time, page_size)

        def pages() -> Iterator[ListedTask]:
            while (page := listing.next_page()) is not None:
                yield from listing.take(self._run(page))

        return pages()

    # -- the I/O ------------------------------------------------------------------------------

    def _run(self, exchange: Exchange[T]) -> T:
        """Try the exchange until it settles, sleeping as it says."""
        while True:
            pause = exchange.pause()
            if pause:
                self._sleep(pause)
            step = exchange.settle(self._try(exchange))
            if not isinstance(step, Sleep):
                return step
            self._sleep(step.seconds)

    def _try(self, exchange: Exchange[Any]) -> Answer:
        """Send the call once: the response (read, or a success streamed into the sink), or
        the httpx error that came instead."""
        call, sink = exchange.call, exchange.sink
        try:
            response = self._http.send(
                call.build(self._http), stream=True, follow_redirects=call.follow_redirects
            )
            try:
                if sink is not None and response.is_success:
                    sink.start()
                    for chunk in response.iter_bytes():
                        sink.write(chunk)
                    sink.finish()
                else:
                    response.read()
            finally:
                response.close()
        except httpx.RequestError as error:
            return error
        return response

    def close(self) -> None:
        """Close the HTTP connections (an injected http_client is left open)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
