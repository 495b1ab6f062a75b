"""The routes behind the inspector: its page and files, a page of tasks, the journal's checks,
one rule added or removed, a reset by account id; and who may open the page."""

from __future__ import annotations

import asyncio
import threading

import httpx
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from mockscope import ManualClock, MockServer
from mockscope.domain.identity import account_uid
from tests.support import (
    CREATE_PATH,
    READ_HEADERS,
    assert_service_voice,
    held_answers,
    read_task,
    submit,
)

OTHER = {"Authorization": "Bearer sk-other", "X-DashScope-Async": "enable"}


@pytest.mark.parametrize("path", ["/_mockscope/", "/_mockscope/ui", "/_mockscope/ui/"])
def test_the_page_is_served_as_html(api: httpx.Client, path: str) -> None:
    page = api.get(path)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<title>mockscope inspector</title>" in page.text
    # Offline and self-contained: only its own files, nothing from elsewhere.
    assert "http" not in page.text.replace('href="data:,"', "")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_its_files_are_served_and_nothing_else(api: httpx.Client) -> None:
    assert (
        api.get("/_mockscope/ui/inspector.js").headers["Content-Type"].startswith("text/javascript")
    )
    assert api.get("/_mockscope/ui/inspector.css").headers["Content-Type"].startswith("text/css")
    for name in ("index.html", "..%2Fdispatch.py", "nope.js"):
        missing = api.get(f"/_mockscope/ui/{name}")
        assert (missing.status_code, missing.json()["code"]) == (404, "NotFound")


def _page_from(remote: str, query: str = "", token: str = "") -> web.StreamResponse:
    """The page as the real route answers a caller at `remote` (a socket cannot fake one)."""
    server = MockServer(clock=ManualClock(), control_token=token)
    route = next(r for r in server.app.router.routes() if "_mockscope" in str(r.resource))
    request = make_mocked_request(
        "GET", f"/_mockscope/{query}", app=server.app, match_info={"path": ""}
    ).clone(remote=remote)
    return asyncio.run(route.handler(request))  # type: ignore[arg-type]


def test_the_page_is_refused_to_a_non_loopback_caller_without_the_token() -> None:
    refused = _page_from("10.0.0.5")
    assert refused.status == 403
    assert isinstance(refused, web.Response)
    assert refused.body is not None
    envelope = orjson.loads(refused.body)  # type: ignore[arg-type]
    assert set(envelope) == {"code", "message", "request_id"}
    assert envelope["code"] == "AccessDenied"
    assert _page_from("127.0.0.1").status == 200


def test_with_a_token_the_page_opens_to_whoever_brings_it() -> None:
    assert _page_from("10.0.0.5", token="s3cret").status == 403
    assert _page_from("10.0.0.5", "?token=nope", token="s3cret").status == 403
    assert _page_from("10.0.0.5", "?token=s3cret", token="s3cret").status == 200
    # Only the page takes the token in its query: the JSON routes want the header.
    with MockServer(clock=ManualClock(), control_token="s3cret") as server:
        clock = httpx.get(f"{server.url}/_mockscope/clock?token=s3cret")
    assert clock.status_code == 403


def test_a_page_of_tasks_is_newest_first_filtered_and_paged(
    api: httpx.Client, server: MockServer
) -> None:
    mine = []
    for _ in range(3):
        mine.append(submit(api, n=1))
        server.clock.advance(1)
    theirs = api.post(
        CREATE_PATH, json={"model": "wanx-v1", "input": {"prompt": "p"}}, headers=OTHER
    ).json()["output"]["task_id"]
    everything = api.get("/_mockscope/tasks/page").json()
    assert [t["task_id"] for t in everything["tasks"]] == [theirs, *reversed(mine)]
    assert everything["total"] == 4
    assert {a["account"] for a in everything["accounts"]} == {"sk-…"}  # short keys hide all
    assert {a["account_id"] for a in everything["accounts"]} == {
        account_uid("sk-test"),
        account_uid("sk-other"),
    }
    second = api.get("/_mockscope/tasks/page?page=2&page_size=2").json()
    assert [t["task_id"] for t in second["tasks"]] == [mine[1], mine[0]]
    own = api.get(f"/_mockscope/tasks/page?account_id={account_uid('sk-test')}").json()
    assert own["total"] == 3
    running = api.get("/_mockscope/tasks/page?status=RUNNING").json()
    assert [t["task_id"] for t in running["tasks"]] == [mine[0]]
    nobody = api.get(f"/_mockscope/tasks/page?account_id={'1' * 16}").json()
    assert (nobody["total"], nobody["tasks"]) == (0, [])
    assert api.get("/_mockscope/tasks/page?model=wanx2.1-t2i-turbo").json()["total"] == 0


