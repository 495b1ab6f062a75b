"""The one client core, sans I/O: what to send, what an answer means, and what to do next.

Client and AsyncClient are thin shells over BaseClient, as httpx's own clients are over its
BaseClient. The core describes each API call as an Exchange; a shell sends its Call, hands
back what came (a response, or the httpx error that came instead) and sleeps as long as the
exchange says:

    while True:
        sleep(exchange.pause())                       # a Retry-After still running
        step = exchange.settle(send(exchange.call))   # the value, a Sleep, or it raises
        if not isinstance(step, Sleep):
            return step
        sleep(step.seconds)

Every decision is made here, once: the request, whether a failure is retried or raised (the
outcome-unknown rule, in _retry), how long to back off, when polling ends (_polling), and what
a body means (_parse).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx

from wanx_client._backoff import Backoff
from wanx_client._errors import ResponseError
from wanx_client._files import Sink, target_path
from wanx_client._kinds import ImageProtocol, TaskStatus
from wanx_client._models import ImageResult, ListedTask, Task
from wanx_client._parse import ListPage, page_from, task_from
from wanx_client._polling import Poller
from wanx_client._retry import Gates, Verdict, judge_exception, judge_response, outcome_unknown
from wanx_client._wire import Call, ListFilters, Settings, download

T = TypeVar("T")

#: What one try of a call brought back: a response, or the httpx error that came instead.
Answer = httpx.Response | httpx.RequestError


@dataclass(frozen=True, slots=True)
class Sleep:
    """The next step of an exchange that has not settled: sleep this long, then try again."""

    seconds: float


class Exchange(Generic[T]):
    """One call, tried until it settles: into the value `read` makes of the success answer, or
    into the error that no retry may fix (or the last one, after `max_attempts` tries)."""

    def __init__(
        self,
        core: BaseClient,
        call: Call,
        read: Callable[[httpx.Response], T],
        sink: Sink | None = None,
    ) -> None:
        self.core = core
        self.call = call
        self.read = read
        #: Where a success answer's body is streamed (downloads); None: it is read into memory.
        self.sink = sink
        self.failures = 0

    def pause(self) -> float:
        """Seconds to wait before the next try: what remains of a 429's Retry-After."""
        return self.core._gates.wait_time(self.call.operation, self.core._clock())

    def settle(self, answer: Answer) -> T | Sleep:
        """The value of a success; a Sleep before trying again; or raise the final error."""
        judged = self.core._judge(self.call, answer)
        if not isinstance(judged, Verdict):
            return self.read(judged)
        self.failures += 1
        if not judged.retryable or self.failures >= self.core.max_attempts:
            raise judged.error
        return Sleep(self.core.backoff.delay(self.failures - 1, judged.retry_after))


class Polling(Exchange[Task]):
    """`wait`: reads of one task until it is terminal, spaced and ended by a Poller.

    Transient failures (5xx, 429, dropped connections) count as polls; only the deadline
    (WaitTimeout) or an error no retry can fix (e.g. 401) ends the polling early.
    """

    def __init__(
        self, core: BaseClient, task_id: str, poll: Backoff | None, timeout: float | None
    ) -> None:
        super().__init__(core, core.settings.get(task_id), task_from)
        self.poller = Poller(task_id, poll or core.backoff, timeout, core._clock())

    def settle(self, answer: Answer) -> Task | Sleep:
        judged = self.core._judge(self.call, answer)
        retry_after = None
        if isinstance(judged, Verdict):
            if not judged.retryable:
                raise judged.error
            self.poller.failed(judged.error)
            retry_after = judged.retry_after
        else:
            current = self.read(judged)
            if current.is_terminal:
                return current
            self.poller.saw(current)
        return Sleep(self.poller.next_delay(self.core._clock(), retry_after))


