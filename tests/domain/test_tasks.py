"""The lifecycle read off the plan: status, times, metrics and results at any moment."""

from __future__ import annotations

import pytest

from mockscope.domain.errors import UNSUPPORTED_SIZE_MESSAGE
from mockscope.domain.lifecycle import Plan, TaskStatus, Timing
from mockscope.domain.tasks import (
    PROMPT_LIMIT,
    Failure,
    Task,
    TaskRequest,
    TaskResult,
)


def make_task(size: str = "1024*1024", n: int = 2, result: TaskResult | None = None) -> Task:
    request = TaskRequest(model="wanx-v1", prompt="a cat", size=size, n=n)
    return Task(
        task_id="t-1",
        account="acct",
        request=request,
        seed=100,
        plan=Plan(submit_ms=1_000, scheduled_ms=1_014, end_ms=31_014),
        result=result if result is not None else TaskResult.for_request(request),
    )


def test_status_follows_the_plan_to_the_millisecond() -> None:
    task = make_task()
    assert task.view(1_000).status is TaskStatus.PENDING
    assert task.view(1_013).status is TaskStatus.PENDING
    assert task.view(1_014).status is TaskStatus.RUNNING
    assert task.view(31_013).status is TaskStatus.RUNNING
    assert task.view(31_014).status is TaskStatus.SUCCEEDED


def test_views_carry_only_the_times_that_have_happened() -> None:
    task = make_task()
    pending, running, done = task.view(1_000), task.view(2_000), task.view(40_000)
    assert (pending.submit_ms, pending.scheduled_ms, pending.end_ms) == (1_000, None, None)
    assert (running.submit_ms, running.scheduled_ms, running.end_ms) == (1_000, 1_014, None)
    assert (done.submit_ms, done.scheduled_ms, done.end_ms) == (1_000, 1_014, 31_014)


def test_metrics_count_only_what_finished() -> None:
    running = make_task(n=3).view(2_000)
    assert (running.total, running.succeeded, running.failed) == (3, 0, 0)
    done = make_task(n=3).view(40_000)
    assert (done.total, done.succeeded, done.failed) == (3, 3, 0)
    assert [item.index for item in done.results] == [0, 1, 2]


def test_an_unsupported_size_fails_the_whole_task_with_the_documented_message() -> None:
    done = make_task(size="512*512", n=4).view(40_000)
    assert done.status is TaskStatus.FAILED
    assert done.failure == Failure("InvalidParameter", UNSUPPORTED_SIZE_MESSAGE)
    assert (done.total, done.succeeded, done.failed) == (4, 0, 4)
    assert done.results == ()


def test_partial_failure_is_succeeded_and_counts_only_successes() -> None:
    timeout = Failure("InternalError.Timeout", "timed out")
    done = make_task(n=2, result=TaskResult(failed_items=((1, timeout),))).view(40_000)
    assert done.status is TaskStatus.SUCCEEDED
    assert done.results[0].failure is None
    assert done.results[1].failure == timeout
    assert (done.succeeded, done.failed) == (1, 1)


def test_every_item_failing_makes_the_task_failed() -> None:
    timeout = Failure("InternalError.Timeout", "timed out")
    done = make_task(n=2, result=TaskResult(failed_items=((0, timeout), (1, timeout)))).view(40_000)
    assert done.status is TaskStatus.FAILED
    assert done.failure == timeout


def test_a_canceled_task_reads_canceled_from_the_moment_of_cancel() -> None:
    task = make_task()
    task.plan.canceled_ms = 1_005
    assert task.view(1_004).status is TaskStatus.PENDING
    canceled = task.view(1_005)
    assert canceled.status is TaskStatus.CANCELED
    assert canceled.end_ms == 1_005


def test_image_k_uses_seed_plus_k() -> None:
    task = make_task()
    assert [task.image_seed(k) for k in range(3)] == [100, 101, 102]


def test_over_long_prompts_are_truncated_not_refused() -> None:
    request = TaskRequest(model="wanx-v1", prompt="猫" * (PROMPT_LIMIT + 50))
    assert len(request.prompt) == PROMPT_LIMIT


@pytest.mark.parametrize(
    ("size", "dimensions"),
    [
        ("1024*1024", (1024, 1024)),
        ("720*1280", (720, 1280)),
        ("768*1152", (768, 1152)),
        ("1280*720", (1280, 720)),
        ("1024x1024", None),
        ("", None),
        ("2048*2048", None),
    ],
)
def test_dimensions_of_supported_sizes(size: str, dimensions: tuple[int, int] | None) -> None:
    assert TaskRequest(model="wanx-v1", prompt="x", size=size).dimensions == dimensions


def test_default_timing_is_shaped_like_the_live_service() -> None:
    timing = Timing()
    assert 25_000 <= timing.run_ms(1) <= 29_000
    assert 29_000 <= timing.run_ms(4) <= 33_000
    assert Timing.instant().run_ms(4) == 0
    with pytest.raises(ValueError, match="negative"):
        Timing(queue_ms=-1)
