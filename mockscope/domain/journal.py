"""The request journal: what the fake answered, kept within a bound, and checks on top of it.

The checks catch real client bugs: polling too fast, polling on after a terminal status,
ignoring Retry-After, submitting the same work twice, creating a task and never reading it.
"""

from __future__ import annotations

import itertools
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mockscope.domain.lifecycle import TERMINAL_STATUSES
from mockscope.domain.operations import Operation
from mockscope.domain.tasks import TaskRequest

#: Status recorded for a request whose answer was never sent (dropped connection, lost answer).
NO_ANSWER = 0


@dataclass(frozen=True, slots=True)
class Entry:
    """One answered request."""

    seq: int
    time_ms: int
    operation: Operation
    account: str | None
    api_key: str | None
    task_id: str | None
    status: int
    #: The scenario outcome applied to the request or its task, if any ("" when none).
    outcome: str = ""
    #: For reads: the task status the answer showed.
    task_status: str | None = None
    #: For 429s: the Retry-After the answer carried, in seconds.
    retry_after_s: int | None = None
    #: For creates: a digest of the submitted work, to spot the same work sent twice.
    work: str | None = None
    #: For creates: the model asked for; with the endpoint, what the call was.
    model: str | None = None
    endpoint: str | None = None
    #: The request line: its method and its path as sent (percent-encoded, no query string).
    method: str = ""
    path: str = ""
    #: From arrival to answer on the fake's clock: a declared delay, a held synchronous call.
    latency_ms: int = 0


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem a journal check found, with the entries that show it."""

    #: The check that found it: polls_too_fast, polls_after_terminal, retry_after_ignored,
    #: duplicate_submissions or unpolled_tasks.
    check: str
    message: str
    task_id: str | None
    #: The `seq` of each offending entry (for unpolled tasks: the create).
    seqs: tuple[int, ...]
    #: The API key the message names in clear, if any (see `worded`).
    api_key: str | None = None

    def worded(self, mask: Callable[[str], str]) -> str:
        """The message with its API key shown as `mask` shows it, for readers outside."""
        if self.api_key is None:
            return self.message
        return self.message.replace(self.api_key, mask(self.api_key))


#: Each check's name, in the order client_problems reports them.
CHECKS = (
    "polls_too_fast",
    "polls_after_terminal",
    "retry_after_ignored",
    "duplicate_submissions",
    "unpolled_tasks",
)


class Journal:
    """The last `capacity` requests, oldest first; older ones are dropped."""

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError("a journal keeps at least one entry")
        # Entries are stored as plain tuples: cheap to make on every request, and invisible to
        # the garbage collector.
        self._entries: deque[tuple[object, ...]] = deque(maxlen=capacity)
        self._seq = 0
        #: The last findings, with the (seq, length, rate) they were found for.
        self._findings: tuple[tuple[int, int, float], tuple[Finding, ...]] | None = None

    @property
    def capacity(self) -> int:
        assert self._entries.maxlen is not None
        return self._entries.maxlen

    def record(
        self,
        time_ms: int,
        operation: Operation,
        account: str | None,
        api_key: str | None,
        task_id: str | None,
        status: int,
        outcome: str = "",
        task_status: str | None = None,
        retry_after_s: int | None = None,
        work: str | TaskRequest | None = None,
        model: str | None = None,
        endpoint: str | None = None,
        method: str = "",
        path: str = "",
        latency_ms: int = 0,
    ) -> None:
        self._seq += 1
        self._entries.append(
            (
                self._seq,
                time_ms,
                operation,
                account,
                api_key,
                task_id,
                status,
                outcome,
                task_status,
                retry_after_s,
                work,
                model,
                endpoint,
                method,
                path,
                latency_ms,
            )
        )

    def entries(
        self,
        *,
        task_id: str | None = None,
        operation: Operation | str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        latest: int | None = None,
    ) -> list[Entry]:
        """The kept entries, oldest first, optionally only those of a task, operation, key or
        model, and of those only the `latest` ones."""
        operation = Operation(operation) if operation is not None else None
        raw = list(self._entries)
        if latest is not None and all(f is None for f in (task_id, operation, api_key, model)):
            raw = raw[-latest:] if latest > 0 else []  # unfiltered: only the last few are made
        found = [
            entry
            for entry in map(_entry, raw)
            if (task_id is None or entry.task_id == task_id)
            and (operation is None or entry.operation is operation)
            and (api_key is None or entry.api_key == api_key)
            and (model is None or entry.model == model)
        ]
        if latest is not None:
            return found[-latest:] if latest > 0 else []
        return found

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def tasks_created(self, api_key: str | None = None) -> list[str]:
        """Ids of the tasks created (answered or not), in order."""
        return [
            entry.task_id
            for entry in self.entries(operation=Operation.CREATE, api_key=api_key)
            if entry.task_id is not None
        ]

    # -- checks: each returns what is wrong, one line per problem --------------------------

    def polls_faster_than(self, per_second: float) -> list[str]:
        """Reads of one task closer together than 1/per_second."""
        return _messages(self.polls_too_fast_findings(per_second))

    def polls_after_terminal(self) -> list[str]:
        """Reads of a task after a read had already shown it finished."""
        return _messages(self.polls_after_terminal_findings())

    def retry_after_ignored(self) -> list[str]:
        """Calls made by a key sooner after a 429 than its Retry-After allowed.

        Only 429s that carried Retry-After count, and the fake sends it only when asked to
        (`Limits(retry_after=True)`, `mockscope serve --retry-after`): by default, as the live
        service, it sends none, and this check finds nothing.
        """
        return _messages(self.retry_after_ignored_findings())

    def duplicate_submissions(self) -> list[str]:
        """The same work created more than once by one key."""
        return _messages(self.duplicate_submission_findings())

    def unpolled_tasks(self) -> list[str]:
        """Tasks created and never read afterwards (a synchronous call's answer is its read)."""
        return _messages(self.unpolled_task_findings())

    def client_problems(self, max_polls_per_second: float = 1.0) -> list[str]:
        """Every check at once, for one assertion over a whole test."""
        return _messages(self.findings(max_polls_per_second))

    def assert_well_behaved_client(self, max_polls_per_second: float = 1.0) -> None:
        problems = self.client_problems(max_polls_per_second)
        if problems:
            raise AssertionError("the client misbehaved:\n  " + "\n  ".join(problems))

    # -- the same checks as findings: each problem with the entries that show it -----------

    def findings(self, max_polls_per_second: float = 1.0) -> list[Finding]:
        """Every check's findings, in the order of CHECKS.

        The entries are read once for all the checks, and the answer is kept until the journal
        changes: an inspector asks every second, mostly of a journal that has not moved.
        """
        key = (self._seq, len(self._entries), max_polls_per_second)
        kept = self._findings
        if kept is not None and kept[0] == key:
            return list(kept[1])
        entries = self.entries()
        found = [
            *_polls_too_fast(entries, max_polls_per_second),
            *_polls_after_terminal(entries),
            *_retry_after_ignored(entries),
            *_duplicate_submissions(entries),
            *_unpolled_tasks(entries),
        ]
        self._findings = (key, tuple(found))
        return found

    def polls_too_fast_findings(self, per_second: float) -> list[Finding]:
        return _polls_too_fast(self.entries(), per_second)

    def polls_after_terminal_findings(self) -> list[Finding]:
        return _polls_after_terminal(self.entries())

    def retry_after_ignored_findings(self) -> list[Finding]:
        return _retry_after_ignored(self.entries())

    def duplicate_submission_findings(self) -> list[Finding]:
        return _duplicate_submissions(self.entries())

    def unpolled_task_findings(self) -> list[Finding]:
        return _unpolled_tasks(self.entries())


def _polls_too_fast(entries: list[Entry], per_second: float) -> list[Finding]:
    gap_ms = 1000 / per_second
    found = []
    for task_id, reads in _reads_by_task(_of(entries, Operation.GET)).items():
        for earlier, later in itertools.pairwise(reads):
            if later.time_ms - earlier.time_ms < gap_ms:
                message = (
                    f"task {task_id} was read {later.time_ms - earlier.time_ms} ms after the "
                    f"previous read (faster than {per_second:g} per second)"
                )
                found.append(Finding("polls_too_fast", message, task_id, (earlier.seq, later.seq)))
    return found


def _polls_after_terminal(entries: list[Entry]) -> list[Finding]:
    found = []
    for task_id, reads in _reads_by_task(_of(entries, Operation.GET)).items():
        finished = next((k for k, read in enumerate(reads) if _terminal(read)), None)
        if finished is not None and finished + 1 < len(reads):
            extra = reads[finished + 1 :]
            message = (
                f"task {task_id} was read {len(extra)} more time(s) after it showed "
                f"{reads[finished].task_status}"
            )
            seqs = tuple(read.seq for read in reads[finished:])
            found.append(Finding("polls_after_terminal", message, task_id, seqs))
    return found


def _retry_after_ignored(entries: list[Entry]) -> list[Finding]:
    found = []
    throttled: dict[tuple[str | None, Operation], Entry] = {}
    for entry in entries:
        key = (entry.api_key, entry.operation)
        refused = throttled.get(key)
        if refused is not None and refused.retry_after_s is not None:
            waited = entry.time_ms - refused.time_ms
            if waited < refused.retry_after_s * 1000:
                message = (
                    f"{entry.operation} by {entry.api_key} came {waited} ms after a 429 that "
                    f"said Retry-After: {refused.retry_after_s}"
                )
                seqs = (refused.seq, entry.seq)
                found.append(
                    Finding("retry_after_ignored", message, entry.task_id, seqs, entry.api_key)
                )
            del throttled[key]
        if entry.status == 429:
            throttled[key] = entry
    return found


def _duplicate_submissions(entries: list[Entry]) -> list[Finding]:
    created: dict[tuple[str | None, str], list[Entry]] = defaultdict(list)
    for entry in _of(entries, Operation.CREATE):
        if entry.work is not None and entry.task_id is not None:
            created[(entry.api_key, entry.work)].append(entry)
    found = []
    for (api_key, _), same in created.items():
        if len(same) > 1:
            ids = ", ".join(str(entry.task_id) for entry in same)
            message = f"{api_key} submitted the same work {len(same)} times: tasks {ids}"
            seqs = tuple(entry.seq for entry in same)
            found.append(Finding("duplicate_submissions", message, same[0].task_id, seqs, api_key))
    return found


def _unpolled_tasks(entries: list[Entry]) -> list[Finding]:
    read = {entry.task_id for entry in _of(entries, Operation.GET)}
    return [
        Finding(
            "unpolled_tasks",
            f"task {entry.task_id} was created and never read",
            entry.task_id,
            (entry.seq,),
        )
        for entry in _of(entries, Operation.CREATE)
        if entry.task_id is not None and entry.task_status is None and entry.task_id not in read
    ]


def _of(entries: list[Entry], operation: Operation) -> list[Entry]:
    return [entry for entry in entries if entry.operation is operation]


def _messages(found: list[Finding]) -> list[str]:
    return [finding.message for finding in found]


def _entry(raw: tuple[object, ...]) -> Entry:
    work = raw[10]
    if isinstance(work, TaskRequest):
        # Digested here rather than on every create: the digest leaves out what a create
        # changes afterwards (the rewritten prompt), so it reads the same now as then.
        raw = (*raw[:10], work.digest(), *raw[11:])
    return Entry(*raw)  # type: ignore[arg-type]


def _terminal(entry: Entry) -> bool:
    # TaskStatus is a str enum: a recorded status string is found in the set as it is.
    return entry.status == 200 and entry.task_status in TERMINAL_STATUSES


def _reads_by_task(entries: Iterable[Entry]) -> dict[str, list[Entry]]:
    reads: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        if entry.task_id is not None and entry.status != 429:
            reads[entry.task_id].append(entry)
    return reads
