"""Hostile input over real sockets: every answer under 500, DashScope-shaped (or an
OSS XML document where the OpenAPI says so), and nothing stored changed by it.

Raw bytes go through `socket` where an HTTP client would refuse to send them.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from mockscope import ManualClock, MockServer
from mockscope.http.connections import AcceptErrorLog
from mockscope.scenarios import reading
from mockscope.scenarios.rules import ScenarioError
from tests.support import API_KEY, CREATE_PATH, assert_schema_conformance, submit

GOOD_BODY = b'{"model": "wanx-v1", "input": {"prompt": "a cat"}, "parameters": {"n": 1}}'
SUBMIT = [
    (b"Authorization", b"Bearer " + API_KEY.encode()),
    (b"X-DashScope-Async", b"enable"),
    (b"Content-Type", b"application/json"),
]
READ = [(b"Authorization", b"Bearer " + API_KEY.encode())]


class Answer:
    def __init__(self, raw: bytes) -> None:
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if lines[0] else 0
        self.headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:])
        }

    @property
    def content_length(self) -> int:
        return int(self.headers.get("content-length", "0"))

    def envelope(self) -> dict[str, str]:
        """The DashScope error envelope, checked: code, message, request_id = X-Request-ID."""
        assert self.headers.get("content-type", "").startswith("application/json"), self.headers
        body = orjson.loads(self.body)
        assert set(body) == {"code", "message", "request_id"}, body
        assert body["request_id"] == self.headers["x-request-id"]
        assert isinstance(body["message"], str)
        assert body["message"]
        return dict(body)


def exchange(server: MockServer, data: bytes, *, timeout: float = 10) -> Answer:
    """Send raw bytes, read until the server closes (or `timeout`)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        # It may answer and close before taking everything.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        return Answer(_read_all(sock))


def _read_all(sock: socket.socket) -> bytes:
    out = b""
    try:
        while chunk := sock.recv(65536):
            out += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return out


def _read_answer(sock: socket.socket) -> bytes:
    """One answer: its head and as many body bytes as its Content-Length says, without waiting
    for the server to close (it may still be waiting for the rest of a request it refused)."""
    out = b""
    try:
        while chunk := sock.recv(65536):
            out += chunk
            _, separator, body = out.partition(b"\r\n\r\n")
            if separator and len(body) >= Answer(out).content_length:
                break
    except (TimeoutError, ConnectionResetError):
        pass
    return out


