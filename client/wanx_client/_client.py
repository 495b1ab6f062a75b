"""The synchronous client."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from wanx_client._backoff import Backoff
from wanx_client._errors import ResponseError
from wanx_client._files import Sink, target_path
from wanx_client._kinds import TaskStatus
from wanx_client._models import ImageResult, ListedTask, Task
from wanx_client._parse import json_body, parse_page, parse_task
from wanx_client._polling import DEFAULT_WAIT_TIMEOUT, Poller
from wanx_client._retry import Gates, Verdict, judge_exception, judge_response, outcome_unknown
from wanx_client._wire import (
    DEFAULT_MODEL,
    DEFAULT_TIMEOUT,
    Call,
    ListFilters,
    Settings,
    download,
)


class Client:
    """A client for DashScope's asynchronous wanx-v1 text-to-image API.

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
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        backoff: Backoff | None = None,
        max_attempts: int = 3,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if http_client is not None and transport is not None:
            raise ValueError("pass http_client or transport, not both")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.settings = Settings.resolve(base_url, api_key, workspace, model)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(transport=transport, timeout=timeout)
        self.backoff = backoff or Backoff()
        self.max_attempts = max_attempts
        self._sleep = sleep
        self._clock = clock
        self._gates = Gates()
        # Submits go one at a time: the service takes 2 per second per account, so parallel
        # submits gain nothing, and one that met a 429 must hold the others back until its
        # Retry-After has passed (requests already in flight could not be held back).
        self._submit_lock = threading.Lock()

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
    ) -> Task:
        """Create a task; returns it PENDING, with its `task_id`.

        Retried only when the failure proves nothing was created (429, 503, no connection).
        Raises OutcomeUnknown when the task may have been created but no answer says so; any
        other error means no task was created.
        """
        call = self.settings.submit(
            prompt,
            {"negative_prompt": negative_prompt, "ref_img": ref_img},
            {
                "style": style,
                "size": size,
                "n": n,
                "seed": seed,
                "ref_strength": ref_strength,
                "ref_mode": ref_mode,
            },
        )
        with self._submit_lock:
            response = self._send(call)
        try:
            return parse_task(json_body(response), response)
        except ResponseError as error:
            # A success answer that cannot be read: the task exists, its id is lost.
            raise outcome_unknown(call, error) from error

    def get(self, task_id: str) -> Task:
        """Read a task once (transient failures are retried). Unknown ids read UNKNOWN."""
        response = self._send(self.settings.get(task_id))
        return parse_task(json_body(response), response)

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
        task_id = task.task_id if isinstance(task, Task) else task
        call = self.settings.get(task_id)
        poller = Poller(task_id, poll or self.backoff, timeout, self._clock())
        while True:
            outcome = self._attempt(call)
            retry_after = None
            if isinstance(outcome, Verdict):
                if not outcome.retryable:
                    raise outcome.error
                poller.failed(outcome.error)
                retry_after = outcome.retry_after
            else:
                current = parse_task(json_body(outcome), outcome)
                if current.is_terminal:
                    return current
                poller.saw(current)
            self._sleep(poller.next_delay(self._clock(), retry_after))

    def cancel(self, task_id: str) -> None:
        """Cancel a PENDING task. UnsupportedOperationError if it is not PENDING any more;
        OutcomeUnknown if the cancel may or may not have happened (`get` tells)."""
        self._send(self.settings.cancel(task_id))

    def download(self, result: ImageResult | str, path: str | os.PathLike[str]) -> Path:
        """Stream an image (an ImageResult or its URL) to `path` and return the file's path.

        `path` may be a directory: the file then takes the URL's name. The file appears whole
        or not at all. Failures are retried like reads; an expired URL raises (HTTP 403).
        """
        url = result.url if isinstance(result, ImageResult) else result
        target = target_path(url, path)
        with Sink(target) as sink:
            self._send(download(url), sink)
        return target

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
        filters = ListFilters(status, model_name, start_time, end_time)
        # Built once here, so bad arguments raise at the call, not at the first iteration.
        self.settings.list_page(1, page_size, filters)

        def pages() -> Iterator[ListedTask]:
            seen: set[str] = set()
            page_no = 1
            while True:
                response = self._send(self.settings.list_page(page_no, page_size, filters))
                page = parse_page(json_body(response), response)
                for listed in page.tasks:
                    if listed.task_id not in seen:
                        seen.add(listed.task_id)
                        yield listed
                if page.is_last(page_no, page_size):
                    return
                page_no += 1

        return pages()

    # -- plumbing -----------------------------------------------------------------------------

    def _send(self, call: Call, sink: Sink | None = None) -> httpx.Response:
        """Make the call, retrying what may be retried; raise the final error."""
        attempt = 0
        while True:
            outcome = self._attempt(call, sink)
            if not isinstance(outcome, Verdict):
                return outcome
            attempt += 1
            if not outcome.retryable or attempt >= self.max_attempts:
                raise outcome.error
            self._sleep(self.backoff.delay(attempt - 1, outcome.retry_after))

    def _attempt(self, call: Call, sink: Sink | None = None) -> httpx.Response | Verdict:
        """One try: the response of a success (read, or streamed into `sink`), or a Verdict."""
        pause = self._gates.wait_time(call.operation, self._clock())
        if pause:
            self._sleep(pause)
        try:
            with self._http.stream(
                call.method,
                call.url,
                params=call.params or None,
                headers=call.headers,
                content=call.content,
                follow_redirects=sink is not None,
            ) as response:
                if sink is not None and response.is_success:
                    sink.start()
                    for chunk in response.iter_bytes():
                        sink.write(chunk)
                    sink.finish()
                else:
                    response.read()
        except httpx.RequestError as exc:
            verdict: Verdict | None = judge_exception(call, exc)
        else:
            verdict = judge_response(call, response)
        if verdict is None:
            return response
        self._gates.note(call.operation, verdict.retry_after, self._clock())
        return verdict

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
