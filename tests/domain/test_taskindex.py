"""The indexed listing and cancel equal the O(n) reference for random histories."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mockscope import Backend, BackendConfig, Limits, ManualClock
from mockscope.domain import errors, taskindex
from mockscope.domain.accounts import AccountSpec
from mockscope.domain.clock import DAY_MS
from mockscope.domain.fenwick import Fenwick
from mockscope.domain.identity import REGION, Caller, api_key_id
from mockscope.domain.lifecycle import TaskStatus, Timing
from mockscope.domain.listing import ListQuery, TaskPage, scan_tasks
from mockscope.domain.taskindex import Ring
from mockscope.domain.tasks import TaskRequest
from mockscope.scenarios.reading import checked_rule

#: Examples an equivalence property: the operation lists are drawn up to their full length, so 75
#: reach the index's slot, ring and Fenwick edges; the known hard cases are kept as @example.
EXAMPLES = 75

MODELS = ("wanx-v1", "wanx2.1-t2i-turbo")
CALLERS = (Caller("A", "sk-a1"), Caller("A", "sk-a2"), Caller("B", "sk-b"))
RULES = [
    None,
    None,
    None,
    "failed; code=DataInspectionFailed; message=m",
    "partial; failed=1; message=m",
    "never",
    "never; phase=PENDING",
    "suspended; after=1; for=5",
    "timing; run=3",
    "polls; running=1; done=2",
]
RETENTION_MS = 120_000
#: Who submitted each task (ids are seeded, so both backends of a lockstep run agree).
OWNERS: dict[str, Caller] = {}

create = st.tuples(
    st.just("create"),
    st.integers(0, len(CALLERS) - 1),
    st.sampled_from(MODELS),
    st.integers(1, 4),
    st.sampled_from(RULES),
    st.sampled_from([None, None, None, "1*1"]),
)
advance = st.tuples(st.just("advance"), st.sampled_from([0, 1, 13, 500, 7_000, 30_000, 90_000]))
poke = st.tuples(st.sampled_from(["cancel", "finish", "get"]), st.integers(0, 10**6))
operations = st.lists(st.one_of(create, create, advance, poke), min_size=1, max_size=60)

statuses = st.sampled_from([None, *TaskStatus])
queries = st.fixed_dictionaries(
    {
        "caller": st.integers(0, len(CALLERS) - 1),
        "task_id": st.one_of(st.none(), st.integers(0, 10**6), st.just("nope")),
        "window": st.sampled_from([None, "start", "end", "both"]),
        "offset_ms": st.integers(-200_000, 200_000),
        "model_name": st.sampled_from([None, *MODELS, "other"]),
        "status": statuses,
        "page_no": st.integers(1, 4),
        "page_size": st.integers(1, 7),
        "api_key": st.sampled_from([None, "sk-a1", "sk-b", "x"]),
        "region": st.sampled_from([None, None, REGION, "cn-hangzhou"]),
    }
)


def _backend() -> tuple[Backend, ManualClock]:
    clock = ManualClock()
    config = BackendConfig(
        models=MODELS,
        accounts=(AccountSpec("A", api_keys=("sk-a1", "sk-a2")),),
        limits=Limits.unlimited(),
        retention_ms=RETENTION_MS,
        seed=7,
    )
    return Backend(config, clock), clock


def _apply(backend: Backend, clock: ManualClock, op: tuple[object, ...], ids: list[str]) -> None:
    kind = op[0]
    if kind == "create":
        _, who, model, n, rule, size = op
        request = TaskRequest(model=str(model), prompt="p", n=int(n), size=str(size or "1024*1024"))  # type: ignore[call-overload]
        own = checked_rule(rule) if isinstance(rule, str) else None
        caller = CALLERS[int(who)]  # type: ignore[call-overload]
        task = backend.api.create_task(caller, request, own_rule=own)
        ids.append(task.task_id)
        OWNERS[task.task_id] = caller
    elif kind == "advance":
        clock.advance(int(op[1]) / 1000)  # type: ignore[call-overload]
    elif ids:
        task_id = ids[int(op[1]) % len(ids)]  # type: ignore[call-overload]
        caller = OWNERS[task_id]
        try:
            if kind == "cancel":
                backend.api.cancel_task(caller, task_id)
            elif kind == "finish":
                backend.control.finish_task(task_id)
            else:
                backend.api.get_task(caller, task_id)
        except (errors.UnsupportedOperation, errors.NotFound):
            pass


def _query(spec: dict[str, object], now: int, ids: list[str]) -> tuple[Caller, ListQuery]:
    task_id = spec["task_id"]
    if isinstance(task_id, int):
        task_id = ids[task_id % len(ids)] if ids else "nope"
    window, offset = spec["window"], int(spec["offset_ms"])  # type: ignore[call-overload]
    start = now - DAY_MS // 2 + offset if window in ("start", "both") else None
    end = now + offset if window in ("end", "both") else None
    if start is not None and end is not None and end < start:
        start, end = end, start
    if start is not None and end is not None and end - start > DAY_MS:
        start = end - DAY_MS
    key = spec["api_key"]
    query = ListQuery(
        task_id=task_id,  # type: ignore[arg-type]
        start_ms=start,
        end_ms=end,
        model_name=spec["model_name"],  # type: ignore[arg-type]
        status=spec["status"],  # type: ignore[arg-type]
        page_no=spec["page_no"],  # type: ignore[arg-type]
        page_size=spec["page_size"],  # type: ignore[arg-type]
        api_key_id=api_key_id(key) if isinstance(key, str) else None,
        region=spec["region"],  # type: ignore[arg-type]
    )
    return CALLERS[int(spec["caller"])], query  # type: ignore[call-overload]


def _shape(page: TaskPage) -> tuple[object, ...]:
    items = [(item.task.task_id, item.view.status, item.view.end_ms) for item in page.items]
    return page.total, page.total_page, page.page_no, items


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations, st.lists(queries, min_size=1, max_size=6))
def test_the_indexed_listing_equals_the_reference_scan(
    ops: list[tuple[object, ...]], specs: list[dict[str, object]]
) -> None:
    backend, clock = _backend()
    store = backend.api._store  # the reference reads the store directly
    ids: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(taskindex, "_HEAP_SLACK", 3)  # rebuild the heaps often
        _list_after_each(backend, clock, store, ops, specs, ids)


def _list_after_each(
    backend: Backend,
    clock: ManualClock,
    store: Any,
    ops: list[tuple[object, ...]],
    specs: list[dict[str, object]],
    ids: list[str],
) -> None:
    for op in ops:
        _apply(backend, clock, op, ids)
        for spec in specs:
            caller, query = _query(spec, clock.now_ms(), ids)
            indexed = backend.api.list_tasks(caller, query)
            now = clock.now_ms()
            account = store.account_or_none(caller.account)
            tasks = list(account.tasks) if account is not None else []
            expected = scan_tasks(
                tasks, query, now, lambda t, now=now: not store.is_expired(t, now)
            )
            assert _shape(indexed) == _shape(expected), (query, ops)


def _plans(backend: Backend) -> list[tuple[object, ...]]:
    return [
        (r.task_id, r.status, r.submit_ms, r.scheduled_ms, r.end_ms, r.canceled_ms, r.expires_ms)
        for r in backend.control.tasks()
    ]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_plans_drawn_when_looked_at_equal_plans_drawn_at_once(
    ops: list[tuple[object, ...]],
) -> None:
    fast, fast_clock = _backend()
    naive, naive_clock = _backend()
    _replay_fast_and_naive(ops, fast, fast_clock, naive, naive_clock)


queue_ops = st.lists(
    st.one_of(
        create,
        create,
        create,
        st.tuples(st.just("advance"), st.sampled_from([0, 1, 13, 500, 7_000])),
        st.tuples(st.just("cancel"), st.integers(0, 10**6)),
        st.tuples(st.just("cancel"), st.integers(0, 10**6)),
        st.tuples(st.just("finish"), st.integers(0, 10**6)),
    ),
    min_size=1,
    max_size=80,
)


#: Two run slots: two short tasks run, a long one waits, then short ones; the long one still
#: holds its slot when the short ones after it have ended, so a cancel behind them must look
#: back past them.
LONG_TASK_AHEAD = [("create", 0, "wanx-v1", n, None, None) for n in (1, 1, 4, 1, 1, 1, 1, 1, 1)] + [
    ("cancel", 7),
    ("cancel", 5),
]
#: One run slot, three tasks: the second is canceled, so the third starts when the first ends,
#: well before its old start, and is listed RUNNING then.
MOVED_UP_AND_RUNNING = [("create", 0, "wanx-v1", 1, None, None)] * 3 + [
    ("cancel", 1),
    ("advance", 7_000),
]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queue_ops, st.sampled_from([1, 2, 3, 5]))
@example(LONG_TASK_AHEAD, 2)
@example(MOVED_UP_AND_RUNNING, 1)
def test_cancels_in_backed_up_lanes_of_any_concurrency_equal_drawing_at_once(
    ops: list[tuple[object, ...]], concurrency: int
) -> None:
    """Creates outpace the runs (no clock between most of them), so cancels land in deep
    queues with several run slots, among tasks that never start or never end; runs differ
    four-fold with the number of images, so an earlier task often ends after later ones."""

    def backend() -> tuple[Backend, ManualClock]:
        clock = ManualClock()
        config = BackendConfig(
            models=MODELS,
            accounts=(AccountSpec("A", api_keys=("sk-a1", "sk-a2")),),
            limits=Limits.unlimited(concurrency=concurrency),
            retention_ms=RETENTION_MS,
            timing=Timing(queue_ms=14, run_base_ms=100, run_per_image_ms=5_000),
            seed=7,
        )
        return Backend(config, clock), clock

    fast, fast_clock = backend()
    naive, naive_clock = backend()
    _replay_fast_and_naive(
        ops, fast, fast_clock, naive, naive_clock, then=_assert_lists_equal_the_scan
    )


def _assert_lists_equal_the_scan(backend: Backend) -> None:
    """Statuses moved by a redraw are what the index lists (every status, both keys' tasks)."""
    store, now = backend.api._store, backend.clock.now_ms()
    account = store.account_or_none("A")
    tasks = list(account.tasks) if account is not None else []
    for status in (None, *TaskStatus):
        query = ListQuery(status=status, page_size=100)
        expected = scan_tasks(tasks, query, now, lambda t: not store.is_expired(t, now))
        assert _shape(backend.api.list_tasks(CALLERS[0], query)) == _shape(expected), status


def test_fenwick_counts_and_selects() -> None:
    flags = bytes([1, 0, 1, 1, 0, 0, 1])
    tree = Fenwick(flags)
    assert [tree.prefix(i) for i in range(8)] == [0, 1, 1, 2, 3, 3, 3, 4]
    assert [tree.select(k) for k in range(1, 5)] == [0, 2, 3, 6]
    tree.add(1, 1)
    assert tree.count(1, 4) == 3
    assert tree.select(2) == 1


@given(st.binary(max_size=300).map(lambda raw: bytes(b & 1 for b in raw)))
def test_a_fenwick_tree_built_from_flags_counts_them(flags: bytes) -> None:
    tree = Fenwick(flags)
    assert [tree.prefix(i) for i in range(len(flags) + 1)] == [
        sum(flags[:i]) for i in range(len(flags) + 1)
    ]
    ones = [i for i, flag in enumerate(flags) if flag]
    assert [tree.select(k) for k in range(1, len(ones) + 1)] == ones


def test_a_ring_grown_many_times_while_wrapped_keeps_its_slots_in_order() -> None:
    ring = Ring(capacity=4)
    kept: list[int] = []
    for key in range(200):
        ring.append(key, 0)
        kept.append(key)
        if key % 3 == 0:  # drop from the front now and then, so the ring wraps as it grows
            ring.set(ring.head, 5)
            ring.drop_dead_front()
            kept.pop(0)
    assert [ring.key(at) for at in range(ring.head, ring.tail)] == kept
    assert ring.count(0, ring.head, ring.tail) == len(kept)


def test_the_ring_reuses_dropped_slots_and_grows_in_order() -> None:
    ring = Ring(capacity=4)
    for key in range(3):
        ring.append(key, 0)
    ring.set(0, 5)
    ring.drop_dead_front()
    for key in range(3, 9):
        ring.append(key, 0)
    assert (ring.head, ring.tail) == (1, 9)
    assert [ring.key(at) for at in range(1, 9)] == list(range(1, 9))
    assert ring.count(0, 0, 9) == 8
    assert ring.newest(0, 2, 9, 1, 3) == [7, 6, 5]
    assert ring.bisect_left(5) == 5
    assert ring.bisect_right(8) == 9


def _replay_fast_and_naive(
    ops: list[tuple[object, ...]],
    fast: Backend,
    fast_clock: ManualClock,
    naive: Backend,
    naive_clock: ManualClock,
    then: Callable[[Backend], None] = lambda _: None,
) -> None:
    """Apply each operation to both backends, the naive one drawing every waiting task's plan
    at once after each (as if plans were drawn at submission and redrawn on every change), and
    require the same plans after each (and `then` of the fast one): a task the fast one has not
    drawn yet must read PENDING in both. At the end the fast one draws everything too, and
    every plan must be the same."""
    fast_ids: list[str] = []
    naive_ids: list[str] = []
    for op in ops:
        _apply(fast, fast_clock, op, fast_ids)
        _apply(naive, naive_clock, op, naive_ids)
        _draw_everything(naive)
        _assert_same_plans(_plans(fast), _plans(naive), ops)
        then(fast)
    _draw_everything(fast)
    _assert_same_plans(_plans(fast), _plans(naive), ops, every_one_drawn=True)


def _draw_everything(backend: Backend) -> None:
    store = backend.api._store
    for task in list(store):
        if task.plan.waiting:
            store.draw_through(task)


def _assert_same_plans(
    fast: list[tuple[Any, ...]],
    naive: list[tuple[Any, ...]],
    ops: object,
    every_one_drawn: bool = False,
) -> None:
    """Records (id, status, submit, scheduled, end, canceled, expires) alike, but for a task
    the fast one has not drawn: waiting, so PENDING in both; or canceled while it waited, so
    it never had a start (the naive one drew one it never reached)."""
    assert len(fast) == len(naive), ops
    for lazy, eager in zip(fast, naive, strict=True):
        if lazy[3] is None and eager[3] is not None:
            assert lazy[:3] == eager[:3], (lazy, eager, ops)
            assert lazy[5] == eager[5], (lazy, eager, ops)
            if lazy[1] is TaskStatus.CANCELED:
                assert eager[1] is TaskStatus.CANCELED, (lazy, eager, ops)
                assert eager[3] >= eager[5], "canceled before its drawn start"
                assert lazy[6] == eager[6], (lazy, eager, ops)
            else:
                assert not every_one_drawn, (lazy, eager, ops)
                assert lazy[1] is eager[1] is TaskStatus.PENDING, (lazy, eager, ops)
        else:
            assert lazy == eager, (lazy, eager, ops)


ring_ops = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(0, 4)),  # any live state
        st.tuples(st.just("set"), st.integers(0, 10**6), st.integers(0, 5)),
        st.tuples(st.just("read"), st.integers(0, 10**6), st.integers(0, 10**6)),
    ),
    max_size=400,
)


