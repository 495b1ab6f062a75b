"""Everything that stands in for object storage (OSS): result image downloads, the upload
certificate (getPolicy) and the form upload it points at.

Errors here are OSS-style XML documents, not DashScope envelopes: result URLs and the upload host
point at object storage in the live service, and clients that talk to them see storage errors.
The upload endpoint answers exactly 200 (or 204) with no body on success.
"""

from __future__ import annotations

import asyncio
import re

from aiohttp import web

from mockscope.backend import ResultGone
from mockscope.domain import errors
from mockscope.domain.operations import Operation
from mockscope.domain.uploads import (
    ACCESS_KEY_ID,
    MAX_FILE_BYTES,
    POLICY_TTL_MS,
    StorageError,
    UploadForm,
)
from mockscope.http import faults
from mockscope.http.envelopes import log, storage_error
from mockscope.http.exchange import Note
from mockscope.http.handlers import base_url, caller_of
from mockscope.http.inbound import content_encoding
from mockscope.http.serialize import json_response

UPLOAD_PATH = "/oss"

_NO_SUCH_KEY = ("NoSuchKey", "The specified key does not exist.")
#: Any object name under a task, as in a bucket: one that is not `<k>.png` is NoSuchKey there too.
RESULT_PATH = "/results/{task_id}/{file_name}"
_RESULT_FILE = re.compile(r"([0-9]{1,9})\.png")
_EXPIRED = ("AccessDenied", "Request has expired.")


async def download_result(request: web.Request, noted: Note) -> web.Response:
    api = noted.backend.api
    task_id = noted.task_id = request.match_info["task_id"]
    file_name = _RESULT_FILE.fullmatch(request.match_info["file_name"])
    if file_name is None:
        return storage_error(request, *_NO_SUCH_KEY)
    index = int(file_name.group(1))
    outcome = faults.request_outcome(request, noted, Operation.DOWNLOAD)
    if outcome is not None:
        await faults.before(request, outcome)
    try:
        spec = api.result_image(task_id, index)
    except ResultGone as gone:
        code, message = _EXPIRED if gone.expired else _NO_SUCH_KEY
        return storage_error(request, code, message)
    # Rendering takes milliseconds of CPU: keep it off the event loop.
    png = await asyncio.get_running_loop().run_in_executor(None, api.render, spec)
    response = web.Response(body=png, content_type="image/png")
    if outcome is not None:
        return await faults.after(request, outcome, response)
    return response


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
            )
        )
    except StorageError as refused:
        return storage_error(request, refused.code, refused.message)
    # OSS answers 204 unless the form asks for another success status.
    status = 200 if form.get("success_action_status") == "200" else 204
    return web.Response(status=status)
