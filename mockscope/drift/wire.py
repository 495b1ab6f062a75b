"""One HTTP exchange, sent with the standard library.

httpx is not a runtime dependency of mockscope, and the probes are few and sequential, so
urllib is enough. Redirects are not followed (a probe must never end up on a host nobody named)
and, for loopback targets, proxy variables are ignored (a stand-in on 127.0.0.1 is reached
directly, never through a proxy).
"""

from __future__ import annotations

import ipaddress
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import NoReturn
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Request:
    """What a probe sends; `path` is relative to the target's root and may carry a query."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class Response:
    """What came back. `status` is 0 when no HTTP answer arrived (then `error` says why)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str = ""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: object,
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> NoReturn:
        raise urllib.error.HTTPError(req.full_url, code, msg, headers, None)


def is_loopback(base_url: str) -> bool:
    """True for `http://127.0.0.1:…`, `http://[::1]:…` and `http://localhost:…`."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def opener_for(base_url: str) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = [_NoRedirects()]
    if is_loopback(base_url):
        handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers)


def send(
    opener: urllib.request.OpenerDirector, base_url: str, request: Request, timeout: float
) -> Response:
    """Send `request` to `base_url` + its path; every HTTP status is an answer, not an error."""
    url = base_url.rstrip("/") + request.path
    prepared = urllib.request.Request(
        url, data=request.body, headers=dict(request.headers), method=request.method
    )
    try:
        with opener.open(prepared, timeout=timeout) as answer:
            return Response(answer.status, _headers(answer.headers), answer.read())
    except urllib.error.HTTPError as error:
        with error:
            body = error.read() if error.fp is not None else b""
            return Response(error.code, _headers(error.headers), body)
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return Response(0, error=f"{type(error).__name__}: {reason}")


def _headers(message: Message | None) -> dict[str, str]:
    if message is None:
        return {}
    return {name.lower(): value for name, value in message.items()}
