"""The per-account run queues (plans drawn lazily) and the store that forgets expired tasks."""

from __future__ import annotations

from mockscope.domain.accounts import Account
from mockscope.domain.lifecycle import FOREVER_MS, Plan, TaskStatus
from mockscope.domain.store import TaskStore
from mockscope.domain.tasks import Task, TaskRecord, TaskRequest

QUEUE, RUN = 10, 1_000
MODEL = "wanx-v1"


def _submit(
    store: TaskStore, task_id: str, now: int, run_ms: int = RUN, model: str = MODEL
) -> Task:
    request = TaskRequest(model=model, prompt="p", n=1)
    task = Task(task_id, "a", request, 0, Plan.queued(now, QUEUE, run_ms))
    store.add(task, now, model)
    return task


def _store(concurrency: int = 1) -> TaskStore:
    return TaskStore(retention_ms=10**9, concurrency=concurrency)


def test_tasks_submitted_together_run_one_after_another() -> None:
    store = _store()
    tasks = [_submit(store, f"t{k}", now=0) for k in range(4)]
    store.draw_through(tasks[-1])
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


def test_a_task_behind_a_busy_slot_waits_undrawn_until_the_slot_frees() -> None:
    store = _store()
    first, second = _submit(store, "t0", now=0), _submit(store, "t1", now=0)
    assert not first.plan.waiting
    assert second.plan.waiting
    record = TaskRecord.of(second, 0, store.expires_at(second))
    assert (record.status, record.scheduled_ms, record.end_ms) == (TaskStatus.PENDING, None, None)
    store.draw_due(first.plan.end_ms - 1)
    assert second.plan.waiting, "its slot is not free yet"
    store.draw_due(first.plan.end_ms)
    assert not second.plan.waiting
    assert second.plan.scheduled_ms == first.plan.end_ms
    assert store.account("a").index.state(1) == 0  # PENDING until the index syncs past its start


def test_a_late_read_draws_the_whole_backlog_as_submission_would_have() -> None:
    store = _store()
    tasks = [_submit(store, f"t{k}", now=0) for k in range(50)]
    late = 50 * (QUEUE + RUN)
    store.catch_up(tasks[-1], late)
    assert [task.plan.scheduled_ms for task in tasks] == [QUEUE + k * RUN for k in range(50)]
    assert tasks[-1].view(late).status is TaskStatus.SUCCEEDED


def test_a_task_submitted_to_an_idle_account_starts_after_the_queue_delay() -> None:
    store = _store()
    _submit(store, "t0", now=0)
    late = _submit(store, "t1", now=50_000)
    assert late.plan.scheduled_ms == 50_000 + QUEUE


def test_concurrency_two_runs_pairs() -> None:
    store = _store(concurrency=2)
    tasks = [_submit(store, f"t{k}", now=0) for k in range(4)]
    store.draw_through(tasks[-1])
    assert [task.plan.scheduled_ms for task in tasks] == [QUEUE, QUEUE, QUEUE + RUN, QUEUE + RUN]


def test_canceling_a_waiting_task_draws_nothing_and_the_ones_behind_move_up() -> None:
    store = _store()
    first, second, third, fourth = (_submit(store, f"t{k}", now=0) for k in range(4))
    now = 500
    store.cancel(second, now)
    assert third.plan.waiting, "a waiting task took no slot"
    assert fourth.plan.waiting
    store.draw_through(fourth)
    assert first.plan.scheduled_ms == QUEUE
    assert third.plan.scheduled_ms == first.plan.end_ms
    assert fourth.plan.scheduled_ms == third.plan.end_ms
    assert second.view(now).status is TaskStatus.CANCELED
    record = TaskRecord.of(second, now, store.expires_at(second))
    assert (record.scheduled_ms, record.canceled_ms) == (None, now)


def test_canceling_a_drawn_task_before_it_starts_gives_its_slot_to_the_next() -> None:
    store = _store(concurrency=2)
    first, second, third = (_submit(store, f"t{k}", now=0) for k in range(3))
    assert first.plan.scheduled_ms == second.plan.scheduled_ms == QUEUE
    store.cancel(second, 5)
    assert not third.plan.waiting, "the freed slot is free now"
    assert third.plan.scheduled_ms == QUEUE
    assert first.plan.scheduled_ms == QUEUE


