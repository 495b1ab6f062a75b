"""The control plane under /_mockscope/: what a test does in Python, any language can do here.

It answers loopback callers only, unless a token is configured; then the token is required.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from aiohttp import web

from mockscope import spec
from mockscope.domain import errors
from mockscope.http.keys import BACKEND, CONTROL_TOKEN
from mockscope.http.parse import decode_json
from mockscope.http.serialize import format_time, json_response

PREFIX = "/_mockscope"
TOKEN_HEADER = "X-Mockscope-Token"
ADVANCE_SCHEMA = "control-advance-request.json"


def _guard(request: web.Request) -> None:
    token = request.app[CONTROL_TOKEN]
    if token:
        offered = request.headers.get(TOKEN_HEADER, "")
        if not hmac.compare_digest(offered.encode(), token.encode()):
            raise errors.AccessDenied(f"The control plane needs a valid {TOKEN_HEADER} header.")
        return
    if not _is_loopback(request.remote):
        raise errors.AccessDenied("The control plane answers loopback callers only.")


def _is_loopback(remote: str | None) -> bool:
    if remote is None:
        return False
    try:
        return ipaddress.ip_address(remote.split("%")[0]).is_loopback
    except ValueError:
        return False


def _clock_body(request: web.Request) -> dict[str, Any]:
    clock = request.app[BACKEND].clock
    now = clock.now_ms()
    return {
        "now_ms": now,
        "now": format_time(now),
        "mode": clock.mode,
        "time_scale": clock.time_scale,
    }


async def get_clock(request: web.Request) -> web.Response:
    _guard(request)
    return json_response(_clock_body(request))


async def advance_clock(request: web.Request) -> web.Response:
    _guard(request)
    body = decode_json(await request.read())
    schema = spec.request_schema(ADVANCE_SCHEMA)
    if not schema.is_valid(body):
        details = "; ".join(sorted(error.message for error in schema.errors(body)))
        raise errors.InvalidParameter(f"Invalid clock advance: {details}.")
    assert isinstance(body, dict)
    request.app[BACKEND].clock.advance(float(body["seconds"]))
    return json_response(_clock_body(request))


async def reset(request: web.Request) -> web.Response:
    _guard(request)
    request.app[BACKEND].reset()
    return json_response({"ok": True})