class Listing:
    """`list`: which page to read next, and which tasks of a page are new (a task pushed onto
    the next page by a newer one is yielded once)."""

    def __init__(self, core: BaseClient, filters: ListFilters, page_size: int) -> None:
        # Built once here, so bad arguments raise at the call, not at the first iteration.
        core.settings.list_page(1, page_size, filters)
        self.core = core
        self.filters = filters
        self.page_size = page_size
        self.page_no: int | None = 1
        self.seen: set[str] = set()

    def next_page(self) -> Exchange[ListPage] | None:
        """The read of the next page; None once the last page has been read."""
        if self.page_no is None:
            return None
        call = self.core.settings.list_page(self.page_no, self.page_size, self.filters)
        return Exchange(self.core, call, page_from)

    def take(self, page: ListPage) -> list[ListedTask]:
        """The tasks of the page just read that were not seen before."""
        assert self.page_no is not None, "take() follows next_page()"
        new = []
        for listed in page.tasks:
            if listed.task_id not in self.seen:
                self.seen.add(listed.task_id)
                new.append(listed)
        self.page_no = None if page.is_last(self.page_no, self.page_size) else self.page_no + 1
        return new


class BaseClient:
    """What Client and AsyncClient share: the settings, the policies, and every decision.

    The shells add the HTTP client, `sleep`, and a lock that lets one submit through at a
    time: the service takes 2 per second per account, so parallel submits gain nothing, and one
    that met a 429 must hold the others back until its Retry-After has passed (requests already
    in flight could not be held back).
    """

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        workspace: str | None,
        model: str,
        protocol: ImageProtocol | str | None,
        http_client: object,
        transport: object,
        backoff: Backoff | None,
        max_attempts: int,
        clock: Callable[[], float],
    ) -> None:
        if http_client is not None and transport is not None:
            raise ValueError("pass http_client or transport, not both")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.settings = Settings.resolve(base_url, api_key, workspace, model, protocol)
        self.backoff = backoff or Backoff()
        self.max_attempts = max_attempts
        self._owns_http = http_client is None
        self._clock = clock
        self._gates = Gates()

    # -- one exchange per API call ------------------------------------------------------------

    def _submitting(
        self, prompt: str, options: Mapping[str, Any], parameters: Mapping[str, Any] | None
    ) -> Exchange[Task]:
        call = self.settings.submit(prompt, options, parameters)
        return Exchange(self, call, partial(_submitted, call))

    def _getting(self, task_id: str) -> Exchange[Task]:
        return Exchange(self, self.settings.get(task_id), task_from)

    def _waiting(self, task: Task | str, timeout: float | None, poll: Backoff | None) -> Polling:
        task_id = task.task_id if isinstance(task, Task) else task
        return Polling(self, task_id, poll, timeout)

    def _cancelling(self, task_id: str) -> Exchange[None]:
        return Exchange(self, self.settings.cancel(task_id), _nothing)

    def _downloading(
        self, result: ImageResult | str, path: str | os.PathLike[str]
    ) -> tuple[Exchange[Path], Sink]:
        """The exchange, and the sink the shell must close (`with`) whatever happens."""
        url = result.url if isinstance(result, ImageResult) else result
        sink = Sink(target_path(url, path))
        return Exchange(self, download(url), lambda _: sink.target, sink), sink

    def _listing(
        self,
        status: TaskStatus | str | None,
        model_name: str | None,
        start_time: datetime | str | None,
        end_time: datetime | str | None,
        page_size: int,
    ) -> Listing:
        return Listing(self, ListFilters(status, model_name, start_time, end_time), page_size)

    # -- judging answers ----------------------------------------------------------------------

    def _judge(self, call: Call, answer: Answer) -> httpx.Response | Verdict:
        """The response of a success, or the Verdict on a failure (its Retry-After noted)."""
        if isinstance(answer, httpx.Response):
            verdict = judge_response(call, answer)
            if verdict is None:
                return answer
        else:
            verdict = judge_exception(call, answer)
        self._gates.note(call.operation, verdict.retry_after, self._clock())
        return verdict


def _submitted(call: Call, response: httpx.Response) -> Task:
    try:
        return task_from(response)
    except ResponseError as error:
        # A success answer that cannot be read: the task exists, its id is lost.
        raise outcome_unknown(call, error) from error


def _nothing(response: httpx.Response) -> None:
    """A success whose body does not matter (cancel)."""