def request(
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
    body: bytes | None = None,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close"]
    lines += [name + b": " + value for name, value in headers]
    if body is not None:
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


@pytest.fixture
def hostile(clock: ManualClock) -> Iterator[MockServer]:
    """A fake with one stored task, checked at the end: no server failure, no violation, and
    the stored task unchanged by anything the test sent."""
    with MockServer(clock=clock, seed=7, validate_responses=True) as running:
        with httpx.Client(base_url=running.url) as api:
            submit(api, n=1)
        before = running.tasks()
        yield running
        assert running.tasks()[: len(before)] == before
        running.check()
        assert_schema_conformance(running)


# -- 1. control-plane and scenario numbers: bounded, and a refusal changes nothing ----------------


@pytest.mark.parametrize(
    "body", [b'{"seconds": 1e20}', b'{"seconds": 1e308}', b'{"seconds": NaN}', b'{"seconds": -1}']
)
def test_an_absurd_clock_advance_is_refused_and_moves_nothing(
    hostile: MockServer, body: bytes
) -> None:
    before = hostile.clock.now_ms()
    answer = exchange(hostile, request("POST", "/_mockscope/clock/advance", [], body))
    assert answer.status == 400
    answer.envelope()
    assert hostile.clock.now_ms() == before
    assert exchange(hostile, request("GET", "/_mockscope/clock")).status == 200
    assert exchange(hostile, request("GET", "/_mockscope/tasks")).status == 200
    with httpx.Client(base_url=hostile.url) as api:
        task_id = submit(api)
        read = api.get(f"/api/v1/tasks/{task_id}", headers={"Authorization": f"Bearer {API_KEY}"})
    assert read.json()["output"]["task_status"] == "PENDING"


def test_a_hundred_years_is_the_most_the_clock_moves_at_once() -> None:
    with MockServer(time="manual", validate_responses=True) as server:
        body = b'{"seconds": 3155760000}'
        answer = exchange(server, request("POST", "/_mockscope/clock/advance", [], body))
        assert answer.status == 200
        assert exchange(server, request("GET", "/_mockscope/tasks")).status == 200
        server.check()


@pytest.mark.parametrize(
    "rule",
    [
        b"timing; queue=1e308",
        b"timing; run=inf",
        b"delay; seconds=nan",
        b"delay; seconds=inf",
        b"delay; seconds=-inf",
        b"suspended; for=1e300",
        b"delay; min=0; max=1e400",
        b"failed; probability=nan",
    ],
)
def test_scenario_numbers_in_a_header_are_finite_and_bounded(
    hostile: MockServer, rule: bytes
) -> None:
    headers = [*SUBMIT, (b"X-Mockscope-Scenario", rule)]
    answer = exchange(hostile, request("POST", CREATE_PATH, headers, GOOD_BODY), timeout=5)
    assert answer.status == 400
    assert answer.envelope()["code"] == "InvalidParameter"


@pytest.mark.parametrize("number", ["1e308", "NaN", "Infinity", "-1"])
def test_scenario_numbers_in_a_document_are_finite_and_bounded(
    hostile: MockServer, number: str
) -> None:
    document = b'{"rules": [{"outcome": "timing", "queue": %s}]}' % number.encode()
    answer = exchange(hostile, request("POST", "/_mockscope/scenarios", [], document))
    assert answer.status == 400
    answer.envelope()
    assert hostile.rules == ()


@pytest.mark.parametrize("number", [".nan", ".inf", "1e308", "-.inf"])
def test_scenario_numbers_in_a_file_are_finite_and_bounded(tmp_path: Path, number: str) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(f"rules:\n  - outcome: delay\n    seconds: {number}\n")
    with pytest.raises(ScenarioError):
        reading.checked(reading.read_file(path))


def test_a_non_utf8_message_in_a_declared_error_is_data(hostile: MockServer) -> None:
    rule = b"error; code=InvalidParameter; message=bad \xff\xfe bytes"
    answer = exchange(
        hostile, request("GET", "/api/v1/tasks/x", [*READ, (b"X-Mockscope-Scenario", rule)])
    )
    assert answer.status == 400
    assert answer.envelope()["message"] == "bad \\xff\\xfe bytes"


# -- header bytes, query strings and form fields that are not UTF-8 --------------------------------


def test_a_non_utf8_api_key_does_not_poison_the_journal_or_the_control_plane(
    hostile: MockServer,
) -> None:
    key = [(b"Authorization", b"Bearer sk-\xff\xc3(")]
    assert exchange(hostile, request("GET", "/api/v1/tasks/x", key)).status == 200
    answer = exchange(
        hostile, request("GET", "/api/v1/uploads?action=getPolicy&model=wanx-v1", key)
    )
    assert answer.status == 200
    for path in ("/_mockscope/journal", "/_mockscope/tasks", "/_mockscope/journal?api_key=%FF"):
        assert exchange(hostile, request("GET", path)).status == 200, path
    journal = orjson.loads(exchange(hostile, request("GET", "/_mockscope/journal")).body)
    # The key is shown masked, as every key is: its odd bytes never reach the answer.
    accounts = {entry["account"] for entry in journal["entries"]}
    assert "sk-…" in accounts
    assert not any("\\xff" in (account or "") for account in accounts)


def test_a_non_ascii_control_token_is_refused_with_403() -> None:
    with MockServer(control_token="s3cret") as server:
        for token in (b"\xff\xfe", b"s3cret\xc3\xa9", "sécret".encode()):
            answer = exchange(
                server, request("GET", "/_mockscope/clock", [(b"X-Mockscope-Token", token)])
            )
            assert answer.status == 403
            assert answer.envelope()["code"] == "AccessDenied"
        good = [(b"X-Mockscope-Token", b"s3cret")]
        assert exchange(server, request("GET", "/_mockscope/clock", good)).status == 200
        server.check()


def _form(fields: dict[str, bytes], boundary: bytes = b"XyZ") -> bytes:
    parts = b""
    for name, value in fields.items():
        disposition = b'form-data; name="%s"' % name.encode()
        if name == "file":
            disposition += b'; filename="ref.png"'
        parts += b"--" + boundary + b"\r\nContent-Disposition: " + disposition + b"\r\n\r\n"
        parts += value + b"\r\n"
    return parts + b"--" + boundary + b"--\r\n"


def test_a_non_ascii_oss_signature_is_a_403_document(hostile: MockServer) -> None:
    form = _form(
        {"policy": b"cG9saWN5", "Signature": "sïgnature".encode(), "key": b"k", "file": b"x"}
    )
    headers = [(b"Content-Type", b"multipart/form-data; boundary=XyZ")]
    answer = exchange(hostile, request("POST", "/oss", headers, form))
    assert answer.status == 403
    assert answer.headers["content-type"].startswith("application/xml")
    assert b"<Code>" in answer.body
    assert hostile.uploads() == []


@pytest.mark.parametrize(
    ("method", "path", "headers", "body"),
    [
        ("GET", "/api/v1/tasks?model_name=%FF&status=%FF", READ, None),
        ("GET", "/api/v1/tasks?task_id=%FF%FE", READ, None),
        ("GET", "/api/v1/tasks?start_time=%FF", READ, None),
        ("GET", "/api/v1/tasks/%FF%FE", READ, None),
        ("GET", "/api/v1/uploads?action=getPolicy&model=%FF", READ, None),
        ("GET", "/api/v1/tasks", [*READ, (b"X-DashScope-WorkSpace", b"ws-\xff")], None),
        ("POST", "/_mockscope/tasks/%FF/finish", [], None),
        ("POST", "/_mockscope/clock/advance", [], b'{"seconds": 1e400}'),
        ("GET", "/results/%FF/1.png", [], None),
    ],
)
def test_odd_bytes_in_queries_paths_and_headers_are_data(
    hostile: MockServer, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    answer = exchange(hostile, request(method, path, headers, body))
    assert answer.status < 500
    for control in ("/_mockscope/journal", "/_mockscope/tasks"):
        assert exchange(hostile, request("GET", control)).status == 200


def test_unicode_digits_are_not_a_page_number(hostile: MockServer) -> None:
    answer = exchange(hostile, request("GET", "/api/v1/tasks?page_no=%EF%BC%91", READ))
    assert answer.status == 400
    assert answer.envelope()["code"] == "InvalidParameter"


# -- 2. bodies bounded as they stream and decode --------------------------------------------------


def test_an_undecodable_deflate_body_is_a_400(hostile: MockServer) -> None:
    headers = [*SUBMIT, (b"Content-Encoding", b"deflate")]
    answer = exchange(hostile, request("POST", CREATE_PATH, headers, b"not deflate at all"))
    assert answer.status == 400
    assert answer.envelope()["code"] == "InvalidParameter"


@pytest.mark.parametrize("encoding", [b"br", b"zstd", b"compress", b"gzip, br"])
def test_an_unsupported_encoding_is_a_400(hostile: MockServer, encoding: bytes) -> None:
    headers = [*SUBMIT, (b"Content-Encoding", encoding)]
    answer = exchange(hostile, request("POST", CREATE_PATH, headers, b"whatever"))
    assert answer.status == 400
    assert answer.envelope()["code"] == "InvalidParameter"


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_an_encoded_body_is_decoded(hostile: MockServer, encoding: str) -> None:
    packed = gzip.compress(GOOD_BODY) if encoding == "gzip" else zlib.compress(GOOD_BODY)
    headers = [*SUBMIT, (b"Content-Encoding", encoding.encode())]
    answer = exchange(hostile, request("POST", CREATE_PATH, headers, packed))
    assert answer.status == 200, answer.body


def test_a_gzip_bomb_stops_at_the_json_limit_without_inflating(hostile: MockServer) -> None:
    bomb = gzip.compress(b" " * (11 * 1024 * 1024), 9)  # ~11 KiB that inflates to 11 MiB
    headers = [*SUBMIT, (b"Content-Encoding", b"gzip")]
    tracemalloc.start()
    try:
        answers = [exchange(hostile, request("POST", CREATE_PATH, headers, bomb)) for _ in range(4)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert all(answer.status == 413 for answer in answers)
    answers[0].envelope()
    assert peak < 6 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


def test_a_chunked_json_body_stops_at_the_limit(hostile: MockServer) -> None:
    head = request("POST", CREATE_PATH, [*SUBMIT, (b"Transfer-Encoding", b"chunked")])
    chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
    with socket.create_connection(("127.0.0.1", hostile.port), timeout=10) as sock:
        sock.sendall(head)
        try:
            for _ in range(11 * 16):  # 11 MiB offered
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused part way, as it should be
        answer = Answer(_read_answer(sock))
    assert answer.status == 413
    answer.envelope()


@pytest.mark.parametrize(
    "chunks",
    [b"zz\r\nab\r\n0\r\n\r\n", b"5\r\nab\r\n0\r\n\r\n", b"-1\r\nab\r\n", b"ffffffffffffffffff\r\n"],
)
def test_malformed_chunks_are_a_400_envelope(hostile: MockServer, chunks: bytes) -> None:
    head = request("POST", CREATE_PATH, [*SUBMIT, (b"Transfer-Encoding", b"chunked")])
    answer = exchange(hostile, head + chunks, timeout=5)
    assert 400 <= answer.status < 500
    answer.envelope()


def test_an_upload_over_the_limit_is_entity_too_large(hostile: MockServer) -> None:
    form = _form(
        {"policy": b"p", "Signature": b"s", "key": b"k", "file": b"\0" * (11 * 1024 * 1024 + 1)}
    )
    headers = [(b"Content-Type", b"multipart/form-data; boundary=XyZ")]
    answer = exchange(hostile, request("POST", "/oss", headers, form))
    assert answer.status == 400
    assert b"<Code>EntityTooLarge</Code>" in answer.body


# -- 3. every answer an envelope with X-Request-ID ------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"GET /api/v1/tasks HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
        b"GET /api/v1/tasks HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n",
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /api/v1/tasks HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"G\x00T / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"POST /api/v1/tasks/x/cancel HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"POST /x HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\n\r\n",
        b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"GET /api/v1/tasks HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(200)) + b"\r\n",
        b"GET /api/v1/tasks HTTP/1.1\r\nHost: x\r\n X-folded: a\r\n\r\n",
        b"GET /api/v1/tasks HTTP/1.1\nHost: x\n\n",
    ],
    ids=["nul", "big-header", "big-line", "no-colon", "bad-method", "version", "two-lengths",
         "negative-length", "tls", "te-unknown", "te-and-length", "h2-preface", "two-hosts",
         "200-headers", "folded", "bare-lf"],
)  # fmt: skip
def test_what_the_http_parser_refuses_is_an_envelope(hostile: MockServer, data: bytes) -> None:
    answer = exchange(hostile, data, timeout=5)
    assert 400 <= answer.status < 500
    answer.envelope()


@pytest.mark.parametrize(
    "path", ["/api/v1/tasks/a%0Ab", "/x%FF%FE", "/api/v1/%00", "/_mockscope/%FF", "/a/../../etc"]
)
def test_odd_paths_get_an_envelope(hostile: MockServer, path: str) -> None:
    answer = exchange(hostile, request("GET", path, READ))
    assert answer.status < 500
    if answer.status != 200:
        answer.envelope()


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/v1/tasks", "GET"),
        ("PUT", CREATE_PATH, "POST"),
        ("GET", "/api/v1/tasks/x/cancel", "POST"),
        ("PATCH", "/_mockscope/scenarios", "DELETE, GET, POST"),
        ("GET", "/_mockscope/clock/advance", "POST"),
    ],
)
def test_405_names_what_is_allowed(hostile: MockServer, method: str, path: str, allow: str) -> None:
    answer = exchange(hostile, request(method, path, READ))
    assert answer.status == 405
    assert answer.headers["allow"] == allow
    answer.envelope()


