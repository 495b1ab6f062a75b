"""The backend without HTTP: purging under endless traffic, and account resets."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from mockscope import Backend, BackendConfig, Limits, ManualClock
from mockscope.domain.identity import Caller
from mockscope.domain.lifecycle import TaskStatus
from mockscope.domain.tasks import TaskRecord, TaskRequest

HOUR_MS = 3_600_000


def test_stored_tasks_stay_bounded_once_expiry_starts() -> None:
    clock = ManualClock()
    backend = Backend(BackendConfig(seed=1), clock)
    callers = [Caller(f"acct-{k}", f"sk-{k}") for k in range(50)]
    per_hour, sizes = 500, []
    for hour in range(60):
        for k in range(per_hour):
            request = TaskRequest(model="wanx-v1", prompt=f"p{k}", n=1)
            backend.api.create_task(callers[k % len(callers)], request)
            clock.advance(3600 / per_hour)
        held = backend.control.footprint()
        sizes.append((hour, held.tasks, held.indexed, held.expiry_entries))
    # ~24 h of tasks are kept (plus the ~27 s each runs); nothing grows past that.
    steady = [entry for entry in sizes if entry[0] >= 26]
    assert all(24 * per_hour <= kept <= 25 * per_hour for _, kept, _, _ in steady)
    assert all(indexed <= kept + len(callers) for _, kept, indexed, _ in steady)
    assert all(heap <= kept + per_hour for _, kept, _, heap in steady)


def test_reset_of_one_account_leaves_the_rest() -> None:
    backend = Backend(BackendConfig(seed=1), ManualClock())
    a, b = Caller("a", "sk-a"), Caller("b", "sk-b")
    kept = backend.api.create_task(a, TaskRequest(model="wanx-v1", prompt="p", n=1)).task_id
    gone = backend.api.create_task(b, TaskRequest(model="wanx-v1", prompt="p", n=1)).task_id
    backend.control.reset("b")
    assert backend.api.get_task(a, kept).status == "PENDING"
    assert backend.api.get_task(b, gone).status == "UNKNOWN"
    assert [task.task_id for task in backend.control.tasks()] == [kept]


def test_a_page_of_10000_tasks_makes_records_for_the_page_only() -> None:
    clock = ManualClock()
    backend = Backend(BackendConfig(seed=1, limits=Limits.unlimited()), clock)
    callers = [Caller("a", "sk-a"), Caller("b", "sk-b")]
    models = ("wanx-v1", "wanx2.1-t2i-turbo")
    for k in range(10_000):
        request = TaskRequest(model=models[k % 2], prompt=f"p{k}", n=1)
        backend.api.create_task(callers[k % 2], request)
        clock.advance(0.01)
    made = []
    original = TaskRecord.of

    def counted(*args: Any) -> TaskRecord:
        made.append(args[0])
        return original(*args)

    with patch.object(TaskRecord, "of", counted):
        page = backend.control.task_page(skip=20, size=20)
    assert page.total == 10_000
    assert len(made) == len(page.tasks) == 20, "records only for the page's tasks"
    submits = [record.submit_ms for record, _ in page.tasks]
    assert submits == sorted(submits, reverse=True)
    newest = backend.control.task_page(size=1).tasks[0][0]
    assert newest.request.prompt == "p9999"
    assert page.accounts == ["a", "b"]
    assert page.models == sorted(models)
    only_b = backend.control.task_page(account="b", model="wanx-v1", size=5)
    assert only_b.total == 0, "b submitted only the second model"
    assert backend.control.task_page(account="b").total == 5_000
    running = backend.control.task_page(status=TaskStatus.RUNNING, size=100)
    assert {view.status for _, view in running.tasks} == {TaskStatus.RUNNING}
