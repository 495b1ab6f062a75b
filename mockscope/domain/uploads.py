"""Temporary uploads: upload certificates, the files posted with them, and their expiry.

The flow is the live one: a caller asks for a certificate (a signed policy naming a folder and
a deadline), posts the file to object storage with it, and then refers to it as
`oss://<key>`. Files are bound to the account (and model) that asked, bounded in size and in
total, and forgotten 48 hours after upload, on the injected clock.

The policy is an OSS POST policy and nothing more, as the live one is (recorded, fact sheet
§3.5): `{"expiration": "2025-07-12T12:10:24.488Z", "conditions": [["content-length-range", 0,
N], ["starts-with", "$key", "<upload_dir>"], {"bucket": ...}, {"x-oss-object-acl":
"private"}, {"x-oss-forbid-overwrite": "true"}]}`. Who asked for it is kept on the server, by
upload folder, until the certificate expires: a policy never carries an account or a key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mockscope.domain.errors import DashScopeError

#: How long a certificate may be used, and how long an uploaded file is kept (live values).
POLICY_TTL_MS = 300_000
FILE_TTL_MS = 48 * 3600 * 1000
#: Reference images may be at most 10 MB; an account keeps at most this much at once.
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ACCOUNT_BYTES = 100 * 1024 * 1024
ACCESS_KEY_ID = "mockscope-access-key"
#: The bucket the live certificates name (fact sheet §3.5: upload_host dashscope-file-mgr...).
BUCKET = "dashscope-file-mgr"


class StorageError(DashScopeError):
    """An object-storage refusal, with an OSS error code (the HTTP layer picks its status)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # type: ignore[misc]  # per instance: storage codes vary


@dataclass(frozen=True, slots=True)
class Certificate:
    """What getPolicy hands out: where to upload, until when, and the signed policy."""

    policy: str
    signature: str
    upload_dir: str
    expires_ms: int


@dataclass(frozen=True, slots=True)
class UploadForm:
    """What a PostObject form carries: the certificate, where to put the file, and the file."""

    policy: str
    signature: str
    key: str
    data: bytes
    content_type: str
    forbid_overwrite: bool
    #: The form's OSSAccessKeyId (the certificate's `oss_access_key_id`).
    access_key_id: str = ACCESS_KEY_ID


@dataclass(frozen=True, slots=True)
class StoredFile:
    """An uploaded file: where it is (`oss://<key>`), whose it is, and until when it is kept."""

    key: str
    account: str
    model: str
    content_type: str
    data: bytes
    expires_ms: int


@dataclass(frozen=True, slots=True)
class _Issued:
    """Who a certificate was issued to, kept by upload folder until it expires."""

    account: str
    model: str
    expires_ms: int