def test_a_finished_task_on_the_page_has_its_metrics_and_image_urls(
    api: httpx.Client, server: MockServer
) -> None:
    task_id = submit(api, n=2, size="1280*720")
    server.clock.advance(60)
    (task,) = api.get("/_mockscope/tasks/page").json()["tasks"]
    assert task["task_metrics"] == {"TOTAL": 2, "SUCCEEDED": 2, "FAILED": 0}
    assert task["size"] == "1280*720"
    assert [image["url"] for image in task["images"]] == [
        server.result_url(task_id, 0),
        server.result_url(task_id, 1),
    ]
    assert httpx.get(task["images"][0]["url"]).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-1",
        "page=1.5",
        "page=99999999999",
        "page_size=0",
        "page_size=101",
        "status=DONE",
        "status=UNKNOWN",
        "account_id=sk-test",
        "account_id=%FF",
    ],
)
def test_a_bad_page_query_is_a_400_envelope(api: httpx.Client, query: str) -> None:
    refused = api.get(f"/_mockscope/tasks/page?{query}")
    assert refused.status_code == 400
    assert refused.json()["code"] == "InvalidParameter"
    assert_service_voice(refused.json()["message"])


def test_the_journal_checks_name_the_offending_entries(
    api: httpx.Client, server: MockServer
) -> None:
    task_id = submit(api, n=1)
    for _ in range(2):
        server.clock.advance(0.3)
        read_task(api, task_id)
    checks = api.get("/_mockscope/journal/checks").json()
    found = {check["check"]: check["findings"] for check in checks["checks"]}
    assert list(found) == [
        "polls_too_fast",
        "polls_after_terminal",
        "retry_after_ignored",
        "duplicate_submissions",
        "unpolled_tasks",
    ]
    (fast,) = found["polls_too_fast"]
    assert fast["task_id"] == task_id
    assert fast["seqs"] == [2, 3]
    assert fast["message"] == server.journal.polls_faster_than(1)[0]
    assert api.get("/_mockscope/journal/checks?max_polls_per_second=10").json()["checks"][0] == {
        "check": "polls_too_fast",
        "findings": [],
    }
    for rate in ("0", "-1", "nan", "inf", "1e9", "x"):
        refused = api.get(f"/_mockscope/journal/checks?max_polls_per_second={rate}")
        assert refused.status_code == 400, rate


def test_a_duplicate_submission_is_worded_without_the_key(api: httpx.Client) -> None:
    key = "sk-0123456789abcdef0123"
    headers = {"Authorization": f"Bearer {key}", "X-DashScope-Async": "enable"}
    for _ in range(2):
        api.post(CREATE_PATH, json={"model": "wanx-v1", "input": {"prompt": "p"}}, headers=headers)
    text = api.get("/_mockscope/journal/checks").text
    assert key not in text
    assert "sk-…0123 submitted the same work 2 times" in text