def _documented_routes() -> list[tuple[str, str]]:
    from mockscope.openapi import document

    verbs = ("get", "post", "put", "delete", "patch")
    routes = []
    for path, item in document()["paths"].items():
        allowed = sorted(verb.upper() for verb in verbs if verb in item)
        if path.startswith("/results/"):
            allowed.append("HEAD")  # served as object storage serves it (see the path's text)
        concrete = path.replace("{task_id}", "t-1").replace("{key}", "k/x.png")
        routes.append((concrete, ", ".join(allowed)))
    return routes


@pytest.mark.parametrize(("path", "allow"), _documented_routes())
def test_every_documented_route_answers_405_with_what_it_allows(
    hostile: MockServer, path: str, allow: str
) -> None:
    # PUT and PATCH are no route's method: the answer names exactly the documented ones.
    for method in ("PUT", "PATCH"):
        answer = exchange(hostile, request(method, path, READ))
        assert answer.status == 405, (method, path)
        assert answer.headers["allow"] == allow, (method, path)
        answer.envelope()


def test_a_result_path_off_the_pattern_is_a_storage_403(hostile: MockServer) -> None:
    # Unsigned, as OSS answers a private bucket: no right to the object, whatever its key.
    answer = exchange(hostile, request("GET", "/results/abc/x.png"))
    assert answer.status == 403
    assert b"<Code>AccessDenied</Code>" in answer.body


