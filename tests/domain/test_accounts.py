"""The per-account run queue and the store that forgets expired tasks."""

from __future__ import annotations

from mockscope.domain.accounts import Account
from mockscope.domain.lifecycle import Plan, TaskStatus
from mockscope.domain.store import TaskStore
from mockscope.domain.tasks import Task, TaskRequest

QUEUE, RUN = 10, 1_000


def _submit(account: Account, task_id: str, now: int, run_ms: int = RUN) -> Task:
    task = Task(
        task_id=task_id,
        account=account.name,
        request=TaskRequest(model="wanx-v1", prompt="p", n=1),
        seed=0,
        plan=account.plan(now, QUEUE, run_ms),
    )
    account.admit(task, now)
    return task


def test_tasks_submitted_together_run_one_after_another() -> None:
    account = Account("a", concurrency=1)
    tasks = [_submit(account, f"t{k}", now=0) for k in range(4)]
    starts = [task.plan.scheduled_ms for task in tasks]
    ends = [task.plan.end_ms for task in tasks]
    assert starts == [QUEUE, QUEUE + RUN, QUEUE + 2 * RUN, QUEUE + 3 * RUN]
    assert ends == [start + RUN for start in starts]
    assert [task.view(QUEUE + RUN).status for task in tasks] == [
        TaskStatus.SUCCEEDED,
        TaskStatus.RUNNING,
        TaskStatus.PENDING,
        TaskStatus.PENDING,
    ]


def test_a_task_submitted_to_an_idle_account_starts_after_the_queue_delay() -> None:
    account = Account("a", concurrency=1)
    _submit(account, "t0", now=0)
    late = _submit(account, "t1", now=50_000)
    assert late.plan.scheduled_ms == 50_000 + QUEUE


def test_concurrency_two_runs_pairs() -> None:
    account = Account("a", concurrency=2)
    tasks = [_submit(account, f"t{k}", now=0) for k in range(4)]
    assert [task.plan.scheduled_ms for task in tasks] == [QUEUE, QUEUE, QUEUE + RUN, QUEUE + RUN]


def test_canceling_a_queued_task_moves_the_ones_behind_it_up() -> None:
    account = Account("a", concurrency=1)
    first, second, third, fourth = (_submit(account, f"t{k}", now=0) for k in range(4))
    now = 500
    second.plan.canceled_ms = now
    redrawn = account.replan(QUEUE, 1, now)
    assert redrawn == [third, fourth]
    assert first.plan.scheduled_ms == QUEUE
    assert third.plan.scheduled_ms == first.plan.end_ms
    assert fourth.plan.scheduled_ms == third.plan.end_ms
    assert second.view(now).status is TaskStatus.CANCELED


def test_raising_concurrency_starts_waiting_tasks_now() -> None:
    account = Account("a", concurrency=1)
    first, second, third = (_submit(account, f"t{k}", now=0) for k in range(3))
    account.replan(QUEUE, concurrency=3, now_ms=100)
    assert second.plan.scheduled_ms == 100
    assert third.plan.scheduled_ms == 100
    assert first.plan.scheduled_ms == QUEUE


def test_lowering_concurrency_waits_for_enough_running_tasks_to_end() -> None:
    account = Account("a", concurrency=3)
    running = [_submit(account, f"r{k}", now=0, run_ms=1_000 * (k + 1)) for k in range(3)]
    waiting = _submit(account, "w", now=0)
    account.replan(QUEUE, concurrency=1, now_ms=100)
    # Three run until 1010, 2010 and 3010; with one slot the next may start only at 3010.
    assert waiting.plan.scheduled_ms == running[2].plan.end_ms


def test_the_store_forgets_tasks_exactly_at_expiry_and_compacts_its_indexes() -> None:
    store = TaskStore(retention_ms=10_000, concurrency=1)
    tasks: list[Task] = []
    for k in range(100):
        account = store.account(f"acct{k % 3}")
        task = Task(
            f"t{k}",
            account.name,
            TaskRequest(model="m", prompt="p", n=1),
            0,
            account.plan(k * 100, 0, 50),
        )
        store.add(task, k * 100)
        tasks.append(task)
    assert len(store) == 100
    first_expiry = store.expires_at(tasks[0])
    assert store.purge(first_expiry - 1) == 0
    assert store.purge(first_expiry) == 1
    assert store.get("t0") is None
    assert tasks[0].purged
    store.purge(10**9)
    assert len(store) == 0
    assert list(store.accounts()) == []


def test_a_task_whose_plan_moved_later_is_not_forgotten_early() -> None:
    store = TaskStore(retention_ms=1_000, concurrency=1)
    account = store.account("a")
    task = Task("t", "a", TaskRequest(model="m", prompt="p", n=1), 0, account.plan(0, 0, 100))
    store.add(task, 0)
    task.plan.start_at(5_000)
    store.rescheduled(task)
    assert store.purge(1_100) == 0
    assert store.get("t") is task
    assert store.purge(6_100) == 1


def test_each_model_runs_in_a_lane_of_its_own() -> None:
    slots = {"one": 1, "two": 2}
    account = Account("a", concurrency=lambda lane: slots[lane])
    plans = []
    for lane in ("one", "one", "two", "two", "two"):
        plan = account.plan(0, QUEUE, RUN, lane)
        task = Task(f"t{len(plans)}", "a", TaskRequest(model=lane, prompt="p", n=1), 0, plan)
        account.admit(task, 0, lane)
        plans.append(plan)
    assert [plan.scheduled_ms for plan in plans] == [QUEUE, QUEUE + RUN, QUEUE, QUEUE, QUEUE + RUN]


def test_a_task_outside_every_lane_is_indexed_but_queues_nothing() -> None:
    account = Account("a", concurrency=1)
    outside = Task("s", "a", TaskRequest(model="m", prompt="p", n=1), 0, Plan(0, 5, 10))
    account.admit(outside, 0, lane=None)
    assert list(account.tasks) == [outside]
    assert account.plan(0, QUEUE, RUN, "m").scheduled_ms == QUEUE
