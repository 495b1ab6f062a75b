"""Valid requests generated from the request schema, submitted through the reference client.

Every state a task is seen in, from the submit's answer to the end of `wait`, must keep the
documented lifecycle: the status only moves forward (PENDING, RUNNING, then one terminal status
that stays), times are ordered and do not change once set, the metrics add up to TOTAL = n,
`usage.image_count` counts the images made, and a SUCCEEDED task has n results.

Generated options the client takes are passed as they are (an unsupported `size` is valid on
the wire and makes the task end FAILED, which is a lifecycle too); reference images are left
out, since a generated string is no image the service could fetch. Live, each example makes
one image (n=1), the run is capped by the image budget, and nothing is shrunk or replayed.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st

from contract_tests.cases import CREATE_BODY
from contract_tests.support import CREATE_PATH, SCHEMAS, Target, openapi, poll_until_terminal
from wanx_client import Client, Task, TaskStatus

#: Examples on the fake: each one is a task followed to its end on the fake's clock.
FAKE_EXAMPLES = 30
#: Live examples are capped at this and at the images left in the budget.
LIVE_EXAMPLES = 1
DEFAULT_N = 4  # the service's default when `n` is not sent (schemas/task-create-request.json)
RANK = {
    TaskStatus.PENDING: 0,
    TaskStatus.RUNNING: 1,
    TaskStatus.SUSPENDED: 1,  # a suspended task resumes RUNNING: the same stage
    TaskStatus.SUCCEEDED: 2,
    TaskStatus.FAILED: 2,
    TaskStatus.CANCELED: 2,
    TaskStatus.UNKNOWN: 2,
}
CLIENT_OPTIONS = ("style", "size", "n", "seed", "ref_strength", "ref_mode")


def option_values(fragment: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of one `parameters` option, from its fragment of the request schema."""
    if "enum" in fragment:
        return st.sampled_from(fragment["enum"])
    if fragment.get("type") == "integer":
        return st.integers(fragment.get("minimum"), fragment.get("maximum"))
    if fragment.get("type") == "number":
        return st.floats(fragment.get("minimum"), fragment.get("maximum"))
    # A string such as `size`: mostly the documented examples, sometimes anything at all.
    documented = st.sampled_from(fragment.get("examples") or [""])
    return st.one_of(documented, documented, documented, st.text(max_size=12))


def _parameters() -> st.SearchStrategy[dict[str, Any]]:
    schema = json.loads((SCHEMAS / "task-create-request.json").read_text(encoding="utf-8"))
    options = schema["properties"]["parameters"]["properties"]
    return st.fixed_dictionaries(
        {}, optional={name: option_values(options[name]) for name in CLIENT_OPTIONS}
    )


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """A valid create body: schemathesis draws it from the schema, and the documented options
    are drawn from their own schema fragments too (the generic generator seldom sets them)."""
    case = draw(openapi()[CREATE_PATH]["POST"].as_strategy())
    body: dict[str, Any] = dict(case.body) if isinstance(case.body, dict) else {}
    hypothesis.assume("input" in body)
    generated = body.get("parameters")
    parameters = dict(generated) if isinstance(generated, dict) else {}
    body["parameters"] = {**parameters, **draw(_parameters())}
    assert CREATE_BODY.is_valid(body), body
    return body


def submit_arguments(body: dict[str, Any]) -> dict[str, Any]:
    """What of a generated body the reference client can send (its documented options)."""
    source = body["input"]
    arguments: dict[str, Any] = {"prompt": source["prompt"]}
    if isinstance(source.get("negative_prompt"), str):
        arguments["negative_prompt"] = source["negative_prompt"]
    parameters = body.get("parameters")
    if isinstance(parameters, dict):
        arguments.update({k: parameters[k] for k in CLIENT_OPTIONS if k in parameters})
    return arguments


