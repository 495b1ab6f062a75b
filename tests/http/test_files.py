"""Result images: signed object URLs shaped like live ones, checked and served as OSS does."""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote, unquote

import httpx
import pytest
from PIL import Image

from mockscope import ManualClock, MockServer
from tests.support import (
    read_task,
    result_url_for,
    result_url_parts,
    submit,
    validated_server,
)

DAY_S = 24 * 3600


def _finished(api: httpx.Client, server: MockServer, **params: object) -> tuple[str, list[str]]:
    task_id = submit(api, **params)
    server.clock.advance(60)
    output = read_task(api, task_id)
    results = output["results"]
    assert isinstance(results, list)
    return task_id, [item["url"] for item in results if "url" in item]


def _end_ms(server: MockServer, task_id: str) -> int:
    end_ms = next(task for task in server.tasks() if task.task_id == task_id).end_ms
    assert end_ms is not None
    return end_ms


def _code(response: httpx.Response) -> str:
    assert response.headers["Content-Type"].startswith("application/xml"), response.text
    return response.text.split("<Code>")[1].split("</Code>")[0]


def _element(response: httpx.Response, name: str) -> str:
    return response.text.split(f"<{name}>")[1].split(f"</{name}>")[0]


def _with_query(url: str, name: str, value: str) -> str:
    path, _, query = url.partition("?")
    pairs = [pair.split("=", 1) for pair in query.split("&")]
    return path + "?" + "&".join(f"{k}={value if k == name else v}" for k, v in pairs)


# -- the URLs -----------------------------------------------------------------------------------


def test_result_urls_are_signed_objects_of_their_own_on_the_fakes_host(
    api: httpx.Client, server: MockServer
) -> None:
    task_id, urls = _finished(api, server, n=3)
    end_ms = _end_ms(server, task_id)
    parts = [result_url_parts(url) for url in urls]
    assert {part["base"] for part in parts} == {server.url}
    assert [part["task_id"] for part in parts] == [task_id] * 3
    assert [part["number"] for part in parts] == ["1", "2", "3"], "images numbered from 1"
    assert len({part["file"] for part in parts}) == 3, "every image its own file name"
    assert all(not url.split("?")[0].endswith("/0.png") for url in urls)
    # Expires: the task's end + 24 hours, in epoch seconds (task bodies say when it ended).
    assert {int(part["expires"]) for part in parts} == {(end_ms + DAY_S * 1000) // 1000}
    assert len({part["key_id"] for part in parts}) == 1, "one key id per server"
    assert len({part["signature"] for part in parts}) == 3


def test_two_tasks_never_share_a_file_name(api: httpx.Client, server: MockServer) -> None:
    _, first = _finished(api, server, n=2, seed=9)
    _, second = _finished(api, server, n=2, seed=9)
    names = [url.split("?")[0].rsplit("/", 1)[1] for url in first + second]
    assert len(set(names)) == 4


def test_the_same_seed_signs_the_same_urls_and_another_seed_other_ones() -> None:
    def urls(seed: int) -> list[str]:
        with validated_server(clock=ManualClock(), seed=seed) as server:
            with httpx.Client(base_url=server.url) as api:
                _, found = _finished(api, server, n=2)
            return [url.removeprefix(server.url) for url in found]

    assert urls(3) == urls(3)
    assert urls(3) != urls(4)


def test_the_public_url_is_the_base_of_result_urls() -> None:
    with (
        validated_server(
            clock=ManualClock(), public_url="https://images.example.test/fake/"
        ) as server,
        httpx.Client(base_url=server.url) as api,
    ):
        _, urls = _finished(api, server, n=1)
        assert result_url_parts(urls[0])["base"] == "https://images.example.test/fake"
        # Behind such a proxy the path below the base reaches the fake unchanged.
        local = server.url + urls[0].removeprefix("https://images.example.test/fake")
        assert api.get(local).status_code == 200


# -- downloads ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "dimensions"), [("1024*1024", (1024, 1024)), ("720*1280", (720, 1280))]
)
def test_result_urls_download_pngs_of_the_requested_size(
    api: httpx.Client, server: MockServer, size: str, dimensions: tuple[int, int]
) -> None:
    _, urls = _finished(api, server, n=2, size=size, seed=5)
    images = []
    for url in urls:
        response = api.get(url)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "image/png"
        images.append(response.content)
        with Image.open(io.BytesIO(response.content)) as image:
            assert image.format == "PNG"
            assert image.size == dimensions
    assert images[0] != images[1], "image k is rendered from seed + k"


def test_the_same_seed_and_prompt_give_the_same_image(
    api: httpx.Client, server: MockServer
) -> None:
    _, (url_a,) = _finished(api, server, n=1, seed=9)
    _, (url_b,) = _finished(api, server, n=1, seed=9)
    assert url_a != url_b
    assert api.get(url_a).content == api.get(url_b).content


