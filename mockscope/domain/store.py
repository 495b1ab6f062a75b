"""Every task of every account, with a bounded cost per task and nothing kept past expiry.

Waiting tasks get their plans drawn lazily by their lane (`accounts.Lane`); the store keeps
when each lane can next draw one (a heap of wake-ups) and draws what is due before anything
that reads statuses in bulk (`settle`), while a read of one waiting task brings only its own
lane up to date (`catch_up`).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator

from mockscope.domain.accounts import Account, Lane, PerLane
from mockscope.domain.lifecycle import FOREVER_MS
from mockscope.domain.tasks import Task


class TaskStore:
    """Tasks by id and by account; expired ones are purged as time moves on."""

    def __init__(self, retention_ms: int, concurrency: PerLane) -> None:
        self.retention_ms = retention_ms
        self.concurrency = concurrency
        self._tasks: dict[str, Task] = {}
        self._accounts: dict[str, Account] = {}
        self._expiry = ExpiryQueue()
        #: (when, order, account, lane): when a lane's next waiting task can be drawn. Plain
        #: values, so the garbage collector does not track the entries.
        self._wakes: list[tuple[int, int, str, str]] = []
        self._wake_order = itertools.count()

    def account(self, name: str) -> Account:
        account = self._accounts.get(name)
        if account is None:
            account = self._accounts[name] = Account(name, self.concurrency)
        return account

    def account_or_none(self, name: str) -> Account | None:
        return self._accounts.get(name)

    def accounts(self) -> Iterator[Account]:
        return iter(list(self._accounts.values()))

    def add(self, task: Task, now_ms: int, lane: str | None = "") -> None:
        """Keep a task; `lane` is the run queue it joins (None: none, its plan is drawn)."""
        account = self._accounts.get(task.account) or self.account(task.account)
        queue = account.admit(task, now_ms, lane)
        self._tasks[task.task_id] = task
        if not task.plan.waiting:
            self._expire_later(task)
        if queue is not None and queue.wake_ms != queue.next_draw_ms():
            self._wake_later(account, queue)

    def get(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def expires_at(self, task: Task) -> int:
        """When a task is forgotten: `retention_ms` after it finished (ended or was canceled)."""
        return task.plan.finished_ms() + self.retention_ms

    def is_expired(self, task: Task, now_ms: int) -> bool:
        return now_ms >= self.expires_at(task)

    def rescheduled(self, task: Task) -> None:
        """A task's plan moved; make sure it is looked at again when it may be forgotten, and
        that its account's index sees its status change."""
        self._expire_later(task)
        account = self._accounts.get(task.account)
        if account is not None:
            account.watch(task)

    # -- drawing waiting tasks --------------------------------------------------------------------

    def settle(self, now_ms: int) -> None:
        """Draw every waiting task whose run slot is free by now, then forget what expired."""
        # Looked at inline first: this runs on every create, and mostly finds nothing due.
        wakes = self._wakes
        if wakes and wakes[0][0] <= now_ms:
            self.draw_due(now_ms)
        if self._expiry.due(now_ms):
            self.purge(now_ms)

    def draw_due(self, now_ms: int) -> None:
        """Draw every waiting task whose run slot is free by now: after this, every kept
        task's plan says what it is at `now_ms`."""
        wakes = self._wakes
        while wakes and wakes[0][0] <= now_ms:
            due, _, name, key = heapq.heappop(wakes)
            account = self._accounts.get(name)
            lane = account.lane_or_none(key) if account is not None else None
            if account is None or lane is None or lane.wake_ms != due:
                continue  # reset since, or superseded by an earlier wake-up
            lane.wake_ms = None
            self._drawn(account, lane.advance(now_ms))
            self._wake_later(account, lane)

    def catch_up(self, task: Task, now_ms: int) -> None:
        """Bring a waiting task's lane up to `now_ms`, so that its plan says what it is now."""
        self._in_lane(task, lambda lane: lane.advance(now_ms))

    def draw_through(self, task: Task) -> None:
        """Draw a waiting task's plan now (and those ahead of it), whatever the time: for a
        reader that needs to know when it ends."""
        self._in_lane(task, lambda lane: lane.draw_through(task))

    def cancel(self, task: Task, now_ms: int) -> None:
        """Cancel a task that has not started: the tasks behind it move up."""
        task.plan.canceled_ms = now_ms
        self._in_lane(task, lambda lane: lane.cancel(task, now_ms))
        self.rescheduled(task)

    def replan(self, name: str, now_ms: int, moved: Task | None = None) -> None:
        """Redraw an account's tasks that have not started (concurrency changed, or `moved`
        was started or ended by hand)."""
        account = self._accounts.get(name)
        if account is None:
            return
        self._drawn(account, account.replan(self.concurrency, now_ms, moved))
        for lane in account.lanes:
            self._wake_later(account, lane)

    def _in_lane(self, task: Task, step: Callable[[Lane], list[Task]]) -> None:
        """Take a step in the lane of a task (none for one outside every queue), then look
        after the tasks it drew and when to wake the lane next."""
        account = self._accounts.get(task.account)
        lane = account.lane_of(task) if account is not None else None
        if account is not None and lane is not None:
            self._drawn(account, step(lane))
            self._wake_later(account, lane)

    def _drawn(self, account: Account, tasks: Iterable[Task]) -> None:
        """Tasks whose plans were drawn: forgotten in time, and their statuses followed."""
        for task in tasks:
            self._expire_later(task)
            account.watch(task)

    def _expire_later(self, task: Task) -> None:
        """Look at the task again when it may be forgotten (a task with no end yet, never)."""
        finished = task.plan.finished_ms()
        if finished < FOREVER_MS:
            self._expiry.push(finished + self.retention_ms, task.task_id)

    def _wake_later(self, account: Account, lane: Lane) -> None:
        """Ask to be woken when the lane can draw its next waiting task."""
        due = lane.next_draw_ms()
        if due is not None and (lane.wake_ms is None or due < lane.wake_ms):
            lane.wake_ms = due
            heapq.heappush(self._wakes, (due, next(self._wake_order), account.name, lane.name))

    # -- forgetting -------------------------------------------------------------------------------

    def purge(self, now_ms: int) -> int:
        """Forget every task that has expired by now; returns how many went."""
        purged = 0
        for task_id in self._expiry.pop_due(now_ms):
            task = self._tasks.get(task_id)
            if task is None:
                continue
            due = self.expires_at(task)
            if due > now_ms:
                # Its plan moved later since the entry was made.
                if due < FOREVER_MS:
                    self._expiry.push(due, task_id)
                continue
            self._forget(task)
            purged += 1
        return purged

    def _forget(self, task: Task) -> None:
        task.purged = True
        del self._tasks[task.task_id]
        account = self._accounts.get(task.account)
        if account is None:
            return
        account.forget(task)
        if not len(account):
            del self._accounts[task.account]

    def remove_account(self, name: str) -> int:
        """Forget one account and all its tasks; returns how many tasks went."""
        account = self._accounts.pop(name, None)
        if account is None:
            return 0
        removed = 0
        for task in account.tasks:
            if not task.purged:
                task.purged = True
                del self._tasks[task.task_id]
                removed += 1
        return removed

    def clear(self) -> None:
        for task in self._tasks.values():
            task.purged = True
        self._tasks.clear()
        self._accounts.clear()
        self._expiry.clear()
        self._wakes.clear()

    @property
    def expiry_entries(self) -> int:
        return len(self._expiry)

    def __iter__(self) -> Iterator[Task]:
        return iter(list(self._tasks.values()))

    def __len__(self) -> int:
        return len(self._tasks)


class ExpiryQueue:
    """Task ids ordered by when they may be forgotten; an entry is rechecked when it comes due.

    Entries hold ids, not tasks: tuples of plain values are not tracked by the garbage
    collector, which keeps collections short however many tasks are stored.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, str]] = []
        self._order = itertools.count()

    def push(self, due_ms: int, task_id: str) -> None:
        heapq.heappush(self._heap, (due_ms, next(self._order), task_id))

    def due(self, now_ms: int) -> bool:
        """Whether an entry is due by now."""
        heap = self._heap
        return bool(heap) and heap[0][0] <= now_ms

    def pop_due(self, now_ms: int) -> Iterator[str]:
        """Every task id whose entry is due by now; the caller rechecks it (plans can move)."""
        heap = self._heap
        while heap and heap[0][0] <= now_ms:
            yield heapq.heappop(heap)[2]

    def clear(self) -> None:
        self._heap.clear()

    def __len__(self) -> int:
        return len(self._heap)
