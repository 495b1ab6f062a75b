"""The chaos test: 100 tasks through transient errors, dropped connections, lost answers and
throttling, every one accounted for and none submitted twice behind the caller's back."""

from __future__ import annotations

from collections import Counter
from typing import Any

from mockscope import Limits, ManualClock, Timing
from tests.support import API_KEY, VirtualTime, validated_server
from wanx_client import Client, DashScopeError, OutcomeUnknown, Task, TaskStatus

JOBS = 100
BATCH = 5  # submitted back to back, so the live 2-per-second limit bites
#: The invariants hold for any seed; this one also shows every kind of trouble at least once.
SEED = 2024
RULES: list[dict[str, Any]] = [
    # What happens to the tasks themselves.
    {
        "outcome": "failed",
        "code": "DataInspectionFailed",
        "probability": 0.05,
        "match": {"operation": "create"},
    },
    {"outcome": "partial", "failed": 1, "probability": 0.1, "match": {"operation": "create"}},
    # What happens to the requests: the first rule that fires wins.
    {"outcome": "error", "code": "ModelUnavailable", "probability": 0.1},
    {"outcome": "reset", "probability": 0.05},
    {"outcome": "lost", "via": "reset", "probability": 0.04, "match": {"operation": "create"}},
    {"outcome": "lost", "via": "error", "probability": 0.03, "match": {"operation": "create"}},
    {"outcome": "error", "status": 429, "code": "Throttling.RateQuota", "probability": 0.05},
]


def test_a_hundred_tasks_through_chaos_are_all_accounted_for() -> None:
    clock = ManualClock()
    vtime = VirtualTime(clock)
    scenario = {"seed": SEED, "rules": RULES}
    timing = Timing(queue_ms=14, run_base_ms=2_000, run_per_image_ms=500)
    # Retry-After on (the live service sends none): the client is shown to honour it when sent.
    limits = Limits(retry_after=True)
    with validated_server(
        clock=clock, seed=11, timing=timing, scenario=scenario, limits=limits
    ) as server:
        finished: dict[int, Task] = {}
        unknown: dict[int, OutcomeUnknown] = {}
        refused = Counter[int]()
        with Client(
            api_key=API_KEY, base_url=server.base_http_api_url, sleep=vtime.sleep, clock=vtime.time
        ) as client:
            for first in range(0, JOBS, BATCH):
                submitted: dict[int, Task] = {}
                for job in range(first, first + BATCH):
                    while job not in submitted and job not in unknown:
                        try:
                            submitted[job] = client.submit(f"chaos job {job}", n=2)
                        except OutcomeUnknown as error:
                            unknown[job] = error  # the caller decides; here: count it
                        except DashScopeError:
                            # Anything else means nothing was created: safe to submit again.
                            refused[job] += 1
                            assert refused[job] < 5
                for job, task in submitted.items():
                    finished[job] = client.wait(task, timeout=3600)

        # Every submission ends as succeeded, failed with its code, or outcome-unknown.
        assert sorted([*finished, *unknown]) == list(range(JOBS))
        outcomes = Counter(task.status for task in finished.values())
        assert set(outcomes) <= {TaskStatus.SUCCEEDED, TaskStatus.FAILED}
        for task in finished.values():
            if task.status is TaskStatus.FAILED:
                assert task.code == "DataInspectionFailed"
            else:
                assert task.images

        # The server created exactly the tasks the client knows of, plus those whose submit
        # answer was lost; each of those belongs to a job reported outcome-unknown, once.
        created = server.journal.tasks_created()
        assert len(created) == len(set(created)) == len(list(server.tasks()))
        known = {task.task_id for task in finished.values()}
        assert known <= set(created)
        prompts = {task.task_id: task.request.prompt for task in server.tasks()}
        unknown_created = [prompts[task_id] for task_id in created if task_id not in known]
        assert all(prompt.startswith("chaos job ") for prompt in unknown_created)
        jobs_behind_them = [int(prompt.rsplit(" ", 1)[1]) for prompt in unknown_created]
        assert set(jobs_behind_them) <= set(unknown)
        assert len(set(jobs_behind_them)) == len(jobs_behind_them)
        assert len(created) == (
            outcomes[TaskStatus.SUCCEEDED] + outcomes[TaskStatus.FAILED] + len(unknown_created)
        )

        journal = server.journal
        assert journal.duplicate_submissions() == []
        assert journal.retry_after_ignored() == []
        assert journal.polls_faster_than(20) == []
        assert journal.polls_faster_than(1) == []
        assert journal.polls_after_terminal() == []

        # The chaos really happened: every kind of trouble showed up.
        creates = Counter(entry.status for entry in journal.entries(operation="create"))
        reads = Counter(entry.status for entry in journal.entries(operation="get"))
        assert creates[429]
        assert creates[503]
        assert creates[0]
        assert creates[500]
        assert reads[429]
        assert reads[503]
        assert reads[0]
        assert any(entry.retry_after_s for entry in journal.entries(operation="create"))
        assert outcomes[TaskStatus.FAILED] > 0
        assert any(task.failures for task in finished.values())
        assert unknown_created
        assert len(unknown) > len(unknown_created)