def test_a_download_carries_the_headers_of_an_oss_object(
    api: httpx.Client, server: MockServer
) -> None:
    task_id, (url,) = _finished(api, server, n=1)
    response = api.get(url)
    body = response.content
    md5 = hashlib.md5(body).digest()
    assert response.headers["ETag"] == f'"{md5.hex().upper()}"'
    assert response.headers["Content-MD5"] == base64.b64encode(md5).decode()
    assert response.headers["Content-Length"] == str(len(body))
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["x-oss-object-type"] == "Normal"
    assert len(response.headers["x-oss-request-id"]) == 24
    end_ms = _end_ms(server, task_id)
    modified = parsedate_to_datetime(response.headers["Last-Modified"])
    assert modified == datetime.fromtimestamp(end_ms // 1000, UTC)


@pytest.mark.parametrize(
    ("asked", "first", "last"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=10-19", 10, 19),
        ("bytes=-10", -10, -1),
        ("bytes=100-", 100, -1),
        ("bytes=0-99999999", 0, -1),
        ("bytes=0-4,10-14", 0, 4),
    ],
)
def test_a_range_is_honoured_with_206(
    api: httpx.Client, server: MockServer, asked: str, first: int, last: int
) -> None:
    _, (url,) = _finished(api, server, n=1)
    whole = api.get(url).content
    size = len(whole)
    part = api.get(url, headers={"Range": asked})
    assert part.status_code == 206
    start, end = first % size, last % size
    assert part.content == whole[start : end + 1]
    assert part.headers["Content-Range"] == f"bytes {start}-{end}/{size}"
    assert part.headers["Content-Length"] == str(end - start + 1)


@pytest.mark.parametrize("asked", ["bytes=999999999-", "bytes=-0"])
def test_a_range_past_the_end_is_416(api: httpx.Client, server: MockServer, asked: str) -> None:
    _, (url,) = _finished(api, server, n=1)
    size = len(api.get(url).content)
    refused = api.get(url, headers={"Range": asked})
    assert refused.status_code == 416
    assert _code(refused) == "InvalidRange"
    assert refused.headers["Content-Range"] == f"bytes */{size}"


@pytest.mark.parametrize("asked", ["byte=0-9", "bytes=9-0", "bytes=a-b", "lines=1-2"])
def test_a_range_that_does_not_parse_is_ignored_as_oss_does(
    api: httpx.Client, server: MockServer, asked: str
) -> None:
    _, (url,) = _finished(api, server, n=1)
    response = api.get(url, headers={"Range": asked})
    assert response.status_code == 200
    assert "Content-Range" not in response.headers


def test_conditional_requests_get_304_and_412(api: httpx.Client, server: MockServer) -> None:
    _, (url,) = _finished(api, server, n=1)
    first = api.get(url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    for headers in (
        {"If-None-Match": etag},
        {"If-None-Match": f'W/{etag}, "other"'},
        {"If-None-Match": "*"},
        {"If-Modified-Since": modified},
    ):
        again = api.get(url, headers=headers)
        assert again.status_code == 304, headers
        assert again.content == b""
        assert again.headers["ETag"] == etag
    assert api.get(url, headers={"If-None-Match": '"0000"'}).status_code == 200
    earlier = format_datetime(parsedate_to_datetime(modified).replace(year=2000), usegmt=True)
    assert api.get(url, headers={"If-Modified-Since": earlier}).status_code == 200
    assert api.get(url, headers={"If-Match": etag}).status_code == 200
    for headers in ({"If-Match": '"0000"'}, {"If-Unmodified-Since": earlier}):
        refused = api.get(url, headers=headers)
        assert refused.status_code == 412
        assert _code(refused) == "PreconditionFailed"


# -- what the fake verifies ----------------------------------------------------------------------


def test_a_changed_path_expiry_or_signature_does_not_match(
    api: httpx.Client, server: MockServer
) -> None:
    _, urls = _finished(api, server, n=2)
    _, (other,) = _finished(api, server, n=1)
    first, second = urls
    signature = result_url_parts(first)["signature"]
    forged = [
        second.split("?")[0] + "?" + first.split("?")[1],  # another image, same query
        other.split("?")[0] + "?" + first.split("?")[1],  # another task
        first.replace("-1.png?", "-3.png?"),
        _with_query(first, "Expires", str(int(result_url_parts(first)["expires"]) + 3600)),
        _with_query(first, "Signature", quote("A" + unquote(signature)[1:], safe="")),
    ]
    for url in forged:
        refused = api.get(url)
        assert refused.status_code == 403, url
        assert _code(refused) == "SignatureDoesNotMatch"
        assert "The request signature we calculated does not match" in refused.text
        assert _element(refused, "StringToSign").startswith("GET\n\n\n")
    assert api.get(first).status_code == 200, "the real one still works"


def test_past_expires_on_the_clock_is_access_denied_as_oss_words_it(
    api: httpx.Client, server: MockServer
) -> None:
    _, (url,) = _finished(api, server, n=1)
    expires = int(result_url_parts(url)["expires"])
    server.clock.advance(expires - server.clock.now_ms() / 1000)
    assert api.get(url).status_code == 200, "valid up to its Expires second"
    server.clock.advance(1)
    expired = api.get(url)
    assert expired.status_code == 403
    assert _code(expired) == "AccessDenied"
    assert _element(expired, "Message") == "Request has expired."
    stamp = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert _element(expired, "Expires") == stamp
    assert _element(expired, "ServerTime").endswith("Z")
    # An Expires moved into the past is expired too: time is checked before the signature.
    past = _with_query(url, "Expires", "1000")
    assert _element(api.get(past), "Message") == "Request has expired."


def test_a_head_on_a_get_signed_url_is_refused_the_signature_covers_the_verb(
    api: httpx.Client, server: MockServer
) -> None:
    _, (url,) = _finished(api, server, n=1)
    head = api.head(url)
    assert head.status_code == 403
    assert head.content == b""
    # A URL signed for HEAD is answered with the object's headers and no body.
    head_url = server.result_url(result_url_parts(url)["task_id"], 0, method="HEAD")
    assert head_url.split("?")[0] == url.split("?")[0]
    answered = api.head(head_url)
    assert answered.status_code == 200
    assert answered.content == b""
    assert answered.headers["ETag"] == api.get(url).headers["ETag"]
    assert answered.headers["Content-Length"] == str(len(api.get(url).content))
    assert api.get(head_url).status_code == 403, "and that one is no good for GET"


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        ("", "AccessDenied", "You have no right to access this object because of bucket acl."),
        ("?Expires=99999999999", "AccessDenied", "Request is missing one or more"),
        ("?Expires=soon&OSSAccessKeyId=x&Signature=y", "AccessDenied", "Invalid Expires"),
        (
            "?Expires=99999999999&OSSAccessKeyId=LTAIother&Signature=y",
            "InvalidAccessKeyId",
            "The OSS Access Key Id you provided does not exist in our records.",
        ),
    ],
)
def test_unsigned_and_half_signed_requests_are_refused(
    api: httpx.Client, server: MockServer, query: str, code: str, message: str
) -> None:
    _, (url,) = _finished(api, server, n=1)
    refused = api.get(url.split("?")[0] + query)
    assert refused.status_code == 403
    assert _code(refused) == code
    assert _element(refused, "Message").startswith(message)


