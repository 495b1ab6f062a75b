"""Tasks: what was asked for, how a finished task turns out (its result), and the read-only
view of a task at a moment in time."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from mockscope.domain.lifecycle import FOREVER_MS, Plan, TaskStatus
from mockscope.domain.models import ModelSpec, ResultStyle, rewrite_prompt

#: The endpoint (below /api/v1) wanx-v1 and the V2 prompt models are served on.
TEXT2IMAGE = "/services/aigc/text2image/image-synthesis"
_SIZE = re.compile(r"([1-9][0-9]*)\*([1-9][0-9]*)")


@dataclass(slots=True)
class TaskRequest:
    """What the caller asked for, with the model's documented defaults filled in.

    Prompts arrive already cut to the model's limits (the service truncates, never refuses),
    which also bounds what each stored task costs in memory.
    """

    model: str
    prompt: str
    negative_prompt: str | None = None
    ref_img: str | None = None
    style: str = "<auto>"
    size: str = "1024*1024"
    n: int = 4
    seed: int | None = None
    ref_strength: float | None = None
    ref_mode: str | None = None
    #: V2 models: rewrite the prompt first (None for models without the option).
    prompt_extend: bool | None = None
    watermark: bool | None = None

    @property
    def actual_prompt(self) -> str | None:
        """The rewritten prompt, when `prompt_extend` was on: derived when read rather than
        stored, so a task costs no second prompt's worth of memory."""
        return rewrite_prompt(self.prompt) if self.prompt_extend else None

    def digest(self) -> str:
        """Identifies the work asked for, to tell the same submission sent twice."""
        work = (
            self.model,
            self.prompt,
            self.negative_prompt,
            self.ref_img,
            self.style,
            self.size,
            self.n,
            self.seed,
            self.ref_strength,
            self.ref_mode,
            self.prompt_extend,
            self.watermark,
        )
        return f"{hash(work) & 0xFFFFFFFFFFFF:012x}"

    @property
    def dimensions(self) -> tuple[int, int] | None:
        """(width, height) of a `W*H` size, None when it does not parse."""
        match = _SIZE.fullmatch(self.size)
        return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True, slots=True)
