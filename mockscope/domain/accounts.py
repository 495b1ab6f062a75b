"""Accounts: who owns which task, the per-account run queue, and forgetting expired tasks.

Each account runs at most `concurrency` tasks at once (1 on the live service); the rest wait
PENDING in submission order. A task's plan is drawn when it is submitted and redrawn, for the
tasks still waiting, whenever the queue ahead of them changes (a cancel, a new concurrency).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from mockscope.domain.lifecycle import FOREVER_MS, Plan
from mockscope.domain.taskindex import PENDING, PENDING_FLAG, TaskIndex
from mockscope.domain.tasks import Task


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """API keys and workspaces that share one account, and so its tasks and its limits."""

    name: str
    api_keys: tuple[str, ...] = ()
    workspaces: tuple[str, ...] = ()


class Account:
    """One account's tasks in submission order, and the plan of its run queue."""

    __slots__ = ("_queue", "_slots", "index", "name")

    def __init__(self, name: str, concurrency: int) -> None:
        self.name = name
        #: Every kept task, oldest first, indexed for listing (`domain/taskindex.py`).
        self.index = TaskIndex()
        #: Tasks that were running or waiting when last looked at, oldest first.
        self._queue: deque[Task] = deque()
        #: When each run slot frees up once every queued task has had its turn (a min-heap).
        self._slots = [0] * concurrency

    def plan(self, submit_ms: int, queue_ms: int, run_ms: int) -> Plan:
        """The plan of a task submitted now: it starts once it is queued and a slot is free."""
        start = max(submit_ms + queue_ms, self._slots[0])
        return Plan(submit_ms, start, min(start + run_ms, FOREVER_MS), run_ms=run_ms)

    def admit(self, task: Task, now_ms: int) -> None:
        """Take a task planned by `plan` into the queue and the index."""
        heapq.heapreplace(self._slots, task.plan.end_ms)
        self.index.add(task, now_ms)
        queue = self._queue
        queue.append(task)
        while queue and queue[0].plan.finished_ms() <= now_ms:
            queue.popleft()

    def replan(self, queue_ms: int, concurrency: int, now_ms: int) -> list[Task]:
        """Redraw the start of every task that has not started yet, in submission order.

        Returns the tasks whose plans were redrawn.
        """
        active = [task for task in self._queue if task.plan.finished_ms() > now_ms]
        running = sorted(task.plan.end_ms for task in active if task.plan.scheduled_ms <= now_ms)
        # With more tasks running than slots (concurrency was lowered), the next slot frees
        # only when enough of them have ended: keep the latest `concurrency` end times.
        slots = running[len(running) - concurrency :] if len(running) > concurrency else running
        slots += [now_ms] * (concurrency - len(slots))
        heapq.heapify(slots)
        redrawn = []
        for task in active:
            plan = task.plan
            if plan.scheduled_ms <= now_ms:
                continue
            plan.start_at(max(plan.submit_ms + queue_ms, slots[0], now_ms))
            heapq.heapreplace(slots, plan.end_ms)
            redrawn.append(task)
        self._queue = deque(active)
        self._slots = slots
        return redrawn

    def replan_behind(
        self, canceled: Task, queue_ms: int, concurrency: int, now_ms: int
    ) -> list[Task] | None:
        """After a cancel, redraw only the tasks queued behind `canceled`: O(log n + k).

        With one run slot (the live service's concurrency) the tasks ahead of a canceled task
        keep their plans, and the slot the tasks behind it wait for frees when the nearest
        waiting task ahead of it ends (or the running one, or now). Returns the redrawn tasks,
        or None when the shortcut does not apply (more slots, or several tasks running after
        concurrency was lowered) and the whole queue must be redrawn by `replan`.
        """
        index = self.index
        if concurrency != 1 or len(self._slots) != 1:
            return None
        index.sync(now_ms)
        position = index.position(canceled.task_id)
        started = index.started
        if position is None or len(started) > 1 or any(p > position for p in started):
            return None
        main = index.main
        ahead = main.newest(PENDING_FLAG, main.head, position, 0, 1)  # the nearest waiting
        if ahead:
            slot = index.task(ahead[0]).plan.end_ms
        elif started:
            slot = next(iter(started.values())).plan.end_ms
        else:
            slot = now_ms
        redrawn = []
        states, items, mask = main.states, main.items, main.mask
        for behind in range(position + 1, main.tail):
            if states[behind & mask] != PENDING:
                continue
            task = items[behind & mask]
            assert task is not None
            plan = task.plan
            plan.start_at(max(plan.submit_ms + queue_ms, slot, now_ms))
            slot = plan.end_ms
            redrawn.append(task)
        self._slots = [slot]
        return redrawn

    def watch(self, task: Task) -> None:
        """A task's plan moved: its indexed status follows."""
        self.index.watch(task)

    def forget(self, task: Task) -> None:
        """One of this account's tasks was purged."""
        self.index.forget(task)

    @property
    def tasks(self) -> Iterator[Task]:
        """Every kept task, oldest first."""
        return self.index.live()

    def __len__(self) -> int:
        """How many tasks are kept."""
        return len(self.index)