def test_raising_concurrency_starts_waiting_tasks_now() -> None:
    store = _store()
    first, second, third = (_submit(store, f"t{k}", now=0) for k in range(3))
    store.concurrency = 3
    store.replan("a", now_ms=100)
    assert second.plan.scheduled_ms == 100
    assert third.plan.scheduled_ms == 100
    assert first.plan.scheduled_ms == QUEUE


def test_lowering_concurrency_waits_for_enough_running_tasks_to_end() -> None:
    store = _store(concurrency=3)
    running = [_submit(store, f"r{k}", now=0, run_ms=1_000 * (k + 1)) for k in range(3)]
    waiting = _submit(store, "w", now=0)
    store.concurrency = 1
    store.replan("a", now_ms=100)
    store.draw_through(waiting)
    # Three run until 1010, 2010 and 3010; with one slot the next may start only at 3010.
    assert waiting.plan.scheduled_ms == running[2].plan.end_ms


def test_a_task_started_by_hand_ahead_of_its_turn_holds_a_slot() -> None:
    store = _store()
    _first, second, third = (_submit(store, f"t{k}", now=0) for k in range(3))
    third.plan.begin_at(100)
    store.replan("a", now_ms=100, moved=third)
    store.draw_through(second)
    # The first runs until 1010 and the third never ends (begun by hand, told nothing more):
    # with one slot, the second waits for a slot that never frees.
    assert third.plan.end_ms == FOREVER_MS
    assert second.plan.scheduled_ms == FOREVER_MS
    assert second.view(10**9).status is TaskStatus.PENDING


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
            Plan.queued(k * 100, 0, 50),
        )
        store.add(task, k * 100, "m")
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
    task = Task("t", "a", TaskRequest(model="m", prompt="p", n=1), 0, Plan.queued(0, 0, 100))
    store.add(task, 0, "m")
    task.plan.start_at(5_000)
    store.rescheduled(task)
    assert store.purge(1_100) == 0
    assert store.get("t") is task
    assert store.purge(6_100) == 1


def test_a_waiting_task_is_never_forgotten_before_it_has_run() -> None:
    store = TaskStore(retention_ms=1_000, concurrency=1)
    first = _submit(store, "t0", now=0)
    second = _submit(store, "t1", now=0)
    store.settle(first.plan.end_ms + 1_000)  # the first expires; the second was drawn
    assert store.get("t0") is None
    assert store.get("t1") is second
    assert not second.plan.waiting
    store.settle(second.plan.end_ms + 1_000)
    assert store.get("t1") is None


def test_each_model_runs_in_a_lane_of_its_own() -> None:
    slots = {"one": 1, "two": 2}
    store = TaskStore(retention_ms=10**9, concurrency=lambda lane: slots[lane])
    tasks = [
        _submit(store, f"t{k}", now=0, model=lane)
        for k, lane in enumerate(("one", "one", "two", "two", "two"))
    ]
    for task in tasks:
        store.draw_through(task)
    starts = [task.plan.scheduled_ms for task in tasks]
    assert starts == [QUEUE, QUEUE + RUN, QUEUE, QUEUE, QUEUE + RUN]


def test_a_task_outside_every_lane_is_indexed_but_queues_nothing() -> None:
    account = Account("a", concurrency=1)
    outside = Task("s", "a", TaskRequest(model="m", prompt="p", n=1), 0, Plan(0, 5, 10))
    account.admit(outside, 0, lane=None)
    assert list(account.tasks) == [outside]
    inside = Task("t", "a", TaskRequest(model="m", prompt="p", n=1), 0, Plan.queued(0, QUEUE, RUN))
    account.admit(inside, 0, "m")
    assert inside.plan.scheduled_ms == QUEUE


def test_a_lane_lets_go_of_finished_tasks_so_expired_ones_can_be_freed() -> None:
    """Tasks drawn at once (a free lane) are held by the lane only until they finish, also
    behind a task that never ends: otherwise no purged task would ever be freed."""
    store = TaskStore(retention_ms=1_000, concurrency=2)
    endless = Task(
        "endless", "a", TaskRequest(model=MODEL, prompt="p", n=1), 0, Plan.queued(0, 0, 1)
    )
    endless.plan.run_ms = FOREVER_MS
    store.add(endless, 0, MODEL)
    for k in range(1, 5_000):
        _submit(store, f"t{k}", now=k * 2_000, run_ms=100)
        store.settle(k * 2_000)
    lane = store.account("a").lane_of(endless)
    assert lane is not None
    held = lane._drawn  # what keeps drawn tasks alive: a handful, not every task ever run
    assert endless in held
    assert len(held) < 40
    assert len(store) < 5
