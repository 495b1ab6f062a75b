"""The fake against a small model of the documented behaviour (fake only: it moves the clock).

Rules create tasks, poll them, cancel them, advance the clock (by chosen steps, or exactly to
the next moment something should happen) and let a day pass. After every request the fake's
answer must be what the model predicts from the documentation alone:

- each account runs one task at a time; the others wait PENDING in submission order; a task
  starts ~14 ms after its submission or when the one before it ends, and runs ~27 s for one
  image plus ~1.3 s per extra image (README "What it serves", fact sheet §8-§9);
- only a PENDING task can be cancelled (else 400 UnsupportedOperation); it reads CANCELED, and
  the tasks queued behind it move up;
- a finished task is kept 24 hours, then reads UNKNOWN, as unknown ids always do;
- submissions are limited to 2 per second and reads and cancels to 20 per second each, over a
  sliding one-second window; the excess gets 429 Throttling.RateQuota and changes nothing.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    multiple,
    rule,
    run_state_machine_as_test,
)

from contract_tests.support import CREATE_PATH, Target, skip_unless_fake
from mockscope import ManualClock, MockServer

KEY = "sk-contract-model"
QUEUE_MS = 14
RUN_MS = 25_500
PER_IMAGE_MS = 1_300
DAY_MS = 24 * 3600 * 1000
LIMITS = {"create": 2, "get": 20, "cancel": 20}
WINDOW_MS = 1000
#: How many of the latest tasks are read after each move of the clock.
READ_AFTER_ADVANCE = 4


@dataclass
class ModelTask:
    task_id: str
    n: int
    submit: int
    start: int
    end: int
    canceled: int | None = None


class Model:
    """What the documentation says the service does, in a few lines."""

    def __init__(self, now: int) -> None:
        self.now = now
        self.tasks: list[ModelTask] = []
        self.windows: dict[str, deque[int]] = {operation: deque() for operation in LIMITS}

    def admits(self, operation: str) -> bool:
        """Sliding window: at most LIMITS[operation] accepted calls in any second."""
        window = self.windows[operation]
        while window and window[0] <= self.now - WINDOW_MS:
            window.popleft()
        if len(window) >= LIMITS[operation]:
            return False
        window.append(self.now)
        return True

    def status(self, task: ModelTask) -> str:
        finished = task.canceled if task.canceled is not None else task.end
        if self.now >= finished + DAY_MS:
            return "UNKNOWN"
        if task.canceled is not None:
            return "CANCELED"
        if self.now < task.start:
            return "PENDING"
        return "RUNNING" if self.now < task.end else "SUCCEEDED"

    def create(self, task_id: str, n: int) -> ModelTask:
        busy_until = max((t.end for t in self.tasks if t.canceled is None), default=0)
        start = max(self.now + QUEUE_MS, busy_until)
        task = ModelTask(task_id, n, self.now, start, start + RUN_MS + PER_IMAGE_MS * n)
        self.tasks.append(task)
        return task

    def cancel(self, task: ModelTask) -> None:
        """Cancel a PENDING task; the ones waiting behind it move up, in order."""
        task.canceled = self.now
        running = [t.end for t in self.tasks if t.canceled is None and t.start <= self.now < t.end]
        free_at = running[0] if running else self.now
        for waiting in self.tasks:
            if waiting.canceled is None and waiting.start > self.now:
                waiting.start = max(waiting.submit + QUEUE_MS, free_at, self.now)
                waiting.end = waiting.start + RUN_MS + PER_IMAGE_MS * waiting.n
                free_at = waiting.end

    def next_event(self) -> int | None:
        """The next moment a status should change: a start, an end or an expiry."""
        moments = []
        for task in self.tasks:
            finished = task.canceled if task.canceled is not None else task.end
            moments += [task.start, task.end, finished + DAY_MS]
        upcoming = [moment for moment in moments if moment > self.now]
        return min(upcoming, default=None)


class FakeAgainstModel(RuleBasedStateMachine):
    tasks = Bundle("tasks")

    def __init__(self, server: MockServer, clock: ManualClock, api: httpx.Client) -> None:
        super().__init__()
        server.reset()
        self.clock = clock
        self.api = api
        self.model = Model(clock.now_ms())

    # -- requests -------------------------------------------------------------------------------

    def _throttled(self, response: httpx.Response) -> None:
        assert response.status_code == 429, response.text
        assert response.json()["code"] == "Throttling.RateQuota"
        # As the live service, the fake sends no Retry-After unless told to.
        assert "Retry-After" not in response.headers

    @rule(target=tasks, n=st.integers(1, 4))
    def create(self, n: int) -> object:
        body = {"model": "wanx-v1", "input": {"prompt": "a cat"}, "parameters": {"n": n}}
        headers = {"Authorization": f"Bearer {KEY}", "X-DashScope-Async": "enable"}
        response = self.api.post(CREATE_PATH, json=body, headers=headers)
        if not self.model.admits("create"):
            self._throttled(response)
            return multiple()
        assert response.status_code == 200, response.text
        output = response.json()["output"]
        assert output["task_status"] == "PENDING"
        return self.model.create(output["task_id"], n)

    @rule(task=tasks)
    def poll(self, task: ModelTask) -> None:
        self._read(task)

    def _read(self, task: ModelTask) -> None:
        response = self.api.get(f"/api/v1/tasks/{task.task_id}", headers=self._auth)
        if not self.model.admits("get"):
            self._throttled(response)
            return
        assert response.status_code == 200, response.text
        body = response.json()
        expected = self.model.status(task)
        assert body["output"]["task_status"] == expected, (task, self.model.now)
        if expected == "SUCCEEDED":
            assert len(body["output"]["results"]) == task.n
            assert body["usage"]["image_count"] == task.n

    @rule()
    def poll_unknown(self) -> None:
        response = self.api.get(f"/api/v1/tasks/{uuid.uuid4()}", headers=self._auth)
        if not self.model.admits("get"):
            self._throttled(response)
            return
        assert response.json()["output"]["task_status"] == "UNKNOWN"

    @rule(task=tasks)
    def cancel(self, task: ModelTask) -> None:
        response = self.api.post(f"/api/v1/tasks/{task.task_id}/cancel", headers=self._auth)
        if not self.model.admits("cancel"):
            self._throttled(response)
            return
        if self.model.status(task) == "PENDING":
            assert response.status_code == 200, response.text
            self.model.cancel(task)
        else:
            assert response.status_code == 400, response.text
            assert response.json()["code"] == "UnsupportedOperation"

    # -- time -----------------------------------------------------------------------------------

    @rule(milliseconds=st.sampled_from([1, 13, 14, 500, 1_000, 5_000, 26_000, 60_000]))
    def advance(self, milliseconds: int) -> None:
        self._advance(milliseconds)

    @rule(early=st.booleans())
    def advance_to_next_event(self, early: bool) -> None:
        """Land exactly on (or 1 ms before) a start, an end or an expiry: no off-by-one."""
        moment = self.model.next_event()
        if moment is not None:
            self._advance(max(0, moment - self.model.now - (1 if early else 0)))

    @rule()
    def expire(self) -> None:
        self._advance(DAY_MS + 1_000)

    def _advance(self, milliseconds: int) -> None:
        """Move both clocks, then read the latest tasks: every move of time is looked at."""
        self.clock.advance(milliseconds / 1000)
        self.model.now += milliseconds
        assert self.clock.now_ms() == self.model.now
        for task in self.model.tasks[-READ_AFTER_ADVANCE:]:
            self._read(task)

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def modelled() -> Iterator[tuple[MockServer, ManualClock, httpx.Client]]:
    clock = ManualClock()
    with MockServer(clock=clock, api_keys={KEY}, seed=5, validate_responses=True) as server:
        with httpx.Client(base_url=server.url, timeout=10) as api:
            yield server, clock, api
        assert not server.schema_violations, server.schema_violations[:5]


def test_fake_follows_the_documented_model(
    target: Target, modelled: tuple[MockServer, ManualClock, httpx.Client]
) -> None:
    skip_unless_fake(target, "it moves the service's clock and needs a clean account")
    server, clock, api = modelled
    run_state_machine_as_test(
        # Hypothesis documents a factory here, though its annotation says "class".
        lambda: FakeAgainstModel(server, clock, api),  # type: ignore[arg-type]
        settings=settings(
            # 30 runs of 40 steps (1,200 steps against the model): each run draws creates,
            # cancels, reads and time moves across the day; 60 mostly repeated their orders.
            max_examples=30,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
