"""One log line per request, with no API key in it.

The access log writes each request line, and a request line can carry a key: the control
plane filters its journal by `?api_key=` and its task listings and resets by `?account=`
(an account that is just its key, by default). Those values are written masked (`sk-…abcd`),
or as the name of a configured account, as everywhere else a key could leave the server.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from mockscope.domain.identity import masked_key
from mockscope.http.keys import BACKEND

#: Query parameters whose values may be API keys.
_KEY_PARAMETERS = frozenset({"api_key", "account"})
_ELLIPSIS = quote("…")


def masked_target(request: web.BaseRequest) -> str:
    """The request's path and query, with every value that may be a key masked."""
    if not request.query_string or _KEY_PARAMETERS.isdisjoint(request.query):
        return request.path_qs
    backend = request.app[BACKEND] if isinstance(request, web.Request) else None
    parts = []
    for name, value in request.query.items():
        if name == "api_key":
            value = masked_key(value)
        elif name == "account":
            value = backend.directory.shown(value) if backend is not None else masked_key(value)
        # The ellipsis of a masked key is written as it is, for a readable log.
        parts.append(f"{quote(name, safe='')}={quote(value, safe='').replace(_ELLIPSIS, '…')}")
    return f"{request.path}?{'&'.join(parts)}"


class MaskingAccessLogger(AbstractAccessLogger):
    """`remote "METHOD target HTTP/x.y" status bytes seconds`, keys masked in the target."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        version = request.version
        self.logger.info(
            '%s "%s %s HTTP/%d.%d" %d %d %.6fs',
            request.remote,
            request.method,
            masked_target(request),
            version.major,
            version.minor,
            response.status,
            response.body_length,
            time,
        )
