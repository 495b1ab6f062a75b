"""Listing an account's tasks: the documented time window, filters and pages.

`list_tasks` answers from the account's index (`taskindex.py`) in O((1 + page) log n) for any
combination of a time window, a model, a key id and a status (PENDING, SUCCEEDED, FAILED,
CANCELED; RUNNING and SUSPENDED look only at the tasks started now, at most `concurrency`), at
any page; a task id is one dict lookup. `scan_tasks` is the O(n) reference it is tested against.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from mockscope.domain.clock import DAY_MS
from mockscope.domain.errors import InvalidParameter
from mockscope.domain.identity import REGION, api_key_id
from mockscope.domain.lifecycle import TaskStatus
from mockscope.domain.taskindex import LIVE_FLAG, STATUS_FLAG, TaskIndex
from mockscope.domain.tasks import Task, TaskView


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What a listing asks for; times are epoch ms, None where the caller gave none."""

    task_id: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    model_name: str | None = None
    status: TaskStatus | None = None
    page_no: int = 1
    page_size: int = 10
    api_key_id: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class Listed:
    task: Task
    view: TaskView


@dataclass(frozen=True, slots=True)
class TaskPage:
    total: int
    page_no: int
    page_size: int
    items: tuple[Listed, ...]

    @property
    def total_page(self) -> int:
        return math.ceil(self.total / self.page_size)


def window(query: ListQuery, now_ms: int) -> tuple[int, int]:
    """The submission-time window: at most 24 hours; a missing end is filled from the other."""
    start, end = query.start_ms, query.end_ms
    if start is None and end is None:
        start, end = now_ms - DAY_MS, now_ms
    elif start is None:
        assert end is not None
        start = end - DAY_MS
    elif end is None:
        end = start + DAY_MS
    if end < start:
        raise InvalidParameter("end_time must not be earlier than start_time.")
    if end - start > DAY_MS:
        raise InvalidParameter("The time window between start_time and end_time exceeds 24 hours.")
    return start, end


def list_tasks(index: TaskIndex | None, query: ListQuery, now_ms: int) -> TaskPage:
    """One page of an account's matching tasks, newest first, from its index.

    The caller purges expired tasks first, so every task the index holds is kept. With a
    `task_id` and no explicit times, the window does not apply (see `scan_tasks`).
    """
    explicit = query.start_ms is not None or query.end_ms is not None
    if query.task_id is None or explicit:
        lo_ms, hi_ms = window(query, now_ms)
    if index is None or (query.region is not None and query.region != REGION):
        return _page(query, 0, [], now_ms)
    index.sync(now_ms)
    if query.task_id is not None:
        position = index.position(query.task_id)
        if position is None:
            return _page(query, 0, [], now_ms)
        task = index.task(position)
        if explicit and not lo_ms <= task.plan.submit_ms <= hi_ms:
            return _page(query, 0, [], now_ms)
        return _filtered(query, [task], now_ms)
    lo, hi = index.window(lo_ms, hi_ms)
    skip = (query.page_no - 1) * query.page_size
    status = query.status
    if status is None or status in STATUS_FLAG:
        flag = LIVE_FLAG if status is None else STATUS_FLAG[status]
        total, tasks = index.page(
            query.model_name, query.api_key_id, flag, lo, hi, skip, query.page_size
        )
        return _page(query, total, tasks, now_ms)
    # RUNNING or SUSPENDED: among the tasks started now (a handful), in the window.
    started = [index.started[at] for at in sorted(index.started, reverse=True) if lo <= at < hi]
    return _filtered(query, started, now_ms)


def _filtered(query: ListQuery, tasks: list[Task], now_ms: int) -> TaskPage:
    """The page of `tasks` (newest first) that pass every filter, computing views."""
    matches = []
    for task in tasks:
        if query.task_id is not None and task.task_id != query.task_id:
            continue
        if query.model_name is not None and task.request.model != query.model_name:
            continue
        if query.api_key_id is not None and api_key_id(task.api_key) != query.api_key_id:
            continue
        view = task.view(now_ms)
        if query.status is not None and view.status is not query.status:
            continue
        matches.append(Listed(task, view))
    first = (query.page_no - 1) * query.page_size
    page = tuple(matches[first : first + query.page_size])
    return TaskPage(len(matches), query.page_no, query.page_size, page)


def _page(query: ListQuery, total: int, tasks: list[Task], now_ms: int) -> TaskPage:
    items = tuple(Listed(task, task.view(now_ms)) for task in tasks)
    return TaskPage(total, query.page_no, query.page_size, items)


def scan_tasks(
    tasks: Sequence[Task], query: ListQuery, now_ms: int, is_kept: Callable[[Task], bool]
) -> TaskPage:
    """The reference listing, O(n): one page of an account's matching tasks (given oldest
    first), newest first.

    With a `task_id` and no explicit times, the window does not apply: the caller asks for one
    task it knows of, which may have been submitted just over 24 hours ago and still be kept.
    """
    if query.task_id is not None and query.start_ms is None and query.end_ms is None:
        candidates: Iterable[Task] = [task for task in tasks if task.task_id == query.task_id]
    else:
        candidates = _submitted_within(tasks, *window(query, now_ms))
    matches = []
    for task in candidates:
        if task.purged or not is_kept(task):
            continue
        if query.task_id is not None and task.task_id != query.task_id:
            continue
        if query.model_name is not None and task.request.model != query.model_name:
            continue
        if query.api_key_id is not None and api_key_id(task.api_key) != query.api_key_id:
            continue
        if query.region is not None and query.region != REGION:
            continue
        view = task.view(now_ms)
        if query.status is not None and view.status is not query.status:
            continue
        matches.append(Listed(task, view))
    first = (query.page_no - 1) * query.page_size
    page = tuple(matches[first : first + query.page_size])
    return TaskPage(len(matches), query.page_no, query.page_size, page)


def _submitted_within(tasks: Sequence[Task], start_ms: int, end_ms: int) -> Iterator[Task]:
    """Newest first, the tasks submitted in [start_ms, end_ms] (submit times never decrease)."""
    for task in reversed(tasks):
        submitted = task.plan.submit_ms
        if submitted < start_ms:
            return
        if submitted <= end_ms:
            yield task