# -- 8. smaller drift -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/_mockscope/tasks?account=", "/_mockscope/reset?account="])
def test_an_empty_account_is_a_documented_400(hostile: MockServer, path: str) -> None:
    method = "POST" if "reset" in path else "GET"
    answer = exchange(hostile, request(method, path))
    assert answer.status == 400
    assert answer.envelope()["code"] == "InvalidParameter"


def test_an_ipv4_mapped_loopback_caller_is_loopback() -> None:
    from mockscope.http.control.clock_limits import _is_loopback

    assert _is_loopback("::ffff:127.0.0.1")
    assert _is_loopback("::1")
    assert _is_loopback("127.0.0.9")
    assert not _is_loopback("::ffff:10.0.0.1")
    assert not _is_loopback("bogus")


def test_the_control_token_help_says_loopback_callers_need_it_too() -> None:
    from click.testing import CliRunner

    from mockscope.cli import main

    help_text = " ".join(CliRunner().invoke(main, ["serve", "--help"]).output.split())
    assert "loopback included" in help_text


# -- 4. connections -------------------------------------------------------------------------------


def test_a_slow_header_is_answered_408_and_closed() -> None:
    with MockServer(header_timeout=0.2) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"GET /api/v1/tasks HTTP/1.1\r\nHost: x\r\n")  # never finished
            answer = Answer(_read_all(sock))
        assert answer.status == 408
        assert answer.envelope()["code"] == "RequestTimeOut"
        server.check()


