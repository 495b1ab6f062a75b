"""The facade the HTTP layer calls: one method per API operation, in domain terms only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mockscope.domain.clock import Clock, ManualClock
from mockscope.domain.errors import InvalidApiKey, ModelNotFound
from mockscope.domain.ids import IdSource
from mockscope.domain.images import ImageCache
from mockscope.domain.lifecycle import Plan, TaskStatus, Timing
from mockscope.domain.tasks import Outcome, Task, TaskRequest, TaskView

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class BackendConfig:
    """How the simulated service behaves. Every field has the live service's default."""

    #: Models the service knows; a request for any other gets ModelNotFound.
    models: tuple[str, ...] = ("wanx-v1",)
    #: Accepted API keys; None accepts any non-empty key.
    api_keys: frozenset[str] | None = None
    timing: Timing = field(default_factory=Timing)
    #: How long a finished task stays readable (the live service keeps it 24 hours).
    retention_ms: int = DAY_MS
    #: Seeds task ids and unseeded image seeds; None for fresh randomness every run.
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.api_keys is not None and not all(self.api_keys):
            raise ValueError("API keys must be non-empty strings")
        if self.retention_ms < 0:
            raise ValueError("retention_ms must not be negative")


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """Everything a result image is rendered from."""

    width: int
    height: int
    prompt: str
    seed: int


class ResultGone(Exception):
    """A result URL that does not (or no longer) lead to an image."""

    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "no such result")
        self.expired = expired


class Backend:
    """The simulated DashScope service, driven by an injected clock."""

    def __init__(self, config: BackendConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config or BackendConfig()
        self.clock: Clock = clock if clock is not None else ManualClock()
        self.ids = IdSource(self.config.seed)
        self._tasks: dict[str, Task] = {}
        self._images = ImageCache()

    # -- identity ---------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> str:
        """The account behind an `Authorization: Bearer <key>` header value."""
        if not authorization or not authorization.strip():
            raise InvalidApiKey(InvalidApiKey.missing_message)
        scheme, _, key = authorization.strip().partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer":
            raise InvalidApiKey()
        if not key:
            raise InvalidApiKey(InvalidApiKey.missing_message)
        accepted = self.config.api_keys
        if accepted is not None and key not in accepted:
            raise InvalidApiKey()
        return key

    def new_request_id(self) -> str:
        return self.ids.request_id()

    # -- operations -------------------------------------------------------------------------

    def create_task(self, account: str, request: TaskRequest) -> TaskView:
        if request.model not in self.config.models:
            raise ModelNotFound.for_model(request.model)
        now = self.clock.now_ms()
        timing = self.config.timing
        outcome = Outcome.for_request(request)
        scheduled = now + timing.queue_ms
        duration = timing.reject_ms if outcome.task_failure else timing.run_ms(request.n)
        task = Task(
            task_id=self.ids.task_id(),
            account=account,
            request=request,
            seed=request.seed if request.seed is not None else self.ids.image_seed(),
            plan=Plan(submit_ms=now, scheduled_ms=scheduled, end_ms=scheduled + duration),
            outcome=outcome,
        )
        self._tasks[task.task_id] = task
        return TaskView(task.task_id, TaskStatus.PENDING, now, total=request.n)

    def get_task(self, account: str, task_id: str) -> TaskView:
        """The task as seen now; unknown, foreign and expired tasks read as UNKNOWN."""
        task = self._visible_task(account, task_id)
        if task is None:
            return TaskView.unknown(task_id)
        return task.view(self.clock.now_ms())

    def result_image(self, task_id: str, index: int) -> ImageSpec:
        """What the image behind a result URL shows: only a generated image of a kept task."""
        task = self._tasks.get(task_id)
        if task is None:
            raise ResultGone(expired=False)
        now = self.clock.now_ms()
        if self._expired(task, now):
            raise ResultGone(expired=True)
        view = task.view(now)
        if view.status is not TaskStatus.SUCCEEDED or not 0 <= index < len(view.results):
            raise ResultGone(expired=False)
        if view.results[index].failure is not None:
            raise ResultGone(expired=False)
        dimensions = task.request.dimensions
        assert dimensions is not None, "a SUCCEEDED task always has a supported size"
        width, height = dimensions
        return ImageSpec(width, height, task.request.prompt, task.image_seed(index))

    def render(self, spec: ImageSpec) -> bytes:
        """The PNG for an image spec; thread-safe, so it can run off the event loop."""
        return self._images.render(spec.width, spec.height, spec.prompt, spec.seed)

    def tasks(self) -> Iterable[Task]:
        """Every stored task of every account (for the control plane and tests)."""
        return self._tasks.values()

    def reset(self) -> None:
        """Forget every task, restart the clock and replay the id sequence from its seed."""
        self._tasks.clear()
        self.clock.restart()
        self.ids.restart()

    # -- internals ----------------------------------------------------------------------------

    def _visible_task(self, account: str, task_id: str) -> Task | None:
        task = self._tasks.get(task_id)
        if task is None or task.account != account:
            return None
        if self._expired(task, self.clock.now_ms()):
            return None
        return task

    def _expired(self, task: Task, now_ms: int) -> bool:
        return now_ms >= task.plan.finished_ms() + self.config.retention_ms
