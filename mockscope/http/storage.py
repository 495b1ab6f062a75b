"""Everything that stands in for object storage (OSS): result image downloads, the upload
certificate (getPolicy) and the form upload it points at.

Errors here are OSS-style XML documents, not DashScope envelopes: result URLs and the upload host
point at object storage in the live service, and clients that talk to them see storage errors.
Result URLs are V1-signed object URLs (see `mockscope.domain.objects`): a download is checked as
OSS checks one (expiry, then key id, then signature, verb included) before the object is looked
up, and served with OSS's headers, ranges and conditional requests (`mockscope.http.objects`).
The upload endpoint answers exactly 200 (or 204) with no body on success, with the stored
object's ETag.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from mockscope.backend import ResultGone
from mockscope.domain import errors
from mockscope.domain.objects import (
    EXPIRED_MESSAGE,
    NO_SUCH_KEY_MESSAGE,
    ObjectError,
    iso8601,
    parse_key,
)
from mockscope.domain.operations import Operation
from mockscope.domain.uploads import (
    ACCESS_KEY_ID,
    MAX_FILE_BYTES,
    POLICY_TTL_MS,
    StorageError,
    UploadForm,
)
from mockscope.http import faults
from mockscope.http.envelopes import log, oss_request_id, storage_error
from mockscope.http.exchange import Note
from mockscope.http.handlers import base_url, caller_of
from mockscope.http.inbound import content_encoding
from mockscope.http.objects import etag_of, object_response
from mockscope.http.serialize import json_response

UPLOAD_PATH = "/oss"


async def download_result(request: web.Request, noted: Note) -> web.Response:
    key = request.match_info["key"]
    outcome = faults.request_outcome(request, noted, Operation.DOWNLOAD)
    if outcome is not None:
        _journal_task(noted, key)  # before the outcome: a dropped answer is journaled too
        await faults.before(request, outcome)
    response = await _read_object(request, noted, key)
    if outcome is not None:
        return await faults.after(request, outcome, response)
    return response


def _journal_task(noted: Note, key: str) -> None:
    """The task a result key names (for the journal), whether or not its signature holds."""
    named = parse_key(key)
    noted.task_id = named.task_id if named is not None else None


async def _read_object(request: web.Request, noted: Note, key: str) -> web.Response:
    """A signed GET or HEAD of a result image, judged and answered as OSS does."""
    backend = noted.backend
    api = backend.api
    now = backend.clock.now_ms()
    try:
        found = backend.objects.verify_request(
            request.method, key, request.query_string, lambda: request.query, request.headers, now
        )
        if found is None:
            raise ObjectError("NoSuchKey", NO_SUCH_KEY_MESSAGE)
        noted.task_id = found.task_id
        spec = api.result_image(found.task_id, found.index)
    except ObjectError as refused:
        _journal_task(noted, key)
        return object_error(request, refused)
    except ResultGone as gone:
        if gone.expired:
            # Only in the last second of a URL's day: the task went, its Expires not quite.
            details = (("ServerTime", iso8601(now)),)
            return object_error(request, ObjectError("AccessDenied", EXPIRED_MESSAGE, details))
        return object_error(request, ObjectError("NoSuchKey", NO_SUCH_KEY_MESSAGE))
    image = api.cached_image(spec)
    if image is None:
        # Rendering takes milliseconds of CPU: keep it off the event loop.
        image = await asyncio.get_running_loop().run_in_executor(None, api.rendered, spec)
    try:
        return object_response(request, image, spec.made_ms, oss_request_id(request))
    except ObjectError as refused:
        response = object_error(request, refused)
        if refused.code == "InvalidRange":
            response.headers["Content-Range"] = f"bytes */{len(image.png)}"
        return response


def object_error(request: web.Request, refused: ObjectError) -> web.Response:
    return storage_error(request, refused.code, refused.message, refused.details)


async def get_upload_policy(request: web.Request, noted: Note) -> web.Response:
    api = noted.backend.api
    caller = caller_of(request, noted)
    if request.query.get("action") != "getPolicy":
        raise errors.InvalidParameter("Parameter `action` must be `getPolicy`.")
    model = request.query.get("model", "")
    if not model:
        raise errors.InvalidParameter("Required parameter `model` is missing.")
    certificate = api.upload_certificate(caller, model)
    data = {
        "policy": certificate.policy,
        "signature": certificate.signature,
        "upload_dir": certificate.upload_dir,
        "upload_host": base_url(request) + UPLOAD_PATH,
        "expire_in_seconds": POLICY_TTL_MS // 1000,
        "max_file_size_mb": MAX_FILE_BYTES // (1024 * 1024),
        "capacity_limit_mb": 100,
        "oss_access_key_id": ACCESS_KEY_ID,
        "x_oss_object_acl": "private",
        "x_oss_forbid_overwrite": "true",
    }
    return json_response({"data": data, "request_id": api.new_request_id()})


async def upload_file(request: web.Request, noted: Note) -> web.Response:
    """An OSS PostObject form: policy, Signature, key, file and friends."""
    encoding = content_encoding(request)
    if encoding not in ("", "identity"):
        message = f"Content-Encoding `{encoding}` is not supported for a POST form."
        return storage_error(request, "InvalidArgument", message)
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        message = "Your proposed upload exceeds the maximum allowed size."
        return storage_error(request, "EntityTooLarge", message)
    except Exception as error:  # a form is untrusted input: any way it fails is the sender's
        log.info("unreadable upload form", exc_info=error)
        message = f"The body is not a valid form ({type(error).__name__})."
        return storage_error(request, "MalformedPOSTRequest", message)
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        return storage_error(request, "InvalidArgument", "The form has no file field.")
    data = upload.file.read()
    key = str(form.get("key", ""))
    try:
        noted.backend.api.store_upload(
            UploadForm(
                policy=str(form.get("policy", "")),
                signature=str(form.get("Signature", "")),
                key=key,
                data=data,
                content_type=str(form.get("x-oss-content-type", upload.content_type)),
                forbid_overwrite=str(form.get("x-oss-forbid-overwrite", "")).lower() == "true",
                access_key_id=str(form.get("OSSAccessKeyId", "")),
            )
        )
    except StorageError as refused:
        return storage_error(request, refused.code, refused.message)
    # OSS answers 204 unless the form asks for another success status, with the new object's
    # ETag (the MD5 of what was stored) and its request id.
    status = 200 if form.get("success_action_status") == "200" else 204
    headers = {
        "ETag": etag_of(data),
        "x-oss-request-id": oss_request_id(request),
        "Server": "AliyunOSS",
    }
    return web.Response(status=status, headers=headers)
