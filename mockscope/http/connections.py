"""Connections as a shared server must treat them: a deadline for the first request's header,
a cap on open connections, and accept errors logged at a bounded rate.

aiohttp bounds idle keep-alive connections (`keepalive_timeout`, which also bounds a slow header
after the first answer) but not the header of a connection's first request, nor how many
connections are open. `GuardedSite` is a `TCPSite` whose connections pass through a thin
protocol that adds both; the deadline and the cap answer with a DashScope envelope written
straight to the socket (408 RequestTimeOut, 503 ModelServingError), then close.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from mockscope.http.envelopes import error_answer, raw_error_answer

log = logging.getLogger("mockscope.http")

_HEADER_END = b"\r\n\r\n"
_OVERLOADED = (
    "ModelServingError",
    "Too many requests. Your requests are being throttled due to system capacity limits. "
    "Please try again later.",
)
_TOO_SLOW = ("RequestTimeOut", "Request timed out, please try again later.")


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """Seconds a new connection has to send its first request header (0: no limit), and how
    many connections may be open at once (0: no cap)."""

    header_timeout: float = 10.0
    max_connections: int = 0


class GuardedSite(web.TCPSite):
    """A TCPSite whose connections get a header deadline and count towards a cap."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        limits: ConnectionLimits,
        request_id: Callable[[], str],
        **kwargs: Any,
    ) -> None:
        super().__init__(runner, host, port, **kwargs)
        self.limits = limits
        self.request_id = request_id
        self.open = 0
        # aiohttp's protocol with its error answers shaped, bound to this server's request ids.
        self.handler_class = type(
            "EnvelopedHandler",
            (EnvelopedHandler,),
            {"__slots__": (), "new_request_id": staticmethod(request_id), "site": self},
        )

    async def start(self) -> None:
        # TCPSite.start with the protocol factory wrapped; the listening socket is the same.
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Guarded(server(), self),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
        )

    @property
    def bound_port(self) -> int:
        assert isinstance(self._server, asyncio.Server)
        sockets = self._server.sockets
        port: int = sockets[0].getsockname()[1]
        return port


class _Guarded(asyncio.Protocol):
    """aiohttp's protocol for one connection, behind the deadline and the cap."""

    __slots__ = ("counted", "inner", "site", "tail", "timer", "transport")

    def __init__(self, inner: asyncio.Protocol, site: GuardedSite) -> None:
        self.inner = inner
        self.site = site
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.tail = b""
        self.counted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        limits = self.site.limits
        if limits.max_connections and self.site.open >= limits.max_connections:
            self._refuse(*_OVERLOADED)
            return
        self.counted = True
        self.site.open += 1
        if isinstance(self.inner, web.RequestHandler):
            # Same slots, a few methods more: the answers aiohttp's parser gives become
            # envelopes, and the connection leaves the count when it closes.
            self.inner.__class__ = self.site.handler_class
        self.inner.connection_made(transport)
        if limits.header_timeout > 0:
            loop = asyncio.get_running_loop()
            self.timer = loop.call_later(limits.header_timeout, self._refuse, *_TOO_SLOW)
        else:
            self._step_aside()

    def data_received(self, data: bytes) -> None:
        if self.timer is not None:
            seen = self.tail + data
            if _HEADER_END in seen:
                self.timer.cancel()
                self.timer = None
                self.tail = b""
            else:
                self.tail = seen[-3:]
        if self.counted:
            self.inner.data_received(data)
            if self.timer is None:
                self._step_aside()

    def _step_aside(self) -> None:
        """With the first header in, nothing is left to watch: the transport talks to aiohttp's
        protocol directly from now on, so later requests pay for no extra call per read."""
        transport = self.transport
        inner = self.inner
        if isinstance(inner, EnvelopedHandler) and transport and not transport.is_closing():
            transport.set_protocol(inner)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.counted else None

    def pause_writing(self) -> None:
        if self.counted:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.counted:
            self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.counted:
            self.counted = False
            if not isinstance(self.inner, EnvelopedHandler):
                self.site.open -= 1  # (aiohttp's own protocol takes itself off the count)
            self.inner.connection_lost(exc)

    def _refuse(self, code: str, message: str) -> None:
        self.timer = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.write(raw_error_answer(code, message, self.site.request_id()))
        transport.close()


class EnvelopedHandler(web.RequestHandler):
    """aiohttp's protocol, answering what its HTTP parser refuses (bad chunk sizes, oversized or
    NUL-bearing headers, bad request lines) with a DashScope envelope and an X-Request-ID rather
    than a text/plain page. aiohttp builds these answers itself, before any application code
    runs, through `handle_error`: a public method of `web.RequestHandler`, overridden here."""

    __slots__ = ()

    #: The site whose open connections this one counts in (set per site).
    site: GuardedSite

    @staticmethod
    def new_request_id() -> str:  # replaced per site with the backend's sequence
        raise NotImplementedError

    def connection_lost(self, exc: BaseException | None) -> None:
        self.site.open -= 1
        super().connection_lost(exc)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:
            return super().handle_error(request, status, exc, message)
        log.info("refused a malformed request from %s: %s", request.remote, exc or message)
        response = error_answer(status, (message or "").strip(), self.new_request_id())
        response.force_close()
        return response


class AcceptErrorLog:
    """A loop exception handler that logs accept() failures (EMFILE and friends) at most once
    per `every` seconds, with how many were suppressed; anything else goes on as before."""

    def __init__(self, loop: asyncio.AbstractEventLoop, every: float = 10.0) -> None:
        self.previous = loop.get_exception_handler()
        self.every = every
        self.last = float("-inf")
        self.suppressed = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if str(context.get("message", "")).startswith("socket.accept()"):
            now = time.monotonic()
            if now - self.last < self.every:
                self.suppressed += 1
                return
            more = f" ({self.suppressed} more since the last report)" if self.suppressed else ""
            log.error("%s: %s%s", context["message"], context.get("exception"), more)
            self.last, self.suppressed = now, 0
            return
        if self.previous is not None:
            self.previous(loop, context)
        else:
            loop.default_exception_handler(context)


def limit_accept_error_logging(loop: asyncio.AbstractEventLoop) -> AcceptErrorLog:
    """Install AcceptErrorLog on `loop` (a loop the server owns: serve's, or its own thread's)."""
    handler = AcceptErrorLog(loop)
    loop.set_exception_handler(handler)
    return handler
