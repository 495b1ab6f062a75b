"""What the official SDK's `ImageSynthesis.call()` does under each scenario outcome: which return
a response (with `status_code` and `code`, or a task with its own `code`) and which raise. The
README's table ("What the official SDK does with them") says the same, row by row."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from dashscope import ImageSynthesis
from dashscope.common.error import InvalidTask

from mockscope import MockServer
from mockscope.sdk import DashScopeBinding, bind_dashscope
from tests.readme_shell import TEXT

CREATE = {"operation": "create"}
GET = {"operation": "get"}

#: rule -> what call() returns: (status_code, code, task_status, task's own code)
RETURNS: list[tuple[dict[str, Any], tuple[int, str | None, str | None, str | None]]] = [
    (
        {"outcome": "failed", "code": "DataInspectionFailed"},
        (200, None, "FAILED", "DataInspectionFailed"),
    ),
    ({"outcome": "partial", "failed": 1}, (200, None, "SUCCEEDED", None)),
    ({"outcome": "suspended", "after": 1, "for": 40}, (200, None, "SUCCEEDED", None)),
    ({"outcome": "timing", "queue": 10, "run": 300}, (200, None, "SUCCEEDED", None)),
    ({"outcome": "polls", "running": 2, "done": 4}, (200, None, "SUCCEEDED", None)),
    (
        {"outcome": "error", "code": "ModelUnavailable", "match": GET, "times": {"first": 2}},
        (200, None, "SUCCEEDED", None),
    ),
    (
        {"outcome": "error", "code": "InternalError", "match": GET, "times": "once"},
        (500, "InternalError", None, None),
    ),
    (
        {"outcome": "error", "code": "Throttling.RateQuota", "match": GET, "times": "once"},
        (429, "Throttling.RateQuota", None, None),
    ),
    (
        {"outcome": "error", "code": "InvalidParameter", "match": GET, "times": "once"},
        (400, "InvalidParameter", None, None),
    ),
]

#: rule -> the exception call() raises
RAISES: list[tuple[dict[str, Any], type[BaseException]]] = [
    ({"outcome": "error", "code": "InvalidParameter", "match": CREATE}, InvalidTask),
    ({"outcome": "error", "code": "Throttling.RateQuota", "match": CREATE}, InvalidTask),
    ({"outcome": "error", "code": "InternalError", "match": CREATE}, InvalidTask),
    ({"outcome": "error", "code": "ModelUnavailable", "match": CREATE}, InvalidTask),
    ({"outcome": "lost", "via": "error", "match": CREATE}, InvalidTask),
    ({"outcome": "lost", "via": "reset", "match": CREATE}, requests.ConnectionError),
    ({"outcome": "reset", "match": CREATE}, requests.ConnectionError),
    ({"outcome": "empty", "match": CREATE}, requests.ConnectionError),
    ({"outcome": "reset", "match": GET, "times": "once"}, requests.ConnectionError),
    ({"outcome": "truncate", "match": CREATE}, requests.exceptions.ChunkedEncodingError),
]


def _label(rule: dict[str, Any]) -> str:
    return "-".join(str(value) for value in rule.values() if not isinstance(value, dict | float))


@pytest.mark.parametrize(("rule", "expected"), RETURNS, ids=[_label(r) for r, _ in RETURNS])
def test_call_returns(
    sdk: DashScopeBinding,
    server: MockServer,
    rule: dict[str, Any],
    expected: tuple[int, str | None, str | None, str | None],
) -> None:
    server.set_scenario([rule])
    response = ImageSynthesis.call(model="wanx-v1", prompt="a cat", n=2)
    output = response.output
    seen = (
        response.status_code,
        response.code or None,
        output.task_status if output else None,
        (output.get("code") or None) if output else None,
    )
    assert seen == expected


@pytest.mark.parametrize(("rule", "raised"), RAISES, ids=[_label(r) for r, _ in RAISES])
def test_call_raises(
    sdk: DashScopeBinding, server: MockServer, rule: dict[str, Any], raised: type[BaseException]
) -> None:
    server.set_scenario([rule])
    with pytest.raises(raised):
        ImageSynthesis.call(model="wanx-v1", prompt="a cat", n=1)


def test_async_call_returns_what_call_raises_on() -> None:
    with MockServer(time="jump") as server, bind_dashscope(server):
        server.set_scenario([{"outcome": "error", "code": "ModelUnavailable", "match": CREATE}])
        response = ImageSynthesis.async_call(model="wanx-v1", prompt="a cat", n=1)
    assert (response.status_code, response.code) == (503, "ModelUnavailable")


def test_a_delayed_answer_returns_after_its_delay_on_a_jumping_clock() -> None:
    with MockServer(time="jump") as server, bind_dashscope(server):
        server.set_scenario(["delay; seconds=5"])
        before = server.clock.now_ms()
        response = ImageSynthesis.call(model="wanx-v1", prompt="a cat", n=1)
    assert response.output.task_status == "SUCCEEDED"
    assert server.clock.now_ms() - before >= 5_000


def test_the_readme_tells_the_same() -> None:
    heading = "### What the official SDK does with them"
    assert heading in TEXT
    table = TEXT.split(heading, 1)[1].split("\n## ", 1)[0]
    for words in ("InvalidTask", "requests.ConnectionError", "ChunkedEncodingError",
                  "WaitTaskTimeout", "async_call"):  # fmt: skip
        assert words in table, words
