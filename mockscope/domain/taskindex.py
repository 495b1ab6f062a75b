"""One account's tasks in submission order, indexed so that listing and cancelling cost
O(log n + page) rather than O(n).

- **Window.** Tasks are appended in submission order, so the submit-time window is two bisects
  on a parallel array of submit times.
- **Purged tasks** stay in place as dead slots (lazy deletion) and are counted out by a Fenwick
  tree of live flags. The slots are a ring: dead slots at the front are dropped at once and
  their room reused, so under steady traffic nothing is ever rebuilt or copied; the ring only
  doubles (an O(n) copy, amortised O(1)) while the account keeps growing. A dead slot behind a
  longer-lived task waits until it reaches the front.
- **Status.** A status is derived from the plan and the clock, but it is monotone in time:
  PENDING, then started (RUNNING or SUSPENDED), then settled for good (SUCCEEDED, FAILED or
  CANCELED). The index keeps each task's status as of the last time it was synced and moves it
  lazily: two heaps hold when each unsettled task starts and finishes, and `sync(now)` pops what
  is due (amortised O(log n) per transition, paid once per task). Every plan move is reported by
  `watch`, which pushes the new times; stale entries only cause a recheck. PENDING and the three
  settled statuses have a Fenwick tree each; started tasks (at most `concurrency`, normally) are
  a small dict and are scanned.
- **Model and key.** A listing may name a model, the id of the key that submitted, or both.
  Once an account has asked for a second model, each model has a ring of its own (keys: the
  tasks' indices in the main ring); once a second key has submitted, so has each key; once
  both, each (model, key) pair too. So any filter, with or without a status, is as cheap as no
  filter. While every task asks for one model (or comes from one key), the main ring answers
  for it and a create pays for no extra ring: the common single-key account pays nothing.
"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Iterator, Sequence

from mockscope.domain.fenwick import Fenwick
from mockscope.domain.ids import api_key_id
from mockscope.domain.lifecycle import FOREVER_MS, TaskStatus
from mockscope.domain.tasks import Task

# Materialised states, one byte per slot.
PENDING, STARTED, SUCCEEDED, FAILED, CANCELED, DEAD = range(6)
#: The flags each slice counts with a Fenwick tree, and the states each one counts.
LIVE_FLAG, PENDING_FLAG = 0, 1
_FLAG_STATES = (
    (PENDING, STARTED, SUCCEEDED, FAILED, CANCELED),  # live
    (PENDING,),
    (SUCCEEDED,),
    (FAILED,),
    (CANCELED,),
)
_TABLES = [bytes(1 if code in states else 0 for code in range(256)) for states in _FLAG_STATES]
_FLAGS_OF = [tuple(f for f, states in enumerate(_FLAG_STATES) if s in states) for s in range(6)]
#: The Fenwick flag that answers a status filter (RUNNING and SUSPENDED are scanned).
STATUS_FLAG = {
    TaskStatus.PENDING: PENDING_FLAG,
    TaskStatus.SUCCEEDED: 2,
    TaskStatus.FAILED: 3,
    TaskStatus.CANCELED: 4,
}
_HEAP_SLACK = 4096
#: A slice of an account's tasks: (model, key id), None where it is not narrowed.
Slice = tuple[str | None, str | None]


def state_at(task: Task, now_ms: int) -> int:
    """The materialised state of a task at `now_ms`."""
    phase = task.plan.phase_at(now_ms)
    if phase is TaskStatus.PENDING:
        return PENDING
    if phase is TaskStatus.RUNNING or phase is TaskStatus.SUSPENDED:
        return STARTED
    if phase is TaskStatus.CANCELED:
        return CANCELED
    return SUCCEEDED if task.view(now_ms).status is TaskStatus.SUCCEEDED else FAILED


class Ring:
    """Slots in order at absolute indices [head, tail), stored modulo a power-of-two capacity,
    each with a key (ascending), a state and a Fenwick tree per flag.

    The trees take in appended slots only when next read (`_catch_up`): a create pays for no
    tree walk, and a listing after many creates takes them in at once, rebuilding the trees
    in C-speed slices when that is cheaper than one walk per slot.
    """

    __slots__ = ("built", "fenwicks", "head", "items", "keys", "mask", "states", "tail")

    def __init__(self, capacity: int = 16) -> None:
        self.head = self.tail = 0
        #: The trees count every slot below this absolute index; the slots from it to the
        #: tail are counted in `states` only.
        self.built = 0
        self.mask = capacity - 1
        self.keys = array("q", bytes(8 * capacity))
        self.states = bytearray([DEAD]) * capacity
        self.items: list[Task | None] = [None] * capacity
        self.fenwicks = [Fenwick(self.states.translate(table)) for table in _TABLES]

    def __len__(self) -> int:
        return self.tail - self.head

    def append(self, key: int, state: int, item: Task | None = None) -> int:
        """Add a slot at the tail; returns its absolute index."""
        if self.tail - self.head > self.mask:
            self._grow()
        at = self.tail
        i = at & self.mask
        self.keys[i], self.states[i], self.items[i] = key, state, item
        self.tail = at + 1
        return at

    def state(self, at: int) -> int:
        return self.states[at & self.mask] if self.head <= at < self.tail else DEAD

    def item(self, at: int) -> Task | None:
        return self.items[at & self.mask]

    def key(self, at: int) -> int:
        return self.keys[at & self.mask]

    def set(self, at: int, state: int) -> None:
        i = at & self.mask
        old = self.states[i]
        self.states[i] = state
        if at < self.built:  # else the trees take in its state when they catch up
            was, now = _FLAGS_OF[old], _FLAGS_OF[state]
            for flag in was:
                if flag not in now:
                    self.fenwicks[flag].add(i, -1)
            for flag in now:
                if flag not in was:
                    self.fenwicks[flag].add(i, 1)
        if state == DEAD:
            self.items[i] = None

    def drop_dead_front(self) -> None:
        states, mask = self.states, self.mask
        while self.head < self.tail and states[self.head & mask] == DEAD:
            self.head += 1

    def bisect_left(self, key: int) -> int:
        """The first absolute index whose key is >= `key`."""
        lo, hi, keys, mask = self.head, self.tail, self.keys, self.mask
        while lo < hi:
            mid = (lo + hi) >> 1
            if keys[mid & mask] < key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def bisect_right(self, key: int) -> int:
        """The first absolute index whose key is > `key`."""
        lo, hi, keys, mask = self.head, self.tail, self.keys, self.mask
        while lo < hi:
            mid = (lo + hi) >> 1
            if keys[mid & mask] <= key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _segments(self, lo: int, hi: int) -> list[tuple[int, int, int]]:
        """[lo, hi) as (first slot, end slot, absolute index of the first slot) pieces."""
        lo, hi = max(lo, self.head), min(hi, self.tail)
        if hi <= lo:
            return []
        a, capacity = lo & self.mask, self.mask + 1
        if a + (hi - lo) <= capacity:
            return [(a, a + hi - lo, lo)]
        return [(a, capacity, lo), (0, (a + hi - lo) - capacity, lo + capacity - a)]

    def count(self, flag: int, lo: int, hi: int) -> int:
        """How many slots at absolute [lo, hi) carry `flag`: O(log n)."""
        if self.built < self.tail:
            self._catch_up()
        fenwick = self.fenwicks[flag]
        return sum(fenwick.count(a, b) for a, b, _ in self._segments(lo, hi))

    def newest(self, flag: int, lo: int, hi: int, skip: int, size: int) -> list[int]:
        """Absolute indices of up to `size` slots with `flag` in [lo, hi), newest first, after
        the `skip` newest: one Fenwick descent each, O((1 + size) log n)."""
        if self.built < self.tail:
            self._catch_up()
        fenwick = self.fenwicks[flag]
        found: list[int] = []
        for a, b, first in reversed(self._segments(lo, hi)):
            before = fenwick.prefix(a)
            n = fenwick.prefix(b) - before
            if skip >= n:
                skip -= n
                continue
            for rank in range(before + n - skip, before, -1):
                if len(found) == size:
                    return found
                found.append(first + fenwick.select(rank) - a)
            skip = 0
        return found

    def _catch_up(self) -> None:
        """Take the slots appended since the trees were last read into them: one walk per
        slot and flag, or a rebuild of every tree when the new slots are many."""
        lo, hi, mask = max(self.built, self.head), self.tail, self.mask
        # A walk per slot costs ~log n steps, a rebuild ~n / 32; after a growth there are no
        # trees to walk.
        if (hi - lo) << 5 > mask or not self.fenwicks:
            self.fenwicks = [Fenwick(self.states.translate(table)) for table in _TABLES]
        else:
            states, fenwicks = self.states, self.fenwicks
            for at in range(lo, hi):
                i = at & mask
                for flag in _FLAGS_OF[states[i]]:
                    fenwicks[flag].add(i, 1)
        self.built = hi

    def _grow(self) -> None:
        """Double the capacity; absolute indices stay what they were. O(n) C-speed copies,
        only while growing."""
        old_capacity = self.mask + 1
        capacity = 2 * old_capacity
        mask = capacity - 1
        keys = array("q", bytes(8 * capacity))
        states = bytearray([DEAD]) * capacity
        items: list[Task | None] = [None] * capacity
        # Copied in runs that wrap in neither ring (the new one wraps only where the old one
        # does): at most two slice copies per array, rather than a loop over every slot.
        at = self.head
        while at < self.tail:
            end = min(self.tail, (at // old_capacity + 1) * old_capacity)
            i, j, n = at & mask, at & self.mask, end - at
            keys[i : i + n] = self.keys[j : j + n]
            states[i : i + n] = self.states[j : j + n]
            items[i : i + n] = self.items[j : j + n]
            at = end
        self.keys, self.states, self.items, self.mask = keys, states, items, mask
        # The trees are rebuilt at the next read, not here: a burst of creates (which reads
        # none) then pays for copies only, and a stall here delays every request in flight.
        self.fenwicks = []
        self.built = self.head


class TaskIndex:
    """An account's tasks in submission order with their materialised states.

    `main` holds every task (key: submit time; item: the task); each slice narrower than the
    whole account (a model, a key id, or both) has a ring of its own whose keys are the tasks'
    absolute indices in `main`, made once the account has tasks that differ in it.
    """

    __slots__ = (
        "_ends",
        "_key_ids",
        "_only",
        "_position",
        "_pushes",
        "_split",
        "_starts",
        "_synced_ms",
        "main",
        "slices",
        "started",
    )

    def __init__(self) -> None:
        self._synced_ms = -(2**62)
        #: Each submitting key's id (the hash is paid once per key, not per create).
        self._key_ids: dict[str, str] = {}
        self._load([], self._synced_ms)

    def _load(self, tasks: Sequence[Task], now_ms: int) -> None:
        """(Re)build everything from live tasks in order, deriving states at `now_ms`."""
        self.main = Ring()
        #: A ring per narrower slice, once the account's tasks differ in its dimension; until
        #: then `_only` is the one model (key id) every task has, and `main` answers for it.
        self.slices: dict[Slice, Ring] = {}
        self._only: list[str | None] = [None, None]
        self._split = [False, False]
        self._position: dict[str, int] = {}
        #: Tasks started but not finished, by absolute index (at most `concurrency`, normally).
        self.started: dict[int, Task] = {}
        self._starts: list[tuple[int, str]] = []
        self._ends: list[tuple[int, str]] = []
        self._pushes = 0
        for task in tasks:
            self._append(task, state_at(task, now_ms))

    # -- changes --------------------------------------------------------------------------------

    def add(self, task: Task, now_ms: int) -> None:
        """Append a task just submitted (submission times never decrease). The other tasks'
        states need not be current for that: whoever reads them syncs first."""
        if now_ms < self._synced_ms:
            self.sync(now_ms)  # the clock went back (a restart): derive afresh first
        # A task waiting for a run slot (the usual create behind a busy lane) is PENDING.
        self._append(task, PENDING if task.plan.waiting else state_at(task, now_ms))

    def watch(self, task: Task) -> None:
        """A task's plan moved: look at it again when it may start or finish."""
        if task.task_id in self._position:
            self._push(task)
            # Moved plans leave stale entries behind: once they may outnumber the tasks, the
            # heaps are rebuilt from the unsettled tasks (O(n), after at least n pushes).
            self._pushes += 1
            if self._pushes > _HEAP_SLACK and self._pushes > 2 * len(self._position):
                self._rebuild_heaps()

    def forget(self, task: Task) -> None:
        """A task was purged: its slot dies; dead slots at the front are dropped."""
        at = self._position.pop(task.task_id, None)
        if at is None:
            return
        self._set(at, DEAD)
        self.main.drop_dead_front()
        if self.slices:
            for name in self._slices_of(task):
                self.slices[name].drop_dead_front()

    def sync(self, now_ms: int) -> None:
        """Bring every materialised state to `now_ms` (amortised O(log n) per transition)."""
        if now_ms < self._synced_ms:  # the clock went back (a restart): derive afresh
            self._load(list(self.live()), now_ms)
        self._synced_ms = now_ms
        main = self.main
        for heap in (self._starts, self._ends):
            while heap and heap[0][0] <= now_ms:
                at = self._position.get(heapq.heappop(heap)[1])
                if at is None:
                    continue
                task = main.item(at)
                assert task is not None
                state = state_at(task, now_ms)
                if state != main.state(at):
                    self._set(at, state)

    # -- reading --------------------------------------------------------------------------------

    def window(self, start_ms: int, end_ms: int) -> tuple[int, int]:
        """Absolute indices [lo, hi) of the tasks submitted in [start_ms, end_ms]: O(log n)."""
        return self.main.bisect_left(start_ms), self.main.bisect_right(end_ms)

    def position(self, task_id: str) -> int | None:
        return self._position.get(task_id)

    def task(self, at: int) -> Task:
        task = self.main.item(at)
        assert task is not None
        return task

    def state(self, at: int) -> int:
        return self.main.state(at)

    def ring_of(self, model: str) -> tuple[Ring, bool]:
        """The ring of a model's tasks, and whether its keys are indices in `main` (False
        while the account has asked for one model only: `main` is that model's ring)."""
        ring, keyed = self._ring_for(model, None)
        assert ring is not None
        return ring, keyed

    def page(
        self,
        model: str | None,
        key_id: str | None,
        flag: int,
        lo: int,
        hi: int,
        skip: int,
        size: int,
    ) -> tuple[int, list[Task]]:
        """How many tasks of [lo, hi) (of `model` and submitted with `key_id`, if named) carry
        `flag`, and one page of them, newest first, after the `skip` newest:
        O((1 + size) log n)."""
        ring, keyed = self._ring_for(model, key_id)
        if ring is None:
            return 0, []
        if not keyed:
            found = ring.newest(flag, lo, hi, skip, size)
            return ring.count(flag, lo, hi), [self.task(at) for at in found]
        a, b = ring.bisect_left(lo), ring.bisect_left(hi)
        found = ring.newest(flag, a, b, skip, size)
        return ring.count(flag, a, b), [self.task(ring.key(at)) for at in found]

    def __len__(self) -> int:
        """How many live tasks are indexed."""
        return len(self._position)

    @property
    def slots(self) -> int:
        """How many slots are held between the oldest live task and the newest."""
        return len(self.main)

    def live(self) -> Iterator[Task]:
        main = self.main
        for at in range(main.head, main.tail):
            task = main.item(at)
            if task is not None:
                yield task

    # -- internals ------------------------------------------------------------------------------

    def _key_id(self, api_key: str) -> str:
        known = self._key_ids.get(api_key)
        if known is None:
            known = self._key_ids[api_key] = api_key_id(api_key)
        return known

    def _ring_for(self, model: str | None, key_id: str | None) -> tuple[Ring | None, bool]:
        """The ring that answers for a slice (None: no task can match), and whether its keys
        are indices in `main`."""
        wanted: list[str | None] = [model, key_id]
        for dim in (0, 1):
            if wanted[dim] is not None and not self._split[dim]:
                if wanted[dim] != self._only[dim]:
                    return None, False
                wanted[dim] = None  # every task has it: no narrowing
        if wanted[0] is None and wanted[1] is None:
            return self.main, False
        return self.slices.get((wanted[0], wanted[1])), True

    def _slices_of(self, task: Task) -> list[Slice]:
        """The narrower slices a task belongs to, among those kept."""
        split_model, split_key = self._split
        model = task.request.model
        key = self._key_id(task.api_key)
        names: list[Slice] = []
        if split_model:
            names.append((model, None))
        if split_key:
            names.append((None, key))
            if split_model:
                names.append((model, key))
        return names

    def _append(self, task: Task, state: int) -> None:
        at = self.main.append(task.plan.submit_ms, state, task)
        self._position[task.task_id] = at
        model, key_id = task.request.model, self._key_ids.get(task.api_key)
        only = self._only
        if (model != only[0] or key_id is None or key_id != only[1]) and self._differs(
            model, self._key_id(task.api_key)
        ):
            self._split_slices()  # this task included
        elif self.slices:
            slices = self.slices
            for name in self._slices_of(task):
                ring = slices.get(name)
                if ring is None:
                    ring = slices[name] = Ring()
                ring.append(at, state)
        if state == STARTED:
            self.started[at] = task
        if state <= STARTED and not task.plan.waiting:  # a waiting task has no times yet
            self._push(task)

    def _differs(self, model: str, key_id: str) -> bool:
        """Note a task's model and key id; True when one of them is the first to differ."""
        only, split, changed = self._only, self._split, False
        if model == only[0] and key_id == only[1]:
            return False  # the usual create: the account's one model and key
        for dim, value in ((0, model), (1, key_id)):
            if split[dim]:
                continue
            if only[dim] is None:
                only[dim] = value
            elif only[dim] != value:
                split[dim] = changed = True
        return changed

    def _split_slices(self) -> None:
        """Tasks now differ in a new dimension: give every slice its own ring (O(n), at most
        twice per account)."""
        main = self.main
        slices: dict[Slice, Ring] = {}
        self.slices = slices
        for at in range(main.head, main.tail):
            task = main.item(at)
            if task is not None:
                for name in self._slices_of(task):
                    ring = slices.get(name)
                    if ring is None:
                        ring = slices[name] = Ring()
                    ring.append(at, main.state(at))

    def _rebuild_heaps(self) -> None:
        self._pushes = 0
        main = self.main
        states, items, mask = main.states, main.items, main.mask
        unsettled = [
            items[at & mask] for at in range(main.head, main.tail) if states[at & mask] <= STARTED
        ]
        self._starts, self._ends = [], []
        for task in unsettled:
            assert task is not None
            plan = task.plan
            if plan.scheduled_ms < FOREVER_MS:
                self._starts.append((plan.scheduled_ms, task.task_id))
            if plan.finished_ms() < FOREVER_MS:
                self._ends.append((plan.finished_ms(), task.task_id))
        heapq.heapify(self._starts)
        heapq.heapify(self._ends)

    def _push(self, task: Task) -> None:
        plan = task.plan
        if plan.scheduled_ms < FOREVER_MS:
            heapq.heappush(self._starts, (plan.scheduled_ms, task.task_id))
        finished = plan.finished_ms()
        if finished < FOREVER_MS:
            heapq.heappush(self._ends, (finished, task.task_id))

    def _set(self, at: int, state: int) -> None:
        main = self.main
        old = main.state(at)
        task = main.item(at)
        assert task is not None
        main.set(at, state)
        if self.slices:
            slices = self.slices
            for name in self._slices_of(task):
                ring = slices[name]
                ring.set(ring.bisect_left(at), state)
        if old == STARTED:
            del self.started[at]
        if state == STARTED:
            self.started[at] = task
