"""Local reference images: getPolicy, the object-storage form upload, then `oss://` on submit."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import datetime
from http import HTTPStatus
from pathlib import Path

import httpx
import pytest
from dashscope import ImageSynthesis
from PIL import Image

from mockscope import MockServer, Operation
from mockscope.sdk import DashScopeBinding
from tests.support import API_KEY, CREATE_PATH, READ_HEADERS, SUBMIT_HEADERS, read_task


@pytest.fixture
def reference_png(tmp_path: Path) -> Path:
    path = tmp_path / "girl.png"
    Image.new("RGB", (256, 256), (200, 120, 40)).save(path)
    return path


def test_the_sdk_uploads_a_local_file_and_submits_it_as_oss(
    sdk: DashScopeBinding, server: MockServer, reference_png: Path
) -> None:
    response = ImageSynthesis.call(
        model="wanx-v1", prompt="a cat", n=1, ref_img=str(reference_png), ref_mode="refonly"
    )
    assert response.status_code == HTTPStatus.OK
    assert response.output.task_status == "SUCCEEDED"
    operations = [entry.operation for entry in server.journal.entries()]
    assert operations[:3] == [Operation.UPLOAD, Operation.UPLOAD, Operation.CREATE]
    (task,) = server.tasks()
    assert task.request.ref_img is not None
    assert task.request.ref_img.startswith("oss://dashscope-instant/")
    assert task.request.ref_img.endswith("/girl.png")
    (stored,) = server.uploads()
    assert (stored.key, stored.account) == (
        task.request.ref_img.removeprefix("oss://"),
        task.account,
    )
    assert stored.data == reference_png.read_bytes()
    assert stored.content_type == "image/png"


def test_a_local_path_the_sdk_cannot_upload_is_refused_as_an_invalid_url(
    sdk: DashScopeBinding, server: MockServer, tmp_path: Path
) -> None:
    # The SDK uploads only files that exist; a missing one goes out unchanged, as a path.
    missing = tmp_path / "no-such-girl.png"
    response = ImageSynthesis.async_call(model="wanx-v1", prompt="a cat", ref_img=str(missing))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert (response.code, response.message) == (
        "InvalidURL",
        "Invalid URL provided in your request.",
    )
    assert [entry.operation for entry in server.journal.entries()] == [Operation.CREATE]
    assert server.tasks() == []


def _certificate(api: httpx.Client) -> dict[str, str]:
    response = api.get(
        "/api/v1/uploads", params={"action": "getPolicy", "model": "wanx-v1"}, headers=READ_HEADERS
    )
    assert response.status_code == 200, response.text
    data: dict[str, str] = response.json()["data"]
    return data


def _upload(
    api: httpx.Client,
    certificate: dict[str, str],
    name: str = "ref.png",
    data: bytes = b"\x89PNG\r\n\x1a\nFAKE",
    **overrides: str,
) -> httpx.Response:
    fields = {
        "OSSAccessKeyId": certificate["oss_access_key_id"],
        "Signature": certificate["signature"],
        "policy": certificate["policy"],
        "key": f"{certificate['upload_dir']}/{name}",
        "x-oss-object-acl": "private",
        "x-oss-forbid-overwrite": "true",
        "success_action_status": "200",
        "x-oss-content-type": "image/png",
        **overrides,
    }
    return api.post(certificate["upload_host"], data=fields, files={"file": (name, data)})


def test_the_certificate_carries_what_the_sdk_reads(api: httpx.Client, server: MockServer) -> None:
    certificate = _certificate(api)
    assert certificate["upload_host"] == f"{server.url}/oss"
    assert certificate["x_oss_object_acl"] == "private"
    assert certificate["x_oss_forbid_overwrite"] == "true"
    assert certificate["upload_dir"].startswith("dashscope-instant/")


def test_an_upload_answers_exactly_200_and_is_usable_as_oss(api: httpx.Client) -> None:
    certificate = _certificate(api)
    uploaded = _upload(api, certificate)
    assert (uploaded.status_code, uploaded.content) == (200, b"")
    reference = f"oss://{certificate['upload_dir']}/ref.png"
    body = {
        "model": "wanx-v1",
        "input": {"prompt": "p", "ref_img": reference},
        "parameters": {"n": 1},
    }
    headers = {**SUBMIT_HEADERS, "X-DashScope-OssResourceResolve": "enable"}
    assert api.post(CREATE_PATH, json=body, headers=headers).status_code == 200


def test_an_upload_answers_with_the_objects_etag(api: httpx.Client) -> None:
    data = b"\x89PNG\r\n\x1a\nSOME BYTES"
    uploaded = _upload(api, _certificate(api), data=data)
    assert uploaded.status_code == 200
    assert uploaded.headers["ETag"] == f'"{hashlib.md5(data).hexdigest().upper()}"'
    assert len(uploaded.headers["x-oss-request-id"]) == 24


def test_the_policy_reads_as_an_oss_post_policy_and_names_no_one(
    api: httpx.Client, server: MockServer
) -> None:
    certificate = _certificate(api)
    text = base64.b64decode(certificate["policy"]).decode()
    policy = json.loads(text)
    assert list(policy) == ["expiration", "conditions"]
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert expires.timestamp() * 1000 == server.clock.now_ms() + 300_000
    assert policy["conditions"] == [
        ["content-length-range", 0, 10 * 1024 * 1024],
        ["starts-with", "$key", certificate["upload_dir"]],
        {"bucket": "dashscope-file-mgr"},
        {"x-oss-object-acl": "private"},
        {"x-oss-forbid-overwrite": "true"},
    ]
    assert "\\/" in text, "slashes escaped, as the live policy writes them"
    for secret in (API_KEY, "sk-", "account", "model"):
        assert secret not in text


def test_a_form_with_another_access_key_id_is_refused(api: httpx.Client) -> None:
    refused = _upload(api, _certificate(api), OSSAccessKeyId="LTAIsomeoneelse")
    assert refused.status_code == 403
    assert "<Code>InvalidAccessKeyId</Code>" in refused.text


def test_oss_without_the_resolve_header_gets_the_documented_400(api: httpx.Client) -> None:
    certificate = _certificate(api)
    _upload(api, certificate)
    body = {
        "model": "wanx-v1",
        "input": {"prompt": "p", "ref_img": f"oss://{certificate['upload_dir']}/ref.png"},
    }
    response = api.post(CREATE_PATH, json=body, headers=SUBMIT_HEADERS)
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParameter"
    assert response.json()["message"] == (
        "The provided URL does not appear to be valid. Ensure it is correctly formatted."
    )


@pytest.mark.parametrize("reference", ["oss://dashscope-instant/nobody/2024-03-01/x/ref.png"])
def test_an_unknown_oss_reference_is_invalid(api: httpx.Client, reference: str) -> None:
    body = {"model": "wanx-v1", "input": {"prompt": "p", "ref_img": reference}}
    headers = {**SUBMIT_HEADERS, "X-DashScope-OssResourceResolve": "enable"}
    response = api.post(CREATE_PATH, json=body, headers=headers)
    assert (response.status_code, response.json()["code"]) == (400, "InvalidURL")


def test_another_accounts_upload_cannot_be_referenced(api: httpx.Client) -> None:
    certificate = _certificate(api)
    _upload(api, certificate)
    body = {
        "model": "wanx-v1",
        "input": {"prompt": "p", "ref_img": f"oss://{certificate['upload_dir']}/ref.png"},
    }
    headers = {
        **SUBMIT_HEADERS,
        "Authorization": "Bearer sk-other",
        "X-DashScope-OssResourceResolve": "enable",
    }
    assert api.post(CREATE_PATH, json=body, headers=headers).json()["code"] == "InvalidURL"


def test_a_stale_certificate_is_refused_as_oss_does(api: httpx.Client, server: MockServer) -> None:
    certificate = _certificate(api)
    server.clock.advance(300)
    refused = _upload(api, certificate)
    assert refused.status_code == 403
    assert refused.headers["Content-Type"].startswith("application/xml")
    assert "Invalid according to Policy: Policy expired." in refused.text


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"policy": ""}, 403, "AccessDenied"),
        ({"Signature": "Zm9v"}, 403, "SignatureDoesNotMatch"),
        ({"key": "elsewhere/ref.png"}, 403, "AccessDenied"),
    ],
)
def test_forged_or_misplaced_uploads_are_refused(
    api: httpx.Client, server: MockServer, overrides: dict[str, str], status: int, code: str
) -> None:
    refused = _upload(api, _certificate(api), **overrides)
    assert refused.status_code == status
    assert f"<Code>{code}</Code>" in refused.text
    assert server.uploads() == []


def test_overwriting_is_refused_and_size_is_bounded(api: httpx.Client) -> None:
    certificate = _certificate(api)
    assert _upload(api, certificate).status_code == 200
    again = _upload(api, certificate)
    assert (again.status_code, "<Code>FileAlreadyExists</Code>" in again.text) == (409, True)
    huge = _upload(api, certificate, name="huge.png", data=b"x" * (10 * 1024 * 1024 + 1))
    assert huge.status_code == 400
    assert "<Code>EntityTooLarge</Code>" in huge.text


def test_uploads_expire_after_48_hours(api: httpx.Client, server: MockServer) -> None:
    certificate = _certificate(api)
    _upload(api, certificate)
    reference = f"oss://{certificate['upload_dir']}/ref.png"
    body = {
        "model": "wanx-v1",
        "input": {"prompt": "p", "ref_img": reference},
        "parameters": {"n": 1},
    }
    headers = {**SUBMIT_HEADERS, "X-DashScope-OssResourceResolve": "enable"}
    server.clock.advance(48 * 3600 - 1)
    assert api.post(CREATE_PATH, json=body, headers=headers).status_code == 200
    server.clock.advance(1)
    assert api.post(CREATE_PATH, json=body, headers=headers).json()["code"] == "InvalidURL"


def test_a_task_made_from_an_upload_runs_normally(api: httpx.Client, server: MockServer) -> None:
    certificate = _certificate(api)
    _upload(api, certificate)
    body = {
        "model": "wanx-v1",
        "input": {"prompt": "p", "ref_img": f"oss://{certificate['upload_dir']}/ref.png"},
        "parameters": {"n": 1, "ref_mode": "refonly"},
    }
    headers = {**SUBMIT_HEADERS, "X-DashScope-OssResourceResolve": "enable"}
    task_id = api.post(CREATE_PATH, json=body, headers=headers).json()["output"]["task_id"]
    server.clock.advance(60)
    output = read_task(api, task_id)
    assert output["task_status"] == "SUCCEEDED"
    with Image.open(io.BytesIO(api.get(output["results"][0]["url"]).content)) as image:  # type: ignore[index]
        assert image.size == (1024, 1024)


def test_getpolicy_needs_a_key_and_the_right_action(api: httpx.Client) -> None:
    assert (
        api.get("/api/v1/uploads", params={"action": "getPolicy", "model": "m"}).status_code == 401
    )
    wrong = api.get("/api/v1/uploads", params={"action": "put", "model": "m"}, headers=READ_HEADERS)
    assert (wrong.status_code, wrong.json()["code"]) == (400, "InvalidParameter")


def test_a_form_that_does_not_parse_is_an_oss_error_not_a_crash(api: httpx.Client) -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="\xff\xfe"\r\n\r\nx\r\n--b--\r\n'
    response = api.post(
        "/oss", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code < 500
    assert response.headers["Content-Type"].startswith("application/xml")


def test_an_unsigned_result_path_is_an_oss_403(api: httpx.Client) -> None:
    response = api.get("/results/some-task/123456789.png")
    assert response.status_code == 403
    assert "<Code>AccessDenied</Code>" in response.text