class Lifecycle:
    """Checks each state of one task against the ones seen before it."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.seen: list[Task] = []

    def see(self, task: Task) -> None:
        if self.seen:
            self._follows(self.seen[-1], task)
        self._consistent(task)
        self.seen.append(task)

    def _follows(self, before: Task, now: Task) -> None:
        assert now.task_id == before.task_id
        assert RANK[now.status] >= RANK[before.status], f"{before.status} -> {now.status}"
        if before.is_terminal:
            assert now.status == before.status, f"terminal {before.status} -> {now.status}"
        for name in ("submit_time", "end_time"):
            earlier, later = getattr(before, name), getattr(now, name)
            if earlier is not None:
                assert later == earlier, f"{name} changed: {earlier} -> {later}"
        if before.status is not TaskStatus.PENDING and before.scheduled_time is not None:
            # A waiting task's start may move (the queue ahead changed); a started one's not.
            assert now.scheduled_time == before.scheduled_time

    def _consistent(self, task: Task) -> None:
        times: list[datetime] = [
            t for t in (task.submit_time, task.scheduled_time, task.end_time) if t is not None
        ]
        assert times == sorted(times), f"times out of order: {times}"
        if task.status in (TaskStatus.RUNNING, TaskStatus.SUCCEEDED):
            assert task.scheduled_time is not None, f"{task.status} without scheduled_time"
        if task.status in (TaskStatus.SUCCEEDED, TaskStatus.FAILED):
            assert task.end_time is not None, f"{task.status} without end_time"
        metrics = task.metrics
        if metrics is not None:
            assert metrics.total == self.n, f"TOTAL {metrics.total}, n={self.n}"
            assert metrics.succeeded + metrics.failed <= metrics.total
            if task.status in (TaskStatus.SUCCEEDED, TaskStatus.FAILED):
                assert metrics.succeeded + metrics.failed == metrics.total, metrics
        if task.status is TaskStatus.SUCCEEDED:
            assert len(task.results) == self.n, f"{len(task.results)} results, n={self.n}"
            assert task.images, "SUCCEEDED without a single image"
            assert task.usage is not None, "SUCCEEDED without usage"
            assert task.usage.image_count == len(task.images)
            if metrics is not None:
                assert metrics.succeeded == len(task.images)
                assert metrics.failed == len(task.failures)
        if task.status is TaskStatus.FAILED:
            assert task.code, "FAILED without a code"
            assert not task.images
            assert task.usage is None or task.usage.image_count == 0


def follow(client: Client, target: Target, arguments: dict[str, Any]) -> Task:
    """Submit, read until terminal, then `wait`: every state seen goes through Lifecycle."""
    target.pace(create=True)
    submitted = client.submit(**arguments)
    requested = arguments.get("n")
    lifecycle = Lifecycle(requested if requested is not None else DEFAULT_N)
    lifecycle.see(submitted)
    assert submitted.status is TaskStatus.PENDING
    for task in poll_until_terminal(lambda: client.get(submitted.task_id), target.sleep):
        lifecycle.see(task)
    assert lifecycle.seen[-1].is_terminal, "still not finished after 30 minutes"
    final = client.wait(submitted)
    lifecycle.see(final)
    return final


def test_generated_tasks_keep_the_lifecycle(fresh_target: Target, tmp_path: Path) -> None:
    # Fresh on the fake: tasks left queued by other tests would make these wait for hours.
    target = fresh_target
    examples = FAKE_EXAMPLES
    options: dict[str, Any] = {}
    if target.live:
        left = target.budget.left or 0
        examples = min(LIVE_EXAMPLES, left)
        if examples == 0:
            pytest.skip("live image budget spent")
        # Each example bills an image: no shrinking, no replays from the example database.
        options = {"phases": [hypothesis.Phase.generate], "database": None}
    downloaded: list[Path] = []

    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        **options,
    )
    @hypothesis.given(body=requests())
    def run(body: dict[str, Any]) -> None:
        arguments = submit_arguments(body)
        # The client refuses a blank prompt itself (nothing would be sent): not this test's case.
        hypothesis.assume(arguments["prompt"].strip())
        if "n" in arguments or target.live:
            arguments["n"] = target.images(arguments.get("n"))
        if not target.may_create():
            pytest.skip("live image budget spent")
        with target.client() as client:
            final = follow(client, target, arguments)
            hypothesis.event("ended", str(final.status))
            if final.status is TaskStatus.SUCCEEDED and not downloaded:
                # One download per run: the result URL serves the PNG the task promised.
                image = client.download(final.images[0], tmp_path)
                assert image.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
                downloaded.append(image)

    run()
