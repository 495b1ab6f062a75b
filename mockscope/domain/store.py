"""Every task of every account, with a bounded cost per task and nothing kept past expiry."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator

from mockscope.domain.accounts import Account
from mockscope.domain.tasks import Task


class TaskStore:
    """Tasks by id and by account; expired ones are purged as time moves on."""

    def __init__(self, retention_ms: int, concurrency: int) -> None:
        self.retention_ms = retention_ms
        self.concurrency = concurrency
        self._tasks: dict[str, Task] = {}
        self._accounts: dict[str, Account] = {}
        self._expiry = ExpiryQueue()

    def account(self, name: str) -> Account:
        account = self._accounts.get(name)
        if account is None:
            account = self._accounts[name] = Account(name, self.concurrency)
        return account

    def account_or_none(self, name: str) -> Account | None:
        return self._accounts.get(name)

    def accounts(self) -> Iterator[Account]:
        return iter(list(self._accounts.values()))

    def add(self, task: Task, now_ms: int) -> None:
        self.account(task.account).admit(task, now_ms)
        self._tasks[task.task_id] = task
        self._expiry.push(self.expires_at(task), task.task_id)

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
        self._expiry.push(self.expires_at(task), task.task_id)
        account = self._accounts.get(task.account)
        if account is not None:
            account.watch(task)

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

    def pop_due(self, now_ms: int) -> Iterator[str]:
        """Every task id whose entry is due by now; the caller rechecks it (plans can move)."""
        heap = self._heap
        while heap and heap[0][0] <= now_ms:
            yield heapq.heappop(heap)[2]

    def clear(self) -> None:
        self._heap.clear()

    def __len__(self) -> int:
        return len(self._heap)
