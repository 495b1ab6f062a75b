"""The control operations: what a test does to the service rather than through its API.

Change the limits, tell a task to finish, install scenario rules, list every stored task and
upload, reset one account or everything. The control plane (/_mockscope/) and MockServer's
methods are two doors to these same operations.
"""

from __future__ import annotations

from dataclasses import dataclass

from mockscope.backend.state import State
from mockscope.domain import errors
from mockscope.domain.identity import account_uid
from mockscope.domain.lifecycle import TERMINAL_STATUSES, TaskStatus
from mockscope.domain.ratelimit import Limits
from mockscope.domain.tasks import Task, TaskRecord, TaskView
from mockscope.domain.uploads import StoredFile
from mockscope.scenarios.rules import Rule, ScenarioRules


@dataclass(frozen=True, slots=True)
class TaskPage:
    """One page of the stored tasks, newest first, with what the filters can choose from."""

    #: Tasks that pass the filters, on every page.
    total: int
    #: This page's tasks: each one's record and how a reader sees it now (metrics, images).
    tasks: list[tuple[TaskRecord, TaskView]]
    #: Every account that holds tasks, and every model of a stored task (filters' choices).
    accounts: list[str]
    models: list[str]


@dataclass(frozen=True, slots=True)
class Footprint:
    """How much the service holds: what stays bounded however long it serves."""

    #: Tasks stored (not yet expired and purged).
    tasks: int
    #: Entries in the accounts' task indexes (stored tasks, and purged ones not yet dropped).
    indexed: int
    #: Entries in the expiry queue (a task moved by hand may have more than one).
    expiry_entries: int
    #: Uploaded files held.
    uploads: int


class Control:
    """The control operations over the service's state."""

    def __init__(self, state: State) -> None:
        self._state = state

    # -- limits ---------------------------------------------------------------------------------

    @property
    def limits(self) -> Limits:
        return self._state.limiter.limits

    def set_limits(self, limits: Limits) -> None:
        """Change the limits from now on; a new concurrency redraws every waiting queue."""
        state = self._state
        old = state.limiter.limits
        state.limiter.limits = limits
        if (limits.concurrency, limits.concurrency_per_model) != (
            old.concurrency,
            old.concurrency_per_model,
        ):
            now = state.clock.now_ms()
            for account in state.store.accounts():
                state.replan(account.name, now)
            state.notify()

    # -- tasks ----------------------------------------------------------------------------------

    def finish_task(self, task_id: str) -> TaskView:
        """End a task now, whatever its plan said (for tasks told to wait `never`)."""
        state = self._state
        now = state.clock.now_ms()
        task = state.live_task(task_id, now)
        if task is None:
            raise errors.NotFound(f"No task {task_id} is kept.")
        if task.view(now).status in TERMINAL_STATUSES:
            raise errors.UnsupportedOperation(f"Task {task_id} has already finished.")
        task.plan.finish_at(now)
        state.moved(task, now)
        return task.view(now)

    def tasks(self, account: str | None = None) -> list[TaskRecord]:
        """Every stored task (of one account, if named), by account, oldest first."""
        store = self._state.store
        now = self._state.clock.now_ms()
        store.draw_due(now)
        return [
            TaskRecord.of(task, now, store.expires_at(task))
            for kept in store.accounts()
            if account is None or kept.name == account
            for task in kept.tasks
            if not task.purged
        ]

    def task_page(
        self,
        *,
        account: str | None = None,
        model: str | None = None,
        status: TaskStatus | None = None,
        skip: int = 0,
        size: int = 50,
    ) -> TaskPage:
        """Stored tasks newest first, filtered, `size` of them after the first `skip`.

        Only the page's tasks are made into records, and a status is worked out only under a
        status filter, so an inspector polling this stays cheap with many thousands kept.
        """
        store = self._state.store
        now = self._state.clock.now_ms()
        store.draw_due(now)
        accounts: list[str] = []
        models: set[str] = set()
        kept: list[Task] = []
        for held in store.accounts():
            tasks = [task for task in held.tasks if not task.purged]
            if tasks:
                accounts.append(held.name)
            models.update(task.request.model for task in tasks)
            if account is None or held.name == account:
                kept.extend(task for task in tasks if model is None or task.request.model == model)
        if status is not None:
            kept = [task for task in kept if task.view(now).status is status]
        # Reversed, then sorted stably: tasks submitted in the same millisecond stay newest first.
        kept.reverse()
        kept.sort(key=lambda task: task.plan.submit_ms, reverse=True)
        page = [
            (TaskRecord.of(task, now, store.expires_at(task)), task.view(now))
            for task in kept[skip : skip + size]
        ]
        return TaskPage(len(kept), page, accounts, sorted(models))

    def account_named_by(self, account_id: str) -> str | None:
        """The account whose numeric user id (`account_uid`) is `account_id`, if it holds tasks."""
        return next(
            (
                held.name
                for held in self._state.store.accounts()
                if account_uid(held.name) == account_id
            ),
            None,
        )

    def footprint(self) -> Footprint:
        store = self._state.store
        indexed = sum(account.index.slots for account in store.accounts())
        return Footprint(len(store), indexed, store.expiry_entries, len(self._state.uploads))

    def uploads(self) -> list[StoredFile]:
        """Every uploaded file kept now, oldest first."""
        return self._state.uploads.files(self._state.clock.now_ms())

    # -- scenarios ------------------------------------------------------------------------------

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._state.scenario.rules

    def set_scenario(self, declared: ScenarioRules) -> None:
        """Replace the rules in force (read and checked by `scenarios.reading`)."""
        self._state.install_scenario(declared)

    def add_rule(self, rule: Rule) -> None:
        """Add one rule after those in force."""
        self._state.scenario.add(rule)

    def remove_rule(self, position: int) -> Rule:
        """Take out the rule at `position` (from 1, as listed); NotFound when there is none."""
        scenario = self._state.scenario
        if not 1 <= position <= len(scenario.installed):
            raise errors.NotFound(f"No rule {position} is in force.")
        return scenario.remove(position - 1)

    def clear_scenario(self) -> None:
        self._state.install_scenario(ScenarioRules())

    # -- reset ----------------------------------------------------------------------------------

    def reset(self, account: str | None = None) -> None:
        """Forget one account, or everything: then the clock, the id sequence, the scenario and
        the limits go back to how the service started."""
        state = self._state
        if account is not None:
            state.store.remove_account(account)
            state.limiter.forget(account)
            state.uploads.clear(account)
            return
        state.store.clear()
        state.uploads.clear()
        state.limiter.clear()
        state.journal.clear()
        state.restore_scenario()
        state.clock.restart()
        state.ids.restart()
        self.set_limits(state.config.limits)
        state.notify()
