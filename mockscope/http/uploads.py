"""Temporary file uploads: the certificate (getPolicy) and the object-storage form upload.

The upload endpoint stands in for the OSS bucket the live certificate points at: it answers
exactly 200 (or 204) with no body on success, and OSS-style XML documents on refusal.
"""

from __future__ import annotations

from aiohttp import web

from mockscope.domain import errors
from mockscope.domain.uploads import (
    ACCESS_KEY_ID,
    MAX_FILE_BYTES,
    POLICY_TTL_MS,
    StorageError,
    UploadForm,
)
from mockscope.http.errors import log
from mockscope.http.exchange import Note
from mockscope.http.files import storage_error
from mockscope.http.handlers import base_url, caller_of
from mockscope.http.serialize import json_response

UPLOAD_PATH = "/oss"


async def get_upload_policy(request: web.Request, noted: Note) -> web.Response:
    backend = noted.backend
    caller = caller_of(request, noted)
    if request.query.get("action") != "getPolicy":
        raise errors.InvalidParameter("Parameter `action` must be `getPolicy`.")
    model = request.query.get("model", "")
    if not model:
        raise errors.InvalidParameter("Required parameter `model` is missing.")
    certificate = backend.upload_certificate(caller, model)
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
    return json_response({"data": data, "request_id": backend.new_request_id()})


async def upload_file(request: web.Request, noted: Note) -> web.Response:
    """An OSS PostObject form: policy, Signature, key, file and friends."""
    try:
        form = await request.post()
    except Exception as error:  # a form is untrusted input: any way it fails is the sender's
        log.info("unreadable upload form", exc_info=error)
        message = f"The body is not a valid form ({type(error).__name__})."
        return storage_error(request, 400, "MalformedPOSTRequest", message)
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        return storage_error(request, 400, "InvalidArgument", "The form has no file field.")
    data = upload.file.read()
    key = str(form.get("key", ""))
    try:
        noted.backend.store_upload(
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
        return storage_error(request, refused.status, refused.code, refused.message)
    # OSS answers 204 unless the form asks for another success status.
    status = 200 if form.get("success_action_status") == "200" else 204
    return web.Response(status=status)
