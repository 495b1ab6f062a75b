"""Result images as objects in an OSS bucket: their keys, their signed URLs, and how object
storage judges a request for one.

Live result URLs are OSS URLs signed with the V1 query-string signature, e.g.
`https://dashscope-result-wlcb-acdr-1.oss-cn-wulanchabu-acdr-1.aliyuncs.com/1d/93/20250507/
b480ba54/d4ae9791-77fe-49fa-9645-c7e112788ff3-1.png?Expires=1746670458&OSSAccessKeyId=LTAI…
&Signature=1%2FQOQqxXe%2F74YoELrJSy%2FlGRWks%3D` (public code quoting live answers; wan family
facts §3; fact sheet §4): two hash shards, the day, a folder, a unique file name ending in the
image's number from 1, and `Expires` one day after the task ended. The fake's keys have the same
shape with the task id as the folder, so that every image of every task has a file name of its
own, and it serves them path-style, from the bucket `results`: `{base}/results/{key}?…`.

How OSS checks a V1 signed URL ("在URL中包含签名", help.aliyun.com/document_detail/31952.html):

- `Signature = urlencode(base64(hmac-sha1(secret, VERB + "\\n" + Content-MD5 + "\\n" +
  Content-Type + "\\n" + Expires + "\\n" + CanonicalizedOSSHeaders + CanonicalizedResource)))`,
  the resource being `/bucket/key`: the verb is signed, so a HEAD on a GET-signed URL fails;
- the time is checked before the signature: past `Expires`, 403 AccessDenied "Request has
  expired." with `<Expires>` and `<ServerTime>` (error document quoted in Alibaba Cloud's RDS
  DescribeBackups reference); a malformed `Expires`, or a URL missing one of `OSSAccessKeyId`,
  `Expires` and `Signature`, is 403 AccessDenied too; when one of them is repeated, the first
  counts;
- a signature that does not match is 403 SignatureDoesNotMatch "The request signature we
  calculated does not match the signature you provided. Check your key and signing method.",
  with the string it signed (`<StringToSign>`, `<StringToSignBytes>`), `<SignatureProvided>`
  and `<OSSAccessKeyId>` ("在Header中包含签名", help.aliyun.com/document_detail/31951.html);
- an unknown key id is 403 InvalidAccessKeyId "The OSS Access Key Id you provided does not
  exist in our records.";
- no signature at all, on a private bucket: 403 AccessDenied "You have no right to access this
  object because of bucket acl." (OSS error 0003-00000001).

Nothing here knows HTTP statuses: `ObjectError` carries the OSS code, the HTTP layer the status.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

#: The bucket results are served from, path-style: `{base}/results/{key}`.
BUCKET = "results"
#: The query parameters of a V1 signed URL, in the order live URLs write them.
SIGNED_PARAMETERS = ("Expires", "OSSAccessKeyId", "Signature")

EXPIRED_MESSAGE = "Request has expired."
MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
UNKNOWN_KEY_ID_MESSAGE = "The OSS Access Key Id you provided does not exist in our records."
NO_RIGHT_MESSAGE = "You have no right to access this object because of bucket acl."
NO_SUCH_KEY_MESSAGE = "The specified key does not exist."
#: [INF] OSS documents the status and code of these two, not their wording.
MISSING_PARAMETER_MESSAGE = (
    "Request is missing one or more of the parameters OSSAccessKeyId, Expires and Signature."
)
BAD_EXPIRES_MESSAGE = "Invalid Expires: it must be a time in seconds since the epoch."


class ObjectError(Exception):
    """Object storage refusing a request: an OSS code and message, and the extra elements its
    error document carries (e.g. `Expires` and `ServerTime` for an expired URL)."""

    def __init__(self, code: str, message: str, details: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """The image a verified key names: image `index` (from 0) of task `task_id`."""

    task_id: str
    index: int


def iso8601(epoch_ms: int) -> str:
    """`2012-12-25T09:47:52.000Z`, as OSS error documents write times."""
    seconds, millis = divmod(epoch_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


class ResultObjects:
    """Names, signs and checks the result images of one server, with that server's secret.

    `ttl_ms` is how long a URL is valid after its task ended (the service keeps results a day).
    """

    def __init__(self, secret: bytes, access_key_id: str, ttl_ms: int) -> None:
        self._secret = secret
        self.access_key_id = access_key_id
        self.ttl_ms = ttl_ms
        # URLs that passed, by everything the signature covers: when one comes again, only its
        # expiry is left to judge (a download is read many times, its URL signed once).
        self._passed: dict[tuple[str, ...], tuple[int, ObjectRef | None]] = {}

    # -- handing out ----------------------------------------------------------------------------

    def key(self, task_id: str, index: int, end_ms: int) -> str:
        """`1d/d4/20240301/<task id>/<unique id>-<index + 1>.png`: shards, day, task, image."""
        shard = self._digest(f"shard\x00{task_id}").hex()
        # A UUIDv4, as live file names are, drawn from the task and the image: unique to both.
        unique = uuid.UUID(bytes=self._digest(f"image\x00{task_id}\x00{index}")[:16], version=4)
        day = time.strftime("%Y%m%d", time.gmtime(end_ms // 1000 + 8 * 3600))  # Beijing day
        return f"{shard[:2]}/{shard[2:4]}/{day}/{task_id}/{unique}-{index + 1}.png"

    def expires_s(self, end_ms: int) -> int:
        """`Expires` of a task's URLs: `ttl_ms` after it ended, in whole epoch seconds."""
        return (end_ms + self.ttl_ms) // 1000

    def signed_path(self, task_id: str, index: int, end_ms: int, verb: str = "GET") -> str:
        """`/results/<key>?Expires=…&OSSAccessKeyId=…&Signature=…`, signed for `verb`."""
        key = self.key(task_id, index, end_ms)
        expires = self.expires_s(end_ms)
        signature = quote(self.signature(verb, key, str(expires)), safe="")
        return (
            f"/{BUCKET}/{key}?Expires={expires}"
            f"&OSSAccessKeyId={self.access_key_id}&Signature={signature}"
        )

    # -- checking -------------------------------------------------------------------------------

    def verify_request(
        self,
        verb: str,
        key: str,
        query_string: str,
        query: Callable[[], Mapping[str, str]],
        headers: Mapping[str, str],
        now_ms: int,
    ) -> ObjectRef | None:
        """`verify` for a request as it arrived: its raw query string, and its parsed query on
        demand. The same request judged again costs a lookup and the expiry check."""
        signed = (
            verb,
            key,
            query_string,
            headers.get("Content-MD5", ""),
            headers.get("Content-Type", ""),
            *(f"{name}:{value}" for name, value in headers.items() if _is_oss_header(name)),
        )
        passed = self._passed.get(signed)
        if passed is not None and now_ms <= passed[0]:
            return passed[1]
        found = self.verify(verb, key, query(), headers, now_ms)
        if len(self._passed) >= _PASSED_KEPT:
            self._passed.clear()
        self._passed[signed] = (int(query()["Expires"]) * 1000, found)
        return found

    def verify(
        self, verb: str, key: str, query: Mapping[str, str], headers: Mapping[str, str], now_ms: int
    ) -> ObjectRef | None:
        """The image a signed request may read, or ObjectError saying why not, in OSS's order.

        None when the signature holds but the key names no image (then: NoSuchKey).
        """
        present = [name for name in SIGNED_PARAMETERS if name in query]
        if not present:
            raise ObjectError("AccessDenied", NO_RIGHT_MESSAGE)
        if len(present) < len(SIGNED_PARAMETERS):
            raise ObjectError("AccessDenied", MISSING_PARAMETER_MESSAGE)
        expires = query["Expires"]
        if not expires.isascii() or not expires.isdigit():
            raise ObjectError("AccessDenied", BAD_EXPIRES_MESSAGE)
        if now_ms > int(expires) * 1000:
            details = (("Expires", iso8601(int(expires) * 1000)), ("ServerTime", iso8601(now_ms)))
            raise ObjectError("AccessDenied", EXPIRED_MESSAGE, details)
        access_key_id = query["OSSAccessKeyId"]
        if access_key_id != self.access_key_id:
            raise ObjectError(
                "InvalidAccessKeyId", UNKNOWN_KEY_ID_MESSAGE, (("OSSAccessKeyId", access_key_id),)
            )
        provided = query["Signature"]
        to_sign = self.string_to_sign(verb, key, expires, headers)
        expected = base64.b64encode(self._mac(to_sign)).decode()
        if not hmac.compare_digest(expected.encode(), provided.encode()):
            raise ObjectError(
                "SignatureDoesNotMatch",
                MISMATCH_MESSAGE,
                (
                    ("StringToSign", to_sign),
                    ("SignatureProvided", provided),
                    ("StringToSignBytes", " ".join(f"{b:02x}" for b in to_sign.encode())),
                    ("OSSAccessKeyId", access_key_id),
                ),
            )
        return parse_key(key)

    def signature(
        self, verb: str, key: str, expires: str, headers: Mapping[str, str] | None = None
    ) -> str:
        """The base64 V1 signature of a request for `key` (not yet URL-encoded)."""
        return base64.b64encode(
            self._mac(self.string_to_sign(verb, key, expires, headers))
        ).decode()

    @staticmethod
    def string_to_sign(
        verb: str, key: str, expires: str, headers: Mapping[str, str] | None = None
    ) -> str:
        """`VERB\\nContent-MD5\\nContent-Type\\nExpires\\nx-oss-headers/bucket/key`."""
        headers = headers or {}
        oss_headers = "".join(
            f"{name}:{value.strip()}\n"
            for name, value in sorted(
                (name.lower(), value) for name, value in headers.items() if _is_oss_header(name)
            )
        )
        return (
            f"{verb}\n{headers.get('Content-MD5', '')}\n{headers.get('Content-Type', '')}\n"
            f"{expires}\n{oss_headers}/{BUCKET}/{key}"
        )

    def _mac(self, text: str) -> bytes:
        return hmac.new(self._secret, text.encode(), hashlib.sha1).digest()

    def _digest(self, text: str) -> bytes:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).digest()


_PASSED_KEPT = 4096


def _is_oss_header(name: str) -> bool:
    return name[:6].lower() == "x-oss-"


def parse_key(key: str) -> ObjectRef | None:
    """The task and image a result key names, or None for a key of no image."""
    parts = key.split("/")
    if len(parts) != 5 or not parts[4].endswith(".png"):
        return None
    number = parts[4][: -len(".png")].rpartition("-")[2]
    if not number.isascii() or not number.isdigit() or len(number) > 9 or int(number) < 1:
        return None
    return ObjectRef(parts[3], int(number) - 1)
