"""Accounts: who owns which task, the run queues, and forgetting expired tasks.

An account runs each model's tasks in a lane of its own: at most `concurrency` of them at once
(per model on the live service: 1 for wanx-v1, 2 for the V2 models, 5 for wan2.5/2.6), the
rest wait PENDING in submission order. A waiting task's start is drawn only once a run slot is
free for it by the time anyone looks (`Lane.advance`), exactly where drawing it at submission
would have put it; so a create behind a long queue draws nothing, and a cancel of a waiting
task is O(1) however long the queue. Every task but a synchronous call that hands out no task
id is indexed for listing (`taskindex.py`).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mockscope.domain.lifecycle import FOREVER_MS
from mockscope.domain.taskindex import TaskIndex
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
    """One run queue: the tasks whose plans are drawn, those waiting for a slot, and when each
    run slot frees up.

    The tasks drawn come before every waiting one in submission order: a waiting task takes
    the slot that frees first, at the earliest when its own queue time allows. Only a change
    ahead of the drawn tasks that have not started yet (a cancel of one of them, a task moved
    by hand, a new concurrency) sends those back to waiting (`rebuild`); they are at most a
    handful, the tasks whose slot was free when last looked at.
    """

    __slots__ = ("_drawn", "_drawn_cap", "_slots", "_waiting", "name", "wake_ms")

    def __init__(self, name: str, concurrency: int) -> None:
        self.name = name
        #: Tasks with a drawn plan that had not finished when last looked at, oldest first.
        self._drawn: deque[Task] = deque()
        #: Tasks waiting for a slot, oldest first; one that left by other means (canceled,
        #: moved by hand) is passed over when its turn comes.
        self._waiting: deque[Task] = deque()
        #: When each run slot frees up once every drawn task has had its turn (a min-heap).
        self._slots = [0] * concurrency
        #: When the store last asked to be woken for this lane (`TaskStore`), None if not.
        self.wake_ms: int | None = None
        #: How many drawn tasks may be held before the finished ones are sifted out.
        self._drawn_cap = 16 + 2 * concurrency

    def submit(self, task: Task, now_ms: int) -> bool:
        """Take a task just submitted: drawn at once when a slot is free for it, else it
        waits. True when drawn."""
        if not self._waiting and self._slots[0] <= now_ms:
            self._draw(task)
            self._forget_finished(now_ms)
            return True
        self._waiting.append(task)
        return False

    def next_draw_ms(self) -> int | None:
        """When the next waiting task can be drawn (a slot frees up); None if none waits."""
        if not self._waiting or self._slots[0] >= FOREVER_MS:
            return None
        return self._slots[0]

    def advance(self, now_ms: int) -> list[Task]:
        """Draw every waiting task whose slot is free by `now_ms`; returns them."""
        drawn: list[Task] = []
        waiting, slots = self._waiting, self._slots
        while waiting and slots[0] <= now_ms:
            task = waiting.popleft()
            if task.plan.waiting:
                self._draw(task)
                drawn.append(task)
        self._forget_finished(now_ms)
        return drawn

    def _forget_finished(self, now_ms: int) -> None:
        """Let go of drawn tasks that have finished, so that they can be freed once expired:
        from the front as they finish, and all at once when one that never ends holds the
        front (amortised O(1) per task)."""
        drawn = self._drawn
        while drawn and drawn[0].plan.finished_ms() <= now_ms:
            drawn.popleft()
        if len(drawn) > self._drawn_cap:
            drawn = self._drawn = deque(t for t in drawn if t.plan.finished_ms() > now_ms)
            self._drawn_cap = 16 + 2 * (len(drawn) + len(self._slots))

    def draw_through(self, task: Task) -> list[Task]:
        """Draw the waiting tasks up to `task`, whatever the time: for a reader that needs to
        know when it will end. Returns the tasks drawn."""
        drawn: list[Task] = []
        waiting = self._waiting
        while task.plan.waiting and waiting:
            ahead = waiting.popleft()
            if ahead.plan.waiting:
                self._draw(ahead)
                drawn.append(ahead)
        return drawn

    def cancel(self, task: Task, now_ms: int) -> list[Task]:
        """A task that had not started was canceled; returns the tasks drawn anew."""
        plan = task.plan
        if plan.waiting:  # it never took a slot: nothing behind it moves
            plan.waiting = False
            return []
        return self.rebuild(len(self._slots), now_ms)

    def rebuild(self, concurrency: int, now_ms: int, moved: Task | None = None) -> list[Task]:
        """Send the drawn tasks that have not started back to waiting and redraw from the
        tasks running now (with `concurrency` slots): the queue ahead of them changed.
        `moved` is a task of the lane started or ended by hand. Returns the tasks drawn anew."""
        live = [task for task in self._drawn if task.plan.finished_ms() > now_ms]
        if (
            moved is not None
            and moved.plan.finished_ms() > now_ms
            and all(task is not moved for task in live)
        ):
            live.append(moved)  # it jumped the queue
        running = [task for task in live if task.plan.scheduled_ms <= now_ms]
        later = [task for task in live if task.plan.scheduled_ms > now_ms]
        for task in later:
            task.plan.unplan()
        self._waiting.extendleft(reversed(later))
        # With more tasks running than slots (concurrency was lowered), the next slot frees
        # only when enough of them have ended: keep the latest `concurrency` end times.
        ends = sorted(task.plan.end_ms for task in running)[-concurrency:]
        slots = ends + [now_ms] * (concurrency - len(ends))
        heapq.heapify(slots)
        self._drawn, self._slots = deque(running), slots
        return self.advance(now_ms)

    def _draw(self, task: Task) -> None:
        plan, slots = task.plan, self._slots
        plan.start_at(max(plan.submit_ms + plan.queue_ms, slots[0]))
        heapq.heapreplace(slots, plan.end_ms)
        self._drawn.append(task)


class Account:
    """One account's tasks in submission order (indexed), and a run queue (lane) per model."""

    __slots__ = ("_aliases", "_concurrency", "_lanes", "hidden", "index", "name")

    def __init__(self, name: str, concurrency: PerLane = 1) -> None:
        self.name = name
        #: Every kept task, oldest first, indexed for listing (`domain/taskindex.py`).
        self.index = TaskIndex()
        #: Synchronous calls that hand out no task id: kept (for their images and the control
        #: plane) but neither indexed for listing nor queued.
        self.hidden: dict[str, Task] = {}
        self._concurrency = _per_lane(concurrency)
        self._lanes: dict[str, Lane] = {}
        #: Lane keys (model ids) of the other names tasks asked for their model by (aliases).
        self._aliases: dict[str, str] = {}

    def lane(self, key: str) -> Lane:
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = Lane(key, self._concurrency(key))
        return lane

    def lane_or_none(self, key: str) -> Lane | None:
        return self._lanes.get(key)

    def lane_of(self, task: Task) -> Lane | None:
        """The lane a task was submitted to (None for one outside every queue)."""
        model = task.request.model
        return self._lanes.get(self._aliases.get(model, model))

    def admit(self, task: Task, now_ms: int, lane: str | None = "") -> Lane | None:
        """Take a task just submitted into its lane (drawn there, or waiting) and the index, and
        return the lane; a task planned on its own, outside every queue (a synchronous call
        with no task id), has `lane` None."""
        if lane is None:
            self.hidden[task.task_id] = task
            return None
        if lane != task.request.model:
            self._aliases[task.request.model] = lane
        queue = self._lanes.get(lane) or self.lane(lane)
        queue.submit(task, now_ms)
        self.index.add(task, now_ms)
        return queue

    def replan(self, concurrency: PerLane, now_ms: int, moved: Task | None = None) -> list[Task]:
        """Redraw every lane's tasks that have not started; `concurrency` may vary by lane.
        `moved` is a task started or ended by hand. Returns the tasks drawn anew."""
        concurrency_of = _per_lane(concurrency)
        self._concurrency = concurrency_of
        moved_in = self.lane_of(moved) if moved is not None else None
        redrawn = []
        for key, lane in self._lanes.items():
            redrawn += lane.rebuild(
                concurrency_of(key), now_ms, moved if lane is moved_in else None
            )
        return redrawn

    def watch(self, task: Task) -> None:
        """A task's plan moved: its indexed status follows."""
        self.index.watch(task)

    def forget(self, task: Task) -> None:
        """One of this account's tasks was purged."""
        if self.hidden.pop(task.task_id, None) is None:
            self.index.forget(task)

    @property
    def lanes(self) -> Iterator[Lane]:
        return iter(self._lanes.values())

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
