"""The API operations: one method per operation of the service, in domain terms only.

This is what the HTTP handlers call. A create resolves the task outcome its call declares
(the scenario's rules, and the request's own rule) here, so a task is shaped in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from mockscope.backend.state import State
from mockscope.domain import errors
from mockscope.domain.identity import Caller
from mockscope.domain.images import Rendered
from mockscope.domain.lifecycle import FOREVER_MS, Plan, TaskStatus
from mockscope.domain.listing import ListQuery, TaskPage, list_tasks
from mockscope.domain.models import ModelCatalogue, ModelSpec
from mockscope.domain.operations import Operation
from mockscope.domain.tasks import (
    TEXT2IMAGE,
    Task,
    TaskRequest,
    TaskResult,
    TaskView,
    size_result,
)
from mockscope.domain.uploads import Certificate, UploadForm
from mockscope.domain.urls import check_input_url
from mockscope.scenarios.rules import Call, DeclaredOutcome, Rule
from mockscope.scenarios.shaping import shape_task

#: Idle rate-limit windows are swept after this many submissions.
_PRUNE_EVERY = 4096
#: Size verdicts remembered (cleared when full).
_SIZES_KEPT = 1024
_UNSEEN = object()
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


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


class Operations:
    """The API operations over the service's state."""

    def __init__(self, state: State) -> None:
        self._state = state
        # The collaborators live as long as the state; held here for the hot path.
        self._clock = state.clock
        self._store = state.store
        self._limiter = state.limiter
        self._ids = state.ids
        self._directory = state.directory
        self._scenario = state.scenario
        #: The models served, by id and alias: every per-model decision is a lookup here.
        self.models: ModelCatalogue = state.models
        #: Whoever holds a synchronous answer watches for plans that move (see State).
        self.watchers = state.watchers
        self._submissions = 0
        self._sizes: dict[tuple[ModelSpec, str], TaskResult | None] = {}
        #: One timing for every model, when configured (else each model's own).
        self._timing = state.config.timing

    # -- identity -----------------------------------------------------------------------------

    def authenticate(self, authorization: str | None, workspace: str | None = None) -> Caller:
        return self._directory.authenticate(authorization, workspace)

    def new_request_id(self) -> str:
        return self._ids.request_id()

    def model(self, name: str) -> ModelSpec:
        """A served model by id or alias; the catalogue's unknown-model answer otherwise."""
        spec = self.models.get(name)
        if spec is None:
            answer = self.models.errors["unknown_model"]
            raise errors.Refused(answer.code, answer.message)
        return spec

    # -- tasks ----------------------------------------------------------------------------------

    def create_task(
        self,
        caller: Caller,
        request: TaskRequest,
        request_id: str = "",
        *,
        resolve_oss: bool = False,
        headers: Mapping[str, str] = _NO_HEADERS,
        own_rule: Rule | None = None,
        endpoint: str = TEXT2IMAGE,
        synchronous: bool = False,
    ) -> Task:
        """Queue a task and return it; it is PENDING until its model's lane has a free slot.

        `resolve_oss` says the caller asked for `oss://` references to be resolved. The task
        outcome comes from the first firing task-outcome rule: the request's `own_rule` (its
        X-Mockscope-Scenario header), then the scenario's; rules may match on `headers` and
        the model. Only creates that make a task count towards those rules. A `synchronous`
        call whose answer carries no task id (the messages protocol) runs outside the queue,
        as the catalogue has it, and is neither listed nor readable by id.
        """
        spec = self.models.get(request.model) or self.model(request.model)
        now = self._clock.now_ms()
        if request.ref_img is not None:
            self._check_reference(caller, request.ref_img, resolve_oss, now)
        self._throttle(Operation.CREATE, caller, now, spec.id)
        self._housekeeping(now)
        declared = None
        if own_rule is not None or self._scenario.task_rules:  # checked inline: the hot path
            declared = self._task_outcome(caller, request, headers, own_rule)
        timing = self._timing or spec.timing
        shape = shape_task(request, timing, declared, self._size_result(spec, request))
        hidden = synchronous and spec.result.shape == "choices"
        if hidden:
            start = now + shape.queue_ms
            plan = Plan(now, start, min(start + shape.run_ms, FOREVER_MS), run_ms=shape.run_ms)
        else:
            plan = Plan.queued(now, shape.queue_ms, shape.run_ms)  # its lane draws it
        shape.adjust(plan)
        # Positional, in Task's field order: keyword arguments to a dataclass of this size
        # cost about as much again as making it, on every create.
        task = Task(
            self._ids.task_id(),
            caller.account,
            request,
            request.seed if request.seed is not None else self._ids.image_seed(),
            plan,
            shape.result,
            caller.api_key,
            request_id,
            False,  # purged
            shape.progression,
            declared.describe() if declared is not None else "",
            spec.result,
            endpoint,
            hidden,
        )
        self._store.add(task, now, None if hidden else spec.id)
        return task

    def answer_of(self, task_id: str) -> tuple[TaskView, int] | None:
        """A synchronous call's task as it reads now, and when it stops being live (epoch ms);
        None once it is gone (reset, or expired)."""
        task = self._store.get(task_id)
        if task is None:
            return None
        if task.plan.waiting:  # the answer waits for its end: draw it now
            self._store.draw_through(task)
        return task.view(self._clock.now_ms()), task.plan.finished_ms()

    def get_task(self, caller: Caller, task_id: str) -> TaskView:
        """The task as seen now; unknown, foreign and expired tasks read as UNKNOWN."""
        now = self._clock.now_ms()
        self._throttle(Operation.GET, caller, now)
        task = self._visible_task(caller, task_id, now)
        if task is None:
            return TaskView.unknown(task_id)
        if task.on_read(now):
            self._state.moved(task, now)
        elif self._clock.jumps:
            if task.plan.waiting:  # its end is drawn only once the tasks ahead are
                self._store.draw_through(task)
            if (target := task.jump_target(now)) is not None:
                now = self._clock.advance_to(target)  # the read finds it finished
        return task.view(now)

    def cancel_task(self, caller: Caller, task_id: str) -> None:
        """Cancel a PENDING task; the tasks queued behind it move up."""
        now = self._clock.now_ms()
        self._throttle(Operation.CANCEL, caller, now)
        task = self._visible_task(caller, task_id, now)
        if task is None or task.view(now).status is not TaskStatus.PENDING:
            raise errors.UnsupportedOperation()
        self._store.cancel(task, now)
        self._state.notify()

    def list_tasks(self, caller: Caller, query: ListQuery) -> TaskPage:
        now = self._clock.now_ms()
        self._throttle(Operation.LIST, caller, now)
        store = self._store
        store.settle(now)  # plans drawn, expired tasks gone: the index's counts stay exact
        account = store.account_or_none(caller.account)
        return list_tasks(account.index if account is not None else None, query, now)

    # -- results and uploads --------------------------------------------------------------------

    def result_image(self, task_id: str, index: int) -> ImageSpec:
        """What the image behind a result URL shows: only a generated image of a kept task."""
        task = self._store.get(task_id)
        if task is None:
            raise ResultGone(expired=False)
        now = self._clock.now_ms()
        if task.plan.waiting:
            self._store.catch_up(task, now)
        if self._store.is_expired(task, now):
            raise ResultGone(expired=True)
        view = task.view(now)
        if view.status is not TaskStatus.SUCCEEDED or not 0 <= index < len(view.results):
            raise ResultGone(expired=False)
        if view.results[index].failure is not None:
            raise ResultGone(expired=False)
        # A scenario may make a task outside its size rule succeed: it renders at the default.
        dimensions = task.request.dimensions or self._default_dimensions(task.request.model)
        width, height = dimensions
        assert view.end_ms is not None
        return ImageSpec(width, height, task.request.prompt, task.image_seed(index), view.end_ms)

    def render(self, spec: ImageSpec) -> bytes:
        """The PNG for an image spec; thread-safe, so it can run off the event loop."""
        return self.rendered(spec).png

    def rendered(self, spec: ImageSpec) -> Rendered:
        """The image for a spec with its MD5; thread-safe, so it can run off the event loop."""
        return self._state.images.rendered(spec.width, spec.height, spec.prompt, spec.seed)

    def cached_image(self, spec: ImageSpec) -> Rendered | None:
        """The image if it was rendered lately: no need to leave the event loop for it."""
        return self._state.images.cached(spec.width, spec.height, spec.prompt, spec.seed)

    def upload_certificate(self, caller: Caller, model: str) -> Certificate:
        """A certificate to upload one or more files for `model` (getPolicy)."""
        now = self._clock.now_ms()
        self._throttle(Operation.UPLOAD, caller, now)
        return self._state.uploads.certificate(caller.account, model, now, self._ids.request_id())

    def store_upload(self, form: UploadForm) -> None:
        """Keep a file posted to object storage with a certificate (StorageError if refused)."""
        self._state.uploads.store(form, self._clock.now_ms())

    # -- internals ------------------------------------------------------------------------------

    def _throttle(self, operation: Operation, caller: Caller, now: int, model: str = "") -> None:
        limiter = self._limiter
        decision = limiter.check(operation, caller.account, now, model)
        if not decision.allowed:
            # Retry-After only when asked for: the live service sends none.
            retry_after = decision.retry_after_ms / 1000 if limiter.limits.retry_after else None
            raise errors.RateQuotaExceeded(retry_after)

    def _task_outcome(
        self,
        caller: Caller,
        request: TaskRequest,
        headers: Mapping[str, str],
        own_rule: Rule | None,
    ) -> DeclaredOutcome | None:
        call = Call(
            Operation.CREATE, caller.api_key, caller.account, request.prompt, headers, request.model
        )
        return self._scenario.task_outcome(call, own_rule)

    def _check_reference(self, caller: Caller, reference: str, resolve_oss: bool, now: int) -> None:
        """A reference is a URL; an `oss://` one must be asked to be resolved, and name a
        current upload."""
        check_input_url(reference)
        if not reference.startswith("oss://"):
            return
        if not resolve_oss:
            raise errors.InvalidParameter(errors.OSS_UNRESOLVED_MESSAGE)
        uploads = self._state.uploads
        if uploads.resolve(reference.removeprefix("oss://"), caller.account, now) is None:
            raise errors.InvalidURL(errors.InvalidURL.missing_message)

    def _housekeeping(self, now: int) -> None:
        self._store.settle(now)
        self._submissions += 1
        if self._submissions % _PRUNE_EVERY == 0:
            self._limiter.prune(now)

    def _visible_task(self, caller: Caller, task_id: str, now: int) -> Task | None:
        store = self._store
        task = store.get(task_id)
        if task is None or task.account != caller.account:
            return None
        if task.plan.waiting:  # its lane may have drawn it since last looked at
            store.catch_up(task, now)
        if store.is_expired(task, now):
            return None
        return None if task.hidden else task

    def _size_result(self, spec: ModelSpec, request: TaskRequest) -> TaskResult | None:
        """The model's verdict on the size (None: inside its rule), remembered per size: a
        client sends the same few sizes over and over."""
        key = (spec, request.size)
        known = self._sizes.get(key, _UNSEEN)
        if known is _UNSEEN:
            if len(self._sizes) >= _SIZES_KEPT:
                self._sizes.clear()
            known = self._sizes[key] = size_result(spec, request)
        return known  # type: ignore[return-value]

    def _default_dimensions(self, model: str) -> tuple[int, int]:
        spec = self.models.get(model)
        size = spec.size.default if spec is not None else "1024*1024"
        return self.models.dimensions(size) or (1024, 1024)
