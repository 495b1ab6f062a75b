"""The facade the HTTP layer calls: one method per API operation, in domain terms only."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mockscope.domain import errors
from mockscope.domain.accounts import AccountSpec
from mockscope.domain.clock import Clock, ManualClock
from mockscope.domain.identity import Caller, Directory
from mockscope.domain.ids import IdSource
from mockscope.domain.images import ImageCache, Rendered
from mockscope.domain.journal import Journal
from mockscope.domain.lifecycle import TaskStatus, Timing
from mockscope.domain.listing import ListQuery, TaskPage, list_tasks
from mockscope.domain.objects import ResultObjects
from mockscope.domain.operations import Operation
from mockscope.domain.ratelimit import Limits, RateLimiter
from mockscope.domain.store import TaskStore
from mockscope.domain.tasks import Task, TaskRequest, TaskView
from mockscope.domain.uploads import Certificate, UploadForm, Uploads
from mockscope.domain.urls import check_input_url
from mockscope.scenarios.reading import rules_from_document
from mockscope.scenarios.rules import Outcome as ScenarioOutcome
from mockscope.scenarios.rules import Rule, Scenario
from mockscope.scenarios.shaping import shape_task

DAY_MS = 24 * 60 * 60 * 1000
_FINISHED = frozenset({"SUCCEEDED", "FAILED", "CANCELED"})
#: Idle rate-limit windows are swept after this many submissions.
_PRUNE_EVERY = 4096


@dataclass(frozen=True)
class BackendConfig:
    """How the simulated service behaves. Every field has the live service's default."""

    #: Models the service knows; a request for any other gets ModelNotFound.
    models: tuple[str, ...] = ("wanx-v1",)
    #: Accepted API keys; None accepts any non-empty key (keys in `accounts` always count).
    api_keys: frozenset[str] | None = None
    #: Keys and workspaces grouped into shared accounts; any other key is its own account.
    accounts: tuple[AccountSpec, ...] = ()
    timing: Timing = field(default_factory=Timing)
    limits: Limits = field(default_factory=Limits)
    #: How long a finished task stays readable (the live service keeps it 24 hours).
    retention_ms: int = DAY_MS
    #: Seeds task ids, unseeded image seeds and scenario draws; None for fresh randomness.
    seed: int | None = None
    #: How many requests the journal keeps (the oldest are dropped).
    journal_size: int = 10_000
    #: The scenario in force at start and after every full reset (schemas/scenario.json form).
    scenario: Mapping[str, Any] | None = None

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
    #: When the image was made (its task's end): its Last-Modified.
    made_ms: int = 0


class ResultGone(Exception):
    """A result URL that does not (or no longer) lead to an image."""

    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "no such result")
        self.expired = expired


