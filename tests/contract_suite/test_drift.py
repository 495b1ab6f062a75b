"""mockscope.drift: normal forms, comparison, redaction, recordings, the budget, `mockscope check`.

All in-process and on loopback: the "target" here is a second in-process fake.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from mockscope.cli import main
from mockscope.drift import CheckOptions, api_root, replay, run_check
from mockscope.drift.compare import compare_normals
from mockscope.drift.normalize import normalize, normalize_response
from mockscope.drift.probes import BY_NAME, PROBES, UNKNOWN_TASK
from mockscope.drift.record import REDACTED, Redactor, read_recording
from mockscope.drift.runner import Outcome, Step, poll_delays
from mockscope.drift.wire import Request, Response, is_loopback, opener_for, send

FIXTURE = Path(__file__).parent / "fixtures" / "standin-exchanges.jsonl"


def _response(status: int, document: object, **headers: str) -> Response:
    merged = {"content-type": "application/json; charset=utf-8", **headers}
    return Response(status, merged, json.dumps(document).encode())


def _polled(*statuses: str) -> Outcome:
    outcome = Outcome(BY_NAME["poll-a"])
    for index, status in enumerate(statuses):
        body = {"request_id": "r", "output": {"task_id": "t", "task_status": status}}
        step = Step("poll-a", index, float(index), Request("GET", "/x"), _response(200, body))
        outcome.steps.append(step)
    return outcome


# -- normal forms and comparison ------------------------------------------------------------------


def test_a_normal_form_keeps_shape_and_codes_not_values() -> None:
    request_id = "a1c0561c-1dfe-98a6-a62f-983577b8bc5e"  # recorded live
    answer = _response(
        400, {"code": "InvalidParameter", "message": "n is too big", "request_id": request_id}
    )
    normal = normalize_response(
        Response(400, {**answer.headers, "x-request-id": request_id}, answer.body)
    )
    assert normal.status == 400
    assert normal.error_code == "InvalidParameter"
    assert normal.fields == {
        "$": "object",
        "code": "string",
        "message": "string",
        "request_id": "string",
    }
    assert normal.headers == {"content-type": "application/json", "x-request-id": "request-id"}
    assert normal.shapes == {"request_id": "request-id"}
    assert normal.summary() == "400 InvalidParameter"


def test_array_items_share_one_shape_and_empty_arrays_are_marked() -> None:
    body = {"data": [], "results": [{"url": "u"}, {"code": "c", "message": "m"}], "n": 1.5}
    normal = normalize_response(_response(200, body))
    assert normal.fields["results[]"] == "object"
    assert normal.fields["results[].url"] == "string"
    assert normal.fields["results[].code"] == "string"
    assert normal.fields["n"] == "number"
    assert normal.empty_arrays == frozenset({"data"})


def test_a_polled_probe_keeps_its_status_sequence_with_repeats_collapsed() -> None:
    normal = normalize(_polled("PENDING", "RUNNING", "RUNNING", "SUCCEEDED"))
    assert normal.sequence == ("PENDING", "RUNNING", "SUCCEEDED")
    assert normal.summary() == "200 PENDING → RUNNING → SUCCEEDED"


def test_identical_answers_do_not_differ_whatever_their_values() -> None:
    mine = normalize_response(_response(200, {"output": {"task_id": "a"}, "request_id": "1"}))
    theirs = normalize_response(_response(200, {"output": {"task_id": "b"}, "request_id": "2"}))
    assert compare_normals("p", mine, theirs) == []


def test_another_error_code_is_a_difference() -> None:
    mine = normalize_response(
        _response(400, {"code": "OtherCode", "message": "", "request_id": ""})
    )
    theirs = normalize_response(
        _response(400, {"code": "InvalidParameter", "message": "", "request_id": ""})
    )
    [difference] = compare_normals("create-a", mine, theirs)
    assert (difference.aspect, difference.target, difference.fake) == (
        "error code",
        "OtherCode",
        "InvalidParameter",
    )


def test_fields_and_types_are_compared_but_not_under_an_empty_list() -> None:
    mine = normalize_response(_response(200, {"data": [], "total": 0, "extra": "x"}))
    theirs = normalize_response(_response(200, {"data": [{"task_id": "t"}], "total": "0"}))
    aspects = {(d.aspect, d.target, d.fake) for d in compare_normals("list", mine, theirs)}
    assert aspects == {
        ("field `extra`", "string", "absent"),
        ("field `total`", "integer", "string"),
    }


def test_different_statuses_are_not_buried_under_field_differences() -> None:
    mine = normalize_response(_response(400, {"code": "X", "message": "", "request_id": ""}))
    theirs = normalize_response(_response(200, {"output": {"task_status": "PENDING"}}))
    aspects = [d.aspect for d in compare_normals("create-a", mine, theirs)]
    assert aspects == ["status", "error code", "task status"]


def test_a_different_status_sequence_is_a_difference() -> None:
    mine, theirs = (
        normalize(_polled("RUNNING", "SUCCEEDED")),
        normalize(_polled("RUNNING", "FAILED")),
    )
    aspects = {d.aspect for d in compare_normals("poll-a", mine, theirs)}
    assert aspects == {"task status", "status sequence"}


LIVE_URL = (
    "https://dashscope-result-wlcb-acdr-1.oss-cn-wulanchabu-acdr-1.aliyuncs.com/1d/93/20250507/"
    "b480ba54/d4ae9791-77fe-49fa-9645-c7e112788ff3-1.png?Expires=1746670458&OSSAccessKeyId="
    "LTAI5tKPD3TMqf2Lna1fASuh&Signature=1%2FQOQqxXe%2F74YoELrJSy%2FlGRWks%3D"
)


def _succeeded(url: str, request_id: str) -> Response:
    output = {"task_id": "t", "task_status": "SUCCEEDED", "results": [{"url": url}]}
    return _response(200, {"request_id": request_id, "output": output})


def test_a_live_signed_url_and_the_fakes_compare_equal_in_shape() -> None:
    fake_url = run_check(CheckOptions(target="fake")).fake
    polled = next(outcome for outcome in fake_url if outcome.probe.name == "poll-a")
    fake = normalize(polled)
    live = normalize_response(_succeeded(LIVE_URL, "33da8e6b-1309-9a44-be83-352165959608"))
    shape = "url .png?Expires=<epoch>&OSSAccessKeyId=…&Signature=…"
    assert live.shapes["output.results[].url"] == fake.shapes["output.results[].url"] == shape
    assert live.shapes["request_id"] == fake.shapes["request_id"] == "request-id"
    unsigned = normalize_response(
        _succeeded(LIVE_URL.split("?")[0], "6a1d0e5c-8e0f-4c2b-9d4e-2f7b1c3a5e60")
    )
    aspects = {(d.aspect, d.target, d.fake) for d in compare_normals("poll-a", live, unsigned)}
    assert aspects == {
        ("shape of `output.results[].url`", shape, "url .png"),
        ("shape of `request_id`", "request-id", "uuid"),
    }


def test_the_gateways_timing_headers_are_compared_on_success() -> None:
    body = {"output": {"task_status": "PENDING", "task_id": "t"}, "request_id": "r"}
    timed = normalize_response(
        _response(
            200,
            body,
            **{name: "1" for name in ("req-cost-time", "req-arrive-time", "resp-start-time")},
        )
    )
    bare = normalize_response(_response(200, body))
    aspects = [d.aspect for d in compare_normals("create-a", timed, bare)]
    assert aspects == [
        "header req-arrive-time",
        "header req-cost-time",
        "header resp-start-time",
    ]


# -- redaction and recordings ----------------------------------------------------------------------


def test_redaction_removes_the_key_and_credentials_but_keeps_types() -> None:
    redactor = Redactor(["sk-secret"])
    request = redactor.request(
        Request("GET", "/api/v1/tasks?k=sk-secret", {"Authorization": "Bearer sk-secret"}, None)
    )
    assert "sk-secret" not in json.dumps([request.path, dict(request.headers)])
    policy = {
        "data": {
            "policy": "eyJ",
            "signature": "c2ln",
            "oss_access_key_id": "id",
            "upload_dir": "d",
            "upload_host": "https://oss.example/x?Signature=abc&OSSAccessKeyId=id",
        },
        "request_id": "sk-secret",
    }
    raw = _response(200, policy, **{"set-cookie": "session=1", "x-request-id": "r"})
    redacted = redactor.response(raw)
    text = redacted.body.decode()
    for secret in ("sk-secret", "eyJ", "c2ln", "Signature=abc", "OSSAccessKeyId=id"):
        assert secret not in text
    assert REDACTED in text
    assert "set-cookie" not in redacted.headers
    assert normalize_response(redacted).fields == normalize_response(raw).fields


def test_redaction_keeps_the_shape_of_a_signed_url() -> None:
    raw = _succeeded(LIVE_URL, "33da8e6b-1309-9a44-be83-352165959608")
    redacted = Redactor(["sk-secret"]).response(raw)
    text = redacted.body.decode()
    assert "LTAI5tKPD3TMqf2Lna1fASuh" not in text
    assert "1%2FQOQqxXe" not in text
    assert "Expires=1746670458&OSSAccessKeyId=<redacted>&Signature=<redacted>" in text
    assert normalize_response(redacted).shapes == normalize_response(raw).shapes


def test_a_recording_round_trips_and_replays_without_drift(tmp_path: Path) -> None:
    result = run_check(CheckOptions(target="fake"))
    assert not result.drifted, result.markdown()
    path = tmp_path / "exchanges.jsonl"
    result.write_recording(path, secrets=["sk-mockscope-drift-target"])
    assert "sk-mockscope-drift-target" not in path.read_text()
    recording = read_recording(path)
    assert [o.probe.name for o in recording.outcomes] == [p.name for p in PROBES]
    for original, read in zip(result.target, recording.outcomes, strict=True):
        assert normalize(read) == normalize(original)
    assert not replay(path).drifted


def test_a_tampered_recording_replays_as_drift(tmp_path: Path) -> None:
    path = tmp_path / "exchanges.jsonl"
    run_check(CheckOptions(target="fake")).write_recording(path)
    text = path.read_text().replace(
        '\\"code\\": \\"ModelNotFound\\"', '\\"code\\": \\"OtherCode\\"'
    )
    path.write_text(text)
    result = replay(path)
    assert [(d.probe, d.aspect, d.target, d.fake) for d in result.differences] == [
        ("create-unknown-model", "error code", "OtherCode", "ModelNotFound")
    ]
    assert "| create-unknown-model | error code | OtherCode | ModelNotFound |" in result.markdown()


def test_the_recorded_stand_in_fixture_still_replays_without_drift() -> None:
    # Recorded with `mockscope check --target live --record` against a `mockscope serve`
    # stand-in; a recording of the live service dropped here pins the fake to the service.
    result = replay(FIXTURE)
    assert not result.drifted, result.markdown()


# -- the probes' budget and pacing ---------------------------------------------------------------


def test_the_probes_stay_within_the_image_budget() -> None:
    spent = {
        budget: run_check(CheckOptions(target="fake", budget_images=budget)) for budget in (0, 1, 2)
    }
    assert [spent[budget].images for budget in (0, 1, 2)] == [0, 1, 2]
    skipped = {b: {o.probe.name for o in r.target if o.skipped} for b, r in spent.items()}
    assert skipped[0] == {
        "create-a",
        "create-b",
        "cancel-b",
        "get-b",
        "poll-a",
        "cancel-a",
        "list-a",
    }
    assert skipped[1] == {"create-b", "cancel-b", "get-b"}
    assert skipped[2] == set()
    for result in spent.values():
        assert not result.drifted, result.markdown()
    assert (
        "| create-b | submit a second task while the first runs | skipped: over the image budget"
        in spent[1].markdown()
    )


def test_every_billable_probe_asks_for_one_image() -> None:
    for probe in PROBES:
        if probe.images:
            assert probe.body is not None
            assert json.loads(probe.body)["parameters"]["n"] == 1
    assert sum(probe.images for probe in PROBES) == 2


def test_the_polls_follow_the_sdk_schedule() -> None:
    delays = poll_delays()
    assert [next(delays) for _ in range(11)] == [1, 1, 2, 2, 2, 4, 4, 4, 5, 5, 5]


def test_the_probe_run_mirrors_the_cancel_of_a_queued_task() -> None:
    result = run_check(CheckOptions(target="fake"))
    answers = {o.probe.name: normalize(o).summary() for o in result.fake}
    assert answers["cancel-b"] == "200"
    assert answers["get-b"] == "200 CANCELED"
    assert answers["poll-a"] == "200 RUNNING → SUCCEEDED"
    assert answers["get-unknown"] == "200 UNKNOWN"


# -- the wire ------------------------------------------------------------------------------------


class _Redirecting(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", "http://192.0.2.1/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def redirecting() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Redirecting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_redirect_is_reported_not_followed(redirecting: str) -> None:
    response = send(opener_for(redirecting), redirecting, Request("GET", "/x"), 5)
    assert response.status == 302


def test_no_answer_is_status_zero() -> None:
    base = "http://127.0.0.1:9"  # the discard port: nothing listens there
    response = send(opener_for(base), base, Request("GET", f"/api/v1/tasks/{UNKNOWN_TASK}"), 5)
    assert response.status == 0
    assert response.error


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8080", True),
        ("http://[::1]:8080", True),
        ("http://localhost:1", True),
        ("https://dashscope.aliyuncs.com", False),
    ],
)
def test_loopback_targets_are_recognised(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


@pytest.mark.parametrize(
    "given",
    [
        "https://dashscope.aliyuncs.com",
        "https://dashscope.aliyuncs.com/",
        "https://dashscope.aliyuncs.com/api/v1/",
    ],
)
def test_the_base_url_may_name_the_sdk_path(given: str) -> None:
    assert api_root(given) == "https://dashscope.aliyuncs.com"


# -- the command line -----------------------------------------------------------------------------


def test_check_against_the_fake_reports_no_drift_and_exits_0(tmp_path: Path) -> None:
    report, record = tmp_path / "drift.md", tmp_path / "exchanges.jsonl"
    result = CliRunner().invoke(
        main, ["check", "--target", "fake", "--report", str(report), "--record", str(record)]
    )
    assert result.exit_code == 0, result.output
    assert "**no drift**" in report.read_text()
    assert CliRunner().invoke(main, ["check", "--replay", str(record)]).exit_code == 0


def test_check_exits_1_on_drift(tmp_path: Path) -> None:
    record = tmp_path / "exchanges.jsonl"
    CliRunner().invoke(main, ["check", "--record", str(record)])
    record.write_text(record.read_text().replace("BadRequest.EmptyModel", "OtherCode"))
    result = CliRunner().invoke(main, ["check", "--replay", str(record)])
    assert result.exit_code == 1
    assert "| create-no-model | error code | OtherCode | BadRequest.EmptyModel |" in result.output


@pytest.mark.parametrize(
    ("arguments", "environment", "message"),
    [
        (["--target", "live"], {}, "without --live-opt-in"),
        (["--target", "live", "--live-opt-in"], {}, "needs --api-key"),
        (["--target", "live"], {"DASHSCOPE_API_KEY": "sk-x"}, "without --live-opt-in"),
        (["--budget-images", "-1"], {}, "budget-images"),
        (["--target", "staging"], {}, "staging"),
    ],
)
def test_check_refuses_to_start_on_usage_errors_with_exit_2(
    arguments: list[str],
    environment: dict[str, str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("DASHSCOPE_API_KEY", "MOCKSCOPE_LIVE", "MOCKSCOPE_LIVE_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(main, ["check", *arguments], env=environment)
    assert result.exit_code == 2, result.output
    assert message in result.output
