from __future__ import annotations

import re
import uuid

from mockscope.domain.ids import REQUEST_ID_PATTERN, IdSource

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


def test_request_ids_are_shaped_like_the_recorded_ones() -> None:
    # Every request id recorded from the live service has a 9 where a UUID's version goes and
    # the RFC 4122 variant in the fourth group (fact sheet §4).
    for recorded in (
        "33da8e6b-1309-9a44-be83-352165959608",
        "85c25460-6440-91a7-b14e-2978fe60bd0f",
        "4d496c94-1389-9ca9-a92a-3e732f675686",
        "a1c0561c-1dfe-98a6-a62f-983577b8bc5e",
        "b744f4f8-1a9c-9c6b-950d-0d327e331f2f",
    ):
        assert REQUEST_ID_PATTERN.match(recorded), recorded
    ids = IdSource(seed=1)
    made = [ids.request_id() for _ in range(1000)]
    assert all(REQUEST_ID_PATTERN.match(request_id) for request_id in made)
    assert {request_id[19] for request_id in made} == set("89ab"), "the variant nibble varies"
    assert len(set(made)) == len(made)
    assert not REQUEST_ID_PATTERN.match(IdSource(seed=1).task_id()), "task ids stay UUIDv4"


def test_a_seed_reproduces_the_sequence_and_restart_replays_it() -> None:
    first, second = IdSource(seed=42), IdSource(seed=42)
    run = [first.task_id(), first.request_id(), first.image_seed()]
    assert run == [second.task_id(), second.request_id(), second.image_seed()]
    first.restart()
    assert first.task_id() == run[0]


def test_different_seeds_differ_and_no_seed_is_random() -> None:
    assert IdSource(seed=1).task_id() != IdSource(seed=2).task_id()
    assert IdSource().task_id() != IdSource().task_id()