@settings(max_examples=100, deadline=None)
@given(ring_ops, st.sampled_from([4, 64, 1024]))
def test_a_ring_read_after_any_appends_and_changes_counts_like_its_states(
    ops: list[tuple[int | str, ...]], capacity: int
) -> None:
    """The trees take in appended slots only when read: by one walk per slot after a few
    appends, by a rebuild after many (capacity 1024 takes the walks, 4 the rebuilds)."""
    ring = Ring(capacity=capacity)
    states: dict[int, int] = {}
    for op in ops:
        if op[0] == "append":
            states[ring.append(len(states), int(op[1]))] = int(op[1])
        elif op[0] == "set" and len(ring):
            at = ring.head + int(op[1]) % (ring.tail - ring.head)
            if states.get(at, taskindex.DEAD) != taskindex.DEAD:
                ring.set(at, int(op[2]))
                states[at] = int(op[2])
                ring.drop_dead_front()
        elif op[0] == "read":
            lo = ring.head + int(op[1]) % (ring.tail - ring.head + 1)
            hi = lo + int(op[2]) % (ring.tail - lo + 1)
            for flag, members in enumerate(taskindex._FLAG_STATES):
                inside = [at for at in range(lo, hi) if states.get(at) in members]
                assert ring.count(flag, lo, hi) == len(inside)
                assert ring.newest(flag, lo, hi, 0, 3) == inside[::-1][:3]