def test_the_journal_keeps_the_request_line_and_gives_the_latest(
    api: httpx.Client, server: MockServer
) -> None:
    task_id = submit(api, n=1)
    server.add_rule("delay; seconds=2; times=once")
    answers: list[httpx.Response] = []
    reader = threading.Thread(
        target=lambda: answers.append(api.get(f"/api/v1/tasks/{task_id}", headers=READ_HEADERS))
    )
    reader.start()
    held_answers(server)
    server.clock.advance(2)
    reader.join(5)
    assert answers[0].status_code == 200
    latest = api.get("/_mockscope/journal?limit=1").json()["entries"]
    # The held read: its latency is the declared delay, on the fake's clock.
    assert [(e["method"], e["path"], e["latency_ms"]) for e in latest] == [
        ("GET", f"/api/v1/tasks/{task_id}", 2000)
    ]
    first = api.get("/_mockscope/journal?limit=2").json()["entries"][0]
    assert (first["method"], first["path"], first["latency_ms"]) == ("POST", CREATE_PATH, 0)
    assert api.get("/_mockscope/journal?limit=0").status_code == 400


def test_rules_are_added_one_at_a_time_and_removed_by_position(api: httpx.Client) -> None:
    added = api.post("/_mockscope/scenarios/rules", json={"rule": "failed; code=InternalError"})
    assert added.status_code == 200
    api.post(
        "/_mockscope/scenarios/rules",
        json={"rule": {"outcome": "error", "code": "Throttling.RateQuota", "times": "once"}},
    )
    refused = api.post(
        CREATE_PATH, json={"model": "wanx-v1", "input": {"prompt": "p"}}, headers=OTHER
    )
    assert refused.status_code == 429
    rules = api.get("/_mockscope/scenarios").json()["rules"]
    assert [(r["rule"]["outcome"], r["fired"]) for r in rules] == [("failed", 0), ("error", 1)]
    left = api.delete("/_mockscope/scenarios/rules/1").json()["rules"]
    assert [(r["rule"]["outcome"], r["fired"]) for r in left] == [("error", 1)]
    assert api.delete("/_mockscope/scenarios/rules/2").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"nope",
        b"{}",
        b'{"rule": ""}',
        b'{"rule": 7}',
        b'{"rule": "nonsense"}',
        b'{"rule": "failed; code"}',
        b'{"rule": {"outcome": "failed", "probability": 2}}',
        b'{"rule": "failed", "more": 1}',
    ],
)
def test_a_bad_rule_is_a_400_that_says_what_to_send(
    api: httpx.Client, server: MockServer, body: bytes
) -> None:
    refused = api.post("/_mockscope/scenarios/rules", content=body)
    assert refused.status_code == 400
    assert refused.json()["code"] == "InvalidParameter"
    assert "POST /_mockscope/scenarios/rules takes a JSON body" in refused.json()["message"]
    assert server.rules == ()


@pytest.mark.parametrize("position", ["0", "-1", "x", "1.0", "99999999999"])
def test_a_bad_rule_position_is_a_400(api: httpx.Client, position: str) -> None:
    assert api.delete(f"/_mockscope/scenarios/rules/{position}").status_code == 400


def test_a_reset_by_account_id_forgets_that_account_only(api: httpx.Client) -> None:
    mine = submit(api, n=1)
    theirs = api.post(
        CREATE_PATH, json={"model": "wanx-v1", "input": {"prompt": "p"}}, headers=OTHER
    ).json()["output"]["task_id"]
    done = api.post(f"/_mockscope/reset?account_id={account_uid('sk-other')}")
    assert done.json() == {"ok": True}
    assert read_task(api, mine)["task_status"] == "PENDING"
    assert [t["task_id"] for t in api.get("/_mockscope/tasks/page").json()["tasks"]] == [mine]
    assert theirs
    # An id that names nobody resets nothing; both names at once are refused.
    assert api.post(f"/_mockscope/reset?account_id={'1' * 16}").json() == {"ok": True}
    assert read_task(api, mine)["task_status"] == "PENDING"
    both = api.post(f"/_mockscope/reset?account=sk-test&account_id={account_uid('sk-test')}")
    assert both.status_code == 400
    assert api.post("/_mockscope/reset?account_id=12").status_code == 400
