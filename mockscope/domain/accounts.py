"""Accounts: who owns which task, the run queues, and forgetting expired tasks.

An account runs each model's tasks in a lane of its own: at most `concurrency` of them at once
(per model on the live service: 1 for wanx-v1, 2 for the V2 models, 5 for wan2.5/2.6), the rest
wait PENDING in submission order. A task's plan is drawn when it is submitted and redrawn, for
the tasks still waiting, whenever the queue ahead of them changes (a cancel, a new concurrency).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from mockscope.domain.lifecycle import FOREVER_MS, Plan
from mockscope.domain.tasks import Task


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """API keys and workspaces that share one account, and so its tasks and its limits."""

    name: str
    api_keys: tuple[str, ...] = ()
    workspaces: tuple[str, ...] = ()


#: A number per lane (a model), or one number for every lane.
PerLane = int | Callable[[str], int]


def _per_lane(value: PerLane) -> Callable[[str], int]:
    if isinstance(value, int):
        return lambda _lane: value
    return value


class Lane:
    """One run queue: the tasks running or waiting in it, and when each run slot frees up."""

    __slots__ = ("_queue", "_slots")

    def __init__(self, concurrency: int) -> None:
        #: Tasks that were running or waiting when last looked at, oldest first.
        self._queue: deque[Task] = deque()
        #: When each run slot frees up once every queued task has had its turn (a min-heap).
        self._slots = [0] * concurrency

    def plan(self, submit_ms: int, queue_ms: int, run_ms: int) -> Plan:
        """The plan of a task submitted now: it starts once it is queued and a slot is free."""
        start = max(submit_ms + queue_ms, self._slots[0])
        return Plan(submit_ms, start, min(start + run_ms, FOREVER_MS), run_ms=run_ms)

    def admit(self, task: Task, now_ms: int) -> None:
        heapq.heapreplace(self._slots, task.plan.end_ms)
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


class Account:
    """One account's tasks in submission order, and a run queue (lane) per model."""

    __slots__ = ("_concurrency", "_lanes", "dead", "name", "tasks")

    def __init__(self, name: str, concurrency: PerLane = 1) -> None:
        self.name = name
        #: Every kept task, oldest first. Tasks mostly expire oldest first, so purged ones are
        #: dropped from the front at once; the few stuck behind a longer-lived one are swept
        #: once half the index is dead.
        self.tasks: deque[Task] = deque()
        self.dead = 0
        self._concurrency = _per_lane(concurrency)
        self._lanes: dict[str, Lane] = {}

    def lane(self, key: str) -> Lane:
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = Lane(self._concurrency(key))
        return lane

    def plan(self, submit_ms: int, queue_ms: int, run_ms: int, lane: str = "") -> Plan:
        """The plan of a task submitted now to `lane`."""
        return self.lane(lane).plan(submit_ms, queue_ms, run_ms)

    def admit(self, task: Task, now_ms: int, lane: str | None = "") -> None:
        """Take a task planned by `plan` into the index and its lane; a task planned on its
        own, outside every queue (a synchronous call), has `lane` None."""
        self.tasks.append(task)
        if lane is not None:
            self.lane(lane).admit(task, now_ms)

    def replan(self, queue_ms: PerLane, concurrency: PerLane, now_ms: int) -> list[Task]:
        """Redraw every lane's waiting tasks; `queue_ms` and `concurrency` may vary by lane."""
        queue_of, concurrency_of = _per_lane(queue_ms), _per_lane(concurrency)
        self._concurrency = concurrency_of
        redrawn = []
        for key, lane in self._lanes.items():
            redrawn += lane.replan(queue_of(key), concurrency_of(key), now_ms)
        return redrawn

    def forget(self) -> None:
        """Note that one of this account's tasks was purged, and let go of what is dead."""
        self.dead += 1
        tasks = self.tasks
        while tasks and tasks[0].purged:
            tasks.popleft()
            self.dead -= 1
        if self.dead * 2 >= len(tasks):
            self.tasks = deque(task for task in tasks if not task.purged)
            self.dead = 0
