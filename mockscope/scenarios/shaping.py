"""How a task will go: its timing and result, from its request and any declared task outcome.

This is where a scenario's task outcome (failed, partial, suspended, never, timing, polls)
turns into the domain's terms: a plan's durations, a result, a progression by reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from mockscope.domain.lifecycle import FOREVER_MS, Plan, Timing
from mockscope.domain.tasks import Failure, Progression, TaskRequest, TaskResult
from mockscope.scenarios.rules import DeclaredOutcome, OutcomeKind


@dataclass(slots=True)
class TaskShape:
    """Durations to plan with, the result, and what to change on the drawn plan."""

    queue_ms: int
    run_ms: int
    result: TaskResult
    progression: Progression | None = None
    suspend_after_ms: int | None = None
    suspend_ms: int = 0
    start_forever: bool = False
    end_forever: bool = False

    def adjust(self, plan: Plan) -> None:
        """Apply what a duration alone cannot say to the plan the queue drew."""
        plan.suspend_after_ms, plan.suspend_ms = self.suspend_after_ms, self.suspend_ms
        if self.start_forever:
            plan.scheduled_ms, plan.held = FOREVER_MS, True
        if self.start_forever or self.end_forever:
            plan.end_ms = FOREVER_MS
        if self.end_forever:
            plan.run_ms = FOREVER_MS


def shape_task(request: TaskRequest, timing: Timing, declared: DeclaredOutcome | None) -> TaskShape:
    result = TaskResult.for_request(request)
    run_ms = timing.reject_ms if result.task_failure else timing.run_ms(request.n)
    shape = TaskShape(timing.queue_ms, run_ms, result)
    if declared is None:
        return shape
    params = declared.params
    kind = declared.kind
    if kind is OutcomeKind.FAILED:
        shape.result = TaskResult(task_failure=Failure(params["code"], params["message"]))
    elif kind is OutcomeKind.PARTIAL:
        failure = Failure(params["code"], params["message"])
        failed = _failed_items(request.n, params.get("items"), params.get("failed", 1))
        shape.result = TaskResult(failed_items=tuple((k, failure) for k in failed))
    elif kind is OutcomeKind.SUSPENDED:
        after_ms = min(_ms(params.get("after", 1)), shape.run_ms)
        shape.suspend_after_ms, shape.suspend_ms = after_ms, _ms(params.get("for", 30))
        shape.run_ms += shape.suspend_ms
    elif kind is OutcomeKind.NEVER:
        shape.start_forever = params.get("phase", "RUNNING") == "PENDING"
        shape.end_forever = True
    elif kind is OutcomeKind.TIMING:
        shape.queue_ms = _ms(params.get("queue", shape.queue_ms / 1000))
        shape.run_ms = _ms(params.get("run", shape.run_ms / 1000))
    elif kind is OutcomeKind.POLLS:
        shape.progression = Progression(params.get("running", 2), params.get("done", 4))
        shape.start_forever = True
    return shape


def _failed_items(n: int, items: list[int] | None, count: int) -> list[int]:
    """Which images fail: the listed ones that exist, or the last `count`; never all of them."""
    chosen = sorted(k for k in items if k < n) if items is not None else list(range(n - count, n))
    chosen = [k for k in chosen if k >= 0]
    return chosen if len(chosen) < n else chosen[1:]


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