class Uploads:
    """Certificates and stored files, checked the way object storage checks them."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._files: OrderedDict[str, StoredFile] = OrderedDict()
        # In issue order, which is also expiry order: every certificate lives POLICY_TTL_MS.
        self._issued: OrderedDict[str, _Issued] = OrderedDict()

    def certificate(self, account: str, model: str, now_ms: int, nonce: str) -> Certificate:
        self._forget_expired_certificates(now_ms)
        day = _utc_day(now_ms)
        owner = hashlib.sha256(f"{account}\x00{model}".encode()).hexdigest()[:32]
        upload_dir = f"dashscope-instant/{owner}/{day}/{nonce}"
        expires = now_ms + POLICY_TTL_MS
        document = {
            "expiration": _iso8601(expires),
            "conditions": [
                ["content-length-range", 0, MAX_FILE_BYTES],
                ["starts-with", "$key", upload_dir],
                {"bucket": BUCKET},
                {"x-oss-object-acl": "private"},
                {"x-oss-forbid-overwrite": "true"},
            ],
        }
        # Compact, with `/` escaped as `\/`: the recorded policy was written that way.
        text = json.dumps(document, separators=(",", ":")).replace("/", "\\/")
        policy = base64.b64encode(text.encode()).decode()
        self._issued[upload_dir] = _Issued(account, model, expires)
        return Certificate(policy, self._sign(policy), upload_dir, expires)

    def store(self, form: UploadForm, now_ms: int) -> StoredFile:
        """Accept a posted file if its certificate is genuine, current and covers the key."""
        self.purge(now_ms)
        self._forget_expired_certificates(now_ms)
        key, data = form.key, form.data
        if form.access_key_id != ACCESS_KEY_ID:
            raise StorageError(
                "InvalidAccessKeyId",
                "The OSS Access Key Id you provided does not exist in our records.",
            )
        document = self._verified(form.policy, form.signature)
        expires = _policy_expiration(document)
        prefix = _starts_with(document)
        issued = self._issued.get(prefix) if prefix is not None else None
        if prefix is None or expires is None or now_ms >= expires or issued is None:
            # A certificate no longer on record (expired, or the server was reset) is stale.
            raise StorageError("AccessDenied", "Invalid according to Policy: Policy expired.")
        if not key.startswith(prefix + "/") or len(key) <= len(prefix) + 1:
            failed = f'Policy Condition failed: ["starts-with", "$key", "{prefix}"]'
            raise StorageError("AccessDenied", f"Invalid according to Policy: {failed}")
        if len(data) > MAX_FILE_BYTES:
            raise StorageError(
                "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size."
            )
        if form.forbid_overwrite and key in self._files:
            raise StorageError(
                "FileAlreadyExists",
                "The object you specified already exists and can not be overwritten.",
            )
        account = issued.account
        held = sum(len(f.data) for f in self._files.values() if f.account == account)
        if held + len(data) > MAX_ACCOUNT_BYTES:
            raise StorageError("QuotaExceeded", "This account's temporary storage is full.")
        kept_until = now_ms + FILE_TTL_MS
        stored = StoredFile(key, account, issued.model, form.content_type, data, kept_until)
        self._files[key] = stored
        return stored

    def resolve(self, key: str, account: str, now_ms: int) -> StoredFile | None:
        """The file an `oss://` reference names, if it exists, is the account's and is current."""
        stored = self._files.get(key)
        if stored is None or stored.account != account or now_ms >= stored.expires_ms:
            return None
        return stored

    def files(self, now_ms: int) -> list[StoredFile]:
        """Every file kept now, oldest first."""
        return [stored for stored in self._files.values() if now_ms < stored.expires_ms]

    def purge(self, now_ms: int) -> None:
        """Forget expired files (they were stored in order, so the oldest come first)."""
        while self._files:
            first = next(iter(self._files.values()))
            if now_ms < first.expires_ms:
                break
            self._files.popitem(last=False)

    def clear(self, account: str | None = None) -> None:
        if account is None:
            self._files.clear()
            self._issued.clear()
            return
        for key in [key for key, f in self._files.items() if f.account == account]:
            del self._files[key]
        for folder in [folder for folder, i in self._issued.items() if i.account == account]:
            del self._issued[folder]

    def _forget_expired_certificates(self, now_ms: int) -> None:
        while self._issued:
            first = next(iter(self._issued.values()))
            if now_ms < first.expires_ms:
                break
            self._issued.popitem(last=False)

    def __len__(self) -> int:
        return len(self._files)

    def _sign(self, policy: str) -> str:
        digest = hmac.new(self._secret, policy.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()

    def _verified(self, policy: str, signature: str) -> dict[str, Any]:
        if not policy or not signature:
            raise StorageError("AccessDenied", "Access denied: missing policy or signature.")
        # As bytes: compare_digest refuses str holding anything but ASCII.
        offered = signature.encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(self._sign(policy).encode(), offered):
            raise StorageError(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        try:
            document = json.loads(base64.b64decode(policy, validate=True))
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise StorageError("InvalidPolicyDocument", "Invalid Policy: Invalid JSON.")
        return document


def _utc_day(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch_ms // 1000))


def _iso8601(epoch_ms: int) -> str:
    """`2025-07-12T12:10:24.488Z`, as OSS policies write their expiration."""
    seconds, millis = divmod(epoch_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _policy_expiration(document: dict[str, Any]) -> int | None:
    text = document.get("expiration")
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return round(moment.timestamp() * 1000)


def _starts_with(document: dict[str, Any]) -> str | None:
    """The key prefix a policy allows (its `starts-with $key` condition)."""
    conditions = document.get("conditions")
    for condition in conditions if isinstance(conditions, list) else []:
        if isinstance(condition, list) and condition[:2] == ["starts-with", "$key"]:
            prefix = condition[2] if len(condition) > 2 else None
            return prefix if isinstance(prefix, str) else None
    return None
