"""The backend without HTTP: purging under endless traffic, and account resets."""

from __future__ import annotations

from mockscope import Backend, BackendConfig, ManualClock
from mockscope.domain.identity import Caller
from mockscope.domain.tasks import TaskRequest

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
