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
from typing import cast

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.compression_utils import MAX_SYNC_CHUNK_SIZE
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE, HttpVersion11
from multidict import CIMultiDict, getversion

serialize_headers: Callable[[str, CIMultiDict[str]], bytes] | None
try:  # aiohttp's serializer: its C version where built, else its Python one
    from aiohttp.http_writer import _serialize_headers as serialize_headers
except ImportError:  # pragma: no cover - a later aiohttp without it takes the general path
    serialize_headers = None

#: A multidict's change counter (multidict's stubs type it for MultiDict[object] only).
_version = cast(Callable[[CIMultiDict[str]], int], getversion)

#: Statuses whose answers carry no body (RFC 9110 §6.4.1), and so need the general path.
_BODILESS = frozenset({204, 304})


class HooklessMatch(web.UrlMappingMatchInfo):
    """A route match made for an application with no `on_response_prepare` hooks (its signals
    are frozen once it starts, so none can be added later): its answers need not look."""

    __slots__ = ()


class WholeAnswer(web.Response):
    """A `web.Response` whose head and body go out in one write when nothing needs aiohttp's
    general preparation (see the module's docstring); it is an ordinary response otherwise."""

    #: Set by `made_from`: the shared headers this answer copied, and its copy's version then
    #: (multidict counts every change), so `prepare` knows whether they were changed since.
    _template: CIMultiDict[str] | None = None
    _template_version = -1

    @classmethod
    def made_from(cls, body: bytes, template: CIMultiDict[str]) -> WholeAnswer:
        """A 200 answer of `body` with a copy of `template`'s headers: the object
        `WholeAnswer(body=body, headers=template)` makes (a test holds them equal), at half
        of the cost. `template` must never change: answers made from it share its serialized
        head (`_head_of`)."""
        answer = cls.__new__(cls)
        headers = CIMultiDict(template)
        # What StreamResponse.__init__ and Response.__init__ set for a bytes body.
        answer._state = {}
        answer._headers = headers
        answer._status = 200
        answer._reason = "OK"
        answer._body = body
        answer._compressed_body = None
        answer._zlib_executor_size = MAX_SYNC_CHUNK_SIZE
        answer._zlib_executor = None
        answer._template = template
        answer._template_version = _version(headers)
        return answer

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
        template = self._template
        if template is not None and _version(headers) != self._template_version:
            template = None  # changed since it was made: its head is its own
        # What Response._start and StreamResponse._prepare_headers add, in their order.
        length = headers[hdrs.CONTENT_LENGTH] = str(len(body))
        if body:
            headers.setdefault(hdrs.CONTENT_TYPE, "application/octet-stream")
        if hdrs.DATE not in headers:
            headers[hdrs.DATE] = rfc822_formatted_time()
        headers.setdefault(hdrs.SERVER, SERVER_SOFTWARE)
        if template is None:
            head = serialize_headers(f"HTTP/1.1 {self._status} {self._reason}", headers)
        else:
            head = _head_of(template, self._status, self._reason, length, headers)
        self._keep_alive = True
        writer = request._payload_writer
        await writer.write_eof(head + body)
        # As StreamResponse.write_eof leaves it (its `body_length` counts the head too).
        self._eof_sent = True
        self._body_length = writer.output_size
        return None


def _head_of(
    template: CIMultiDict[str], status: int, reason: str, length: str, headers: CIMultiDict[str]
) -> bytes:
    """The serialized head of an answer whose `headers` are `template`'s plus what `prepare`
    added: the same for every answer of one template, status, length and second (its Date),
    so the last one made is kept. Under load most answers share it: the gateway's headers
    change once a millisecond, the Date once a second."""
    global _last_head
    date = headers[hdrs.DATE]
    last = _last_head  # read once: servers in other threads may replace it meanwhile
    if (
        last[0] is template
        and last[1] == status
        and last[2] == reason
        and last[3] == length
        and last[4] == date
    ):
        return last[5]
    assert serialize_headers is not None  # prepare takes this path only with it
    head = serialize_headers(f"HTTP/1.1 {status} {reason}", headers)
    _last_head = (template, status, reason, length, date, head)
    return head


_last_head: tuple[CIMultiDict[str] | None, int, str, str, str, bytes] = (None, 0, "", "", "", b"")


def _has_prepare_hooks(request: web.BaseRequest) -> bool:
    """Whether an application on the request's route listens to `on_response_prepare`
    (the fake's own never do; a host application mounting it might)."""
    match_info = getattr(request, "_match_info", None)
    if match_info.__class__ is HooklessMatch:
        return False
    if match_info is not None:
        for app in match_info.apps:  # a loop, not any(): this runs on every answer
            if app.on_response_prepare:
                return True
    return False