def test_an_idle_keep_alive_connection_is_closed() -> None:
    with MockServer(keepalive_timeout=0.2) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"GET /_mockscope/clock HTTP/1.1\r\nHost: x\r\n\r\n")
            started = time.monotonic()
            raw = _read_all(sock)  # the answer, then EOF once idle too long
        assert Answer(raw).status == 200
        assert time.monotonic() - started < 4


def test_connections_over_the_cap_get_a_503_envelope() -> None:
    with MockServer(max_connections=2, header_timeout=30) as server:
        held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
        try:
            answer = exchange(server, request("GET", "/_mockscope/clock"), timeout=5)
            assert answer.status == 503
            assert answer.envelope()["code"] == "ModelServingError"
        finally:
            for sock in held:
                sock.close()
        # Closed connections free their places.
        for _ in range(50):
            if exchange(server, request("GET", "/_mockscope/clock")).status == 200:
                break
        else:
            pytest.fail("the cap never freed")


def test_connections_that_were_answered_free_their_places_when_they_close() -> None:
    # Once a connection's first header is in, the transport talks to aiohttp's protocol
    # directly; closing it must still take it off the count.
    with MockServer(max_connections=2, header_timeout=30) as server:
        for _ in range(6):  # three times the cap, one after the other
            for _ in range(50):
                answer = exchange(server, request("GET", "/_mockscope/clock"))
                if answer.status == 200:
                    break
                assert answer.status == 503  # an earlier close not yet seen by the server
            else:
                pytest.fail("a closed connection kept its place")
        # Two open connections that were answered hold both places.
        held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
        try:
            for sock in held:
                sock.sendall(request("GET", "/_mockscope/clock").replace(b"close", b"keep-alive"))
                assert Answer(sock.recv(65536)).status == 200
            assert exchange(server, request("GET", "/_mockscope/clock")).status == 503
        finally:
            for sock in held:
                sock.close()