def test_the_first_of_a_repeated_parameter_counts(api: httpx.Client, server: MockServer) -> None:
    _, (url,) = _finished(api, server, n=1)
    assert api.get(url + "&Signature=Zm9v").status_code == 200
    assert api.get(url.replace("?", "?Signature=Zm9v&")).status_code == 403


# -- objects that are not there -------------------------------------------------------------------


def test_no_image_before_the_task_succeeds(api: httpx.Client, server: MockServer) -> None:
    task_id = submit(api, n=1)
    server.clock.advance(60)
    url = result_url_for(server, task_id, 0)
    server.reset()  # the task is gone: its signed URL names nothing any more
    response = api.get(url)
    assert response.status_code == 404
    assert _code(response) == "NoSuchKey"


def test_a_signed_url_for_a_missing_image_is_not_found(
    api: httpx.Client, server: MockServer
) -> None:
    task_id, _ = _finished(api, server, n=1)
    response = api.get(result_url_for(server, task_id, 7))
    assert response.status_code == 404
    assert _code(response) == "NoSuchKey"


def test_results_of_a_failed_task_are_not_served(api: httpx.Client, server: MockServer) -> None:
    task_id = submit(api, n=1, size="1*1")
    server.clock.advance(60)
    assert read_task(api, task_id)["task_status"] == "FAILED"
    assert api.get(result_url_for(server, task_id, 0)).status_code == 404


@pytest.mark.parametrize("path", ["/results/nope", "/results/a/b/c/d/e.png", "/results/x.png?a=b"])
def test_anything_else_under_results_is_an_oss_error(api: httpx.Client, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 403
    assert _code(response) == "AccessDenied"


def test_the_server_says_which_url_an_image_has(api: httpx.Client, server: MockServer) -> None:
    task_id, urls = _finished(api, server, n=2)
    assert [server.result_url(task_id, k) for k in range(2)] == urls
    with pytest.raises(LookupError):
        server.result_url("no-such-task", 0)
    with pytest.raises(LookupError):
        server.result_url(submit(api, n=1), 0)  # not finished: no URL yet


def test_downloads_are_journaled_with_their_task(api: httpx.Client, server: MockServer) -> None:
    task_id, (url,) = _finished(api, server, n=1)
    api.get(url)
    api.get(url.replace("Expires=", "Expires=9"))  # forged: refused, still about the task
    api.get(url, headers={"X-Mockscope-Scenario": "error; code=InternalError"})
    downloads = server.journal.entries(operation="download")
    assert [(entry.task_id, entry.status) for entry in downloads] == [
        (task_id, 200),
        (task_id, 403),
        (task_id, 500),
    ]
