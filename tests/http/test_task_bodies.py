"""Reused task bodies are byte for byte what serialising the view afresh would give."""

from __future__ import annotations

import orjson
import pytest

from mockscope import Backend, BackendConfig, Limits, ManualClock
from mockscope.domain.identity import Caller
from mockscope.domain.tasks import TaskRequest
from mockscope.http.serialize import task_body
from mockscope.http.task_bodies import TaskBodies
from mockscope.scenarios.reading import checked_rule


def test_every_state_of_a_task_reads_as_a_fresh_serialisation() -> None:
    clock = ManualClock()
    backend = Backend(BackendConfig(seed=1, limits=Limits.unlimited()), clock)
    caller, api = Caller("a", "sk-a"), backend.api
    partial = checked_rule("partial; failed=1; message=m")
    tasks = [
        api.create_task(caller, TaskRequest(model="wanx-v1", prompt="p", n=2)),
        api.create_task(caller, TaskRequest(model="wanx-v1", prompt="p", n=3), own_rule=partial),
        api.create_task(caller, TaskRequest(model="wanx-v1", prompt="p", size="1*1")),
    ]
    task_ids = [task.task_id for task in tasks]
    objects = backend.objects
    bodies = TaskBodies(objects, capacity=2)
    seen = set()
    for _ in range(40):
        for task_id in [*task_ids, "unknown-id"]:
            view = api.get_task(caller, task_id)
            for request_id, base in (("r-1", "http://a"), ("r-2", "http://b")):
                fresh = orjson.dumps(task_body(view, request_id, lambda base=base: base, objects))
                assert bodies.render(view, request_id, lambda base=base: base) == fresh
                seen.add(view.status)
        clock.advance(2)
    assert {"PENDING", "RUNNING", "SUCCEEDED", "FAILED", "UNKNOWN"} <= set(seen)


def test_result_urls_are_signed_once_per_task_body_not_per_poll(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = ManualClock()
    backend = Backend(BackendConfig(seed=1, limits=Limits.unlimited()), clock)
    caller, api = Caller("a", "sk-a"), backend.api
    task_id = api.create_task(caller, TaskRequest(model="wanx-v1", prompt="p", n=4)).task_id
    clock.advance(60)
    signed: list[tuple[str, int]] = []
    sign = backend.objects.signed_path

    def counting(task: str, index: int, end_ms: int, verb: str = "GET") -> str:
        signed.append((task, index))
        return sign(task, index, end_ms, verb)

    monkeypatch.setattr(backend.objects, "signed_path", counting)
    bodies = TaskBodies(backend.objects)
    first = bodies.render(api.get_task(caller, task_id), "r-1", lambda: "http://a")
    for poll in range(50):
        again = bodies.render(api.get_task(caller, task_id), f"r-{poll}", lambda: "http://a")
        assert orjson.loads(again)["output"] == orjson.loads(first)["output"]
    assert signed == [(task_id, k) for k in range(4)], "four images, four signatures, once"
