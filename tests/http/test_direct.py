"""The direct dispatch and the one-piece answers send exactly what aiohttp's router and general
response path would: two fakes in lockstep, one served by `DirectRunner`, one by a plain
`AppRunner`, get the same raw requests and must answer the same bytes (the `Date` aside)."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from unittest import mock

import orjson
import pytest
from aiohttp import web
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import mockscope.server
from mockscope import ManualClock, MockServer
from mockscope.domain.ratelimit import Limits
from mockscope.http.wire import WholeAnswer

AUTH = "Authorization: Bearer sk-direct\r\n"
CREATE_BODY = b'{"model":"wanx-v1","input":{"prompt":"a cat"},"parameters":{"n":1}}'
V2_BODY = b'{"model":"wanx2.1-t2i-turbo","input":{"prompt":"a cat"},"parameters":{"seed":3}}'
GENERATION_BODY = (
    b'{"model":"wan2.6-t2i","parameters":{"n":1},'
    b'"input":{"messages":[{"role":"user","content":[{"text":"a cat"}]}]}}'
)
TEXT2IMAGE = "/api/v1/services/aigc/text2image/image-synthesis"
GENERATION = "/api/v1/services/aigc/image-generation/generation"
_DATE = re.compile(rb"\r\nDate: [^\r]*")


@dataclass
class Wire:
    """One keep-alive connection to a server, reading whole answers by their framing."""

    sock: socket.socket
    buffer: bytes = b""

    def exchange(self, request: bytes, *, head: bool = False) -> bytes:
        self.sock.sendall(request)
        answer = b""
        while True:
            status_line, head_bytes = self._head()
            answer += head_bytes
            if not status_line.startswith(b"HTTP/1.1 100 "):
                break
        length = re.search(rb"\r\nContent-Length: (\d+)", head_bytes, re.IGNORECASE)
        if not head and length is not None and int(length[1]) and b" 304 " not in status_line:
            answer += self._take(int(length[1]))
        return _DATE.sub(b"\r\nDate: -", answer)

    def _head(self) -> tuple[bytes, bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        end = self.buffer.index(b"\r\n\r\n") + 4
        head, self.buffer = self.buffer[:end], self.buffer[end:]
        return head.split(b"\r\n", 1)[0], head

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        taken, self.buffer = self.buffer[:size], self.buffer[size:]
        return taken

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed with {self.buffer!r} unread")
        self.buffer += chunk


class Pair:
    """The same fake twice: `direct` as MockServer serves, `routed` through aiohttp's router
    and its general response path."""

    def __init__(self, direct: MockServer, routed: MockServer) -> None:
        self.servers = (direct, routed)
        self.wires = [self._connect(server) for server in self.servers]

    @staticmethod
    def _connect(server: MockServer) -> Wire:
        return Wire(socket.create_connection(("127.0.0.1", server.port), timeout=10))

    def routed(self, request: bytes, *, head: bool = False) -> bytes:
        """The routed server's answer, its responses prepared the general way (one request at
        a time, so the direct server never runs while the patch is in place)."""
        with mock.patch.object(WholeAnswer, "prepare", web.Response.prepare):
            return self.wires[1].exchange(request, head=head)

    def send(self, request: bytes, *, head: bool = False) -> bytes:
        """Both answers to `request`, which must be equal; the direct one is returned."""
        direct = self.wires[0].exchange(request, head=head)
        routed = self.routed(request, head=head)
        assert direct == routed, f"{request!r}:\n{direct!r}\n!=\n{routed!r}"
        if b"Connection: close" in direct or b"HTTP/1.0" in request.split(b"\r\n", 1)[0]:
            self.close()
            self.wires = [self._connect(server) for server in self.servers]
        return direct

    def close(self) -> None:
        for wire in self.wires:
            wire.sock.close()


def _server() -> MockServer:
    return MockServer(
        clock=ManualClock(), seed=5, limits=Limits.unlimited(), public_url="http://fake.test"
    )


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    direct = _server().start()
    patch = pytest.MonkeyPatch()
    patch.setattr(mockscope.server, "DirectRunner", web.AppRunner)
    try:
        routed = _server().start()
    finally:
        patch.undo()
    pair = Pair(direct, routed)
    try:
        yield pair
    finally:
        pair.close()
        direct.stop()
        routed.stop()


def request(
    method: str, path: str, body: bytes = b"", extra: str = "", version: str = "1.1"
) -> bytes:
    length = f"Content-Length: {len(body)}\r\n" if body or method == "POST" else ""
    content_type = "Content-Type: application/json\r\n" if body else ""
    return (
        f"{method} {path} HTTP/{version}\r\nHost: fake.test\r\n{AUTH}{content_type}{length}"
        f"{extra}\r\n"
    ).encode() + body


def create(pair: Pair, path: str = TEXT2IMAGE, body: bytes = CREATE_BODY) -> str:
    answer = pair.send(request("POST", path, body, "X-DashScope-Async: enable\r\n"))
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer
    task_id: str = orjson.loads(answer.split(b"\r\n\r\n", 1)[1])["output"]["task_id"]
    return task_id


def test_the_hot_routes_answer_the_same_bytes_both_ways(pair: Pair) -> None:
    task_id = create(pair)
    create(pair, TEXT2IMAGE + "/", V2_BODY)
    create(pair, GENERATION, GENERATION_BODY)
    create(pair, GENERATION + "/?x=1", GENERATION_BODY)
    async_header = "X-DashScope-Async: enable\r\n"
    answers = [
        pair.send(request("GET", f"/api/v1/tasks/{task_id}")),
        pair.send(request("GET", f"/api/v1/tasks/{task_id}/")),
        pair.send(request("GET", f"/api/v1/tasks/{task_id}?a=b")),
        pair.send(request("GET", "/api/v1/tasks/not-a-task")),
        pair.send(request("GET", "/api/v1/tasks/a.b~c_d")),
        pair.send(request("GET", f"/api/v1/tasks/{task_id[:8]}%2D{task_id[9:]}")),
        pair.send(request("GET", f"/api/v1/tasks/./{task_id}")),
        pair.send(request("GET", f"/api/v1//tasks/{task_id}")),
        pair.send(request("GET", "/api/v1/tasks/")),
        pair.send(request("GET", f"/api/v1/tasks/{task_id}/cancel")),
        pair.send(request("HEAD", f"/api/v1/tasks/{task_id}"), head=True),
        pair.send(request("PUT", f"/api/v1/tasks/{task_id}")),
        pair.send(request("GET", f"/api/v1/tasks/{task_id}", extra="Expect: 100-continue\r\n")),
        pair.send(request("GET", f"/api/v1/tasks/{task_id}", extra="Authorization: x\r\n")),
        pair.send(request("GET", f"/api/v1/tasks/{task_id}").replace(AUTH.encode(), b"")),
        pair.send(request("POST", TEXT2IMAGE, b"{", async_header)),
        pair.send(request("POST", TEXT2IMAGE, CREATE_BODY)),
        pair.send(
            request("POST", TEXT2IMAGE, CREATE_BODY, async_header + "Expect: 100-continue\r\n")
        ),
        pair.send(request("POST", TEXT2IMAGE + "//", CREATE_BODY, async_header)),
        pair.send(request("GET", TEXT2IMAGE)),
        pair.send(request("GET", f"/api/v1/tasks/{task_id}", extra="Connection: close\r\n")),
        pair.send(request("GET", f"/api/v1/tasks/{task_id}", version="1.0")),
    ]
    # Each answer is a real one, not the same error every time.
    statuses = {answer.split(b"\r\n", 1)[0] for answer in answers}
    assert {b"HTTP/1.1 200 OK", b"HTTP/1.1 400 Bad Request", b"HTTP/1.1 404 Not Found"} <= statuses
    assert b"HTTP/1.1 405 Method Not Allowed" in statuses


def test_result_downloads_answer_the_same_bytes_both_ways(pair: Pair) -> None:
    task_id = create(pair)
    advance = request("POST", "/_mockscope/clock/advance", b'{"seconds": 3600}')
    pair.send(advance)
    task = pair.send(request("GET", f"/api/v1/tasks/{task_id}"))
    output = orjson.loads(task.split(b"\r\n\r\n", 1)[1])["output"]
    assert output["task_status"] == "SUCCEEDED"
    url = output["results"][0]["url"]
    path = url.removeprefix("http://fake.test")
    plain = request("GET", path).replace(AUTH.encode(), b"")
    image = pair.send(plain)
    assert image.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\n\r\n\x89PNG" in image
    pair.send(request("HEAD", path).replace(AUTH.encode(), b""), head=True)
    pair.send(request("GET", path, extra="Range: bytes=0-9\r\n").replace(AUTH.encode(), b""))
    pair.send(request("GET", path.replace("Signature=", "Signature=x")).replace(AUTH.encode(), b""))
    pair.send(request("GET", "/results/nothing/here.png"))
    # A key spelled with an escape is the same key to the router.
    escaped = pair.send(request("GET", path.replace("-", "%2D", 1)).replace(AUTH.encode(), b""))
    assert escaped.startswith(b"HTTP/1.1 200 OK\r\n")


_PATH_TEXT = st.text(alphabet="abc-._~/%2F?=", max_size=12)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["GET", "POST", "HEAD", "DELETE"]),
    prefix=st.sampled_from(["/api/v1/tasks/", TEXT2IMAGE, GENERATION, "/results/", "/"]),
    tail=_PATH_TEXT,
)
@example(method="GET", prefix="/api/v1/tasks/", tail="..")
@example(method="GET", prefix="/results/", tail="a/../b")
@example(method="POST", prefix=TEXT2IMAGE, tail="/")
def test_any_path_answers_the_same_both_ways(
    pair: Pair, method: str, prefix: str, tail: str
) -> None:
    body = CREATE_BODY if method == "POST" else b""
    pair.send(
        request(method, prefix + tail, body, "X-DashScope-Async: enable\r\n"),
        head=method == "HEAD",
    )


def test_the_direct_way_skips_the_router_and_the_general_response_path(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without this the comparisons above could be comparing the router with itself."""
    resolved: list[str] = []
    prepared: list[int] = []
    resolve, prepare_headers = web.UrlDispatcher.resolve, web.StreamResponse._prepare_headers

    async def counting_resolve(self: web.UrlDispatcher, request: web.Request) -> object:
        resolved.append(request.path)
        return await resolve(self, request)

    async def counting_prepare(self: web.StreamResponse) -> None:
        prepared.append(self.status)
        await prepare_headers(self)

    monkeypatch.setattr(web.UrlDispatcher, "resolve", counting_resolve)
    monkeypatch.setattr(web.StreamResponse, "_prepare_headers", counting_prepare)

    def both(sent: bytes) -> tuple[tuple[int, int], tuple[int, int]]:
        """How often each server asked the router and prepared a response the general way
        (every request goes to both: each answer takes an id, so the two stay in step)."""
        before = len(resolved), len(prepared)
        pair.wires[0].exchange(sent)
        middle = len(resolved), len(prepared)
        pair.routed(sent)
        after = len(resolved), len(prepared)
        return (middle[0] - before[0], middle[1] - before[1]), (
            after[0] - middle[0],
            after[1] - middle[1],
        )

    task_id = create(pair)
    assert both(request("GET", f"/api/v1/tasks/{task_id}")) == ((0, 0), (1, 1))
    create_request = request("POST", TEXT2IMAGE, CREATE_BODY, "X-DashScope-Async: enable\r\n")
    assert both(create_request) == ((0, 0), (1, 1))
    # Off its hot routes the direct server asks the router (its answer is still one piece).
    assert both(request("GET", "/api/v1/tasks?page_size=1")) == ((1, 0), (1, 1))
