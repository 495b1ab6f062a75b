from __future__ import annotations

import re
import uuid

from mockscope.domain.ids import IdSource

UUID_SHAPE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_task_ids_are_uuid4() -> None:
    ids = IdSource(seed=1)
    for _ in range(100):
        parsed = uuid.UUID(ids.task_id())
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_request_ids_are_uuid_shaped() -> None:
    ids = IdSource(seed=1)
    assert all(UUID_SHAPE.match(ids.request_id()) for _ in range(100))


def test_a_seed_reproduces_the_sequence_and_restart_replays_it() -> None:
    first, second = IdSource(seed=42), IdSource(seed=42)
    run = [first.task_id(), first.request_id(), first.image_seed()]
    assert run == [second.task_id(), second.request_id(), second.image_seed()]
    first.restart()
    assert first.task_id() == run[0]


def test_different_seeds_differ_and_no_seed_is_random() -> None:
    assert IdSource(seed=1).task_id() != IdSource(seed=2).task_id()
    assert IdSource().task_id() != IdSource().task_id()
