"""MockServer: the fake service on a real socket, in-process, usable with or without pytest."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable, Coroutine, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import web

from mockscope.backend import Backend
from mockscope.domain.clock import Clock
from mockscope.domain.journal import Journal
from mockscope.domain.models import ModelCatalogue
from mockscope.domain.ratelimit import Limits
from mockscope.domain.tasks import TaskRecord
from mockscope.domain.uploads import StoredFile
from mockscope.http.access_log import MaskingAccessLogger
from mockscope.http.app import API, create_app
from mockscope.http.conformance import VIOLATIONS, Violation
from mockscope.http.connections import ConnectionLimits, GuardedSite, limit_accept_error_logging
from mockscope.http.direct import DirectRunner
from mockscope.http.envelopes import FAILURES, ServerFailure
from mockscope.http.serialize import result_url
from mockscope.options import Options, takes_options
from mockscope.scenarios import reading
from mockscope.scenarios.reading import Declaration
from mockscope.scenarios.rules import Rule

T = TypeVar("T")
#: The statuses of a task that ran to its end (only those have result URLs, or had them).
_ENDED = frozenset({"SUCCEEDED", "FAILED"})
#: Seconds a stopping server gives requests still in flight (held answers are let go at once).
SHUTDOWN_GRACE_S = 0.5


def tune_gc_for_serving() -> None:
    """Garbage-collector settings for a process that does nothing but serve the fake.

    Each stored task is a few long-lived objects, and the collector's full passes walk all of
    them: with a hundred thousand tasks a pass stalls every request for ~100 ms. Freezing what
    start-up created and running full passes 100 times less often keeps those stalls out of
    request latency. Tasks are still freed by reference counting the moment they expire.

    The middle generation is collected every other young collection rather than every tenth:
    under a burst of creates each of its passes walks what the young passes let through since
    the last one, ~7,000 objects and a 2-3 ms stall of every request in flight at 10; the same
    work in five times as many, five times shorter stalls halves the p99 latency of creates
    (measured with wrk: `bench/bench_http.py`). The oldest generation's threshold counts middle
    passes, so it grows by the same factor to keep full passes as rare.

    `mockscope serve` calls this; an in-process MockServer leaves the host process alone.
    """
    gc.collect()
    gc.freeze()
    young, _, _ = gc.get_threshold()
    gc.set_threshold(young, 1, 10_000)


class MockServer:
    """A running fake of DashScope's text-to-image API (the Wan family) on `host:port` (port 0
    picks a free one).

    Start it in its own event-loop thread with `start()` / `with MockServer() as server`, or in
    the caller's running loop with `await start_async()` / `async with MockServer() as server`.

    Everything a test does to the fake goes through its methods: `tasks()`, `reset()`, the
    scenario (`set_scenario`, `add_rule`, `rules`, `clear_scenario`), `limits` /
    `set_limits()`, `finish()`, `journal`, and `check()` at the end. They are safe to call from
    the test's thread while the server runs in its own.
    """

    @takes_options
    def __init__(self, options: Options) -> None:
        """Keyword options: the fields of `mockscope.options.Options` (a wrong one: OptionError)."""
        self.options = options
        self.backend = Backend(options.backend_config(), options.new_clock())
        self.app = create_app(
            self.backend,
            public_url=options.public_url,
            control_token=options.control_token,
            validate_responses=options.validate_responses,
            header_scenarios=options.header_scenarios,
        )
        self._host, self._port = options.host, options.port
        self._access_log = options.access_log
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- where it is --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._runner is None:
            raise RuntimeError("the server is not running")
        return self._port

    @property
    def url(self) -> str:
        """The server's root, e.g. `http://127.0.0.1:41234`."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def base_http_api_url(self) -> str:
        """What the dashscope SDK wants as its base URL (`…/api/v1`)."""
        return self.url + API

    @property
    def inspector_url(self) -> str:
        """The inspector page, for a browser (`…/_mockscope/`): what the fake holds, live."""
        return f"{self.url}/_mockscope/"

    @property
    def clock(self) -> Clock:
        return self.backend.clock

    # -- what it holds ------------------------------------------------------------------------

    def tasks(self, account: str | None = None) -> list[TaskRecord]:
        """Every stored task (of one account, if named), oldest first within each account."""
        return self._on_loop(lambda: self.backend.control.tasks(account))

    @property
    def models(self) -> ModelCatalogue:
        """The models served: each one's endpoints, rules, limits and timing."""
        return self.backend.api.models

    def result_url(self, task_id: str, index: int, *, method: str = "GET") -> str:
        """The signed URL of image `index` (from 0) of a finished task, as the fake hands it out
        in the task's `results`; for `method="HEAD"`, signed for HEAD instead. It is made
        whether or not that image exists (a failed image's URL answers 404 NoSuchKey)."""
        record = next((task for task in self.tasks() if task.task_id == task_id), None)
        if record is None or record.end_ms is None or record.status not in _ENDED:
            raise LookupError(f"no finished task {task_id} is kept")
        base = self.options.public_url.rstrip("/") or self.url
        return result_url(base, task_id, index, record.end_ms, self.backend.objects, method)

    def uploads(self) -> list[StoredFile]:
        """Every uploaded reference file kept now, oldest first."""
        return self._on_loop(self.backend.control.uploads)

    @property
    def journal(self) -> Journal:
        """Every request answered, within a bound; with checks for client misbehaviour."""
        return self.backend.journal

    @property
    def limits(self) -> Limits:
        """The rate limits and concurrency in force."""
        return self.backend.control.limits

    def set_limits(self, limits: Limits) -> None:
        """Change the limits from now on (a full `reset()` restores the configured ones)."""
        self._on_loop(lambda: self.backend.control.set_limits(limits))

    def finish(self, task_id: str) -> None:
        """End a task now: one a scenario told to wait `never`, or any unfinished one."""
        self._on_loop(lambda: self.backend.control.finish_task(task_id))

    def reset(self, account: str | None = None) -> None:
        """Forget one account's tasks and uploads, or everything: every task, upload and
        journal entry, with the clock, id sequence, scenario and limits back to how the server
        started."""
        self._on_loop(lambda: self.backend.control.reset(account))

    # -- scenarios ------------------------------------------------------------------------------

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The scenario rules in force, in order."""
        return self.backend.control.rules

    def set_scenario(self, scenario: Declaration | None, seed: int | None = None) -> None:
        """Replace the scenario in force: a document, a list of rules, or None for none.

        Rules are mappings (`{"outcome": "failed", "code": "DataInspectionFailed"}`) or
        one-line strings (`"failed; code=DataInspectionFailed"`). A malformed scenario raises
        ScenarioError and leaves the one in force untouched.
        """
        declared = reading.checked(scenario or [], seed)
        self._on_loop(lambda: self.backend.control.set_scenario(declared))

    def add_rule(self, rule: Mapping[str, Any] | str) -> None:
        """Add one rule after those in force."""
        added = reading.checked_rule(rule)
        self._on_loop(lambda: self.backend.control.add_rule(added))

    def clear_scenario(self) -> None:
        """Remove every rule: the happy path again."""
        self._on_loop(self.backend.control.clear_scenario)

    # -- what went wrong ------------------------------------------------------------------------

    @property
    def schema_violations(self) -> list[Violation]:
        """Responses that broke `schemas/` (only recorded with validate_responses=True)."""
        if VIOLATIONS not in self.app:
            return []
        recorded: list[Violation] = self.app[VIOLATIONS]
        return list(recorded)

    @property
    def server_failures(self) -> list[ServerFailure]:
        """Unexpected exceptions inside the fake, each answered as a 500 envelope (the last 100)."""
        recorded = self.app[FAILURES]
        return list(recorded)

    def check(self) -> None:
        """Raise in the test what went wrong inside the server since the last check.

        First the exceptions the fake raised while answering (each answered with a 500
        envelope): the first is raised again, as itself. Then, with validate_responses=True,
        the responses that broke `schemas/`, as one AssertionError. What is raised is forgotten,
        so call it until it returns to see everything; a clean server returns at once.
        """
        failures = self._on_loop(self._take_failures)
        if failures:
            first = failures[0]
            more = f"; {len(failures) - 1} more after it" if len(failures) > 1 else ""
            first.error.add_note(
                f"mockscope: raised inside the fake answering {first.method} {first.path}; "
                f"the client got a 500 InternalError envelope{more}"
            )
            raise first.error
        violations = self._on_loop(self._take_violations)
        if violations:
            listed = "\n  ".join(map(str, violations))
            raise AssertionError(f"responses that break schemas/:\n  {listed}")

    def _take_failures(self) -> list[ServerFailure]:
        recorded = self.app[FAILURES]
        taken = list(recorded)
        recorded.clear()
        return taken

    def _take_violations(self) -> list[Violation]:
        if VIOLATIONS not in self.app:
            return []
        recorded = self.app[VIOLATIONS]
        taken = list(recorded)
        recorded.clear()
        return taken

    # -- lifecycle ------------------------------------------------------------------------------

    async def start_async(self) -> Self:
        """Start serving in the running event loop."""
        if self._runner is not None:
            raise RuntimeError("the server is already running")
        options = self.options
        runner = DirectRunner(
            self.app,
            handle_signals=False,
            # A client that gives up on a held-back answer ends its handler too.
            handler_cancellation=True,
            access_log=self._access_log,
            # The request line, with any API key in its query masked.
            access_log_class=MaskingAccessLogger,
            # Bodies are decoded by the handlers, bounded as they decode (http/inbound.py).
            auto_decompress=False,
            keepalive_timeout=options.keepalive_timeout,
            # Held answers are let go on shutdown; what is left in flight gets this long.
            shutdown_timeout=SHUTDOWN_GRACE_S,
        )
        await runner.setup()
        limits = ConnectionLimits(options.header_timeout, options.max_connections)
        site = GuardedSite(
            runner,
            self._host,
            self._port,
            limits,
            self.backend.api.new_request_id,
            reuse_address=True,
        )
        await site.start()
        self._runner = runner
        self._port = site.bound_port
        return self

    async def stop_async(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def start(self) -> Self:
        """Start serving from a dedicated event-loop thread; returns once it accepts requests."""
        if self._thread is not None:
            raise RuntimeError("the server is already running")
        loop = asyncio.new_event_loop()
        limit_accept_error_logging(loop)
        thread = threading.Thread(target=loop.run_forever, name="mockscope", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self._call_in_loop(self.start_async())
        except BaseException:
            self._shutdown_thread()
            raise
        return self

    def stop(self) -> None:
        if self._thread is None:
            raise RuntimeError("stop() is for servers started with start(); use stop_async()")
        try:
            self._call_in_loop(self.stop_async())
        finally:
            self._shutdown_thread()

    def _on_loop(self, change: Callable[[], T]) -> T:
        """Run `change` on the server's own loop thread, when it has one, and return its result."""
        if self._loop is not None and self._thread is not threading.current_thread():

            async def run() -> T:
                return change()

            return self._call_in_loop(run())
        return change()

    def _call_in_loop(self, coroutine: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _shutdown_thread(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await self.start_async()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop_async()
