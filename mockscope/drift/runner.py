"""Running the probes against one side: the target, or the in-process fake mirroring it.

Both sides run the same code. Time is measured in the target's seconds since the run started;
the fake's side turns its sleeps into advances of a manual clock and, before each request,
catches up with the moment the target sent the same request, so a task read at second 12 on
the target is read at second 12 on the fake too. What the target skipped (over budget, no task
to act on) the fake skips as well, so the two runs stay comparable step by step.

The runner is polite on every target: submissions are at least 0.6 s apart (2 per second
allowed), other requests 0.1 s (20 per second allowed), and a 429 is retried after its
Retry-After, at most three times. `time_scale` is for sped-up stand-ins (`mockscope serve
--time-scale N`): waits are divided by it and the fake's clock runs N times faster.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from mockscope.domain.lifecycle import TERMINAL_STATUSES
from mockscope.drift.probes import Probe
from mockscope.drift.wire import Request, Response

#: Never valid anywhere: the probes' "invalid key".
INVALID_KEY = "sk-mockscope-drift-invalid-key"
USER_AGENT = "mockscope-drift/1"
#: Minimum gaps between requests, in seconds of the target's time.
CREATE_GAP = 0.6
OTHER_GAP = 0.1
MAX_RETRIES = 3


class Side(Protocol):
    """Where the probes go. Times are seconds of the target's wall clock since the run began."""

    api_key: str

    def send(self, request: Request) -> Response: ...

    def elapsed(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


@dataclass(frozen=True, slots=True)
class Step:
    """One exchange of a probe: its `index`-th request, sent `at` seconds into the run."""

    probe: str
    index: int
    at: float
    request: Request
    response: Response


@dataclass(slots=True)
class ProbeRun:
    """One probe run on one side: its exchanges (retries and polls included), or why it was
    skipped."""

    probe: Probe
    steps: list[Step] = field(default_factory=list)
    skipped: str = ""

    @property
    def last(self) -> Response | None:
        return self.steps[-1].response if self.steps else None

    @property
    def sequence(self) -> tuple[str, ...]:
        """The task statuses its reads showed, repeats collapsed (PENDING, RUNNING, ...)."""
        seen: list[str] = []
        for step in self.steps:
            status = task_status(step.response)
            if status is not None and (not seen or seen[-1] != status):
                seen.append(status)
        return tuple(seen)


#: The old name, still imported by tests/contract_suite/test_drift.py; drop once it is not.
Outcome = ProbeRun


@dataclass(frozen=True, slots=True)
class Settings:
    budget_images: int = 2
    time_scale: float = 1.0
    #: Give up polling a task after this many seconds (of the target's wall clock).
    poll_timeout: float = 600.0


def task_status(response: Response) -> str | None:
    """`output.task_status` of a 200 JSON answer, if there is one."""
    return _output_text(response, "task_status")


def created_task_id(response: Response) -> str | None:
    """`output.task_id` of a 200 JSON answer, if there is one."""
    return _output_text(response, "task_id")


def _output_text(response: Response, name: str) -> str | None:
    if response.status != 200:
        return None
    try:
        document = json.loads(response.body)
    except ValueError:
        return None
    output = document.get("output") if isinstance(document, dict) else None
    value = output.get(name) if isinstance(output, dict) else None
    return value if isinstance(value, str) and value else None


def billed_images(outcome: ProbeRun) -> int:
    """The most a probe may have billed: its images, unless it was refused (4xx). An answer
    that never came may still have created the task, so it counts."""
    last = outcome.last
    if last is None or 400 <= last.status < 500:
        return 0
    return outcome.probe.images


def poll_delays() -> Iterator[float]:
    """The official SDK's waits between reads: 1, 1, 2, 2, 2, 4, 4, 4, 5, 5, ... seconds."""
    delay, count = 1.0, 0
    while True:
        yield delay
        count += 1
        if count % 3 == 2:  # the SDK doubles after every third read, the first one unslept
            delay = min(delay * 2, 5.0)


class Runner:
    """Runs probes in order on one side; `mirror` makes it follow another side's run."""

    def __init__(
        self, side: Side, settings: Settings, mirror: Sequence[ProbeRun] | None = None
    ) -> None:
        self.side = side
        self.settings = settings
        self.tasks: dict[str, str] = {}
        self.images = 0
        self._last_any = self._last_create = float("-inf")
        self._mirror_at: dict[tuple[str, int], float] = {}
        self._mirror_skipped: dict[str, str] | None = None
        if mirror is not None:
            self._mirror_skipped = {o.probe.name: o.skipped for o in mirror if o.skipped}
            for outcome in mirror:
                for step in outcome.steps:
                    self._mirror_at[(step.probe, step.index)] = step.at

    def run(
        self, probes: Sequence[Probe], progress: Callable[[int, int, ProbeRun], None] | None = None
    ) -> list[ProbeRun]:
        """Every probe in order; `progress(number, total, outcome)` after each one."""
        outcomes = []
        for number, probe in enumerate(probes, 1):
            outcomes.append(self._run_one(probe))
            if progress is not None:
                progress(number, len(probes), outcomes[-1])
        return outcomes

    # -- one probe ------------------------------------------------------------------------------

    def _run_one(self, probe: Probe) -> ProbeRun:
        outcome = ProbeRun(probe)
        reason = self._skip_reason(probe)
        if reason:
            outcome.skipped = reason
            return outcome
        path = probe.path.format_map(self.tasks)
        request = Request(probe.method, path, self._headers(probe), probe.body)
        response = self._exchange(outcome, request)
        self.images += billed_images(outcome)
        if probe.creates is not None:
            task_id = created_task_id(response)
            if task_id is not None:
                self.tasks[probe.creates] = task_id
        if probe.poll:
            self._poll(outcome, request, response)
        return outcome

    def _skip_reason(self, probe: Probe) -> str:
        if self._mirror_skipped is not None and probe.name in self._mirror_skipped:
            return self._mirror_skipped[probe.name]
        missing = [name for name in probe.needs if name not in self.tasks]
        if missing:
            return f"no task {', '.join(missing)} was created"
        if (
            self._mirror_skipped is None
            and probe.images > self.settings.budget_images - self.images
        ):
            left = self.settings.budget_images - self.images
            return f"over the image budget ({probe.images} needed, {left} left)"
        return ""

    def _headers(self, probe: Probe) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if probe.auth == "valid":
            headers["Authorization"] = f"Bearer {self.side.api_key}"
        elif probe.auth == "invalid":
            headers["Authorization"] = f"Bearer {INVALID_KEY}"
        if probe.asynchronous:
            headers["X-DashScope-Async"] = "enable"
        if probe.body is not None:
            headers["Content-Type"] = "application/json"
        return headers

    def _poll(self, outcome: ProbeRun, request: Request, response: Response) -> None:
        started = self.side.elapsed()
        delays = poll_delays()
        while response.status == 200 and task_status(response) not in TERMINAL_STATUSES:
            if self.side.elapsed() - started > self.settings.poll_timeout:
                break
            self._wait(next(delays))
            response = self._exchange(outcome, request)

    # -- one request, paced and retried on 429 ---------------------------------------------------

    def _exchange(self, outcome: ProbeRun, request: Request) -> Response:
        create = outcome.probe.is_create
        for attempt in range(MAX_RETRIES + 1):
            self._pace(create)
            index = len(outcome.steps)
            mirrored = self._mirror_at.get((outcome.probe.name, index))
            if mirrored is not None:
                self.side.sleep(max(0.0, mirrored - self.side.elapsed()))
            at = self.side.elapsed()
            response = self.side.send(request)
            self._last_any = self.side.elapsed()
            if create:
                self._last_create = self._last_any
            outcome.steps.append(Step(outcome.probe.name, index, at, request, response))
            if response.status != 429 or attempt == MAX_RETRIES:
                return response
            self._wait(_retry_after(response))
        raise AssertionError("unreachable")

    def _pace(self, create: bool) -> None:
        scale = self.settings.time_scale
        ready = self._last_any + OTHER_GAP / scale
        if create:
            ready = max(ready, self._last_create + CREATE_GAP / scale)
        self.side.sleep(max(0.0, ready - self.side.elapsed()))

    def _wait(self, seconds: float) -> None:
        self.side.sleep(seconds / self.settings.time_scale)


def _retry_after(response: Response) -> float:
    try:
        return max(0.1, float(response.headers.get("retry-after", "1")))
    except ValueError:
        return 1.0
