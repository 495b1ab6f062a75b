"""Properties: the backoff policy, the wait deadline, Retry-After, and parsing every body the
schemas allow (generated per status by hand-written strategies, each checked against the schema
first), its re-serialisation, and garbage never escaping as anything but ResponseError."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mockscope import schemas
from wanx_client import Backoff, ResponseError, Task, WaitTimeout, parse_task, retry_after_seconds
from wanx_client._models import BEIJING, format_task_time
from wanx_client._parse import parse_page
from wanx_client._polling import Poller

TASK_SCHEMA = schemas.validator("task.json")
LIST_SCHEMA = schemas.validator("task-list.json")

# -- the backoff policy -------------------------------------------------------------------------


@st.composite
def backoffs(draw: st.DrawFn) -> Backoff:
    initial = draw(st.floats(0.01, 10))
    return Backoff(
        initial=initial,
        multiplier=draw(st.floats(1, 4)),
        repeat=draw(st.integers(1, 5)),
        maximum=draw(st.floats(initial, 60)),
        min_interval=draw(st.floats(0.001, 2)),
    )


@given(backoffs())
def test_delays_never_shrink_are_capped_and_never_below_the_rate_limit(policy: Backoff) -> None:
    delays = [policy.delay(attempt) for attempt in range(200)]
    assert all(a <= b for a, b in itertools.pairwise(delays))
    assert all(policy.min_interval <= d <= max(policy.maximum, policy.min_interval) for d in delays)
    assert delays[0] == max(policy.initial, policy.min_interval)


@given(backoffs(), st.integers(0, 10_000), st.floats(0, 3600))
def test_retry_after_always_wins_over_a_shorter_delay(
    policy: Backoff, attempt: int, retry_after: float
) -> None:
    delay = policy.delay(attempt, retry_after)
    assert delay >= retry_after
    assert delay == max(policy.delay(attempt), retry_after)


def test_the_default_policy_is_one_one_two_two_four_four_then_five() -> None:
    policy = Backoff()
    assert [policy.delay(k) for k in range(9)] == [1, 1, 2, 2, 4, 4, 5, 5, 5]
    assert policy.min_interval == 1 / 20


@given(
    backoffs(),
    st.floats(0, 600),
    st.lists(st.one_of(st.none(), st.floats(0, 120)), min_size=1, max_size=400),
)
def test_wait_never_polls_too_fast_nor_sleeps_past_its_deadline(
    policy: Backoff, timeout: float, retry_afters: list[float | None]
) -> None:
    poller = Poller("t", policy, timeout, now=0.0)
    now, previous_poll = 0.0, 0.0
    for retry_after in retry_afters:
        poller.failed(ResponseError(None, None, "x"))
        try:
            delay = poller.next_delay(now, retry_after)
        except WaitTimeout:
            # Given up only when the next poll could not come in time.
            assert timeout - now < policy.min_interval or (retry_after or 0) > timeout - now
            return
        assert delay >= policy.min_interval
        assert delay >= (retry_after or 0)
        now += delay
        assert now <= timeout + 1e-9, "never sleeps past the deadline"
        assert now - previous_poll >= policy.min_interval - 1e-9
        previous_poll = now


@given(st.integers(0, 10**6))
def test_retry_after_in_seconds(seconds: int) -> None:
    assert retry_after_seconds({"Retry-After": str(seconds)}) == seconds
    assert retry_after_seconds({"retry-after-ms": str(seconds)}) == seconds / 1000


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
    st.integers(0, 10**5),
)
def test_retry_after_as_an_http_date(moment: datetime, seconds: int) -> None:
    now = moment.replace(microsecond=0, tzinfo=UTC)
    headers = {
        "Retry-After": format_datetime(now + timedelta(seconds=seconds), usegmt=True),
        "Date": format_datetime(now, usegmt=True),
    }
    assert retry_after_seconds(headers) == seconds


@given(st.text())
def test_an_unreadable_retry_after_is_ignored(text: str) -> None:
    value = retry_after_seconds({"Retry-After": text})
    assert value is None or value >= 0


# -- bodies the schemas allow -------------------------------------------------------------------

KNOWN = {
    "task_id",
    "task_status",
    "submit_time",
    "scheduled_time",
    "end_time",
    "code",
    "message",
    "task_metrics",
    "results",
    "choices",
    "url",
    "usage",
    "output",
    "request_id",
    "image_count",
    "TOTAL",
    "SUCCEEDED",
    "FAILED",
}
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text())
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(), inner, max_size=3)
    ),
    max_leaves=8,
)
extras = st.dictionaries(
    st.text(max_size=8).filter(lambda k: k not in KNOWN), json_values, max_size=2
)
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda moment: format_task_time(moment.replace(tzinfo=BEIJING))
)
counts = st.integers(0, 2**40)
metrics = st.builds(
    lambda total, ok, failed, more: {"TOTAL": total, "SUCCEEDED": ok, "FAILED": failed, **more},
    counts,
    counts,
    counts,
    extras,
)
image = st.builds(lambda url, more: {**more, "url": url}, st.text(min_size=1), extras)
failure = st.builds(
    lambda code, message, more: {**more, "code": code, "message": message},
    st.text(min_size=1),
    st.text(),
    extras,
)
# An entry may carry both shapes; one with an empty url still counts as a failure.
both = st.builds(
    lambda ok, bad, url: {**ok, **bad, "url": url}, image, failure, st.sampled_from(["", "u"])
)
result = st.one_of(image, failure, both)
usage = st.builds(lambda n, more: {**more, "image_count": n}, counts, extras)
COMMON = {
    "submit_time": times,
    "scheduled_time": times,
    "end_time": times,
    "code": st.text(min_size=1),
    "message": st.text(),
    "task_metrics": metrics,
    "results": st.lists(result, max_size=4),
}
REQUIRED = {
    "PENDING": ("submit_time", "task_metrics"),
    "RUNNING": ("submit_time", "scheduled_time", "task_metrics"),
    "SUSPENDED": ("submit_time", "scheduled_time", "task_metrics"),
    "SUCCEEDED": ("submit_time", "scheduled_time", "end_time", "results", "task_metrics"),
    "FAILED": ("code", "message"),
    "CANCELED": ("submit_time",),
    "UNKNOWN": (),
}
FORBIDDEN = {
    "PENDING": ("scheduled_time", "end_time", "results"),
    "CANCELED": ("results",),
}


@st.composite
def task_bodies(draw: st.DrawFn) -> dict[str, Any]:
    status = draw(st.sampled_from(sorted(REQUIRED)))
    required = dict.fromkeys(REQUIRED[status])
    allowed = {k: v for k, v in COMMON.items() if k not in FORBIDDEN.get(status, ())}
    if status == "SUCCEEDED":
        # Non-empty, with at least one image somewhere.
        allowed["results"] = st.tuples(image, st.lists(result, max_size=3)).flatmap(
            lambda drawn: st.permutations([drawn[0], *drawn[1]])
        )
    fields = draw(
        st.fixed_dictionaries(
            {name: allowed[name] for name in required},
            optional={name: strategy for name, strategy in allowed.items() if name not in required},
        )
    )
    output = {**draw(extras), "task_id": draw(st.text(min_size=1)), "task_status": status, **fields}
    body: dict[str, Any] = {**draw(extras), "request_id": draw(st.text()), "output": output}
    if status == "SUCCEEDED" or draw(st.booleans()):
        body["usage"] = draw(usage)
    return body


#: Examples a parsing property: each draws a whole task body, so a few dozen already cover every
#: status, optional field and extra key the strategy makes; more mostly repeats them.
EXAMPLES = 60


@settings(max_examples=EXAMPLES, deadline=None)
@given(task_bodies())
def test_every_body_the_schema_allows_parses(body: dict[str, Any]) -> None:
    assert TASK_SCHEMA.is_valid(body), "the strategy stays inside schemas/task.json"
    task = parse_task(json.loads(json.dumps(body)))
    output = body["output"]
    assert (task.task_id, task.status.value) == (output["task_id"], output["task_status"])
    assert task.request_id == body["request_id"]
    assert len(task.results) == len(output.get("results", []))
    assert (task.usage is None) == ("usage" not in body)
    if "submit_time" in output:
        assert task.submit_time is not None
        assert format_task_time(task.submit_time) == output["submit_time"]


@settings(max_examples=EXAMPLES, deadline=None)
@given(task_bodies())
def test_every_parsed_task_reserialises_to_a_valid_body(body: dict[str, Any]) -> None:
    task = parse_task(body)
    wire = task.to_wire()
    errors = [error.message for error in TASK_SCHEMA.iter_errors(wire)]
    assert errors == [], errors
    assert parse_task(json.loads(json.dumps(wire))) == task


@given(json_values)
def test_any_json_is_a_task_or_a_response_error(value: object) -> None:
    for body in (value, {"output": value}, {"request_id": "r", "output": {"task_status": value}}):
        try:
            parsed = parse_task(body)
        except ResponseError:
            continue
        assert isinstance(parsed, Task)


@given(task_bodies(), st.sampled_from(sorted(KNOWN - {"output"})), json_values)
def test_a_spoiled_field_is_a_response_error_or_still_a_task(
    body: dict[str, Any], name: str, value: object
) -> None:
    body["output"][name] = value
    try:
        parsed: Task | ResponseError = parse_task(body)
    except ResponseError as error:
        parsed = error
    assert isinstance(parsed, Task) or "Unexpected answer" in str(parsed)


# -- list pages --------------------------------------------------------------------------------

epoch_ms = st.integers(0, 4102444800000)
listed = st.fixed_dictionaries(
    {
        "api_key_id": st.text(),
        "caller_parent_id": st.text(),
        "caller_uid": st.text(),
        "gmt_create": epoch_ms,
        "model_name": st.text(),
        "region": st.text(),
        "request_id": st.text(),
        "status": st.sampled_from(sorted(REQUIRED)),
        "task_id": st.text(min_size=1),
        "user_api_unique_key": st.text(),
    },
    optional={"start_time": epoch_ms, "end_time": epoch_ms},
)
pages = st.fixed_dictionaries(
    {
        "total": st.integers(0, 1000),
        "data": st.lists(listed, max_size=5),
        "total_page": st.integers(0, 100),
        "page_no": st.integers(1, 100),
        "page_size": st.integers(1, 100),
        "request_id": st.text(),
    }
)


@settings(deadline=None)
@given(pages)
def test_every_list_page_the_schema_allows_parses(page: dict[str, Any]) -> None:
    assume(LIST_SCHEMA.is_valid(page))
    parsed = parse_page(page)
    assert [task.task_id for task in parsed.tasks] == [item["task_id"] for item in page["data"]]
    for task, item in zip(parsed.tasks, page["data"], strict=True):
        assert task.created_at is not None
        assert round(task.created_at.timestamp() * 1000) == item["gmt_create"]
        assert (task.ended_at is None) == ("end_time" not in item)