def test_accept_errors_are_logged_at_a_bounded_rate(caplog: pytest.LogCaptureFixture) -> None:
    class Loop:
        def get_exception_handler(self) -> None:
            return None

    handler = AcceptErrorLog(Loop())  # type: ignore[arg-type]
    context = {
        "message": "socket.accept() out of system resource",
        "exception": OSError(24, "EMFILE"),
    }
    with caplog.at_level(logging.ERROR, logger="mockscope.http"):
        for _ in range(1300):
            handler(Loop(), context)  # type: ignore[arg-type]
    assert len(caplog.records) == 1
    assert handler.suppressed == 1299


# -- 5. shutdown ----------------------------------------------------------------------------------


@pytest.mark.parametrize("time_mode", ["manual", "realistic"])
@pytest.mark.parametrize("rule", ["delay; seconds=3600", "lost; via=timeout"])
def test_held_answers_do_not_hold_up_stop(time_mode: str, rule: str) -> None:
    from mockscope.http.keys import WAITERS

    server = MockServer(time=time_mode).start()
    headers = {"Authorization": "Bearer k", "X-Mockscope-Scenario": rule}
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(httpx.get(f"{server.url}/api/v1/tasks/x", headers=headers, timeout=30))
        except httpx.HTTPError as error:
            outcome.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 10
    while not server.app[WAITERS] and time.monotonic() < deadline:
        threading.Event().wait(0.01)  # waiting for the request to be held, not for time to pass
    assert server.app[WAITERS], "the request was never held"
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1
    caller.join(5)
    assert outcome


def test_header_scenarios_can_be_switched_off() -> None:
    with MockServer(time="manual", header_scenarios=False) as server:
        headers = {"Authorization": "Bearer k", "X-Mockscope-Scenario": "delay; seconds=3600"}
        answer = httpx.get(f"{server.url}/api/v1/tasks/x", headers=headers, timeout=5)
        assert answer.status_code == 200
        headers["X-Mockscope-Scenario"] = "error; code=Throttling"
        assert httpx.get(f"{server.url}/api/v1/tasks/x", headers=headers).status_code == 200
        server.check()


def test_serve_stops_on_sigterm_within_a_second_with_an_answer_held() -> None:
    import re
    import signal
    import subprocess
    import sys

    command = [sys.executable, "-m", "mockscope.cli", "serve", "--port", "0", "--quiet"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        for line in process.stderr:
            found = re.search(r"http://127\.0\.0\.1:(\d+)/api/v1", line)
            if found:
                break
        else:
            pytest.fail("serve never said where it listens")
        port = int(found.group(1))
        rule = (b"X-Mockscope-Scenario", b"delay; seconds=3600")
        held = socket.create_connection(("127.0.0.1", port), timeout=10)
        held.sendall(request("GET", "/api/v1/tasks/x", [*READ, rule]))
        # A later request answered: the held one (sent first, to one loop) is being handled.
        later = httpx.get(f"http://127.0.0.1:{port}/_mockscope/clock", timeout=5)
        assert later.status_code == 200
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        assert time.monotonic() - started < 1.5
        answer = Answer(_read_all(held))  # let go: answered, or closed
        held.close()
        assert answer.status in (0, 200)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
