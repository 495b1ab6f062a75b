"""WholeAnswer: a response that reaches the socket in one write, head and body together.

aiohttp prepares every response through a general path (compression, cookies, chunking,
HTTP/1.0, bodies that must stay empty, the `on_response_prepare` signal), then writes it through
a second one; on the fake's small JSON answers those two paths cost about as much as everything
the fake itself does for a poll. The common case — an HTTP/1.1 keep-alive request, a body of
bytes, none of those features in play — is written here directly: the same headers in the same
order, serialized by aiohttp's own serializer (which refuses control characters in a value), so
the bytes on the wire are exactly those the general path would send. Any other case takes the
general path unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE, HttpVersion11
from multidict import CIMultiDict

serialize_headers: Callable[[str, CIMultiDict[str]], bytes] | None
try:  # aiohttp's serializer: its C version where built, else its Python one
    from aiohttp.http_writer import _serialize_headers as serialize_headers
except ImportError:  # pragma: no cover - a later aiohttp without it takes the general path
    serialize_headers = None

#: Statuses whose answers carry no body (RFC 9110 §6.4.1), and so need the general path.
_BODILESS = frozenset({204, 304})


class WholeAnswer(web.Response):
    """A `web.Response` whose head and body go out in one write when nothing needs aiohttp's
    general preparation (see the module's docstring); it is an ordinary response otherwise."""

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        body = self._body
        if (
            type(body) is not bytes
            or self._eof_sent
            or self._payload_writer is not None
            or serialize_headers is None
            or request.version != HttpVersion11
            or not request.keep_alive
            or request.method == hdrs.METH_HEAD
            or self._status < 200
            or self._status in _BODILESS
            or self._keep_alive is not None
            or self._chunked
            or self._compression
            or self._cookies
            or _has_prepare_hooks(request)
        ):
            return await super().prepare(request)
        headers = self._headers
        if hdrs.CONTENT_LENGTH in headers:
            return await super().prepare(request)
        # What Response._start and StreamResponse._prepare_headers add, in their order.
        headers[hdrs.CONTENT_LENGTH] = str(len(body))
        if body:
            headers.setdefault(hdrs.CONTENT_TYPE, "application/octet-stream")
        if hdrs.DATE not in headers:
            headers[hdrs.DATE] = rfc822_formatted_time()
        headers.setdefault(hdrs.SERVER, SERVER_SOFTWARE)
        head = serialize_headers(f"HTTP/1.1 {self._status} {self._reason}", headers)
        self._keep_alive = True
        writer = request._payload_writer
        await writer.write_eof(head + body)
        # As StreamResponse.write_eof leaves it (its `body_length` counts the head too).
        self._eof_sent = True
        self._body_length = writer.output_size
        return None


def _has_prepare_hooks(request: web.BaseRequest) -> bool:
    """Whether an application on the request's route listens to `on_response_prepare`
    (the fake's own never do; a host application mounting it might)."""
    match_info = getattr(request, "_match_info", None)
    if match_info is not None:
        for app in match_info.apps:  # a loop, not any(): this runs on every answer
            if app.on_response_prepare:
                return True
    return False
