"""Tasks: what was asked for, how a finished task turns out (its result), and the read-only
view of a task at a moment in time."""

from __future__ import annotations

from dataclasses import dataclass, replace

from mockscope.domain.errors import UNSUPPORTED_SIZE_MESSAGE, InvalidParameter
from mockscope.domain.lifecycle import FOREVER_MS, Plan, TaskStatus

#: The sizes wanx-v1 renders; any other size is accepted at submit and the task then fails.
SUPPORTED_SIZES = ("1024*1024", "720*1280", "768*1152", "1280*720")
#: Prompts longer than this are cut, not refused (the reference says 500, the live docs 800).
PROMPT_LIMIT = 800
NEGATIVE_PROMPT_LIMIT = 500


@dataclass(slots=True)
class TaskRequest:
    """What the caller asked for, with the documented defaults filled in."""

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

    def __post_init__(self) -> None:
        # Over-long prompts are truncated by the service, and cutting them here also bounds
        # what each stored task costs in memory.
        if len(self.prompt) > PROMPT_LIMIT:
            self.prompt = self.prompt[:PROMPT_LIMIT]
        negative = self.negative_prompt
        if negative is not None and len(negative) > NEGATIVE_PROMPT_LIMIT:
            self.negative_prompt = negative[:NEGATIVE_PROMPT_LIMIT]

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
        )
        return f"{hash(work) & 0xFFFFFFFFFFFF:012x}"

    @property
    def dimensions(self) -> tuple[int, int] | None:
        """(width, height) for a supported size, None for one the model will reject."""
        if self.size not in SUPPORTED_SIZES:
            return None
        width, height = self.size.split("*")
        return int(width), int(height)


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

    @classmethod
    def for_request(cls, request: TaskRequest) -> TaskResult:
        if request.size not in SUPPORTED_SIZES:
            return _UNSUPPORTED_SIZE
        return SUCCESS

    def item_failure(self, index: int) -> Failure | None:
        for failed_index, failure in self.failed_items:
            if failed_index == index:
                return failure
        return None


#: Shared, so a stored task that simply succeeds costs no result object of its own.
SUCCESS = TaskResult()
_UNSUPPORTED_SIZE = TaskResult(
    task_failure=Failure(InvalidParameter.code, UNSUPPORTED_SIZE_MESSAGE)
)


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
        n = self.request.n
        if phase is TaskStatus.PENDING:
            return TaskView(self.task_id, phase, plan.submit_ms, total=n)
        if phase is TaskStatus.RUNNING or phase is TaskStatus.SUSPENDED:
            return TaskView(self.task_id, phase, plan.submit_ms, plan.scheduled_ms, total=n)
        if phase is TaskStatus.CANCELED:
            return TaskView(self.task_id, phase, plan.submit_ms, end_ms=plan.canceled_ms, total=n)
        return self._finished_view()

    def _finished_view(self) -> TaskView:
        plan, result, n = self.plan, self.result, self.request.n
        if result.task_failure is not None:
            return TaskView(
                self.task_id,
                TaskStatus.FAILED,
                plan.submit_ms,
                plan.scheduled_ms,
                plan.end_ms,
                failure=result.task_failure,
                total=n,
                failed=n,
            )
        results = tuple(ResultItem(k, result.item_failure(k)) for k in range(n))
        succeeded = sum(1 for item in results if item.failure is None)
        status = TaskStatus.SUCCEEDED if succeeded else TaskStatus.FAILED
        return TaskView(
            self.task_id,
            status,
            plan.submit_ms,
            plan.scheduled_ms,
            plan.end_ms,
            failure=results[0].failure if not succeeded else None,
            results=results,
            total=n,
            succeeded=succeeded,
            failed=n - succeeded,
        )

    def image_seed(self, index: int) -> int:
        """Image k of a task is generated from seed + k, as the service documents."""
        return self.seed + index


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """A stored task as the control plane and tests see it: whose, what, its plan and status.

    Times are epoch ms; `end_ms` is None while the task runs until told otherwise, and
    `expires_ms` (when it will be forgotten) is None while it has no end.
    """

    task_id: str
    account: str
    api_key: str
    request: TaskRequest
    status: TaskStatus
    submit_ms: int
    scheduled_ms: int
    end_ms: int | None
    canceled_ms: int | None
    expires_ms: int | None
    #: The scenario outcome that shaped the task, in its one-line form ("" when none).
    declared: str

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
            scheduled_ms=plan.scheduled_ms,
            end_ms=None if plan.end_ms >= FOREVER_MS else plan.end_ms,
            canceled_ms=plan.canceled_ms,
            expires_ms=None if endless else expires_ms,
            declared=task.declared,
        )
