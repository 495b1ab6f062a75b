"""Task bodies for repeated reads: a poll mostly repeats the last answer but for its request id.

Clients poll a task many times while it sits in one state, so the serialised body of each
recently read task is kept (bounded) and reused while the task's state is unchanged. Result
URLs are signed when a body is made, so a finished task's URLs are signed once, not per poll
(they follow from the task and its end time alone).
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from mockscope.domain.objects import ResultObjects
from mockscope.domain.tasks import TaskView
from mockscope.http.serialize import task_body

_REQUEST_ID_HEAD = b'{"request_id":"'


class TaskBodies:
    """The last body of up to `capacity` tasks, keyed by everything that shapes it."""

    def __init__(self, objects: ResultObjects, capacity: int = 4096) -> None:
        self._objects = objects
        self._capacity = capacity
        self._bodies: dict[str, tuple[tuple[object, ...], bytes]] = {}

    def render(self, view: TaskView, request_id: str, base_url: Callable[[], str]) -> bytes:
        """The JSON body of a task read, as `serialize.task_body` would write it."""
        base = base_url() if view.results else ""
        # A task's results and failure follow from its outcome, fixed at creation, so the
        # counts stand in for them here.
        key = (
            view.status,
            view.submit_ms,
            view.scheduled_ms,
            view.end_ms,
            view.total,
            view.succeeded,
            view.failed,
            base,
        )
        cached = self._bodies.get(view.task_id)
        if cached is not None and cached[0] == key:
            rest = cached[1]
        else:
            body = task_body(view, "", lambda: base, self._objects)
            del body["request_id"]
            rest = orjson.dumps(body)[1:]
            if len(self._bodies) >= self._capacity:
                self._bodies.clear()
            self._bodies[view.task_id] = (key, rest)
        return b"".join((_REQUEST_ID_HEAD, request_id.encode(), b'",', rest))
