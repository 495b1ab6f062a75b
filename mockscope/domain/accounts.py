"""Accounts: who owns which task, the run queues, and forgetting expired tasks.

An account runs each model's tasks in a lane of its own: at most `concurrency` of them at once
(per model on the live service: 1 for wanx-v1, 2 for the V2 models, 5 for wan2.5/2.6), the
rest wait PENDING in submission order. A task's plan is drawn when it is submitted and redrawn,
for the tasks still waiting, whenever the queue ahead of them changes (a cancel, a new
concurrency). Every task but a synchronous call that hands out no task id is indexed for
listing (`taskindex.py`).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mockscope.domain.lifecycle import FOREVER_MS, Plan
from mockscope.domain.taskindex import PENDING, PENDING_FLAG, Ring, TaskIndex
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

    __slots__ = ("_longest_queue", "_longest_run", "_queue", "_slots", "name")

    def __init__(self, name: str, concurrency: int) -> None:
        self.name = name
        #: Tasks that were running or waiting when last looked at, oldest first.
        self._queue: deque[Task] = deque()
        #: When each run slot frees up once every queued task has had its turn (a min-heap).
        self._slots = [0] * concurrency
        #: The longest queue and run any task of the lane was planned with: they bound how late
        #: an earlier task can end, so a cancel stops looking back early (`_slots_before`).
        self._longest_queue = 0
        self._longest_run = 0

    def plan(self, submit_ms: int, queue_ms: int, run_ms: int) -> Plan:
        """The plan of a task submitted now: it starts once it is queued and a slot is free."""
        if queue_ms > self._longest_queue:
            self._longest_queue = queue_ms
        if run_ms > self._longest_run:
            self._longest_run = run_ms
        start = max(submit_ms + queue_ms, self._slots[0])
        return Plan(submit_ms, start, min(start + run_ms, FOREVER_MS), run_ms=run_ms)

    def admit(self, task: Task, now_ms: int) -> None:
        plan = task.plan
        if plan.held or plan.end_ms >= FOREVER_MS:  # shaped after `plan`: it may never end
            self._longest_run = FOREVER_MS
        heapq.heapreplace(self._slots, plan.end_ms)
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
        self, canceled: Task, queue_ms: int, concurrency: int, now_ms: int, index: TaskIndex
    ) -> list[Task] | None:
        """After a cancel, redraw only this lane's tasks queued behind `canceled`:
        O((1 + k) log n) for k tasks behind it.

        The tasks ahead of a canceled task keep their plans, and the tasks behind it take the
        run slots as they free up after the tasks ahead (`_slots_before`). Returns the redrawn
        tasks, or None when the shortcut does not apply (concurrency changed, or a task behind
        the canceled one has started) and the whole lane must be redrawn by `replan`.
        """
        if len(self._slots) != concurrency:
            return None
        if queue_ms > self._longest_queue:
            self._longest_queue = queue_ms
        index.sync(now_ms)
        position = index.position(canceled.task_id)
        if position is None:
            return None
        started = [at for at, task in index.started.items() if task.request.model == self.name]
        if any(at > position for at in started):
            return None
        ring, keyed = index.ring_of(self.name)
        mine = ring.bisect_left(position) if keyed else position
        slots = self._slots_before(ring, keyed, mine, started, concurrency, now_ms, index)
        redrawn = []
        for behind in range(mine + 1, ring.tail):
            if ring.state(behind) != PENDING:
                continue
            task = index.task(ring.key(behind) if keyed else behind)
            plan = task.plan
            plan.start_at(max(plan.submit_ms + queue_ms, slots[0], now_ms))
            heapq.heapreplace(slots, plan.end_ms)
            redrawn.append(task)
        self._slots = slots
        return redrawn

    def _slots_before(
        self,
        ring: Ring,
        keyed: bool,
        mine: int,
        started: list[int],
        concurrency: int,
        now_ms: int,
        index: TaskIndex,
    ) -> list[int]:
        """When each run slot frees up once the lane's tasks ahead of ring slot `mine` have had
        their turn (a min-heap).

        Each task takes the slot that frees first and gives it back at its end, never earlier,
        so the slots free up at the `concurrency` latest ends among the tasks running and
        waiting ahead (or now). The waiting tasks are looked at newest first; no earlier one
        can end later than its start allows (bounded by the lane's longest queue and run), so
        the look back stops there: after a handful of tasks when the lane is backed up.
        """
        ends = [index.started[at].plan.end_ms for at in started]
        latest = heapq.nlargest(concurrency, ends)
        batch, skip = max(8, 2 * concurrency), 0
        while True:
            found = ring.newest(PENDING_FLAG, ring.head, mine, skip, batch)
            for at in found:
                plan = index.task(ring.key(at) if keyed else at).plan
                if len(latest) >= concurrency:
                    # Every earlier task started by max(this one's start, its own queue).
                    bound = max(plan.scheduled_ms, plan.submit_ms + self._longest_queue)
                    if bound + self._longest_run <= latest[-1]:
                        found = []
                        break
                if len(latest) < concurrency:
                    latest.append(plan.end_ms)
                    latest.sort(reverse=True)
                elif plan.end_ms > latest[-1]:
                    latest[-1] = plan.end_ms
                    latest.sort(reverse=True)
            if len(found) < batch:
                break
            skip += batch
        slots = latest + [now_ms] * (concurrency - len(latest))
        heapq.heapify(slots)
        return slots


class Account:
    """One account's tasks in submission order (indexed), and a run queue (lane) per model."""

    __slots__ = ("_concurrency", "_lanes", "hidden", "index", "name")

    def __init__(self, name: str, concurrency: PerLane = 1) -> None:
        self.name = name
        #: Every kept task, oldest first, indexed for listing (`domain/taskindex.py`).
        self.index = TaskIndex()
        #: Synchronous calls that hand out no task id: kept (for their images and the control
        #: plane) but neither indexed for listing nor queued.
        self.hidden: dict[str, Task] = {}
        self._concurrency = _per_lane(concurrency)
        self._lanes: dict[str, Lane] = {}

    def lane(self, key: str) -> Lane:
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = Lane(key, self._concurrency(key))
        return lane

    def plan(self, submit_ms: int, queue_ms: int, run_ms: int, lane: str = "") -> Plan:
        """The plan of a task submitted now to `lane`."""
        return self.lane(lane).plan(submit_ms, queue_ms, run_ms)

    def admit(self, task: Task, now_ms: int, lane: str | None = "") -> None:
        """Take a task planned by `plan` into the index and its lane; a task planned on its
        own, outside every queue (a synchronous call with no task id), has `lane` None."""
        if lane is None:
            self.hidden[task.task_id] = task
            return
        self.index.add(task, now_ms)
        self.lane(lane).admit(task, now_ms)

    def replan(self, queue_ms: PerLane, concurrency: PerLane, now_ms: int) -> list[Task]:
        """Redraw every lane's waiting tasks; `queue_ms` and `concurrency` may vary by lane."""
        queue_of, concurrency_of = _per_lane(queue_ms), _per_lane(concurrency)
        self._concurrency = concurrency_of
        redrawn = []
        for key, lane in self._lanes.items():
            redrawn += lane.replan(queue_of(key), concurrency_of(key), now_ms)
        return redrawn

    def replan_behind(
        self, canceled: Task, queue_ms: int, concurrency: int, now_ms: int
    ) -> list[Task] | None:
        """After a cancel, redraw the tasks of the canceled one's lane behind it (see Lane)."""
        lane = self._lanes.get(canceled.request.model)
        if lane is None:
            return None
        return lane.replan_behind(canceled, queue_ms, concurrency, now_ms, self.index)

    def watch(self, task: Task) -> None:
        """A task's plan moved: its indexed status follows."""
        self.index.watch(task)

    def forget(self, task: Task) -> None:
        """One of this account's tasks was purged."""
        if self.hidden.pop(task.task_id, None) is None:
            self.index.forget(task)

    @property
    def tasks(self) -> Iterator[Task]:
        """Every kept task, oldest first."""
        if not self.hidden:
            return self.index.live()
        return heapq.merge(
            self.index.live(), self.hidden.values(), key=lambda task: task.plan.submit_ms
        )

    def __len__(self) -> int:
        """How many tasks are kept."""
        return len(self.index) + len(self.hidden)
