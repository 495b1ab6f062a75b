"""Answers that schemathesis, run over the served document with the control plane and the file
routes included, found wrong: each was a 500 or an answer the document does not allow."""

from __future__ import annotations

import httpx
import pytest

from tests.support import READ_HEADERS


def test_a_forged_signature_with_non_ascii_characters_is_refused_not_a_crash(
    api: httpx.Client,
) -> None:
    form = {"policy": "e30=", "Signature": "ü", "key": "a/b.png", "OSSAccessKeyId": "x"}
    answer = api.post("/oss", data=form, files={"file": ("b.png", b"png")})
    assert answer.status_code == 403
    assert answer.headers["Content-Type"].startswith("application/xml")


def test_a_path_with_an_encoded_line_break_gets_the_json_envelope(api: httpx.Client) -> None:
    for path in ("/_mockscope/tasks/a%0Ab/finish", "/nowhere%0A"):
        answer = api.post(path)
        assert answer.status_code == 404, path
        assert answer.json()["code"] == "NotFound", path


@pytest.mark.parametrize("key", ["some-task/i8", "a%0Ab/0.png"])
def test_any_result_key_is_answered_as_the_bucket_does(api: httpx.Client, key: str) -> None:
    answer = api.get(f"/results/{key}")
    assert answer.status_code in (403, 404)
    assert answer.headers["Content-Type"].startswith("application/xml")


def test_an_empty_account_filter_is_refused_as_documented(api: httpx.Client) -> None:
    answer = api.get("/_mockscope/tasks", params={"account": ""})
    assert answer.status_code == 400
    assert answer.json()["code"] == "InvalidParameter"


def test_the_clock_moves_at_most_a_century_at_a_time(api: httpx.Client) -> None:
    refused = api.post("/_mockscope/clock/advance", json={"seconds": 1e300})
    assert refused.status_code == 400
    assert "3155760000" in refused.json()["message"]
    moved = api.post("/_mockscope/clock/advance", json={"seconds": 3155760000})
    assert moved.status_code == 200
    assert moved.json()["now"].startswith("21")  # a hundred years on, still a timestamp
    assert api.get("/api/v1/tasks/x", headers=READ_HEADERS).status_code == 200
