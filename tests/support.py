"""Helpers shared by the tests: request constants and the one schema-conformance check."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx

from mockscope import ManualClock, MockServer
from mockscope.http.conformance import check_response

API_KEY = "sk-test"
CREATE_PATH = "/api/v1/services/aigc/text2image/image-synthesis"
SUBMIT_HEADERS = {
    "Authorization": f"Bearer {API_KEY}",
    "X-DashScope-Async": "enable",
    "Content-Type": "application/json",
}
READ_HEADERS = {"Authorization": f"Bearer {API_KEY}"}
#: For a pytest run inside this one (a user's project, autoloading its plugins): this suite
#: names its plugins instead of autoloading them (pyproject's addopts), so the libraries it has
#: already imported were not rewritten, and the inner run's warning that it cannot rewrite
#: their asserts any more says nothing about the project it runs.
INNER_PYTEST = ("-W", "ignore::pytest.PytestAssertRewriteWarning")
T = TypeVar("T")


#: jsonschema's own phrasing and Python reprs, which no answer of the fake may carry.
_NOT_THE_SERVICE = re.compile(
    r"is not of type|is not one of|is a required property|is not valid under|"
    r"is (less|greater) than the (minimum|maximum)|is too (long|short)|does not match '|"
    r"Additional properties|was unexpected|\bNone\b|\bTrue\b|\bFalse\b|'[^'`]*' is |\['"
)


def assert_service_voice(message: str) -> None:
    """An error message as the service words it: no jsonschema phrasing, no Python values."""
    assert message, "an error message is never empty"
    found = _NOT_THE_SERVICE.search(message)
    assert found is None, f"jsonschema phrasing in {message!r}: {found.group(0)!r}"


#: A result URL as the fake hands them out: shaped like a live signed OSS URL, on the fake's host.
RESULT_URL = re.compile(
    r"^(?P<base>https?://[^/?#]+(?:/[^?#]*)?)/results/"
    r"(?P<key>[0-9a-f]{2}/[0-9a-f]{2}/\d{8}/(?P<task_id>[^/?#]+)/"
    r"(?P<file>[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})"
    r"-(?P<number>\d+)\.png)"
    r"\?Expires=(?P<expires>\d+)&OSSAccessKeyId=(?P<key_id>LTAI[0-9A-Za-z]+)"
    r"&Signature=(?P<signature>[0-9A-Za-z%]+)$"
)


def result_url_parts(url: str) -> dict[str, str]:
    """The parts of a result URL, which must have the live shape (see RESULT_URL)."""
    found = RESULT_URL.match(url)
    assert found is not None, f"not a signed result URL: {url}"
    return found.groupdict()


def result_url_for(server: MockServer, task_id: str, index: int) -> str:
    """The URL the fake would hand out for image `index` (from 0) of a finished task, whether
    or not that image exists: for reaching an object with a signature that holds."""
    return server.result_url(task_id, index)


def assert_schema_conformance(server: MockServer) -> None:
    """The one check every test's server goes through: no response broke schemas/."""
    violations = server.schema_violations
    assert not violations, "responses that break schemas/:\n" + "\n".join(map(str, violations))


def submit(api: httpx.Client, body: dict[str, object] | None = None, **params: object) -> str:
    """Create a task and return its id; `params` go into `parameters`."""
    payload = body or {"model": "wanx-v1", "input": {"prompt": "a cat"}, "parameters": params}
    response = api.post(CREATE_PATH, json=payload, headers=SUBMIT_HEADERS)
    assert response.status_code == 200, response.text
    task_id: str = response.json()["output"]["task_id"]
    return task_id


def read_task(api: httpx.Client, task_id: str) -> dict[str, object]:
    response = api.get(f"/api/v1/tasks/{task_id}", headers=READ_HEADERS)
    assert response.status_code == 200, response.text
    output: dict[str, object] = response.json()["output"]
    return output


def headers_for(key: str, **extra: str) -> dict[str, str]:
    """Submit headers for another API key."""
    return {**SUBMIT_HEADERS, "Authorization": f"Bearer {key}", **extra}


def beijing(epoch_ms: int) -> str:
    """`YYYY-MM-DD HH:MM:SS.mmm` in Beijing time, as task bodies write times."""
    from mockscope.http.serialize import format_time

    return format_time(epoch_ms)


@contextmanager
def validated_server(**options: Any) -> Iterator[MockServer]:
    """A running MockServer whose every response is checked against schemas/ at the end."""
    with MockServer(validate_responses=True, **options) as server:
        yield server
        assert_schema_conformance(server)


def assert_conforms(operation_id: str, response: httpx.Response) -> None:
    """The client-side twin of the server's check, for servers in other processes."""
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    problem = check_response(operation_id, response.status_code, media_type, response.content)
    assert problem is None, problem


class VirtualTime:
    """Stands in for the `time` module inside the SDK's polling loop."""

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock
        self.slept: list[float] = []

    def time(self) -> float:
        return self._clock.now_ms() / 1000

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self._clock.advance(seconds)


def wait_until(condition: Callable[[], T | None], what: str, timeout: float = 10) -> T:
    """Poll `condition` until it returns something (not None, not false): for events no hook
    announces. Fails after `timeout` real seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"still waiting after {timeout} s: {what}"
        time.sleep(0.001)


def held_answers(server: MockServer, count: int = 1, timeout: float = 10) -> list[Any]:
    """Return once `count` answers are being held back by `server` (a delay waiting for its
    clock, a lost answer waiting for the client to give up), with what each one waits on
    (an asyncio future of the server's loop, done once it is let go).

    No hook tells when a request has reached its hold, so this looks at the server's registry
    of held answers until they are there.
    """
    from mockscope.http.keys import WAITERS

    def held() -> list[asyncio.Future[None]] | None:
        try:
            waiting: list[asyncio.Future[None]] = list(server.app[WAITERS])
        except RuntimeError:  # the loop thread changed the set while it was copied
            return None
        pending = [future for future in waiting if not future.done()]
        return pending if len(pending) >= count else None

    return wait_until(held, f"{count} held answer(s)", timeout)


def settle(server: MockServer) -> None:
    """Return once `server`'s event loop has run everything scheduled on it so far (advancing
    a manual clock wakes held answers through it): its loop runs callbacks in the order they
    were scheduled, so a request sent now is answered only after those have run."""
    with httpx.Client(base_url=server.url, timeout=10) as probe:
        assert probe.get("/_mockscope/clock").status_code == 200