class Failure:
    """A code and message, for a whole task or for one of its images."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class TaskResult:
    """How a finished task turns out: a task-level failure, or per-image failures, or neither."""

    task_failure: Failure | None = None
    failed_items: tuple[tuple[int, Failure], ...] = ()

    def item_failure(self, index: int) -> Failure | None:
        for failed_index, failure in self.failed_items:
            if failed_index == index:
                return failure
        return None


#: Shared, so a stored task that simply succeeds costs no result object of its own.
SUCCESS = TaskResult()


def size_result(spec: ModelSpec, request: TaskRequest) -> TaskResult | None:
    """The failure a size outside the model's rule ends the task with (it is accepted at
    submit, then FAILED with all images failed, as the live service does); None if it fits."""
    dimensions = request.dimensions
    if dimensions is not None and spec.size.check(*dimensions):
        return None
    violation = spec.size.violation
    return TaskResult(task_failure=Failure(violation.code, violation.message))


@dataclass(frozen=True, slots=True)
class ResultItem:
    """One requested image: `failure` is None when it was generated."""

    index: int
    failure: Failure | None = None


@dataclass(slots=True)
class TaskView:
    """A task as a reader sees it at one moment; absent times are None."""

    task_id: str
    status: TaskStatus
    submit_ms: int | None = None
    scheduled_ms: int | None = None
    end_ms: int | None = None
    failure: Failure | None = None
    results: tuple[ResultItem, ...] = ()
    total: int = 0
    succeeded: int = 0
    failed: int = 0
    #: What the task asked for and the fields of its results (None for UNKNOWN).
    request: TaskRequest | None = None
    style: ResultStyle | None = None

    @classmethod
    def unknown(cls, task_id: str) -> TaskView:
        return cls(task_id=task_id, status=TaskStatus.UNKNOWN)


@dataclass(slots=True)
class Progression:
    """A task moved along by reads: RUNNING from read `running_at`, finished at `done_at`."""

    running_at: int
    done_at: int
    reads: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.running_at <= self.done_at:
            raise ValueError("a progression needs 1 <= running_at <= done_at")


@dataclass(slots=True, eq=False)
class Task:
    """A stored task: who submitted it, what it asked for, its timing plan and its result."""

    task_id: str
    account: str
    request: TaskRequest
    seed: int
    plan: Plan
    result: TaskResult = SUCCESS
    #: The key that submitted it and the id of the submitting request, for listings.
    api_key: str = ""
    request_id: str = ""
    #: Set once the task has been forgotten (expired or reset) and only lingers in indexes.
    purged: bool = False
    #: When set, reads rather than time move the task along.
    progression: Progression | None = None
    #: The scenario outcome that shaped the task, in its one-line form ("" when none).
    declared: str = ""
    #: The fields its results carry (its model's); None for the plain wanx-v1 shape.
    style: ResultStyle | None = None
    #: The endpoint (below /api/v1) it was submitted to.
    endpoint: str = TEXT2IMAGE
    #: A synchronous call that hands out no task id: not listed, not readable by id.
    hidden: bool = False

    def on_read(self, now_ms: int) -> bool:
        """Count a read of the task; True when that moved its plan (start or end)."""
        progression = self.progression
        if progression is None:
            return False
        progression.reads += 1
        plan, moved = self.plan, False
        if progression.reads >= progression.running_at and plan.scheduled_ms > now_ms:
            plan.begin_at(now_ms)
            moved = True
        if progression.reads >= progression.done_at and plan.end_ms > now_ms:
            plan.finish_at(now_ms)
            moved = True
        return moved

    def jump_target(self, now_ms: int) -> int | None:
        """Where a jumping clock goes when this task is read (never for one moved by reads)."""
        return None if self.progression is not None else self.plan.jump_target(now_ms)

    def view(self, now_ms: int) -> TaskView:
        plan = self.plan
        phase = plan.phase_at(now_ms)
        request, style = self.request, self.style
        n = request.n
        # Positional, in TaskView's field order (id, status, submit, scheduled, end, failure,
        # results, total, succeeded, failed, request, style): a poll reads PENDING or RUNNING,
        # and keyword arguments would double what making its view costs.
        if phase is TaskStatus.PENDING:
            return TaskView(
                self.task_id, phase, plan.submit_ms, None, None, None, (), n, 0, 0, request, style
            )
        if phase is TaskStatus.RUNNING or phase is TaskStatus.SUSPENDED:
            return TaskView(
                self.task_id,
                phase,
                plan.submit_ms,
                plan.scheduled_ms,
                None,
                None,
                (),
                n,
                0,
                0,
                request,
                style,
            )
        if phase is TaskStatus.CANCELED:
            return TaskView(
                self.task_id,
                phase,
                plan.submit_ms,
                end_ms=plan.canceled_ms,
                total=n,
                request=request,
                style=style,
            )
        return self._finished_view()

    def _finished_view(self) -> TaskView:
        plan, result, request = self.plan, self.result, self.request
        n = request.n
        if result.task_failure is not None:
            return TaskView(
                self.task_id,
                TaskStatus.FAILED,
                plan.submit_ms,
                plan.scheduled_ms,
                plan.end_ms,
                result.task_failure,
                (),
                n,
                0,
                n,
                request,
                self.style,
            )
        results = tuple(ResultItem(k, result.item_failure(k)) for k in range(n))
        succeeded = sum(1 for item in results if item.failure is None)
        return TaskView(
            self.task_id,
            TaskStatus.SUCCEEDED if succeeded else TaskStatus.FAILED,
            plan.submit_ms,
            plan.scheduled_ms,
            plan.end_ms,
            results[0].failure if not succeeded else None,
            results,
            n,
            succeeded,
            n - succeeded,
            request,
            self.style,
        )

    def image_seed(self, index: int) -> int:
        """Image k of a task is generated from seed + k, as the service documents."""
        return self.seed + index


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """A stored task as the control plane and tests see it: whose, what, its plan and status.

    Times are epoch ms; `scheduled_ms` is None while the task waits for a run slot (or to be
    told to start), `end_ms` while it has no end in sight, and `expires_ms` (when it will be
    forgotten) while it has no end.
    """

    task_id: str
    account: str
    api_key: str
    request: TaskRequest
    status: TaskStatus
    submit_ms: int
    scheduled_ms: int | None
    end_ms: int | None
    canceled_ms: int | None
    expires_ms: int | None
    #: The scenario outcome that shaped the task, in its one-line form ("" when none).
    declared: str
    #: The endpoint it was created on (below /api/v1), and whether it is listed and readable
    #: by id (not for a synchronous call that hands out no task id).
    endpoint: str = TEXT2IMAGE
    listed: bool = True

    @classmethod
    def of(cls, task: Task, now_ms: int, expires_ms: int) -> TaskRecord:
        plan = task.plan
        endless = plan.end_ms >= FOREVER_MS and plan.canceled_ms is None
        return cls(
            task_id=task.task_id,
            account=task.account,
            api_key=task.api_key,
            request=replace(task.request),  # a copy: the stored request is not the reader's
            status=task.view(now_ms).status,
            submit_ms=plan.submit_ms,
            scheduled_ms=None if plan.scheduled_ms >= FOREVER_MS else plan.scheduled_ms,
            end_ms=None if plan.end_ms >= FOREVER_MS else plan.end_ms,
            canceled_ms=plan.canceled_ms,
            expires_ms=None if endless else expires_ms,
            declared=task.declared,
            endpoint=task.endpoint,
            listed=not task.hidden,
        )