class Backend:
    """The simulated DashScope service, driven by an injected clock."""

    def __init__(self, config: BackendConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config = config or BackendConfig()
        self.clock: Clock = clock if clock is not None else ManualClock()
        self.ids = IdSource(config.seed)
        self.directory = Directory(config.api_keys, config.accounts)
        self.limiter = RateLimiter(config.limits)
        self.store = TaskStore(config.retention_ms, config.limits.concurrency)
        self.journal = Journal(config.journal_size)
        secret = _server_secret(config.seed)
        self.uploads = Uploads(secret=secret + b"/uploads")
        self.objects = ResultObjects(
            secret + b"/results", _oss_access_key_id(secret), config.retention_ms
        )
        self.scenario = self._initial_scenario()
        self._images = ImageCache()
        self._submissions = 0

    # -- identity -----------------------------------------------------------------------------

    def authenticate(self, authorization: str | None, workspace: str | None = None) -> Caller:
        return self.directory.authenticate(authorization, workspace)

    def new_request_id(self) -> str:
        return self.ids.request_id()

    def model_exists(self, model: str) -> bool:
        return model in self.config.models

    # -- operations ---------------------------------------------------------------------------

    def create_task(
        self,
        caller: Caller,
        request: TaskRequest,
        request_id: str = "",
        declared: ScenarioOutcome | None = None,
        resolve_oss: bool = False,
    ) -> str:
        """Queue a task and return its id; it is PENDING until its account has a free slot.

        `declared` is a scenario's task outcome (failed, partial, suspended, ...), if any;
        `resolve_oss` says the caller asked for `oss://` references to be resolved.
        """
        if not self.model_exists(request.model):
            raise errors.ModelNotFound.for_model(request.model)
        now = self.clock.now_ms()
        self._check_reference(caller, request.ref_img, resolve_oss, now)
        self._throttle(Operation.CREATE, caller, now, request.model)
        self._housekeeping(now)
        shape = shape_task(request, self.config.timing, declared)
        account = self.store.account(caller.account)
        plan = account.plan(now, shape.queue_ms, shape.run_ms)
        shape.adjust(plan)
        task = Task(
            task_id=self.ids.task_id(),
            account=caller.account,
            request=request,
            seed=request.seed if request.seed is not None else self.ids.image_seed(),
            plan=plan,
            outcome=shape.outcome,
            api_key=caller.api_key,
            request_id=request_id,
            progression=shape.progression,
        )
        self.store.add(task, now)
        return task.task_id

    def get_task(self, caller: Caller, task_id: str) -> TaskView:
        """The task as seen now; unknown, foreign and expired tasks read as UNKNOWN."""
        now = self.clock.now_ms()
        self._throttle(Operation.GET, caller, now)
        task = self._visible_task(caller, task_id, now)
        if task is None:
            return TaskView.unknown(task_id)
        if task.on_read(now):
            self._moved(task, now)
        elif self.clock.jumps and (target := task.jump_target(now)) is not None:
            now = self.clock.advance_to(target)  # a jumping clock: the read finds it finished
        return task.view(now)

    def cancel_task(self, caller: Caller, task_id: str) -> None:
        """Cancel a PENDING task; the tasks queued behind it move up."""
        now = self.clock.now_ms()
        self._throttle(Operation.CANCEL, caller, now)
        task = self._visible_task(caller, task_id, now)
        if task is None or task.view(now).status is not TaskStatus.PENDING:
            raise errors.UnsupportedOperation()
        task.plan.canceled_ms = now
        self.store.rescheduled(task)
        self._replan(caller.account, now)

    def list_tasks(self, caller: Caller, query: ListQuery) -> TaskPage:
        now = self.clock.now_ms()
        self._throttle(Operation.LIST, caller, now)
        account = self.store.account_or_none(caller.account)
        tasks = account.tasks if account is not None else ()
        return list_tasks(tasks, query, now, lambda task: not self.store.is_expired(task, now))

    def result_image(self, task_id: str, index: int) -> ImageSpec:
        """What the image behind a result URL shows: only a generated image of a kept task."""
        task = self.store.get(task_id)
        if task is None:
            raise ResultGone(expired=False)
        now = self.clock.now_ms()
        if self.store.is_expired(task, now):
            raise ResultGone(expired=True)
        view = task.view(now)
        if view.status is not TaskStatus.SUCCEEDED or not 0 <= index < len(view.results):
            raise ResultGone(expired=False)
        if view.results[index].failure is not None:
            raise ResultGone(expired=False)
        dimensions = task.request.dimensions
        assert dimensions is not None, "a SUCCEEDED task always has a supported size"
        width, height = dimensions
        assert view.end_ms is not None
        return ImageSpec(width, height, task.request.prompt, task.image_seed(index), view.end_ms)

    def render(self, spec: ImageSpec) -> bytes:
        """The PNG for an image spec; thread-safe, so it can run off the event loop."""
        return self.rendered(spec).png

    def rendered(self, spec: ImageSpec) -> Rendered:
        """The image for a spec with its MD5; thread-safe, so it can run off the event loop."""
        return self._images.rendered(spec.width, spec.height, spec.prompt, spec.seed)

    def cached_image(self, spec: ImageSpec) -> Rendered | None:
        """The image if it was rendered lately: no need to leave the event loop for it."""
        return self._images.cached(spec.width, spec.height, spec.prompt, spec.seed)

    # -- control --------------------------------------------------------------------------------

    @property
    def limits(self) -> Limits:
        return self.limiter.limits

    def set_limits(self, limits: Limits) -> None:
        """Change the limits from now on; a new concurrency redraws every waiting queue."""
        old = self.limiter.limits
        self.limiter.limits = limits
        if limits.concurrency != old.concurrency:
            self.store.concurrency = limits.concurrency
            now = self.clock.now_ms()
            for account in self.store.accounts():
                self._replan(account.name, now)

    def upload_certificate(self, caller: Caller, model: str) -> Certificate:
        """A certificate to upload one or more files for `model` (getPolicy)."""
        now = self.clock.now_ms()
        self._throttle(Operation.UPLOAD, caller, now)
        return self.uploads.certificate(caller.account, model, now, self.ids.request_id())

    def store_upload(self, form: UploadForm) -> None:
        """Keep a file posted to object storage with a certificate (StorageError if refused)."""
        self.uploads.store(form, self.clock.now_ms())

    def finish_task(self, task_id: str) -> TaskView:
        """End a task now, whatever its plan said (for tasks told to wait `never`)."""
        now = self.clock.now_ms()
        task = self.store.get(task_id)
        if task is None or self.store.is_expired(task, now):
            raise errors.NotFound(f"No task {task_id} is kept.")
        if task.view(now).status.value in _FINISHED:
            raise errors.UnsupportedOperation(f"Task {task_id} has already finished.")
        task.plan.finish_at(now)
        self._moved(task, now)
        return task.view(now)

    def set_scenario(self, rules: Sequence[Rule], seed: int | None = None) -> None:
        """Replace the scenario in force (rules must already be checked)."""
        self.scenario = Scenario(rules, seed if seed is not None else self.config.seed)

    def tasks(self) -> Iterator[Task]:
        """Every stored task of every account (for the control plane and tests)."""
        return iter(self.store)

    def reset(self, account: str | None = None) -> None:
        """Forget one account, or everything (then the clock and the id sequence restart too)."""
        if account is not None:
            self.store.remove_account(account)
            self.limiter.forget(account)
            self.uploads.clear(account)
            return
        self.store.clear()
        self.uploads.clear()
        self.limiter.clear()
        self.journal.clear()
        self.scenario = self._initial_scenario()
        self.clock.restart()
        self.ids.restart()

    # -- internals ------------------------------------------------------------------------------

    def _throttle(self, operation: Operation, caller: Caller, now: int, model: str = "") -> None:
        decision = self.limiter.check(operation, caller.account, now, model)
        if not decision.allowed:
            retry_after = decision.retry_after_ms / 1000 if self.limits.retry_after else None
            raise errors.RateQuotaExceeded(retry_after)

    def _replan(self, account_name: str, now: int) -> None:
        account = self.store.account_or_none(account_name)
        if account is None:
            return
        queue_ms = self.config.timing.queue_ms
        for task in account.replan(queue_ms, self.store.concurrency, now):
            self.store.rescheduled(task)

    def _check_reference(
        self, caller: Caller, reference: str | None, resolve_oss: bool, now: int
    ) -> None:
        """A reference is a URL; an `oss://` one must be asked to be resolved, and name a
        current upload."""
        if reference is None:
            return
        check_input_url(reference)
        if not reference.startswith("oss://"):
            return
        if not resolve_oss:
            raise errors.InvalidParameter(errors.OSS_UNRESOLVED_MESSAGE)
        if self.uploads.resolve(reference.removeprefix("oss://"), caller.account, now) is None:
            raise errors.InvalidURL(errors.InvalidURL.missing_message)

    def _moved(self, task: Task, now: int) -> None:
        """A task's plan was moved by hand: its queue and its expiry follow."""
        self.store.rescheduled(task)
        self._replan(task.account, now)

    def _initial_scenario(self) -> Scenario:
        document = self.config.scenario
        if document is None:
            return Scenario(seed=self.config.seed)
        seed = document.get("seed", self.config.seed)
        return Scenario(rules_from_document(document), seed)

    def _housekeeping(self, now: int) -> None:
        self.store.purge(now)
        self._submissions += 1
        if self._submissions % _PRUNE_EVERY == 0:
            self.limiter.prune(now)

    def _visible_task(self, caller: Caller, task_id: str, now: int) -> Task | None:
        task = self.store.get(task_id)
        if task is None or task.account != caller.account or self.store.is_expired(task, now):
            return None
        return task


def _server_secret(seed: int | None) -> bytes:
    """What a server signs with: from the seed (the same URLs run after run), else random."""
    if seed is None:
        return secrets.token_bytes(32)
    return hashlib.sha256(f"mockscope/secret/{seed}".encode()).digest()


def _oss_access_key_id(secret: bytes) -> str:
    """An id shaped like a live OSSAccessKeyId (LTAI5t + 18 characters) that says it is the
    fake's: the signed result URLs carry it."""
    tail = hashlib.sha256(secret + b"/access-key-id").hexdigest()[:9]
    return f"LTAI5tMockscope{tail}"


def with_overrides(config: BackendConfig, **overrides: Any) -> BackendConfig:
    """A copy of `config` with some fields replaced (None values are left out)."""
    return replace(
        config, **{name: value for name, value in overrides.items() if value is not None}
    )
