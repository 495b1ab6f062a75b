"""Recorded exchanges as JSON lines, secrets redacted, and read back for replay.

The first line describes the recording; then one line per exchange (a probe's request and the
answer, `at` seconds into the run) or per skipped probe. Before anything is written the API key
is replaced wherever it appears, and so are the values that are credentials or identify the
account: upload-policy signatures and keys, account and key ids, URL query strings (OSS
signatures). Redaction keeps every value's JSON type, so a recording normalises exactly as the
live answer did: the fake's tests replay it as a fixture (`replay` in mockscope.drift.check).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mockscope.drift.probes import BY_NAME
from mockscope.drift.runner import ProbeRun, Step
from mockscope.drift.wire import Request, Response

FORMAT = "mockscope-drift-exchanges"
VERSION = 1
REDACTED = "<redacted>"
#: Response headers worth keeping: the ones the comparison looks at.
KEPT_HEADERS = (
    "content-type",
    "x-request-id",
    "retry-after",
    "req-cost-time",
    "req-arrive-time",
    "resp-start-time",
)
#: Query parameters of signed URLs whose values are kept (not secret, and part of the shape).
KEPT_QUERY = frozenset({"Expires"})
#: JSON fields whose values are credentials or identify the account.
SECRET_FIELDS = frozenset(
    {
        "policy",
        "signature",
        "oss_access_key_id",
        "security_token",
        "x_oss_security_token",
        "api_key_id",
        "caller_uid",
        "caller_parent_id",
        "user_api_unique_key",
    }
)


@dataclass(frozen=True, slots=True)
class Recording:
    meta: Mapping[str, Any]
    outcomes: list[ProbeRun]


# -- redaction ----------------------------------------------------------------------------------


class Redactor:
    """Replaces `secrets` (the API key) everywhere, and secret-bearing fields by name."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = tuple(secret for secret in secrets if secret)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, REDACTED)
        return value

    def request(self, request: Request) -> Request:
        headers = {name: self.text(value) for name, value in request.headers.items()}
        body = None if request.body is None else self._body(request.body)
        return Request(request.method, self.text(request.path), headers, body)

    def response(self, response: Response) -> Response:
        headers = {
            name: self.text(value)
            for name, value in response.headers.items()
            if name.lower() in KEPT_HEADERS
        }
        return replace(response, headers=headers, body=self._body(response.body))

    def _body(self, body: bytes) -> bytes:
        try:
            document = json.loads(body)
        except ValueError:
            return self.text(body.decode("utf-8", "replace")).encode()
        return json.dumps(self._json(document), ensure_ascii=False).encode()

    def _json(self, value: object, key: str = "") -> object:
        if isinstance(value, dict):
            return {name: self._json(child, str(name)) for name, child in value.items()}
        if isinstance(value, list):
            return [self._json(item, key) for item in value]
        if isinstance(value, str):
            if key.lower() in SECRET_FIELDS:
                return REDACTED
            if "://" in value and "?" in value:
                value = _redact_query(value)
            return self.text(value)
        return value


def _redact_query(url: str) -> str:
    """The URL with its query's values redacted (OSS signatures, key ids), its names kept, so
    that a recorded signed URL keeps its shape (see normalize.url_shape)."""
    base, _, query = url.partition("?")
    pairs = []
    for pair in query.split("&"):
        name, equals, value = pair.partition("=")
        pairs.append(f"{name}{equals}{value if name in KEPT_QUERY else REDACTED}")
    return f"{base}?{'&'.join(pairs)}"


# -- writing and reading ------------------------------------------------------------------------


def write_recording(
    path: str | Path,
    meta: Mapping[str, Any],
    outcomes: Sequence[ProbeRun],
    redactor: Redactor,
) -> None:
    lines = [json.dumps({"format": FORMAT, "version": VERSION, **meta}, ensure_ascii=False)]
    for outcome in outcomes:
        if outcome.skipped:
            lines.append(json.dumps({"probe": outcome.probe.name, "skipped": outcome.skipped}))
        for step in outcome.steps:
            lines.append(json.dumps(_step_document(step, redactor), ensure_ascii=False))
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_recording(path: str | Path) -> Recording:
    lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"{path}: empty recording")
    meta = json.loads(lines[0])
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise ValueError(f"{path}: not a {FORMAT} v{VERSION} file")
    outcomes: dict[str, ProbeRun] = {}
    for number, line in enumerate(lines[1:], start=2):
        document = json.loads(line)
        probe = BY_NAME.get(document.get("probe", ""))
        if probe is None:
            raise ValueError(f"{path}:{number}: unknown probe {document.get('probe')!r}")
        outcome = outcomes.setdefault(probe.name, ProbeRun(probe))
        if "skipped" in document:
            outcome.skipped = str(document["skipped"])
        else:
            outcome.steps.append(_step_from(document))
    ordered = [outcomes[name] for name in BY_NAME if name in outcomes]
    return Recording(meta, ordered)


def _step_document(step: Step, redactor: Redactor) -> dict[str, Any]:
    request = redactor.request(step.request)
    response = redactor.response(step.response)
    return {
        "probe": step.probe,
        "index": step.index,
        "at": round(step.at, 3),
        "request": {
            "method": request.method,
            "path": request.path,
            "headers": dict(request.headers),
            "body": _encode(request.body),
        },
        "response": {
            "status": response.status,
            "headers": dict(response.headers),
            "body": _encode(response.body),
            "error": response.error,
        },
    }


def _step_from(document: Mapping[str, Any]) -> Step:
    request, response = document["request"], document["response"]
    return Step(
        probe=document["probe"],
        index=int(document["index"]),
        at=float(document["at"]),
        request=Request(
            request["method"], request["path"], request["headers"], _decode(request["body"])
        ),
        response=Response(
            int(response["status"]),
            {name.lower(): value for name, value in response["headers"].items()},
            _decode(response["body"]) or b"",
            response.get("error", ""),
        ),
    )


def _encode(body: bytes | None) -> str | dict[str, str] | None:
    """Text as is (readable diffs of fixtures); anything else as base64."""
    if body is None:
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(body).decode()}


def _decode(value: str | dict[str, str] | None) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return base64.b64decode(value["base64"])
    return value.encode("utf-8")
